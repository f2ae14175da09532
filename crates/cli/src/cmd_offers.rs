//! `quartier offers`, `quartier supply`, `quartier gaps`: the offer directory (HSDS style),
//! supply per area and target group, and where high need meets low supply.

use crate::output::{self, Format};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use quartier_app::store::Store;
use quartier_app::supply::SupplySpec;
use quartier_core::date::{days_from_iso, iso_from_days};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum OffersCmd {
    /// Angebotsverzeichnis importieren: Ordner mit organizations.csv, services.csv, locations.csv,
    /// service_at_location.csv (HSDS) oder eine JSON-Datei
    #[command(after_help = "Beispiel:
  quartier offers import angebote/ --crs EPSG:25832 --dry-run

Vorhandene Einträge gleicher Kennung werden aktualisiert, andere bleiben. Standorte mit latitude/longitude
(WGS84) oder x/y mit --crs. Listen in einer Zelle (Zielgruppen, Sprachen) mit | oder ; trennen.")]
    Import {
        path: PathBuf,
        /// Koordinatensystem der Spalten x/y (z. B. EPSG:25832)
        #[arg(long)]
        crs: Option<String>,
        #[arg(long)]
        dry_run: bool,
        /// Standorte außerhalb aller Gebiete trotzdem übernehmen (Standard: Fehler, der sie nennt)
        #[arg(long)]
        allow_outside: bool,
    },
    /// Angebote mit Träger, Standort, Gebiet und Stand der Bestätigung
    List {
        /// Ebene, deren Gebiet zu jedem Standort genannt wird
        #[arg(long)]
        level: Option<String>,
        /// Als veraltet markieren, was länger als so viele Tage nicht bestätigt wurde
        #[arg(long, default_value_t = 365)]
        stale_after_days: i64,
        /// Stichtag für „veraltet“ und Gültigkeit (JJJJ-MM-TT; Standard: heute)
        #[arg(long)]
        date: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Angebotsverzeichnis als HSDS-CSV (Ordner) oder JSON (Datei .json) ausgeben
    Export { out: PathBuf },
}

#[derive(Args)]
#[command(after_help = "Beispiel:
  quartier supply --level Sozialraum --target-group Kinder --group-variable kinder_u15 --distance 500,1000

Je Gebiet: Zahl der Angebote, Kapazität je 1.000 der Zielgruppe und der Anteil der Zielgruppe,
der ein passendes Angebot in Luftlinie erreicht. Ohne --points als Näherung über die Gebietsmittelpunkte
der untersten Ebene, gewichtet mit der Zielgruppe; mit --points aus gewichteten Punkten, z. B. den
100-m-Gitterzellen des Zensus oder Adresspunkten mit der Zahl der Personen der Zielgruppe:
  quartier supply --level Sozialraum --target-group Kinder --group-variable kinder_u15 \\
      --points zensus_gitter_100m.csv --x x_mp_100m --y y_mp_100m --crs EPSG:3035 --weight kinder")]
pub struct SupplyArgs {
    #[arg(long)]
    pub level: String,
    /// Zielgruppe der Angebote (wie in target_groups; ohne: alle Angebote)
    #[arg(long)]
    pub target_group: Option<String>,
    /// Merkmal mit der Größe der Zielgruppe je Gebiet
    #[arg(long)]
    pub group_variable: String,
    #[arg(long)]
    pub year: Option<i32>,
    /// Entfernungen in Metern
    #[arg(long, value_delimiter = ',', default_value = "500,1000")]
    pub distance: Vec<f64>,
    /// Nur Angebote, die an diesem Tag gültig sind (JJJJ-MM-TT)
    #[arg(long)]
    pub date: Option<String>,
    /// CSV mit gewichteten Punkten der Zielgruppe (Zensus-Gitter, Adresspunkte) für die Erreichbarkeit
    #[arg(long, requires_all = ["x", "y", "crs"])]
    pub points: Option<PathBuf>,
    /// Spalte der x-Koordinate in --points
    #[arg(long)]
    pub x: Option<String>,
    /// Spalte der y-Koordinate in --points
    #[arg(long)]
    pub y: Option<String>,
    /// Koordinatensystem von --points, z. B. EPSG:3035
    #[arg(long)]
    pub crs: Option<String>,
    /// Spalte mit der Zahl der Personen je Punkt (ohne: jeder Punkt zählt 1)
    #[arg(long, requires = "points")]
    pub weight: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Args)]
#[command(after_help = "Beispiel:
  quartier gaps --level Sozialraum --need kinderarmut --target-group Kinder --group-variable kinder_u15

Bedarf (ein Indikator) gegen Versorgung (Kapazität je 1.000 der Zielgruppe, sonst Angebote je 1.000):
Gebiete mit Bedarf ab dem Median und Versorgung bis zum Median sind Lücken („hoher Bedarf, geringe
Versorgung“).")]
pub struct GapsArgs {
    #[command(flatten)]
    pub supply: SupplyArgs,
    /// Indikator des Bedarfs (höher = mehr Bedarf)
    #[arg(long)]
    pub need: String,
    /// Nur die Lücken ausgeben
    #[arg(long)]
    pub only_gaps: bool,
}

