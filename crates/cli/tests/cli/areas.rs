//! `quartier import areas`, `areas list`, `areas dissolve`, `levels`.

use crate::support::*;
use std::convert::TryInto;

#[test]
fn geojson_with_legacy_crs_finds_parents_spatially() {
    let env = Env::new();
    env.musterstadt();
    let list = json(&env.run(&["areas", "list", "--level", "Sozialraum", "--format", "json"]).ok());
    let areas = list.as_array().unwrap();
    assert_eq!(areas.len(), 4);
    let a = &areas[0];
    assert_eq!(a["key"], "0101");
    assert_eq!(a["name"], "Marktviertel");
    assert_eq!(a["parent"], "01");
    assert!((a["area_m2"].as_f64().unwrap() - 2_000_000.0).abs() < 1e-6, "{a}");
    assert_eq!(areas[3]["parent"], "02");
    let levels = env.run(&["levels", "list", "--format", "csv"]).ok();
    assert_eq!(levels, "rank,level,areas\n0,Stadtteil,2\n1,Sozialraum,4\n");
}

#[test]
fn table_first_geometries_later() {
    let env = Env::new();
    env.run(&["levels", "define", "Stadtteil", "Sozialraum"]).ok();
    let t = env.write("liste.csv", "Schlüssel;Bezeichnung;Ebene;Übergeordnet\n01;Altstadt;Stadtteil;\n02;Nordfeld;Stadtteil;\n0101;Marktviertel;Sozialraum;01\n0102;Südwall;Sozialraum;01\n0201;Bahnhofsviertel;Sozialraum;02\n0202;Grüne Mitte;Sozialraum;02\n");
    let t = t.to_str().unwrap();
    let base = ["import", "areas", t, "--id-field", "Schlüssel", "--name-field", "Bezeichnung", "--level-field", "Ebene"];
    env.run(&[&base[..], &["--level", "Stadtteil"]].concat()).ok();
    let out = env.run(&[&base[..], &["--level", "Sozialraum", "--parent-field", "Übergeordnet"]].concat()).ok();
    assert!(out.contains("4 neu"), "{out}");
    let list = json(&env.run(&["areas", "list", "--format", "json"]).ok());
    assert!(list.as_array().unwrap().iter().all(|a| a["has_geometry"] == false));
    // Geometries arrive later: same keys, now with shapes.
    let sr = env.write("sr.geojson", sozialraeume_geojson());
    let out = env.run(&["import", "areas", sr.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "schluessel"]).ok();
    assert!(out.contains("4 geändert"), "{out}");
    let list = json(&env.run(&["areas", "list", "--level", "Sozialraum", "--format", "json"]).ok());
    assert!(list.as_array().unwrap().iter().all(|a| a["has_geometry"] == true && a["parent"].is_string()));
    // Stadtteile get theirs by dissolving.
    let out = env.run(&["areas", "dissolve", "--level", "Stadtteil"]).ok();
    assert!(out.contains("2 Geometrien"), "{out}");
    let st = json(&env.run(&["areas", "list", "--level", "Stadtteil", "--format", "json"]).ok());
    let m2 = st[0]["area_m2"].as_f64().unwrap();
    // Dissolved in WGS84 and measured in LAEA: within 0.5 % of the planar UTM area.
    assert!((m2 - 4_000_000.0).abs() / 4e6 < 0.005, "{m2}");
}

