//! `quartier offers`, `supply`, `gaps`: the offer directory and need against supply.

use crate::support::*;

/// Musterstadt with children per Sozialraum, child poverty, and two offers for children:
/// a Kita in 0101 (40 places) and a family centre in 0202 (10 places) — none in 0102/0201.
fn city_with_offers() -> Env {
    let env = Env::new();
    env.musterstadt();
    let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;kinder;200\n0102;2024;kinder;300\n0201;2024;kinder;100\n0202;2024;kinder;400\n\
                0101;2024;kinder_sgb2;20\n0102;2024;kinder_sgb2;150\n0201;2024;kinder_sgb2;10\n0202;2024;kinder_sgb2;100\n";
    let f = env.write("daten.csv", data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let dir = env.path("angebote");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("organizations.csv"),
        "id,name,maintainer,last_confirmed\nawo,AWO Musterstadt,Frau Beispiel,2026-01-10\nstadt,Stadt Musterstadt,Jugendamt,2020-05-01\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("services.csv"),
        "id,organization_id,name,target_groups,capacity,languages,valid_from,valid_to,last_confirmed\n\
         kita,awo,Kita Sonnenschein,Kinder|Familien,40,deutsch|türkisch,2020-01-01,,2026-02-01\n\
         fz,stadt,Familienzentrum Mitte,Kinder;Eltern,10,deutsch,,,\n\
         senioren,stadt,Seniorentreff,Ältere,25,deutsch,,,2026-01-01\n",
    )
    .unwrap();
    // x/y in EPSG:25832: the Kita in 0101 (the west), the centre in 0202 (the east).
    std::fs::write(
        dir.join("locations.csv"),
        format!(
            "id,organization_id,name,address,x,y\nl1,awo,Kita Sonnenschein,Marktstraße 1,{},{}\nl2,stadt,Rathaus,Am Markt 2,{},{}\n",
            X0 + 500.0,
            Y0 + 1000.0,
            X0 + 3500.0,
            Y0 + 1000.0
        ),
    )
    .unwrap();
    std::fs::write(dir.join("service_at_location.csv"), "service_id,location_id\nkita,l1\nfz,l2\nsenioren,l2\n").unwrap();
    let out = env.run(&["offers", "import", dir.to_str().unwrap(), "--crs", "EPSG:25832"]).ok();
    assert!(out.contains("2 Träger, 3 Angebote, 2 Standorte, 3 Verknüpfungen gespeichert"), "{out}");
    env
}

#[test]
fn directory_lists_areas_and_stale_entries_and_round_trips() {
    let env = city_with_offers();
    let list = json(&env.run(&["offers", "list", "--level", "Sozialraum", "--date", "2026-11-26", "--format", "json"]).ok());
    let by = |id: &str| list.as_array().unwrap().iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(by("kita")["areas"][0], "0101");
    assert_eq!(by("fz")["areas"][0], "0202");
    assert_eq!(by("kita")["stale"], false);
    assert_eq!(by("fz")["stale"], true, "not confirmed since 2020 (the organisation's date)");
    // Export and import again: the same directory.
    let out = env.path("export");
    env.run(&["offers", "export", out.to_str().unwrap()]).ok();
    let services = std::fs::read_to_string(out.join("services.csv")).unwrap();
    assert!(services.contains("kita,awo,Kita Sonnenschein,,Kinder|Familien,,40,"), "{services}");
    let json_out = env.path("offers.json");
    env.run(&["offers", "export", json_out.to_str().unwrap()]).ok();
    let before = std::fs::read_to_string(&json_out).unwrap();
    env.run(&["offers", "import", out.to_str().unwrap()]).ok();
    env.run(&["offers", "export", json_out.to_str().unwrap()]).ok();
    assert_eq!(before, std::fs::read_to_string(&json_out).unwrap());
}

