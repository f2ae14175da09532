//! The built-in demo: real Berlin MSS data through the normal import paths, and the web app
//! on it (HTTP and headless Chromium).

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn build_demo(env: &Env) {
    let out = env.run(&["demo", "--keep", env.db().to_str().unwrap(), "--no-serve"]).ok();
    assert!(out.contains("12 × Bezirk, 138 × Bezirksregion, 448 × Planungsraum"), "{out}");
}

#[test]
fn demo_database_holds_the_published_mss_values() {
    let env = Env::new();
    build_demo(&env);
    // MSS 2019, table 2-1: Stülerstraße S4 = 15.43624, inhabitants 3384.
    let rows = json(
        &env.run(&[
            "data",
            "show",
            "--variable",
            "s4_percentage_transfer_payments_recipients_below_15_years",
            "--year",
            "2019",
            "--area",
            "01011101",
            "--format",
            "json",
        ])
        .ok(),
    );
    assert_eq!(rows[0]["value"], 15.43624);
    let vars = json(&env.run(&["data", "list", "--format", "json"]).ok());
    let inh = vars.as_array().unwrap().iter().find(|v| v["key"] == "inhabitants").unwrap();
    assert_eq!(inh["years"], serde_json::json!([2013, 2015, 2017, 2019]));
    assert_eq!(inh["kind"], "count");
    // Bezirk Mitte 2019: delivered total 383457 (table 2-3).
    let mitte = json(
        &env.run(&["data", "show", "--variable", "inhabitants", "--year", "2019", "--level", "Bezirk", "--area", "01", "--format", "json"])
            .ok(),
    );
    assert_eq!(mitte[0]["value"], 383457.0);
    // Dissolved Bezirk geometry: Berlin's 12 Bezirke cover about 891 km².
    let bez = json(&env.run(&["areas", "list", "--level", "Bezirk", "--format", "json"]).ok());
    let total: f64 = bez.as_array().unwrap().iter().map(|b| b["area_m2"].as_f64().unwrap()).sum();
    assert!((total / 1e6 - 891.1).abs() < 5.0, "{total}");
    // The context indicators' "-" (not published) is missing, not zero.
    let k02 =
        json(&env.run(&["data", "show", "--variable", "k02_single_parent_households", "--area", "01011101", "--format", "json"]).ok());
    assert_eq!(k02[0]["value"], 20.14388);
}