#[test]
fn key_prefix_parents_keep_leading_zeros() {
    let env = Env::new();
    env.run(&["levels", "define", "Bezirk", "Planungsraum"]).ok();
    let b = env.write("b.csv", "id,name\n01,Mitte\n");
    env.run(&["import", "areas", b.to_str().unwrap(), "--level", "Bezirk"]).ok();
    let p = env.write("p.csv", "id,name\n01011101,Stülerstraße\n01011102,Großer Tiergarten\n");
    env.run(&["import", "areas", p.to_str().unwrap(), "--level", "Planungsraum", "--parent-prefix", "2"]).ok();
    let csv = env.run(&["areas", "list", "--level", "Planungsraum", "--format", "csv"]).ok();
    assert!(csv.contains("01011101,Stülerstraße,Planungsraum,01,"), "{csv}");
    // A prefix pointing to a missing parent is an error, nothing stored.
    let p2 = env.write("p2.csv", "id,name\n02011101,Irgendwo\n");
    let err = env.fails_unchanged(&["import", "areas", p2.to_str().unwrap(), "--level", "Planungsraum", "--parent-prefix", "2"]);
    assert!(err.contains("übergeordnetes Gebiet „02“ gibt es auf Ebene „Bezirk“ nicht"), "{err}");
}

#[test]
fn shapefile_with_prj_and_windows_1252_dbf() {
    let env = Env::new();
    env.run(&["levels", "define", "Sozialraum"]).ok();
    let shp = write_shapefile(&env, "sr", true, Some("1252"));
    let out =
        env.run(&["import", "areas", shp.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "SCHL", "--name-field", "NAME"]).ok();
    assert!(out.contains("EPSG:25832") && out.contains(".prj"), "{out}");
    let list = json(&env.run(&["areas", "list", "--format", "json"]).ok());
    assert_eq!(list[0]["name"], "Grüne Mitte");
    assert_eq!(list[0]["key"], "0101");
}

#[test]
fn prj_read_by_parameters_and_every_crs_form() {
    // A city's Stadtteil shapefile: ESRI WKT named UTM zone 32N, false easting 2,500,000.
    let env = Env::new();
    env.run(&["levels", "define", "Sozialraum"]).ok();
    let prj = PRJ_25832.replace("500000.0", "2500000.0").replace("ETRS_1989_UTM_Zone_32N", "ETRS_1989_UTM_Zone_N32");
    let shp = write_shapefile_with(&env, "stadtteile", Some(&prj), None, 2_000_000.0);
    let args = ["import", "areas", shp.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "SCHL", "--format", "json"];
    let out = json(&env.run(&args).ok());
    assert!(out["crs"].as_str().unwrap().contains("+x_0=2500000"), "{out}");
    let a = (out["area_km2"].as_f64().unwrap() - 2.0).abs();
    assert!(a < 0.01, "two 1 km² squares: {out}");
    // The same squares without the shift, declared by every form of --crs.
    let env = Env::new();
    env.run(&["levels", "define", "Sozialraum"]).ok();
    let shp = write_shapefile_with(&env, "ohne", None, None, 0.0);
    let prj_file = env.write("utm32.prj", PRJ_25832);
    for crs in ["EPSG:25832", "+proj=utm +zone=32 +ellps=GRS80 +units=m +no_defs", PRJ_25832, prj_file.to_str().unwrap()] {
        let out = json(
            &env.run(&[
                "import",
                "areas",
                shp.to_str().unwrap(),
                "--level",
                "Sozialraum",
                "--id-field",
                "SCHL",
                "--crs",
                crs,
                "--format",
                "json",
            ])
            .ok(),
        );
        assert_eq!(out["crs"], "EPSG:25832", "{crs}: {out}");
    }
    // Gauß-Krüger: Helmert by default, the expected accuracy said; a grid that is missing is named.
    let err = env.fails_unchanged(&[
        "import",
        "areas",
        shp.to_str().unwrap(),
        "--level",
        "Sozialraum",
        "--id-field",
        "SCHL",
        "--crs",
        "EPSG:31467",
        "--grid",
        "fehlt.gsb",
    ]);
    assert!(err.contains("fehlt.gsb") && err.contains("nicht gefunden"), "{err}");
    let err = env.fails_unchanged(&[
        "import",
        "areas",
        shp.to_str().unwrap(),
        "--level",
        "Sozialraum",
        "--id-field",
        "SCHL",
        "--crs",
        "EPSG:31467",
    ]);
    assert!(err.contains("außerhalb Deutschlands") && err.contains("EPSG:31467") && err.contains("PROJ-String"), "{err}");
    let err = env.fails_unchanged(&[
        "import",
        "areas",
        shp.to_str().unwrap(),
        "--level",
        "Sozialraum",
        "--id-field",
        "SCHL",
        "--crs",
        "EPSG:123456",
    ]);
    assert!(err.contains("EPSG:123456") && err.contains(".prj-Datei"), "{err}");
}