#[test]
fn locations_outside_and_likely_duplicates() {
    let env = city_with_offers();
    let dir = env.path("neu");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("organizations.csv"), "id,name\nawo2,AWO Musterstadt e. V.\nneu,Nachbarschaftshilfe\n").unwrap();
    std::fs::write(dir.join("services.csv"), "id,organization_id,name\ncafe,awo2,Elterncafé\n").unwrap();
    // l9 at the Kita's address; weit far outside Musterstadt.
    std::fs::write(
        dir.join("locations.csv"),
        format!(
            "id,name,address,x,y\nl9,Kita-Nebengebäude,Marktstraße 1,{},{}\nweit,Außenstelle,Feldweg 9,{},{}\n",
            X0 + 600.0,
            Y0 + 1000.0,
            X0 + 90_000.0,
            Y0
        ),
    )
    .unwrap();
    std::fs::write(dir.join("service_at_location.csv"), "service_id,location_id\ncafe,l9\n").unwrap();
    let args = ["offers", "import", dir.to_str().unwrap(), "--crs", "EPSG:25832"];
    let err = env.fails_unchanged(&args);
    assert!(err.contains("1 Standorte liegen außerhalb aller Gebiete: weit („Außenstelle“)") && err.contains("--allow-outside"), "{err}");
    let out = env.run(&[&args[..], &["--allow-outside", "--dry-run"]].concat()).ok();
    assert!(out.contains("Träger „AWO Musterstadt e. V.“ (Kennung awo2) ähnelt dem vorhandenen „AWO Musterstadt“ (Kennung awo)"), "{out}");
    assert!(
        out.contains("Standort „Kita-Nebengebäude“ (Kennung l9) hat dieselbe Adresse wie der vorhandene „Kita Sonnenschein“ (Kennung l1)"),
        "{out}"
    );
    assert!(out.contains("Standort weit („Außenstelle“) liegt außerhalb aller Gebiete"), "{out}");
    assert!(!out.contains("Nachbarschaftshilfe"), "a new name is no duplicate: {out}");
}

