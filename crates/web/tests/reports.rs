//! Berichte over HTTP (router without a socket): a report definition made in the form, kept
//! in the database, generated in the background as the CLI makes it; each kind of bad input
//! and conflict; and the routes closed to every role but planning and administration.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use quartier_app::store::Store;
use quartier_app::store::testing::{batch, row};
use quartier_core::Cell;

#[macro_use]
mod support;
use support::*;

/// Children and children in SGB II for the three Sozialräume, 2023 and 2024, and the
/// child-poverty indicator.
fn with_child_poverty(site: &Site) {
    let mut s = site.store();
    let mut rows = Vec::new();
    for (i, (area, kids, poor)) in [("0101", 120.0, 30.0), ("0102", 80.0, 8.0), ("0201", 200.0, 70.0)].into_iter().enumerate() {
        for (j, year) in [2023, 2024].into_iter().enumerate() {
            let line = 2 + i * 4 + j * 2;
            rows.push(row(area, year, "kinder_unter_15", Cell::Number(kids), line));
            rows.push(row(area, year, "kinder_sgb_ii", Cell::Number(poor + j as f64), line + 1));
        }
    }
    s.apply_data(&batch(rows), false).unwrap();
    save_child_poverty(&mut s);
}

/// The form's fields for a small report on child poverty.
fn form<'a>(csrf: &'a str, stand: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("stand", stand),
        ("gespeichert", "0"),
        ("name", "kinderarmut-2024"),
        ("titel", "Bericht Kinderarmut"),
        ("kommune", "Musterstadt"),
        ("ausgabe", "2024"),
        ("ebene", "Sozialraum"),
        ("jahr", "2024"),
        ("vergleichsjahr", "2023"),
        ("oeffentlich", "1"),
        ("einleitung", "Die **Lage** der Kinder."),
        ("kapitel_1_titel", "Armut"),
        ("kapitel_1_indikator", "kinderarmut"),
        ("kapitel_1_text", "Text zum Kapitel."),
        ("steckbriefe", "none"),
        ("aktion", "speichern"),
    ]
}

