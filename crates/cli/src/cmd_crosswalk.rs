//! `quartier crosswalk …`: weights between two boundary sets of a level, and earlier years
//! carried onto the new areas as estimates.

use crate::open;
use crate::output::{self, Format, n, spinner};
use anyhow::{Result, anyhow};
use clap::{Args, Subcommand};
use quartier_app::crosswalk::{self, Weights};
use quartier_import::crosswalk::{KeyTableOptions, read_key_table};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum CrosswalkCmd {
    /// Einen amtlichen Umsteigeschlüssel (alter Schlüssel, neuer Schlüssel, Anteil; CSV/XLSX) speichern
    #[command(after_help = "Beispiel:
  quartier crosswalk import umsteiger_plr_2021.csv --name plr2021 --level Planungsraum --to 2021-01-01

Spalten werden erkannt (alt/neu/anteil, ags_alt/ags_neu, from/to/share …) oder mit --old-field,
--new-field, --share-field genannt. Anteile als 0,6 oder 60 %; ohne Anteil geht das alte Gebiet
ganz über. Gebiete, die es in beiden Ständen gibt und die die Tabelle nicht nennt, gehen ganz
auf sich selbst über.")]
    Import {
        file: PathBuf,
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        old_field: Option<String>,
        #[arg(long)]
        new_field: Option<String>,
        #[arg(long)]
        share_field: Option<String>,
    },
    /// Einen Umstieg aus den Geometrien berechnen: Flächenanteile, gewichtete Punkte oder die
    /// Bevölkerung einer feineren Ebene (vorzuziehen, wo es sie gibt)
    #[command(after_help = "Beispiele:
  quartier crosswalk compute --name plr2021 --level Planungsraum --to 2021-01-01
  quartier crosswalk compute --name plr2021 --level Planungsraum --to 2021-01-01 --via Block --population ew
  quartier crosswalk compute --name plr2021 --level Planungsraum --to 2021-01-01 \\
      --points zensus_gitter_100m.csv --x x_mp_100m --y y_mp_100m --crs EPSG:3035 --weight einwohner")]
    Compute {
        #[command(flatten)]
        target: Target,
        /// Feinere Ebene, die in beiden Gebietsständen gilt: ihre Gebiete (mit --population) als Gewichte
        #[arg(long, conflicts_with = "points", requires = "population")]
        via: Option<String>,
        /// Merkmal mit der Bevölkerung der feineren Ebene (mit --via)
        #[arg(long)]
        population: Option<String>,
        /// Jahr der Bevölkerung (Standard: das letzte)
        #[arg(long)]
        year: Option<i32>,
        /// CSV mit gewichteten Punkten (Zensus-Gitter, Adresspunkte)
        #[arg(long, requires_all = ["x", "y", "crs"])]
        points: Option<PathBuf>,
        /// Spalte der x-Koordinate in --points
        #[arg(long)]
        x: Option<String>,
        /// Spalte der y-Koordinate in --points
        #[arg(long)]
        y: Option<String>,
        /// Koordinatensystem von --points, z. B. EPSG:3035
        #[arg(long)]
        crs: Option<String>,
        /// Spalte mit der Zahl der Personen je Punkt (ohne: jeder Punkt zählt 1)
        #[arg(long, requires = "points")]
        weight: Option<String>,
    },
    /// Zwei Umstiege nacheinander (A → B, B → C) als einen speichern (A → C)
    Chain {
        first: String,
        second: String,
        #[arg(long)]
        name: String,
    },
    /// Gespeicherte Umstiege auflisten
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Einen Umstieg mit seinen Prüfungen zeigen; mit --weights jedes Gewicht, sonst je neuem
    /// Gebiet den geschätzten Anteil
    Show {
        name: String,
        /// Alle Gewichte (alt, neu, Gewicht) statt der Anteile je neuem Gebiet
        #[arg(long)]
        weights: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Frühere Jahre über einen Umstieg auf die neuen Gebiete übertragen (als Schätzung)
    #[command(after_help = "Anzahlen werden nach den Gewichten aufgeteilt und summiert (die Summe bleibt genau erhalten);
Quoten daraus neu berechnet, nie gemittelt. Quoten ohne ihre Anzahlen nur mit --population
(bevölkerungsgewichtetes Mittel). Jeder übertragene Wert trägt den Status geschätzt (Kennzeichen s)
mit der Methode; gelieferte Werte werden nie ersetzt. Rückgängig wie jeder Import:
quartier import undo N.")]
    Apply {
        name: String,
        /// Nur diese Merkmale (Standard: alle mit Werten auf dem alten Stand)
        #[arg(long, value_delimiter = ',')]
        variables: Option<Vec<String>>,
        /// Anzahl-Merkmal als Gewicht für gelieferte Quoten
        #[arg(long)]
        population: Option<String>,
        /// Früher übertragene Werte ersetzen
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Einen gespeicherten Umstieg löschen (übertragene Werte bleiben; dafür quartier import undo)
    Remove { name: String },
}

/// Which crosswalk: its name, the level and the two boundary sets.
#[derive(Args)]
pub struct Target {
    /// Name, unter dem der Umstieg gespeichert wird
    #[arg(long)]
    name: String,
    #[arg(long)]
    level: String,
    /// Alter Gebietsstand: sein Gültig-ab-Datum (Standard: der erste)
    #[arg(long, value_name = "DATUM")]
    from: Option<String>,
    /// Neuer Gebietsstand: sein Gültig-ab-Datum
    #[arg(long, value_name = "DATUM")]
    to: String,
}

pub fn run(db: &std::path::Path, cmd: CrosswalkCmd) -> Result<()> {
    match cmd {
        CrosswalkCmd::Import { file, target: t, old_field, new_field, share_field } => {
            let mut store = open(db)?;
            let table = read_key_table(&file, &KeyTableOptions { old_field, new_field, share_field })?;
            let c = crosswalk::from_key_table(&store, &t.level, t.from.as_deref(), &t.to, table)
                .map_err(|e| anyhow!("{}: {e}", file.display()))?;
            let source = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            crosswalk::save(&mut store, &t.name, &t.level, t.from.as_deref(), &t.to, &c, &source).map_err(anyhow::Error::msg)?;
            print_summary(&store, &t.name)
        }
        CrosswalkCmd::Compute { target: t, via, population, year, points, x, y, crs, weight } => {
            let mut store = open(db)?;
            let read = points
                .as_deref()
                .map(|p| {
                    crate::cmd_offers::read_points(
                        p,
                        x.as_deref().unwrap_or_default(),
                        y.as_deref().unwrap_or_default(),
                        crs.as_deref().unwrap_or_default(),
                        weight.as_deref(),
                    )
                })
                .transpose()?;
            let weights = match (&read, &via) {
                (Some(p), _) => Weights::Points(p),
                (None, Some(level)) => Weights::Finer { level, variable: population.as_deref().unwrap_or_default(), year },
                (None, None) => Weights::Overlay,
            };
            let pb = spinner(format!("Berechne den Umstieg {} ({})", t.name, t.level));
            let (c, source) = crosswalk::compute(&store, &t.level, t.from.as_deref(), &t.to, weights).map_err(anyhow::Error::msg)?;
            pb.finish_and_clear();
            crosswalk::save(&mut store, &t.name, &t.level, t.from.as_deref(), &t.to, &c, &source).map_err(anyhow::Error::msg)?;
            print_summary(&store, &t.name)
        }
        CrosswalkCmd::Chain { first, second, name } => {
            let mut store = open(db)?;
            crosswalk::chain(&mut store, &first, &second, &name).map_err(anyhow::Error::msg)?;
            print_summary(&store, &name)
        }
        CrosswalkCmd::List { format } => {
            let store = open(db)?;
            let list = store.crosswalks(None)?;
            let rows = list
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        c.level.clone(),
                        c.from.clone().unwrap_or_default(),
                        c.to.clone(),
                        c.method.clone(),
                        c.links.len().to_string(),
                        c.source.clone(),
                        c.created.clone(),
                        c.who.clone(),
                    ]
                })
                .collect();
            output::emit(format, &["name", "level", "from", "to", "method", "weights", "source", "created", "who"], rows, &list)
        }
        CrosswalkCmd::Show { name, weights, format } => {
            let store = open(db)?;
            let r = crosswalk::get(&store, &name).map_err(anyhow::Error::msg)?;
            if weights {
                let rows = r.links.iter().map(|(o, nk, w)| vec![o.clone(), nk.clone(), format!("{w}")]).collect();
                return output::emit(format, &["old", "new", "weight"], rows, &r.links);
            }
            let s = crosswalk::summary(&store, &r).map_err(anyhow::Error::msg)?;
            if format == Format::Table {
                print_checks(&s);
                println!();
            }
            let rows = s.estimated.iter().map(|(k, e)| vec![k.clone(), format!("{e:.4}")]).collect();
            match format {
                Format::Json => {
                    println!("{}", serde_json::to_string_pretty(&s)?);
                    Ok(())
                }
                _ => output::emit(format, &["new", "estimated_share"], rows, &s.estimated),
            }
        }
        CrosswalkCmd::Apply { name, variables, population, replace, dry_run, format } => {
            let mut store = open(db)?;
            let pb = spinner(format!("Übertrage Werte über den Umstieg {name}"));
            let a = crosswalk::apply(&mut store, &name, variables.as_deref(), population.as_deref(), replace, dry_run)
                .map_err(anyhow::Error::msg)?;
            pb.finish_and_clear();
            if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&a)?);
                return Ok(());
            }
            println!("Umstieg {name}: {}", a.method);
            println!(
                "{} Werte als Schätzung übernommen, {} frühere Schätzungen ersetzt, {} gelieferte Werte behalten (Import {})",
                n(a.stored.inserted),
                n(a.stored.replaced),
                n(a.stored.kept_delivered),
                a.stored.import_id
            );
            let off: Vec<_> = a.totals.iter().filter(|t| (t.2 - t.3).abs() > 1e-6 * t.2.abs().max(1.0)).collect();
            println!(
                "Summen: {} Merkmal-Jahre geprüft, {}",
                a.totals.len(),
                if off.is_empty() { "alle erhalten".to_string() } else { format!("{} weichen ab", off.len()) }
            );
            for t in off.iter().take(10) {
                println!("  {} {}: alt {} → neu {}", t.0, t.1, t.2, t.3);
            }
            for s in a.skipped.iter().take(20) {
                println!("Nicht übertragen: {s}");
            }
            if dry_run {
                println!("Probelauf (--dry-run): nichts gespeichert.");
            }
            Ok(())
        }
        CrosswalkCmd::Remove { name } => {
            open(db)?.remove_crosswalk(&name)?;
            println!("Umstieg {name} gelöscht.");
            Ok(())
        }
    }
}

