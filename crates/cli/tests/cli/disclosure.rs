//! Disclosure control: `aggregate --public` and `disclosure check`, with an attacker that
//! tries to recover every withheld cell from the published sums.

use crate::support::*;

/// Points in the four Sozialräume of Musterstadt with SGB II flags: (area x-offset, persons,
/// of whom SGB II). Small SGB II counts in 0101 (1) and 0202 (2).
fn points() -> String {
    let plan = [(0.0, 40, 1), (1000.0, 35, 12), (2000.0, 50, 20), (3000.0, 30, 2)];
    let mut s = String::from("x;y;sgb2\n");
    for (dx, persons, sgb2) in plan {
        for i in 0..persons {
            let x = X0 + dx + 100.0 + (i % 8) as f64 * 100.0;
            let y = Y0 + 100.0 + (i / 8) as f64 * 100.0;
            s.push_str(&format!("{x};{y};{}\n", u8::from(i < sgb2)));
        }
    }
    s
}

fn aggregate(env: &Env, extra: &[&str]) -> String {
    let f = env.write("personen.csv", points());
    let out = env.path("zaehlung.csv");
    let mut args = vec![
        "aggregate",
        f.to_str().unwrap(),
        "--x",
        "x",
        "--y",
        "y",
        "--crs",
        "EPSG:25832",
        "--level",
        "Sozialraum",
        "--by",
        "sgb2",
        "--with-parents",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    env.run(&args).ok();
    std::fs::read_to_string(&out).unwrap()
}

/// Table cells by (area, column); `None` = withheld.
type Rows = Vec<(String, Vec<Option<u64>>)>;

fn parse(csv: &str) -> (Vec<String>, Rows) {
    let mut lines = csv.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[2..].iter().map(|v| v.parse().ok()).collect())
        })
        .collect();
    (header[2..].to_vec(), rows)
}

#[test]
fn public_counts_withhold_small_cells_and_resist_recovery() {
    let env = Env::new();
    env.musterstadt();
    let plain = aggregate(&env, &[]);
    assert!(plain.contains("0101,Sozialraum,40,39,1"), "{plain}");
    let public = aggregate(&env, &["--public"]);
    let (cols, rows) = parse(&public);
    assert_eq!(cols, ["n", "sgb2_0", "sgb2_1"]);
    let get = |area: &str| rows.iter().find(|r| r.0 == area).unwrap().1.clone();
    assert_eq!(get("0101")[2], None, "1 SGB II recipient withheld");
    assert_eq!(get("0202")[2], None, "2 SGB II recipients withheld");
    // The smallest protection: a rectangle per Stadtteil (both SGB II columns of both
    // Sozialräume); totals and the Stadtteile stay published.
    assert_eq!(get("0201"), vec![Some(50), None, None]);
    assert_eq!(get("02"), vec![Some(80), Some(58), Some(22)]);
    assert!(rows.iter().all(|r| r.1[0].is_some()), "n is never withheld:\n{public}");
    // The attacker: every relation the table publishes (n = sgb2_0 + sgb2_1 per row;
    // Stadtteil = Σ Sozialräume per column), applied repeatedly; a relation with exactly one
    // unknown cell reveals it.
    let mut known: Vec<Vec<Option<u64>>> = rows.iter().map(|r| r.1.clone()).collect();
    let idx = |a: &str| rows.iter().position(|r| r.0 == a).unwrap();
    let mut relations: Vec<Vec<(usize, usize, i64)>> = Vec::new();
    for r in 0..rows.len() {
        relations.push(vec![(r, 0, 1), (r, 1, -1), (r, 2, -1)]);
    }
    for (parent, kids) in [("01", ["0101", "0102"]), ("02", ["0201", "0202"])] {
        for c in 0..3 {
            relations.push(vec![(idx(parent), c, 1), (idx(kids[0]), c, -1), (idx(kids[1]), c, -1)]);
        }
    }
    loop {
        let mut learned = false;
        for rel in &relations {
            let unknown: Vec<_> = rel.iter().filter(|(r, c, _)| known[*r][*c].is_none()).collect();
            if let [(r, c, sign)] = unknown[..] {
                let rest: i64 = rel.iter().filter(|x| *x != unknown[0]).map(|(r2, c2, s)| s * known[*r2][*c2].unwrap() as i64).sum();
                known[*r][*c] = Some((-rest * sign) as u64);
                learned = true;
            }
        }
        if !learned {
            break;
        }
    }
    for (r, row) in known.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if rows[r].1[c].is_none() {
                assert_eq!(*v, None, "{} {} recovered from the published sums:\n{public}", rows[r].0, cols[c]);
            }
        }
    }
    // The checker agrees, and flags the unprotected table.
    let check = env.run(&["disclosure", "check", env.path("zaehlung.csv").to_str().unwrap()]);
    assert!(check.ok().contains("Sicher"), "{}", check.stderr());
    let raw = env.write("roh.csv", plain);
    let err = env.run(&["disclosure", "check", raw.to_str().unwrap(), "--format", "csv"]);
    let out = err.stdout();
    assert!(err.fails().contains("nicht sicher"));
    assert!(out.contains("0101,sgb2_1,Anzahl 1 unter der Schwelle veröffentlicht"), "{out}");
}