#[test]
fn shapefile_without_prj_needs_crs() {
    let env = Env::new();
    env.run(&["levels", "define", "Sozialraum"]).ok();
    let shp = write_shapefile(&env, "ohne", false, None);
    let args = ["import", "areas", shp.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "SCHL"];
    let err = env.fails_unchanged(&args);
    assert!(err.contains("keine .prj-Datei") && err.contains("--crs EPSG:25832"), "{err}");
    env.run(&[&args[..], &["--crs", "EPSG:25832"]].concat()).ok();
    // Missing .dbf is named.
    std::fs::remove_file(env.path("ohne.dbf")).unwrap();
    let err = env.fails_unchanged(&args);
    assert!(err.contains("ohne.dbf") && err.contains("fehlt"), "{err}");
}

#[test]
fn geopackage_layer() {
    let env = Env::new();
    env.run(&["levels", "define", "Sozialraum"]).ok();
    let gpkg = write_geopackage(&env);
    let out = env.run(&["import", "areas", gpkg.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "schluessel"]).ok();
    assert!(out.contains("GeoPackage") && out.contains("EPSG:25833"), "{out}");
    let list = json(&env.run(&["areas", "list", "--format", "json"]).ok());
    assert_eq!(list[0]["key"], "0101");
    assert!((list[0]["area_m2"].as_f64().unwrap() - 1_000_000.0).abs() < 1e-6);
    let err = env.fails_unchanged(&["import", "areas", gpkg.to_str().unwrap(), "--level", "Sozialraum", "--layer", "gibtsnicht"]);
    assert!(err.contains("keine Ebene (Layer) „gibtsnicht“; vorhanden: sozialraeume"), "{err}");
}

