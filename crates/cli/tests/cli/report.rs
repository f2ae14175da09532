//! `quartier report`: the Sozialbericht of the demo as HTML and XLSX — content checked
//! against the computed values, byte-identical reruns, and each kind of bad definition.

use crate::demo::build_demo;
use crate::support::*;

fn definition() -> String {
    std::fs::read_to_string(repo_file("data/berlin-mss/report-2019.toml")).unwrap()
}

/// The demo's S4 (child poverty) 2019 for one Planungsraum, as `indicators compute` gives it.
fn s4_2019(env: &Env, area: &str) -> f64 {
    let rows = json(
        &env.run(&["indicators", "compute", "--indicator", "s4", "--year", "2019", "--level", "Planungsraum", "--format", "json"]).ok(),
    );
    rows.as_array().unwrap().iter().find(|r| r["area_id"] == area).unwrap()["value"].as_f64().unwrap()
}

#[test]
fn html_report_carries_the_computed_numbers_and_reruns_identically() {
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let out = env.path("bericht.html");
    let run = env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "html", "--out", out.to_str().unwrap()]).ok();
    assert!(run.contains("geschrieben"), "{run}");
    let html = std::fs::read_to_string(&out).unwrap();
    // Self-contained and accessible: no external requests, language, text alternatives.
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"de\">"));
    for external in ["src=\"http", "href=\"http://", "<link ", "<script"] {
        assert!(!html.contains(external), "no external resource or script: {external}");
    }
    assert!(html.matches("role=\"img\" aria-label=\"Karte: ").count() >= 7, "every map has a text alternative");
    // The numbers are the computed ones: Gesundbrunnen's profile row and the ranking.
    let v = s4_2019(&env, "01033101");
    let shown = format!("{:.2}", v).replace('.', ",");
    assert!(html.contains(&format!("<td class=\"num\">{shown}</td>")), "S4 of Soldiner Straße ({shown}) in the report");
    assert!(html.contains("Am höchsten ist der Wert in Gewerbegebiet Köllnische Heide mit 77,19 %"), "generated text");
    assert!(html.contains("id=\"profil-01011101\"") && html.contains("Index Soziale Ungleichheit"));
    assert!(html.contains("Geheimhaltung: Anzahlen unter 3"), "public by default, and says so");
    assert!(html.contains("<strong>447 Planungsräumen</strong>"), "the planner's Markdown");
    assert!(html.contains("SenSBW Berlin, MSS; Bundesagentur für Arbeit"), "sources in the appendix");
    // Reproducible: the same data and definition give the same bytes.
    let again = env.path("again.html");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--out", again.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn xlsx_report_has_a_sheet_per_indicator_with_the_values() {
    use calamine::{Data, Reader, Xlsx, open_workbook};
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let out = env.path("bericht.xlsx");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "xlsx", "--out", out.to_str().unwrap()]).ok();
    let mut wb: Xlsx<_> = open_workbook(&out).unwrap();
    let names = wb.sheet_names();
    for s in ["Metadaten", "Arbeitslosigkeit", "Transferbezug", "Kinderarmut", "Veränderung der Kinderarmut", "Index mss"] {
        assert!(names.iter().any(|n| n == s), "sheet {s} in {names:?}");
    }
    let sheet = wb.worksheet_range("Kinderarmut").unwrap();
    let header: Vec<String> = sheet.rows().nth(3).unwrap().iter().map(|c| c.to_string()).collect();
    let col2019 = header.iter().position(|h| h == "2019").unwrap();
    let row = sheet.rows().find(|r| r[0] == Data::String("01033101".into())).unwrap();
    assert_eq!(row[col2019], Data::Float(s4_2019(&env, "01033101")), "a number, equal to the computed value");
    let index = wb.worksheet_range("Index mss").unwrap();
    assert!(index.rows().skip(1).any(|r| matches!(&r[3], Data::String(s) if s.starts_with('4'))), "combined classes");
    let again = env.path("again.xlsx");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "xlsx", "--out", again.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap(), "byte-identical");
}