pub struct Server {
    child: Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn serve(env: &Env) -> Server {
    serve_with(env, &[])
}

pub fn serve_with(env: &Env, extra: &[&str]) -> Server {
    let addr = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_quartier"))
        .args(["--db", env.db().to_str().unwrap(), "serve", "--addr", &addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(start.elapsed() < Duration::from_secs(20), "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Server { child, addr }
}

pub fn get(addr: &str, path: &str) -> (String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[test]
fn demo_map_page_over_http() {
    let env = Env::new();
    build_demo(&env);
    let server = serve(&env);
    let (head, body) = get(&server.addr, "/karte");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
    assert!(body.contains("<html lang=\"de\">") && body.contains("S4 Kinderarmut"), "page title");
    assert!(
        body.contains("Datenquelle: Senatsverwaltung für Stadtentwicklung, Bauen und Wohnen Berlin, Monitoring Soziale Stadtentwicklung")
    );
    assert!(body.matches("<path d=\"M").count() >= 447, "one path per Planungsraum");
    assert!(body.contains("Stülerstraße") && body.contains("15,44"), "German number in the table");
    let (head, body) = get(&server.addr, "/karte?variable=inhabitants&year=2019&level=Bezirk");
    assert!(head.starts_with("HTTP/1.1 200"));
    assert!(body.contains("383.457"), "Mitte's population with German thousands separator");
    let (head, body) = get(&server.addr, "/karte?subject=indicator%3As1&year=2015&level=Bezirksregion");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("<h1>Arbeitslosigkeit 2015</h1>") && body.contains("Indikatoren") && body.contains(">Status<"), "indicator map");
    let (head, body) = get(&server.addr, "/karte?subject=index%3Amss");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("Index Soziale Ungleichheit (MSS 2019) 2019") && body.contains("4 – Status sehr niedrig"), "index map");
    assert!(
        body.contains("Huttenkiez") && body.contains("sehr niedrig / positiv; Aufmerksamkeit: sehr niedriger Status"),
        "MSS 2019: Huttenkiez 4+"
    );
    // Published MSS 2019: 67 hoch, 283 mittel, 47 niedrig, 39 sehr niedrig.
    assert!(body.contains("1 – Status hoch (67 Gebiete)") && body.contains("4 – Status sehr niedrig (39 Gebiete)"), "legend counts");
    let (head, body) = get(&server.addr, "/karte?subject=types%3Amss");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(body.contains("Typ 1: niedrig: Kinderarmut, Arbeitslosigkeit, Transferbezug (216 Gebiete)"), "area types legend");
    let (head, body) = get(&server.addr, "/karte?subject=lisa%3As4&level=Planungsraum");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        body.contains("Globales Moran&#39;s I = 0,451") || body.contains("Globales Moran's I = 0,451"),
        "Moran's I of child poverty 2019"
    );
    assert!(body.contains("HH: hoch, Nachbarn hoch (Hot Spot)"), "LISA legend");
    let (head, _) = get(&server.addr, "/karte?subject=index%3Amss_2013_2017&year=2015");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (head, _) = get(&server.addr, "/karte?subject=index%3Agibtsnicht");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get(&server.addr, "/karte?subject=indicator%3Agibtsnicht");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get(&server.addr, "/karte?level=Ortsteil");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, body) = get(&server.addr, "/karte?subject=indicator%3As4&method=fisher-jenks&k=5");
    assert!(
        head.starts_with("HTTP/1.1 200") && body.contains("natürliche Brüche (Fisher–Jenks) (Klassengrenzen wie mapclassify)"),
        "{head}"
    );
    // Fisher–Jenks on S4 2019: the first class ends at 10.77922 (as mapclassify).
    assert!(body.contains("bis 10,78"), "FJ bins in the legend");
    let (head, _) = get(&server.addr, "/karte?method=zufall");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (head, _) = get(&server.addr, "/karte?k=99");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    let (head, body) = get(&server.addr, "/karte?variable=%3Cscript%3E");
    assert!(head.starts_with("HTTP/1.1 404") && body.contains("&lt;script&gt;") && !body.contains("<script>"), "escaped");
}

/// Area profile, indicator page, area search and catalogue over HTTP, with their errors.
#[test]
fn demo_profile_indicator_and_search_pages_over_http() {
    let env = Env::new();
    build_demo(&env);
    let server = serve(&env);
    // Search: one hit leads to the profile; several are listed.
    let (head, _) = get(&server.addr, "/gebiete?q=St%C3%BClerstra%C3%9Fe");
    assert!(head.starts_with("HTTP/1.1 303") && head.contains("location: /gebiet/01011101?ebene=Planungsraum"), "{head}");
    let (head, body) = get(&server.addr, "/gebiete?q=tiergarten");
    assert!(head.starts_with("HTTP/1.1 200") && body.contains("Treffer für „tiergarten“") && body.contains("Tiergarten Süd"), "{body}");
    // The profile: breadcrumbs, index classes as published (MSS 2019: Stülerstraße status 2,
    // dynamics +/-), robustness, neighbours, indicators grouped by domain with trends.
    let (head, body) = get(&server.addr, "/gebiet/01011101?ebene=Planungsraum");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    for needle in [
        "<h1>Stülerstraße</h1>",
        "href=\"/gebiet/01?ebene=Bezirk\">Mitte</a>",
        "Tiergarten Süd",
        "Index Soziale Ungleichheit (MSS 2019) 2019",
        "<dd>2 (mittel)</dd>",
        "<dd>+/- (stabil)</dd>",
        "Robustheit (gleiche Klasse bei zufälligen Gewichten)",
        "Nachbargebiete",
        "Lützowstraße",
        "Mit den Nachbargebieten vergleichen",
        "<h2>Arbeit und Einkommen</h2>",
        "15,44",
        "svg class=\"spark\"",
        "ungünstiger als Tiergarten Süd",
    ] {
        assert!(body.contains(needle), "profile lacks {needle}");
    }
    let (head, csv) = get(&server.addr, "/gebiet/01011101?ebene=Planungsraum&format=csv");
    assert!(head.contains("text/csv") && head.contains("attachment; filename=\"gebietsprofil-01011101.csv\""), "{head}");
    assert!(csv.starts_with("\u{feff}Lebensbereich;Indikator;") && csv.contains("Kinderarmut;%;2019;15,44;"), "{csv}");
    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(s, "GET /gebiet/01011101?ebene=Planungsraum&format=xlsx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    assert!(head.contains("spreadsheetml") && raw[split + 4..].starts_with(b"PK"), "an XLSX (zip) file: {head}");
    let (head, csv) = get(&server.addr, "/karte?subject=indicator%3As4&level=Bezirk&year=2019&format=csv");
    assert!(head.contains("text/csv") && csv.starts_with("\u{feff}Rang;Schlüssel;Gebiet;Wert (%);Hinweis"), "{csv}");
    assert_eq!(csv.lines().count(), 13, "12 Bezirke: {csv}");
    let (head, _) = get(&server.addr, "/gebiet/01011101?format=pdf");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // The LISA overlay on the indicator map: significant clusters outlined.
    let (_, body) = get(&server.addr, "/karte?subject=indicator%3As4&level=Planungsraum&year=2019&lisa=1");
    assert!(body.contains("<g class=\"lisa\"") && body.contains("class=\"HH\"") && body.contains("Hot Spot"), "overlay");
    assert!(body.contains("name=\"lisa\" value=\"1\" checked"), "the switch stays on");
    // The workbench: a draft formula checked as `indicators load` checks it, and previewed.
    let (head, body) = get(
        &server.addr,
        "/werkstatt/indikator?id=diff&name=Differenz&formel=s4_percentage_transfer_payments_recipients_below_15_years%20-%20s1_percentage_unemployed&ebene=Bezirk",
    );
    assert!(head.starts_with("HTTP/1.1 200") && body.contains("Geprüft: die Formel ist gültig"), "{body}");
    assert!(
        body.contains("Vorschau 2019 – Bezirk") && body.contains("12 von 12 Gebieten mit Wert") && body.contains("id = &quot;diff&quot;"),
        "{body}"
    );
    let (_, body) = get(&server.addr, "/werkstatt/indikator?id=x&formel=100%20*%20kinder%20%2F%20s1_percentage_unemployed");
    assert!(body.contains("role=\"alert\"") && body.contains("unbekanntes Merkmal „kinder“") && !body.contains("Vorschau"), "{body}");
    let (_, body) = get(&server.addr, "/werkstatt/indikator?von=s4");
    assert!(body.contains("value=\"s4_percentage_transfer_payments_recipients_below_15_years\""), "starts from the stored indicator");
    let (head, _) = get(&server.addr, "/werkstatt/indikator?von=gibtsnicht");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get(&server.addr, "/werkstatt/indikator?id=x&formel=s1_percentage_unemployed&mindestnenner=viele");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // The index draft: the saved MSS definition as a template reproduces its matrix;
    // a weighted draft with a gap in the data names the areas instead of filling zeros.
    let (_, body) = get(&server.addr, "/werkstatt/index?von=mss");
    assert!(
        body.contains("Geprüft und berechnet: 436 von 448 Gebieten bewertet") && body.contains("data-s=\"2\" data-d=\"1\">243"),
        "{body}"
    );
    let draft = "id%20%3D%20%22k%22%0Amethod%20%3D%20%22weighted%22%0Alevel%20%3D%20%22Planungsraum%22%0Adomains%20%3D%20%5B%7B%20indicator%20%3D%20%22s4%22%2C%20weight%20%3D%202%20%7D%5D%0Aclassification%20%3D%20%7B%20method%20%3D%20%22quantiles%22%2C%20k%20%3D%205%20%7D";
    let (_, body) = get(&server.addr, &format!("/werkstatt/index?definition={draft}"));
    assert!(body.contains("role=\"alert\"") && body.contains("keine stillen Nullen") && body.contains("09041403"), "{body}");
    let (_, body) = get(&server.addr, &format!("/werkstatt/index?definition={draft}%0Amissing%20%3D%20%22exclude%22"));
    assert!(body.contains("Geprüft und berechnet") && body.contains("Gebiete je Klasse (class)"), "{body}");
    let (head, _) = get(&server.addr, "/werkstatt/index?von=gibtsnicht");
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    let (head, _) = get(&server.addr, "/werkstatt/index?von=mss&jahr=zwanzig");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // A Bezirk lists its Bezirksregionen.
    let (_, body) = get(&server.addr, "/gebiet/01?ebene=Bezirk");
    assert!(body.contains("Bezirksregion in Mitte (10)"), "children listed");
    // The indicator page: definition, distribution, ranking, time series, table.
    let (head, body) = get(&server.addr, "/indikator/s4?ebene=Planungsraum&jahr=2019&gebiete=01011101");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    for needle in ["<h1>Kinderarmut (%)</h1>", "Formel", "Verteilung 2019", "Höchste Werte", "Zeitreihe", "Stülerstraße", "entfernen"] {
        assert!(body.contains(needle), "indicator page lacks {needle}");
    }
    let (head, csv) = get(&server.addr, "/indikator/s4?ebene=Bezirk&jahr=2019&format=csv");
    assert!(head.contains("text/csv") && csv.lines().count() == 1 + 12 + 1, "12 Bezirke and the total: {csv}");
    let (_, body) = get(&server.addr, "/indikatoren");
    assert!(body.contains("href=\"/indikator/s4\">Kinderarmut</a>"));
    // The map links every area to its profile.
    let (_, body) = get(&server.addr, "/karte?subject=indicator%3As4&level=Planungsraum&year=2019");
    assert!(body.contains("href=\"/gebiet/01011101?ebene=Planungsraum\""), "map areas are links");
    // Compressed for clients that accept gzip; the table view of a map on its own.
    let mut s = TcpStream::connect(&server.addr).unwrap();
    write!(s, "GET /karte HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip, deflate\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let head = String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()]).to_lowercase();
    assert!(head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"), "{head}");
    let (_, body) = get(&server.addr, "/karte?subject=indicator%3As4&ansicht=tabelle");
    assert!(body.contains("id=\"werte\"") && !body.contains("g class=\"areas\"") && body.contains("Zur Karte"), "table view");
    let (head, _) = get(&server.addr, "/karte?ansicht=quatsch");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    // Overview: the MSS 2019 matrix from the reproduced classes (243 areas in status 2 with
    // stable dynamics),
    // areas needing attention, key figures with their spread, data status.
    let (head, body) = get(&server.addr, "/");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    for needle in [
        "<h1>Übersicht</h1>",
        "Index Soziale Ungleichheit (MSS 2019)",
        "data-s=\"2\" data-d=\"1\">243</td>",
        "Besonderer Aufmerksamkeitsbedarf",
        "Kennzahlen",
        "Median",
        "Datenstand",
    ] {
        assert!(body.contains(needle), "overview lacks {needle}");
    }
    let (_, body) = get(&server.addr, "/index/mss");
    assert!(body.contains("Status und Dynamik") && body.contains("Plötzensee") && body.contains("Einzelentscheidung"), "index page");
    let (head, csv) = get(&server.addr, "/index/mss?format=csv");
    assert!(
        head.contains("text/csv") && csv.starts_with("\u{feff}Schlüssel;Gebiet;Status;Dynamik;Grund;robust") && csv.contains("Plötzensee"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 1 + 114, "every area needing attention: {csv}");
    let (_, body) = get(&server.addr, "/vergleich?ebene=Planungsraum&gebiete=01011101,01011102");
    assert!(body.contains("Vergleich: Stülerstraße, Wilhelmstraße") || body.contains("Vergleich: Stülerstraße,"), "compare page");
    assert!(body.contains("svg class=\"dots\""), "dot plots");
    let (_, body) = get(&server.addr, "/daten");
    assert!(body.contains("Importe") && body.contains("inhabitants") || body.contains("Einwohner"), "data page");
    // Bad input: friendly 404 and 400 pages, never a stack trace.
    for (path, status, text) in [
        ("/index/gibtsnicht", "404", "Index „gibtsnicht“ gibt es nicht"),
        ("/vergleich?gebiete=1,2,3,4,5,6,7", "400", "höchstens sechs"),
        ("/vergleich?ebene=Bezirk&gebiete=01,99", "404", "Gebiet „99“"),
        ("/gebiet/99999999", "404", "Gebiet „99999999“ gibt es nicht"),
        ("/gebiet/01011101?ebene=Ortsteil", "404", "auf der Ebene „Ortsteil“ nicht"),
        ("/gebiet/01011101?format=pdf", "400", "unbekanntes Format"),
        ("/indikator/gibtsnicht", "404", "Indikator „gibtsnicht“ gibt es nicht"),
        ("/indikator/s4?jahr=zwanzig", "400", "„zwanzig“ ist kein Jahr"),
        ("/indikator/s4?jahr=1990", "404", "für 1990 gibt es keine Werte"),
        ("/indikator/s4?gebiete=nix", "404", "Gebiet „nix“"),
        ("/indikator/s4?ebene=Ortsteil", "404", "Ebene „Ortsteil“ gibt es nicht"),
    ] {
        let (head, body) = get(&server.addr, path);
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")) && body.contains(text), "{path}: {head}\n{body}");
        assert!(body.contains("href=\"/\""), "{path}: error pages link back");
    }
}

/// Headless Chromium loads the page, runs our script, and the DOM shows its effects.
/// In CI (CI=true) Chromium must be present; elsewhere the test says it was skipped.
#[test]
fn demo_map_page_in_headless_chromium() {
    let Some(chromium) =
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].into_iter().find(|p| std::path::Path::new(p).exists())
    else {
        assert!(std::env::var("CI").is_err(), "CI must install chromium (see .ci/run)");
        eprintln!("SKIPPED: no Chromium found; install it (apt-get install chromium) to run the browser test");
        return;
    };
    let env = Env::new();
    build_demo(&env);
    let server = serve(&env);
    let profile = env.path("chromium-profile");
    let out = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("http://{}/karte?variable=s1_percentage_unemployed&year=2015", server.addr),
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("S1 Arbeitslosigkeit"), "page rendered: {}", &dom[..dom.len().min(500)]);
    // app.js ran: it appends the tooltip element to the body.
    assert!(dom.contains("class=\"tooltip\""), "script did not run");
    assert!(dom.contains("<svg") && dom.contains("aria-labelledby=\"map-title map-desc\""));
    // The area profile a map click leads to renders in the browser too.
    let out = Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=3000",
            "--dump-dom",
            &format!("http://{}/gebiet/01011101?ebene=Planungsraum", server.addr),
        ])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<h1>Stülerstraße</h1>") && dom.contains("class=\"tooltip\""), "profile in the browser");
    assert!(dom.contains("class=\"locator\"") && dom.contains("class=\"spark\""), "locator map and sparklines");
}

