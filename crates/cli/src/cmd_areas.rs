//! `quartier import areas`, `quartier import data` (dispatch), `quartier areas …`.

use crate::output::{self, Format, n, spinner};
use crate::{cmd_data, open};
use anyhow::Result;
use clap::{Args, Subcommand};
use quartier_app::store::{AreaReport, Store};
use quartier_import::areas::{AreaOptions, ParentMethod, PreparedAreas, RawAreas};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum ImportCmd {
    /// Gebiete aus GeoJSON, Shapefile, GeoPackage oder einer Tabelle (CSV/XLSX) importieren
    #[command(after_help = "Beispiele:
  quartier levels define Bezirk Bezirksregion Planungsraum
  quartier import areas bezirke.csv --level Bezirk --id-field id --name-field name
  quartier import areas plr.geojson --level Planungsraum --parent-prefix 6
  quartier import areas sozialraeume.shp --level Sozialraum --crs EPSG:25832 --encoding windows-1252
  quartier import areas 12411-01-01-5.csv --within 05316      (GENESIS-Tabelle: Kreis und Gemeinden)
  quartier import areas VG250_GEM.shp --level Gemeinde --id-field AGS --name-field GEN --parent-prefix 5")]
    Areas(Box<AreasArgs>),
    /// Statistische Daten (CSV/XLSX, Lang- oder Breitformat) importieren
    Data(Box<cmd_data::DataArgs>),
    /// Einen Datenimport rückgängig machen: seine neuen Werte entfernen, ersetzte zurückholen
    #[command(after_help = "Die Nummer steht in `quartier log`. Haben spätere Importe Werte dieses Imports ersetzt,
müssen sie zuerst rückgängig gemacht werden; Quartier nennt sie.")]
    Undo {
        /// Nummer des Imports (Spalte id in `quartier log`)
        id: i64,
    },
}