fn today() -> String {
    iso_from_days(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0) as i64)
}

pub fn run(db: &Path, cmd: OffersCmd) -> Result<()> {
    match cmd {
        OffersCmd::Import { path, crs, dry_run, allow_outside } => {
            let offers = quartier_import::offers::read(&path, crs.as_deref())?;
            let mut store = crate::open(db)?;
            let outside = quartier_app::spatial::locations_outside(&store, &offers.locations).map_err(anyhow::Error::msg)?;
            if !outside.is_empty() && !allow_outside {
                // Errors of the directory itself (references, ids) come first.
                store.save_offers(&offers, true).with_context(|| path.display().to_string())?;
                let list: Vec<String> = outside.iter().map(|(id, name)| format!("{id} („{name}“)")).collect();
                bail!(
                    "{}: {} Standorte liegen außerhalb aller Gebiete: {}. Koordinaten und Koordinatensystem (--crs) prüfen; mit --allow-outside trotzdem übernehmen. Nichts gespeichert.",
                    path.display(),
                    outside.len(),
                    list.join(", ")
                );
            }
            let hints = quartier_app::offers::likely_duplicates(&offers, &store.offers()?);
            let r = store.save_offers(&offers, dry_run).with_context(|| path.display().to_string())?;
            for h in &hints {
                println!("Möglicherweise doppelt: {h}");
            }
            for (id, name) in &outside {
                println!("Hinweis: Standort {id} („{name}“) liegt außerhalb aller Gebiete (--allow-outside)");
            }
            println!(
                "{}: {} Träger, {} Angebote, {} Standorte, {} Verknüpfungen{}",
                path.display(),
                r.organizations,
                r.services,
                r.locations,
                r.links,
                if dry_run { " (Probelauf: nichts gespeichert)" } else { " gespeichert" }
            );
            Ok(())
        }
        OffersCmd::Export { out } => {
            let offers = crate::open(db)?.offers()?;
            if out.extension().is_some_and(|e| e == "json") {
                quartier_report::write_atomic(&out, &serde_json::to_vec_pretty(&offers)?).map_err(anyhow::Error::msg)?;
                println!("{} geschrieben", out.display());
            } else {
                std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
                for (name, text) in quartier_import::offers::to_csv(&offers) {
                    quartier_report::write_atomic(&out.join(&name), text.as_bytes()).map_err(anyhow::Error::msg)?;
                    println!("{}", out.join(&name).display());
                }
            }
            Ok(())
        }
        OffersCmd::List { level, stale_after_days, date, format } => {
            let store = crate::open(db)?;
            let offers = store.offers()?;
            let date = date.unwrap_or_else(today);
            let Some(today) = days_from_iso(&date) else { bail!("--date {date}: JJJJ-MM-TT erwartet") };
            let area_of = match &level {
                Some(l) => {
                    let geoms = quartier_app::spatial::level_geometries(&store, l).map_err(anyhow::Error::msg)?;
                    let index = quartier_geom::locate::PointIndex::new(geoms.iter().map(|(_, g)| g.clone()).collect());
                    Some((geoms, index))
                }
                None => None,
            };
            let orgs: std::collections::HashMap<&str, &quartier_app::store::offers::Organization> =
                offers.organizations.iter().map(|o| (o.id.as_str(), o)).collect();
            let locations: std::collections::HashMap<&str, &quartier_app::store::offers::Location> =
                offers.locations.iter().map(|l| (l.id.as_str(), l)).collect();
            let mut rows = Vec::new();
            let mut json = Vec::new();
            for s in &offers.services {
                let at: Vec<&quartier_app::store::offers::Location> = offers
                    .service_at_location
                    .iter()
                    .filter(|k| k.service_id == s.id)
                    .filter_map(|k| locations.get(k.location_id.as_str()).copied())
                    .collect();
                let confirmed = if s.last_confirmed.is_empty() {
                    orgs.get(s.organization_id.as_str()).map(|o| o.last_confirmed.clone()).unwrap_or_default()
                } else {
                    s.last_confirmed.clone()
                };
                let stale = days_from_iso(&confirmed).is_none_or(|d| today - d > stale_after_days);
                let expired = !s.valid_to.is_empty() && s.valid_to < date;
                let areas: Vec<String> = at
                    .iter()
                    .map(|l| match &area_of {
                        Some((g, idx)) => idx.locate(l.longitude, l.latitude).map(|i| g[i].0.clone()).unwrap_or_else(|| "außerhalb".into()),
                        None => String::new(),
                    })
                    .collect();
                let org = orgs.get(s.organization_id.as_str()).map(|o| o.name.clone()).unwrap_or_default();
                rows.push(vec![
                    s.id.clone(),
                    s.name.clone(),
                    org.clone(),
                    s.target_groups.join(", "),
                    s.capacity.map(|c| c.to_string()).unwrap_or_default(),
                    at.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join("; "),
                    areas.join("; "),
                    confirmed.clone(),
                    if stale {
                        "veraltet".into()
                    } else if expired {
                        "abgelaufen".into()
                    } else {
                        String::new()
                    },
                ]);
                json.push(serde_json::json!({
                    "id": s.id, "name": s.name, "organization": org, "target_groups": s.target_groups, "capacity": s.capacity,
                    "locations": at.iter().map(|l| &l.name).collect::<Vec<_>>(), "areas": areas, "last_confirmed": confirmed,
                    "maintainer": s.maintainer, "stale": stale, "expired": expired,
                }));
            }
            output::emit(
                format,
                &["id", "name", "organization", "target_groups", "capacity", "locations", "areas", "last_confirmed", "flag"],
                rows,
                &json,
            )
        }
    }
}