/// Asks for a generated file until it is ready (one router: the server keeps its jobs).
async fn wait_for_file(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>, String) {
    for _ in 0..600 {
        let res = app.clone().oneshot_get(uri).await;
        if res.0 != StatusCode::ACCEPTED {
            return res;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{uri}: not ready after 30 s");
}

trait Get {
    async fn oneshot_get(self, uri: &str) -> (StatusCode, Vec<u8>, String);
}

impl Get for axum::Router {
    async fn oneshot_get(self, uri: &str) -> (StatusCode, Vec<u8>, String) {
        use http_body_util::BodyExt;
        use tower::ServiceExt;
        let res = self.oneshot(Request::get(uri).header(header::HOST, HOST).body(Body::empty()).unwrap()).await.unwrap();
        let status = res.status();
        let ct = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
        (status, res.into_body().collect().await.unwrap().to_bytes().to_vec(), ct)
    }
}

async fn a_report_made_in_the_form_is_kept_and_generated(backend: Backend) {
    let site = Site::new(backend);
    with_child_poverty(&site);
    let (status, page) = site.get("/berichte").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Noch keine Berichtsdefinition"), "{page}");
    let (_, page) = site.get("/berichte/neu").await;
    assert!(page.contains("name=\"kapitel_1_indikator\" value=\"kinderarmut\""), "the catalogue to pick from: {page}");
    let (csrf, stand) = (hidden(&page, "csrf"), hidden(&page, "stand"));
    // Adding a chapter shows the form again with it, nothing saved.
    let mut f = form(&csrf, &stand);
    f.retain(|(k, _)| *k != "aktion");
    f.push(("aktion", "kapitel_neu"));
    let (status, page, _) = site.post("/berichte", &f).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Kapitel 2") && page.contains("value=\"Bericht Kinderarmut\""), "{page}");
    // Saved.
    let (status, _, location) = site.post("/berichte", &form(&csrf, &stand)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/berichte/kinderarmut-2024?gespeichert=1"));
    let stored = tokio::task::block_in_place(|| quartier_report::library::get(&site.store(), "kinderarmut-2024")).unwrap().unwrap();
    let def = quartier_report::definition::ReportDefinition::from_toml(&stored).unwrap();
    assert_eq!((def.level.as_deref(), def.year, def.since, def.public), (Some("Sozialraum"), Some(2024), Some(2023), true));
    assert_eq!(def.chapters[0].indicators, ["kinderarmut"]);
    // The TOML download is what the CLI reads.
    let (status, toml, ct) = site.app().oneshot_get("/berichte/kinderarmut-2024/definition.toml").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/toml; charset=utf-8"));
    assert_eq!(String::from_utf8(toml).unwrap(), stored);
    // The PDF: generated in the background (202 and a progress page first), then the file —
    // the same bytes as the CLI's `report --name` (the same render from the same store).
    let app = site.app();
    let (status, body, _) = app.clone().oneshot_get("/berichte/kinderarmut-2024/datei/pdf").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("wird erstellt") && page.contains("role=\"status\""), "{page}");
    let (status, pdf, ct) = wait_for_file(&app, "/berichte/kinderarmut-2024/datei/pdf").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    let expected = tokio::task::block_in_place(|| {
        let s = site.db.open_read_only().unwrap();
        quartier_report::render(&*s, &def, quartier_report::Format::Pdf, &mut |_| {}).unwrap()
    });
    assert_eq!(pdf, expected, "the browser's PDF is the CLI's");
    let t = std::time::Instant::now();
    let (status, again, _) = app.clone().oneshot_get("/berichte/kinderarmut-2024/datei/pdf").await;
    assert_eq!((status, again.len()), (StatusCode::OK, pdf.len()));
    assert!(t.elapsed().as_millis() < 1000, "the second download is kept");
    // The preview carries the computed numbers (0201: 71 of 200 children = 35,5 %).
    let (status, html, _) = wait_for_file(&app, "/berichte/kinderarmut-2024/vorschau").await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("35,5") && html.contains("<strong>Lage</strong>"), "{html}");
    // Markdown preview: as the report shows it, raw HTML escaped.
    let (status, snippet, _) = site.post("/berichte/markdown", &[("csrf", &csrf), ("text", "**fett** <script>x</script>")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(snippet.contains("<strong>fett</strong>") && snippet.contains("&lt;script&gt;") && !snippet.contains("<script>"), "{snippet}");
    // Saved and later removed: both in the audit log.
    let (_, edit) = site.get("/berichte/kinderarmut-2024").await;
    let (status, _, _) = site.post("/berichte/kinderarmut-2024/entfernen", &[("csrf", &hidden(&edit, "csrf"))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let log = site.store().audit_log().unwrap();
    assert!(log.iter().any(|e| e.action == "Einstellung gespeichert" && e.object == "Einstellung report:kinderarmut-2024"));
    assert!(log.iter().any(|e| e.action == "Einstellung entfernt"));
    assert_eq!(site.get("/berichte/kinderarmut-2024").await.0, StatusCode::NOT_FOUND);
}

async fn bad_definitions_get_messages_at_their_fields_and_change_nothing(backend: Backend) {
    let site = Site::new(backend);
    with_child_poverty(&site);
    let (_, page) = site.get("/berichte/neu").await;
    let (csrf, stand) = (hidden(&page, "csrf"), hidden(&page, "stand"));
    // (what, changed fields, message, the field's element id)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        ("missing title", vec![("titel", "")], "Der Titel fehlt.", "f-titel"),
        ("empty chapter", vec![("kapitel_1_indikator", "")], "Kapitel 1 nennt keine Indikatoren.", "f-kapitel-1-indikatoren"),
        ("year without values", vec![("jahr", "2031")], "Für 2031 fehlen", "f-jahr"),
        ("comparison after the year", vec![("vergleichsjahr", "2024"), ("jahr", "2023")], "muss vor dem Berichtsjahr", "f-vergleichsjahr"),
        ("unknown index", vec![("index", "sozialindex")], "Index „sozialindex“ ist nicht gespeichert.", "f-index"),
        ("unknown profile area", vec![("steckbriefe", "list"), ("steckbriefe_gebiete", "0101, 9999")], "9999", "f-steckbriefe"),
        ("bad name", vec![("name", "Bericht 2024")], "Kleinbuchstaben", "f-name"),
        ("threshold below 1", vec![("schwelle", "0,5")], "Geheimhaltungsschwelle", "f-schwelle"),
    ];
    for (what, changes, message, field) in cases {
        let mut f: Vec<(&str, &str)> = form(&csrf, &stand);
        for (k, v) in &changes {
            f.retain(|(key, _)| key != k);
            if !v.is_empty() {
                f.push((k, v));
            }
        }
        let (status, page, _) = site.post("/berichte", &f).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(page.contains(message), "{what}: {message} in {page}");
        assert!(page.contains("role=\"alert\"") && page.contains(&format!("href=\"#{field}\"")), "{what}: summary links to {field}");
        assert!(page.contains(&format!("id=\"{field}\"")), "{what}: the field {field} is on the page");
    }
    assert!(tokio::task::block_in_place(|| quartier_report::library::list(&site.store())).unwrap().is_empty(), "nothing saved");
    // Saved once; a second new one of the same name, and an edit from a stale form, are refused.
    site.post("/berichte", &form(&csrf, &stand)).await;
    let (status, page, _) = site.post("/berichte", &form(&csrf, &stand)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("gibt es schon"), "{page}");
    let (_, edit) = site.get("/berichte/kinderarmut-2024").await;
    let old_stand = hidden(&edit, "stand");
    let mut first = form(&csrf, &old_stand);
    first.retain(|(k, _)| *k != "gespeichert" && *k != "titel");
    first.extend([("gespeichert", "1"), ("titel", "Erste Änderung")]);
    assert_eq!(site.post("/berichte", &first).await.0, StatusCode::SEE_OTHER);
    let mut second = form(&csrf, &old_stand);
    second.retain(|(k, _)| *k != "gespeichert" && *k != "titel");
    second.extend([("gespeichert", "1"), ("titel", "Zweite Änderung")]);
    let (status, page, _) = site.post("/berichte", &second).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("inzwischen von jemand anderem geändert"), "{page}");
    let stored = tokio::task::block_in_place(|| quartier_report::library::get(&site.store(), "kinderarmut-2024")).unwrap().unwrap();
    assert!(stored.contains("Erste Änderung"), "the first change stays: {stored}");
    // An uploaded TOML file is checked the same way.
    let (status, page, _) = site
        .upload_to(
            "/berichte/hochladen",
            None,
            &[("csrf", &csrf), ("name", "aus-datei")],
            "b.toml",
            b"title = \"B\"\nmunicipality = \"M\"\nedition = \"1\"\n[[chapter]]\ntitle = \"A\"\nindicators = [\"gibtsnicht\"]\n",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("„gibtsnicht“ steht nicht im Katalog"), "{page}");
    let (status, _, location) = site
        .upload_to(
            "/berichte/hochladen",
            None,
            &[("csrf", &csrf), ("name", "aus-datei")],
            "b.toml",
            stored.replace("Erste Änderung", "Aus der Datei").as_bytes(),
        )
        .await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/berichte/aus-datei?gespeichert=1")));
}

async fn berichte_are_closed_to_every_role_but_planning_and_administration(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    with_child_poverty(&site);
    {
        let mut s = site.store();
        s.add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("planerin", Role::Planner, None, "Linden-Allee-Bank-12").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
        s.add_user("fachbereich", Role::Department, None, "Jugendamt-Flur-3b").unwrap();
        s.add_user("awo", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
        s.set_setting(
            "report:b",
            "title = \"B\"\nmunicipality = \"M\"\nedition = \"1\"\nlevel = \"Sozialraum\"\n[[chapter]]\ntitle = \"A\"\nindicators = [\"kinderarmut\"]\n",
        )
        .unwrap();
    }
    let gets = [
        "/berichte",
        "/berichte/neu",
        "/berichte/b",
        "/berichte/b/definition.toml",
        "/berichte/b/vorschau",
        "/berichte/b/datei/pdf",
        "/berichte/b/stand/pdf",
    ];
    let posts = ["/berichte", "/berichte/markdown", "/berichte/b/entfernen"];
    for (name, password) in [("leser", "Ahornweg-Brunnen-7"), ("fachbereich", "Jugendamt-Flur-3b"), ("awo", "Kastanie-Flur-Bank-8")] {
        let (_, cookie) = site.sign_in(name, password, &[]).await;
        let cookie = cookie.unwrap();
        let csrf = hidden(&site.get_as(&cookie, "/konto").await, "csrf");
        for uri in gets {
            let req = Request::get(uri)
                .header(header::HOST, HOST)
                .header(header::COOKIE, cookie.split(';').next().unwrap())
                .body(Body::empty())
                .unwrap();
            let (status, _) = site.send(req).await.into_status();
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} → GET {uri}");
        }
        for uri in posts {
            let (status, _) = site.post_as(&cookie, uri, &[("csrf", &csrf), ("name", "x"), ("text", "x"), ("aktion", "speichern")]).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} → POST {uri}");
        }
        let (status, _, _) =
            site.upload_to("/berichte/hochladen", Some(&cookie), &[("csrf", &csrf), ("name", "x")], "x.toml", b"title = \"x\"").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name} → upload");
    }
    assert!(site.store().settings_with_prefix("report:").unwrap().len() == 1, "nothing changed");
    for (name, password) in [("planerin", "Linden-Allee-Bank-12"), ("chefin", "Rathaus-Turm-Uhr-1903")] {
        let (_, cookie) = site.sign_in(name, password, &[]).await;
        let page = site.get_as(&cookie.unwrap(), "/berichte").await;
        assert!(page.contains("<h1>Berichte</h1>") && page.contains("/berichte/b/datei/pdf"), "{name}: {page}");
    }
    // Signed out: the sign-in page, not the reports.
    let (status, _) = site.get("/berichte").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

