//! Boundary changes through the CLI: a new boundary set valid from a date, values on the set
//! of their year, crosswalks (overlay, key table, points) and earlier years carried across.

use crate::support::*;

/// Musterstadt with values for 2023, then the Sozialräume of 2025: 0101 and 0102 merged
/// (under the key 0101, now another territory), 0201 split in a southern and a northern half,
/// 0202 only renamed.
fn redistricted() -> Env {
    let env = Env::new();
    env.musterstadt();
    let data = env.write(
        "werte-2023.csv",
        "Sozialraum;Jahr;einwohner;sgb2;quote\n0101;2023;100;10;10\n0102;2023;60;6;20\n0201;2023;40;4;30\n0202;2023;30;3;40\n",
    );
    env.run(&["import", "data", data.to_str().unwrap(), "--rate", "quote"]).ok();
    let new = sozialraeume_2025_geojson();
    let file = env.write("sozialraeume-2025.geojson", new);
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
            "--valid-from",
            "2025-01-01",
        ])
        .ok();
    assert!(out.contains("Neuer Gebietsstand ab 2025-01-01: 3 Gebiete gelten nicht mehr"), "{out}");
    env
}

fn value(env: &Env, area: &str, var: &str, year: &str) -> serde_json::Value {
    let v = json(&env.run(&["data", "show", "--variable", var, "--year", year, "--area", area, "--format", "json"]).ok());
    v.as_array().unwrap().first().cloned().unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_redistricting_is_carried_across_with_totals_preserved() {
    let env = redistricted();
    // Two boundary sets; the current one lists the new areas only.
    let versions = json(&env.run(&["areas", "versions", "--level", "Sozialraum", "--format", "json"]).ok());
    assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
    assert_eq!((versions[0]["areas"].as_u64(), versions[0]["values"].as_u64()), (Some(4), Some(12)));
    assert_eq!(
        (versions[1]["valid_from"].as_str(), versions[1]["areas"].as_u64(), versions[1]["retired"].as_u64()),
        (Some("2025-01-01"), Some(4), Some(3))
    );
    let areas = json(&env.run(&["areas", "list", "--level", "Sozialraum", "--format", "json"]).ok());
    let keys: Vec<&str> = areas.as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["0101", "0201a", "0201b", "0202"]);
    // The areas and values of then, on request.
    let then = json(&env.run(&["areas", "list", "--level", "Sozialraum", "--boundaries-at", "2024-12-31", "--format", "json"]).ok());
    let keys: Vec<&str> = then.as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["0101", "0102", "0201", "0202"]);
    let old = json(
        &env.run(&[
            "data",
            "show",
            "--variable",
            "einwohner",
            "--year",
            "2023",
            "--area",
            "0102",
            "--boundaries-at",
            "2024-12-31",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(old[0]["value"], 60.0);
    let bad = env.run(&["areas", "list", "--boundaries-at", "2024-02-30"]);
    assert!(!bad.out.status.success() && bad.stderr().contains("kein Datum"), "{}", bad.stderr());
    // The renamed area continues with its value; the merged 0101 is another area now.
    assert_eq!(value(&env, "0202", "einwohner", "2023")["value"], 30.0);
    assert!(value(&env, "0101", "einwohner", "2023").is_null());
    // Values go to the set valid at their date.
    let late = env.write("2023-neu.csv", "Sozialraum;Jahr;einwohner\n0201a;2023;5\n");
    let err = env.fails_unchanged(&["import", "data", late.to_str().unwrap()]);
    assert!(err.contains("Zeile 2") && err.contains("„0201a“ gilt am 2023-12-31 nicht") && err.contains("--current-boundaries"), "{err}");
    let old = env.write("2026-alt.csv", "Sozialraum;Jahr;einwohner\n0102;2026;5\n");
    let err = env.fails_unchanged(&["import", "data", old.to_str().unwrap(), "--area-field", "Sozialraum"]);
    assert!(err.contains("„0102“ gilt am 2026-12-31 nicht"), "{err}");
    // The overlay crosswalk: merge and split by area, continuing areas whole.
    let out = env.run(&["crosswalk", "compute", "--name", "sr2025", "--level", "Sozialraum", "--to", "2025-01-01"]).ok();
    assert!(out.contains("die Gewichte jedes alten Gebiets ergeben 1"), "{out}");
    let weights = json(&env.run(&["crosswalk", "show", "sr2025", "--weights", "--format", "json"]).ok());
    let w: Vec<(String, String, f64)> = serde_json::from_value(weights).unwrap();
    let rounded: Vec<(&str, &str, f64)> = w.iter().map(|(o, n, x)| (o.as_str(), n.as_str(), (x * 1000.0).round() / 1000.0)).collect();
    assert_eq!(
        rounded,
        [("0101", "0101", 1.0), ("0102", "0101", 1.0), ("0201", "0201a", 0.5), ("0201", "0201b", 0.5), ("0202", "0202", 1.0)]
    );
    let shown = json(&env.run(&["crosswalk", "show", "sr2025", "--format", "json"]).ok());
    assert_eq!(shown["estimated"][1], serde_json::json!(["0201a", 1.0]), "{shown}");
    assert_eq!(shown["estimated"][0], serde_json::json!(["0101", 0.0]), "a merge of whole areas is exact: {shown}");
    // Carrying: counts split and summed, the rate population-weighted, delivered values kept.
    let applied = json(&env.run(&["crosswalk", "apply", "sr2025", "--population", "einwohner", "--format", "json"]).ok());
    assert_eq!(applied["stored"]["kept_delivered"], 3, "{applied}");
    for t in applied["totals"].as_array().unwrap() {
        assert!((t[2].as_f64().unwrap() - t[3].as_f64().unwrap()).abs() < 1e-9, "totals preserved: {t}");
    }
    let v = value(&env, "0101", "einwohner", "2023");
    assert_eq!((v["value"].as_f64(), v["quality"].as_str()), (Some(160.0), Some("s")), "{v}");
    // Shares of area after reprojection: equal halves up to digitising precision.
    assert!((value(&env, "0201b", "sgb2", "2023")["value"].as_f64().unwrap() - 2.0).abs() < 1e-6);
    let q = value(&env, "0101", "quote", "2023")["value"].as_f64().unwrap();
    assert!((q - (10.0 * 100.0 + 20.0 * 60.0) / 160.0).abs() < 1e-9, "{q}");
    // Indicators on the new areas for the earlier year: the rate recomputed from carried
    // counts (never averaged), with the status estimated; the renamed area's stays delivered.
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"sgb2_quote\"\nname = \"SGB II\"\nformula = \"100 * sgb2 / einwohner\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let ind = json(
        &env.run(&["indicators", "compute", "--indicator", "sgb2_quote", "--year", "2023", "--level", "Sozialraum", "--format", "json"])
            .ok(),
    );
    let row = |k: &str| ind.as_array().unwrap().iter().find(|r| r["area_id"] == k).cloned().unwrap();
    assert_eq!((row("0101")["value"].as_f64(), row("0101")["status"].as_str()), (Some(10.0), Some("estimated")), "{ind}");
    assert_eq!(row("0202")["status"], "ok");
    // Carried values say so in the downloads' quality column and can be undone as an import.
    let csv = env.run(&["data", "show", "--variable", "einwohner", "--year", "2023", "--format", "csv"]).ok();
    assert!(csv.lines().any(|l| l.starts_with("0201a,") && l.contains(",s,Flächenanteile")), "{csv}");
    let id = applied["stored"]["import_id"].as_i64().unwrap().to_string();
    env.run(&["import", "undo", &id]).ok();
    assert!(value(&env, "0101", "einwohner", "2023").is_null());
    // A series recalculated by the statistics office onto today's areas.
    env.run(&["import", "data", late.to_str().unwrap(), "--current-boundaries"]).ok();
    assert_eq!(value(&env, "0201a", "einwohner", "2023")["value"], 5.0);
}

#[test]
fn crosswalks_come_from_key_tables_and_points_and_bad_ones_are_refused() {
    let env = redistricted();
    // A key table naming only the changed areas: 0202 continues by itself.
    let table = env.write("umsteiger.csv", "alt;neu;anteil\n0101;0101;100 %\n0102;0101;100 %\n0201;0201a;0,7\n0201;0201b;0,3\n");
    let out =
        env.run(&["crosswalk", "import", table.to_str().unwrap(), "--name", "amtlich", "--level", "Sozialraum", "--to", "2025-01-01"]).ok();
    assert!(out.contains("5 Gewichte"), "{out}");
    env.run(&["crosswalk", "apply", "amtlich", "--variables", "einwohner"]).ok();
    assert_eq!(value(&env, "0201a", "einwohner", "2023")["value"], 28.0);
    // Keys outside the two sets, shares that do not sum to 1: named, nothing stored.
    let bad = env.write("falsch.csv", "alt;neu;anteil\n0101;0101;1\n0201;0299;1\n");
    let err =
        env.fails_unchanged(&["crosswalk", "import", bad.to_str().unwrap(), "--name", "x", "--level", "Sozialraum", "--to", "2025-01-01"]);
    assert!(err.contains("falsch.csv") && err.contains("„0299“"), "{err}");
    let half = env.write("halb.csv", "alt;neu;anteil\n0201;0201a;0,5\n");
    env.run(&["crosswalk", "import", half.to_str().unwrap(), "--name", "halb", "--level", "Sozialraum", "--to", "2025-01-01"]).ok();
    let err = env.fails_unchanged(&["crosswalk", "apply", "halb"]);
    assert!(err.contains("0201 (0.5000)"), "{err}");
    let err = env.fails_unchanged(&["crosswalk", "compute", "--name", "y", "--level", "Sozialraum", "--to", "2024-01-01"]);
    assert!(err.contains("ab Anfang, 2025-01-01"), "{err}");
    // Weighted points: everyone of 0201 lives in its northern half.
    let points = env.write(
        "adressen.csv",
        format!("x;y;personen\n{};{};7\n{};{};3\n{};{};2\n", X0 + 2500.0, Y0 + 1500.0, X0 + 2600.0, Y0 + 1800.0, X0 + 500.0, Y0 + 500.0),
    );
    env.run(&[
        "crosswalk",
        "compute",
        "--name",
        "punkte",
        "--level",
        "Sozialraum",
        "--to",
        "2025-01-01",
        "--points",
        points.to_str().unwrap(),
        "--x",
        "x",
        "--y",
        "y",
        "--crs",
        "EPSG:25832",
        "--weight",
        "personen",
    ])
    .ok();
    let w = json(&env.run(&["crosswalk", "show", "punkte", "--weights", "--format", "json"]).ok());
    assert!(w.as_array().unwrap().iter().any(|l| l[0] == "0201" && l[1] == "0201b" && l[2] == 1.0), "{w}");
    // Chaining needs the second to start where the first ends.
    let err = env.fails_unchanged(&["crosswalk", "chain", "amtlich", "punkte", "--name", "z"]);
    assert!(err.contains("beginnt nicht"), "{err}");
    let list = json(&env.run(&["crosswalk", "list", "--format", "json"]).ok());
    assert_eq!(list.as_array().unwrap().len(), 3);
}