#[test]
fn bad_definitions_and_outputs_are_refused_without_leaving_files() {
    let env = Env::new();
    build_demo(&env);
    let report = |name: &str, text: String, out: &std::path::Path| {
        let def = env.write(name, text);
        env.run(&["report", "--definition", def.to_str().unwrap(), "--out", out.to_str().unwrap()]).fails()
    };
    let out = env.path("x.html");
    let err = report("a.toml", definition().replace("[\"s1\", \"s3\", \"s4\"]", "[\"s1\", \"gibtsnicht\"]"), &out);
    assert!(err.contains("a.toml") && err.contains("unbekannte Indikatoren: gibtsnicht"), "{err}");
    let err = report("b.toml", definition().replace("\"12302109\"", "\"99999999\""), &out);
    assert!(err.contains("profiles nennt Gebiete, die es auf Ebene „Planungsraum“ nicht gibt: 99999999"), "{err}");
    let err = report("c.toml", definition().replace("id = \"mss\"", "id = \"gibtsnicht\""), &out);
    assert!(err.contains("Index „gibtsnicht“ ist nicht gespeichert"), "{err}");
    let err = report("d.toml", definition().replace("level = \"Planungsraum\"", "level = \"Kiez\""), &out);
    assert!(err.contains("Ebene „Kiez“ gibt es nicht"), "{err}");
    let err = report("e.toml", definition().replace("year = 2019", "year = 1990"), &out);
    assert!(err.contains("für 1990 gibt es keine Werte"), "{err}");
    assert!(!out.exists(), "no file after a failure");
    let err = report("f.toml", definition(), &env.path("fehlt/x.html"));
    assert!(err.contains("das Verzeichnis") && err.contains("gibt es nicht"), "{err}");
    // Raw HTML in a text block is shown as text, never passed through.
    let out = env.path("y.html");
    let def = env.write("g.toml", definition().replace("Die Texte zu den Indikatoren", "<script>alert(1)</script> Die Texte"));
    env.run(&["report", "--definition", def.to_str().unwrap(), "--out", out.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script>") && html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let leftovers: Vec<_> =
        std::fs::read_dir(env.path("")).unwrap().flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

/// Poppler's tools read the PDF as any reader would; in CI they must be there (`.ci/run`).
fn poppler(tool: &str, args: &[&str]) -> Option<String> {
    match std::process::Command::new(tool).args(args).output() {
        Ok(o) if o.status.success() => Some(String::from_utf8_lossy(&o.stdout).into_owned()),
        Ok(o) => panic!("{tool} failed: {}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => {
            assert!(std::env::var("CI").is_err(), "CI must install poppler-utils (see .ci/run)");
            eprintln!("SKIPPED: {tool} not installed");
            None
        }
    }
}

#[test]
fn pdf_report_has_its_pages_and_the_text_of_the_html() {
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let (pdf, html) = (env.path("bericht.pdf"), env.path("bericht.html"));
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "pdf", "--out", pdf.to_str().unwrap()]).ok();
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "html", "--out", html.to_str().unwrap()]).ok();
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-1.7"));
    // Reproducible (no creation date at all).
    let again = env.path("again.pdf");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "pdf", "--out", again.to_str().unwrap()]).ok();
    assert_eq!(bytes, std::fs::read(&again).unwrap());
    let Some(info) = poppler("pdfinfo", &[pdf.to_str().unwrap()]) else { return };
    assert!(info.contains("Page size:       595.28 x 841.89 pts (A4)"), "{info}");
    let pages: usize = info.lines().find(|l| l.starts_with("Pages:")).unwrap()[6..].trim().parse().unwrap();
    // Title, contents, introduction, two chapters of three indicators, the index, four
    // profiles, methods: between 18 and 40 pages.
    assert!((18..=40).contains(&pages), "{pages} pages");
    let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]).unwrap();
    assert!(text.contains(&format!("Seite 2 von {pages}")), "page numbers");
    let html = std::fs::read_to_string(&html).unwrap();
    // The same names and values as the HTML: the generated sentence, table values, profiles.
    for needle in [
        "Am höchsten ist der Wert in Gewerbegebiet Köllnische Heide mit 77,19 %",
        "Soldiner Straße (01033101)",
        "Stülerstraße (01011101)",
        "Index Soziale Ungleichheit",
        "SenSBW Berlin, MSS; Bundesagentur für Arbeit",
    ] {
        assert!(html.contains(needle), "HTML has {needle}");
        assert!(text.replace('\n', " ").contains(needle), "PDF has {needle}");
    }
    let v = s4_2019(&env, "01033101");
    assert!(text.contains(&format!("{:.2}", v).replace('.', ",")), "Soldiner Straße's S4 in the PDF");
    // The contents list page numbers that exist.
    let layout = poppler("pdftotext", &["-layout", "-f", "2", "-l", "2", pdf.to_str().unwrap(), "-"]).unwrap();
    let toc = layout.split("Inhalt").nth(1).unwrap();
    let numbers: Vec<usize> = toc.lines().filter_map(|l| l.rsplit(' ').next()?.trim().parse().ok()).collect();
    assert!(!numbers.is_empty() && numbers.iter().all(|n| (3..=pages).contains(n)), "{toc}");
}