fn spec(a: &SupplyArgs) -> Result<SupplySpec> {
    if a.distance.iter().any(|d| !(d.is_finite() && *d > 0.0)) {
        bail!("--distance: Entfernungen in Metern, größer als 0");
    }
    if let Some(d) = &a.date
        && days_from_iso(d).is_none()
    {
        bail!("--date {d}: JJJJ-MM-TT erwartet");
    }
    Ok(SupplySpec {
        level: a.level.clone(),
        target_group: a.target_group.clone(),
        group_variable: a.group_variable.clone(),
        year: a.year,
        distances: a.distance.clone(),
        date: a.date.clone(),
        points: a
            .points
            .as_deref()
            .map(|p| {
                read_points(
                    p,
                    a.x.as_deref().unwrap_or_default(),
                    a.y.as_deref().unwrap_or_default(),
                    a.crs.as_deref().unwrap_or_default(),
                    a.weight.as_deref(),
                )
            })
            .transpose()?,
    })
}

/// Weighted points from a CSV (`quartier_import::points`), for the use cases.
pub fn read_points(path: &Path, x: &str, y: &str, crs: &str, weight: Option<&str>) -> Result<quartier_app::supply::WeightedPoints> {
    let o = quartier_import::points::PointOptions {
        x: x.into(),
        y: y.into(),
        crs: crs.into(),
        weight: weight.map(String::from),
        crs_files: true,
    };
    let p = quartier_import::points::read_points(path, &path.display().to_string(), &o)?;
    Ok(quartier_app::supply::WeightedPoints { source: p.source, points: p.points })
}

pub fn supply(db: &Path, a: SupplyArgs) -> Result<()> {
    let store = crate::open(db)?;
    let s = quartier_app::supply::supply(&store, &spec(&a)?).map_err(anyhow::Error::msg)?;
    if a.format == Format::Table {
        println!("{} passende Angebote; {}\n", s.services, s.method);
    }
    let mut headers =
        vec!["area_id".to_string(), "name".into(), "group".into(), "offers".into(), "capacity".into(), "capacity_per_1000".into()];
    headers.extend(s.distances.iter().map(|d| format!("reach_{d}m_pct")));
    let rows = s
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.area_id.clone(),
                r.name.clone(),
                r.group.map(|g| format!("{g:.0}")).unwrap_or_default(),
                r.offers.to_string(),
                r.capacity.map(|c| format!("{c:.1}")).unwrap_or_default(),
                r.capacity_per_1000.map(|c| format!("{c:.1}")).unwrap_or_default(),
            ];
            row.extend(r.reach.iter().map(|x| x.map(|x| format!("{x:.1}")).unwrap_or_default()));
            row
        })
        .collect();
    let h: Vec<&str> = headers.iter().map(String::as_str).collect();
    output::emit(a.format, &h, rows, &s.rows)
}

pub fn gaps(db: &Path, a: GapsArgs) -> Result<()> {
    let store = crate::open(db)?;
    let g = quartier_app::supply::gaps(&store, &spec(&a.supply)?, &a.need).map_err(anyhow::Error::msg)?;
    if a.supply.format == Format::Table {
        println!("{}\n", g.method);
    }
    let rows: Vec<&quartier_app::supply::GapRow> = g.rows.iter().filter(|r| !a.only_gaps || r.gap).collect();
    let table = rows
        .iter()
        .map(|r| {
            vec![
                r.area_id.clone(),
                r.name.clone(),
                r.need.map(|v| format!("{v:.2}")).unwrap_or_default(),
                r.supply.map(|v| format!("{v:.2}")).unwrap_or_default(),
                r.offers.to_string(),
                r.quadrant.unwrap_or("").to_string(),
                if r.gap { "ja".into() } else { String::new() },
            ]
        })
        .collect();
    output::emit(a.supply.format, &["area_id", "name", "need", "supply_per_1000", "offers", "quadrant", "gap"], table, &rows)
}
