//! `quartier spatial`: Moran's I and LISA against PySAL esda (fixtures/city60/README.md).

use crate::support::*;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/city60").join(name)
}

fn city60() -> Env {
    let env = Env::new();
    env.run(&["levels", "define", "Gebiet"]).ok();
    env.run(&["import", "areas", fixture("areas.geojson").to_str().unwrap(), "--level", "Gebiet", "--id-field", "area_id"]).ok();
    env.run(&["import", "data", fixture("counts-2024.csv").to_str().unwrap()]).ok();
    let cat = env.write("k.toml", "[[indicator]]\nid = \"cp\"\nname = \"Kinderarmut\"\nformula = \"100 * children_u15_sgb2 / children_u15\"\ndirection = \"higher_is_worse\"\n");
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    env
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-300), "{what}: {a} vs esda {b}");
}

#[test]
fn moran_and_lisa_equal_esda() {
    let env = city60();
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("esda-reference.json")).unwrap()).unwrap();
    let base = ["spatial", "moran", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--weights", "queen"];
    let m = json(&env.run(&[&base[..], &["--permutations", "0"]].concat()).ok());
    for k in ["I", "EI", "VI_norm", "seI_norm", "z_norm", "p_norm", "VI_rand", "seI_rand", "z_rand", "p_rand"] {
        close(m[k].as_f64().unwrap(), reference["moran"][k].as_f64().unwrap(), k);
    }
    assert_eq!(m["n"], 60);
    // Permutations: within Monte-Carlo error of esda (999 runs), reproducible by seed.
    let p = json(&env.run(&[&base[..], &["--permutations", "999", "--seed", "5"]].concat()).ok());
    assert_eq!(p["p_sim"].as_f64(), Some(0.001), "I far in the tail: no permutation reaches it");
    assert!((p["EI_sim"].as_f64().unwrap() - reference["moran_perm"]["EI_sim"].as_f64().unwrap()).abs() < 0.02);
    assert!((p["seI_sim"].as_f64().unwrap() / reference["moran_perm"]["seI_sim"].as_f64().unwrap() - 1.0).abs() < 0.1);
    assert_eq!(
        env.run(&[&base[..], &["--permutations", "99", "--seed", "5"]].concat()).ok(),
        env.run(&[&base[..], &["--permutations", "99", "--seed", "5"]].concat()).ok()
    );
    // LISA: Is and quadrants equal esda's.
    let l = json(
        &env.run(&["spatial", "lisa", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--permutations", "199", "--seed", "3"])
            .ok(),
    );
    let got: std::collections::HashMap<String, (f64, u64, String)> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["area_id"].as_str().unwrap().to_string(),
                (r["Is"].as_f64().unwrap(), r["q"].as_u64().unwrap(), r["cluster"].as_str().unwrap().to_string()),
            )
        })
        .collect();
    for r in reference["local"].as_array().unwrap() {
        let (is, q, cluster) = &got[r["area_id"].as_str().unwrap()];
        close(*is, r["Is"].as_f64().unwrap(), "Is");
        assert_eq!(*q, r["q"].as_u64().unwrap(), "quadrant of {}", r["area_id"]);
        assert!(["HH", "LH", "LL", "HL", "ns"].contains(&cluster.as_str()));
    }
    assert!(got.values().any(|x| x.2 == "HH") && got.values().any(|x| x.2 == "ns"));
    let csv = env
        .run(&["spatial", "lisa", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--permutations", "0", "--format", "csv"])
        .ok();
    assert!(csv.starts_with("area_id,Is,q,p_sim,z_sim,p_z_sim,cluster\n"), "{csv}");
}

#[test]
fn spatial_bad_input() {
    let env = city60();
    let err = env.run(&["spatial", "moran", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--weights", "knn:0"]).fails();
    assert!(err.contains("K muss zwischen 1 und 59 liegen"), "{err}");
    let err = env.run(&["spatial", "moran", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--weights", "hexagon"]).fails();
    assert!(err.contains("queen, rook, knn:K, distance:METER"), "{err}");
    let c = env.write(
        "c.toml",
        "[[indicator]]\nid = \"flat\"\nname = \"Konstant\"\nformula = \"if(children_u15 > 0, 5, 5)\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", c.to_str().unwrap()]).ok();
    let err = env.run(&["spatial", "lisa", "--indicator", "flat", "--year", "2024", "--level", "Gebiet"]).fails();
    assert!(err.contains("Varianz 0"), "{err}");
    // A distance band too short for any neighbour: islands are reported, Moran refuses.
    let run = env.run(&["spatial", "moran", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--weights", "distance:1"]);
    let err = run.fails();
    assert!(run.stderr().contains("ohne Nachbarn (Inseln)") && err.contains("kein Gebiet hat Nachbarn"), "{err}");
    // knn and distance weights work on metric coordinates.
    let k = json(
        &env.run(&[
            "spatial",
            "moran",
            "--indicator",
            "cp",
            "--year",
            "2024",
            "--level",
            "Gebiet",
            "--weights",
            "knn:4",
            "--permutations",
            "0",
        ])
        .ok(),
    );
    assert!(k["I"].as_f64().unwrap() > 0.2, "{k}");
}

#[test]
fn getis_ord_equals_esda() {
    let env = city60();
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("esda-reference.json")).unwrap()).unwrap();
    for (star, key) in [(false, "g"), (true, "g_star")] {
        let mut args = vec![
            "spatial",
            "getis-ord",
            "--indicator",
            "cp",
            "--year",
            "2024",
            "--level",
            "Gebiet",
            "--permutations",
            "99",
            "--seed",
            "2",
            "--format",
            "json",
        ];
        if star {
            args.push("--star");
        }
        let out = json(&env.run(&args).ok());
        let got: std::collections::HashMap<&str, &serde_json::Value> =
            out.as_array().unwrap().iter().map(|r| (r["area_id"].as_str().unwrap(), r)).collect();
        for r in reference[key].as_array().unwrap() {
            let g = got[r["area_id"].as_str().unwrap()];
            for f in ["Gs", "EGs", "VGs", "Zs", "p_norm"] {
                close(g[f].as_f64().unwrap(), r[f].as_f64().unwrap(), &format!("{key} {f} {}", r["area_id"]));
            }
            assert!((0.0..=1.0).contains(&g["p_sim"].as_f64().unwrap()));
        }
    }
    let csv = env
        .run(&[
            "spatial",
            "getis-ord",
            "--indicator",
            "cp",
            "--year",
            "2024",
            "--level",
            "Gebiet",
            "--permutations",
            "0",
            "--format",
            "csv",
        ])
        .ok();
    assert!(csv.starts_with("area_id,Gs,EGs,VGs,Zs,p_norm,p_sim\n"), "{csv}");
}

#[test]
fn weights_export_and_import_round_trip() {
    let env = city60();
    let gal = env.path("queen.gal");
    let out = env.run(&["spatial", "weights", "--level", "Gebiet", "--weights", "queen", "--out", gal.to_str().unwrap()]).ok();
    assert!(out.contains("60 Gebiete, 316 Nachbarschaftspaare, 0 ohne Nachbarn"), "{out}");
    let text = std::fs::read_to_string(&gal).unwrap();
    assert!(text.starts_with("0 60 quartier area_id\n"), "{text}");
    // The same Moran's I from the file as from the geometries.
    let base = ["spatial", "moran", "--indicator", "cp", "--year", "2024", "--level", "Gebiet", "--permutations", "0"];
    let from_geom = json(&env.run(&base).ok());
    let from_file = json(&env.run(&[&base[..], &["--weights-file", gal.to_str().unwrap()]].concat()).ok());
    assert_eq!(from_geom["I"], from_file["I"]);
    let gwt = env.path("queen.gwt");
    env.run(&["spatial", "weights", "--level", "Gebiet", "--out", gwt.to_str().unwrap(), "--transform", "r"]).ok();
    let from_gwt = json(&env.run(&[&base[..], &["--weights-file", gwt.to_str().unwrap(), "--transform", "b"]].concat()).ok());
    assert!((from_gwt["I"].as_f64().unwrap() - from_geom["I"].as_f64().unwrap()).abs() < 1e-12);
    // A file naming an unknown area is refused with the line.
    let bad = env.write("bad.gal", "0 1 x id\nZ99999 1\nA00001\n");
    let err = env.run(&[&base[..], &["--weights-file", bad.to_str().unwrap()]].concat()).fails();
    assert!(err.contains("bad.gal: Zeile 2: Gebiet „Z99999“ gibt es auf dieser Ebene nicht"), "{err}");
}