async fn profiles_and_funding_sheets_come_from_the_pages_that_show_them(backend: Backend) {
    let mut site = Site::new(backend);
    with_child_poverty(&site);
    let (_, page) = site.get("/gebiet/0101?ebene=Sozialraum").await;
    assert!(
        page.contains("/gebiet/0101/steckbrief.pdf?ebene=Sozialraum")
            && page.contains("/gebiet/0101/datenblatt?ebene=Sozialraum&amp;format=pdf"),
        "{page}"
    );
    let (_, list) = site.get("/gebiete").await;
    assert!(list.contains("href=\"/steckbriefe/Sozialraum\""), "{list}");
    // One area's profile and funding sheet, as the CLI makes them from the same definition.
    let expected = |public: Option<f64>| {
        tokio::task::block_in_place(|| {
            let s = site.db.open_read_only().unwrap();
            let name = quartier_report::library::reference_name(&*s).unwrap();
            assert_eq!(name, "allen Gebieten", "two Stadtteile, no setting: no single name");
            let def = quartier_report::library::profile_definition(&*s, "Sozialraum", public, &name).unwrap();
            quartier_report::render_profiles(&*s, &def, Some(vec!["0101".into()]), quartier_report::Format::Pdf, &mut |_| {}).unwrap()
        })
    };
    let internal = expected(None);
    let app = site.app();
    let (status, pdf, ct) = app.clone().oneshot_get("/gebiet/0101/steckbrief.pdf?ebene=Sozialraum").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/pdf"));
    assert_eq!(pdf, internal);
    let (status, html, ct) = app.clone().oneshot_get("/gebiet/0101/datenblatt?ebene=Sozialraum&format=html").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "text/html; charset=utf-8"));
    assert!(String::from_utf8(html).unwrap().contains("Gebiet 0101"));
    let (status, pdf, _) = app.clone().oneshot_get("/gebiet/0101/datenblatt?ebene=Sozialraum&format=pdf").await;
    assert_eq!((status, &pdf[..5]), (StatusCode::OK, &b"%PDF-"[..]));
    assert_eq!(app.clone().oneshot_get("/gebiet/9999/steckbrief.pdf").await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.clone().oneshot_get("/gebiet/0101/datenblatt?format=docx").await.0, StatusCode::BAD_REQUEST);
    // All profiles of a level: in the background, then one PDF.
    let (status, body, _) = app.clone().oneshot_get("/steckbriefe/Sozialraum").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{}", String::from_utf8_lossy(&body));
    let (status, all, _) = wait_for_file(&app, "/steckbriefe/Sozialraum").await;
    assert_eq!((status, &all[..5]), (StatusCode::OK, &b"%PDF-"[..]));
    assert!(all.len() > internal.len(), "three profiles, not one");
    assert_eq!(app.clone().oneshot_get("/steckbriefe/Ortsteil").await.0, StatusCode::NOT_FOUND);
    // The public view: with disclosure control, as its pages.
    site.public = Some(3.0);
    let (status, public, _) = site.app().oneshot_get("/gebiet/0101/steckbrief.pdf?ebene=Sozialraum").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(public, expected(Some(3.0)));
}

