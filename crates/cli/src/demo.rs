//! `quartier demo`: builds a database from the Berlin MSS data embedded in the binary,
//! through the same import paths a planner uses, then serves the web app.

use crate::cmd_areas::{dissolve, load_areas};
use crate::cmd_data::load_data;
use anyhow::{Context, Result};
use quartier_app::store::{SqliteStore, Store};
use quartier_import::areas::AreaOptions;
use quartier_import::data::DataProfile;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/berlin-mss/", $name)) as &[u8])),*]
    };
}

/// The demo files, embedded so that the binary needs nothing outside itself.
const FILES: &[(&str, &[u8])] = embed!(
    "geo-2019-planning-areas-447.geojson",
    "mss-profile.toml",
    "indicators.toml",
    "index-mss-2019.toml",
    "index-mss-2013-2017.toml",
    "berlin-lor-monitoring-social-urban-development-2013-00-2-1.csv",
    "berlin-lor-monitoring-social-urban-development-2013-00-2-2.csv",
    "berlin-lor-monitoring-social-urban-development-2013-00-2-3.csv",
    "berlin-lor-monitoring-social-urban-development-2013-00-4-1.csv",
    "berlin-lor-monitoring-social-urban-development-2013-00-4-2.csv",
    "berlin-lor-monitoring-social-urban-development-2013-00-4-3.csv",
    "berlin-lor-monitoring-social-urban-development-2015-00-2-1.csv",
    "berlin-lor-monitoring-social-urban-development-2015-00-2-2.csv",
    "berlin-lor-monitoring-social-urban-development-2015-00-2-3.csv",
    "berlin-lor-monitoring-social-urban-development-2017-00-2-1.csv",
    "berlin-lor-monitoring-social-urban-development-2017-00-2-3.csv",
    "berlin-lor-monitoring-social-urban-development-2019-00-2-1.csv",
    "berlin-lor-monitoring-social-urban-development-2019-00-2-2.csv",
    "berlin-lor-monitoring-social-urban-development-2019-00-2-3.csv",
);

pub const ATTRIBUTION: &str = "Datenquelle: Senatsverwaltung für Stadtentwicklung, Bauen und Wohnen Berlin, Monitoring Soziale Stadtentwicklung (MSS) 2013–2019. \
Geometrien: Geoportal Berlin, LOR-Planungsräume (Datenlizenz Deutschland – Namensnennung 2.0). Aufbereitung: open-lifeworlds (CC BY 4.0).";

fn table(edition: i32, t: &str) -> String {
    format!("berlin-lor-monitoring-social-urban-development-{edition}-00-{t}.csv")
}

/// Imports the demo into the database at `db` (which should be new).
pub fn build(db: &Path, files: &Path) -> Result<()> {
    for (name, bytes) in FILES {
        std::fs::write(files.join(name), bytes).with_context(|| format!("Demodatei {name} kann nicht geschrieben werden"))?;
    }
    let mut store = SqliteStore::open(db)?;
    store.define_levels(&["Bezirk".into(), "Bezirksregion".into(), "Planungsraum".into()])?;
    let area = |level: &str, prefix: Option<usize>| AreaOptions {
        level: level.into(),
        id_field: Some("id".into()),
        name_field: Some("name".into()),
        parent_prefix: prefix,
        ..Default::default()
    };
    load_areas(&mut store, &files.join(table(2019, "2-3")), &area("Bezirk", None), false)?;
    load_areas(&mut store, &files.join(table(2019, "2-2")), &area("Bezirksregion", Some(2)), false)?;
    load_areas(&mut store, &files.join("geo-2019-planning-areas-447.geojson"), &area("Planungsraum", Some(6)), false)?;
    drop(store);
    dissolve(db, "Bezirksregion")?;
    dissolve(db, "Bezirk")?;
    let mut store = SqliteStore::open(db)?;
    let base = DataProfile::from_toml(std::str::from_utf8(FILES[1].1)?, "mss-profile.toml")?;
    for edition in [2013, 2015, 2017, 2019] {
        for (t, level) in [("2-1", "Planungsraum"), ("2-2", "Bezirksregion"), ("2-3", "Bezirk")] {
            if (edition, t) == (2017, "2-2") {
                // Upstream copy of the 2019 table (see data/berlin-mss/README.md): left out.
                continue;
            }
            let mut p = base.clone();
            p.year = Some(edition);
            p.level = Some(level.into());
            p.reference_date = Some(format!("31.12.{}", edition - 1));
            load_data(&mut store, &files.join(table(edition, t)), &p, false)?;
        }
    }
    // Context indicators: labels fit the 2013 edition only (see data/berlin-mss/README.md).
    for (t, level) in [("4-1", "Planungsraum"), ("4-2", "Bezirksregion"), ("4-3", "Bezirk")] {
        let mut p = base.clone();
        p.year = Some(2013);
        p.level = Some(level.into());
        p.reference_date = Some("31.12.2012".into());
        p.missing.push("-".into());
        p.ignore.push("inhabitants".into());
        load_data(&mut store, &files.join(table(2013, t)), &p, false)?;
    }
    // The indicator catalogue, checked like any catalogue a planner loads.
    let variables: std::collections::HashSet<String> = store.variables()?.into_iter().map(|v| v.key).collect();
    let catalogue = quartier_core::indicator::Catalogue::from_toml(std::str::from_utf8(FILES[2].1)?)
        .and_then(|c| c.checked(&variables))
        .map_err(|e| anyhow::anyhow!("indicators.toml: {e}"))?;
    store.save_catalogue(&catalogue, false)?;
    // The MSS index definitions, so that the web app can map them.
    for name in ["index-mss-2019.toml", "index-mss-2013-2017.toml"] {
        let text = std::str::from_utf8(FILES.iter().find(|(n, _)| *n == name).expect("embedded").1)?;
        let def = quartier_core::index::IndexDefinition::from_toml(text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        store.save_index_definition(&def.id, text)?;
    }
    store.set_setting("attribution", ATTRIBUTION)?;
    store.set_setting("default_variable", "s4_percentage_transfer_payments_recipients_below_15_years")?;
    store.set_setting("default_indicator", "s4")?;
    Ok(())
}

pub fn run(addr: SocketAddr, keep: Option<PathBuf>, no_serve: bool, mode: crate::ServeMode) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("quartier-demo-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let db = keep.unwrap_or_else(|| tmp.join("demo.db"));
    if db.exists() {
        anyhow::bail!("{} gibt es schon: die Demo legt eine neue Datenbank an (andere Datei mit --keep wählen)", db.display());
    }
    println!("Lege Demodatenbank an: Berlin, Monitoring Soziale Stadtentwicklung 2013–2019 …");
    let t = std::time::Instant::now();
    build(&db, &tmp)?;
    let levels = SqliteStore::open(&db)?.levels()?;
    let counts: Vec<String> = levels.iter().map(|l| format!("{} × {}", l.areas, l.name)).collect();
    println!("Fertig in {:.1} s: {}.", t.elapsed().as_secs_f64(), counts.join(", "));
    if no_serve {
        let _ = std::fs::remove_dir_all(&tmp);
        println!("Datenbank: {}", db.display());
        return Ok(());
    }
    let result = crate::serve(db.clone(), addr, mode);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}
