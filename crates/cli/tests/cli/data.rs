//! `quartier import data`, `data list`, `data show`.

use crate::support::*;

fn musterstadt() -> Env {
    let env = Env::new();
    env.musterstadt();
    env
}

#[test]
fn long_csv_german_format_bom_and_symbols() {
    let env = musterstadt();
    let text = "\u{feff}Gebiet;Jahr;Merkmal;Wert\n0101;2023;Einwohner;1.234\n0102;2023;Einwohner;2.000\n0201;2023;Einwohner;-\n0202;2023;Einwohner;*\n0101;2023;SGB II-Quote;12,5\n";
    let f = env.write("lang.csv", text);
    let out = env
        .run(&[
            "import",
            "data",
            f.to_str().unwrap(),
            "--rate",
            "SGB II-Quote",
            "--source",
            "Jobcenter Musterstadt",
            "--reference-date",
            "31.12.2023",
        ])
        .ok();
    assert!(out.contains("Layout long") && out.contains("5 neu"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "einwohner", "--format", "json"]).ok());
    let by_area = |a: &str| rows.as_array().unwrap().iter().find(|r| r["area"] == a).unwrap().clone();
    assert_eq!(by_area("0101")["value"], 1234.0);
    assert_eq!(by_area("0201")["value"], 0.0);
    assert_eq!(by_area("0201")["symbol"], "-");
    assert!(by_area("0202")["value"].is_null());
    assert_eq!(by_area("0202")["symbol"], "*");
    // Sums up the hierarchy: Stadtteil 01 = 1234 + 2000; Stadtteil 02 incomplete (suppressed child).
    let st = json(&env.run(&["data", "show", "--variable", "einwohner", "--level", "Stadtteil", "--format", "json"]).ok());
    assert_eq!(st[0]["value"], 3234.0);
    assert_eq!(st[0]["origin"], "summed");
    assert!(st[1]["value"].is_null());
    let vars = json(&env.run(&["data", "list", "--format", "json"]).ok());
    let q = vars.as_array().unwrap().iter().find(|v| v["key"] == "sgb_ii_quote").unwrap();
    assert_eq!(
        (q["kind"].as_str(), q["label"].as_str(), q["source"].as_str()),
        (Some("rate"), Some("SGB II-Quote"), Some("Jobcenter Musterstadt"))
    );
}