async fn open_data_from_the_browser_is_the_cli_export(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    with_child_poverty(&site);
    let (status, page) = site.get("/offene-daten").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"indikator\" value=\"kinderarmut\""), "{page}");
    // Preview: with a threshold of 10, the 9 poor children of 0102 are withheld, and 0101 with
    // them (else Stadtteil 01's total would give 0102 away: secondary suppression).
    let (status, page) = site.get("/offene-daten?ebene=Sozialraum&jahr=2024&indikator=kinderarmut&schwelle=10").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Was veröffentlicht und was gesperrt wird"), "{page}");
    let row = page.split("<th scope=\"row\">Kinderarmut</th>").nth(1).unwrap();
    assert!(row.starts_with("<td class=\"num\">1</td><td class=\"num\">2</td>"), "1 shown, 2 withheld: {row}");
    // The ZIP holds exactly the CLI's files.
    let uri = "/offene-daten/zip?ebene=Sozialraum&jahr=2024&indikator=kinderarmut&schwelle=10&name=kinder&titel=Kinder&herausgeber=Stadt&gebiet=Musterstadt";
    let (status, zip, ct) = site.app().oneshot_get(uri).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/zip"));
    let expected = tokio::task::block_in_place(|| {
        let s = site.db.open_read_only().unwrap();
        let req = quartier_report::opendata::Request {
            base_url: None,
            level: "Sozialraum".into(),
            years: vec![2024],
            indicators: vec!["kinderarmut".into()],
            threshold: 10.0,
            name: "kinder".into(),
            title: "Kinder".into(),
            description: "Indikatoren der integrierten Sozialplanung.".into(),
            publisher: "Stadt".into(),
            licence: "http://dcat-ap.de/def/licenses/dl-by-de/2.0".into(),
            spatial: "Musterstadt".into(),
        };
        let files = quartier_report::opendata::export(&*s, &req).unwrap();
        assert_eq!(files.len(), 4, "CSV, German CSV, GeoJSON, metadata");
        quartier_report::opendata::zip(&files)
    });
    assert_eq!(zip, expected);
    // Several years: both in the preview, both in the ZIP as in the CLI's export.
    let (_, page) = site.get("/offene-daten?ebene=Sozialraum&jahr=2023&jahr=2024&indikator=kinderarmut&schwelle=10").await;
    assert!(page.contains("<td>2023</td>") && page.contains("<td>2024</td>") && page.contains("ZIP herunterladen"), "{page}");
    let (status, zip, _) =
        site.app().oneshot_get("/offene-daten/zip?ebene=Sozialraum&jahr=2024&jahr=2023&indikator=kinderarmut&schwelle=10").await;
    assert_eq!(status, StatusCode::OK);
    let expected = tokio::task::block_in_place(|| {
        let s = site.db.open_read_only().unwrap();
        let req = quartier_report::opendata::Request {
            base_url: None,
            level: "Sozialraum".into(),
            years: vec![2023, 2024],
            indicators: vec!["kinderarmut".into()],
            threshold: 10.0,
            name: "sozialmonitoring".into(),
            title: "Sozialmonitoring".into(),
            description: "Indikatoren der integrierten Sozialplanung.".into(),
            publisher: String::new(),
            licence: "http://dcat-ap.de/def/licenses/dl-by-de/2.0".into(),
            spatial: String::new(),
        };
        quartier_report::opendata::zip(&quartier_report::opendata::export(&*s, &req).unwrap())
    });
    assert_eq!(zip, expected);
    // A year without values: named in the preview, no download offered; the ZIP refused.
    let (_, page) = site.get("/offene-daten?ebene=Sozialraum&jahr=2019&jahr=2024&indikator=kinderarmut").await;
    assert!(page.contains("2019 gibt es keine Daten") && !page.contains("ZIP herunterladen"), "{page}");
    let (status, page) = site.get("/offene-daten/zip?ebene=Sozialraum&jahr=2019").await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("2019 gibt es keine Daten"), "{page}");
    // Bad input: an unknown level, a bad threshold, an unsafe file name.
    for (bad, message) in [
        ("/offene-daten/zip?ebene=Ortsteil", "Ebene „Ortsteil“ gibt es nicht"),
        ("/offene-daten?ebene=Sozialraum&schwelle=0", "Geheimhaltungsschwelle"),
        ("/offene-daten/zip?ebene=Sozialraum&name=..%2Fx", "Dateiname"),
    ] {
        let (status, page) = site.get(bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(page.contains(message), "{bad}: {page}");
    }
    // Readers may not publish.
    site.store().add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
    let (_, cookie) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let cookie = cookie.unwrap();
    for uri in ["/offene-daten", "/offene-daten/zip?ebene=Sozialraum"] {
        let req = Request::get(uri)
            .header(header::HOST, HOST)
            .header(header::COOKIE, cookie.split(';').next().unwrap())
            .body(Body::empty())
            .unwrap();
        assert_eq!(site.send(req).await.0, StatusCode::FORBIDDEN, "{uri}");
    }
}