#[test]
fn upstream_2017_bezirksregion_table_is_caught_by_the_sum_check() {
    // Regression: the shared 2017 table 2-2 is a copy of 2019's (data/berlin-mss/README.md).
    let env = Env::new();
    build_demo(&env);
    let file = repo_file("data/berlin-mss/berlin-lor-monitoring-social-urban-development-2017-00-2-2.csv");
    let prof = repo_file("data/berlin-mss/mss-profile.toml");
    let out = env
        .run(&[
            "import",
            "data",
            file.to_str().unwrap(),
            "--profile",
            prof.to_str().unwrap(),
            "--year",
            "2017",
            "--level",
            "Bezirksregion",
            "--dry-run",
            "--format",
            "json",
        ])
        .ok();
    let r = json(&out);
    let m = r["total_mismatches"].as_array().unwrap();
    assert!(m.len() >= 138, "{}", m.len());
    assert!(m.iter().any(|x| x["area"] == "010111" && x["level"] == "Bezirksregion"), "{out}");
}

/// The proof of the index method: for every edition, every Planungsraum is rated exactly when
/// the MSS rated it, and gets exactly its published status and dynamics class (table -1).
#[test]
fn mss_index_reproduces_every_published_class() {
    let env = Env::new();
    build_demo(&env);
    for (edition, definition, rated_expected) in [
        (2013, "index-mss-2013-2017.toml", 434),
        (2015, "index-mss-2013-2017.toml", 435),
        (2017, "index-mss-2013-2017.toml", 436),
        (2019, "index-mss-2019.toml", 436),
    ] {
        let def = repo_file(&format!("data/berlin-mss/{definition}"));
        let out = json(
            &env.run(&["index", "compute", "--definition", def.to_str().unwrap(), "--year", &edition.to_string(), "--format", "json"]).ok(),
        );
        let computed: std::collections::HashMap<String, (String, String)> = out
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rated"] == true)
            .map(|r| {
                (
                    r["area_id"].as_str().unwrap().to_string(),
                    (r["status_class"].to_string(), r["dynamics_class"].as_str().unwrap().to_string()),
                )
            })
            .collect();
        let published_path = repo_file(&format!("data/berlin-mss/berlin-lor-monitoring-social-urban-development-{edition}-00-1.csv"));
        let mut rdr = csv_reader(&published_path);
        let mut published = std::collections::HashMap::new();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            // columns: id, name, inhabitants, status_index (class 1–4 as "2.0"), …, dynamik_index (+, +/-, -)
            let class = rec[3].trim_end_matches(".0").to_string();
            published.insert(rec[0].to_string(), (class, rec[5].to_string()));
        }
        assert_eq!(published.len(), rated_expected, "{edition}: published table");
        assert_eq!(computed.len(), rated_expected, "{edition}: rated set size");
        let mut mismatches = Vec::new();
        for (area, expected) in &published {
            match computed.get(area) {
                Some(got) if got == expected => {}
                got => mismatches.push(format!("{area}: published {expected:?}, computed {got:?}")),
            }
        }
        assert!(mismatches.is_empty(), "{edition}: {} mismatches: {:?}", mismatches.len(), &mismatches[..mismatches.len().min(10)]);
    }
}

