//! `quartier aggregate`: points counted per area, never stored individually.

use crate::support::*;

fn points() -> String {
    let rows = [
        ("370500", "5706000", "1", "4"),
        ("370600", "5706100", "0", "40"),
        ("371000", "5706500", "1", "70"), // on the border of 0101 and 0102: counted once
        ("372500", "5706000", "0", "10"),
        ("373500", "5705500", "1", "85"),
        ("380000", "5706000", "0", "30"), // outside every area
        ("abc", "5706000", "0", "30"),    // unusable
        ("373400", "5705400", "1", "x"),  // unusable age
    ];
    let mut s = String::from("x;y;sgb2;alter\n");
    for (x, y, g, a) in rows {
        s.push_str(&format!("{x};{y};{g};{a}\n"));
    }
    s
}

#[test]
fn counts_per_area_with_categories_and_age_groups() {
    let env = Env::new();
    env.musterstadt();
    let f = env.write("personen.csv", points());
    let out = env.path("zaehlung.csv");
    let run = env.run(&[
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
        "--age-col",
        "alter",
        "--age-groups",
        "0-5,6-64,65-",
        "--out",
        out.to_str().unwrap(),
    ]);
    let stdout = run.ok();
    assert!(
        stdout.contains("8 Datensätze, 6 Gebieten zugeordnet, 1 außerhalb aller Gebiete (z. B. Zeilen [7])")
            && stdout.contains("1 ohne verwertbare Koordinaten (z. B. Zeilen [8])"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("area_id,n,sgb2_0,sgb2_1,age_0-5,age_6-64,age_65-"));
    let rows: Vec<Vec<u64>> = lines.map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 4, "one row per Sozialraum");
    let n: u64 = rows.iter().map(|r| r[0]).sum();
    assert_eq!(n, 6, "every usable point inside exactly one area");
    assert_eq!(rows[2], vec![1, 1, 0, 0, 1, 0], "0201: one person, sgb2 0, aged 10");
    assert_eq!(rows[3][0], 2, "0202: two persons");
    assert_eq!(rows[3][5], 1, "0202: one aged 65 or older; the unusable age is not grouped");
    assert!(rows[0][0] >= 2, "0101: two interior points (plus perhaps the border point)");
    // Stored as counts, summed up the hierarchy.
    env.run(&[
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
        "--year",
        "2024",
        "--store",
    ])
    .ok();
    let st = json(&env.run(&["data", "show", "--variable", "n", "--level", "Stadtteil", "--year", "2024", "--format", "json"]).ok());
    let total: f64 = st.as_array().unwrap().iter().map(|r| r["value"].as_f64().unwrap()).sum();
    assert_eq!(total, 6.0);
}

#[test]
fn swapped_coordinates_and_wrong_crs_are_explained() {
    let env = Env::new();
    env.musterstadt();
    let f = env.write("vertauscht.csv", "x;y\n5706000;370500\n5705500;373500\n");
    let out = env.path("o.csv");
    let err = env
        .run(&[
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
            "--out",
            out.to_str().unwrap(),
        ])
        .fails();
    assert!(err.contains("alle 2 verwertbaren Punkte liegen außerhalb") && err.contains("vertauscht"), "{err}");
    let g = env.write("wgs.csv", "x;y\n370500;5706000\n");
    let err = env
        .run(&[
            "aggregate",
            g.to_str().unwrap(),
            "--x",
            "x",
            "--y",
            "y",
            "--crs",
            "EPSG:4326",
            "--level",
            "Sozialraum",
            "--out",
            out.to_str().unwrap(),
        ])
        .fails();
    assert!(err.contains("Stimmt --crs?") || err.contains("EPSG:4326"), "{err}");
    let err = env
        .run(&[
            "aggregate",
            g.to_str().unwrap(),
            "--x",
            "lon",
            "--y",
            "y",
            "--crs",
            "EPSG:25832",
            "--level",
            "Sozialraum",
            "--out",
            out.to_str().unwrap(),
        ])
        .fails();
    assert!(err.contains("Spalte „lon“ fehlt; vorhanden: x, y"), "{err}");
}

/// A file large enough to be read in parallel byte ranges: counts equal a brute-force count
/// of the same points, and reported line numbers are those of the whole file.
#[test]
fn large_file_in_parallel_ranges_counts_exactly_and_keeps_line_numbers() {
    let env = Env::new();
    env.musterstadt();
    let mut s = String::from("x,y,sgb2\n");
    let mut expected = [[0u64; 2]; 4];
    let mut state = 99u64;
    let n = 60_000;
    for i in 0..n {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let x = X0 + 1.0 + (state >> 33) as f64 % 3998.0 + 0.25;
        let y = Y0 + 1.0 + (state >> 13 & 0xfffff) as f64 % 1998.0 + 0.5;
        let g = (i % 7 == 0) as usize;
        expected[((x - X0) / 1000.0) as usize][g] += 1;
        s.push_str(&format!("{x:.2},{y:.2},{g}\n"));
    }
    // Two records far outside, late in the file (in the second range).
    s.push_str("400000.00,5706000.00,0\n1.0,2.0,0\n");
    assert!(s.len() > 1 << 20, "large enough to be split: {}", s.len());
    let f = env.write("viele.csv", &s);
    let out = env.path("z.csv");
    let stdout = env
        .run(&[
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
            "--out",
            out.to_str().unwrap(),
        ])
        .ok();
    let last = n + 2; // header line 1, records from line 2
    assert!(stdout.contains(&format!("2 außerhalb aller Gebiete (z. B. Zeilen [{}, {}])", last, last + 1)), "{stdout}");
    let csv = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<u64>> = csv.lines().skip(1).map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect()).collect();
    for (a, e) in expected.iter().enumerate() {
        assert_eq!(rows[a], vec![e[0] + e[1], e[0], e[1]], "Sozialraum {a}");
    }
}
