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
  quartier report --name sozialbericht-2019 --format pdf --out sozialbericht-2019.pdf

Die Definition (TOML-Datei oder in der Datenbank gespeichert, siehe quartier reports) nennt Titel, Ausgabe, Kapitel mit Indikatoren und eigenen Texten
(Markdown), das Index-Kapitel und die Gebietsprofile; sie bleibt von Ausgabe zu Ausgabe gleich.")]
pub struct ReportArgs {
    #[command(flatten)]
    pub definition: DefinitionArg,
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    pub format: ReportFormat,
    /// Ausgabedatei (wird erst geschrieben, wenn der Bericht vollständig ist)
    #[arg(long)]
    pub out: PathBuf,
}

/// Where a report definition comes from: a TOML file, or one stored in the database.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct DefinitionArg {
    /// Berichtsdefinition (TOML-Datei)
    #[arg(long)]
    pub definition: Option<PathBuf>,
    /// Eine in der Datenbank gespeicherte Berichtsdefinition (Seite „Berichte“ oder
    /// `quartier reports save`)
    #[arg(long)]
    pub name: Option<String>,
}

impl DefinitionArg {
    /// How errors name the definition: its file, or its stored name.
    fn label(&self) -> String {
        match (&self.definition, &self.name) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(n)) => format!("Berichtsdefinition „{n}“"),
            (None, None) => "Berichtsdefinition".into(),
        }
    }
}

/// The report definition (checked) and the existing database it reads; errors name the file
/// or the stored definition.
fn definition_and_store(db: &Path, from: &DefinitionArg) -> Result<(ReportDefinition, Box<dyn quartier_app::store::Store + Send>)> {
    if crate::missing(db) {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    let store = crate::open_read_only(db)?;
    let def = match (&from.definition, &from.name) {
        (Some(file), _) => {
            let text = std::fs::read_to_string(file).with_context(|| format!("{} kann nicht gelesen werden", file.display()))?;
            ReportDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        }
        (None, Some(name)) => quartier_report::library::load(&*store, name).map_err(anyhow::Error::msg)?,
        (None, None) => bail!("--definition DATEI oder --name NAME angeben"),
    };
    Ok((def, store))
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
    let bytes = quartier_report::write(&store, &def, format, &a.out).map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.label()))?;
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
    /// Berichtsdefinition: Ebene, Jahr, Indikatoren (aus den Kapiteln), Index
    #[command(flatten)]
    pub definition: DefinitionArg,
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
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.label()))?;
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
    #[command(flatten)]
    pub definition: DefinitionArg,
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
    use quartier_app::store::Store;
    let (def, store) = definition_and_store(db, &a.definition)?;
    let levels = store.levels()?;
    let level = def.level.clone().or_else(|| levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone())).unwrap_or_default();
    // Offers located in the area, the latest conference, the gap analysis when asked for.
    let gap = match (&a.need, &a.group_variable) {
        (Some(need), Some(var)) => Some(quartier_report::funding::GapSpec {
            need: need.clone(),
            target_group: a.target_group.clone(),
            group_variable: var.clone(),
        }),
        _ => None,
    };
    let extras = quartier_report::funding::Extras::gather(&*store, &level, &a.area, gap.as_ref()).map_err(anyhow::Error::msg)?;
    let format = match a.format {
        ProfileFormat::Html => quartier_report::Format::Html,
        ProfileFormat::Pdf => quartier_report::Format::Pdf,
    };
    let bytes = quartier_report::write_funding(&store, &def, &a.area, &extras, format, &a.out)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.definition.label()))?;
    println!("{} geschrieben: {} KB", a.out.display(), bytes / 1024);
    Ok(())
}

#[derive(clap::Subcommand)]
pub enum ReportsCmd {
    /// Gespeicherte Berichtsdefinitionen: Name, Titel, Ausgabe, Ebene, Jahr
    List {
        #[arg(long, value_enum, default_value_t = crate::output::Format::Table)]
        format: crate::output::Format,
    },
    /// Eine gespeicherte Definition als TOML ausgeben (zum Bearbeiten oder Weitergeben)
    Show { name: String },
    /// Eine Definition (TOML) unter einem Namen speichern; geprüft wie auf der Seite „Berichte“
    #[command(after_help = "Beispiel:
  quartier reports save sozialbericht-2019 data/berlin-mss/report-2019.toml
  quartier report --name sozialbericht-2019 --format pdf --out bericht.pdf

Geprüft wird gegen die Daten: Ebene, Indikatoren und Index gibt es, und das Berichtsjahr hat für
jeden Indikator Werte. Eine vorhandene Definition gleichen Namens wird ersetzt (im Protokoll).")]
    Save {
        /// Name: Kleinbuchstaben, Ziffern, - und _
        name: String,
        /// Berichtsdefinition (TOML)
        file: PathBuf,
    },
    /// Eine gespeicherte Definition entfernen
    Remove { name: String },
}

#[derive(serde::Serialize)]
struct StoredDefinition {
    name: String,
    title: String,
    edition: String,
    level: Option<String>,
    year: Option<i32>,
    public: bool,
}

pub fn reports(db: &Path, c: ReportsCmd) -> Result<()> {
    use quartier_report::library;
    match c {
        ReportsCmd::List { format } => {
            let store = crate::open_read_only(db)?;
            let mut records = Vec::new();
            for (name, text) in library::list(&*store).map_err(anyhow::Error::msg)? {
                let def = ReportDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("Berichtsdefinition „{name}“: {e}"))?;
                records.push(StoredDefinition {
                    name,
                    title: def.title,
                    edition: def.edition,
                    level: def.level,
                    year: def.year,
                    public: def.public,
                });
            }
            let rows = records
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.title.clone(),
                        r.edition.clone(),
                        r.level.clone().unwrap_or_default(),
                        r.year.map(|y| y.to_string()).unwrap_or_default(),
                        if r.public { "öffentlich" } else { "intern" }.to_string(),
                    ]
                })
                .collect();
            crate::output::emit(format, &["name", "title", "edition", "level", "year", "public"], rows, &records)
        }
        ReportsCmd::Show { name } => {
            let store = crate::open_read_only(db)?;
            let text = library::get(&*store, &name).map_err(anyhow::Error::msg)?;
            let Some(text) = text else { bail!("Berichtsdefinition „{name}“ gibt es nicht (quartier reports list)") };
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            Ok(())
        }
        ReportsCmd::Save { name, file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("{} kann nicht gelesen werden", file.display()))?;
            let mut store = crate::open(db)?;
            match library::save(&mut *store, &name, &text, None) {
                Ok(def) => {
                    println!("Berichtsdefinition „{name}“ gespeichert: {} ({})", def.title, def.edition);
                    Ok(())
                }
                Err(problems) => {
                    let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
                    bail!("{}: nicht gespeichert:\n{}", file.display(), list.join("\n"))
                }
            }
        }
        ReportsCmd::Remove { name } => {
            let mut store = crate::open(db)?;
            if !library::remove(&mut *store, &name).map_err(anyhow::Error::msg)? {
                bail!("Berichtsdefinition „{name}“ gibt es nicht (quartier reports list)");
            }
            println!("Berichtsdefinition „{name}“ entfernt.");
            Ok(())
        }
    }
}
