//! Official statistics as delivered: GENESIS table CSV (title block, header block, mixed
//! levels, footer), flat files (ffcsv, zipped, and the older layout), Zensus 2022 tables,
//! reference dates. Fixtures follow the published formats (Destatis: "Das neue Flatfile
//! CSV-Format (ffcsv)"; the Regionaldatenbank's CSV export as in data/official); keys and
//! names are those of real municipalities, the numbers are made up.

use crate::support::*;

/// ISO-8859-1 bytes, as GENESIS writes its CSV exports.
fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).expect("Latin-1 character")).collect()
}

/// A Gemeinde table of Kreis Ahrweiler and its neighbours: three header rows (Stichtag,
/// Geschlecht, Altersgruppe), Deutschland/Land/Region/Kreis/Verbandsgemeinde/Gemeinde rows
/// mixed, a kreisfreie Stadt, an irregular 7-digit key, footnotes, symbols, footer.
const GEMEINDEN: &str = "GENESIS-Tabelle: 12411-02-03-5
Bevölkerungsstand: Bevölkerung nach Geschlecht und Altersgruppen;;;;;;;
- Stichtag 31.12. -;;;;;;;
regionale Tiefe: Gemeinden;;;;;;;
Fortschreibung des Bevölkerungsstandes;;;;;;;
Bevölkerungsstand (Anzahl);;;;;;;
;;31.12.2023;31.12.2023;31.12.2023;31.12.2023;31.12.2023;31.12.2023
;;männlich;männlich;weiblich;weiblich;Insgesamt;Insgesamt
;;unter 3 Jahre;3 bis unter 6 Jahre;unter 3 Jahre;3 bis unter 6 Jahre;unter 3 Jahre;3 bis unter 6 Jahre
DG;Deutschland;1200000;1150000;1140000;1090000;2340000;2240000
07;  Rheinland-Pfalz;55000;53000;52000;50000;107000;103000
071;    Koblenz, Stat. Region;20000;19000;19000;18000;39000;37000
07111;      Koblenz, kreisfreie Stadt;1500;1400;1450;1350;2950;2750
07131;      Ahrweiler, Landkreis;1700;1650;1600;1560;3300;3210
071315001;        Adenau, Verbandsgemeinde;200;190;180;170;380;360
07131001;          Adenau, Stadt;60;55;58;50;118;105
07131002;          Antweiler 1);.;3;-;2;(5);5
0713150;        Altenahr (alte Kennung);10;10;10;10;20;20
07131077;          Bad Neuenahr-Ahrweiler, Stadt;700;680;660;650;1360;1330 2)
07132;      Altenkirchen (Westerwald), Landkreis;1300;1250;1200;1180;2500;2430
07132001;          Almersbach;4;5;3;x;7;x
__________
\"1) Gebietsstand 31.12.2023
2) vorläufig\"
\"© Statistische Ämter des Bundes und der Länder, Deutschland, 2024.
Dieses Werk ist lizensiert unter der Datenlizenz Deutschland - Namensnennung - Version 2.0.\"
Stand: 10.06.2024 / 10:15:12
";

fn ahrweiler() -> Env {
    let env = Env::new();
    let f = env.write("gemeinden.csv", latin1(GEMEINDEN));
    let out = env.run(&["import", "areas", f.to_str().unwrap(), "--within", "07131"]).ok();
    assert!(out.contains("Neue Ebenen angelegt: Land → Regierungsbezirk → Kreis → Gemeinde"), "{out}");
    env
}