#[test]
fn reprojects_every_supported_crs() {
    // The same 1 km square near Bochum given in each CRS lands at the same WGS84 place.
    let env = Env::new();
    env.run(&["levels", "define", "Gebiet"]).ok();
    for (epsg, x, y) in [
        (25832, 370_000.0, 5_705_000.0),
        (31466, 2_585_000.0, 5_707_000.0),
        (31467, 3_370_000.0, 5_707_000.0),
        (3035, 4_150_000.0, 3_120_000.0),
        (3857, 800_000.0, 6_700_000.0),
        (4326, 7.2, 51.48),
    ] {
        let s = if epsg == 4326 { 0.01 } else { 1000.0 };
        let f = env.write(
            &format!("g{epsg}.geojson"),
            collection(Some(&format!("EPSG:{epsg}")), &[feature(&format!(r#""id":"{epsg}""#), &polygon(x, y, s))]),
        );
        let out = env.run(&["import", "areas", f.to_str().unwrap(), "--level", "Gebiet"]).ok();
        assert!(out.contains(&format!("EPSG:{epsg}")), "{out}");
    }
    let list = json(&env.run(&["areas", "list", "--format", "json"]).ok());
    assert_eq!(list.as_array().unwrap().len(), 6);
}

#[test]
fn bad_geojson_inputs_name_feature_and_field() {
    let env = Env::new();
    env.musterstadt();
    let level = ["--level", "Sozialraum", "--id-field", "schluessel"];
    let check = |name: &str, content: String, expected: &[&str]| {
        let f = env.write(name, content);
        let err = env.fails_unchanged(&[&["import", "areas", f.to_str().unwrap()][..], &level[..]].concat());
        for e in expected {
            assert!(err.contains(e), "{name}: {err:?} should contain {e:?}");
        }
    };
    let ok = |k: &str, x: f64| feature(&format!(r#""schluessel":"{k}""#), &polygon(x, Y0, 500.0));
    check(
        "dup.geojson",
        collection(Some("EPSG:25832"), &[ok("0101", X0), ok("0101", X0 + 500.0)]),
        &["dup.geojson", "Feature 2", "„0101“ doppelt", "Feature 1"],
    );
    check(
        "noid.geojson",
        collection(Some("EPSG:25832"), &[ok("0101", X0), feature(r#""name":"x""#, &polygon(X0, Y0, 10.0))]),
        &["Feature 2", "Feld „schluessel“", "fehlt"],
    );
    check("null.geojson", collection(Some("EPSG:25832"), &[feature(r#""schluessel":"0101""#, "null")]), &["Feature 1", "keine Geometrie"]);
    check(
        "line.geojson",
        collection(
            Some("EPSG:25832"),
            &[feature(r#""schluessel":"0101""#, &format!(r#"{{"type":"LineString","coordinates":[[{X0},{Y0}],[{},{Y0}]]}}"#, X0 + 5.0))],
        ),
        &["Feature 1", "LineString", "erwartet Polygon oder MultiPolygon"],
    );
    // lon/lat values declared as UTM: implausible for Germany, with a hint.
    check(
        "lonlat.geojson",
        collection(Some("EPSG:25832"), &[feature(r#""schluessel":"0101""#, &polygon(7.2, 51.48, 0.01))]),
        &["Feature 1", "passt nicht zu EPSG:25832", "EPSG:4326"],
    );
    check("broken.geojson", "{\"type\":\"FeatureCollection\",\"features\":[".to_string(), &["broken.geojson", "kein gültiges GeoJSON"]);
    check("csv.geojson", "id;name\n1;a\n".to_string(), &["als GeoJSON erwartet", "Text/CSV"]);
    // Lambert-93 is a known CRS now; Musterstadt's coordinates do not fit it.
    check("wrongcrs.geojson", collection(Some("EPSG:2154"), &[ok("0101", X0)]), &["EPSG:2154", "außerhalb Deutschlands", "EPSG:25832"]);
    check("unknowncrs.geojson", collection(Some("EPSG:99999"), &[ok("0101", X0)]), &["EPSG:99999", "PROJ-String", ".prj-Datei"]);
    let err = env.fails_unchanged(&["import", "areas", "gibtsnicht.geojson", "--level", "Sozialraum"]);
    assert!(err.contains("gibtsnicht.geojson") && err.contains("nicht gefunden"), "{err}");
    let err = env.fails_unchanged(&["import", "areas", env.path("sozialraeume.geojson").to_str().unwrap(), "--level", "Ortsteil"]);
    assert!(err.contains("Ebene „Ortsteil“ ist nicht definiert") && err.contains("Stadtteil → Sozialraum"), "{err}");
}

#[test]
fn children_outside_every_parent_are_reported() {
    let env = Env::new();
    env.musterstadt();
    let f = env.write(
        "aussen.geojson",
        collection(Some("EPSG:25832"), &[feature(r#""id":"0999","name":"Exklave""#, &polygon(X0 + 10_000.0, Y0, 500.0))]),
    );
    let out = env.run(&["import", "areas", f.to_str().unwrap(), "--level", "Sozialraum"]).ok();
    assert!(out.contains("liegen in keinem Gebiet der Ebene „Stadtteil“") && out.contains("0999"), "{out}");
}

#[test]
fn dry_run_writes_nothing() {
    let env = Env::new();
    env.musterstadt();
    let before = env.snapshot();
    let f = env.write(
        "neu.geojson",
        collection(Some("EPSG:25832"), &[feature(r#""id":"0103","name":"Neu""#, &polygon(X0 + 100.0, Y0 + 100.0, 50.0))]),
    );
    let out = env.run(&["import", "areas", f.to_str().unwrap(), "--level", "Sozialraum", "--dry-run"]).ok();
    assert!(out.contains("1 neu") && out.contains("Probelauf"), "{out}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn berlin_upstream_duplicate_key_is_refused() {
    // Regression: the shared MSS GeoJSON has key 06010102 twice (see data/berlin-mss/README.md).
    let env = Env::new();
    env.run(&["levels", "define", "Planungsraum"]).ok();
    let text = std::fs::read_to_string(repo_file("data/berlin-mss/geo-2019-planning-areas-447.geojson")).unwrap();
    let f = env.write("plr.geojson", text.replacen("\"id\": \"04030417\"", "\"id\": \"06010102\"", 1));
    let err = env.fails_unchanged(&["import", "areas", f.to_str().unwrap(), "--level", "Planungsraum"]);
    assert!(err.contains("Feature 205: Gebietsschlüssel „06010102“ doppelt (schon bei Feature 124)"), "{err}");
}

const PRJ_25832: &str = r#"PROJCS["ETRS_1989_UTM_Zone_32N",GEOGCS["GCS_ETRS_1989",DATUM["D_ETRS_1989",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",9.0],PARAMETER["Scale_Factor",0.9996],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]"#;

fn write_shapefile(env: &Env, name: &str, prj: bool, cpg: Option<&str>) -> std::path::PathBuf {
    write_shapefile_with(env, name, prj.then_some(PRJ_25832), cpg, 0.0)
}

/// A shapefile of two squares at Musterstadt, eastings shifted by `dx`, with `prj` as its .prj.
fn write_shapefile_with(env: &Env, name: &str, prj: Option<&str>, cpg: Option<&str>, dx: f64) -> std::path::PathBuf {
    use shapefile::dbase::{self, FieldValue};
    let path = env.path(&format!("{name}.shp"));
    let table = dbase::TableWriterBuilder::with_encoding(dbase::encoding::EncodingRs::from(encoding_rs_1252()))
        .add_character_field("SCHL".try_into().unwrap(), 10)
        .add_character_field("NAME".try_into().unwrap(), 40);
    let mut w = shapefile::Writer::from_path(&path, table).unwrap();
    let ring = |x: f64| {
        let x = x + dx;
        shapefile::PolygonRing::Outer(vec![
            shapefile::Point::new(x, Y0),
            shapefile::Point::new(x, Y0 + 1000.0),
            shapefile::Point::new(x + 1000.0, Y0 + 1000.0),
            shapefile::Point::new(x + 1000.0, Y0),
            shapefile::Point::new(x, Y0),
        ])
    };
    for (k, n, x) in [("0101", "Grüne Mitte", X0), ("0102", "Südwall", X0 + 1000.0)] {
        let mut r = dbase::Record::default();
        r.insert("SCHL".into(), FieldValue::Character(Some(k.into())));
        r.insert("NAME".into(), FieldValue::Character(Some(n.into())));
        w.write_shape_and_record(&shapefile::Polygon::new(ring(x)), &r).unwrap();
    }
    drop(w);
    if let Some(text) = prj {
        env.write(&format!("{name}.prj"), text);
    }
    if let Some(c) = cpg {
        env.write(&format!("{name}.cpg"), c);
    }
    path
}

fn encoding_rs_1252() -> &'static encoding_rs::Encoding {
    encoding_rs::WINDOWS_1252
}

/// A GeoPackage written by hand (OGC 12-128r18): one layer in EPSG:25833.
fn write_geopackage(env: &Env) -> std::path::PathBuf {
    let p = env.path("gebiete.gpkg");
    let c = rusqlite::Connection::open(&p).unwrap();
    c.execute_batch(
        "PRAGMA application_id = 1196444487;
         CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
         INSERT INTO gpkg_spatial_ref_sys VALUES ('ETRS89 / UTM zone 33N', 25833, 'EPSG', 25833, 'PROJCS[\"ETRS89 / UTM zone 33N\"]', NULL);
         CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT, description TEXT DEFAULT '', last_change DATETIME, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
         INSERT INTO gpkg_contents (table_name, data_type, srs_id) VALUES ('sozialraeume', 'features', 25833);
         CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL);
         INSERT INTO gpkg_geometry_columns VALUES ('sozialraeume', 'geom', 'POLYGON', 25833, 0, 0);
         CREATE TABLE sozialraeume (fid INTEGER PRIMARY KEY, geom BLOB, schluessel TEXT, name TEXT);",
    )
    .unwrap();
    let (x, y) = (390_000.0f64, 5_820_000.0f64);
    let mut blob = b"GP\x00\x03".to_vec(); // version 0, flags: little endian, 32-byte envelope
    blob.extend_from_slice(&25833i32.to_le_bytes());
    for v in [x, x + 1000.0, y, y + 1000.0] {
        blob.extend_from_slice(&v.to_le_bytes());
    }
    blob.push(1);
    blob.extend_from_slice(&3u32.to_le_bytes());
    blob.extend_from_slice(&1u32.to_le_bytes());
    blob.extend_from_slice(&5u32.to_le_bytes());
    for (px, py) in [(x, y), (x + 1000.0, y), (x + 1000.0, y + 1000.0), (x, y + 1000.0), (x, y)] {
        blob.extend_from_slice(&px.to_le_bytes());
        blob.extend_from_slice(&py.to_le_bytes());
    }
    c.execute("INSERT INTO sozialraeume (geom, schluessel, name) VALUES (?1, '0101', 'Kiez')", [blob]).unwrap();
    p
}

/// A new boundary set is compared with the stored one before anything is written: unchanged,
/// renamed, split, merged areas and the stored areas it takes territory from (by overlay in
/// an equal-area projection); a dry run leaves the database as it was.
#[test]
fn a_new_boundary_set_is_compared_with_the_stored_one() {
    let env = Env::new();
    env.musterstadt();
    // 0101 and 0102 merged under 0101, 0201 split, 0202 renamed.
    let new = sozialraeume_2025_geojson();
    let file = env.write("sozialraeume-2025.geojson", new);
    let before = env.snapshot();
    let out = env
        .run(&[
            "import",
            "areas",
            file.to_str().unwrap(),
            "--level",
            "Sozialraum",
            "--id-field",
            "schluessel",
            "--name-field",
            "name",
            "--dry-run",
        ])
        .ok();
    assert!(out.contains("Grenzen gegenüber den gespeicherten Gebieten: 1 umbenannt, 2 geteilt, 1 zusammengelegt"), "{out}");
    assert!(out.contains("0101 (zusammengelegt) aus 0101, 0102"), "{out}");
    assert!(out.contains("0201a (geteilt) aus 0201") && out.contains("0202 (umbenannt) aus 0202"), "{out}");
    assert_eq!(env.snapshot(), before, "a dry run changes nothing");
    let json = json(
        &env.run(&[
            "import",
            "areas",
            file.to_str().unwrap(),
            "--level",
            "Sozialraum",
            "--id-field",
            "schluessel",
            "--name-field",
            "name",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok(),
    );
    let changes = json["boundary_changes"]["areas"].as_array().unwrap();
    assert_eq!(changes[1], serde_json::json!({ "key": "0201a", "change": "geteilt", "from": ["0201"] }));
    // The stored boundaries delivered again: nothing to report.
    let same = env.write("sozialraeume.geojson", sozialraeume_geojson());
    let again = env
        .run(&[
            "import",
            "areas",
            same.to_str().unwrap(),
            "--level",
            "Sozialraum",
            "--id-field",
            "schluessel",
            "--name-field",
            "name",
            "--dry-run",
        ])
        .ok();
    assert!(!again.contains("Grenzen gegenüber"), "an unchanged boundary set reports nothing: {again}");
}