#[test]
fn check_finds_a_withheld_cell_that_row_sums_give_away() {
    let env = Env::new();
    // Primary suppression only: n − sgb2_0 gives sgb2_1 back.
    let f = env.write("naiv.csv", "area_id;n;sgb2_0;sgb2_1\nA;40;39;*\nB;35;23;12\n");
    let r = env.run(&["--db", env.path("none.db").to_str().unwrap(), "disclosure", "check", f.to_str().unwrap(), "--format", "json"]);
    let j = json(&r.stdout());
    assert_eq!(j[0]["area_id"], "A");
    assert_eq!(j[0]["column"], "sgb2_1");
    assert_eq!(j[0]["kind"], "recoverable");
    assert_eq!(j[0]["value"], 1.0);
    assert!(r.fails().contains("1 Befunde"));
    assert!(!env.path("none.db").exists(), "the check must not create a database");
}

#[test]
fn check_uses_the_hierarchy_from_the_database() {
    let env = Env::new();
    env.musterstadt();
    // Both Sozialräume of Stadtteil 01 withheld in their rows, but 0102 alone in the column.
    let f = env.write("t.csv", "area_id,n,sgb2_0,sgb2_1\n0101,40,*,*\n0102,35,23,12\n0201,50,30,20\n0202,30,28,2\n01,75,62,13\n");
    let r = env.run(&["disclosure", "check", f.to_str().unwrap(), "--format", "csv"]);
    let out = r.stdout();
    assert!(r.fails().contains("nicht sicher"));
    assert!(out.contains("0101,sgb2_0,\"gesperrt, aber aus den Summen berechenbar: 39\""), "{out}");
    assert!(out.contains("0202,sgb2_1,Anzahl 2 unter der Schwelle"), "{out}");
}

#[test]
fn check_rejects_bad_input() {
    let env = Env::new();
    let db = env.path("none.db");
    let run = |name: &str, content: &str| {
        let f = env.write(name, content);
        env.run(&["--db", db.to_str().unwrap(), "disclosure", "check", f.to_str().unwrap()]).fails()
    };
    assert!(run("leer.csv", "area_id,n\n").contains("keine Datenzeilen"));
    assert!(run("text.csv", "area_id,name\nA,Nord\n").contains("keine Spalte mit Anzahlen"));
    let neg = env.write("neg.csv", "area_id;indicator;year;value;numerator;denominator\nA;k;2024;5;-1;20\n");
    let e = env.run(&["--db", db.to_str().unwrap(), "disclosure", "check", neg.to_str().unwrap()]).fails();
    assert!(e.contains("neg.csv, Zeile 2, Spalte „numerator“: negative Anzahl -1"), "{e}");
    let e = env.run(&["--db", db.to_str().unwrap(), "disclosure", "check", "fehlt.csv"]).fails();
    assert!(e.contains("fehlt.csv"), "{e}");
}