#[test]
fn genesis_gemeinde_table_as_delivered() {
    let env = ahrweiler();
    let areas = json(&env.run(&["areas", "list", "--level", "Gemeinde", "--format", "json"]).ok());
    let keys: Vec<&str> = areas.as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["07131001", "07131002", "07131077"]);
    assert_eq!(areas[1]["name"], "Antweiler", "footnote marker removed: {areas}");
    assert_eq!(areas[0]["parent"], "07131");
    let f = env.path("gemeinden.csv");
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde", "--dry-run"]).ok();
    for expected in [
        "Format: GENESIS-Tabelle (CSV)",
        "Kodierung: windows-1252",
        "Tabelle 12411-02-03-5",
        "Stand 2024-06-10",
        "Kopfzeilen: 3",
        "bevoelkerungsstand_maennlich_unter_3_jahre = „Bevölkerungsstand – männlich – unter 3 Jahre“",
        "Ebene „Gemeinde“: 3 Gebiete der gewählten Ebene",
        "Ebene „Kreis“: 1 gelieferte Summen",
        "Nicht importiert: 1 Zeilen „Deutschland“",
        "Nicht importiert: 1 Zeilen „Gemeindeverband“",
        "Nicht importiert: 1 Zeilen „sonstige Gebietseinheit“",
        "Stichtage/Zeiträume: 31.12.2023",
        "Qualitätskennzeichen: „()“ 1×",
        "Fußnotenzeichen",
        "Probelauf",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in\n{out}");
    }
    env.run(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde"]).ok();
    let rows = json(&env.run(&["data", "show", "--variable", "bevoelkerungsstand_insgesamt_unter_3_jahre", "--format", "json"]).ok());
    let get = |a: &str| rows.as_array().unwrap().iter().find(|r| r["area"] == a).cloned().unwrap_or_default();
    assert_eq!(get("07131002")["value"], 5.0);
    assert_eq!(get("07131002")["quality"], "()");
    assert_eq!(get("07131002")["reference_date"], "2023-12-31");
    assert_eq!(get("07131077")["value"], 1360.0);
    assert_eq!(get("07131")["level"], "Kreis", "delivered Kreis total kept: {rows}");
    let sym = json(&env.run(&["data", "show", "--variable", "bevoelkerungsstand_maennlich_unter_3_jahre", "--format", "json"]).ok());
    let antweiler = sym.as_array().unwrap().iter().find(|r| r["area"] == "07131002").unwrap();
    assert_eq!(antweiler["symbol"], ".");
    let vars = json(&env.run(&["data", "list", "--format", "json"]).ok());
    let v = &vars.as_array().unwrap()[0];
    assert_eq!(v["unit"], "Anzahl");
    assert_eq!(v["kind"], "count");
    assert!(v["source"].as_str().unwrap().contains("Statistische Ämter des Bundes und der Länder"), "{v}");
}

#[test]
fn genesis_unknown_key_of_the_level_and_two_dates_in_a_year() {
    let env = ahrweiler();
    // A municipality of the stored Kreis that is not stored: an error naming line and key.
    let extra = GEMEINDEN.replace("07132;", "07131099;          Neuland;1;1;1;1;2;2\n07132;");
    let f = env.write("neu.csv", latin1(&extra));
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde"]);
    assert!(
        err.contains("Zeile 20") && err.contains("07131099") && err.contains("„Neuland“") && err.contains("nicht gespeichert"),
        "{err}"
    );
    // June and December of one year: an error naming both dates, unless --period picks one.
    let half = "GENESIS-Tabelle: 12411-0018
Bevölkerung: Gemeinden, Stichtag;;;
Bevölkerungsstand (Anzahl);;;
;;30.06.2023;31.12.2023
;;Insgesamt;Insgesamt
07131001;Adenau, Stadt;2950;2961
07131002;Antweiler;198;197
07131077;Bad Neuenahr-Ahrweiler, Stadt;28650;28690
";
    let f = env.write("halbjahr.csv", half);
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap()]);
    assert!(err.contains("zwei Stichtage (30.06.2023 in Zeile 6, 31.12.2023 in Zeile 6)") && err.contains("--period"), "{err}");
    env.run(&["import", "data", f.to_str().unwrap(), "--period", "12"]).ok();
    let rows = json(&env.run(&["data", "show", "--variable", "bevoelkerungsstand_insgesamt", "--format", "json"]).ok());
    let adenau = rows.as_array().unwrap().iter().find(|r| r["area"] == "07131001").unwrap();
    assert_eq!((adenau["value"].as_f64(), adenau["reference_date"].as_str()), (Some(2961.0), Some("2023-12-31")));
}