fn csv_reader(path: &std::path::Path) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(path).unwrap()
}

#[test]
fn index_bad_definitions_are_refused() {
    let env = Env::new();
    build_demo(&env);
    let check = |toml: &str, args: &[&str], expected: &str| {
        let f = env.write("idx.toml", toml);
        let err = env.run(&[&["index", "compute", "--definition", f.to_str().unwrap()][..], args].concat()).fails();
        assert!(err.contains(expected), "{err}");
    };
    let base = "id = \"x\"\nmethod = \"mss\"\nlevel = \"Planungsraum\"\npopulation = \"inhabitants\"\nmin_population = 300\n";
    check(
        &format!("{base}status = [\"s1\"]\nexclude = [{{ area = \"99999999\", reason = \"x\" }}]\n"),
        &[],
        "exclude nennt Gebiete, die es auf Ebene „Planungsraum“ nicht gibt: 99999999",
    );
    // S2 does not exist in 2019: the missing values are named, never taken as zero.
    check(&format!("{base}status = [\"s2\"]\n"), &["--year", "2019"], "Werte fehlen bei bewerteten Gebieten 2019");
    check(&format!("{base}status = [\"gibtsnicht\"]\n"), &[], "Indikator „gibtsnicht“ gibt es nicht");
    check("id = \"x\"\nmethod = \"mss\"\n", &[], "status");
}