#[test]
fn open_data_never_contains_a_small_count() {
    let env = Env::new();
    env.musterstadt();
    // Children in SGB II per Sozialraum: 0102 has 2 (below 3), the others enough.
    let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;kinder;120\n0102;2024;kinder;80\n0201;2024;kinder;60\n0202;2024;kinder;90\n\
                0101;2024;kinder_sgb2;30\n0102;2024;kinder_sgb2;2\n0201;2024;kinder_sgb2;12\n0202;2024;kinder_sgb2;20\n";
    let f = env.write("daten.csv", data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\nsource = \"Jobcenter\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let out = env.path("od");
    let run = env
        .run(&[
            "export",
            "opendata",
            "--level",
            "Sozialraum",
            "--out",
            out.to_str().unwrap(),
            "--name",
            "kinder",
            "--spatial",
            "Musterstadt",
        ])
        .ok();
    assert!(run.contains("kinder.csv") && run.contains("kinder.geojson") && run.contains("kinder.meta.json"), "{run}");
    let csv = std::fs::read_to_string(out.join("kinder.csv")).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        lines[0],
        ["schluessel", "name", "uebergeordnet", "jahr", "kinderarmut", "kinderarmut_zaehler", "kinderarmut_nenner", "kinderarmut_vermerk"]
    );
    let row = |k: &str| lines.iter().find(|l| l[0] == k).unwrap().clone();
    assert_eq!(row("0102")[7], "geheim", "2 children: withheld");
    assert_eq!((row("0102")[4], row("0102")[5]), ("", ""), "neither the rate nor the count");
    // 0101 goes with it: with the Stadtteil total published elsewhere, 0101 would give 0102 away.
    assert_eq!(row("0101")[7], "geheim", "secondary suppression of the sibling");
    assert_eq!((row("0201")[4], row("0201")[5], row("0201")[6]), ("20.0", "12", "60"));
    // No published count below 3 anywhere (counts are the numerator and denominator columns).
    for l in &lines[1..] {
        for c in [5, 6] {
            if let Ok(v) = l[c].parse::<f64>() {
                assert!(v == 0.0 || v >= 3.0, "small count {v} in {l:?}");
            }
        }
    }
    // The recovery check agrees: nothing in the file can be recovered.
    let check = env.run(&["disclosure", "check", out.join("kinder.csv").to_str().unwrap(), "--id-col", "schluessel"]);
    assert!(check.out.status.success(), "{}", check.stdout());
    // The German variant: BOM, semicolons, decimal comma.
    let de = std::fs::read_to_string(out.join("kinder.de.csv")).unwrap();
    assert!(de.starts_with("\u{feff}schluessel;name;") && de.contains("0101;") && de.contains(";20,0;"), "{de}");
    let geo = json(&std::fs::read_to_string(out.join("kinder.geojson")).unwrap());
    let feats = geo["features"].as_array().unwrap();
    assert_eq!(feats.len(), 4);
    let f0102 = feats.iter().find(|f| f["id"] == "0102").unwrap();
    assert!(f0102["properties"]["kinderarmut"].is_null() && f0102["geometry"]["type"] == "MultiPolygon");
    let meta = json(&std::fs::read_to_string(out.join("kinder.meta.json")).unwrap());
    assert_eq!(meta["@type"], "dcat:Dataset");
    assert_eq!(meta["dct:temporal"]["dcat:startDate"], "2024-01-01");
    assert!(meta["dct:spatial"]["dcat:bbox"].as_str().unwrap().starts_with("POLYGON(("));
    assert_eq!(meta["dcat:distribution"].as_array().unwrap().len(), 3);
    // Bad requests.
    assert!(
        env.run(&["export", "opendata", "--level", "Kiez", "--out", out.to_str().unwrap()]).fails().contains("Ebene „Kiez“ gibt es nicht")
    );
    assert!(
        env.run(&["export", "opendata", "--level", "Sozialraum", "--indicators", "x", "--out", out.to_str().unwrap()])
            .fails()
            .contains("unbekannte Indikatoren: x")
    );
    let err = env.run(&["export", "opendata", "--level", "Sozialraum", "--out", env.path("fehlt/od").to_str().unwrap()]).fails();
    assert!(err.contains("gibt es nicht"), "{err}");
    assert!(
        env.run(&["export", "opendata", "--level", "Sozialraum", "--disclosure-threshold", "0", "--out", out.to_str().unwrap()])
            .fails()
            .contains("mindestens 1")
    );
}