#[test]
fn public_web_pages_withhold_small_counts() {
    let env = Env::new();
    env.musterstadt();
    let data = "gebiet;jahr;merkmal;wert\n0101;2024;sgb2;1\n0102;2024;sgb2;12\n0201;2024;sgb2;20\n0202;2024;sgb2;30\n";
    let f = env.write("sgb2.csv", data);
    env.run(&["import", "data", f.to_str().unwrap(), "--kind", "count"]).ok();
    let page = "/karte?variable=sgb2&year=2024&level=Sozialraum";
    let internal = crate::demo::serve_with(&env, &[]);
    let (_, body) = crate::demo::get(&internal.addr, page);
    // The texts of a table row's cells (rank, key, name, value, class, note).
    let cells = |body: &str, key: &str| -> Vec<String> {
        let row = body.split(&format!("<tr data-area=\"{key}\">")).nth(1).unwrap_or_else(|| panic!("no row {key}: {body}"));
        let row = row.split("</tr>").next().unwrap();
        row.split("<td").skip(1).map(|c| c.split_once('>').unwrap().1.split("</td>").next().unwrap().to_string()).collect()
    };
    assert_eq!(cells(&body, "0101")[3], "1", "the value 1: {body}");
    assert!(body.contains("data-v=\"12\""), "{body}");
    assert!(body.contains("name=\"oeffentlich\" value=\"1\""), "an internal server offers the public preview");
    // The preview switch on the internal server shows what the public would see.
    let (_, preview) = crate::demo::get(&internal.addr, &format!("{page}&oeffentlich=1"));
    assert!(
        preview.contains("Öffentliche Ansicht") && cells(&preview, "0101")[3] != "1" && !preview.contains("data-v=\"12\""),
        "{preview}"
    );
    drop(internal);
    let public = crate::demo::serve_with(&env, &["--public"]);
    let (_, body) = crate::demo::get(&public.addr, page);
    assert!(body.contains("Öffentliche Ansicht"), "{body}");
    assert_ne!(cells(&body, "0101")[3], "1", "the 1 is withheld: {body}");
    assert!(!body.contains("data-v=\"12\""), "nor its partner, which gives it back via Stadtteil 01: {body}");
    assert!(body.contains("data-v=\"20\"") && body.contains("data-v=\"30\""), "{body}");
    assert!(!body.contains("name=\"oeffentlich\""), "no switch on a public server");
    let (_, body) = crate::demo::get(&public.addr, &format!("{page}&oeffentlich=0"));
    assert!(!body.contains("data-v=\"12\""), "a public server cannot be switched to internal");
}

/// Pages cache computed results; an import while the server runs must show at once.
#[test]
fn web_pages_follow_imports_made_while_serving() {
    let env = Env::new();
    env.musterstadt();
    let f = env.write("a.csv", "gebiet;jahr;merkmal;wert\n0101;2024;sgb2;10\n0102;2024;sgb2;12\n0201;2024;sgb2;20\n0202;2024;sgb2;30\n");
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let server = crate::demo::serve_with(&env, &[]);
    let page = "/karte?variable=sgb2&year=2024&level=Sozialraum";
    let (_, body) = crate::demo::get(&server.addr, page);
    assert!(body.contains("data-v=\"12\"") && !body.contains("data-v=\"17\""), "{body}");
    let g = env.write("b.csv", "gebiet;jahr;merkmal;wert\n0102;2024;sgb2;17\n");
    env.run(&["import", "data", g.to_str().unwrap()]).ok();
    let (_, body) = crate::demo::get(&server.addr, page);
    assert!(body.contains("data-v=\"17\"") && !body.contains("data-v=\"12\""), "the new value, not the cached one: {body}");
}

#[test]
fn check_reads_excel_and_refuses_a_threshold_below_one() {
    let env = Env::new();
    let db = env.path("none.db");
    // The same unsafe table as CSV above, delivered as XLSX.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in ["area_id", "n", "sgb2_0", "sgb2_1"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "A").unwrap();
    ws.write_number(1, 1, 40.0).unwrap();
    ws.write_number(1, 2, 39.0).unwrap();
    ws.write_string(1, 3, "*").unwrap();
    ws.write_string(2, 0, "B").unwrap();
    ws.write_number(2, 1, 35.0).unwrap();
    ws.write_number(2, 2, 23.0).unwrap();
    ws.write_number(2, 3, 12.0).unwrap();
    let f = env.write("tabelle.xlsx", wb.save_to_buffer().unwrap());
    let r = env.run(&["--db", db.to_str().unwrap(), "disclosure", "check", f.to_str().unwrap(), "--format", "csv"]);
    let out = r.stdout();
    assert!(r.fails().contains("nicht sicher"));
    assert!(out.contains("A,sgb2_1,\"gesperrt, aber aus den Summen berechenbar: 1\""), "{out}");
    let err = env.run(&["--db", db.to_str().unwrap(), "disclosure", "check", f.to_str().unwrap(), "--threshold", "0"]).fails();
    assert!(err.contains("--threshold muss mindestens 1 sein"), "{err}");
    env.musterstadt();
    let err = env.fails_unchanged(&["indicators", "compute", "--public", "--disclosure-threshold", "0.5"]);
    assert!(err.contains("--disclosure-threshold muss mindestens 1 sein"), "{err}");
}
