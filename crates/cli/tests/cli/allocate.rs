//! `quartier allocate`: needs-based distribution beside the watering can.

use crate::support::*;

fn city() -> Env {
    let env = Env::new();
    env.musterstadt();
    let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;kinder;100\n0102;2024;kinder;300\n0201;2024;kinder;200\n0202;2024;kinder;400\n\
                0101;2024;kinder_sgb2;10\n0102;2024;kinder_sgb2;120\n0201;2024;kinder_sgb2;50\n0202;2024;kinder_sgb2;40\n";
    let f = env.write("daten.csv", data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    env
}

#[test]
fn need_times_group_with_threshold_and_bounds_sums_to_the_budget() {
    let env = city();
    // Kinderarmut: 10 %, 40 %, 25 %, 10 %; weights with the children: 0101 and 0202 below 20 %.
    let out = env
        .run(&[
            "allocate",
            "--level",
            "Sozialraum",
            "--budget",
            "100000",
            "--need",
            "indicator:kinderarmut",
            "--group",
            "kinder",
            "--threshold",
            "20",
            "--format",
            "json",
        ])
        .ok();
    let rows = json(&out);
    let get = |k: &str| rows.as_array().unwrap().iter().find(|r| r["area_id"] == k).unwrap().clone();
    // 0102: 40 × 300 = 12,000; 0201: 25 × 200 = 5,000 → 70,588.24 and 29,411.76.
    assert_eq!((get("0102")["allocation"].as_u64(), get("0201")["allocation"].as_u64()), (Some(70588), Some(29412)));
    assert_eq!(get("0101")["allocation"], 0);
    assert_eq!(get("0101")["reason"], "unter der Schwelle 20");
    // The watering can by children: 100/1000 of the budget for 0101.
    assert_eq!(get("0101")["per_capita"], 10000);
    let total: u64 = rows.as_array().unwrap().iter().map(|r| r["allocation"].as_u64().unwrap()).sum();
    assert_eq!(total, 100000);
    // Bounds: at most 60,000 per area; the rest goes to the other eligible area.
    let xlsx = env.path("verteilung.xlsx");
    let out = env
        .run(&[
            "allocate",
            "--level",
            "Sozialraum",
            "--budget",
            "100000",
            "--need",
            "indicator:kinderarmut",
            "--group",
            "kinder",
            "--threshold",
            "20",
            "--max",
            "60000",
            "--xlsx",
            xlsx.to_str().unwrap(),
        ])
        .ok();
    assert!(
        out.contains("Verteilt werden 100.000 € auf 2 von 4 Gebieten")
            && out.contains("höchstens 60.000 €")
            && out.contains("Hare–Niemeyer"),
        "{out}"
    );
    assert!(out.contains("60000") && out.contains("40000"), "{out}");
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let sheet = wb.worksheet_range("Verteilung").unwrap();
    let sum = sheet.rows().find(|r| r[1] == Data::String("Summe".into())).unwrap();
    assert_eq!(sum[6], Data::Float(100000.0));
    assert!(wb.worksheet_range("Formel").is_ok());
}

#[test]
fn impossible_or_unknown_requests_are_refused() {
    let env = city();
    let base = ["allocate", "--level", "Sozialraum", "--budget", "1000"];
    let err = env.run(&[&base[..], &["--need", "indicator:kinderarmut", "--min", "600"]].concat()).fails();
    assert!(err.contains("Mindestbetrag 600 €") && err.contains("übersteigen das Budget"), "{err}");
    let err = env.run(&[&base[..], &["--need", "indicator:gibtsnicht"]].concat()).fails();
    assert!(err.contains("Indikator „gibtsnicht“ gibt es nicht"), "{err}");
    let err = env.run(&[&base[..], &["--need", "indicator:kinderarmut", "--group", "gibtsnicht"]].concat()).fails();
    assert!(err.contains("Merkmal „gibtsnicht“ gibt es nicht"), "{err}");
    let err = env.run(&[&base[..], &["--need", "index:mss"]].concat()).fails();
    assert!(err.contains("--factors"), "{err}");
    let err = env.run(&[&base[..], &["--need", "quatsch"]].concat()).fails();
    assert!(err.contains("indicator:ID, index:ID"), "{err}");
    let err = env.run(&[&base[..], &["--need", "indicator:kinderarmut", "--threshold", "99"]].concat()).fails();
    assert!(err.contains("kein Gebiet erfüllt die Bedingungen"), "{err}");
    let err = env.run(&["allocate", "--level", "Sozialraum", "--budget", "0", "--need", "indicator:kinderarmut"]).fails();
    assert!(err.contains("mehr als 0 €"), "{err}");
}