/// Several years in one export: a row (and a GeoJSON feature `KEY/YEAR`) per area and year,
/// each year protected on its own; a year without values is named, nothing written.
#[test]
fn open_data_of_several_years() {
    let env = Env::new();
    env.musterstadt();
    let mut data = String::from("Gebiet;Jahr;Merkmal;Wert\n");
    for (year, small) in [(2023, 24), (2024, 2)] {
        for (area, kids, poor) in [("0101", 120, 30), ("0102", 80, small), ("0201", 60, 12), ("0202", 90, 20)] {
            data.push_str(&format!("{area};{year};kinder;{kids}\n{area};{year};kinder_sgb2;{poor}\n"));
        }
    }
    let f = env.write("daten.csv", &data);
    env.run(&["import", "data", f.to_str().unwrap()]).ok();
    let cat = env.write(
        "katalog.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let out = env.path("od");
    env.run(&["export", "opendata", "--level", "Sozialraum", "--year", "2023,2024", "--out", out.to_str().unwrap(), "--name", "k"]).ok();
    let csv = std::fs::read_to_string(out.join("k.csv")).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 8, "4 areas × 2 years: {csv}");
    let cell = |k: &str, y: &str, c: usize| lines.iter().find(|l| l[0] == k && l[3] == y).unwrap()[c].to_string();
    // 2023: 0102 has 24 poor children, published; 2024: 2, withheld with its sibling.
    assert_eq!(cell("0102", "2023", 4), "30.0");
    assert_eq!((cell("0102", "2024", 7).as_str(), cell("0101", "2024", 7).as_str()), ("geheim", "geheim"));
    assert_eq!(cell("0201", "2024", 4), "20.0");
    let geo = json(&std::fs::read_to_string(out.join("k.geojson")).unwrap());
    let ids: Vec<&str> = geo["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert!(ids.len() == 8 && ids.contains(&"0102/2023") && ids.contains(&"0102/2024"), "{ids:?}");
    let meta = json(&std::fs::read_to_string(out.join("k.meta.json")).unwrap());
    assert_eq!(
        (meta["dct:temporal"]["dcat:startDate"].as_str(), meta["dct:temporal"]["dcat:endDate"].as_str()),
        (Some("2023-01-01"), Some("2024-12-31"))
    );
    assert!(meta["dct:description"].as_str().unwrap().contains("2023 und 2024"));
    // The same years repeated as flags read alike; a year without values is refused.
    let again = env.path("od2");
    env.run(&[
        "export",
        "opendata",
        "--level",
        "Sozialraum",
        "--year",
        "2024",
        "--year",
        "2023",
        "--out",
        again.to_str().unwrap(),
        "--name",
        "k",
    ])
    .ok();
    assert_eq!(std::fs::read_to_string(again.join("k.csv")).unwrap(), csv);
    let err = env
        .run(&["export", "opendata", "--level", "Sozialraum", "--year", "2023,2022", "--out", env.path("od3").to_str().unwrap()])
        .fails();
    assert!(err.contains("für das Jahr 2022 gibt es keine Daten"), "{err}");
    assert!(!env.path("od3").exists(), "nothing written");
}

#[test]
fn docx_report_is_a_word_document_with_headings_tables_and_pictures() {
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let out = env.path("bericht.docx");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "docx", "--out", out.to_str().unwrap()]).ok();
    let bytes = std::fs::read(&out).unwrap();
    let again = env.path("again.docx");
    env.run(&["report", "--definition", def.to_str().unwrap(), "--format", "docx", "--out", again.to_str().unwrap()]).ok();
    assert_eq!(bytes, std::fs::read(&again).unwrap(), "byte-identical");
    let mut zip = zip_parts(&bytes);
    for part in [
        "[Content_Types].xml",
        "_rels/.rels",
        "word/document.xml",
        "word/styles.xml",
        "word/footer1.xml",
        "word/_rels/document.xml.rels",
        "docProps/core.xml",
    ] {
        assert!(zip.contains_key(part), "{part}");
    }
    let doc = String::from_utf8(zip.remove("word/document.xml").unwrap()).unwrap();
    // Real headings (Word's navigation and contents), tables with header rows, pictures with
    // text alternatives, the contents field.
    assert_eq!(
        doc.matches("<w:pStyle w:val=\"Heading1\"/>").count(),
        8,
        "Einleitung, Auffälligkeiten, 2 chapters, index, profiles, methods, sources"
    );
    assert!(doc.matches("<w:pStyle w:val=\"Heading2\"/>").count() >= 10);
    assert!(doc.contains("<w:tblHeader/>") && doc.contains(" TOC \\o \"1-2\""));
    // The contents field already holds an entry per heading of levels 1 and 2, in order, each
    // a link to the heading's bookmark: office suites that do not update fields on opening
    // (LibreOffice) show them; no placeholder text.
    let toc_start = doc.find("fldCharType=\"separate\"").unwrap();
    let toc_end = toc_start + doc[toc_start..].find("fldCharType=\"end\"").unwrap();
    let toc = &doc[toc_start..toc_end];
    let entry = |n: usize| format!("w:anchor=\"_Toc{n}\"");
    let headings = doc.matches("<w:pStyle w:val=\"Heading1\"/>").count() + doc.matches("<w:pStyle w:val=\"Heading2\"/>").count();
    assert_eq!(toc.matches("<w:hyperlink ").count(), headings, "{toc}");
    assert!((0..headings).all(|n| toc.contains(&entry(n)) && doc.contains(&format!("w:name=\"_Toc{n}\""))));
    assert!(toc.contains(">Einleitung<") && toc.contains(">Quellen<") && !doc.contains("wird beim Öffnen aktualisiert"));
    assert!(toc.find(">Einleitung<") < toc.find(">Quellen<"));
    assert!(doc.matches("<wp:docPr ").count() >= 7 && doc.contains("descr=\"Karte: Kinderarmut 2019"));
    // Every picture has a text alternative; every table's first row repeats as a header; the
    // document language is German.
    assert!(doc.split("<wp:docPr ").skip(1).all(|p| p.split("descr=\"").nth(1).is_some_and(|d| !d.starts_with('"'))), "alt text");
    assert_eq!(doc.matches("<w:tbl>").count(), doc.matches("<w:tblHeader/>").count(), "a header row in every table");
    // The numbers of the HTML.
    let v = format!("{:.2}", s4_2019(&env, "01033101")).replace('.', ",");
    assert!(doc.contains("Soldiner Straße (01033101)") && doc.contains(&format!(">{v}<")), "values in the tables");
    assert!(doc.contains("Am höchsten ist der Wert in Gewerbegebiet Köllnische Heide mit 77,19 %"));
    let png = zip.keys().filter(|k| k.starts_with("word/media/") && k.ends_with(".png")).count();
    assert!(png >= 13, "maps and chart fallbacks as PNG: {png}");
    assert!(zip.values().all(|b| !b.is_empty()));
}