#[test]
fn svi_and_imd_style_indices_on_berlin() {
    let env = Env::new();
    build_demo(&env);
    let svi = json(
        &env.run(&[
            "index",
            "compute",
            "--definition",
            repo_file("data/berlin-mss/index-svi-style.toml").to_str().unwrap(),
            "--year",
            "2019",
            "--format",
            "json",
        ])
        .ok(),
    );
    let rows = svi.as_array().unwrap();
    let rated: Vec<&serde_json::Value> = rows.iter().filter(|r| r["rated"] == true).collect();
    // 448 areas: 09041403 has no population, 10010203 is excluded.
    assert_eq!(rated.len(), 446);
    // Highest child poverty (Gewerbegebiet Köllnische Heide, 77.19 %) has EPL 1 and a flag.
    let top = rows.iter().find(|r| r["area_id"] == "08010510").unwrap();
    assert_eq!((top["EPL_s4"].as_f64(), top["F_s4"].as_u64()), (Some(1.0), Some(1)));
    assert!(rated.iter().all(|r| (0.0..=1.0).contains(&r["RPL_THEMES"].as_f64().unwrap())));
    let imd = json(
        &env.run(&[
            "index",
            "compute",
            "--definition",
            repo_file("data/berlin-mss/index-imd-style.toml").to_str().unwrap(),
            "--year",
            "2019",
            "--format",
            "json",
        ])
        .ok(),
    );
    let rated: Vec<&serde_json::Value> = imd.as_array().unwrap().iter().filter(|r| r["rated"] == true).collect();
    // At least 300 inhabitants: the 436 areas the MSS rated plus its two named outliers.
    assert_eq!(rated.len(), 438);
    let first = rated.iter().find(|r| r["imd_rank"] == 1).unwrap();
    let max = rated.iter().map(|r| r["imd_score"].as_f64().unwrap()).fold(f64::MIN, f64::max);
    assert_eq!(first["imd_score"].as_f64().unwrap(), max);
    assert_eq!(first["imd_decile"], 1);
    assert!(rated.iter().any(|r| r["imd_decile"] == 10));
    // Weights that do not sum as declared.
    let bad = env.write("imd.toml", "id = \"x\"\nmethod = \"imd\"\nweights_sum = 100\ndomains = [{ indicator = \"s1\", weight = 50 }, { indicator = \"s4\", weight = 40 }]\n");
    let err = env.run(&["index", "compute", "--definition", bad.to_str().unwrap()]).fails();
    assert!(err.contains("die Gewichte ergeben 90, erklärt ist weights_sum = 100"), "{err}");
}