#[test]
fn wide_csv_windows_1252_with_year_flag() {
    let env = musterstadt();
    let bytes = encoding_rs::WINDOWS_1252
        .encode("Sozialraum;Name;Einwohner;Kinder unter 15;Bezugsgröße\n0101;Marktviertel;1000;150;x\n0102;Südwall;900;120;x\n")
        .0
        .into_owned();
    let f = env.write("breit.csv", bytes);
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--layout", "wide", "--area-field", "Sozialraum", "--year", "2022"]).ok();
    assert!(out.contains("Textspalten nicht als Merkmale übernommen: Name"), "{out}");
    let vars = json(&env.run(&["data", "list", "--format", "json"]).ok());
    let keys: Vec<&str> = vars.as_array().unwrap().iter().map(|v| v["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["bezugsgroesse", "einwohner", "kinder_unter_15"]);
    assert_eq!(vars[0]["symbols"], 2);
}

#[test]
fn detects_area_column_and_year_column_in_wide_layout() {
    let env = musterstadt();
    let f = env.write("auto.csv", "Jahr,Raum,Einwohner\n2021,0101,990\n2022,0101,1000\n2022,0102,900\n");
    let out = env.run(&["import", "data", f.to_str().unwrap()]).ok();
    assert!(out.contains("Layout wide") && out.contains("Jahre 2021, 2022"), "{out}");
}

#[test]
fn years_layout_needs_variable() {
    let env = musterstadt();
    let f = env.write("jahre.csv", "Gebiet;2020;2021;2022\n0101;10;11;12\n0102;20;21;22\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap()]);
    assert!(err.contains("--variable NAME") && err.contains("2020, 2021, 2022"), "{err}");
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--variable", "Alleinerziehende"]).ok();
    assert!(out.contains("6 neu") && out.contains("Layout years"), "{out}");
}

#[test]
fn xlsx_one_sheet_per_year() {
    let env = musterstadt();
    let p = env.path("jahre.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (year, base) in [(2021, 100.0), (2022, 110.0)] {
        let ws = wb.add_worksheet().set_name(format!("Daten {year}")).unwrap();
        ws.write(0, 0, "Bevölkerung nach Sozialräumen").unwrap(); // title line above the header
        for (c, h) in ["Schlüssel", "Name", "Einwohner"].iter().enumerate() {
            ws.write(2, c as u16, *h).unwrap();
        }
        for (r, key) in ["0101", "0102", "0201", "0202"].iter().enumerate() {
            ws.write(3 + r as u32, 0, *key).unwrap();
            ws.write(3 + r as u32, 1, "x y").unwrap();
            ws.write(3 + r as u32, 2, base + r as f64).unwrap();
        }
    }
    wb.save(&p).unwrap();
    let out = env.run(&["import", "data", p.to_str().unwrap(), "--area-field", "Schlüssel"]).ok();
    assert!(out.contains("2 Blätter, je eines pro Jahr") && out.contains("8 neu"), "{out}");
    let rows =
        json(&env.run(&["data", "show", "--variable", "einwohner", "--year", "2022", "--level", "Stadtteil", "--format", "json"]).ok());
    assert_eq!(rows[1]["value"], 110.0 + 2.0 + 110.0 + 3.0);
}

#[test]
fn xlsx_title_merged_header_names_footnotes() {
    // A Statistikamt sheet: a title row, a merged three-row header over an empty spacer
    // column, areas by name only (one with a footnote marker, one combined row, a total row),
    // footnotes below the table.
    let env = musterstadt();
    let p = env.path("statistikamt.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let f = rust_xlsxwriter::Format::new();
    ws.write(0, 0, "Bevölkerung in den Sozialräumen am 31.12.2023").unwrap();
    ws.merge_range(2, 0, 4, 0, "Sozialraum", &f).unwrap();
    ws.merge_range(2, 2, 2, 5, "Einwohner am 31.12.2023", &f).unwrap();
    ws.merge_range(3, 2, 3, 3, "männlich", &f).unwrap();
    ws.merge_range(3, 4, 3, 5, "weiblich", &f).unwrap();
    for (c, t) in [(2, "unter 18"), (3, "18 und älter"), (4, "unter 18"), (5, "18 und älter")] {
        ws.write(4, c, t).unwrap();
    }
    let rows: [(&str, [f64; 4]); 5] = [
        ("Marktviertel 1)", [10.0, 40.0, 11.0, 42.0]),
        ("Bahnhofsviertel", [5.0, 20.0, 6.0, 21.0]),
        ("Suedwall", [7.0, 25.0, 8.0, 24.0]),
        ("Grüne Mitte und Südwall", [9.0, 30.0, 9.0, 31.0]),
        ("Stadt insgesamt", [31.0, 115.0, 34.0, 118.0]),
    ];
    for (r, (name, v)) in rows.iter().enumerate() {
        ws.write(5 + r as u32, 0, *name).unwrap();
        for (c, x) in v.iter().enumerate() {
            ws.write(5 + r as u32, 2 + c as u16, *x).unwrap();
        }
    }
    ws.write(11, 0, "1) einschließlich Altstadt").unwrap();
    ws.write(12, 0, "Quelle: Statistikstelle").unwrap();
    wb.save(&p).unwrap();
    let out = env.run(&["import", "data", p.to_str().unwrap(), "--year", "2023", "--level", "Sozialraum", "--dry-run"]).ok();
    assert!(out.contains("Gebiete nach Namen") && out.contains("3 zugeordnet"), "{out}");
    assert!(out.contains("1 zusammengefasste Zeilen") && out.contains("1 Summenzeilen"), "{out}");
    let profile = env.path("p.toml");
    env.run(&[
        "import",
        "data",
        p.to_str().unwrap(),
        "--year",
        "2023",
        "--level",
        "Sozialraum",
        "--save-profile",
        profile.to_str().unwrap(),
    ])
    .ok();
    let rows = json(&env.run(&["data", "show", "--variable", "einwohner_am_31_12_2023_weiblich_unter_18", "--format", "json"]).ok());
    let by_area = |a: &str| rows.as_array().unwrap().iter().find(|r| r["area"] == a).map(|r| r["value"].clone());
    assert_eq!(by_area("0101"), Some(serde_json::json!(11.0)), "{rows}");
    assert_eq!(rows.as_array().unwrap().len(), 3, "{rows}");
    let saved = std::fs::read_to_string(&profile).unwrap();
    assert!(saved.contains("[names]") && saved.contains("\"Marktviertel 1)\" = \"0101\""), "{saved}");
}

#[test]
fn csv_title_line_and_names_problems() {
    // A city's CSV: a title line above the table.
    let env = musterstadt();
    let f = env.write(
        "titel.csv",
        "Einwohner in den Sozialräumen am 31.12.2023\nSchlüssel;Name;Einwohner\n0101;Marktviertel;100\n0102;Südwall;80\n",
    );
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--year", "2023"]).ok();
    assert!(out.contains("2 neu"), "{out}");
    // By name: an unknown name lists the nearest stored names; an ambiguous one its candidates.
    let f = env.write("namen.csv", "Sozialraum;Kinder\nMarktviertel;10\nSuedwal;5\nBahnhofsviertel;3\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--year", "2023", "--level", "Sozialraum"]);
    assert!(err.contains("Zeile 3") && err.contains("„Suedwal“") && err.contains("ähnlich: Südwall"), "{err}");
    env.run(&["areas", "list"]).ok();
    let twin = env.write(
        "zwilling.geojson",
        collection(
            Some("urn:ogc:def:crs:EPSG::25832"),
            &[feature(r#""schluessel":"0203","name":"Marktviertel""#, &polygon(X0, Y0 + 3000.0, 500.0))],
        ),
    );
    env.run(&[
        "import",
        "areas",
        twin.to_str().unwrap(),
        "--level",
        "Sozialraum",
        "--id-field",
        "schluessel",
        "--name-field",
        "name",
        "--parent-prefix",
        "2",
    ])
    .ok();
    let f = env.write("namen2.csv", "Sozialraum;Kinder\nMarktviertel;10\nSüdwall;5\nBahnhofsviertel;3\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--year", "2023", "--level", "Sozialraum"]);
    assert!(err.contains("passt zu mehreren Gebieten") && err.contains("0101") && err.contains("0203"), "{err}");
    // The decision kept in a profile settles it.
    let profile = env.write("p.toml", "[names]\nMarktviertel = \"0203\"\n");
    let out = env
        .run(&["import", "data", f.to_str().unwrap(), "--year", "2023", "--level", "Sozialraum", "--profile", profile.to_str().unwrap()])
        .ok();
    assert!(out.contains("1 aus dem Importprofil"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "kinder", "--format", "json"]).ok());
    assert!(rows.as_array().unwrap().iter().any(|r| r["area"] == "0203" && r["value"] == 10.0), "{rows}");
}

#[test]
fn wrong_format_behind_extension() {
    let env = musterstadt();
    let f = env.write("tarnung.xlsx", "Gebiet;Einwohner\n0101;1\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--year", "2023"]);
    assert!(err.contains("tarnung.xlsx") && err.contains("keine Tabellenkalkulation") && err.contains("Text/CSV"), "{err}");
    let z = env.write("zip.csv", b"PK\x03\x04\x14\x00\x00\x00");
    let err = env.fails_unchanged(&["import", "data", z.to_str().unwrap(), "--year", "2023"]);
    assert!(err.contains("ZIP/Excel"), "{err}");
    let err = env.fails_unchanged(&["import", "data", "fehlt.csv", "--year", "2023"]);
    assert!(err.contains("fehlt.csv") && err.contains("nicht gefunden"), "{err}");
}

#[test]
fn bad_cells_are_listed_with_line_and_column() {
    let env = musterstadt();
    let check = |name: &str, content: &str, extra: &[&str], expected: &[&str]| {
        let f = env.write(name, content);
        let err = env.fails_unchanged(&[&["import", "data", f.to_str().unwrap()][..], extra].concat());
        for e in expected {
            assert!(err.contains(e), "{name}: {err:?} should contain {e:?}");
        }
    };
    check(
        "unbekannt.csv",
        "gebiet;jahr;merkmal;wert\n0101;2023;ew;1\n101;2023;ew;2\n9999;2023;ew;3\n",
        &[],
        &["unbekannt.csv", "Zeile 3: unbekannter Gebietsschlüssel „101“", "Gemeint ist wohl „0101“", "„9999“"],
    );
    check(
        "doppelt.csv",
        "gebiet;jahr;merkmal;wert\n0101;2023;ew;1\n0101;2023;ew;2\n",
        &[],
        &["Zeile 3", "doppelter Wert für Gebiet „0101“, Jahr 2023, Merkmal „ew“ (schon in Zeile 2)"],
    );
    check("negativ.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;-5\n", &[], &["Zeile 2, Spalte „wert“: negative Anzahl -5", "--rate ew"]);
    check(
        "text.csv",
        "gebiet;jahr;merkmal;wert\n0101;2023;ew;12\n0102;2023;ew;viele\n",
        &[],
        &["Zeile 3, Spalte „wert“: Text „viele“ in einer Zahlenspalte"],
    );
    check(
        "gemischt.csv",
        "gebiet;jahr;merkmal;wert\n0101;2023;ew;12,5\n0102;2023;ew;3.25\n",
        &[],
        &["gemischte Zahlenformate", "Zeile 2", "„12,5“", "Zeile 3", "„3.25“", "--decimal"],
    );
    check("jahr.csv", "gebiet;jahr;merkmal;wert\n0101;zwanzig;ew;1\n", &[], &["Zeile 2, Spalte „jahr“: „zwanzig“ ist kein Jahr"]);
    check("keinjahr.csv", "gebiet;einwohner\n0101;1\n", &[], &["Jahr unbekannt", "--year"]);
    check(
        "spalte.csv",
        "gebiet;jahr;merkmal;wert\n0101;2023;ew;1\n",
        &["--area-field", "Raum"],
        &["Spalte „Raum“ (Gebietsschlüssel) fehlt", "gebiet, jahr, merkmal, wert"],
    );
    check("felder.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;1;7\n", &[], &["Zeile 2: 5 Felder, die Kopfzeile hat nur 4"]);
    check("leer.csv", "", &[], &["die Datei ist leer"]);
}

#[test]
fn missing_codes_are_not_values() {
    let env = musterstadt();
    let f = env.write("fehlend.csv", "gebiet,jahr,merkmal,wert\n0101,2023,ew,-9999\n0102,2023,ew,50\n");
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--missing", "-9999"]).ok();
    assert!(out.contains("1 neu") && out.contains("als fehlend erklärte Codes: 1"), "{out}");
}

#[test]
fn reimport_replaces_and_summarises_changes() {
    let env = musterstadt();
    let v1 = env.write("v1.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;100\n0102;2023;ew;200\n");
    env.run(&["import", "data", v1.to_str().unwrap()]).ok();
    let v2 = env.write("v2.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;100\n0102;2023;ew;210\n0201;2023;ew;5\n");
    let dry = env.run(&["import", "data", v2.to_str().unwrap(), "--dry-run", "--format", "json"]).ok();
    let r = json(&dry);
    assert_eq!(
        (r["inserted"].as_u64(), r["changed"].as_u64(), r["unchanged"].as_u64(), r["dry_run"].as_bool()),
        (Some(1), Some(1), Some(1), Some(true))
    );
    assert_eq!(r["changes"][0]["old"], "200");
    assert_eq!(r["changes"][0]["new"], "210");
    let shown = json(&env.run(&["data", "show", "--variable", "ew", "--area", "0102", "--format", "json"]).ok());
    assert_eq!(shown[0]["value"], 200.0, "dry run must not write");
    let out = env.run(&["import", "data", v2.to_str().unwrap()]).ok();
    assert!(out.contains("1 neu, 1 geändert, 1 unverändert") && out.contains("geändert: ew 2023 0102: 200 → 210"), "{out}");
}

#[test]
fn delivered_totals_differing_from_sums_are_reported() {
    let env = musterstadt();
    let f = env.write("summen.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;100\n0102;2023;ew;200\n01;2023;ew;305\n");
    let out = env.run(&["import", "data", f.to_str().unwrap()]).ok();
    assert!(out.contains("ew 2023 (Stadtteil) 01: geliefert 305, Summe 300 (Differenz +5)"), "{out}");
}

#[test]
fn profile_saved_and_reused() {
    let env = musterstadt();
    let f = env.write("lieferung.csv", "Raum;Stand;Leistungsbezieher\n0101;2022;12\n0102;2022;13\n");
    let prof = env.path("jobcenter.toml");
    env.run(&[
        "import",
        "data",
        f.to_str().unwrap(),
        "--area-field",
        "Raum",
        "--year-field",
        "Stand",
        "--source",
        "Jobcenter",
        "--save-profile",
        prof.to_str().unwrap(),
    ])
    .ok();
    let text = std::fs::read_to_string(&prof).unwrap();
    assert!(
        text.contains("area_field = \"Raum\"") && text.contains("year_field = \"Stand\"") && text.contains("layout = \"wide\""),
        "{text}"
    );
    let g = env.write("lieferung2.csv", "Raum;Stand;Leistungsbezieher\n0101;2023;14\n");
    let out = env.run(&["import", "data", g.to_str().unwrap(), "--profile", prof.to_str().unwrap()]).ok();
    assert!(out.contains("1 neu"), "{out}");
    let bad = env.write("bad.toml", "layout = \"diagonal\"\n");
    let err = env.run(&["import", "data", g.to_str().unwrap(), "--profile", bad.to_str().unwrap()]).fails();
    assert!(err.contains("Importprofil ungültig"), "{err}");
}

#[test]
fn list_and_show_formats() {
    let env = musterstadt();
    let f = env.write("d.csv", "gebiet;jahr;merkmal;wert\n0101;2023;ew;100\n");
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let csv = env.run(&["data", "show", "--variable", "ew", "--format", "csv"]).ok();
    assert_eq!(
        csv,
        "area_id,name,level,year,variable,value,symbol,origin,reference_date,quality,method\n0101,Marktviertel,Sozialraum,2023,ew,100,,delivered,,,\n"
    );
    let table = env.run(&["data", "list"]).ok();
    assert!(table.starts_with("variable") && table.contains("ew"), "{table}");
    let err = env.run(&["data", "show", "--variable", "gibtsnicht"]).fails();
    assert!(err.contains("Merkmal „gibtsnicht“ gibt es nicht; vorhanden: ew"), "{err}");
    let log = env.run(&["log", "--format", "json"]).ok();
    assert!(json(&log).as_array().unwrap().len() >= 3);
}

/// `quartier … | head`: a closed pipe ends the program quietly with exit code 0.
#[test]
fn closed_stdout_pipe_is_not_a_panic() {
    let env = Env::new();
    env.musterstadt();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quartier"))
        .args(["--db", env.db().to_str().unwrap(), "levels", "define", "Stadtteil", "Sozialraum", "Block"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is read
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{:?} {stderr}", out.status);
}

#[test]
fn undo_restores_replaced_values_and_refuses_out_of_order() {
    let env = musterstadt();
    let first = env.write("2023.csv", "Gebiet;Jahr;Merkmal;Wert\n0101;2023;Einwohner;1000\n0102;2023;Einwohner;2000\n");
    env.run(&["import", "data", first.to_str().unwrap()]).ok();
    // The correction replaces one value and adds another.
    let fix = env.write("korrektur.csv", "Gebiet;Jahr;Merkmal;Wert\n0101;2023;Einwohner;1100\n0201;2023;Einwohner;300\n");
    env.run(&["import", "data", fix.to_str().unwrap()]).ok();
    let log = json(&env.run(&["log", "--format", "json"]).ok());
    let ids: Vec<i64> = log.as_array().unwrap().iter().filter(|r| r["kind"] == "data").map(|r| r["id"].as_i64().unwrap()).collect();
    let (fix_id, first_id) = (ids[0], ids[1]);
    assert!(log[0]["who"].as_str().is_some_and(|w| !w.is_empty()), "who imported: {log}");
    let values = |env: &Env| -> Vec<(String, serde_json::Value)> {
        let rows = json(&env.run(&["data", "show", "--variable", "einwohner", "--level", "Sozialraum", "--format", "json"]).ok());
        let rows = rows.as_array().unwrap().iter().filter(|r| !r["value"].is_null());
        rows.map(|r| (r["area"].as_str().unwrap().to_string(), r["value"].clone())).collect()
    };
    // The first import's values were replaced by the correction: that goes first.
    let err = env.fails_unchanged(&["import", "undo", &first_id.to_string()]);
    assert!(err.contains(&format!("zuerst diese rückgängig machen: {fix_id} ")), "{err}");
    let out = env.run(&["import", "undo", &fix_id.to_string()]).ok();
    assert!(out.contains("1 Werte entfernt, 1 frühere Werte wiederhergestellt"), "{out}");
    assert_eq!(values(&env), [("0101".to_string(), 1000.0.into()), ("0102".to_string(), 2000.0.into())]);
    let err = env.fails_unchanged(&["import", "undo", &fix_id.to_string()]);
    assert!(err.contains("schon am"), "{err}");
    let log = json(&env.run(&["log", "--format", "json"]).ok());
    assert!(log[0]["undone_at"].is_string() && log[0]["undone_by"].is_string(), "{log}");
    env.run(&["import", "undo", &first_id.to_string()]).ok();
    assert!(values(&env).is_empty());
    // Area imports and unknown ids are refused with the reason.
    let areas_id = log.as_array().unwrap().iter().find(|r| r["kind"] == "areas").unwrap()["id"].as_i64().unwrap();
    assert!(env.fails_unchanged(&["import", "undo", &areas_id.to_string()]).contains("Gebietsimport"));
    assert!(env.fails_unchanged(&["import", "undo", "999"]).contains("Import 999 gibt es nicht"));
}

#[test]
fn backup_while_serving_and_restore() {
    let env = musterstadt();
    let f = env.write("d.csv", "Gebiet;Jahr;Merkmal;Wert\n0101;2023;Einwohner;1000\n");
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let server = crate::demo::serve_with(&env, &[]);
    let copy = env.path("sicherung.db");
    let out = env.run(&["backup", copy.to_str().unwrap()]).ok();
    assert!(out.contains("Gesichert"), "{out}");
    drop(server);
    assert!(env.run(&["backup", copy.to_str().unwrap()]).fails().contains("gibt es schon"));
    // A later import, then the backup back: the import is gone, the old file kept aside.
    let g = env.write("e.csv", "Gebiet;Jahr;Merkmal;Wert\n0102;2023;Einwohner;500\n");
    env.run(&["import", "data", g.to_str().unwrap()]).ok();
    let out = env.run(&["restore", copy.to_str().unwrap()]).ok();
    assert!(out.contains("Wiederhergestellt") && out.contains("vor-wiederherstellung"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "einwohner", "--level", "Sozialraum", "--format", "json"]).ok());
    let with_value: Vec<&str> =
        rows.as_array().unwrap().iter().filter(|r| !r["value"].is_null()).map(|r| r["area"].as_str().unwrap()).collect();
    assert_eq!(with_value, ["0101"]);
    // Not a database, not a Quartier database.
    let junk = env.write("junk.db", "kein SQLite");
    assert!(env.run(&["restore", junk.to_str().unwrap()]).fails().contains("keine SQLite-Datenbank"));
}

#[test]
fn a_killed_import_leaves_the_database_as_it_was() {
    let env = musterstadt();
    let f = env.write("d.csv", "Gebiet;Jahr;Merkmal;Wert\n0101;2023;Einwohner;1000\n");
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let before = env.snapshot();
    // A large delivery (about 2 million rows), killed while it is being stored.
    let mut big = String::from("Gebiet;Jahr;Merkmal;Wert\n");
    for y in 1000..1500 {
        for v in 0..1000 {
            for k in ["0101", "0102", "0201", "0202"] {
                big.push_str(&format!("{k};{y};m{v};{}\n", v + y));
            }
        }
    }
    let path = env.write("gross.csv", big);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_quartier"))
        .env("QUARTIER_DB", env.db())
        .args(["import", "data", path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let finished = child.try_wait().unwrap().is_some();
    child.kill().ok();
    child.wait().unwrap();
    if !finished {
        assert!(before == env.snapshot(), "the interrupted import left a trace");
    }
    // The database still opens and holds the earlier value.
    let rows = json(&env.run(&["data", "show", "--variable", "einwohner", "--format", "json"]).ok());
    assert_eq!(rows[0]["value"], 1000.0);
}

/// Small counts (1, 2) in the value column look like Stadtteil keys "01", "02" without their
/// zero; the column named "Gebiet" with exact keys is still the area column, and the one
/// unknown key is reported once, by line.
#[test]
fn area_column_prefers_exact_keys_and_its_name() {
    let env = musterstadt();
    let f = env.write("klein.csv", "Gebiet;Jahr;Merkmal;Wert\n0101;2025;kinder;1\n9999;2025;kinder;2\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap()]);
    assert!(err.contains("Zeile 3: unbekannter Gebietsschlüssel „9999“"), "{err}");
    assert_eq!(err.matches("Zeile 3").count(), 1, "the problem is listed once: {err}");
}
