//! `quartier indicators …` and `quartier classify` on Musterstadt counts.

use crate::support::*;

const CATALOGUE: &str = r#"
[[indicator]]
id = "child_poverty"
name = "Kinderarmut"
formula = "100 * children_u15_sgb2 / children_u15"
unit = "%"
direction = "higher_is_worse"      # or "higher_is_better"
domain = "Arbeit und Einkommen"
target_groups = ["Kinder"]
min_denominator = 30

[[indicator]]
id = "elderly_share"
name = "Anteil 65+"
formula = "100 * persons_65plus / population"
unit = "%"
direction = "higher_is_better"
domain = "Demografie"
target_groups = ["Ältere"]
"#;

/// Musterstadt with counts for 2022 and 2023; Sozialraum 0202 has only 20 children in 2023.
fn setup() -> Env {
    let env = Env::new();
    env.musterstadt();
    let data = "gebiet;jahr;merkmal;wert
0101;2022;children_u15;200
0101;2022;children_u15_sgb2;40
0102;2022;children_u15;100
0102;2022;children_u15_sgb2;10
0201;2022;children_u15;300
0201;2022;children_u15_sgb2;90
0202;2022;children_u15;50
0202;2022;children_u15_sgb2;5
0101;2023;children_u15;200
0101;2023;children_u15_sgb2;50
0102;2023;children_u15;100
0102;2023;children_u15_sgb2;*
0201;2023;children_u15;300
0201;2023;children_u15_sgb2;60
0202;2023;children_u15;20
0202;2023;children_u15_sgb2;4
0101;2023;population;1000
0101;2023;persons_65plus;250
";
    let f = env.write("zahlen.csv", data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let c = env.write("katalog.toml", CATALOGUE);
    let out = env.run(&["indicators", "load", c.to_str().unwrap()]).ok();
    assert!(out.contains("2 Indikatoren geprüft: 2 neu"), "{out}");
    env
}

fn rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines().skip(1).map(|l| l.split(',').map(String::from).collect()).collect()
}

#[test]
fn compute_sums_counts_before_dividing_with_statuses() {
    let env = setup();
    let csv = env.run(&["indicators", "compute", "--indicator", "child_poverty", "--reference"]).ok();
    assert!(csv.starts_with("area_id,level,year,indicator,value,numerator,denominator,status\n"), "{csv}");
    let r = rows(&csv);
    let find =
        |area: &str, year: &str| r.iter().find(|x| x[0] == area && x[2] == year).unwrap_or_else(|| panic!("{area} {year}: {csv}")).clone();
    assert_eq!(find("0101", "2022")[4..].to_vec(), ["20", "40", "200", "ok"]);
    // Stadtteil 01 in 2022: (40 + 10) / (200 + 100), not the mean of 20 % and 10 %.
    let st = find("01", "2022");
    assert_eq!(st[1], "Stadtteil");
    assert!((st[4].parse::<f64>().unwrap() - 100.0 * 50.0 / 300.0).abs() < 1e-9);
    assert_eq!(find("0102", "2023")[7], "suppressed");
    assert_eq!(find("01", "2023")[7], "suppressed");
    assert_eq!(find("0202", "2023")[4..].to_vec(), ["20", "4", "20", "unreliable"]);
    // Reference: all counts of the city, 2022: 145 / 650.
    let reference = find("", "2022");
    assert!((reference[4].parse::<f64>().unwrap() - 100.0 * 145.0 / 650.0).abs() < 1e-9, "{reference:?}");
    // Public output hides the unreliable value (its counts are not confidential).
    let public = env
        .run(&[
            "indicators",
            "compute",
            "--indicator",
            "child_poverty",
            "--year",
            "2023",
            "--level",
            "Sozialraum",
            "--public",
            "--format",
            "json",
        ])
        .ok();
    let j = json(&public);
    let s0202 = j.as_array().unwrap().iter().find(|x| x["area_id"] == "0202").unwrap();
    assert!(s0202["value"].is_null() && s0202["numerator"] == 4.0 && s0202["status"] == "unreliable", "{s0202}");
    let missing = env
        .run(&["indicators", "compute", "--indicator", "elderly_share", "--year", "2023", "--level", "Sozialraum", "--format", "json"])
        .ok();
    let m = json(&missing);
    let s0102 = m.as_array().unwrap().iter().find(|x| x["area_id"] == "0102").unwrap();
    assert_eq!((s0102["status"].as_str(), s0102["inputs"].as_str()), (Some("missing"), Some("persons_65plus population")));
}