#[test]
fn mss_robustness_is_seeded_and_names_the_choices() {
    let env = Env::new();
    build_demo(&env);
    let def = repo_file("data/berlin-mss/index-mss-2019.toml");
    let args = ["index", "robustness", "--definition", def.to_str().unwrap(), "--runs", "200", "--seed", "7", "--format", "json"];
    let a = env.run(&args).ok();
    assert_eq!(a, env.run(&args).ok(), "same seed, same result");
    let rows = json(&a);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 436, "every rated Planungsraum");
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r["same_class_share_weights"].as_f64().unwrap())));
    let fragile: Vec<_> = rows.iter().filter(|r| r["depends_on_single_choice"] == true).collect();
    assert!(!fragile.is_empty() && fragile.len() < 436);
    assert!(fragile.iter().all(|r| r["changes_when_left_out"] != "" || r["changes_with_population"] != ""));
    // IMD-style: deciles recomputed under random weights, each domain left out, other
    // rating populations; seeded.
    let imd = repo_file("data/berlin-mss/index-imd-style.toml");
    let args = ["index", "robustness", "--definition", imd.to_str().unwrap(), "--runs", "50", "--seed", "3", "--format", "json"];
    let a = env.run(&args).ok();
    assert_eq!(a, env.run(&args).ok(), "same seed, same result");
    let rows = json(&a);
    let rows = rows.as_array().unwrap();
    let rated = json(&env.run(&["index", "compute", "--definition", imd.to_str().unwrap(), "--format", "json"]).ok());
    let rated = rated.as_array().unwrap().iter().filter(|r| r["rated"] == true).count();
    assert_eq!(rows.len(), rated, "as many as the index rates");
    assert!(rows.iter().all(|r| (1..=10).contains(&r["imd_decile"].as_i64().unwrap())));
    let shares: Vec<f64> = rows.iter().map(|r| r["same_class_share_weights"].as_f64().unwrap()).collect();
    assert!(shares.contains(&1.0) && shares.iter().any(|s| *s < 1.0), "some deciles hold, some move");
    assert!(rows.iter().any(|r| r["changes_when_left_out"].as_str().unwrap().contains("s1")), "leaving out s1 moves some");
}

