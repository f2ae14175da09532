//! The Verwaltung over HTTP (router without a socket): upload, preview, confirm, profiles,
//! undo, levels, saving drafts; and every way a change is refused.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use quartier_app::store::*;

use std::path::PathBuf;
use tower::ServiceExt;

#[macro_use]
mod support;
use support::*;

const DELIVERY: &str = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder unter 15;120\n0102;2024;Kinder unter 15;80\n";

async fn upload_preview_confirm_profile_and_undo(backend: Backend) {
    let site = Site::new(backend);
    let t = site.token();
    // The preview changes nothing and shows what would.
    let (status, page) = site
        .upload(
            &[("csrf", &t), ("art", "daten"), ("ebene", "Sozialraum"), ("quelle", "Jugendamt")],
            "lieferung 2024.csv",
            DELIVERY.as_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("2 neu, 0 geändert, 0 unverändert") && page.contains("Neue Merkmale: kinder_unter_15"), "{page}");
    assert!(page.contains("Import bestätigen") && page.contains("area_field = &quot;Gebiet&quot;"));
    assert!(site.values("kinder_unter_15").is_empty(), "a preview stores nothing");
    assert!(site.store().imports().unwrap().iter().all(|i| i.kind != "data"), "nor logs anything");
    // Confirmed with the hidden fields of the preview, keeping the mapping as a profile.
    let mut fields: Vec<(&str, String)> = ["csrf", "upload", "datei_name", "art", "ebene", "profil", "jahr", "quelle", "stichtag"]
        .iter()
        .map(|k| (*k, hidden(&page, k)))
        .collect();
    assert_eq!(hidden(&page, "datei_name"), "lieferung_2024.csv", "names are made safe");
    fields.push(("profil_speichern", "jugendamt".into()));
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, page, _) = site.post("/verwaltung/import", &f).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Gespeichert."), "{page}");
    assert_eq!(site.values("kinder_unter_15"), [("0101".to_string(), Some(120.0)), ("0102".to_string(), Some(80.0))]);
    let log = site.store().imports().unwrap();
    assert_eq!((log[0].file.as_str(), log[0].who.as_str()), ("lieferung_2024.csv", "Test (Browser)"), "no server paths in the log");
    let profile = site.store().setting("import_profile:jugendamt").unwrap().unwrap();
    assert!(profile.contains("area_field = \"Gebiet\"") && profile.contains("source = \"Jugendamt\""), "{profile}");
    // The upload is gone once imported.
    let (status, _, _) = site.post("/verwaltung/import", &f).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Next year's delivery with the saved profile: one value replaced.
    let next = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder unter 15;125\n";
    let (_, page) = site.upload(&[("csrf", &t), ("art", "daten"), ("profil", "jugendamt")], "korrektur.csv", next.as_bytes()).await;
    assert!(page.contains("0 neu, 1 geändert") && page.contains("<td class=\"num\">120</td>"), "{page}");
    let f: Vec<(String, String)> =
        ["csrf", "upload", "datei_name", "art", "ebene", "profil"].iter().map(|k| (k.to_string(), hidden(&page, k))).collect();
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(site.post("/verwaltung/import", &f).await.0, StatusCode::OK);
    assert_eq!(site.values("kinder_unter_15")[0].1, Some(125.0));
    // Undo: the first import waits for the later one, which goes first.
    let ids: Vec<i64> = site.store().imports().unwrap().iter().filter(|i| i.kind == "data").map(|i| i.id).collect();
    let (status, page, _) = site.post("/verwaltung/rueckgaengig", &[("csrf", &t), ("id", &ids[1].to_string())]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("zuerst diese rückgängig machen"), "{page}");
    let (status, page) = site.get(&format!("/verwaltung/rueckgaengig?id={}", ids[0])).await;
    assert!(status == StatusCode::OK && page.contains("korrektur.csv") && page.contains("Rückgängig machen"), "{page}");
    let (status, _, location) = site.post("/verwaltung/rueckgaengig", &[("csrf", &t), ("id", &ids[0].to_string())]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(site.values("kinder_unter_15")[0].1, Some(120.0), "the replaced value is back");
    let (_, page) = site.get(location.as_deref().unwrap()).await;
    assert!(page.contains("ist rückgängig gemacht") && page.contains("Test (Browser)"), "{page}");
}

async fn official_table_sets_up_levels_then_imports_with_preview(backend: Backend) {
    // data/official/12411-01-01-4.csv: a real Regionalstatistik export (ISO-8859-1).
    let real = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/official/12411-01-01-4.csv")).unwrap();
    let site = Site::new(backend);
    let t = site.token();
    let (status, page) = site.upload(&[("csrf", &t), ("art", "gebiete")], "12411-01-01-4.csv", &real).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("GENESIS-Tabelle (CSV)") && page.contains("Land → Kreis") && page.contains("Ebene Kreis: 471 Gebiete"), "{page}");
    assert!(site.store().levels().unwrap().iter().all(|l| l.name != "Kreis"), "a preview defines no level");
    let f: Vec<(String, String)> =
        ["csrf", "upload", "datei_name", "art", "ebene"].iter().map(|k| (k.to_string(), hidden(&page, k))).collect();
    let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, page, _) = site.post("/verwaltung/import", &f).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let levels: Vec<String> = site.store().levels().unwrap().into_iter().map(|l| l.name).collect();
    assert_eq!(levels, ["Land", "Kreis", "Stadtteil", "Sozialraum"], "official levels above the city's own");
    // The same file as data: the preview says what was recognised.
    let (status, page) = site.upload(&[("csrf", &t), ("art", "daten")], "12411-01-01-4.csv", &real).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for expected in [
        "Erkannt",
        "Format: GENESIS-Tabelle (CSV)",
        "Kodierung: windows-1252",
        "Kopfzeilen: 2",
        "Stichtage/Zeiträume: 31.12.2015",
        "1461 neu",
    ] {
        assert!(page.contains(expected), "missing {expected:?}: {page}");
    }
    // A CRS typed into the form is text, never a file on the server.
    let (status, page) = site
        .upload(&[("csrf", &t), ("art", "gebiete"), ("ebene", "Sozialraum"), ("crs", "/etc/passwd")], "g.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"id":"0101"},"geometry":{"type":"Point","coordinates":[1,2]}}]}"#)
        .await;
    assert!(!page.contains("root:"), "{status} {page}");
}

async fn broken_files_show_the_problems_and_change_nothing(backend: Backend) {
    let site = Site::new(backend);
    let t = site.token();
    let bad = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Einwohner;100\n9999;2024;Einwohner;50\n0102;2024;Einwohner;-7\n";
    let (status, page) = site.upload(&[("csrf", &t), ("art", "daten")], "kaputt.csv", bad.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("lässt sich so nicht importieren") && page.contains("9999") && page.contains("kaputt.csv"), "{page}");
    assert!(!page.contains("quartier-uploads"), "no server paths in messages");
    assert!(!page.contains("Import bestätigen"));
    assert!(site.values("einwohner").is_empty());
    // Areas need a level; an unknown saved profile and a non-numeric year are named.
    let (status, page) = site.upload(&[("csrf", &t), ("art", "gebiete")], "gebiete.csv", b"id;name\n03;Neu\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{page}");
    assert!(page.contains("Ebene wählen"));
    let (status, page) = site.upload(&[("csrf", &t), ("art", "daten"), ("profil", "gibtsnicht")], "a.csv", DELIVERY.as_bytes()).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("Importprofil „gibtsnicht“ gibt es nicht"), "{page}");
    let (status, page) = site.upload(&[("csrf", &t), ("art", "daten"), ("jahr", "zwanzig")], "a.csv", DELIVERY.as_bytes()).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("„zwanzig“ ist kein Jahr"), "{page}");
    // No file, a name without extension, a path in the name.
    let (status, _) = site.upload(&[("csrf", &t), ("art", "daten")], "leer.csv", b"").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = site.upload(&[("csrf", &t), ("art", "daten")], "ohne_endung", DELIVERY.as_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, page) =
        site.upload(&[("csrf", &t), ("art", "daten"), ("ebene", "Sozialraum")], "../../etc/passwd.csv", DELIVERY.as_bytes()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(hidden(&page, "datei_name"), "passwd.csv", "only the last path component, kept inside the upload folder");
    // An upload id that is not ours cannot point elsewhere.
    let f = [("csrf", t.as_str()), ("upload", "../../../../etc"), ("datei_name", "passwd"), ("art", "daten")];
    let (status, page, _) = site.post("/verwaltung/import", &f).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("Unbekannter Upload"), "{page}");
}

