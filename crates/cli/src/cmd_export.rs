//! `quartier export opendata`: areas with indicator values as open data, disclosure-controlled.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ExportCmd {
    /// Offene Daten: CSV (UTF-8 und für deutsches Excel), GeoJSON und Metadaten (DCAT-AP.de),
    /// immer mit Geheimhaltung
    #[command(after_help = "Beispiel:
  quartier export opendata --level Planungsraum --year 2019 --indicators s1,s3,s4 --out opendata/ \\
    --title \"Sozialmonitoring Berlin 2019\" --publisher \"Senatsverwaltung\" --spatial Berlin

  quartier export opendata --level Planungsraum --year 2015,2017,2019 --out opendata/

Schreibt NAME.csv, NAME.de.csv, NAME.geojson und NAME.meta.json. Anzahlen unter der Schwelle
und Werte, aus denen sie sich zurückrechnen ließen, stehen nie darin (Vermerk „geheim“).")]
    Opendata(OpendataArgs),
}

#[derive(Args)]
pub struct OpendataArgs {
    /// Ebene der Gebiete
    #[arg(long)]
    pub level: String,
    /// Jahr oder Jahre, durch Komma getrennt oder wiederholt (Standard: das neueste mit Werten);
    /// mehrere Jahre stehen als Zeilen je Gebiet und Jahr in denselben Dateien
    #[arg(long, value_delimiter = ',')]
    pub year: Vec<i32>,
    /// Indikatoren, durch Komma getrennt (Standard: der ganze Katalog)
    #[arg(long, value_delimiter = ',')]
    pub indicators: Vec<String>,
    /// Verzeichnis für die Dateien (wird angelegt, wenn es fehlt)
    #[arg(long)]
    pub out: PathBuf,
    /// Grundname der Dateien
    #[arg(long, default_value = "sozialmonitoring")]
    pub name: String,
    #[arg(long, default_value = "Sozialmonitoring")]
    pub title: String,
    #[arg(long, default_value = "Indikatoren der integrierten Sozialplanung.")]
    pub description: String,
    #[arg(long, default_value = "")]
    pub publisher: String,
    /// Lizenz als URI des DCAT-AP.de-Vokabulars
    #[arg(long, default_value = "http://dcat-ap.de/def/licenses/dl-by-de/2.0")]
    pub licence: String,
    /// Name des abgedeckten Gebiets (z. B. die Kommune)
    #[arg(long, default_value = "")]
    pub spatial: String,
    /// Schwelle der Geheimhaltung (mindestens 1)
    #[arg(long, default_value_t = quartier_core::disclosure::DEFAULT_THRESHOLD)]
    pub disclosure_threshold: f64,
    /// Adresse, unter der die Dateien veröffentlicht werden (z. B. https://opendata.kreis.de/sozialmonitoring/):
    /// die Metadaten nennen dann die vollständigen Download-Adressen; ohne: die Dateinamen,
    /// relativ zur Metadatendatei
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

pub fn run(db: &Path, cmd: ExportCmd) -> Result<()> {
    let ExportCmd::Opendata(a) = cmd;
    if a.disclosure_threshold.is_nan() || a.disclosure_threshold < 1.0 {
        bail!("--disclosure-threshold muss mindestens 1 sein");
    }
    if a.name.is_empty() || a.name.contains(['/', '\\']) || a.name.starts_with('.') {
        bail!("--name „{}“: ein Dateiname ohne Verzeichnis", a.name);
    }
    // DCAT-AP.de wants IRIs for the licence and the download addresses.
    let iri = |s: &str| (s.starts_with("https://") || s.starts_with("http://")) && s.len() > 8 && !s.contains([' ', '"', '<', '>']);
    if !iri(&a.licence) {
        bail!(
            "--licence „{}“: eine Adresse (IRI) des DCAT-AP.de-Lizenzvokabulars, z. B. http://dcat-ap.de/def/licenses/dl-by-de/2.0",
            a.licence
        );
    }
    if let Some(b) = &a.base_url
        && !iri(b)
    {
        bail!("--base-url „{b}“: eine http- oder https-Adresse");
    }
    if crate::missing(db) {
        bail!("Datenbank {} gibt es nicht", db.display());
    }
    let store = crate::open_read_only(db)?;
    let req = quartier_report::opendata::Request {
        level: a.level,
        years: a.year,
        indicators: a.indicators,
        threshold: a.disclosure_threshold,
        name: a.name,
        title: a.title,
        description: a.description,
        publisher: a.publisher,
        licence: a.licence,
        spatial: a.spatial,
        base_url: a.base_url,
    };
    let files = quartier_report::opendata::export(&store, &req).map_err(anyhow::Error::msg)?;
    match a.out.parent() {
        Some(p) if !p.as_os_str().is_empty() && !p.is_dir() => bail!("{}: das Verzeichnis {} gibt es nicht", a.out.display(), p.display()),
        _ => std::fs::create_dir_all(&a.out).map_err(|e| anyhow::anyhow!("{}: {e}", a.out.display()))?,
    }
    for (name, bytes) in &files {
        quartier_report::write_atomic(&a.out.join(name), bytes).map_err(anyhow::Error::msg)?;
        println!("{} ({} KB)", a.out.join(name).display(), bytes.len() / 1024);
    }
    Ok(())
}
