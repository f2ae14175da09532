//! `quartier report`: the Sozialbericht from a report definition.

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use quartier_report::definition::ReportDefinition;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    /// Eine eigenständige HTML-Datei (CSS und SVG eingebettet), druckbar
    Html,
    /// Arbeitsmappe: ein Blatt je Indikator, Index, Metadaten
    Xlsx,
    /// A4-PDF mit Titelseite, Inhaltsverzeichnis, Seitenzahlen, Vektorkarten, eingebetteter Schrift
    Pdf,
    /// Word-Dokument zum Weiterbearbeiten: echte Überschriften, Tabellen, Karten als Bilder
    Docx,
}

#[derive(Args)]
#[command(after_help = "Beispiel:
  quartier report --definition data/berlin-mss/report-2019.toml --format html --out sozialbericht-2019.html

Die Definition (TOML) nennt Titel, Ausgabe, Kapitel mit Indikatoren und eigenen Texten
(Markdown), das Index-Kapitel und die Gebietsprofile; sie bleibt von Ausgabe zu Ausgabe gleich.")]
pub struct ReportArgs {
    /// Berichtsdefinition (TOML)
    #[arg(long)]
    pub definition: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Ausgabedatei (wird erst geschrieben, wenn der Bericht vollständig ist)
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(db: &Path, a: ReportArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.definition).with_context(|| format!("{} kann nicht gelesen werden", a.definition.display()))?;
    let def = ReportDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.display()))?;
    if !db.exists() {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    let store = quartier_store::SqliteStore::open_read_only(db)
        .with_context(|| format!("Datenbank {} kann nicht geöffnet werden", db.display()))?;
    let format = match a.format {
        ReportFormat::Html => quartier_report::Format::Html,
        ReportFormat::Xlsx => quartier_report::Format::Xlsx,
        ReportFormat::Pdf => quartier_report::Format::Pdf,
        ReportFormat::Docx => quartier_report::Format::Docx,
    };
    let t = std::time::Instant::now();
    let bytes = quartier_report::write(&store, &def, format, &a.out).map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.display()))?;
    println!("{} geschrieben: {} KB in {:.1} s", a.out.display(), bytes / 1024, t.elapsed().as_secs_f64());
    Ok(())
}

#[derive(Clone, Copy, ValueEnum)]
pub enum ProfileFormat {
    Html,
    Pdf,
}

#[derive(Args)]
#[command(after_help = "Beispiele:
  quartier profiles --definition data/berlin-mss/report-2019.toml --area 01011101 --format pdf --out stuelerstrasse.pdf
  quartier profiles --definition data/berlin-mss/report-2019.toml --format html --out alle-steckbriefe.html

Je Gebiet zwei A4-Seiten: Lage, Sozialindex, alle Indikatoren der Definition gegen den Durchschnitt
mit Rang und Veränderung, dann die Entwicklung über die Jahre.")]
pub struct ProfilesArgs {
    /// Berichtsdefinition (TOML): Ebene, Jahr, Indikatoren (aus den Kapiteln), Index
    #[arg(long)]
    pub definition: PathBuf,
    /// Gebietsschlüssel (mehrfach oder mit Komma; ohne: alle Gebiete der Ebene)
    #[arg(long, value_delimiter = ',')]
    pub area: Vec<String>,
    #[arg(long, value_enum, default_value_t = ProfileFormat::Html)]
    pub format: ProfileFormat,
    /// Ausgabedatei (wird erst geschrieben, wenn alles vollständig ist)
    #[arg(long)]
    pub out: PathBuf,
}

pub fn profiles(db: &Path, a: ProfilesArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.definition).with_context(|| format!("{} kann nicht gelesen werden", a.definition.display()))?;
    let def = ReportDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.display()))?;
    if !db.exists() {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    let store = quartier_store::SqliteStore::open_read_only(db)
        .with_context(|| format!("Datenbank {} kann nicht geöffnet werden", db.display()))?;
    let format = match a.format {
        ProfileFormat::Html => quartier_report::Format::Html,
        ProfileFormat::Pdf => quartier_report::Format::Pdf,
    };
    let areas = (!a.area.is_empty()).then_some(a.area);
    let t = std::time::Instant::now();
    let bytes = quartier_report::write_profiles(&store, &def, areas, format, &a.out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.display()))?;
    println!("{} geschrieben: {} KB in {:.1} s", a.out.display(), bytes / 1024, t.elapsed().as_secs_f64());
    Ok(())
}