#[test]
fn supply_and_gaps_per_area() {
    let env = city_with_offers();
    let s = json(
        &env.run(&[
            "supply",
            "--level",
            "Sozialraum",
            "--target-group",
            "kinder",
            "--group-variable",
            "kinder",
            "--distance",
            "600,1600",
            "--format",
            "json",
        ])
        .ok(),
    );
    let by = |k: &str| s.as_array().unwrap().iter().find(|r| r["area_id"] == k).unwrap().clone();
    assert_eq!(by("0101")["offers"], 1);
    assert_eq!(by("0101")["capacity_per_1000"], 200.0, "40 places for 200 children");
    assert_eq!(by("0102")["offers"], 0);
    // Centre points at x+500: 0102's centre is 1 km from the Kita, 0201's 1 km from the centre.
    assert_eq!(by("0101")["reach"][0], 100.0);
    assert_eq!(by("0102")["reach"][0], 0.0);
    assert_eq!(by("0102")["reach"][1], 100.0);
    // Stadtteil level: shares weighted by the children of its Sozialräume.
    let st = json(
        &env.run(&[
            "supply",
            "--level",
            "Stadtteil",
            "--target-group",
            "Kinder",
            "--group-variable",
            "kinder",
            "--distance",
            "600",
            "--format",
            "json",
        ])
        .ok(),
    );
    let s01 = st.as_array().unwrap().iter().find(|r| r["area_id"] == "01").unwrap();
    assert_eq!(s01["reach"][0], 40.0, "200 of 500 children");
    // With weighted points (e.g. Zensus grid cells): 0102 has 30 children 550 m from the Kita and
    // 70 children 1.4 km away; 0101 has 10 children 900 m away; one point lies outside the city.
    let points = env.write(
        "gitter.csv",
        format!(
            "x;y;kinder\n{};{};30\n{};{};70\n{};{};10\n{};{};5\n",
            X0 + 1050.0,
            Y0 + 1000.0,
            X0 + 1900.0,
            Y0 + 1000.0,
            X0 + 500.0,
            Y0 + 1900.0,
            X0 + 9000.0,
            Y0 + 1000.0
        ),
    );
    let args = |file: &str, crs: &str, weight: &str| {
        env.run(&[
            "supply",
            "--level",
            "Sozialraum",
            "--target-group",
            "Kinder",
            "--group-variable",
            "kinder",
            "--distance",
            "600,1600",
            "--points",
            file,
            "--x",
            "x",
            "--y",
            "y",
            "--crs",
            crs,
            "--weight",
            weight,
            "--format",
            "json",
        ])
    };
    let p = json(&args(points.to_str().unwrap(), "EPSG:25832", "kinder").ok());
    let by = |k: &str| p.as_array().unwrap().iter().find(|r| r["area_id"] == k).unwrap().clone();
    assert_eq!((by("0102")["reach"][0].as_f64(), by("0102")["reach"][1].as_f64()), (Some(30.0), Some(100.0)));
    assert_eq!((by("0101")["reach"][0].as_f64(), by("0101")["reach"][1].as_f64()), (Some(0.0), Some(100.0)));
    assert!(by("0201")["reach"][0].is_null(), "no points, no share");
    let table = env
        .run(&[
            "supply",
            "--level",
            "Sozialraum",
            "--group-variable",
            "kinder",
            "--points",
            points.to_str().unwrap(),
            "--x",
            "x",
            "--y",
            "y",
            "--crs",
            "EPSG:25832",
        ])
        .ok();
    assert!(table.contains("aus 3 gewichteten Punkten (gitter.csv), 1 Punkte außerhalb"), "{table}");
    // Bad points: each error names file, line and column; wrong CRS is caught.
    let bad = |name: &str, text: &str, crs: &str, weight: &str, expected: &str| {
        let f = env.write(name, text);
        let err = args(f.to_str().unwrap(), crs, weight).fails();
        assert!(err.contains(expected), "{name}: {err}");
    };
    bad("a.csv", "x;y;kinder\n1;2;3\n", "EPSG:25832", "personen", "a.csv: Spalte „personen“ fehlt");
    bad(
        "b.csv",
        &format!("x;y;kinder\n{X0};{Y0};3\n{X0};abc;3\n"),
        "EPSG:25832",
        "kinder",
        "b.csv: Zeile 3, Spalte „y“: „abc“ ist keine Zahl",
    );
    bad("c.csv", &format!("x;y;kinder\n{X0};{Y0};-3\n"), "EPSG:25832", "kinder", "c.csv: Zeile 2, Spalte „kinder“: negative Anzahl");
    bad("d.csv", "x;y;kinder\n7.1;51.5;3\n", "EPSG:25832", "kinder", "keiner der 1 Punkte liegt in einem Gebiet");
    bad("e.csv", "x;y;kinder\n", "EPSG:25832", "kinder", "e.csv: keine Punkte");
    bad(
        "f.csv",
        &format!("x;y;kinder\n{X0};{Y0};•\n"),
        "EPSG:25832",
        "kinder",
        "f.csv: keine Punkte mit Anzahl (1 nur mit amtlichem Zeichen)",
    );
    // Grid cells withheld with an official symbol are left out and counted; "–" is 0.
    let symbols = env.write(
        "zensus.csv",
        format!("x;y;kinder\n{};{};30\n{};{};•\n{};{};–\n", X0 + 1050.0, Y0 + 1000.0, X0 + 1900.0, Y0 + 1000.0, X0 + 1500.0, Y0 + 1000.0),
    );
    let p = json(&args(symbols.to_str().unwrap(), "EPSG:25832", "kinder").ok());
    let row = p.as_array().unwrap().iter().find(|r| r["area_id"] == "0102").unwrap().clone();
    assert_eq!(row["reach"][0].as_f64(), Some(100.0), "only the 30 children count");
    let table = env
        .run(&[
            "supply",
            "--level",
            "Sozialraum",
            "--group-variable",
            "kinder",
            "--points",
            symbols.to_str().unwrap(),
            "--x",
            "x",
            "--y",
            "y",
            "--crs",
            "EPSG:25832",
            "--weight",
            "kinder",
        ])
        .ok();
    assert!(table.contains("1 Punkte ohne Anzahl (amtliches Zeichen) ausgelassen"), "{table}");
    // Gaps: child poverty 10 %, 50 %, 10 %, 25 % (median 17.5); supply 200, 0, 0, 25 places
    // per 1,000 children (median 12.5): only 0102 has high need and low supply.
    let g = json(
        &env.run(&[
            "gaps",
            "--level",
            "Sozialraum",
            "--need",
            "kinderarmut",
            "--target-group",
            "Kinder",
            "--group-variable",
            "kinder",
            "--format",
            "json",
        ])
        .ok(),
    );
    let gap: Vec<&str> = g.as_array().unwrap().iter().filter(|r| r["gap"] == true).map(|r| r["area_id"].as_str().unwrap()).collect();
    assert_eq!(gap, ["0102"]);
    let q = |k: &str| g.as_array().unwrap().iter().find(|r| r["area_id"] == k).unwrap()["quadrant"].clone();
    assert_eq!(q("0202"), "hoher Bedarf, gute Versorgung");
    let table = env
        .run(&[
            "gaps",
            "--level",
            "Sozialraum",
            "--need",
            "kinderarmut",
            "--target-group",
            "Kinder",
            "--group-variable",
            "kinder",
            "--only-gaps",
        ])
        .ok();
    assert!(table.contains("hoher Bedarf, geringe Versorgung") && !table.contains("0101"), "{table}");
}