#[test]
fn public_output_withholds_small_counts_their_partners_and_rates() {
    let env = setup();
    let data = "gebiet;jahr;merkmal;wert
0101;2024;children_u15;200
0101;2024;children_u15_sgb2;40
0102;2024;children_u15;100
0102;2024;children_u15_sgb2;2
0201;2024;children_u15;300
0201;2024;children_u15_sgb2;60
0202;2024;children_u15;50
0202;2024;children_u15_sgb2;10
";
    let f = env.write("zahlen2024.csv", data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let args = ["indicators", "compute", "--indicator", "child_poverty", "--year", "2024", "--reference"];
    let internal = env.run(&args).ok();
    let public = env.run(&[&args[..], &["--public"]].concat()).ok();
    let r = rows(&public);
    let find = |area: &str| r.iter().find(|x| x[0] == area).unwrap_or_else(|| panic!("{area}: {public}")).clone();
    // 2 recipients in 0102: withheld; 0101 too, else Stadtteil 01 (42) − 40 gives it back.
    assert_eq!(find("0102")[4..].to_vec(), ["", "", "100", "confidential"]);
    assert_eq!(find("0101")[4..].to_vec(), ["", "", "200", "confidential"]);
    assert_eq!(find("01")[4..].to_vec(), ["14", "42", "300", "ok"]);
    assert_eq!(find("0201")[4..].to_vec(), ["20", "60", "300", "ok"]);
    // The published file passes the check; the internal one does not.
    let pf = env.write("public.csv", &public);
    assert!(env.run(&["disclosure", "check", pf.to_str().unwrap()]).ok().contains("Sicher"));
    let inf = env.write("internal.csv", &internal);
    let bad = env.run(&["disclosure", "check", inf.to_str().unwrap(), "--format", "csv"]);
    let out = bad.stdout();
    bad.fails();
    assert!(out.contains(",0102,numerator,Anzahl 2 unter der Schwelle veröffentlicht"), "{out}");
    // A rate left beside a withheld numerator is caught.
    let leaky = public.replace("0102,Sozialraum,2024,child_poverty,,", "0102,Sozialraum,2024,child_poverty,2,");
    let lf = env.write("leaky.csv", &leaky);
    let bad = env.run(&["disclosure", "check", lf.to_str().unwrap(), "--format", "csv"]);
    let out = bad.stdout();
    bad.fails();
    assert!(out.contains(",0102,value,\"Quote veröffentlicht, obwohl der Zähler gesperrt ist\""), "{out}");
}

#[test]
fn stats_change_and_target_group_lens() {
    let env = setup();
    let j = json(&env.run(&["indicators", "stats", "--indicator", "child_poverty", "--year", "2022", "--level", "Sozialraum"]).ok());
    // Values 20, 10, 30, 10; reference 145/650 = 22.3077 %.
    let s = &j["summary"];
    assert_eq!(
        (s["n"].as_u64(), s["min"].as_f64(), s["max"].as_f64(), s["mean"].as_f64(), s["median"].as_f64()),
        (Some(4), Some(10.0), Some(30.0), Some(17.5), Some(15.0))
    );
    assert!((s["sd_population"].as_f64().unwrap() - 68.75f64.sqrt()).abs() < 1e-12);
    let a0201 = j["areas"].as_array().unwrap().iter().find(|a| a["area_id"] == "0201").unwrap();
    assert_eq!(a0201["rank"], 1);
    assert!((a0201["deviation_abs"].as_f64().unwrap() - (30.0 - 100.0 * 145.0 / 650.0)).abs() < 1e-9);
    let ch = json(&env.run(&["indicators", "change", "--indicator", "child_poverty", "--level", "Sozialraum", "--format", "json"]).ok());
    let c0101 = ch.as_array().unwrap().iter().find(|a| a["area_id"] == "0101").unwrap();
    assert_eq!(
        (c0101["change_abs"].as_f64(), c0101["change_rel"].as_f64(), c0101["trend_slope"].as_f64()),
        (Some(5.0), Some(25.0), Some(5.0))
    );
    let kids = env.run(&["indicators", "list", "--target-group", "kinder", "--format", "csv"]).ok();
    assert!(kids.contains("child_poverty") && !kids.contains("elderly_share"), "{kids}");
    let grouped = env.run(&["indicators", "list", "--by", "domain", "--format", "csv"]).ok();
    assert!(grouped.contains("Arbeit und Einkommen,child_poverty") && grouped.contains("Demografie,elderly_share"), "{grouped}");
    let exported = env.run(&["indicators", "export"]).ok();
    assert!(exported.contains("[[indicator]]") && exported.contains("min_denominator = 30.0"), "{exported}");
}

#[test]
fn classify_returns_mapclassify_shape_and_freezes_breaks() {
    let env = setup();
    let j = json(
        &env.run(&[
            "classify",
            "--indicator",
            "child_poverty",
            "--year",
            "2022",
            "--level",
            "Sozialraum",
            "--method",
            "user",
            "--breaks",
            "0,15",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(j["method"], "user");
    assert_eq!(j["bins"], serde_json::json!([0.0, 15.0, 30.0]));
    assert_eq!(j["counts"], serde_json::json!([0, 2, 2]));
    assert_eq!(j["classes"]["0201"], 2);
    assert_eq!(j["k"], 3);
    env.run(&[
        "classify",
        "--indicator",
        "child_poverty",
        "--year",
        "2022",
        "--level",
        "Sozialraum",
        "--method",
        "equal-interval",
        "--k",
        "2",
        "--freeze",
    ])
    .ok();
    let frozen = json(&env.run(&["classify", "--indicator", "child_poverty", "--year", "2023", "--level", "Sozialraum", "--frozen"]).ok());
    assert_eq!(frozen["bins"], serde_json::json!([20.0, 30.0]), "2022 breaks applied to 2023");
    assert_eq!(frozen["method"], "equal-interval");
}

#[test]
fn bad_indicator_input_is_refused_and_changes_nothing() {
    let env = setup();
    let before = env.run(&["indicators", "export"]).ok();
    let check = |toml: &str, expected: &[&str]| {
        let f = env.write("bad.toml", toml);
        let err = env.run(&["indicators", "load", f.to_str().unwrap()]).fails();
        for e in expected {
            assert!(err.contains(e), "{err:?} should contain {e:?}");
        }
        assert_eq!(env.run(&["indicators", "export"]).ok(), before, "catalogue changed");
    };
    let ind = |id: &str, formula: &str| {
        format!("[[indicator]]\nid = \"{id}\"\nname = \"X\"\nformula = \"{formula}\"\ndirection = \"higher_is_worse\"\n")
    };
    check(&ind("x", "100 * kinder / children_u15"), &["bad.toml", "unbekanntes Merkmal „kinder“"]);
    check(&ind("x", "100 * (children_u15"), &["Zeichen 20: „)“ fehlt"]);
    check(&format!("{}{}", ind("a", "b + 1"), ind("b", "a + 1")), &["zirkuläre Verweise zwischen den Indikatoren a, b"]);
    check("[[indicator]]\nid = \"x\"\nformula = \"population\"\ndirection = \"higher_is_worse\"\n", &["TOML", "name"]);
    let run_fails = |args: &[&str], expected: &str| {
        let err = env.run(args).fails();
        assert!(err.contains(expected), "{args:?}: {err}");
    };
    let base = ["classify", "--indicator", "child_poverty", "--level", "Sozialraum"];
    run_fails(
        &[&base[..], &["--year", "2022", "--method", "fisher-jenks", "--k", "5"]].concat(),
        "k = 5 ist größer als die Zahl verschiedener Werte (3)",
    );
    run_fails(&[&base[..], &["--year", "2030"]].concat(), "für das Jahr 2030 gibt es keine Daten");
    run_fails(&[&base[..], &["--year", "2022", "--method", "user", "--breaks", "20,10"]].concat(), "Klassengrenzen müssen aufsteigen");
    run_fails(&["classify", "--indicator", "elderly_share", "--level", "Sozialraum", "--year", "2022"], "keine Werte");
    run_fails(&["indicators", "compute", "--indicator", "gibtsnicht"], "Indikator „gibtsnicht“ gibt es nicht");
}

#[test]
fn segregation_over_years() {
    let env = setup();
    let j = json(
        &env.run(&[
            "segregation",
            "--group",
            "children_u15_sgb2",
            "--total",
            "children_u15",
            "--level",
            "Sozialraum",
            "--year",
            "2022",
            "--format",
            "json",
        ])
        .ok(),
    );
    // 2022: group 40, 10, 90, 5 (A = 145) of 200, 100, 300, 50 (T = 650); rest 160, 90, 210, 45 (R = 505).
    let (a, r) = (145.0, 505.0);
    let is = 0.5
        * [(40.0, 160.0), (10.0, 90.0), (90.0, 210.0), (5.0, 45.0)].iter().map(|(g, o): &(f64, f64)| (g / a - o / r).abs()).sum::<f64>();
    let iso = [(40.0, 200.0), (10.0, 100.0), (90.0, 300.0), (5.0, 50.0)].iter().map(|(g, t): &(f64, f64)| g / a * g / t).sum::<f64>();
    assert!((j[0]["segregation"].as_f64().unwrap() - is).abs() < 1e-12, "{j}");
    assert!((j[0]["isolation"].as_f64().unwrap() - iso).abs() < 1e-12);
    assert!(
        (j[0]["isolation"].as_f64().unwrap() + j[0]["exposure"].as_f64().unwrap() - 1.0).abs() < 1e-12,
        "xPx + xPy = 1 against the rest"
    );
    // 2023 has a suppressed count in 0102: an error unless explicitly skipped.
    let err = env
        .run(&["segregation", "--group", "children_u15_sgb2", "--total", "children_u15", "--level", "Sozialraum", "--year", "2023"])
        .fails();
    assert!(err.contains("1 Gebiete ohne Werte (z. B. 0102)") && err.contains("--skip-missing"), "{err}");
    let ok = json(
        &env.run(&[
            "segregation",
            "--group",
            "children_u15_sgb2",
            "--total",
            "children_u15",
            "--level",
            "Sozialraum",
            "--year",
            "2023",
            "--skip-missing",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!((ok[0]["areas"].as_u64(), ok[0]["areas_skipped"].as_u64()), (Some(3), Some(1)));
    let err = env
        .run(&["segregation", "--group", "children_u15", "--total", "children_u15_sgb2", "--level", "Sozialraum", "--year", "2022"])
        .fails();
    assert!(err.contains("größer als die Gesamtbevölkerung"), "{err}");
}

#[test]
fn index_zero_variance_and_too_few_areas_for_classes() {
    let env = setup();
    // Every Sozialraum has the same children count in 2023 except the suppressed one: use a
    // constant indicator to trigger zero variance.
    let cat = env.write(
        "k2.toml",
        "[[indicator]]\nid = \"const\"\nname = \"Konstant\"\nformula = \"if(children_u15 > 0, 1, 1)\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let def = env.write("i.toml", "id = \"x\"\nmethod = \"mss\"\nlevel = \"Sozialraum\"\nstatus = [\"const\"]\n");
    let err = env.run(&["index", "compute", "--definition", def.to_str().unwrap(), "--year", "2022"]).fails();
    assert!(err.contains("„const“ hat 2022 bei allen bewerteten Gebieten denselben Wert (Varianz 0)"), "{err}");
    let w = env.write(
        "w.toml",
        "id = \"w\"\nmethod = \"weighted\"\nlevel = \"Sozialraum\"\nclassification = { method = \"quantiles\", k = 7 }\ndomains = [{ indicator = \"child_poverty\", weight = 1 }]\n",
    );
    let err = env.run(&["index", "compute", "--definition", w.to_str().unwrap(), "--year", "2022"]).fails();
    assert!(err.contains("4 bewertete Gebiete sind weniger als 7 Klassen"), "{err}");
}

/// The map of an indicator with a whole-city value: colours diverging around it, and steps
/// between the years.
#[test]
fn indicator_map_diverges_around_the_reference_and_steps_through_years() {
    let env = setup();
    let server = crate::demo::serve_with(&env, &[]);
    let (head, body) =
        crate::demo::get(&server.addr, "/karte?subject=indicator%3Achild_poverty&year=2022&level=Sozialraum&farben=divergierend&k=3");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // 2022: 20 %, 10 %, 30 %, 10 %; whole city 145/650 = 22.3 %: the middle class is neutral.
    assert!(body.contains("fill=\"#f7f7f7\"") && body.contains("fill=\"#d8daeb\""), "{body}");
    assert!(body.contains("option value=\"divergierend\" selected"), "the choice is kept");
    assert!(body.contains("year=2023\" rel=\"next\""), "a step to the next year");
    let (head, _) = crate::demo::get(&server.addr, "/karte?subject=indicator%3Achild_poverty&farben=bunt");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
}
