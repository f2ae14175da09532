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

/// The report definition (checked) and the existing database it reads; errors name the file.
fn definition_and_store(db: &Path, definition: &Path) -> Result<(ReportDefinition, Box<dyn quartier_store::Store + Send>)> {
    let text = std::fs::read_to_string(definition).with_context(|| format!("{} kann nicht gelesen werden", definition.display()))?;
    let def = ReportDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", definition.display()))?;
    if crate::missing(db) {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    Ok((def, crate::open_read_only(db)?))
}

pub fn run(db: &Path, a: ReportArgs) -> Result<()> {
    let (def, store) = definition_and_store(db, &a.definition)?;
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
    let (def, store) = definition_and_store(db, &a.definition)?;
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

#[derive(Args)]
#[command(after_help = "Beispiel:
  quartier funding-sheet --definition bericht.toml --area 0102 --format pdf --out ausgangslage-0102.pdf \\
      --need kinderarmut --target-group Kinder --group-variable kinder_u15

Die Ausgangslage eines Gebiets, wie Förderprogramme sie verlangen: Kennzahlen gegen den Durchschnitt
und ihre Entwicklung, Sozialindex, Angebote im Gebiet, Bedarf und Versorgung, die Einschätzung der
letzten Sozialraumkonferenz, Quellen.")]
pub struct FundingArgs {
    /// Berichtsdefinition (Ebene, Jahr, Indikatoren, Index)
    #[arg(long)]
    pub definition: PathBuf,
    /// Gebietsschlüssel
    #[arg(long)]
    pub area: String,
    #[arg(long, value_enum, default_value_t = ProfileFormat::Html)]
    pub format: ProfileFormat,
    #[arg(long)]
    pub out: PathBuf,
    /// Für „Bedarf und Versorgung“: Indikator des Bedarfs
    #[arg(long, requires = "group_variable")]
    pub need: Option<String>,
    /// Zielgruppe der Angebote
    #[arg(long)]
    pub target_group: Option<String>,
    /// Merkmal mit der Größe der Zielgruppe
    #[arg(long)]
    pub group_variable: Option<String>,
}

pub fn funding(db: &Path, a: FundingArgs) -> Result<()> {
    use quartier_store::Store;
    let (def, store) = definition_and_store(db, &a.definition)?;
    let levels = store.levels()?;
    let level = def.level.clone().or_else(|| levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone())).unwrap_or_default();
    // Offers located in the area, the latest conference, the gap analysis when asked for.
    let geoms = quartier_app::spatial::level_geometries(&store, &level).map_err(anyhow::Error::msg)?;
    let mut extras = quartier_report::funding::Extras::default();
    if let Some((_, g)) = geoms.iter().find(|(k, _)| *k == a.area) {
        extras.offers = store.offers()?.located_in(g);
    }
    extras.conference = store.conferences(Some((&level, &a.area)))?.into_iter().next();
    if let (Some(need), Some(var)) = (&a.need, &a.group_variable) {
        let spec = quartier_app::supply::SupplySpec {
            level: level.clone(),
            target_group: a.target_group.clone(),
            group_variable: var.clone(),
            year: None,
            distances: vec![],
            date: None,
            points: None,
        };
        let g = quartier_app::supply::gaps(&store, &spec, need).map_err(anyhow::Error::msg)?;
        extras.gap = g.rows.iter().find(|r| r.area_id == a.area).and_then(|r| r.quadrant).map(|q| (g.need_label.clone(), q.to_string()));
    }
    let format = match a.format {
        ProfileFormat::Html => quartier_report::Format::Html,
        ProfileFormat::Pdf => quartier_report::Format::Pdf,
    };
    let bytes = quartier_report::write_funding(&store, &def, &a.area, &extras, format, &a.out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.display()))?;
    println!("{} geschrieben: {} KB", a.out.display(), bytes / 1024);
    Ok(())
}