#[test]
fn broken_directories_are_refused_and_change_nothing() {
    let env = city_with_offers();
    let dir = env.path("kaputt");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("organizations.csv"), "id,name\nx,X\nx,Doppelt\n").unwrap();
    std::fs::write(
        dir.join("services.csv"),
        "id,organization_id,name,capacity,valid_from,valid_to\ns,gibtsnicht,S,-3,2025-01-01,2024-01-01\nt,x,T,viel,,\n",
    )
    .unwrap();
    std::fs::write(dir.join("locations.csv"), "id,name,latitude,longitude\nl,L,5700000,370000\n").unwrap();
    let err = env.fails_unchanged(&["offers", "import", dir.to_str().unwrap()]);
    for needle in [
        "Kennung „x“ doppelt",
        "Kapazität -3 ist negativ",
        "gültig bis 2024-01-01 liegt vor gültig ab 2025-01-01",
        "services.csv: Zeile 3, Feld „capacity“: „viel“ ist keine Zahl",
        "nicht im WGS84-Bereich",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // References to entries that exist nowhere.
    std::fs::write(dir.join("organizations.csv"), "id,name\nx,X\n").unwrap();
    std::fs::write(dir.join("services.csv"), "id,organization_id,name\ns,gibtsnicht,S\n").unwrap();
    std::fs::write(dir.join("locations.csv"), "id,name,latitude,longitude\nl,L,51.5,7.2\n").unwrap();
    std::fs::write(dir.join("service_at_location.csv"), "service_id,location_id\ns,l\nkita,fehlt\n").unwrap();
    let err = env.fails_unchanged(&["offers", "import", dir.to_str().unwrap()]);
    assert!(err.contains("Angebot „s“: Träger „gibtsnicht“ gibt es nicht") && err.contains("Standort „fehlt“ gibt es nicht"), "{err}");
    let empty = env.path("leer");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(env.fails_unchanged(&["offers", "import", empty.to_str().unwrap()]).contains("organizations.csv fehlt"));
}