/// The parts of a zip package (stored or deflated entries), by name.
fn zip_parts(bytes: &[u8]) -> std::collections::HashMap<String, Vec<u8>> {
    use std::io::Read;
    let mut out = std::collections::HashMap::new();
    // Local file headers: signature, then fixed fields; sizes are in the header (no data
    // descriptors in our packages).
    let mut i = 0;
    while i + 30 <= bytes.len() && bytes[i..i + 4] == [0x50, 0x4b, 0x03, 0x04] {
        let u16at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
        let u32at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize;
        let (method, size, name_len, extra_len) = (u16at(i + 8), u32at(i + 18), u16at(i + 26), u16at(i + 28));
        let name = String::from_utf8_lossy(&bytes[i + 30..i + 30 + name_len]).into_owned();
        let start = i + 30 + name_len + extra_len;
        let data = &bytes[start..start + size];
        let content = if method == 8 {
            let mut v = Vec::new();
            flate2::read::DeflateDecoder::new(data).read_to_end(&mut v).unwrap();
            v
        } else {
            data.to_vec()
        };
        out.insert(name, content);
        i = start + size;
    }
    out
}

#[test]
fn area_profiles_for_one_area_or_all() {
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let one = env.path("eins.pdf");
    env.run(&["profiles", "--definition", def.to_str().unwrap(), "--area", "01033101", "--format", "pdf", "--out", one.to_str().unwrap()])
        .ok();
    let all = env.path("alle.html");
    env.run(&["profiles", "--definition", def.to_str().unwrap(), "--out", all.to_str().unwrap()]).ok();
    let html = std::fs::read_to_string(&all).unwrap();
    assert_eq!(html.matches("<article class=\"profile\"").count(), 448, "every Planungsraum");
    assert_eq!(html.matches("<symbol id=\"grundkarte\"").count(), 1, "the base map once");
    assert!(html.matches("<use href=\"#grundkarte\">").count() >= 447, "and used by each locator map");
    let err = env.run(&["profiles", "--definition", def.to_str().unwrap(), "--area", "0", "--out", all.to_str().unwrap()]).fails();
    assert!(err.contains("nicht gibt: 0"), "{err}");
    let Some(info) = poppler("pdfinfo", &[one.to_str().unwrap()]) else { return };
    assert!(info.contains("Pages:           2"), "two A4 pages for one area: {info}");
    let text = poppler("pdftotext", &[one.to_str().unwrap(), "-"]).unwrap();
    let v = format!("{:.2}", s4_2019(&env, "01033101")).replace('.', ",");
    assert!(text.contains("Soldiner Straße (01033101)") && text.contains("Entwicklung in Soldiner Straße") && text.contains(&v), "{text}");
}