#[derive(Args)]
pub struct AreasArgs {
    /// Datei: .geojson, .shp, .gpkg, .csv oder .xlsx
    pub file: PathBuf,
    /// Ebene, zu der die Gebiete gehören (vorher mit `quartier levels define` anlegen). Bei einer
    /// Tabelle der amtlichen Statistik (GENESIS) entbehrlich: die Ebenen Land, Regierungsbezirk,
    /// Kreis, Gemeindeverband, Gemeinde entstehen aus der Schlüsselstruktur
    #[arg(long)]
    pub level: Option<String>,
    /// Amtliche Tabelle: nur dieses Gebiet, was darunter liegt und die Gebiete darüber
    /// (z. B. --within 05316 für einen Kreis und seine Gemeinden)
    #[arg(long, value_name = "SCHLÜSSEL")]
    pub within: Option<String>,
    /// Feld mit dem Gebietsschlüssel (Standard: erkannt, z. B. id, schluessel, ags)
    #[arg(long)]
    pub id_field: Option<String>,
    /// Feld mit dem Gebietsnamen (Standard: erkannt, z. B. name, bezeichnung)
    #[arg(long)]
    pub name_field: Option<String>,
    /// Feld mit dem Schlüssel des übergeordneten Gebiets
    #[arg(long, conflicts_with = "parent_prefix")]
    pub parent_field: Option<String>,
    /// Übergeordnetes Gebiet = die ersten N Zeichen des Schlüssels (Berlin: PLR 01011101 → BZR 010111 mit 6)
    #[arg(long)]
    pub parent_prefix: Option<usize>,
    /// Tabelle mit mehreren Ebenen: nur Zeilen, deren Feld F gleich --level ist
    #[arg(long)]
    pub level_field: Option<String>,
    /// Koordinatensystem, falls die Datei keines angibt oder es falsch ist: EPSG:N (jeder
    /// EPSG-Code), ein PROJ-String, WKT-Text oder eine .prj-Datei
    #[arg(long)]
    pub crs: Option<String>,
    /// NTv2-Gitterdatei für den Übergang DHDN → ETRS89 (z. B. BETA2007.gsb) statt der
    /// Helmert-Parameter (Gauß-Krüger, EPSG:31466–31469)
    #[arg(long, value_name = "DATEI")]
    pub grid: Option<PathBuf>,
    /// Layer eines GeoPackages
    #[arg(long)]
    pub layer: Option<String>,
    /// Zeichenkodierung der .dbf bzw. CSV (z. B. windows-1252, utf-8)
    #[arg(long)]
    pub encoding: Option<String>,
    /// Tabellenblatt (XLSX)
    #[arg(long)]
    pub sheet: Option<String>,
    /// Neuer Gebietsstand, gültig ab diesem Datum (JJJJ-MM-TT): geänderte und fehlende Gebiete
    /// gelten ab dann nicht mehr und behalten ihre Werte; Gebiete mit gleicher Fläche
    /// (Verschneidung) bestehen fort. Ohne: die Gebiete werden aktualisiert
    #[arg(long, value_name = "DATUM")]
    pub valid_from: Option<String>,
    /// Nur prüfen und zeigen, was sich ändern würde; nichts speichern
    #[arg(long)]
    pub dry_run: bool,
    /// Ausgabe der Zusammenfassung
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Subcommand)]
pub enum AreasCmd {
    /// Gebiete auflisten
    List {
        /// Nur diese Ebene
        #[arg(long)]
        level: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Gebietsstände jeder Ebene: gültig ab, bis, Gebiete, neue, abgelöste, Werte
    Versions {
        /// Nur diese Ebene
        #[arg(long)]
        level: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Geometrien einer Ebene aus ihren Teilgebieten zusammensetzen (auflösen)
    Dissolve {
        /// Ebene, deren Geometrien aus der Ebene darunter entstehen
        #[arg(long)]
        level: String,
    },
}

pub fn import(db: &Path, cmd: ImportCmd) -> Result<()> {
    match cmd {
        ImportCmd::Areas(a) => import_areas(db, &a),
        ImportCmd::Data(d) => cmd_data::import(db, &d),
        ImportCmd::Undo { id } => {
            let r = open(db)?.undo_import(id)?;
            println!(
                "Import {} ({}) rückgängig gemacht: {} Werte entfernt, {} frühere Werte wiederhergestellt.",
                r.id, r.file, r.removed, r.restored
            );
            Ok(())
        }
    }
}

/// Reads, checks and stores an area file (the shared path of `quartier_import::load`), with a
/// spinner.
pub fn load_areas(store: &mut dyn Store, file: &Path, opts: &AreaOptions, dry_run: bool) -> Result<(RawAreas, PreparedAreas, AreaReport)> {
    let pb = spinner(format!("Lese und prüfe {}", file.display()));
    let out = quartier_import::load::areas(store, file, &file.display().to_string(), opts, dry_run)?;
    pb.finish_and_clear();
    Ok(out)
}

pub fn import_areas(db: &Path, a: &AreasArgs) -> Result<()> {
    let mut store = open(db)?;
    if a.level.is_none() || a.within.is_some() {
        let pb = spinner(format!("Lese und prüfe {}", a.file.display()));
        let shown = a.file.display().to_string();
        let out =
            quartier_import::load::official_areas(&mut store, &a.file, &shown, a.within.as_deref(), a.encoding.as_deref(), a.dry_run)?;
        pb.finish_and_clear();
        let Some(out) = out else {
            anyhow::bail!(
                "{}: --level fehlt (Ebene der Gebiete, z. B. --level Sozialraum); ohne --level werden nur Tabellen der amtlichen Statistik (GENESIS) gelesen, deren Schlüssel die Ebene zeigen",
                a.file.display()
            );
        };
        return print_official_areas(a, &out);
    }
    let opts = AreaOptions {
        level: a.level.clone().unwrap_or_default(),
        id_field: a.id_field.clone(),
        name_field: a.name_field.clone(),
        parent_field: a.parent_field.clone(),
        parent_prefix: a.parent_prefix,
        level_field: a.level_field.clone(),
        crs: a.crs.clone(),
        grid: a.grid.as_ref().map(|g| g.display().to_string()),
        crs_files: true,
        layer: a.layer.clone(),
        encoding: a.encoding.clone(),
        sheet: a.sheet.clone(),
        valid_from: a.valid_from.clone(),
    };
    let (raw, prepared, report) = load_areas(&mut store, &a.file, &opts, a.dry_run)?;
    if a.format == Format::Json {
        let j = serde_json::json!({
            "file": a.file.display().to_string(),
            "format": raw.format,
            "crs": prepared.crs.as_ref().map(|c| if c.epsg > 0 { format!("EPSG:{}", c.epsg) } else { c.proj_string().to_string() }),
            "datum_shift": prepared.crs.as_ref().and_then(|c| c.shift.clone()),
            "level": report.level,
            "inserted": report.inserted,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "not_in_file": report.not_in_file,
            "valid_from": a.valid_from,
            "retired": report.retired,
            "orphans": prepared.orphans,
            "area_km2": prepared.batch.areas.iter().filter_map(|x| x.area_m2).sum::<f64>() / 1e6,
            "boundary_changes": prepared.changes,
            "dry_run": report.dry_run,
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    let crs = match (&prepared.crs, &raw.crs, &a.crs) {
        (Some(c), _, Some(_)) => format!(", {}; laut --crs", c.label()),
        (Some(c), Some((_, from)), None) => format!(", {}; laut {from}", c.label()),
        (Some(c), None, None) => format!(", {}; GeoJSON-Standard", c.label()),
        _ => ", ohne Geometrien".to_string(),
    };
    println!("{}: {} Gebiete gelesen ({}{crs})", a.file.display(), n(prepared.batch.areas.len()), raw.format);
    let total: f64 = prepared.batch.areas.iter().filter_map(|x| x.area_m2).sum();
    if total > 0.0 {
        println!("Fläche zusammen: {} km²", crate::output::km2(total));
    }
    match &prepared.parent_method {
        ParentMethod::Field(f) => println!("Übergeordnete Gebiete aus Feld „{f}“"),
        ParentMethod::Prefix(p) => println!("Übergeordnete Gebiete aus den ersten {p} Zeichen des Schlüssels"),
        ParentMethod::Spatial { level } => println!("Übergeordnete Gebiete räumlich zugeordnet (Punkt im Gebiet, Ebene „{level}“)"),
        ParentMethod::None => {}
    }
    for w in &prepared.warnings {
        println!("Hinweis: {w}");
    }
    println!(
        "Ebene {}: {} neu, {} geändert, {} unverändert{}",
        report.level,
        n(report.inserted),
        n(report.updated),
        n(report.unchanged),
        if report.not_in_file.is_empty() {
            String::new()
        } else {
            format!(", {} gespeicherte nicht in der Datei (bleiben erhalten)", n(report.not_in_file.len()))
        }
    );
    if !report.retired.is_empty() {
        println!(
            "Neuer Gebietsstand ab {}: {} Gebiete gelten nicht mehr (mit ihren Werten aufbewahrt): {}{}",
            a.valid_from.as_deref().unwrap_or(""),
            n(report.retired.len()),
            report.retired.iter().take(20).cloned().collect::<Vec<_>>().join(", "),
            if report.retired.len() > 20 { ", …" } else { "" }
        );
        println!("Frühere Jahre auf den neuen Stand bringen: quartier crosswalk compute … und quartier crosswalk apply …");
    }
    if let Some(c) = prepared.changes.as_ref().filter(|c| !c.unchanged()) {
        print_boundary_changes(c);
    }
    if report.dry_run {
        println!("Probelauf (--dry-run): nichts gespeichert.");
    }
    Ok(())
}

/// What a new boundary set changes against the stored one (by overlay): the counts, then the
/// areas that are not simply unchanged, with the stored areas they take territory from.
fn print_boundary_changes(c: &quartier_import::areas::BoundaryChanges) {
    let counts: Vec<String> = c.counts().iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{} {k}", n)).collect();
    println!("Grenzen gegenüber den gespeicherten Gebieten: {}", counts.join(", "));
    let unchanged = quartier_core::crosswalk::Change::Unchanged.label_de();
    for a in c.areas.iter().filter(|a| a.change != unchanged).take(30) {
        if a.from.is_empty() {
            println!("  {} ({})", a.key, a.change);
        } else {
            println!("  {} ({}) aus {}", a.key, a.change, a.from.join(", "));
        }
    }
    let shown = c.areas.iter().filter(|a| a.change != unchanged).count();
    if shown > 30 {
        println!("  … und {} weitere", shown - 30);
    }
    if !c.uncovered.is_empty() {
        println!("Nicht mehr abgedeckt: {}", c.uncovered.join(", "));
    }
}

fn print_official_areas(a: &AreasArgs, out: &quartier_import::load::OfficialAreas) -> Result<()> {
    if a.format == Format::Json {
        let levels: Vec<serde_json::Value> = out
            .plan
            .levels
            .iter()
            .enumerate()
            .map(|(i, (_, name, areas))| {
                let r = out.reports.get(i);
                serde_json::json!({
                    "level": name,
                    "areas": areas.len(),
                    "inserted": r.map(|r| r.inserted),
                    "updated": r.map(|r| r.updated),
                    "unchanged": r.map(|r| r.unchanged),
                })
            })
            .collect();
        let j = serde_json::json!({
            "file": a.file.display().to_string(),
            "format": out.format.label(),
            "source": out.source,
            "levels_new": out.levels_new,
            "levels": levels,
            "notes": out.plan.notes,
            "dry_run": a.dry_run,
        });
        println!("{}", serde_json::to_string_pretty(&j)?);
        return Ok(());
    }
    println!("{}: {}{}", a.file.display(), out.format.label(), out.source.as_ref().map(|s| format!(" ({s})")).unwrap_or_default());
    if !out.levels_new.is_empty() {
        let verb = if a.dry_run { "würden angelegt" } else { "angelegt" };
        println!("Neue Ebenen {verb}: {}", out.levels_new.join(" → "));
    }
    for (i, (_, name, areas)) in out.plan.levels.iter().enumerate() {
        match out.reports.get(i) {
            Some(r) => println!(
                "Ebene {name}: {} Gebiete, {} neu, {} geändert, {} unverändert (übergeordnete Gebiete aus der Schlüsselstruktur)",
                n(areas.len()),
                n(r.inserted),
                n(r.updated),
                n(r.unchanged)
            ),
            None => println!("Ebene {name}: {} Gebiete", n(areas.len())),
        }
    }
    for note in &out.plan.notes {
        println!("Hinweis: {note}");
    }
    println!(
        "Geometrien später nach Schlüssel ergänzen, z. B.: quartier import areas VG250_GEM.shp --level Gemeinde --id-field AGS --parent-prefix 5"
    );
    if a.dry_run {
        println!("Probelauf (--dry-run): nichts gespeichert.");
    }
    Ok(())
}

pub fn areas(db: &Path, cmd: AreasCmd) -> Result<()> {
    match cmd {
        AreasCmd::List { level, format } => {
            let store = open(db)?;
            let list = store.areas(level.as_deref())?;
            let rows = list
                .iter()
                .map(|a| {
                    vec![
                        a.key.clone(),
                        a.name.clone(),
                        a.level.clone(),
                        a.parent.clone().unwrap_or_default(),
                        a.area_m2.map(|m| format!("{:.0}", m)).unwrap_or_default(),
                        if a.has_geometry { "ja".into() } else { "nein".into() },
                    ]
                })
                .collect();
            output::emit(format, &["key", "name", "level", "parent", "area_m2", "geometry"], rows, &list)
        }
        AreasCmd::Versions { level, format } => {
            let list = open(db)?.area_versions(level.as_deref())?;
            let rows = list
                .iter()
                .map(|v| {
                    vec![
                        v.level.clone(),
                        v.valid_from.clone().unwrap_or_default(),
                        v.valid_to.clone().unwrap_or_default(),
                        v.areas.to_string(),
                        v.new.to_string(),
                        v.retired.to_string(),
                        v.values.to_string(),
                    ]
                })
                .collect();
            output::emit(format, &["level", "valid_from", "valid_to", "areas", "new", "retired", "values"], rows, &list)
        }
        AreasCmd::Dissolve { level } => {
            let r = dissolve(db, &level)?;
            println!("Ebene {level}: {} Geometrien aus Teilgebieten gebildet ({} geändert, {} unverändert)", n(r.0), n(r.1), n(r.2));
            Ok(())
        }
    }
}

/// Gives the areas of `level` the union of their children's geometries.
/// Returns (dissolved, updated, unchanged).
pub fn dissolve(db: &Path, level: &str) -> Result<(usize, usize, usize)> {
    let mut store = open(db)?;
    let pb = spinner(format!("Setze {level} aus den Teilgebieten zusammen"));
    let (n, r) = quartier_import::load::dissolve(&mut store, level)?;
    pb.finish_and_clear();
    Ok((n, r.updated, r.unchanged))
}