#[test]
fn genesis_time_in_rows_and_unreadable_files() {
    let env = ahrweiler();
    let t = "GENESIS-Tabelle: 82111-01-05-4
Verfügbares Einkommen der privaten Haushalte;;;
regionale Tiefe: Kreise und krfr. Städte;;;
;;;Verfügbares Einkommen je Einwohner (EUR)
2021;07131;Ahrweiler, Landkreis;24500
2022;07131;Ahrweiler, Landkreis;25100
2021;07111;Koblenz, kreisfreie Stadt;23000
__________
Stand: 01.09.2024
";
    let f = env.write("einkommen.csv", latin1(t));
    let out = env.run(&["import", "data", f.to_str().unwrap()]).ok();
    assert!(out.contains("Jahre 2021, 2022") && out.contains("Ebene „Kreis“: 1 Gebiete der gewählten Ebene"), "{out}");
    let vars = json(&env.run(&["data", "list", "--format", "json"]).ok());
    let v = vars.as_array().unwrap().iter().find(|v| v["key"].as_str().unwrap().starts_with("verfuegbares")).unwrap();
    assert_eq!(v["kind"], "rate", "an amount per head is not summed: {v}");
    // A title block without any keyed row: the first lines as read and the helpful flags.
    let f = env.write("kaputt.csv", "GENESIS-Tabelle: 1\nTitel\n;;A;B\nirgendwas;1;2\n");
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap()]);
    assert!(err.contains("kaputt.csv") && err.contains("Gelesen (Trennzeichen „;“)") && err.contains("--header-rows"), "{err}");
    assert!(err.contains("Kodierung UTF-8"), "the encoding read with is named: {err}");
    // The same delivered in Windows-1252 (as Excel on German Windows writes it).
    let f = env.write("kaputt-ansi.csv", latin1("GENESIS-Tabelle: 1\nTitel Größe\n;;A;B\nirgendwas;1;2\n"));
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap()]);
    assert!(err.contains("kaputt-ansi.csv") && err.contains("Kodierung windows-1252") && err.contains("--encoding"), "{err}");
    // A value that is neither number nor symbol: file, line, column, value.
    let bad = GEMEINDEN.replace("07131001;          Adenau, Stadt;60;", "07131001;          Adenau, Stadt;sechzig;");
    let f = env.write("falsch.csv", latin1(&bad));
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde"]);
    assert!(err.contains("falsch.csv") && err.contains("Zeile 16, Spalte 3") && err.contains("„sechzig“"), "{err}");
}

const FFCSV_HEAD: &str = "statistics_code;statistics_label;time_code;time_label;time;1_variable_code;1_variable_label;1_variable_attribute_code;1_variable_attribute_label;2_variable_code;2_variable_label;2_variable_attribute_code;2_variable_attribute_label;value;value_unit;value_variable_code;value_variable_label;value_q";

fn ffcsv_rows() -> String {
    // Unsorted, as GENESIS-Online delivers it.
    let rows = [
        ("07131077", "Bad Neuenahr-Ahrweiler, Stadt", "GESW", "weiblich", "14820", "e"),
        ("07131001", "Adenau, Stadt", "GESM", "männlich", "1460", "e"),
        ("07131", "Ahrweiler, Landkreis", "GESM", "männlich", "63512", "p"),
        ("07131002", "Antweiler", "GESW", "weiblich", "-", ""),
        ("07131001", "Adenau, Stadt", "GESW", "weiblich", "1501", "e"),
        ("07131077", "Bad Neuenahr-Ahrweiler, Stadt", "GESM", "männlich", "13870", "e"),
        ("07131002", "Antweiler", "GESM", "männlich", "99", "e"),
    ];
    let mut s = String::from(FFCSV_HEAD);
    for (k, n, g, gl, v, q) in rows {
        s.push_str(&format!(
            "\n12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;2023-12-31;GEMEIN;Gemeinden;{k};{n};GES;Geschlecht;{g};{gl};{v};Anzahl;BEVSTD;Bevölkerungsstand;{q}"
        ));
    }
    s.push('\n');
    s
}