async fn oversized_uploads_are_refused_with_the_limit(backend: Backend) {
    let site = Site::new(backend);
    let big = vec![b'1'; quartier_web::UPLOAD_LIMIT + (1 << 20)];
    let (status, page) = site.upload(&[("csrf", &site.token()), ("art", "daten")], "gross.csv", &big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.contains("größer als 64 MB"), "{page}");
}

async fn changes_without_token_from_other_sites_or_on_read_only_servers_are_forbidden(backend: Backend) {
    let site = Site::new(backend);
    let t = site.token();
    let count_levels = |s: &Site| s.store().levels().unwrap().len();
    // Without or with a wrong token.
    assert_eq!(site.post("/verwaltung/ebenen", &[("name", "Block"), ("position", "2")]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(site.post("/verwaltung/ebenen", &[("csrf", "0000"), ("name", "Block"), ("position", "2")]).await.0, StatusCode::FORBIDDEN);
    // From another site, even with the token.
    let cross = |origin: Option<&str>, fetch_site: Option<&str>| {
        let mut r = Request::post("/verwaltung/ebenen")
            .header(header::HOST, HOST)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            r = r.header(header::ORIGIN, o);
        }
        if let Some(f) = fetch_site {
            r = r.header("sec-fetch-site", f);
        }
        r.body(Body::from(format!("csrf={t}&name=Block&position=2"))).unwrap()
    };
    assert_eq!(site.send(cross(Some("http://evil.example"), None)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(site.send(cross(None, Some("cross-site"))).await.0, StatusCode::FORBIDDEN);
    assert_eq!(count_levels(&site), 2, "nothing changed");
    // The same request from our page works.
    let (status, _, location) = site.post("/verwaltung/ebenen", &[("csrf", &t), ("name", "Block"), ("position", "2")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(site.store().levels().unwrap().iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), ["Stadtteil", "Sozialraum", "Block"]);
    let (_, page) = site.get(location.as_deref().unwrap()).await;
    assert!(page.contains("Ebene „Block“ ist angelegt."));
    let (status, page, _) = site.post("/verwaltung/ebenen", &[("csrf", &t), ("name", "Block"), ("position", "0")]).await;
    assert!(status == StatusCode::CONFLICT && page.contains("gibt es schon"));
    // The message comes from the stored state, not from the URL.
    let (_, page) = site.get("/verwaltung?erledigt=ebene&name=Bitte%20Passwort%20senden").await;
    assert!(!page.contains("Passwort"));
    // A read-only server shows the history but takes no changes.
    let read_only = Site { editing: None, ..Site::new(backend) };
    let (status, page) = read_only.get("/verwaltung").await;
    assert!(status == StatusCode::OK && page.contains("Änderungen sind auf diesem Server abgeschaltet") && !page.contains("name=\"csrf\""));
    assert_eq!(read_only.post("/verwaltung/ebenen", &[("csrf", &t), ("name", "X"), ("position", "0")]).await.0, StatusCode::FORBIDDEN);
    // The public view has no Verwaltung at all, even when editing was asked for.
    let public = Site { public: Some(3.0), ..Site::new(backend) };
    assert_eq!(public.get("/verwaltung").await.0, StatusCode::FORBIDDEN);
    let pt = public.token();
    assert_eq!(public.post("/verwaltung/ebenen", &[("csrf", &pt), ("name", "X"), ("position", "0")]).await.0, StatusCode::FORBIDDEN);
    let (_, page) = public.get("/werkstatt/index").await;
    assert!(!page.contains("name=\"csrf\""));
}

async fn drafts_are_saved_only_when_they_check(backend: Backend) {
    let site = Site::new(backend);
    let t = site.token();
    let mut s = site.store();
    quartier_import::load::data(&mut s, &write(&site, "d.csv", DELIVERY), "d.csv", &Default::default(), false).unwrap();
    let more = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder SGB II;30\n0102;2024;Kinder SGB II;8\n";
    quartier_import::load::data(&mut s, &write(&site, "e.csv", more), "e.csv", &Default::default(), false).unwrap();
    // The draft page offers saving once the formula checks.
    let (_, page) =
        site.get("/werkstatt/indikator?id=kinderarmut&name=Kinderarmut&formel=100*kinder_sgb_ii/kinder_unter_15&ebene=Sozialraum").await;
    assert!(page.contains("In den Katalog aufnehmen") && page.contains("name=\"csrf\""), "{page}");
    // Checked while typing: a JSON verdict.
    let (status, verdict) = site.get("/werkstatt/indikator/pruefen?id=x&formel=100*gibtsnicht").await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&verdict).unwrap();
    assert!(v["ok"] == false && v["message"].as_str().unwrap().contains("gibtsnicht"), "{v}");
    let (_, verdict) = site.get("/werkstatt/indikator/pruefen?id=x&formel=kinder_sgb_ii%2Fkinder_unter_15").await;
    assert_eq!(serde_json::from_str::<serde_json::Value>(&verdict).unwrap()["ok"], true);
    let bad = [("csrf", t.as_str()), ("id", "x"), ("formel", "100 * gibtsnicht / kinder_unter_15")];
    let (status, page, _) = site.post("/werkstatt/indikator/speichern", &bad).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("gibtsnicht"), "{page}");
    assert!(site.store().catalogue().unwrap().indicators.is_empty());
    let good = [
        ("csrf", t.as_str()),
        ("id", "kinderarmut"),
        ("name", "Kinderarmut"),
        ("formel", "100 * kinder_sgb_ii / kinder_unter_15"),
        ("ebene", "Sozialraum"),
    ];
    let (status, _, location) = site.post("/werkstatt/indikator/speichern", &good).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(location.as_deref(), Some("/indikator/kinderarmut?ebene=Sozialraum"));
    assert_eq!(site.store().catalogue().unwrap().get("kinderarmut").unwrap().name, "Kinderarmut");
    let (status, page) = site.get("/indikator/kinderarmut?ebene=Sozialraum").await;
    assert!(status == StatusCode::OK && page.contains("25,0"), "0101: 30 / 120 · 100: {page}");
    // Index definitions: refused while they do not load or compute, then saved.
    let def = "id = \"kinder\"\nmethod = \"weighted\"\nmissing = \"exclude\"\ndomains = [{ indicator = \"kinderarmut\", weight = 1 }]\n";
    let (_, page) = site.get(&format!("/werkstatt/index?definition={}", urlencode(def))).await;
    assert!(page.contains("Als Index „kinder“ speichern"), "{page}");
    let (status, _, _) = site.post("/werkstatt/index/speichern", &[("csrf", &t), ("definition", "id = \"k\"\nmethod = \"mss\"\n")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, location) = site.post("/werkstatt/index/speichern", &[("csrf", &t), ("definition", def)]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/index/kinder")));
    assert_eq!(site.store().index_definitions().unwrap(), [("kinder".to_string(), def.to_string())]);
}

fn write(site: &Site, name: &str, content: &str) -> PathBuf {
    let p = site.dir.path().join(name);
    std::fs::write(&p, content).unwrap();
    p
}

async fn a_level_gets_its_geometries_from_its_children(backend: Backend) {
    use quartier_geom::{MultiPolygon, Polygon, wkb};
    let site = Site::new(backend);
    let t = site.token();
    // Without child geometries: a clear refusal, nothing changed.
    let (status, page, _) = site.post("/verwaltung/aufloesen", &[("csrf", &t), ("ebene", "Stadtteil")]).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("keine Geometrien"), "{page}");
    // Squares for the Sozialräume (WGS84), then compose the Stadtteile.
    let square = |x: f64| {
        let p = Polygon::new(vec![(x, 52.0), (x + 0.01, 52.0), (x + 0.01, 52.01), (x, 52.01), (x, 52.0)].into(), vec![]);
        wkb::encode(&MultiPolygon(vec![p]))
    };
    let area = |key: &str, parent: &str, x: f64| NewArea {
        key: key.into(),
        name: format!("Gebiet {key}"),
        parent: Some(parent.into()),
        geometry: Some(square(x)),
        source_geometry: None,
        area_m2: Some(1.0),
        origin: key.into(),
    };
    let batch = AreaBatch {
        file: "g.geojson".into(),
        level: "Sozialraum".into(),
        areas: vec![area("0101", "01", 13.0), area("0102", "01", 13.01), area("0201", "02", 13.1)],
        source_crs: Some(4326),
        version: None,
    };
    site.store().apply_areas(&batch, false).unwrap();
    let (_, page) = site.get("/verwaltung").await;
    assert!(page.contains("action=\"/verwaltung/aufloesen\""), "offered where a level has children");
    let (status, _, location) = site.post("/verwaltung/aufloesen", &[("csrf", &t), ("ebene", "Stadtteil")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stadtteile = site.store().areas(Some("Stadtteil")).unwrap();
    assert!(stadtteile.iter().all(|a| a.has_geometry), "{stadtteile:?}");
    let (_, page) = site.get(location.as_deref().unwrap()).await;
    assert!(page.contains("sind aus ihren Teilgebieten zusammengesetzt"), "{page}");
    // The lowest level has nothing below it.
    let (status, page, _) = site.post("/verwaltung/aufloesen", &[("csrf", &t), ("ebene", "Sozialraum")]).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("unterste Ebene"), "{page}");
}

async fn allocation_page_beside_the_watering_can_and_as_workbook(backend: Backend) {
    let site = Site::new(backend);
    let mut s = site.store();
    quartier_import::load::data(&mut s, &write(&site, "d.csv", DELIVERY), "d.csv", &Default::default(), false).unwrap();
    let more = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder SGB II;30\n0102;2024;Kinder SGB II;8\n";
    quartier_import::load::data(&mut s, &write(&site, "e.csv", more), "e.csv", &Default::default(), false).unwrap();
    save_child_poverty(&mut s);
    let q = "/verteilung?ebene=Sozialraum&budget=10.000&bedarf=indicator%3Akinderarmut&zielgruppe=kinder_unter_15";
    let (status, page) = site.get(q).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // 0101: 25 % × 120 = 3,000; 0102: 10 % × 80 = 800 → 7,895 and 2,105 of 10,000.
    assert!(page.contains("Verteilt werden 10.000 € auf 2 von 3 Gebieten"), "{page}");
    assert!(page.contains(">7.895<") && page.contains(">2.105<"), "{page}");
    let res = site.app().oneshot(Request::get(format!("{q}&format=xlsx")).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let (status, page) = site.get("/verteilung?ebene=Sozialraum&budget=10&bedarf=indicator%3Akinderarmut&min=9").await;
    assert!(status == StatusCode::OK && page.contains("übersteigen das Budget"), "{page}");
    let (status, _) = site.get("/verteilung?budget=zehn&bedarf=indicator%3Akinderarmut").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let public = Site { public: Some(3.0), ..Site::new(backend) };
    assert_eq!(public.get("/verteilung").await.0, StatusCode::FORBIDDEN);
}

/// The session cookie's value from a response.
async fn accounts_roles_sessions_and_throttling(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    let local_token = site.token();
    {
        let mut s = site.store();
        s.add_user("planerin", Role::Planner, None, "Lindenblatt-Kiez-42").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
        assert!(s.add_user("kurz", Role::Reader, None, "zu-kurz").is_err());
    }
    // With accounts, the local token no longer changes anything.
    let (status, page, _) = site.post("/verwaltung/ebenen", &[("csrf", &local_token), ("name", "Block"), ("position", "2")]).await;
    assert!(status == StatusCode::FORBIDDEN && page.contains("Bitte anmelden"), "{page}");
    // Wrong password: 401 and the form again; the right one: a session cookie.
    assert_eq!(site.sign_in("planerin", "falsch-falsch-falsch", &[]).await, (StatusCode::UNAUTHORIZED, None));
    let (status, cookie) = site.sign_in("planerin", "Lindenblatt-Kiez-42", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    let (_, over_tls) = site.sign_in("planerin", "Lindenblatt-Kiez-42", &[("x-forwarded-proto", "https")]).await;
    assert!(over_tls.unwrap().contains("; Secure"));
    // The planner's forms carry the session's token; changes work with it, not without.
    let page = site.get_as(&cookie, "/verwaltung").await;
    assert!(page.contains("Angemeldet als <strong>planerin</strong>"), "{page}");
    let csrf = hidden(&page, "csrf");
    assert_ne!(csrf, local_token);
    let (status, _) = site.post_as(&cookie, "/verwaltung/ebenen", &[("csrf", &csrf), ("name", "Block"), ("position", "2")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, _) = site.post_as(&cookie, "/verwaltung/ebenen", &[("csrf", &local_token), ("name", "Kiez"), ("position", "2")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another token");
    assert!(site.store().audit_log().unwrap().iter().any(|e| e.who == "planerin" && e.action == "Anmeldung"));
    // A reader reads but changes nothing.
    let (_, reader) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let reader = reader.unwrap();
    let page = site.get_as(&reader, "/verwaltung").await;
    assert!(page.contains("Angemeldet als <strong>leser</strong>") && !page.contains("action=\"/verwaltung/vorschau\""));
    let reader_csrf = hidden(&page, "csrf");
    let (status, _) = site.post_as(&reader, "/verwaltung/ebenen", &[("csrf", &reader_csrf), ("name", "X"), ("position", "0")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site.post_as(&reader, "/werkstatt/index/speichern", &[("csrf", &reader_csrf), ("definition", "id = \"x\"")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Rotation: a new login closes the browser's earlier session; logout everywhere closes all.
    let (_, second) = site.sign_in("planerin", "Lindenblatt-Kiez-42", &[]).await;
    let second = second.unwrap();
    let page = site.get_as(&second, "/verwaltung").await;
    let csrf2 = hidden(&page, "csrf");
    let (status, _) = site.post_as(&second, "/abmelden", &[("csrf", &csrf2), ("ueberall", "1")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for c in [&cookie, &second] {
        assert!(!site.get_as(c, "/verwaltung").await.contains("Angemeldet als"), "all sessions closed");
    }
    // Throttling: five wrong passwords, then even the right one waits.
    for _ in 0..5 {
        site.sign_in("leser", "nicht-das-passwort", &[]).await;
    }
    let (status, _) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // A login post without the form's cookie is refused.
    let (status, _, _) = site.post("/anmelden", &[("login", "x"), ("name", "planerin"), ("passwort", "Lindenblatt-Kiez-42")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn throttling_keys_on_the_peer_and_never_locks_others_out(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    site.store().add_user("planerin", Role::Planner, None, "Lindenblatt-Kiez-42").unwrap();
    // 20 wrong passwords from one address, each with a forged X-Forwarded-For: the header of
    // an untrusted peer is ignored, so the address is throttled …
    for i in 0..20 {
        let forged = format!("198.51.100.{i}");
        let (status, _) = site.sign_in_from(Some("192.0.2.66"), &format!("gast{i}"), "falsch", &[("x-forwarded-for", &forged)]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = site.sign_in_from(Some("192.0.2.66"), "planerin", "Lindenblatt-Kiez-42", &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the guessing address waits");
    // … and nobody else is: a correct sign-in from another address works.
    let (status, cookie) = site.sign_in_from(Some("192.0.2.77"), "planerin", "Lindenblatt-Kiez-42", &[]).await;
    assert!(status == StatusCode::SEE_OTHER && cookie.is_some(), "{status}");
    // Behind the trusted proxy (10.0.0.1) the forwarded client counts, the proxy itself not.
    for i in 0..20 {
        site.sign_in_from(Some("10.0.0.1"), &format!("gast{i}"), "falsch", &[("x-forwarded-for", "203.0.113.5, 10.0.0.1")]).await;
    }
    let (status, _) = site.sign_in_from(Some("10.0.0.1"), "planerin", "Lindenblatt-Kiez-42", &[("x-forwarded-for", "203.0.113.5")]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _) = site.sign_in_from(Some("10.0.0.1"), "planerin", "Lindenblatt-Kiez-42", &[("x-forwarded-for", "203.0.113.6")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "another client behind the same proxy");
    // Wrong passwords for an account slow it down for seconds, never lock it for long.
    for _ in 0..5 {
        site.sign_in_from(Some("192.0.2.90"), "planerin", "falsch", &[]).await;
    }
    let (status, body) = {
        let (s, _) = site.sign_in_from(Some("192.0.2.91"), "planerin", "Lindenblatt-Kiez-42", &[]).await;
        (s, site.store().audit_log().unwrap())
    };
    assert!(status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SEE_OTHER, "{status}");
    assert!(body.iter().any(|e| e.action == "Anmeldung" && e.object.contains("192.0.2.77")), "sign-ins log the peer");
}

async fn every_change_is_forbidden_to_roles_without_the_right(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    {
        let mut s = site.store();
        s.add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
        s.add_user("fachbereich", Role::Department, None, "Jugendamt-Flur-3b").unwrap();
        s.add_user("awo", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
    }
    // Each role without the right, against every state-changing route: 403, nothing changes.
    for (name, password) in [("leser", "Ahornweg-Brunnen-7"), ("fachbereich", "Jugendamt-Flur-3b"), ("awo", "Kastanie-Flur-Bank-8")] {
        let (_, cookie) = site.sign_in(name, password, &[]).await;
        let cookie = cookie.unwrap();
        let csrf = hidden(&site.get_as(&cookie, "/konto").await, "csrf");
        for (uri, fields) in [
            ("/verwaltung/ebenen", vec![("name", "X"), ("position", "0")]),
            ("/verwaltung/aufloesen", vec![("ebene", "Stadtteil")]),
            ("/verwaltung/rueckgaengig", vec![("id", "1")]),
            ("/verwaltung/import", vec![("upload", "0"), ("datei_name", "a.csv"), ("art", "daten")]),
            ("/werkstatt/indikator/speichern", vec![("id", "x"), ("formel", "1")]),
            ("/werkstatt/index/speichern", vec![("definition", "id = \"x\"")]),
        ] {
            let mut f = fields.clone();
            f.push(("csrf", &csrf));
            let (status, _) = site.post_as(&cookie, uri, &f).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} → {uri}");
        }
        let (status, _) = site
            .send(
                Request::get("/verwaltung/aenderungen")
                    .header(header::HOST, HOST)
                    .header(header::COOKIE, cookie.split(';').next().unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .into_status();
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: the audit log is for administrators");
    }
    assert_eq!(site.store().levels().unwrap().len(), 2, "nothing changed");
    // The administrator sees the audit log and exports it.
    let (_, admin) = site.sign_in("chefin", "Rathaus-Turm-Uhr-1903", &[]).await;
    let admin = admin.unwrap();
    let page = site.get_as(&admin, "/verwaltung/aenderungen").await;
    assert!(page.contains("Konto angelegt") && page.contains("Anmeldung"), "{page}");
    let csv = site.get_as(&admin, "/verwaltung/aenderungen?format=csv").await;
    assert!(csv.starts_with("\u{feff}Zeit (UTC);Wer;Was;Objekt;alt;neu") && csv.contains("chefin"), "{csv}");
}

async fn offers_conferences_and_measures_by_role_and_object(backend: Backend) {
    use quartier_app::store::accounts::Role;
    use quartier_app::store::offers::{Offers, Organization, Service};
    let site = Site::new(backend);
    {
        let mut s = site.store();
        let org = |id: &str| Organization { id: id.into(), name: id.to_uppercase(), ..Default::default() };
        let svc = |id: &str, org: &str| Service {
            id: id.into(),
            organization_id: org.into(),
            name: format!("Angebot {id}"),
            ..Default::default()
        };
        s.save_offers(
            &Offers {
                organizations: vec![org("awo"), org("stadt")],
                services: vec![svc("kita", "awo"), svc("fz", "stadt")],
                ..Default::default()
            },
            false,
        )
        .unwrap();
        s.add_user("awo-user", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
        s.add_user("fachbereich", Role::Department, None, "Jugendamt-Flur-3b").unwrap();
        s.add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
        s.add_user("planung", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
    }
    let (_, traeger) = site.sign_in("awo-user", "Kastanie-Flur-Bank-8", &[]).await;
    let traeger = traeger.unwrap();
    // Its own offer: the form, a save, the confirmation date set.
    let form = site.get_as(&traeger, "/angebot/kita").await;
    let (csrf, stand) = (hidden(&form, "csrf"), hidden(&form, "stand"));
    let fields = [
        ("csrf", csrf.as_str()),
        ("stand", stand.as_str()),
        ("name", "Kita Sonnenschein"),
        ("kapazitaet", "40"),
        ("zielgruppen", "Kinder, Familien"),
        ("bestaetigt", "1"),
    ];
    let (status, _) = site.post_as(&traeger, "/angebot/kita", &fields).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let kita = site.store().offers().unwrap().services.into_iter().find(|s| s.id == "kita").unwrap();
    assert_eq!((kita.name.as_str(), kita.capacity, kita.target_groups.len()), ("Kita Sonnenschein", Some(40.0), 2));
    assert!(!kita.last_confirmed.is_empty());
    // The same form again is stale: a conflict, not an overwrite.
    let (status, page) = site.post_as(&traeger, "/angebot/kita", &fields).await;
    assert!(status == StatusCode::CONFLICT && page.contains("inzwischen geändert"), "{page}");
    // Another organisation's offer: neither the form nor a crafted post.
    let page = site.get_as(&traeger, "/angebot/fz").await;
    assert!(page.contains("anderer Träger"), "{page}");
    let (status, _) = site.post_as(&traeger, "/angebot/fz", &[("csrf", &csrf), ("stand", "x"), ("name", "Übernommen")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(site.store().offers().unwrap().services.into_iter().find(|s| s.id == "fz").unwrap().name, "Angebot fz");
    // A new offer of its own organisation, with a new place; the id is made from the name.
    let form = site.get_as(&traeger, "/angebot/neu").await;
    assert!(form.contains(r#"value="awo""#) && !form.contains(r#"value="stadt""#), "only its own organisation: {form}");
    let ncsrf = hidden(&form, "csrf");
    let new_offer = [
        ("csrf", ncsrf.as_str()),
        ("traeger", "awo"),
        ("name", "Familiencafé <b>Süd</b>"),
        ("zielgruppen", "Familien"),
        ("kapazitaet", "12"),
        ("standort", ""),
        ("adresse", "Hasenheide 1"),
        ("breite", "52,4862"),
        ("laenge", "13.4180"),
    ];
    let (status, _) = site.post_as(&traeger, "/angebot/neu", &new_offer).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let stored = site.store().offers().unwrap();
    let cafe = stored.services.iter().find(|s| s.name.starts_with("Familiencafé")).expect("created");
    assert_eq!(
        (cafe.id.as_str(), cafe.organization_id.as_str(), cafe.maintainer.as_str()),
        ("angebot-familiencafe-b-sued-b", "awo", "awo-user")
    );
    let link = stored.service_at_location.iter().find(|l| l.service_id == cafe.id).expect("linked to its place");
    let place = stored.locations.iter().find(|l| l.id == link.location_id).unwrap();
    assert_eq!((place.latitude, place.address.as_str()), (52.4862, "Hasenheide 1"));
    let page = site.get_as(&traeger, &format!("/angebot/{}", cafe.id)).await;
    assert!(page.contains("&lt;b&gt;Süd&lt;/b&gt;") && !page.contains("<b>Süd"), "escaped");
    // For another organisation, without coordinates, or outside WGS84: refused, nothing stored.
    let count = stored.services.len();
    for (field, value, expected) in [
        ("traeger", "stadt", StatusCode::FORBIDDEN),
        ("breite", "", StatusCode::BAD_REQUEST),
        ("breite", "5930000", StatusCode::BAD_REQUEST),
        ("kapazitaet", "-3", StatusCode::BAD_REQUEST),
        ("name", " ", StatusCode::BAD_REQUEST),
    ] {
        let mut f = new_offer.to_vec();
        f.iter_mut().find(|(k, _)| *k == field).unwrap().1 = value;
        let (status, page) = site.post_as(&traeger, "/angebot/neu", &f).await;
        assert_eq!(status, expected, "{field}={value}: {page}");
    }
    assert_eq!(site.store().offers().unwrap().services.len(), count);
    // A Träger contributes to a conference (the five questions) but does not set up measures.
    let conf = [
        ("csrf", csrf.as_str()),
        ("ebene", "Sozialraum"),
        ("gebiet", "0102"),
        ("datum", "2025-03-12"),
        ("art", "Sozialraumkonferenz"),
        ("passt", "partly"),
        ("zielgruppen", "Alleinerziehende"),
        ("angebot", "kita"),
        ("angebot", "fz"),
        ("fehlt", "Familienberatung"),
        ("beitraege", "AWO: Beratung zweimal wöchentlich"),
        ("potenziale", "Nachbarschaftsinitiative"),
    ];
    let (status, _) = site.post_as(&traeger, "/konferenz", &conf).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let saved = site.store().conferences(Some(("Sozialraum", "0102"))).unwrap();
    assert_eq!(saved[0].existing_offers, ["kita", "fz"]);
    assert_eq!(saved[0].contributions[0].commitment, "Beratung zweimal wöchentlich");
    let (status, _) = site
        .post_as(
            &traeger,
            "/massnahme",
            &[("csrf", &csrf), ("titel", "X"), ("ebene", "Sozialraum"), ("gebiete", "0102"), ("start", "2025")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A department sets up the measure from the conference.
    let (_, dept) = site.sign_in("fachbereich", "Jugendamt-Flur-3b", &[]).await;
    let dept = dept.unwrap();
    let form = site.get_as(&dept, "/massnahme/neu?ebene=Sozialraum&gebiet=0102&konferenz=1").await;
    let dcsrf = hidden(&form, "csrf");
    let m = [
        ("csrf", dcsrf.as_str()),
        ("titel", "Familienberatung"),
        ("ebene", "Sozialraum"),
        ("gebiete", "0102"),
        ("start", "2025"),
        ("status", "laufend"),
        ("konferenz", "1"),
        ("budget", "45.000"),
    ];
    let (status, page) = site.post_as(&dept, "/massnahme", &m).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let measure = &site.store().measures().unwrap()[0];
    assert_eq!((measure.budget, measure.conference), (Some(45000.0), Some(1)));
    let profile = site.get_as(&dept, "/gebiet/0102?ebene=Sozialraum").await;
    assert!(
        profile.contains("Konferenzen (1)") && profile.contains("Familienberatung") && profile.contains("Nachbarschaftsinitiative"),
        "{profile}"
    );
    // A reader records nothing.
    let (_, reader) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let reader = reader.unwrap();
    let rcsrf = hidden(&site.get_as(&reader, "/verwaltung").await, "csrf");
    let mut rconf = conf.to_vec();
    rconf[0] = ("csrf", rcsrf.as_str());
    let (status, _) = site.post_as(&reader, "/konferenz", &rconf).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = site
        .post_as(&reader, "/angebot/neu", &[("csrf", &rcsrf), ("traeger", "awo"), ("name", "X"), ("breite", "52.5"), ("laenge", "13.4")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Social planning enters a new organisation with its first offer; twice the same name is refused.
    let (st, planner) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let planner = planner.unwrap_or_else(|| panic!("{st}"));
    let pcsrf = hidden(&site.get_as(&planner, "/angebot/neu").await, "csrf");
    let first = [
        ("csrf", pcsrf.as_str()),
        ("traeger", ""),
        ("traeger_name", "Caritas Süd"),
        ("name", "Sprachcafé"),
        ("breite", "52.48"),
        ("laenge", "13.42"),
    ];
    let (status, page) = site.post_as(&planner, "/angebot/neu", &first).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert!(site.store().offers().unwrap().organizations.iter().any(|o| o.id == "traeger-caritas-sued" && o.name == "Caritas Süd"));
    let (status, page) = site.post_as(&planner, "/angebot/neu", &first).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("gibt es schon"), "{page}");
    // Nearly the same name is the same organisation, most likely.
    let mut near = first.to_vec();
    near[2].1 = "Caritas Sued e. V.";
    let (status, page) = site.post_as(&planner, "/angebot/neu", &near).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("traeger-caritas-sued"), "{page}");
    // (This site's areas have no geometries: nothing is outside; the CLI tests cover places
    // outside every area.)
    // A Träger account cannot enter a new organisation.
    let mut f = first.to_vec();
    f[0].1 = ncsrf.as_str();
    f[2].1 = "Neuer Verein";
    let (status, _) = site.post_as(&traeger, "/angebot/neu", &f).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// With accounts and the public view switched on, anonymous visitors get the published pages
/// in public mode (small counts withheld) and nothing else; signed in, the internal view.
async fn public_view_for_anonymous_visitors(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site { public_view: Some(3.0), ..Site::new(backend) };
    {
        let mut s = site.store();
        quartier_import::load::data(&mut s, &write(&site, "d.csv", DELIVERY), "d.csv", &Default::default(), false).unwrap();
        let more = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder SGB II;2\n0102;2024;Kinder SGB II;8\n";
        quartier_import::load::data(&mut s, &write(&site, "e.csv", more), "e.csv", &Default::default(), false).unwrap();
        save_child_poverty(&mut s);
        s.add_user("planung", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
    }
    let csv = "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&format=csv";
    let (status, public) = site.get(csv).await;
    assert_eq!(status, StatusCode::OK, "{public}");
    let row = |table: &str, key: &str| table.lines().find(|l| l.contains(&format!(";{key};"))).unwrap_or_default().to_string();
    // 2 children in 0101 are withheld, and 0102 with them (the Stadtteil's total would give them away).
    assert!(row(&public, "0101").ends_with("geheim") && row(&public, "0102").ends_with("geheim"), "{public}");
    for page in ["/", "/gebiete", "/indikatoren", "/gebiet/0102?ebene=Sozialraum", "/daten"] {
        let (status, body) = site.get(page).await;
        assert_eq!(status, StatusCode::OK, "{page} is published: {body}");
    }
    let (status, page) = site.get("/indikator/kinderarmut?ebene=Sozialraum").await;
    assert!(status == StatusCode::NOT_FOUND && page.contains("unterliegen der Geheimhaltung"), "said, not 'no values yet': {page}");
    // Everything internal still asks for an account.
    for page in [
        "/verwaltung",
        "/verwaltung/aenderungen",
        "/werkstatt/indikator",
        "/verteilung",
        "/konferenz/neu?ebene=Sozialraum&gebiet=0101",
        "/angebot/neu",
    ] {
        let (status, _, location) = site.send(Request::get(page).header(header::HOST, HOST).body(Body::empty()).unwrap()).await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/anmelden")), "{page}");
    }
    let (status, _, _) = site.post("/konferenz", &[("csrf", "x"), ("ebene", "Sozialraum"), ("gebiet", "0101")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Signed in: the internal values.
    let (_, planner) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let internal = site.get_as(&planner.unwrap(), csv).await;
    assert!(row(&internal, "0101").contains("1,67"), "{internal}");
    // Switched off: anonymous visitors are sent to sign in.
    let closed = Site {
        public_view: None,
        dir: tempfile::tempdir().unwrap(),
        db: site.db.clone(),
        editing: site.editing.clone(),
        public: None,
        basemap: None,
        api_rate: None,
    };
    let (status, _, location) = closed.send(Request::get("/").header(header::HOST, HOST).body(Body::empty()).unwrap()).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/anmelden")));
}

/// A user changes their own password: the current one is required, the rules apply, and
/// every session of the account ends.
async fn own_password_change_ends_every_session(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    site.store().add_user("leser", Role::Reader, None, "Ahornweg-Brunnen-7").unwrap();
    let (_, first) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let (_, second) = site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await;
    let (first, second) = (first.unwrap(), second.unwrap());
    let page = site.get_as(&first, "/konto").await;
    assert!(page.contains("Angemeldet als <strong>leser</strong>"), "{page}");
    let csrf = hidden(&page, "csrf");
    let change = |alt: &'static str, neu: &'static str, neu2: &'static str| {
        [("csrf", csrf.clone()), ("alt", alt.into()), ("neu", neu.into()), ("neu2", neu2.into())]
    };
    for (fields, expected) in [
        (change("falsch-falsch-falsch", "Lindenallee-Turm-42", "Lindenallee-Turm-42"), "bisherige Passwort stimmt nicht"),
        (change("Ahornweg-Brunnen-7", "Lindenallee-Turm-42", "Lindenallee-Turm-43"), "stimmen nicht überein"),
        (change("Ahornweg-Brunnen-7", "kurz", "kurz"), "12 Zeichen"),
    ] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, page) = site.post_as(&first, "/konto", &f).await;
        assert!(status == StatusCode::BAD_REQUEST && page.contains(expected), "{expected}: {page}");
    }
    let (status, _) = site
        .post_as(
            &first,
            "/konto",
            &[("csrf", "x"), ("alt", "Ahornweg-Brunnen-7"), ("neu", "Lindenallee-Turm-42"), ("neu2", "Lindenallee-Turm-42")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "without the session's token");
    let good = change("Ahornweg-Brunnen-7", "Lindenallee-Turm-42", "Lindenallee-Turm-42");
    let f: Vec<(&str, &str)> = good.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(site.post_as(&first, "/konto", &f).await.0, StatusCode::SEE_OTHER);
    // Both sessions are over; the old password no longer opens one, the new one does.
    for cookie in [&first, &second] {
        let (status, _, location) = site
            .send(
                Request::get("/konto")
                    .header(header::HOST, HOST)
                    .header(header::COOKIE, cookie.split(';').next().unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/anmelden")));
    }
    assert_eq!(site.sign_in("leser", "Ahornweg-Brunnen-7", &[]).await.0, StatusCode::UNAUTHORIZED);
    assert!(site.sign_in("leser", "Lindenallee-Turm-42", &[]).await.1.is_some());
    let log = site.store().audit_log().unwrap();
    assert!(log.iter().any(|e| e.action == "Passwort geändert" && e.object == "Konto leser" && e.old.is_none() && e.new.is_none()));
}

/// A tenant (an account limited to Stadtteil 01) sees every Stadtteil — the shared level — and
/// below it only its own Sozialräume, on every page and download; it changes nothing outside.
async fn a_tenant_sees_its_own_areas_and_the_shared_level(backend: Backend) {
    use quartier_app::store::accounts::{Role, Scope};
    let site = Site::new(backend);
    {
        let mut s = site.store();
        let data = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder unter 15;120\n0102;2024;Kinder unter 15;80\n0201;2024;Kinder unter 15;300\n\
                    0101;2024;Kinder SGB II;30\n0102;2024;Kinder SGB II;8\n0201;2024;Kinder SGB II;90\n";
        quartier_import::load::data(&mut s, &write(&site, "d.csv", data), "d.csv", &Default::default(), false).unwrap();
        save_child_poverty(&mut s);
        s.add_user("kreis", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("kommune01", Role::Planner, None, "Kastanie-Flur-Bank-8").unwrap();
        s.set_user_scope("kommune01", Some(&Scope { level: "Stadtteil".into(), area: "01".into() })).unwrap();
        let err = s.set_user_scope("kommune01", Some(&Scope { level: "Stadtteil".into(), area: "99".into() })).unwrap_err();
        assert!(err.to_string().contains("„99“"), "{err}");
    }
    let (_, kreis) = site.sign_in("kreis", "Rathaus-Turm-Uhr-1903", &[]).await;
    let kreis = kreis.unwrap();
    // The Kreis records a conference in 0201 (a note the tenant must not read).
    let form = site.get_as(&kreis, "/konferenz/neu?ebene=Sozialraum&gebiet=0201").await;
    let kcsrf = hidden(&form, "csrf");
    let conf_on = |csrf: &str, level: &str, area: &str| {
        vec![
            ("csrf".to_string(), csrf.to_string()),
            ("ebene".into(), level.to_string()),
            ("gebiet".into(), area.to_string()),
            ("datum".into(), "2025-03-12".into()),
            ("art".into(), "Sozialraumkonferenz".into()),
            ("passt".into(), "partly".into()),
            ("fehlt".into(), format!("Vertrauliches aus {area}")),
        ]
    };
    let conf = |csrf: &str, area: &str| conf_on(csrf, "Sozialraum", area);
    for fields in [conf(&kcsrf, "0201"), conf_on(&kcsrf, "Stadtteil", "02")] {
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(site.post_as(&kreis, "/konferenz", &f).await.0, StatusCode::SEE_OTHER);
    }
    let pages = [
        "/",
        "/gebiete",
        "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024",
        "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&format=csv",
        "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&ansicht=tabelle",
        "/indikator/kinderarmut?ebene=Sozialraum",
        "/indikator/kinderarmut?ebene=Sozialraum&format=csv",
        "/indikatoren",
        "/vergleich?ebene=Sozialraum&gebiete=0101,0201",
        "/daten",
        "/angebote?ebene=Sozialraum&gruppe=kinder_unter_15&bedarf=kinderarmut",
        "/verteilung?ebene=Sozialraum&budget=10.000&bedarf=indicator%3Akinderarmut&zielgruppe=kinder_unter_15",
        "/werkstatt/indikator?id=t&name=T&formel=kinder_sgb_ii&ebene=Sozialraum",
        "/gebiet/02?ebene=Stadtteil",
        "/gebiet/0101?ebene=Sozialraum",
        "/verwaltung",
    ];
    // The Kreis sees 0201 (so the check below can fail) …
    let seen = site.get_as(&kreis, "/gebiete").await;
    assert!(seen.contains("Gebiet 0201"), "{seen}");
    let seen = site.get_as(&kreis, "/gebiet/02?ebene=Stadtteil").await;
    assert!(seen.contains("Vertrauliches aus 02"), "{seen}");
    let (_, tenant) = site.sign_in("kommune01", "Kastanie-Flur-Bank-8", &[]).await;
    let tenant = tenant.unwrap();
    let mut leaks = Vec::new();
    for page in pages {
        let body = site.get_as(&tenant, page).await;
        if ["Gebiet 0201", "gebiet/0201", ";0201;", "Vertrauliches aus 02"].iter().any(|s| body.contains(s)) {
            leaks.push(page);
        }
    }
    assert!(leaks.is_empty(), "pages showing 0201 to the tenant: {leaks:?}");
    // … the tenant sees the shared Stadtteil level and its own Sozialräume.
    let list = site.get_as(&tenant, "/gebiete").await;
    assert!(list.contains("Gebiet 02") && list.contains("Gebiet 0101") && list.contains("Gebiet 0102"), "{list}");
    let (status, _, _) = site
        .send(
            Request::get("/gebiet/0201?ebene=Sozialraum")
                .header(header::HOST, HOST)
                .header(header::COOKIE, tenant.split(';').next().unwrap())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Changes: inside its Stadtteil yes, outside or to shared definitions no.
    let tcsrf = hidden(&site.get_as(&tenant, "/konferenz/neu?ebene=Sozialraum&gebiet=0101").await, "csrf");
    for (area, expected) in [("0101", StatusCode::SEE_OTHER), ("0201", StatusCode::FORBIDDEN)] {
        let fields = conf(&tcsrf, area);
        let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(site.post_as(&tenant, "/konferenz", &f).await.0, expected, "conference in {area}");
    }
    let m = [
        ("csrf", tcsrf.as_str()),
        ("titel", "Lernhilfe"),
        ("ebene", "Sozialraum"),
        ("gebiete", "0101,0201"),
        ("start", "2025"),
        ("status", "geplant"),
    ];
    assert_eq!(site.post_as(&tenant, "/massnahme", &m).await.0, StatusCode::FORBIDDEN);
    let def = "[[indicator]]\nid = \"x\"\nname = \"X\"\nformula = \"kinder_sgb_ii\"\n";
    let (status, _) = site
        .post_as(
            &tenant,
            "/werkstatt/indikator/speichern",
            &[("csrf", &tcsrf), ("id", "x"), ("formel", "kinder_sgb_ii"), ("definition", def)],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the catalogue is shared");
    let before = site.values("kinder_unter_15");
    let mut s = site.store();
    let mut scoped = quartier_app::store::scope::ScopedStore::new(
        s.0.take().unwrap(),
        tokio::task::block_in_place(|| {
            let store = site.db.open().unwrap();
            quartier_app::store::scope::Visibility::new(&*store, &Scope { level: "Stadtteil".into(), area: "01".into() }).unwrap()
        }),
    );
    let outside = "Gebiet;Jahr;Merkmal;Wert\n0101;2025;Kinder unter 15;121\n0201;2025;Kinder unter 15;301\n";
    let err = tokio::task::block_in_place(|| {
        quartier_import::load::data(&mut scoped, &write(&site, "o.csv", outside), "o.csv", &Default::default(), false).unwrap_err()
    });
    assert!(err.to_string().contains("Zeile 3: Gebiet „0201“ liegt außerhalb von Stadtteil=01"), "{err}");
    tokio::task::block_in_place(|| drop(scoped));
    assert_eq!(site.values("kinder_unter_15"), before, "nothing stored");
}

/// SQL and script injection in every parameter of every page and in the stored text fields:
/// no page fails, no script comes back unescaped, the database is intact.
async fn injection_attempts_change_nothing_and_come_back_escaped(backend: Backend) {
    use quartier_app::store::accounts::Role;
    const XSS: &str = "<script>alert(1)</script>";
    const SQL: &str = "' OR 1=1; DROP TABLE area; --";
    let site = Site::new(backend);
    {
        let mut s = site.store();
        quartier_import::load::data(&mut s, &write(&site, "d.csv", DELIVERY), "d.csv", &Default::default(), false).unwrap();
        s.add_user("planung", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
    }
    let (_, planner) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let planner = planner.unwrap();
    let routes: &[(&str, &[&str])] = &[
        ("/karte", &["subject", "indicator", "variable", "year", "level", "k", "method", "ansicht", "farben", "format", "oeffentlich"]),
        ("/gebiete", &["q"]),
        ("/gebiet/0101", &["ebene"]),
        ("/indikatoren", &[]),
        ("/vergleich", &["ebene", "gebiete"]),
        ("/daten", &[]),
        ("/angebote", &["ebene", "zielgruppe", "gruppe", "bedarf"]),
        ("/verteilung", &["ebene", "budget", "bedarf", "zielgruppe", "einwohner", "schwelle", "min", "max", "faktoren", "format"]),
        (
            "/werkstatt/indikator",
            &[
                "id",
                "name",
                "formel",
                "einheit",
                "richtung",
                "bereich",
                "ebene",
                "jahr",
                "zielgruppen",
                "quelle",
                "beschreibung",
                "toml",
                "dezimalen",
                "stand",
            ],
        ),
        ("/werkstatt/indikator/pruefen", &["id", "formel"]),
        ("/werkstatt/index", &["von", "definition"]),
        (
            "/werkstatt/index?formular=1&methode=weighted",
            &[
                "id",
                "name",
                "beschreibung",
                "ebene",
                "einwohner",
                "mindesteinwohner",
                "z0_indikator",
                "z0_gewicht",
                "z0_gruppe",
                "a0_gebiet",
                "a0_grund",
                "a0_jahre",
                "grenzen",
                "k",
                "stand",
                "jahr",
            ],
        ),
        ("/konferenz/neu", &["ebene", "gebiet"]),
        ("/massnahme/neu", &["ebene", "gebiet", "konferenz"]),
        ("/verwaltung", &["meldung", "profil"]),
        ("/verwaltung/rueckgaengig", &["id"]),
    ];
    let mut failures = Vec::new();
    for payload in [XSS, SQL] {
        let enc = urlencode(payload);
        let mut uris: Vec<String> = Vec::new();
        for (path, params) in routes {
            let sep = if path.contains('?') { '&' } else { '?' };
            uris.extend(params.iter().map(|p| format!("{path}{sep}{p}={enc}")));
        }
        for path in ["/gebiet/", "/indikator/", "/index/", "/angebot/"] {
            uris.push(format!("{path}{enc}"));
        }
        for uri in uris {
            let req = Request::get(&uri)
                .header(header::HOST, HOST)
                .header(header::COOKIE, planner.split(';').next().unwrap())
                .body(Body::empty())
                .unwrap();
            let (status, body, _) = site.send(req).await;
            if status == StatusCode::INTERNAL_SERVER_ERROR || body.contains(XSS) {
                failures.push(format!("{uri}: {status}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    // Stored: a conference and a measure with the payloads in every text field.
    let form = site.get_as(&planner, "/konferenz/neu?ebene=Sozialraum&gebiet=0101").await;
    let csrf = hidden(&form, "csrf");
    let both = format!("{XSS} {SQL}");
    let conf = [
        ("csrf", csrf.as_str()),
        ("ebene", "Sozialraum"),
        ("gebiet", "0101"),
        ("datum", "2025-03-12"),
        ("art", "Sozialraumkonferenz"),
        ("passt", "partly"),
        ("passt_notiz", &both),
        ("zielgruppen", &both),
        ("fehlt", &both),
        ("beitraege", &format!("AWO: {both}")),
        ("teilnehmende", &both),
        ("potenziale", &both),
    ];
    assert_eq!(site.post_as(&planner, "/konferenz", &conf).await.0, StatusCode::SEE_OTHER);
    let m = [
        ("csrf", csrf.as_str()),
        ("titel", both.as_str()),
        ("ziel", &both),
        ("ebene", "Sozialraum"),
        ("gebiete", "0101"),
        ("start", "2025"),
        ("status", "geplant"),
    ];
    assert_eq!(site.post_as(&planner, "/massnahme", &m).await.0, StatusCode::SEE_OTHER);
    let profile = site.get_as(&planner, "/gebiet/0101?ebene=Sozialraum").await;
    assert!(!profile.contains(XSS) && profile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "stored text escaped");
    assert!(profile.contains("OR 1=1; DROP TABLE area"), "stored as text");
    // Nothing was dropped or changed beyond the two records.
    let s = site.store();
    assert_eq!(s.areas(None).unwrap().len(), 5);
    assert_eq!(s.users().unwrap().len(), 1);
    assert_eq!(s.values(&ValueFilter::default()).unwrap().len(), 2);
}

/// Session fixation: a session cookie planted before the login (by another site or a shared
/// computer) is never adopted; the login issues a new token and the planted one opens nothing.
async fn a_planted_session_cookie_is_never_adopted(backend: Backend) {
    use quartier_app::store::accounts::Role;
    let site = Site::new(backend);
    site.store().add_user("planerin", Role::Planner, None, "Lindenblatt-Kiez-42").unwrap();
    let planted = "ab".repeat(32);
    let (status, cookie) = site.sign_in("planerin", "Lindenblatt-Kiez-42", &[("cookie", &format!("quartier_session={planted}"))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let issued = cookie.unwrap();
    assert!(!issued.contains(&planted), "{issued}");
    let (status, _, location) = site
        .send(
            Request::get("/verwaltung")
                .header(header::HOST, HOST)
                .header(header::COOKIE, format!("quartier_session={planted}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/anmelden")));
    assert!(site.get_as(&issued, "/verwaltung").await.contains("Angemeldet als <strong>planerin</strong>"));
}

/// A Träger account reads what the public reads (small counts withheld) until the
/// administration grants internal results; its working pages stay open, internal ones do not.
async fn traeger_accounts_read_published_results_until_granted(backend: Backend) {
    use quartier_app::store::accounts::Role;
    use quartier_app::store::offers::{Offers, Organization, Service};
    let site = Site::new(backend);
    {
        let mut s = site.store();
        quartier_import::load::data(&mut s, &write(&site, "d.csv", DELIVERY), "d.csv", &Default::default(), false).unwrap();
        let more = "Gebiet;Jahr;Merkmal;Wert\n0101;2024;Kinder SGB II;2\n0102;2024;Kinder SGB II;8\n";
        quartier_import::load::data(&mut s, &write(&site, "e.csv", more), "e.csv", &Default::default(), false).unwrap();
        save_child_poverty(&mut s);
        let org = Organization { id: "awo".into(), name: "AWO".into(), ..Default::default() };
        let svc = Service { id: "kita".into(), organization_id: "awo".into(), name: "Kita Sonnenschein".into(), ..Default::default() };
        s.save_offers(&Offers { organizations: vec![org], services: vec![svc], ..Default::default() }, false).unwrap();
        s.add_user("awo-user", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
    }
    let (_, traeger) = site.sign_in("awo-user", "Kastanie-Flur-Bank-8", &[]).await;
    let traeger = traeger.unwrap();
    let csv = "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&format=csv";
    let row = |table: &str, key: &str| table.lines().find(|l| l.contains(&format!(";{key};"))).unwrap_or_default().to_string();
    let public = site.get_as(&traeger, csv).await;
    assert!(row(&public, "0101").ends_with("geheim"), "published view: {public}");
    for page in ["/verwaltung", "/werkstatt/indikator", "/verteilung", "/massnahme/neu?ebene=Sozialraum&gebiet=0101"] {
        let req = Request::get(page)
            .header(header::HOST, HOST)
            .header(header::COOKIE, traeger.split(';').next().unwrap())
            .body(Body::empty())
            .unwrap();
        assert_eq!(site.send(req).await.0, StatusCode::FORBIDDEN, "{page}");
    }
    // Its working pages: the account with its offers, the offer form, a conference.
    let konto = site.get_as(&traeger, "/konto").await;
    assert!(
        konto.contains("Kita Sonnenschein")
            && konto.contains("/angebot/kita")
            && konto.contains("interne Auswertungen gibt die Administration frei"),
        "{konto}"
    );
    assert!(site.get_as(&traeger, "/angebot/kita").await.contains("Angebot bearbeiten"));
    let form = site.get_as(&traeger, "/konferenz/neu?ebene=Sozialraum&gebiet=0101").await;
    let csrf = hidden(&form, "csrf");
    let conf = [
        ("csrf", csrf.as_str()),
        ("ebene", "Sozialraum"),
        ("gebiet", "0101"),
        ("datum", "2025-03-12"),
        ("art", "Sozialraumkonferenz"),
        ("passt", "partly"),
    ];
    assert_eq!(site.post_as(&traeger, "/konferenz", &conf).await.0, StatusCode::SEE_OTHER);
    // Granted: internal values.
    site.store().set_user_internal("awo-user", true).unwrap();
    let internal = site.get_as(&traeger, csv).await;
    assert!(row(&internal, "0101").contains("1,67"), "{internal}");
    assert!(site.get_as(&traeger, "/verwaltung").await.contains("Angemeldet als <strong>awo-user</strong>"));
}

on_both_backends!(
    throttling_keys_on_the_peer_and_never_locks_others_out,
    upload_preview_confirm_profile_and_undo,
    official_table_sets_up_levels_then_imports_with_preview,
    broken_files_show_the_problems_and_change_nothing,
    oversized_uploads_are_refused_with_the_limit,
    changes_without_token_from_other_sites_or_on_read_only_servers_are_forbidden,
    drafts_are_saved_only_when_they_check,
    a_level_gets_its_geometries_from_its_children,
    allocation_page_beside_the_watering_can_and_as_workbook,
    accounts_roles_sessions_and_throttling,
    every_change_is_forbidden_to_roles_without_the_right,
    offers_conferences_and_measures_by_role_and_object,
    public_view_for_anonymous_visitors,
    own_password_change_ends_every_session,
    a_tenant_sees_its_own_areas_and_the_shared_level,
    injection_attempts_change_nothing_and_come_back_escaped,
    a_planted_session_cookie_is_never_adopted,
    traeger_accounts_read_published_results_until_granted,
);