#[test]
fn conferences_and_measures_with_monitoring_and_optimistic_locking() {
    let env = city_with_offers();
    // Earlier years: 0102's child poverty rose before the measure, falls after its start (2024).
    let earlier = "Gebiet;Jahr;Merkmal;Wert\n0101;2022;kinder;200\n0102;2022;kinder;300\n0201;2022;kinder;100\n0202;2022;kinder;400\n\
                   0101;2022;kinder_sgb2;20\n0102;2022;kinder_sgb2;120\n0201;2022;kinder_sgb2;10\n0202;2022;kinder_sgb2;100\n\
                   0101;2023;kinder;200\n0102;2023;kinder;300\n0201;2023;kinder;100\n0202;2023;kinder;400\n\
                   0101;2023;kinder_sgb2;20\n0102;2023;kinder_sgb2;165\n0201;2023;kinder_sgb2;10\n0202;2023;kinder_sgb2;100\n\
                   0101;2025;kinder;200\n0102;2025;kinder;300\n0201;2025;kinder;100\n0202;2025;kinder;400\n\
                   0101;2025;kinder_sgb2;20\n0102;2025;kinder_sgb2;120\n0201;2025;kinder_sgb2;10\n0202;2025;kinder_sgb2;100\n";
    let f = env.write("frueher.csv", earlier);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let conf = env.write(
        "konferenz.toml",
        "level = \"Sozialraum\"\narea = \"0102\"\ndate = \"2024-03-12\"\nmatches = \"partly\"\nmatches_note = \"Neubau verschiebt die Lage\"\n\
         target_groups = [\"Alleinerziehende\"]\nexisting_offers = [\"kita\"]\nmissing = \"Familienberatung\"\n\
         contributions = [{ organization = \"AWO\", commitment = \"Beratung zweimal wöchentlich\" }]\nparticipants = [\"Jugendamt\", \"AWO\"]\npotentials = \"Nachbarschaftsinitiative\"\n",
    );
    let out = env.run(&["conference", "add", conf.to_str().unwrap()]).ok();
    assert!(out.contains("Konferenz 1 (Sozialraum 0102, 2024-03-12) gespeichert, Version 1"), "{out}");
    let list = env.run(&["conference", "list", "--level", "Sozialraum", "--area", "0102"]).ok();
    assert!(list.contains("teilweise") && list.contains("AWO: Beratung zweimal wöchentlich"), "{list}");
    let measure = env.write(
        "massnahme.toml",
        "title = \"Familienberatung im Südwall\"\nlevel = \"Sozialraum\"\nareas = [\"0102\"]\nlead = \"AWO\"\nbudget = 45000\nstart = 2024\nstatus = \"laufend\"\nindicators = [\"kinderarmut\"]\nconference = 1\n",
    );
    env.run(&["measure", "add", measure.to_str().unwrap()]).ok();
    let out = env.run(&["measure", "monitor", "1"]).ok();
    // Child poverty in 0102: 40 %, 55 % before; 50 %, 40 % from 2024: the distance to the
    // reference grew before and shrinks since.
    assert!(
        out.contains("Kinderarmut: vor dem Start (2024) der Abstand zum Durchschnitt wuchs um") && out.contains("seitdem sank um"),
        "{out}"
    );
    // Optimistic locking: saving with the version read earlier after someone else saved.
    let v1 = env.write("v1.toml", format!("id = 1\nversion = 1\n{}", std::fs::read_to_string(&measure).unwrap()));
    env.run(&["measure", "add", v1.to_str().unwrap()]).ok();
    let err = env.fails_unchanged(&["measure", "add", v1.to_str().unwrap()]);
    assert!(err.contains("Die Maßnahme 1 wurde inzwischen geändert (Version 2"), "{err}");
    // The area profile shows them; the public view only the offers.
    let server = crate::demo::serve_with(&env, &[]);
    let (_, page) = crate::demo::get(&server.addr, "/gebiet/0102?ebene=Sozialraum");
    assert!(
        page.contains("Konferenzen (1)") && page.contains("Familienberatung im Südwall") && page.contains("Nachbarschaftsinitiative"),
        "{page}"
    );
    let (_, page) = crate::demo::get(&server.addr, "/gebiet/0101?ebene=Sozialraum");
    assert!(page.contains("Angebote im Gebiet (1)") && page.contains("Kita Sonnenschein"), "{page}");
    drop(server);
    let public = crate::demo::serve_with(&env, &["--public"]);
    let (_, page) = crate::demo::get(&public.addr, "/gebiet/0102?ebene=Sozialraum");
    assert!(!page.contains("Familienberatung im Südwall") && !page.contains("Konferenzen ("), "internal records stay internal");
    drop(public);
    // Every change is in the audit log, with old and new value.
    let audit = json(&env.run(&["user", "audit", "--format", "json"]).ok());
    let saved: Vec<&serde_json::Value> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "Maßnahme gespeichert").collect();
    assert_eq!(saved.len(), 2, "added, then changed");
    assert!(
        saved[0]["old"].as_str().is_some_and(|o| o.contains("\"version\":1"))
            && saved[0]["new"].as_str().is_some_and(|n| n.contains("\"version\":2"))
    );
    assert!(
        audit.as_array().unwrap().iter().any(|e| e["action"] == "Konferenz gespeichert")
            && audit.as_array().unwrap().iter().any(|e| e["action"] == "Angebote importiert")
    );
    // The funding application sheet: the situation in words, offers, gap, the conference.
    let def = env.write(
        "bericht.toml",
        "title = \"Sozialbericht Musterstadt\"\nmunicipality = \"Musterstadt\"\nedition = \"2025\"\nlevel = \"Sozialraum\"\nsince = 2022\n[[chapter]]\ntitle = \"Armut\"\nindicators = [\"kinderarmut\"]\n",
    );
    let html = env.path("ausgangslage.html");
    let args = ["funding-sheet", "--definition", def.to_str().unwrap(), "--area", "0102", "--out", html.to_str().unwrap()];
    env.run(&[&args[..], &["--need", "kinderarmut", "--target-group", "Kinder", "--group-variable", "kinder"]].concat()).ok();
    let sheet = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "Ausgangslage: Südwall (0102)",
        "Kinderarmut beträgt 2025 in Südwall 40,0 %",
        "seit 2022 unverändert",
        "Südwall liegt im Feld „hoher Bedarf, geringe Versorgung“",
        "bestätigt die Datenlage teilweise (Neubau verschiebt die Lage)",
        "Es fehlt: Familienberatung.",
        "Beitragen können: AWO (Beratung zweimal wöchentlich)",
    ] {
        assert!(sheet.contains(needle), "{needle}: {sheet}");
    }
    let pdf = env.path("ausgangslage.pdf");
    env.run(&["funding-sheet", "--definition", def.to_str().unwrap(), "--area", "0102", "--format", "pdf", "--out", pdf.to_str().unwrap()])
        .ok();
    assert!(std::fs::read(&pdf).unwrap().starts_with(b"%PDF"));
    // Bad records.
    let bad = env.write("bad.toml", "level = \"Sozialraum\"\narea = \"9999\"\ndate = \"2024-03-12\"\nmatches = \"agree\"\n");
    assert!(
        env.fails_unchanged(&["conference", "add", bad.to_str().unwrap()]).contains("Gebiet „9999“ gibt es auf Ebene „Sozialraum“ nicht")
    );
    let bad = env.write("bad2.toml", "level = \"Sozialraum\"\narea = \"0101\"\ndate = \"12.3.2024\"\nmatches = \"vielleicht\"\n");
    assert!(env.fails_unchanged(&["conference", "add", bad.to_str().unwrap()]).contains("vielleicht"));
    let bad = env.write(
        "bad3.toml",
        "title = \"X\"\nlevel = \"Sozialraum\"\nareas = [\"0101\"]\nstart = 2025\nend = 2020\nindicators = [\"gibtsnicht\"]\n",
    );
    assert!(env.fails_unchanged(&["measure", "add", bad.to_str().unwrap()]).contains("end 2020 liegt vor start 2025"));
}