#[test]
fn svi_and_gisd_robustness_vary_theme_and_dimension_weights() {
    let env = Env::new();
    build_demo(&env);
    // SVI-style: CDC's quartile classes of RPL_THEMES under random theme weights, each
    // variable left out, the exclusion lifted.
    let svi = repo_file("data/berlin-mss/index-svi-style.toml");
    let computed = json(&env.run(&["index", "compute", "--definition", svi.to_str().unwrap(), "--format", "json"]).ok());
    for r in computed.as_array().unwrap().iter().filter(|r| r["rated"] == true) {
        let rpl = r["RPL_THEMES"].as_f64().unwrap();
        let want = if rpl <= 0.25 {
            1
        } else if rpl <= 0.5 {
            2
        } else if rpl <= 0.75 {
            3
        } else {
            4
        };
        assert_eq!(r["svi_class"], want, "{r}");
    }
    let args = ["index", "robustness", "--definition", svi.to_str().unwrap(), "--runs", "40", "--seed", "5", "--format", "json"];
    let out = env.run(&args).ok();
    assert_eq!(out, env.run(&args).ok(), "same seed, same result");
    let rows = json(&out);
    let rows = rows.as_array().unwrap();
    assert!(rows.iter().all(|r| (1..=4).contains(&r["svi_class"].as_i64().unwrap())));
    let shares: Vec<f64> = rows.iter().map(|r| r["same_class_share_weights"].as_f64().unwrap()).collect();
    assert!(shares.contains(&1.0) && shares.iter().any(|s| *s < 1.0), "theme weights move some classes");
    for ind in ["s1", "s3", "s4"] {
        assert!(rows.iter().any(|r| r["changes_when_left_out"].as_str().unwrap().split(' ').any(|x| x == ind)), "{ind}");
    }
    assert!(rows.iter().any(|r| r["changes_with_population"] == "ohne Ausschlüsse"));
    // GISD-style: quintiles under random dimension weights; each indicator of a dimension
    // left out (anchors pass on); half and double the minimum population.
    let gisd = repo_file("data/berlin-mss/index-gisd-style.toml");
    let args = ["index", "robustness", "--definition", gisd.to_str().unwrap(), "--runs", "30", "--seed", "5", "--format", "csv"];
    let out = env.run(&args).ok();
    let header = out.lines().next().unwrap();
    assert_eq!(
        header,
        "area_id,year,quintile,same_class_share_weights,changes_when_left_out,changes_with_population,depends_on_single_choice"
    );
    assert!(out.contains("s1") && out.contains("Mindesteinwohnerzahl 600"), "{}", &out[..out.len().min(2000)]);
    // A non-positive theme weight is refused before anything runs.
    let bad = env.write("svi.toml", "id = \"x\"\nmethod = \"svi\"\nthemes = [{ name = \"a\", indicators = [\"s1\"], weight = 0 }]\n");
    let err = env.run(&["index", "robustness", "--definition", bad.to_str().unwrap()]).fails();
    assert!(err.contains("„a“: weight muss positiv sein"), "{err}");
}

#[test]
fn area_types_ward_equals_scipy_and_kmeans_is_seeded() {
    let env = Env::new();
    build_demo(&env);
    let base =
        ["index", "cluster", "--indicators", "s1,s3,s4", "--year", "2019", "--level", "Planungsraum", "--k", "4", "--format", "json"];
    let ward = json(&env.run(&[&base[..], &["--method", "ward"]].concat()).ok());
    // scipy 1.17: fcluster(linkage(z, "ward"), 4, "maxclust") on the z-scores of S1, S3, S4 (2019,
    // 447 Planungsräume, population SD) gives clusters of 216, 126, 72 and 33 areas; the
    // partition is the same area by area (checked while writing this test).
    let sizes: Vec<u64> = ward["clusters"].as_array().unwrap().iter().map(|c| c["size"].as_u64().unwrap()).collect();
    assert_eq!(sizes, [216, 126, 72, 33]);
    assert_eq!(ward["areas_without_all_values"], serde_json::json!(["09041403"]));
    assert!(ward["clusters"][0]["profile"].as_str().unwrap().starts_with("niedrig: "), "{}", ward["clusters"][0]);
    let k1 = env.run(&[&base[..], &["--method", "kmeans", "--seed", "3"]].concat()).ok();
    assert_eq!(k1, env.run(&[&base[..], &["--method", "kmeans", "--seed", "3"]].concat()).ok());
    assert!(json(&k1)["silhouette_mean"].as_f64().unwrap() > 0.3);
    let err = env.run(&["index", "cluster", "--indicators", "s1", "--year", "2019", "--level", "Bezirk", "--k", "20"]).fails();
    assert!(err.contains("für 20 Gebietstypen"), "{err}");
}

