//! `quartier import data`, `quartier data list|show`.

use crate::open;
use crate::output::{self, Format, n, spinner};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use quartier_app::store::{DataReport, Store, ValueFilter};
use quartier_app::views::{self, Origin};
use quartier_core::NumberFormat;
use quartier_core::validate::VariableKind;
use quartier_import::data::{DataProfile, Layout, MatchBy, PreparedData};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum LayoutArg {
    /// eine Zeile je Gebiet, Jahr, Merkmal und Wert
    Long,
    /// eine Spalte je Merkmal
    Wide,
    /// eine Spalte je Jahr (ein Merkmal, mit --variable)
    Years,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum MatchByArg {
    /// über den Gebietsschlüssel
    Key,
    /// über den Gebietsnamen (Schreibweisen vereinheitlicht)
    Name,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DecimalArg {
    /// 1.234,5
    Comma,
    /// 1,234.5
    Point,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum KindArg {
    /// Anzahlen: werden über die Ebenen summiert, nie negativ
    Count,
    /// gelieferte Quoten/Anteile: nicht summierbar, dürfen negativ sein (Veränderungen)
    Rate,
}

#[derive(Args)]
#[command(after_help = "Beispiele:
  quartier import data bevoelkerung.csv --layout long --area-field gebiet --year-field jahr --variable-field merkmal --value-field wert
  quartier import data sgb2_2023.xlsx --layout wide --area-field Sozialraum --year 2023 --missing -9999
  quartier import data lieferung.xlsx --profile jobcenter.toml
  quartier import data lieferung.csv --year 2024 --save-profile jobcenter.toml --dry-run

Amtliche Zeichen in Zellen werden erkannt und getrennt von Zahlen gespeichert:
  .  unbekannt/geheim   -  genau null   x  nicht sinnvoll   …  noch nicht verfügbar
  /  zu unsicher        *  oder <3  geheimgehalten (kleine Fallzahl)")]
pub struct DataArgs {
    /// Datei: .csv (Trennzeichen ; , Tab) oder .xlsx
    pub file: PathBuf,
    /// Die Werte sind schon auf den heutigen Gebietsstand umgerechnet (auch frühere Jahre);
    /// sonst gehört jeder Wert zum Gebietsstand, der an seinem Stichtag galt
    #[arg(long)]
    pub current_boundaries: bool,
    /// Tabellenaufbau (Standard: erkannt)
    #[arg(long, value_enum)]
    pub layout: Option<LayoutArg>,
    /// Spalte mit dem Gebietsschlüssel (Standard: die Spalte, deren Werte bekannte Schlüssel sind)
    #[arg(long)]
    pub area_field: Option<String>,
    /// Spalte mit dem Jahr
    #[arg(long)]
    pub year_field: Option<String>,
    /// Spalte mit dem Merkmalsnamen (Langformat)
    #[arg(long)]
    pub variable_field: Option<String>,
    /// Spalte mit dem Wert (Langformat)
    #[arg(long)]
    pub value_field: Option<String>,
    /// Jahr aller Werte (Breitformat ohne Jahresspalte)
    #[arg(long)]
    pub year: Option<i32>,
    /// Merkmal der Werte bei einer Spalte je Jahr
    #[arg(long)]
    pub variable: Option<String>,
    /// Ebene der Gebietsschlüssel (nötig, wenn Schlüssel auf mehreren Ebenen vorkommen)
    #[arg(long)]
    pub level: Option<String>,
    /// Tabellenblatt oder „all“ (ein Blatt je Jahr)
    #[arg(long)]
    pub sheet: Option<String>,
    /// Zeile mit den Spaltennamen (1 = erste Zeile; Standard: erkannt)
    #[arg(long)]
    pub header_row: Option<usize>,
    /// Zahl der Kopfzeilen eines mehrzeiligen Tabellenkopfs (z. B. 3), oder Zeilen von–bis
    /// (z. B. 4-6); die Zeilen werden je Spalte zu einem Namen verbunden (Standard: erkannt)
    #[arg(long, value_name = "N|VON-BIS")]
    pub header_rows: Option<String>,
    /// Gebiete über den Schlüssel oder den Namen finden (Standard: Schlüssel; Namen, wenn keine Spalte Schlüssel enthält)
    #[arg(long, value_enum)]
    pub match_by: Option<MatchByArg>,
    /// Stichtag, der zählt, wenn ein Jahr mehrere hat: Monat (12, Dezember) oder Tag (31.12.)
    #[arg(long)]
    pub period: Option<String>,
    /// Zeichenkodierung (Standard: UTF-8 mit/ohne BOM, sonst Windows-1252)
    #[arg(long)]
    pub encoding: Option<String>,
    /// Trennzeichen: ; , tab | (Standard: erkannt)
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Dezimaltrennzeichen (Standard: erkannt; gemischte Formate sind ein Fehler)
    #[arg(long, value_enum)]
    pub decimal: Option<DecimalArg>,
    /// Code für „kein Wert“ in dieser Lieferung, z. B. -9999 (mehrfach möglich)
    #[arg(long, allow_hyphen_values = true)]
    pub missing: Vec<String>,
    /// Spalte nicht importieren (mehrfach möglich)
    #[arg(long)]
    pub ignore: Vec<String>,
    /// Merkmal ist eine gelieferte Quote (mehrfach möglich)
    #[arg(long)]
    pub rate: Vec<String>,
    /// Art aller übrigen Merkmale (Standard: count)
    #[arg(long, value_enum)]
    pub kind: Option<KindArg>,
    /// Quelle der Daten (z. B. „Statistik der Bundesagentur für Arbeit“)
    #[arg(long)]
    pub source: Option<String>,
    /// Stichtag (z. B. 31.12.2023)
    #[arg(long)]
    pub reference_date: Option<String>,
    /// Einheit (z. B. Personen, %)
    #[arg(long)]
    pub unit: Option<String>,
    /// Importprofil (TOML) laden; Angaben auf der Kommandozeile haben Vorrang
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Die verwendeten Einstellungen als Importprofil (TOML) speichern
    #[arg(long)]
    pub save_profile: Option<PathBuf>,
    /// Nur prüfen und zeigen, was sich ändern würde; nichts speichern
    #[arg(long)]
    pub dry_run: bool,
    /// Ausgabe der Zusammenfassung
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

impl DataArgs {
    fn flags(&self) -> Result<DataProfile> {
        let (header_row, header_rows) = match self.header_rows.as_deref().map(header_rows) {
            None => (self.header_row, None),
            Some(Ok((first, n))) => (first.or(self.header_row), Some(n)),
            Some(Err(e)) => return Err(e),
        };
        Ok(DataProfile {
            layout: self.layout.map(|l| match l {
                LayoutArg::Long => Layout::Long,
                LayoutArg::Wide => Layout::Wide,
                LayoutArg::Years => Layout::Years,
            }),
            area_field: self.area_field.clone(),
            year_field: self.year_field.clone(),
            variable_field: self.variable_field.clone(),
            value_field: self.value_field.clone(),
            year: self.year,
            variable: self.variable.clone(),
            level: self.level.clone(),
            sheet: self.sheet.clone(),
            header_row,
            header_rows,
            match_by: self.match_by.map(|m| match m {
                MatchByArg::Key => MatchBy::Key,
                MatchByArg::Name => MatchBy::Name,
            }),
            period: self.period.clone(),
            current_boundaries: self.current_boundaries,
            names: Default::default(),
            encoding: self.encoding.clone(),
            delimiter: self.delimiter.clone(),
            decimal: self.decimal.map(|d| match d {
                DecimalArg::Comma => NumberFormat::Comma,
                DecimalArg::Point => NumberFormat::Point,
            }),
            missing: self.missing.clone(),
            ignore: self.ignore.clone(),
            kind: self.kind.map(|k| match k {
                KindArg::Count => VariableKind::Count,
                KindArg::Rate => VariableKind::Rate,
            }),
            rates: self.rate.clone(),
            source: self.source.clone(),
            reference_date: self.reference_date.clone(),
            unit: self.unit.clone(),
            variables: Default::default(),
        })
    }
}

/// `3` (three header rows, detected where) or `4-6` (rows 4 to 6): (first row, count).
fn header_rows(s: &str) -> Result<(Option<usize>, usize)> {
    let bad = || anyhow::anyhow!("--header-rows „{s}“: erwartet eine Zahl (z. B. 3) oder Zeilen von–bis (z. B. 4-6)");
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b): (usize, usize) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
            if a == 0 || b < a {
                return Err(bad());
            }
            Ok((Some(a), b - a + 1))
        }
        None => {
            let n: usize = s.trim().parse().map_err(|_| bad())?;
            if n == 0 || n > 10 {
                return Err(bad());
            }
            Ok((None, n))
        }
    }
}

#[derive(Subcommand)]
pub enum DataCmd {
    /// Merkmale mit Jahren, Zahl der Werte und Quelle
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Werte eines Merkmals; auf höheren Ebenen ohne eigene Lieferung die Summe der Teilgebiete (nur Anzahlen)
    Show {
        /// Merkmal (siehe `quartier data list`)
        #[arg(long)]
        variable: String,
        /// Jahr (Standard: alle)
        #[arg(long)]
        year: Option<i32>,
        /// Ebene (Standard: alle gelieferten Werte)
        #[arg(long)]
        level: Option<String>,
        /// Nur dieses Gebiet
        #[arg(long)]
        area: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn import(db: &Path, a: &DataArgs) -> Result<()> {
    let mut profile = match &a.profile {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("Importprofil {} kann nicht gelesen werden", p.display()))?;
            DataProfile::from_toml(&text, &p.display().to_string())?
        }
        None => DataProfile::default(),
    };
    profile.overlay(a.flags()?);
    let mut store = open(db)?;
    let (prepared, report) = load_data(&mut store, &a.file, &profile, a.dry_run)?;
    if let Some(p) = &a.save_profile {
        std::fs::write(p, prepared.resolved.to_toml())
            .with_context(|| format!("Importprofil {} kann nicht geschrieben werden", p.display()))?;
    }
    if a.format == Format::Json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            o.insert("detected".into(), serde_json::json!(prepared.detected));
            o.insert("notes".into(), serde_json::json!(prepared.notes));
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for d in &prepared.detected {
        println!("Erkannt: {d}");
    }
    let layout = prepared.resolved.layout.map(|l| l.as_str()).unwrap_or("amtlich");
    println!(
        "{}: {} Werte gelesen (Layout {layout}, {} Merkmale, Jahre {})",
        a.file.display(),
        n(report.rows),
        prepared.batch.variables.len(),
        report.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
    );
    for note in &prepared.notes {
        println!("Hinweis: {note}");
    }
    if prepared.empty_cells + prepared.missing_cells > 0 {
        println!("Leere Zellen: {}, als fehlend erklärte Codes: {}", n(prepared.empty_cells), n(prepared.missing_cells));
    }
    println!("{} neu, {} geändert, {} unverändert", n(report.inserted), n(report.changed), n(report.unchanged));
    if !report.variables_new.is_empty() {
        println!("Neue Merkmale: {}", report.variables_new.join(", "));
    }
    for c in &report.changes {
        println!("  geändert: {} {} {}: {} → {}", c.variable, c.year, c.area, c.old, c.new);
    }
    if report.changed > report.changes.len() {
        println!("  … und {} weitere Änderungen", n(report.changed - report.changes.len()));
    }
    if !report.total_mismatches.is_empty() {
        println!("Abweichungen gelieferter Summen von der Summe der Teilgebiete:");
        for m in report.total_mismatches.iter().take(20) {
            println!(
                "  {} {} ({}) {}: geliefert {}, Summe {} (Differenz {:+})",
                m.variable,
                m.year,
                m.level,
                m.area,
                m.delivered,
                m.summed,
                m.delivered - m.summed
            );
        }
        if report.total_mismatches.len() > 20 {
            println!("  … und {} weitere", report.total_mismatches.len() - 20);
        }
    }
    if report.dry_run {
        println!("Probelauf (--dry-run): nichts gespeichert.");
    }
    if let Some(p) = &a.save_profile {
        println!("Importprofil gespeichert: {}", p.display());
    }
    Ok(())
}

/// Reads, checks and stores a delivery (the shared path of `quartier_import::load`), with a
/// spinner.
pub fn load_data(store: &mut dyn Store, file: &Path, profile: &DataProfile, dry_run: bool) -> Result<(PreparedData, DataReport)> {
    let pb = spinner(format!("Lese, prüfe und speichere {}", file.display()));
    // QUARTIER_TIMING=1 makes load::data print its phases to stderr (used by bench/run.sh).
    let out = quartier_import::load::data(store, file, &file.display().to_string(), profile, dry_run)?;
    pb.finish_and_clear();
    Ok(out)
}

pub fn run(db: &Path, cmd: DataCmd) -> Result<()> {
    let store = open(db)?;
    match cmd {
        DataCmd::List { format } => {
            let vars = store.variables()?;
            let rows = vars
                .iter()
                .map(|v| {
                    vec![
                        v.key.clone(),
                        v.label.clone(),
                        v.kind.as_str().to_string(),
                        v.unit.clone(),
                        v.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(" "),
                        v.values.to_string(),
                        v.symbols.to_string(),
                        v.source.clone(),
                    ]
                })
                .collect();
            output::emit(format, &["variable", "label", "kind", "unit", "years", "values", "symbols", "source"], rows, &vars)
        }
        DataCmd::Show { variable, year, level, area, format } => {
            let vars = store.variables()?;
            let Some(var) = vars.iter().find(|v| v.key == variable) else {
                anyhow::bail!(
                    "Merkmal „{variable}“ gibt es nicht; vorhanden: {}",
                    vars.iter().map(|v| v.key.as_str()).collect::<Vec<_>>().join(", ")
                );
            };
            // With a level: every area of the level, with sums where nothing was delivered.
            #[derive(serde::Serialize)]
            struct Row {
                area: String,
                name: String,
                level: String,
                year: i32,
                variable: String,
                value: Option<f64>,
                symbol: Option<String>,
                origin: Origin,
                /// Exact reference date of a delivered value (Stichtag), when given.
                reference_date: Option<String>,
                /// Quality flag of the statistics office (e, p, r, s, ()); s also for values
                /// carried across a boundary change.
                quality: Option<String>,
                /// How a carried value was estimated (crosswalk, method).
                method: Option<String>,
            }
            let mut out: Vec<Row> = Vec::new();
            if let Some(l) = &level {
                let years: Vec<i32> = match year {
                    Some(y) => vec![y],
                    None => var.years.clone(),
                };
                // Reference dates and quality flags of the delivered values, read once.
                type Meta = (Option<String>, Option<String>, Option<String>);
                let meta: std::collections::HashMap<(i32, String), Meta> = store
                    .values(&ValueFilter { variable: Some(var.key.clone()), year, level: Some(l.clone()), area: None })?
                    .into_iter()
                    .map(|v| ((v.year, v.area), (v.reference_date, v.quality, v.method)))
                    .collect();
                for y in years {
                    for v in views::level_values(&store, &var.key, var.kind, y, l)? {
                        let (reference_date, quality, method) = meta.get(&(y, v.area.clone())).cloned().unwrap_or_default();
                        if area.as_ref().is_some_and(|a| *a != v.area) {
                            continue;
                        }
                        out.push(Row {
                            area: v.area,
                            name: v.name,
                            level: v.level,
                            year: y,
                            variable: var.key.clone(),
                            value: v.value,
                            symbol: v.symbol.map(String::from),
                            origin: v.origin,
                            reference_date,
                            quality,
                            method,
                        });
                    }
                }
            } else {
                let names: std::collections::HashMap<String, String> =
                    store.areas(None)?.into_iter().map(|a| (format!("{}\u{0}{}", a.level, a.key), a.name)).collect();
                for v in store.values(&ValueFilter { variable: Some(var.key.clone()), year, level: None, area: area.clone() })? {
                    out.push(Row {
                        name: names.get(&format!("{}\u{0}{}", v.level, v.area)).cloned().unwrap_or_default(),
                        area: v.area,
                        level: v.level,
                        year: v.year,
                        variable: v.variable,
                        value: v.cell.number(),
                        symbol: v.cell.symbol().map(|s| s.as_str().to_string()),
                        origin: Origin::Delivered,
                        reference_date: v.reference_date,
                        quality: v.quality,
                        method: v.method,
                    });
                }
            }
            let rows = out
                .iter()
                .map(|r| {
                    vec![
                        r.area.clone(),
                        r.name.clone(),
                        r.level.clone(),
                        r.year.to_string(),
                        r.variable.clone(),
                        r.value.map(|v| v.to_string()).unwrap_or_default(),
                        r.symbol.clone().unwrap_or_default(),
                        match r.origin {
                            Origin::Delivered => "delivered",
                            Origin::Summed => "summed",
                            Origin::Missing => "missing",
                        }
                        .to_string(),
                        r.reference_date.clone().unwrap_or_default(),
                        r.quality.clone().unwrap_or_default(),
                        r.method.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::emit(
                format,
                &["area_id", "name", "level", "year", "variable", "value", "symbol", "origin", "reference_date", "quality", "method"],
                rows,
                &out,
            )
        }
    }
}
