//! `quartier allocate`: a budget distributed by need, beside the per-capita distribution.

use crate::output::{self, Format};
use anyhow::{Result, bail};
use clap::Args;
use quartier_app::allocation::{Need, Spec, plan};
use quartier_core::allocation::Rules;
use std::path::{Path, PathBuf};

#[derive(Args)]
#[command(after_help = "Beispiele:
  # Kinderarmut × Zahl der Kinder, nur Gebiete ab 20 %, je Gebiet 5.000 bis 100.000 €
  quartier allocate --level Sozialraum --budget 500000 --need indicator:kinderarmut --group kinder_u15 \\
      --threshold 20 --min 5000 --max 100000 --xlsx verteilung.xlsx
  # nach den Klassen des Sozialindex: Status 3 doppelt, Status 4 dreifach gewichtet
  quartier allocate --level Planungsraum --budget 1000000 --need index:mss --factors 1=0,2=1,3=2,4=3 --population einwohner

Jedes Gebiet erhält einen Anteil im Verhältnis seines Bedarfs (mal Zielgruppe); Mindest- und
Höchstbeträge werden eingehalten, gerundet wird auf ganze Euro (Summe exakt das Budget). Daneben
steht immer die Gießkanne: dasselbe Budget nach Einwohnern (--population, sonst --group).")]
pub struct AllocateArgs {
    /// Gebietsebene
    #[arg(long)]
    pub level: String,
    /// Budget in ganzen Euro
    #[arg(long)]
    pub budget: u64,
    /// Bedarf: indicator:ID, index:ID (Klassen, mit --factors) oder index:ID:SPALTE
    #[arg(long)]
    pub need: String,
    /// Faktor je Indexklasse, z. B. 1=0,2=1,3=2,4=3
    #[arg(long)]
    pub factors: Option<String>,
    /// Merkmal der Zielgruppe: Anteil = Bedarf × Größe der Zielgruppe
    #[arg(long)]
    pub group: Option<String>,
    /// Merkmal mit den Einwohnern für die Gießkanne (Standard: --group)
    #[arg(long)]
    pub population: Option<String>,
    /// Nur Gebiete mit einem Bedarf von mindestens diesem Wert
    #[arg(long)]
    pub threshold: Option<f64>,
    /// Mindestbetrag je berechtigtem Gebiet (€)
    #[arg(long, default_value_t = 0)]
    pub min: u64,
    /// Höchstbetrag je Gebiet (€)
    #[arg(long)]
    pub max: Option<u64>,
    /// Jahr (Standard: das neueste)
    #[arg(long)]
    pub year: Option<i32>,
    /// Zusätzlich als Arbeitsmappe speichern
    #[arg(long)]
    pub xlsx: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(db: &Path, a: AllocateArgs) -> Result<()> {
    if a.budget == 0 {
        bail!("--budget muss mehr als 0 € sein");
    }
    if let Some(m) = a.max
        && m < a.min
    {
        bail!("--max {m} liegt unter --min {}", a.min);
    }
    let need = Need::parse(&a.need, a.factors.as_deref()).map_err(anyhow::Error::msg)?;
    let store = crate::open(db)?;
    let spec = Spec {
        level: a.level,
        year: a.year,
        need,
        group: a.group,
        population: a.population,
        threshold: a.threshold,
        rules: Rules { budget: a.budget, min: a.min, max: a.max },
        only: None,
    };
    let p = plan(&store, &spec).map_err(anyhow::Error::msg)?;
    if let Some(path) = &a.xlsx {
        let bytes = quartier_report::xlsx::allocation(&p).map_err(|e| anyhow::anyhow!("XLSX: {e}"))?;
        quartier_report::write_atomic(path, &bytes).map_err(anyhow::Error::msg)?;
    }
    if a.format == Format::Table {
        println!("{}\n", p.explanation);
    }
    let rows = p
        .rows
        .iter()
        .map(|r| {
            vec![
                r.area_id.clone(),
                r.name.clone(),
                r.need.map(|v| format!("{v:.2}")).unwrap_or_default(),
                r.group.map(|v| format!("{v:.0}")).unwrap_or_default(),
                if r.eligible { "ja".into() } else { "nein".into() },
                r.reason.clone().unwrap_or_default(),
                r.allocation.to_string(),
                r.per_capita.to_string(),
                (r.allocation as i64 - r.per_capita as i64).to_string(),
            ]
        })
        .collect();
    output::emit(
        a.format,
        &["area_id", "name", "need", "group", "eligible", "reason", "allocation_eur", "per_capita_eur", "difference_eur"],
        rows,
        &p.rows,
    )
}