#[test]
fn stored_definitions_are_saved_listed_used_and_removed() {
    let env = Env::new();
    build_demo(&env);
    let file = env.write("bericht.toml", definition());
    // Saved under a name, checked against the data; listed; shown as TOML that reads back.
    let saved = env.run(&["reports", "save", "sozialbericht-2019", file.to_str().unwrap()]).ok();
    assert!(saved.contains("gespeichert"), "{saved}");
    let list = json(&env.run(&["reports", "list", "--format", "json"]).ok());
    assert_eq!(list[0]["name"], "sozialbericht-2019");
    assert_eq!(list[0]["year"], 2019);
    let shown = env.run(&["reports", "show", "sozialbericht-2019"]).ok();
    assert_eq!(shown.trim_end(), definition().trim_end(), "stored as given (TOML stays the exchange format)");
    // `report --name` gives the same bytes as `report --definition`.
    let (a, b) = (env.path("a.html"), env.path("b.html"));
    env.run(&["report", "--definition", file.to_str().unwrap(), "--out", a.to_str().unwrap()]).ok();
    env.run(&["report", "--name", "sozialbericht-2019", "--out", b.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    // Saving and removing are in the audit log.
    env.run(&["reports", "remove", "sozialbericht-2019"]).ok();
    let log = env.run(&["user", "audit", "--format", "json"]).ok();
    assert!(log.contains("Einstellung gespeichert") && log.contains("Einstellung entfernt"), "{log}");
    assert!(env.run(&["reports", "list", "--format", "json"]).ok().trim() == "[]");
}

#[test]
fn stored_definitions_refuse_bad_input_and_change_nothing() {
    let env = Env::new();
    build_demo(&env);
    let good = definition();
    for (what, text, name, expect) in [
        ("bad name", good.clone(), "Bericht 2019", "Kleinbuchstaben"),
        ("unknown indicator", good.replacen("\"s4\"", "\"gibtsnicht\"", 1), "b", "„gibtsnicht“ steht nicht im Katalog"),
        ("year without values", good.replacen("year = 2019", "year = 2031", 1), "b", "Für 2031 fehlen"),
        ("unknown level", good.replacen("level = \"Planungsraum\"", "level = \"Ortsteil\"", 1), "b", "Ebene „Ortsteil“ gibt es nicht"),
        ("unknown index", good.replacen("id = \"mss\"", "id = \"sozialindex\"", 1), "b", "Index „sozialindex“ ist nicht gespeichert"),
        ("broken TOML", "title = ".to_string(), "b", "ungültig"),
    ] {
        assert!(name != "b" || text != good, "{what}: the case changes the definition");
        let file = env.write("bad.toml", &text);
        let err = env.fails_unchanged(&["reports", "save", name, file.to_str().unwrap()]);
        assert!(err.contains(expect), "{what}: {err}");
    }
    let err = env.run(&["report", "--name", "gibtsnicht", "--out", env.path("x.html").to_str().unwrap()]).fails();
    assert!(err.contains("Berichtsdefinition „gibtsnicht“ gibt es nicht"), "{err}");
    let err = env.run(&["reports", "remove", "gibtsnicht"]).fails();
    assert!(err.contains("gibt es nicht"), "{err}");
}

/// What data portals check: GeoJSON after RFC 7946 (exterior rings counterclockwise, holes
/// clockwise, whatever the delivery's winding; whole numbers as integers) and DCAT-AP.de
/// metadata with IRIs where the SHACL shapes want IRIs, dates typed `xsd:date` and Quartier's
/// own terms in a declared namespace (validated with GovData's shapes: 0 violations, see the
/// issue note).
#[test]
fn open_data_follows_rfc_7946_and_dcat_ap_de() {
    let env = Env::new();
    env.run(&["levels", "define", "Quartier"]).ok();
    // Clockwise exterior, counterclockwise hole: both the wrong way for RFC 7946.
    let (x, y) = (X0, Y0);
    let geom = format!(
        r#"{{"type":"Polygon","coordinates":[[[{x},{y}],[{x},{y2}],[{x2},{y2}],[{x2},{y}],[{x},{y}]],[[{a},{a2}],[{b},{a2}],[{b},{b2}],[{a},{b2}],[{a},{a2}]]]}}"#,
        y2 = y + 1000.0,
        x2 = x + 1000.0,
        a = x + 400.0,
        b = x + 600.0,
        a2 = y + 400.0,
        b2 = y + 600.0
    );
    let areas = env.write("q.geojson", collection(Some("urn:ogc:def:crs:EPSG::25832"), &[feature(r#""id":"Q1","name":"Ring""#, &geom)]));
    env.run(&["import", "areas", areas.to_str().unwrap(), "--level", "Quartier"]).ok();
    let data = env.write("d.csv", "Gebiet;Jahr;Merkmal;Wert\nQ1;2024;kinder;120\nQ1;2024;kinder_sgb2;30\n");
    env.run(&["import", "data", data.to_str().unwrap()]).ok();
    let cat = env.write(
        "k.toml",
        "[[indicator]]\nid = \"kinderarmut\"\nname = \"Kinderarmut\"\nformula = \"100 * kinder_sgb2 / kinder\"\nunit = \"%\"\ndirection = \"higher_is_worse\"\ndescription = \"Kinder im SGB II je 100 Kinder\"\n",
    );
    env.run(&["indicators", "load", cat.to_str().unwrap()]).ok();
    let out = env.path("od");
    let base = "https://opendata.musterstadt.example/sozial/";
    env.run(&["export", "opendata", "--level", "Quartier", "--out", out.to_str().unwrap(), "--name", "k", "--base-url", base]).ok();
    let geo = json(&std::fs::read_to_string(out.join("k.geojson")).unwrap());
    let signed = |ring: &serde_json::Value| -> f64 {
        let r: Vec<(f64, f64)> = ring.as_array().unwrap().iter().map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())).collect();
        r.windows(2).map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1).sum::<f64>() / 2.0
    };
    let f = &geo["features"][0];
    let poly = &f["geometry"]["coordinates"][0];
    assert!(signed(&poly[0]) > 0.0, "exterior counterclockwise: {poly}");
    assert!(signed(&poly[1]) < 0.0, "hole clockwise: {poly}");
    let p = &f["properties"];
    assert!(p["jahr"].is_i64() && p["jahr"] == 2024, "{p}");
    assert!(p["kinderarmut_zaehler"].is_i64() && p["kinderarmut_nenner"] == 120 && p["kinderarmut"] == 25.0, "{p}");
    let meta = json(&std::fs::read_to_string(out.join("k.meta.json")).unwrap());
    let ctx = &meta["@context"];
    for term in ["dct:license", "dct:format", "dcat:accessURL", "dcat:downloadURL", "dcat:mediaType", "dcatde:politicalGeocodingLevelURI"] {
        assert_eq!(ctx[term]["@type"], "@id", "{term} is an IRI");
    }
    assert_eq!(
        (ctx["dcat:startDate"]["@type"].as_str(), ctx["xsd"].as_str()),
        (Some("xsd:date"), Some("http://www.w3.org/2001/XMLSchema#"))
    );
    assert!(ctx["quartier"].is_string() && ctx["quartier:indikatoren"]["@context"]["name"] == "dct:title", "{ctx}");
    let dist = &meta["dcat:distribution"][0];
    assert_eq!(dist["dcat:accessURL"], "https://opendata.musterstadt.example/sozial/k.csv");
    assert_eq!(dist["dcat:mediaType"], "https://www.iana.org/assignments/media-types/text/csv");
    assert_eq!(meta["dcat:distribution"][2]["dct:format"], "http://publications.europa.eu/resource/authority/file-type/GEOJSON");
    assert_eq!(meta["quartier:indikatoren"]["kinderarmut"]["beschreibung"], "Kinder im SGB II je 100 Kinder");
    // A licence or an address that is no IRI is refused before anything is written.
    let err =
        env.run(&["export", "opendata", "--level", "Quartier", "--out", env.path("x").to_str().unwrap(), "--licence", "CC BY"]).fails();
    assert!(err.contains("--licence") && !env.path("x").exists(), "{err}");
    assert!(
        env.run(&["export", "opendata", "--level", "Quartier", "--out", out.to_str().unwrap(), "--base-url", "ftp://x"])
            .fails()
            .contains("--base-url")
    );
}

/// What a screen reader and PDF/UA-1 need of a PDF, checked in the file and with Poppler:
/// tagged, marked, the structure in reading order (headings, lists, tables with header cells,
/// figures with a text alternative), every text either in the structure or an artifact
/// (footers), the language, the title shown, the PDF/UA identifier, ToUnicode maps.
/// `footer`: the running footer's title (an artifact, as are "Seite N von M").
fn assert_tagged_pdf_ua(pdf: &std::path::Path, first_heading: &str, footer: &str) {
    let bytes = std::fs::read(pdf).unwrap();
    let raw = String::from_utf8_lossy(&bytes);
    for needle in [
        "/MarkInfo <<\n    /Marked true",
        "/StructTreeRoot",
        "/Lang (de-DE)",
        "/DisplayDocTitle true",
        "<pdfuaid:part>1</pdfuaid:part>",
        "/Tabs /S",
        "/StructParents 0",
        "/ParentTree",
    ] {
        assert!(raw.contains(needle), "{}: {needle}", pdf.display());
    }
    assert_eq!(raw.matches("/ToUnicode").count(), 2, "both fonts map their codes to Unicode");
    assert_eq!(raw.matches("/S /Figure").count(), raw.matches("/Alt (").count() + raw.matches("/Alt <").count(), "every figure has /Alt");
    assert!(!raw.contains("/Alt ()"), "no empty alternative");
    let Some(info) = poppler("pdfinfo", &[pdf.to_str().unwrap()]) else { return };
    assert!(info.contains("Tagged:          yes"), "{info}");
    let structure = poppler("pdfinfo", &["-struct-text", pdf.to_str().unwrap()]).unwrap();
    let lines: Vec<&str> = structure.lines().collect();
    assert_eq!(lines[0], "Document");
    // Headings in outline order: the first is H1, none skips a level.
    let headings: Vec<u8> = lines.iter().filter_map(|l| l.trim().strip_prefix('H')?.split(' ').next()?.parse().ok()).collect();
    assert_eq!(headings.first(), Some(&1), "{structure}");
    assert!(headings.windows(2).all(|w| w[1] <= w[0] + 1), "a heading level skipped: {headings:?}");
    let first = lines.iter().position(|l| l.trim() == "H1 (block)").unwrap();
    assert!(lines[first + 1].contains(first_heading), "{}", lines[first + 1]);
    // Every word on the pages is in the structure, except the pagination artifacts.
    let tagged: std::collections::HashSet<&str> =
        structure.lines().filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix('"')).flat_map(str::split_whitespace).collect();
    // (pdftotext may join the runs of neighbouring cells into one word: such a word is still
    // tagged if it is part of the tagged text without spaces.)
    // It also drops a hyphen at the end of a line when joining it with the next.
    let lines_tagged: Vec<&str> = structure.lines().filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix('"')).collect();
    let all_tagged: String = lines_tagged.concat().split_whitespace().collect::<String>()
        + &lines_tagged.iter().map(|l| l.strip_suffix('-').unwrap_or(l)).collect::<String>().split_whitespace().collect::<String>();
    let text = poppler("pdftotext", &[pdf.to_str().unwrap(), "-"]).unwrap();
    let untagged: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !tagged.contains(w) && !all_tagged.contains(w) && !footer.split_whitespace().any(|f| f == *w))
        .filter(|w| *w != "Seite" && *w != "von" && w.parse::<u32>().is_err())
        .collect();
    assert!(untagged.is_empty(), "{}: text outside the structure: {untagged:?}", pdf.display());
}