#[test]
fn ffcsv_zipped_with_quality_flags() {
    let env = ahrweiler();
    let p = env.path("12411-0018_de_flat.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        zip.start_file("12411-0018_de_flat.csv", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, ffcsv_rows().as_bytes()).unwrap();
        zip.finish().unwrap();
    }
    let out = env.run(&["import", "data", p.to_str().unwrap(), "--level", "Gemeinde"]).ok();
    assert!(out.contains("GENESIS-Flatfile (ffcsv)") && out.contains("7 neu") && out.contains("„p“ 1×"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "bevstd_gesm", "--format", "json"]).ok());
    let kreis = rows.as_array().unwrap().iter().find(|r| r["area"] == "07131").unwrap();
    assert_eq!((kreis["value"].as_f64(), kreis["quality"].as_str()), (Some(63512.0), Some("p")));
    assert_eq!(kreis["reference_date"], "2023-12-31");
    let w = json(&env.run(&["data", "show", "--variable", "bevstd_gesw", "--format", "json"]).ok());
    let antweiler = w.as_array().unwrap().iter().find(|r| r["area"] == "07131002").unwrap();
    assert_eq!(antweiler["symbol"], "-");
    // A ZIP with two files is refused by name.
    let two = env.path("zwei.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&two).unwrap());
        for n in ["a.csv", "b.csv"] {
            zip.start_file(n, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut zip, FFCSV_HEAD.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    let err = env.fails_unchanged(&["import", "data", two.to_str().unwrap()]);
    assert!(err.contains("zwei.zip") && err.contains("genau eine CSV-Datei") && err.contains("a.csv, b.csv"), "{err}");
    // An unreadable time: line and value.
    let bad = ffcsv_rows().replacen("2023-12-31", "Ende 2023", 1);
    let f = env.write("bad_flat.csv", bad);
    let err = env.fails_unchanged(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde"]);
    assert!(err.contains("Zeile 2") && err.contains("„Ende 2023“"), "{err}");
}

#[test]
fn older_flat_layout() {
    let env = ahrweiler();
    let t = "Statistik_Code;Statistik_Label;Zeit_Code;Zeit_Label;Zeit;1_Merkmal_Code;1_Merkmal_Label;1_Auspraegung_Code;1_Auspraegung_Label;BEVSTD__Bevoelkerungsstand__Anzahl;BEVSTD__Bevoelkerungsstand__q
12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;31.12.2022;GEMEIN;Gemeinden;07131001;Adenau, Stadt;2950;e
12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;31.12.2022;GEMEIN;Gemeinden;07131002;Antweiler;198;e
12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;31.12.2022;GEMEIN;Gemeinden;07131077;Bad Neuenahr-Ahrweiler, Stadt;28650;r
";
    let f = env.write("alt_flat.csv", t);
    let out = env.run(&["import", "data", f.to_str().unwrap()]).ok();
    assert!(out.contains("GENESIS-Flatfile (älteres Format)") && out.contains("3 neu") && out.contains("„r“ 1×"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "bevstd", "--format", "json"]).ok());
    assert_eq!(rows[2]["quality"], "r");
}

/// A Zensus 2022 database table: 12-digit ARS, a quality flag column next to the values.
const ZENSUS: &str = "Zensus 2022 Datenbank;;;
Tabelle: 1000A-1001;;;
Personen: Gemeinden, Stichtag;;;
Stichtag 15.05.2022;;;
;;Personen;
;;Anzahl;
07131;Ahrweiler, Landkreis;125840;e
071310001001;Adenau, Stadt;2925;e
071310001002;Antweiler;201;s
071310077077;Bad Neuenahr-Ahrweiler, Stadt;28470;e
__________
© Statistische Ämter des Bundes und der Länder, 2024
";

#[test]
fn zensus_table_with_ars_keys_and_flags_then_ags_table_on_the_same_areas() {
    let env = Env::new();
    let f = env.write("zensus.csv", ZENSUS);
    let out = env.run(&["import", "areas", f.to_str().unwrap()]).ok();
    assert!(out.contains("Ebene Gemeinde: 3 Gebiete"), "{out}");
    let out = env.run(&["import", "data", f.to_str().unwrap()]).ok();
    assert!(out.contains("Stichtage/Zeiträume: 15.05.2022") && out.contains("„s“ 1×"), "{out}");
    let rows = json(&env.run(&["data", "show", "--variable", "personen_anzahl", "--level", "Gemeinde", "--format", "json"]).ok());
    let antweiler = rows.as_array().unwrap().iter().find(|r| r["area"] == "071310001002").unwrap();
    assert_eq!((antweiler["value"].as_f64(), antweiler["quality"].as_str()), (Some(201.0), Some("s")));
    assert_eq!(antweiler["reference_date"], "2022-05-15");
    // An 8-digit AGS table finds the municipalities stored with their 12-digit ARS.
    let g = env.write("gemeinden.csv", latin1(GEMEINDEN));
    let out = env.run(&["import", "data", g.to_str().unwrap(), "--level", "Gemeinde"]).ok();
    assert!(out.contains("Ebene „Gemeinde“: 3 Gebiete der gewählten Ebene"), "{out}");
}

#[test]
fn real_regionalstatistik_export() {
    // data/official/12411-01-01-4.csv: byte for byte as delivered (ISO-8859-1).
    let env = Env::new();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/official/12411-01-01-4.csv");
    let out = env.run(&["import", "areas", file]).ok();
    assert!(out.contains("Ebene Land: 16 Gebiete") && out.contains("Ebene Kreis: 471 Gebiete"), "{out}");
    let out = env.run(&["import", "data", file, "--format", "json"]).ok();
    let report = json(&out);
    assert_eq!(report["inserted"], 1461);
    assert!(report["total_mismatches"].as_array().unwrap().is_empty(), "{out}");
    let detected: Vec<&str> = report["detected"].as_array().unwrap().iter().map(|d| d.as_str().unwrap()).collect();
    assert!(detected.contains(&"Nicht importiert: 35 Zeilen „Regierungsbezirk/Statistische Region“"), "{detected:?}");
    let rows = json(&env.run(&["data", "show", "--variable", "bevoelkerungsstand_insgesamt", "--area", "01001", "--format", "json"]).ok());
    assert_eq!(rows[0]["value"], 85942.0);
    assert_eq!(rows[0]["reference_date"], "2015-12-31");
    // Schleswig-Holstein as delivered equals the sum of its Kreise.
    let land = json(&env.run(&["data", "show", "--variable", "bevoelkerungsstand_insgesamt", "--level", "Land", "--format", "json"]).ok());
    assert_eq!(land[0]["value"], 2858714.0);
}

#[test]
fn geometries_attach_later_by_key() {
    // Kreis → Gemeinden from the table; the municipal boundaries (as the BKG's VG250 delivers
    // them: AGS, GEN) attach to the stored areas by key.
    let env = ahrweiler();
    let square = |k: &str, n: &str, x: f64| feature(&format!(r#""AGS":"{k}","GEN":"{n}""#), &polygon(x, Y0, 1000.0));
    let vg250 = collection(
        Some("urn:ogc:def:crs:EPSG::25832"),
        &[
            square("07131001", "Adenau", X0),
            square("07131002", "Antweiler", X0 + 1000.0),
            square("07131077", "Bad Neuenahr-Ahrweiler", X0 + 2000.0),
        ],
    );
    let f = env.write("vg250_gem.geojson", vg250);
    let out = env
        .run(&[
            "import",
            "areas",
            f.to_str().unwrap(),
            "--level",
            "Gemeinde",
            "--id-field",
            "AGS",
            "--name-field",
            "GEN",
            "--parent-prefix",
            "5",
        ])
        .ok();
    assert!(out.contains("0 neu, 3 geändert"), "{out}");
    let areas = json(&env.run(&["areas", "list", "--level", "Gemeinde", "--format", "json"]).ok());
    assert!(areas.as_array().unwrap().iter().all(|a| a["has_geometry"] == true && a["parent"] == "07131"), "{areas}");
}

#[test]
fn kreisfreie_stadt_is_a_municipality_too() {
    // Koblenz is delivered only as a Kreis (07111): as areas it also becomes Gemeinde 07111000,
    // and its row is that municipality's value.
    let env = Env::new();
    let f = env.write("gemeinden.csv", latin1(GEMEINDEN));
    let out = env.run(&["import", "areas", f.to_str().unwrap()]).ok();
    assert!(out.contains("1 kreisfreie Städte auch als Gemeinde angelegt (z. B. 07111000 „Koblenz, kreisfreie Stadt“)"), "{out}");
    assert!(out.contains("Ebene „Gemeindeverband“ nicht angelegt"), "{out}");
    let out = env.run(&["import", "data", f.to_str().unwrap(), "--level", "Gemeinde"]).ok();
    assert!(out.contains("1 kreisfreie Städte mit fünfstelligem Schlüssel als Gemeinden"), "{out}");
    let rows = json(
        &env.run(&["data", "show", "--variable", "bevoelkerungsstand_insgesamt_unter_3_jahre", "--area", "07111000", "--format", "json"])
            .ok(),
    );
    assert_eq!(rows[0]["value"], 2950.0, "{rows}");
    // Its Kreis total equals the municipality: no mismatch reported for 07111.
    assert!(!out.contains("(Kreis) 07111:"), "{out}");
}

#[test]
fn closed_pipe_is_not_an_error() {
    // `quartier … | head -1` exits quietly and with 0, whatever the output format.
    let env = Env::new();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/official/12411-01-01-4.csv");
    env.run(&["import", "areas", file]).ok();
    env.run(&["import", "data", file]).ok();
    for format in ["table", "csv", "json"] {
        let script = format!(
            "set -o pipefail; {} --db {} data show --variable bevoelkerungsstand_insgesamt --format {format} | head -1 > /dev/null",
            env!("CARGO_BIN_EXE_quartier"),
            env.db().display()
        );
        let out = std::process::Command::new("bash").arg("-c").arg(&script).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.is_empty(), "{format}: {:?} {stderr}", out.status);
    }
}

#[test]
fn every_kind_of_bad_official_input_is_named_and_changes_nothing() {
    let env = ahrweiler();
    let fails = |name: &str, content: &[u8], extra: &[&str], expected: &[&str]| {
        let f = env.write(name, content);
        let err = env.fails_unchanged(&[&["import", "data", f.to_str().unwrap()][..], extra].concat());
        for e in expected {
            assert!(err.contains(e), "{name}: {err:?} should contain {e:?}");
        }
    };
    // A header block that combines into the same name twice.
    let twice =
        "GENESIS-Tabelle: 1\nBevölkerungsstand (Anzahl);;;\n;;31.12.2023;31.12.2023\n;;Insgesamt;Insgesamt\n07131001;Adenau, Stadt;1;2\n";
    fails("zweimal.csv", twice.as_bytes(), &[], &["zweimal.csv", "zweimal den Merkmalsnamen", "Spalten 3 und 4", "--header-rows"]);
    // A time column with a value that is no date.
    let time = "GENESIS-Tabelle: 2\nEinkommen (EUR);;;\n;;;Insgesamt\n2021;07131;Ahrweiler;24500\nirgendwann;07131;Ahrweiler;25100\n";
    fails("zeit.csv", time.as_bytes(), &[], &["zeit.csv", "Zeile 5, Spalte 1", "„irgendwann“ ist kein Datum"]);
    // A --period that names no month or day.
    fails("gemeinden.csv", &latin1(GEMEINDEN), &["--level", "Gemeinde", "--period", "Herbst"], &["--period „Herbst“", "Monat"]);
    // --header-rows that is neither a number nor a range.
    fails("gemeinden.csv", &latin1(GEMEINDEN), &["--header-rows", "drei"], &["--header-rows „drei“"]);
    // A flat file whose dimensions hold no official keys.
    let flat = format!("{FFCSV_HEAD}\n1;S;J;Jahr;2023;X;x;abc;Abc;Y;y;def;Def;5;Anzahl;V;Wert;e\n");
    fails(
        "ohne_schluessel.csv",
        flat.as_bytes(),
        &[],
        &["ohne_schluessel.csv", "keine Spalte N_variable_attribute_code mit amtlichen Gebietsschlüsseln"],
    );
    // A ZIP that holds a CSV of another kind.
    let p = env.path("fremd.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
        zip.start_file("liste.csv", zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, b"a;b\n1;2\n").unwrap();
        zip.finish().unwrap();
    }
    let err = env.fails_unchanged(&["import", "data", p.to_str().unwrap()]);
    assert!(err.contains("fremd.zip") && err.contains("liste.csv") && err.contains("bitte entpacken"), "{err}");
    // Areas from a table: a --within that matches nothing.
    let f = env.path("gemeinden.csv");
    let err = env.fails_unchanged(&["import", "areas", f.to_str().unwrap(), "--within", "09999"]);
    assert!(err.contains("keine Gebiete mit Schlüssel 09999"), "{err}");
}
