//! `quartier conference` and `quartier measure`: records of area conferences and measures,
//! and the monitoring of a measure's indicators.

use crate::output::{self, Format};
use anyhow::{Context, Result};
use clap::Subcommand;
use quartier_app::monitoring::monitor;
use quartier_app::store::Store;
use quartier_app::store::action::{Conference, Measure};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ConferenceCmd {
    /// Eine Konferenz eintragen oder ändern (TOML; mit id und version: ändern)
    #[command(after_help = "Beispiel (konferenz.toml):
  level = \"Sozialraum\"
  area = \"0102\"
  date = \"2025-03-12\"
  kind = \"Sozialraumkonferenz\"
  matches = \"partly\"            # agree, partly, no: passt die Analyse zur Wahrnehmung vor Ort?
  matches_note = \"Armut ja, aber die Lage hat sich durch Neubau verschoben\"
  target_groups = [\"Alleinerziehende\", \"Kinder unter 6\"]
  existing_offers = [\"kita\"]    # Kennungen aus dem Angebotsverzeichnis
  missing = \"Familienberatung am Nachmittag\"
  contributions = [{ organization = \"AWO\", commitment = \"Beratung zweimal wöchentlich\" }]
  participants = [\"Jugendamt\", \"AWO\", \"Quartiersmanagement\"]
  potentials = \"aktive Nachbarschaftsinitiative\"")]
    Add { file: PathBuf },
    /// Konferenzen, neueste zuerst
    List {
        #[arg(long)]
        level: Option<String>,
        #[arg(long, requires = "level")]
        area: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum MeasureCmd {
    /// Eine Maßnahme eintragen oder ändern (TOML; mit id und version: ändern)
    #[command(after_help = "Beispiel (massnahme.toml):
  title = \"Familienberatung im Südwall\"
  goal = \"Kinderarmut senken, Zugang zu Leistungen verbessern\"
  target_groups = [\"Alleinerziehende\"]
  level = \"Sozialraum\"
  areas = [\"0102\"]
  lead = \"AWO\"
  partners = [\"Jugendamt\", \"Jobcenter\"]
  budget = 45000
  programme = \"Soziale Stadt\"
  start = 2025
  status = \"laufend\"
  indicators = [\"kinderarmut\"]
  conference = 1")]
    Add { file: PathBuf },
    /// Maßnahmen
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Die Indikatoren einer Maßnahme vor und seit dem Start gegen den Durchschnitt
    Monitor {
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn read<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{} kann nicht gelesen werden", file.display()))?;
    toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

pub fn conference(db: &Path, cmd: ConferenceCmd) -> Result<()> {
    match cmd {
        ConferenceCmd::Add { file } => {
            let c: Conference = read(&file)?;
            let saved = crate::open(db)?.save_conference(&c).with_context(|| file.display().to_string())?;
            println!("Konferenz {} ({} {}, {}) gespeichert, Version {}", saved.id, saved.level, saved.area, saved.date, saved.version);
            Ok(())
        }
        ConferenceCmd::List { level, area, format } => {
            let store = crate::open(db)?;
            let list = match (&level, &area) {
                (Some(l), Some(a)) => store.conferences(Some((l, a)))?,
                _ => store.conferences(None)?.into_iter().filter(|c| level.as_ref().is_none_or(|l| &c.level == l)).collect(),
            };
            let rows = list
                .iter()
                .map(|c| {
                    vec![
                        c.id.to_string(),
                        c.date.clone(),
                        format!("{} {}", c.level, c.area),
                        c.kind.clone(),
                        c.matches.label_de().into(),
                        c.target_groups.join(", "),
                        c.missing.clone(),
                        c.contributions.iter().map(|k| format!("{}: {}", k.organization, k.commitment)).collect::<Vec<_>>().join("; "),
                    ]
                })
                .collect();
            output::emit(format, &["id", "date", "area", "kind", "matches", "target_groups", "missing", "contributions"], rows, &list)
        }
    }
}

pub fn measure(db: &Path, cmd: MeasureCmd) -> Result<()> {
    match cmd {
        MeasureCmd::Add { file } => {
            let m: Measure = read(&file)?;
            let saved = crate::open(db)?.save_measure(&m).with_context(|| file.display().to_string())?;
            println!("Maßnahme {} („{}“) gespeichert, Version {}", saved.id, saved.title, saved.version);
            Ok(())
        }
        MeasureCmd::List { format } => {
            let list = crate::open(db)?.measures()?;
            let rows = list
                .iter()
                .map(|m| {
                    vec![
                        m.id.to_string(),
                        m.title.clone(),
                        format!("{} {}", m.level, m.areas.join(", ")),
                        m.lead.clone(),
                        m.budget.map(|b| format!("{b:.0}")).unwrap_or_default(),
                        format!("{}{}", m.start, m.end.map(|e| format!("–{e}")).unwrap_or_default()),
                        m.status.clone(),
                        m.indicators.join(", "),
                    ]
                })
                .collect();
            output::emit(format, &["id", "title", "areas", "lead", "budget_eur", "period", "status", "indicators"], rows, &list)
        }
        MeasureCmd::Monitor { id, format } => {
            let store = crate::open(db)?;
            let m = store.measures()?.into_iter().find(|m| m.id == id).ok_or_else(|| anyhow::anyhow!("Maßnahme {id} gibt es nicht"))?;
            let result = monitor(&store, &m).map_err(anyhow::Error::msg)?;
            if format == Format::Table {
                println!("{} – seit {}\n", m.title, m.start);
                for r in &result {
                    println!("{}", r.text);
                }
                println!();
            }
            let rows = result
                .iter()
                .flat_map(|r| {
                    r.series.iter().map(move |(y, v, rf)| {
                        vec![
                            r.indicator.clone(),
                            y.to_string(),
                            if *y >= m.start { "seit Start".into() } else { "davor".into() },
                            v.map(|v| format!("{v:.2}")).unwrap_or_default(),
                            rf.map(|v| format!("{v:.2}")).unwrap_or_default(),
                        ]
                    })
                })
                .collect();
            output::emit(format, &["indicator", "year", "phase", "areas_mean", "reference"], rows, &result)
        }
    }
}