#[test]
fn every_pdf_is_tagged_for_pdf_ua() {
    let env = Env::new();
    build_demo(&env);
    let def = env.write("bericht.toml", definition());
    let d = def.to_str().unwrap();
    let (report, profile, sheet) = (env.path("bericht.pdf"), env.path("profil.pdf"), env.path("datenblatt.pdf"));
    env.run(&["report", "--definition", d, "--format", "pdf", "--out", report.to_str().unwrap()]).ok();
    env.run(&["profiles", "--definition", d, "--area", "01033101", "--format", "pdf", "--out", profile.to_str().unwrap()]).ok();
    env.run(&["funding-sheet", "--definition", d, "--area", "01033101", "--format", "pdf", "--out", sheet.to_str().unwrap()]).ok();
    let footer = "Sozialbericht Berlin 2019";
    assert_tagged_pdf_ua(&report, "Sozialbericht", footer);
    assert_tagged_pdf_ua(&profile, "Soldiner Straße (01033101)", footer);
    assert_tagged_pdf_ua(&sheet, "Ausgangslage: Soldiner Straße", footer);
    let raw = String::from_utf8_lossy(&std::fs::read(&report).unwrap()).into_owned();
    // Tables with column headers, lists, the contents; a map's alternative names its classes
    // and where the highest values are.
    for needle in ["/S /Table", "/S /TH", "/Scope /Column", "/S /TD", "/S /L", "/S /LI", "/S /LBody", "/S /TOC", "/S /Caption"] {
        assert!(raw.contains(needle), "{needle}");
    }
    assert!(raw.contains("/Alt (Karte: Kinderarmut 2019") || raw.contains("/Alt <"), "map alternatives");
    let Some(structure) = poppler("pdfinfo", &["-struct-text", report.to_str().unwrap()]) else { return };
    let order: Vec<usize> = ["\"Inhalt\"", "\"Einleitung\"", "\"Methoden und Definitionen\"", "\"Quellen\""]
        .iter()
        .map(|h| structure.find(h).unwrap_or_else(|| panic!("{h}")))
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "reading order: title, contents, body: {order:?}");
}