#[test]
fn gisd_style_index_equals_numpy() {
    let env = Env::new();
    build_demo(&env);
    let def = repo_file("data/berlin-mss/index-gisd-style.toml");
    let run = env.run(&["index", "compute", "--definition", def.to_str().unwrap(), "--year", "2013", "--format", "json"]);
    let out = json(&run.ok());
    // Reference: numpy 2.4 (eigh of the correlation matrix of the sample-standardised
    // indicators, sign by the anchor, min–max, sum, min–max; quantile(method =
    // "normal_unbiased") breaks, searchsorted right, clipped 1–5) on the 435 Planungsräume with
    // at least 300 inhabitants in 2013: max |Δscore| 3e-16, no quintile differs.
    let rated: Vec<&serde_json::Value> = out.as_array().unwrap().iter().filter(|r| r["rated"] == true).collect();
    assert_eq!(rated.len(), 435);
    let score = |a: &str| rated.iter().find(|r| r["area_id"] == a).unwrap()["score"].as_f64().unwrap();
    assert!((score("01011101") - 0.3127446708141047).abs() < 1e-12);
    assert!((score("08010118") - 0.7823492934208253).abs() < 1e-12);
    for q in 1..=5 {
        assert_eq!(rated.iter().filter(|r| r["quintile"] == q).count(), 87, "quintile {q}");
    }
    // Explained variance and loadings are reported (numpy: 92.7 %, loadings 0.589 0.581 0.561).
    assert!(
        run.stderr()
            .contains("Dimension arbeit: erste Hauptkomponente erklärt 92.7 % der Varianz; Ladungen: s1 0.589, s2 0.581, k01 0.561"),
        "{}",
        run.stderr()
    );
}

#[test]
fn weighted_index_with_dimensions_and_listwise_exclusion() {
    let env = Env::new();
    build_demo(&env);
    let def = repo_file("data/berlin-mss/index-weighted-children.toml");
    let out = json(&env.run(&["index", "compute", "--definition", def.to_str().unwrap(), "--year", "2013", "--format", "json"]).ok());
    let rows = out.as_array().unwrap();
    let a = rows.iter().find(|r| r["area_id"] == "01011103").unwrap();
    let n = |k: &str| a[k].as_f64().unwrap();
    // Weights 2, 1, 1, 1 over the normalised indicators; sub-index "familie" = mean of k02, k13.
    assert!((n("index") - (2.0 * n("s4_norm") + n("k02_norm") + n("k13_norm") + n("k04_norm")) / 5.0).abs() < 1e-12);
    assert!((n("sub_familie") - (n("k02_norm") + n("k13_norm")) / 2.0).abs() < 1e-12);
    // K13 (Wanderungssaldo of children) is higher_is_better: a negative balance means need.
    assert!(n("k13_value") < 0.0 && n("k13_norm") > 0.0);
    assert!((0..5).contains(&a["class"].as_u64().unwrap()));
    let excluded: Vec<_> = rows.iter().filter(|r| r["reason_not_rated"].as_str().is_some_and(|s| s.starts_with("Werte fehlen"))).collect();
    assert!(!excluded.is_empty(), "listwise exclusion is reported");
    let rated = rows.iter().filter(|r| r["rated"] == true).count();
    let ranks: std::collections::HashSet<u64> = rows.iter().filter_map(|r| r["rank"].as_u64()).collect();
    assert!(ranks.contains(&1) && ranks.len() <= rated);
}

#[test]
fn copy_to_postgresql_and_back_gives_the_same_listings() {
    let Some(pg) = Env::on_postgres() else { return };
    let env = Env::new();
    build_demo(&env);
    let url = pg.database.clone().unwrap();
    let out = env.run(&["copy", "--to", &url]).ok();
    assert!(out.contains("Kopiert und geprüft: 22 Tabellen"), "{out}");
    let back = Env::new();
    let out = pg.run(&["copy", "--to", back.db().to_str().unwrap()]).ok();
    assert!(out.contains("value ") && out.contains("Kopiert und geprüft"), "{out}");
    let def = repo_file("data/berlin-mss/index-mss-2019.toml");
    let listings: Vec<Vec<&str>> = vec![
        vec!["areas", "list", "--format", "csv"],
        vec!["data", "list", "--format", "csv"],
        vec!["data", "show", "--variable", "s1_percentage_unemployed", "--format", "csv"],
        vec!["indicators", "compute", "--level", "Bezirksregion", "--format", "csv"],
        vec!["index", "compute", "--definition", def.to_str().unwrap(), "--year", "2019", "--format", "csv"],
        vec!["offers", "list", "--format", "csv"],
        vec!["log"],
    ];
    for args in listings {
        let original = env.run(&args).ok();
        assert!(!original.is_empty(), "{args:?}");
        assert_eq!(pg.run(&args).ok(), original, "PostgreSQL copy: {args:?}");
        assert_eq!(back.run(&args).ok(), original, "copy back to SQLite: {args:?}");
    }
    // Only into an empty database.
    let err = env.run(&["copy", "--to", &url]).fails();
    assert!(err.contains("Das Ziel ist nicht leer") && err.contains("value ("), "{err}");
}