fn print_checks(s: &crosswalk::Summary) {
    println!("Umstieg {} ({}): Gebietsstand ab {} → ab {}; {}", s.name, s.level, s.from.as_deref().unwrap_or("Anfang"), s.to, s.method);
    println!("{} Gewichte, {} alte → {} neue Gebiete", n(s.links), n(s.old_areas), n(s.new_areas));
    let partly = s.estimated.iter().filter(|e| e.1 > 0.0).count();
    println!("{} neue Gebiete ganz aus ungeteilten alten, {} teils aus geteilten (geschätzt)", n(s.estimated.len() - partly), n(partly));
    if s.not_one.is_empty() {
        println!("Prüfung: die Gewichte jedes alten Gebiets ergeben 1");
    } else {
        println!("Prüfung: die Gewichte ergeben nicht 1 bei {}", list(s.not_one.iter().map(|(k, w)| format!("{k} ({w:.4})"))));
    }
    if !s.old_unlinked.is_empty() {
        println!("Alte Gebiete ohne Umstieg: {}", list(s.old_unlinked.iter().cloned()));
    }
    if !s.new_unlinked.is_empty() {
        println!("Neue Gebiete, auf die nichts übergeht: {}", list(s.new_unlinked.iter().cloned()));
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    if v.len() > 20 { format!("{}, … ({} insgesamt)", v[..20].join(", "), v.len()) } else { v.join(", ") }
}

fn print_summary(store: &dyn quartier_app::store::Store, name: &str) -> Result<()> {
    let r = crosswalk::get(store, name).map_err(anyhow::Error::msg)?;
    let s = crosswalk::summary(store, &r).map_err(anyhow::Error::msg)?;
    print_checks(&s);
    println!("Gespeichert. Werte übertragen: quartier crosswalk apply {name}");
    Ok(())
}