/// The whole chain through `--database postgres://…`: areas, data, indicators, offers, supply,
/// allocation, a report, a refused import that changes nothing, accounts; backups point to
/// pg_dump. Runs when `QUARTIER_TEST_POSTGRES` names a test server (as in `.ci/run`).
#[test]
fn the_chain_on_postgresql() {
    let Some(env) = Env::on_postgres() else { return };
    env.musterstadt();
    let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;kinder;200\n0102;2024;kinder;300\n0201;2024;kinder;100\n0202;2024;kinder;400\n\
                0101;2024;kinder_sgb2;20\n0102;2024;kinder_sgb2;150\n0201;2024;kinder_sgb2;10\n0202;2024;kinder_sgb2;100\n";
    let f = env.write("daten.csv", data);
    assert!(env.run(&["import", "data", f.to_str().unwrap()]).ok().contains("8 neu"));
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let rows = json(&env.run(&["indicators", "compute", "--level", "Stadtteil", "--format", "json"]).ok());
    let altstadt = rows.as_array().unwrap().iter().find(|r| r["area_id"] == "01").unwrap();
    assert_eq!(altstadt["value"], 34.0, "170 of 500 children, summed up from the Sozialräume");
    // A delivery with an unknown area: refused, nothing changed.
    let bad = env.write(
        "kaputt.csv",
        "Gebiet;Jahr;Merkmal;Wert\n0101;2025;kinder;210\n0102;2025;kinder;320\n0201;2025;kinder;110\n9999;2025;kinder;20\n",
    );
    let err = env.fails_unchanged(&["import", "data", bad.to_str().unwrap()]);
    assert!(err.contains("9999"), "{err}");
    let plan = env
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
            "--format",
            "json",
        ])
        .ok();
    let sum: u64 = json(&plan).as_array().unwrap().iter().map(|r| r["allocation"].as_u64().unwrap()).sum();
    assert_eq!(sum, 100_000);
    let out = env.path("bericht.html");
    let def = env.write("bericht.toml", "title = \"Sozialbericht\"\nmunicipality = \"Musterstadt\"\nedition = \"2024\"\nlevel = \"Sozialraum\"\n\n[[chapter]]\ntitle = \"Kinder\"\nindicators = [\"kinderarmut\"]\n");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "html", "--out", out.to_str().unwrap()]).ok();
    assert!(std::fs::read_to_string(&out).unwrap().contains("Kinderarmut"));
    // Accounts, and backups by the server's own tools.
    let (ok, out) = crate::accounts::add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903");
    assert!(ok, "{out}");
    let (ok, out) = crate::accounts::add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903");
    assert!(!ok && out.contains("gibt es schon"), "{out}");
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert_eq!(users[0]["name"], "chefin");
    // Backup (pg_dump) and restore (pg_restore, one transaction) through the same commands.
    let dump = env.path("sicherung.dump");
    assert!(env.run(&["backup", dump.to_str().unwrap()]).ok().contains("pg_dump"));
    let err = env.run(&["backup", dump.to_str().unwrap()]).fails();
    assert!(err.contains("gibt es schon"), "{err}");
    assert!(crate::accounts::add(&env, &["spaeter", "--role", "reader"], "Ahornweg-Brunnen-7").0);
    let before = env.location().data_version().unwrap();
    assert!(env.run(&["restore", dump.to_str().unwrap()]).ok().contains("pg_restore"));
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert_eq!(users.as_array().unwrap().len(), 1, "the account made after the backup is gone: {users}");
    assert!(
        env.location().data_version().unwrap().parse::<i64>().unwrap() > before.parse::<i64>().unwrap(),
        "caches see the restore as a change"
    );
    let junk = env.write("kaputt.dump", "keine Sicherung");
    let err = env.run(&["restore", junk.to_str().unwrap()]).fails();
    assert!(err.contains("keine Sicherung von pg_dump"), "{err}");
    assert_eq!(json(&env.run(&["user", "list", "--format", "json"]).ok()).as_array().unwrap().len(), 1);
}