on_both_backends!(
    open_data_from_the_browser_is_the_cli_export,
    profiles_and_funding_sheets_come_from_the_pages_that_show_them,
    a_report_made_in_the_form_is_kept_and_generated,
    bad_definitions_get_messages_at_their_fields_and_change_nothing,
    berichte_are_closed_to_every_role_but_planning_and_administration,
);

/// The password shown once on the accounts page.
fn shown_password(page: &str) -> String {
    let start = page.find("<code class=\"secret\">").unwrap_or_else(|| panic!("no password in {page}")) + "<code class=\"secret\">".len();
    page[start..].split('<').next().unwrap().to_string()
}

async fn accounts_are_administered_in_the_browser(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    with_child_poverty(&site);
    {
        let mut s = site.store();
        s.add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
    }
    let (_, admin) = site.sign_in("chefin", "Rathaus-Turm-Uhr-1903", &[]).await;
    let admin = admin.unwrap();
    let page = site.get_as(&admin, "/verwaltung/konten").await;
    assert!(page.contains("<h1>Konten</h1>") && page.contains(">leser</th>"), "{page}");
    let csrf = hidden(&page, "csrf");
    // A planner created in the browser signs in with the one-time password and has its role's rights.
    let (status, page) = site.post_as(&admin, "/verwaltung/konten", &[("csrf", &csrf), ("name", "planerin"), ("rolle", "planner")]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let first = shown_password(&page);
    let (status, planner) = site.sign_in("planerin", &first, &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(site.get_as(&planner.unwrap(), "/berichte").await.contains("<h1>Berichte</h1>"));
    // A Träger limited to an area, with the grant for internal results.
    let (status, page) = site
        .post_as(
            &admin,
            "/verwaltung/konten",
            &[("csrf", &csrf), ("name", "awo"), ("rolle", "traeger"), ("organisation", "awo"), ("gebiet", "Stadtteil=01"), ("intern", "1")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let awo = site.store().users().unwrap().into_iter().find(|u| u.name == "awo").unwrap();
    assert_eq!(
        (awo.role, awo.organization.as_deref(), awo.scope.map(|s| s.to_string()), awo.reads_internal),
        (Role::Traeger, Some("awo"), Some("Stadtteil=01".into()), true)
    );
    // Bad input changes nothing: an unknown area, a taken name.
    let (status, page) = site
        .post_as(&admin, "/verwaltung/konten", &[("csrf", &csrf), ("name", "neu"), ("rolle", "reader"), ("gebiet", "Stadtteil=99")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Stadtteil") && !site.store().users().unwrap().iter().any(|u| u.name == "neu"), "{page}");
    let (status, page) = site.post_as(&admin, "/verwaltung/konten", &[("csrf", &csrf), ("name", "leser"), ("rolle", "reader")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("gibt es schon"), "{page}");
    // Reset: the old password stops working, the new one works.
    let (status, page) = site.post_as(&admin, "/verwaltung/konten/passwort", &[("csrf", &csrf), ("name", "planerin")]).await;
    assert_eq!(status, StatusCode::OK);
    let second = shown_password(&page);
    assert_eq!(site.sign_in("planerin", &first, &[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(site.sign_in("planerin", &second, &[]).await.0, StatusCode::SEE_OTHER);
    // Remove; the last administrator stays.
    assert_eq!(site.post_as(&admin, "/verwaltung/konten/entfernen", &[("csrf", &csrf), ("name", "planerin")]).await.0, StatusCode::OK);
    assert!(!site.store().users().unwrap().iter().any(|u| u.name == "planerin"));
    let (status, page) = site.post_as(&admin, "/verwaltung/konten/entfernen", &[("csrf", &csrf), ("name", "chefin")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("letzte Administrationskonto"), "{page}");
    let log = site.store().audit_log().unwrap();
    for action in ["Konto angelegt", "Gebietsbeschränkung", "Lesezugriff", "Passwort zurückgesetzt", "Konto entfernt"] {
        assert!(log.iter().any(|e| e.action == action && e.who == "chefin"), "{action} by chefin");
    }
    // The backup (SQLite): a consistent database file.
    let backup = {
        let req = Request::get("/verwaltung/sicherung")
            .header(header::HOST, HOST)
            .header(header::COOKIE, admin.split(';').next().unwrap())
            .body(Body::empty())
            .unwrap();
        site.send(req).await
    };
    match backend {
        Backend::Sqlite => assert!(backup.0 == StatusCode::OK && backup.1.starts_with("SQLite format 3"), "{}", backup.0),
        Backend::Postgres => assert_eq!(backup.0, StatusCode::BAD_REQUEST),
    }
    // Nobody else: the reader gets 403 everywhere.
    let (status, reader) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let reader = reader.unwrap_or_else(|| panic!("leser signs in: {status}"));
    for uri in ["/verwaltung/konten", "/verwaltung/sicherung"] {
        let req = Request::get(uri)
            .header(header::HOST, HOST)
            .header(header::COOKIE, reader.split(';').next().unwrap())
            .body(Body::empty())
            .unwrap();
        assert_eq!(site.send(req).await.0, StatusCode::FORBIDDEN, "{uri}");
    }
    let rcsrf = hidden(&site.get_as(&reader, "/konto").await, "csrf");
    for uri in ["/verwaltung/konten", "/verwaltung/konten/passwort", "/verwaltung/konten/entfernen"] {
        let (status, _) = site.post_as(&reader, uri, &[("csrf", &rcsrf), ("name", "chefin"), ("rolle", "admin")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}");
    }
}

on_both_backends!(accounts_are_administered_in_the_browser);

/// Opens an invitation link as the invitee's browser does: (status, page, the form's cookie).
async fn open_invitation(site: &Site, path: &str) -> (StatusCode, String, Option<String>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let res = site.app().oneshot(Request::get(path).header(header::HOST, support::HOST).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let cookie = res.headers().get(header::SET_COOKIE).map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = String::from_utf8_lossy(&res.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, body, cookie)
}

/// Sets the password on an invitation page: (status, page).
async fn accept_invitation(site: &Site, path: &str, cookie: &str, password: &str, repeat: &str) -> (StatusCode, String) {
    let token = cookie.split_once('=').unwrap().1;
    let req = Request::post(path)
        .header(header::HOST, support::HOST)
        .header(header::ORIGIN, format!("http://{}", support::HOST))
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("formular={token}&passwort={}&wiederholung={}", urlencode(password), urlencode(repeat))))
        .unwrap();
    let (status, page, _) = site.send(req).await;
    (status, page)
}

async fn invited_and_disabled_accounts_in_the_browser(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    with_child_poverty(&site);
    {
        let mut s = site.store();
        s.add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
    }
    let (_, admin) = site.sign_in("chefin", "Rathaus-Turm-Uhr-1903", &[]).await;
    let admin = admin.unwrap();
    let csrf = hidden(&site.get_as(&admin, "/verwaltung/konten").await, "csrf");
    // An invitation instead of a password: the link is shown once, with this server's address.
    let (status, page) = site
        .post_as(
            &admin,
            "/verwaltung/konten",
            &[("csrf", &csrf), ("name", "planerin"), ("rolle", "planner"), ("zugang", "einladung"), ("tage", "3")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let start = page.find("/einladung/").unwrap_or_else(|| panic!("no link in {page}"));
    let path: String = page[start..].chars().take_while(|c| *c != '<').collect();
    assert!(page.contains(&format!("http://{}/einladung/", support::HOST)) && page.contains("3 Tage gültig"), "{page}");
    assert!(page.contains("eingeladen"), "the list shows the state");
    // The invitee opens it without an account, sets a password (rules and repetition checked).
    let (status, form, cookie) = open_invitation(&site, &path).await;
    assert!(status == StatusCode::OK && form.contains("planerin") && form.contains("noch 3 Tage"), "{status} {form}");
    let cookie = cookie.expect("the form's double-submit cookie");
    let (status, page) = accept_invitation(&site, &path, &cookie, "Weidenweg-Laterne-58", "Weidenweg-Laterne-59").await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && page.contains("stimmen nicht überein"), "{page}");
    let (status, page) = accept_invitation(&site, &path, &cookie, "kurz", "kurz").await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && page.contains("12"), "{page}");
    // Without the cookie's token (a forged cross-site post): refused.
    let (status, _) = accept_invitation(&site, &path, "quartier_einladung=00", "Weidenweg-Laterne-58", "Weidenweg-Laterne-58").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, page) = accept_invitation(&site, &path, &cookie, "Weidenweg-Laterne-58", "Weidenweg-Laterne-58").await;
    assert!(status == StatusCode::OK && page.contains("Passwort gesetzt"), "{page}");
    // It signs in with its role's rights; the link is used up.
    let (status, planner) = site.sign_in("planerin", "Weidenweg-Laterne-58", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(site.get_as(&planner.clone().unwrap(), "/berichte").await.contains("<h1>Berichte</h1>"));
    assert_eq!(open_invitation(&site, &path).await.0, StatusCode::GONE);
    assert_eq!(open_invitation(&site, "/einladung/gibtsnicht").await.0, StatusCode::GONE);
    // Disabled: the open session ends at once and sign-in is refused; enabled again: it works.
    let (status, _) = site.post_as(&admin, "/verwaltung/konten/sperren", &[("csrf", &csrf), ("name", "planerin"), ("sperren", "1")]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!site.get_as(&planner.unwrap(), "/berichte").await.contains("<h1>Berichte</h1>"), "the session ended");
    assert_eq!(site.sign_in("planerin", "Weidenweg-Laterne-58", &[]).await.0, StatusCode::UNAUTHORIZED);
    assert!(site.get_as(&admin, "/verwaltung/konten").await.contains("gesperrt"));
    let (status, page) = site.post_as(&admin, "/verwaltung/konten/sperren", &[("csrf", &csrf), ("name", "chefin"), ("sperren", "1")]).await;
    assert!(status == StatusCode::UNPROCESSABLE_ENTITY && page.contains("letzte aktive"), "{page}");
    site.post_as(&admin, "/verwaltung/konten/sperren", &[("csrf", &csrf), ("name", "planerin"), ("sperren", "0")]).await;
    assert_eq!(site.sign_in("planerin", "Weidenweg-Laterne-58", &[]).await.0, StatusCode::SEE_OTHER);
    // A renewed invitation ends the earlier link; bad validity is refused.
    let (_, page) = site
        .post_as(&admin, "/verwaltung/konten", &[("csrf", &csrf), ("name", "spaeter"), ("rolle", "reader"), ("zugang", "einladung")])
        .await;
    let first: String = page[page.find("/einladung/").unwrap()..].chars().take_while(|c| *c != '<').collect();
    let (_, page) = site.post_as(&admin, "/verwaltung/konten/einladung", &[("csrf", &csrf), ("name", "spaeter")]).await;
    let second: String = page[page.find("/einladung/").unwrap()..].chars().take_while(|c| *c != '<').collect();
    assert_ne!(first, second);
    assert_eq!(open_invitation(&site, &first).await.0, StatusCode::GONE);
    assert_eq!(open_invitation(&site, &second).await.0, StatusCode::OK);
    let (status, _) = site
        .post_as(
            &admin,
            "/verwaltung/konten",
            &[("csrf", &csrf), ("name", "x"), ("rolle", "reader"), ("zugang", "einladung"), ("tage", "365")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Nobody but an administrator may disable or invite.
    let (_, reader) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let reader = reader.unwrap();
    let reader_csrf = hidden(&site.get_as(&reader, "/konto").await, "csrf");
    for (path, fields) in [
        ("/verwaltung/konten/sperren", vec![("csrf", reader_csrf.as_str()), ("name", "chefin"), ("sperren", "1")]),
        ("/verwaltung/konten/einladung", vec![("csrf", reader_csrf.as_str()), ("name", "spaeter")]),
    ] {
        assert_eq!(site.post_as(&reader, path, &fields).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let log = site.store().audit_log().unwrap();
    for action in ["Konto angelegt (Einladung)", "Einladung ausgestellt", "Einladung angenommen", "Konto gesperrt", "Konto entsperrt"] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }
}

on_both_backends!(invited_and_disabled_accounts_in_the_browser);
