//! OGC API – Features read by a real client: GDAL's OAPIF driver (`ogrinfo`, `ogr2ogr` from
//! Debian's gdal-bin) lists the collections of the served Berlin demo and converts each with
//! the values the map's CSV download has. In CI (CI=true) gdal-bin must be present (`.ci/run`
//! installs it); elsewhere the test says it was skipped.

use crate::support::*;
use std::process::Command;

#[test]
fn gdal_reads_every_collection_with_the_values_of_the_csv_download() {
    if Command::new("ogrinfo").arg("--version").output().is_err() {
        assert!(std::env::var("CI").is_err(), "CI must install gdal-bin (see .ci/run)");
        eprintln!("SKIPPED: needs ogrinfo (apt-get install gdal-bin)");
        return;
    }
    let env = Env::new();
    crate::demo::build_demo(&env);
    let server = crate::demo::serve_with(&env, &[]);
    let url = format!("OAPIF:http://{}/ogc", server.addr);
    let info = Command::new("ogrinfo").args(["-ro", "-so", &url]).output().unwrap();
    let listed = String::from_utf8_lossy(&info.stdout);
    assert!(info.status.success(), "{listed}\n{}", String::from_utf8_lossy(&info.stderr));
    for c in ["1: bezirk ", "2: bezirksregion ", "3: planungsraum "] {
        assert!(listed.contains(c), "ogrinfo lists {c}: {listed}");
    }
    for (collection, level, count) in
        [("bezirk", "Bezirk", 12), ("bezirksregion", "Bezirksregion", 138), ("planungsraum", "Planungsraum", 448)]
    {
        let out = env.path(&format!("{collection}.geojson"));
        let conv = Command::new("ogr2ogr").args(["-f", "GeoJSON", out.to_str().unwrap(), &url, collection]).output().unwrap();
        assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
        let gj = json(&std::fs::read_to_string(&out).unwrap());
        let feats = gj["features"].as_array().unwrap();
        assert_eq!(feats.len(), count, "{collection}: every area, over the pages");
        // S4 2019 as the map's CSV download gives it (German CSV: Schlüssel;…;Wert with comma).
        let (_, csv) = crate::demo::get(&server.addr, &format!("/karte?subject=indicator:s4&level={level}&year=2019&format=csv"));
        let mut compared = 0;
        for line in csv.lines().skip(1) {
            let cells: Vec<&str> = line.trim_start_matches('\u{feff}').split(';').collect();
            let (Some(key), Some(value)) = (cells.get(1), cells.get(3)) else { continue };
            let Ok(v) = value.replace(',', ".").parse::<f64>() else { continue };
            let f = feats.iter().find(|f| f["properties"]["schluessel"] == *key).unwrap_or_else(|| panic!("{collection}: {key} missing"));
            let ours = f["properties"]["s4"].as_f64().unwrap();
            let decimals = value.split(',').nth(1).map_or(0, str::len) as i32;
            assert!((ours - v).abs() <= 0.5 * 10f64.powi(-decimals) + 1e-9, "{collection} {key}: {ours} against the CSV's {value}");
            compared += 1;
        }
        assert!(compared > count / 2, "{collection}: {compared} values compared");
    }
    // A GeoPackage, as a GIS colleague would make one.
    let gpkg = env.path("planungsraeume.gpkg");
    let conv = Command::new("ogr2ogr").args(["-f", "GPKG", gpkg.to_str().unwrap(), &url, "planungsraum"]).output().unwrap();
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let info = Command::new("ogrinfo").args(["-so", gpkg.to_str().unwrap(), "planungsraum"]).output().unwrap();
    assert!(String::from_utf8_lossy(&info.stdout).contains("Feature Count: 448"), "{}", String::from_utf8_lossy(&info.stdout));
    // The saved MSS index as a collection of its own: every Planungsraum with its result.
    assert!(listed.contains("index-mss"), "{listed}");
    let out = env.path("mss.geojson");
    let conv = Command::new("ogr2ogr").args(["-f", "GeoJSON", out.to_str().unwrap(), &url, "index-mss"]).output().unwrap();
    assert!(conv.status.success(), "{}", String::from_utf8_lossy(&conv.stderr));
    let gj = json(&std::fs::read_to_string(&out).unwrap());
    let feats = gj["features"].as_array().unwrap();
    let rated = feats.iter().filter(|f| f["properties"]["rated"] == true).count();
    assert!(feats.len() == 448 && rated == 436, "{} features, {rated} rated (as the published MSS 2019)", feats.len());
}
