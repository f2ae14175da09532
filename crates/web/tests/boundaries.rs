//! Boundary changes in the browser: a new boundary set uploaded with its valid-from date, the
//! boundary sets and crosswalks page, a crosswalk computed and applied, estimates marked on the
//! indicator page; who may do it.

use axum::http::StatusCode;
use quartier_app::store::Store;
use quartier_app::store::accounts::{Role, Scope};

#[macro_use]
mod support;
use support::*;

async fn redistricting(backend: Backend) {
    let site = Site::new(backend);
    with_squares(&site);
    {
        let mut s = site.store();
        s.add_user("planung", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("awo-user", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
        s.add_user("bochum-mitte", Role::Planner, None, "Zeche-Hansa-Lampe-4").unwrap();
        s.set_user_scope("bochum-mitte", Some(&Scope { level: "Stadtteil".into(), area: "01".into() })).unwrap();
    }
    let (_, cookie) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let cookie = cookie.unwrap();
    let csrf = hidden(&site.get_as(&cookie, "/verwaltung").await, "csrf");
    // 2025: 0101 and 0102 merged under the key 0101; 0201 unchanged.
    let sq = |x: f64, w: f64| format!("[[[{x},51.48],[{},51.48],[{},51.49],[{x},51.49],[{x},51.48]]]", x + w, x + w);
    let file = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"0101","name":"Altstadt"}},"geometry":{{"type":"Polygon","coordinates":{}}}}},{{"type":"Feature","properties":{{"id":"0201","name":"Gebiet 0201"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}]}}"#,
        sq(7.10, 0.02),
        sq(7.12, 0.01)
    );
    let fields = [("csrf", csrf.as_str()), ("art", "gebiete"), ("ebene", "Sozialraum"), ("gueltig_ab", "2025-01-01")];
    let (status, page, _) = site.upload_to("/verwaltung/vorschau", Some(&cookie), &fields, "sr-2025.geojson", file.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Neuer Gebietsstand ab <strong>2025-01-01</strong>: 2 Gebiete gelten dann nicht mehr"), "{page}");
    let confirm: Vec<(String, String)> =
        ["csrf", "upload", "datei_name", "art", "ebene", "gueltig_ab"].iter().map(|k| (k.to_string(), hidden(&page, k))).collect();
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, page) = site.post_as(&cookie, "/verwaltung/import", &confirm).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(site.store().area_versions(Some("Sozialraum")).unwrap().len(), 2);
    // The page lists both sets; a crosswalk by overlay is computed and stored.
    let page = site.get_as(&cookie, "/verwaltung/gebietsstaende").await;
    assert!(page.contains("Gebietsstände je Ebene") && page.contains("<td>2025-01-01</td>"), "{page}");
    let form =
        [("csrf", csrf.as_str()), ("name", "sr2025"), ("ebene", "Sozialraum"), ("von", ""), ("nach", "2025-01-01"), ("methode", "flaeche")];
    // A Träger may not, a planner limited to one Stadtteil may not change shared definitions.
    for (who, pw) in [("awo-user", "Kastanie-Flur-Bank-8"), ("bochum-mitte", "Zeche-Hansa-Lampe-4")] {
        let (_, other) = site.sign_in(who, pw, &[]).await;
        let other = other.unwrap();
        let token = hidden(&site.get_as(&other, "/konto").await, "csrf");
        let mut f = form.to_vec();
        f[0].1 = &token;
        let (status, _) = site.post_as(&other, "/verwaltung/umstieg/berechnen", &f).await;
        assert!(status == StatusCode::FORBIDDEN || status == StatusCode::BAD_REQUEST, "{who}: {status}");
        assert!(site.store().crosswalks(None).unwrap().is_empty(), "{who}");
    }
    let (status, _) = site.post_as(&cookie, "/verwaltung/umstieg/berechnen", &[("csrf", "falsch"), ("name", "x")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "CSRF");
    let (status, body) = site.post_as(&cookie, "/verwaltung/umstieg/berechnen", &form).await;
    assert!(status.is_redirection(), "{status} {body}");
    let page = site.get_as(&cookie, "/verwaltung/gebietsstaende?erledigt=gespeichert&name=sr2025").await;
    assert!(page.contains("Umstieg „sr2025“ ist gespeichert") && page.contains("die Gewichte jedes alten Gebiets ergeben 1"), "{page}");
    let csv = site.get_as(&cookie, "/verwaltung/umstieg/sr2025/gewichte.csv").await;
    assert!(csv.lines().any(|l| l.starts_with("0102;0101;")), "{csv}");
    // A key table naming a key of neither set: refused, naming it.
    let (status, page, _) = site
        .upload_to(
            "/verwaltung/umstieg/schluessel",
            Some(&cookie),
            &[("csrf", csrf.as_str()), ("name", "amtlich"), ("ebene", "Sozialraum"), ("von", ""), ("nach", "2025-01-01")],
            "umsteiger.csv",
            b"alt;neu;anteil\n0102;0199;1\n",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("umsteiger.csv") && page.contains("„0199“"), "{page}");
    // Weighted points (here in WGS84): a crosswalk from where people live; a bad column named.
    let target = [
        ("csrf", csrf.as_str()),
        ("name", "punkte"),
        ("ebene", "Sozialraum"),
        ("von", ""),
        ("nach", "2025-01-01"),
        ("x", "lon"),
        ("y", "lat"),
        ("crs", "EPSG:4326"),
    ];
    let mut with_weight = target.to_vec();
    with_weight.push(("gewicht", "personen"));
    let (status, page, _) =
        site.upload_to("/verwaltung/umstieg/punkte", Some(&cookie), &with_weight, "adressen.csv", b"lon;lat;leute\n7.105;51.485;5\n").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("adressen.csv") && page.contains("Spalte „personen“ fehlt"), "{page}");
    let csv = b"lon;lat;personen\n7.105;51.485;5\n7.115;51.485;3\n7.125;51.485;4\n";
    let (status, _, _) = site.upload_to("/verwaltung/umstieg/punkte", Some(&cookie), &with_weight, "adressen.csv", csv).await;
    assert!(status.is_redirection(), "{status}");
    let page = site.get_as(&cookie, "/verwaltung/gebietsstaende").await;
    assert!(page.contains("Bevölkerungsanteile (gewichtete Punkte): adressen.csv (3 Punkte)"), "{page}");
    // Chaining needs the second to start where the first ends.
    let (status, page) = site
        .post_as(
            &cookie,
            "/verwaltung/umstieg/verketten",
            &[("csrf", csrf.as_str()), ("erster", "sr2025"), ("zweiter", "punkte"), ("name", "z")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("beginnt nicht"), "{page}");
    // Earlier years carried across: the merged area's counts summed, marked as estimates.
    let (status, _) = site.post_as(&cookie, "/verwaltung/umstieg/anwenden", &[("csrf", csrf.as_str()), ("name", "sr2025")]).await;
    assert!(status.is_redirection(), "{status}");
    let id = site.store().imports().unwrap()[0].id;
    let page = site.get_as(&cookie, &format!("/verwaltung/gebietsstaende?erledigt=uebertragen&id={id}")).await;
    assert!(page.contains("Umstieg sr2025: 2 Werte geschätzt übernommen"), "{page}");
    assert_eq!(site.values("kinder_unter_15")[0], ("0101".to_string(), Some(200.0)));
    // A year before the change is shown on the areas of then, with the delivered values;
    // today's areas (with the estimate) on request.
    let page = site.get_as(&cookie, "/indikator/kinderarmut?ebene=Sozialraum&jahr=2024").await;
    assert!(page.contains("Gebietsstand vom 2024-12-31") && page.contains("Gebiet 0102") && page.contains(">25,0<"), "{page}");
    let page = site.get_as(&cookie, "/indikator/kinderarmut?ebene=Sozialraum&jahr=2024&gebietsstand=aktuell").await;
    assert!(page.contains("19,0 (geschätzt)") && !page.contains("Gebiet 0102"), "{page}");
    // The interactive map: values and tiles of the year's set, today's set on request.
    let then = serde_json::from_str::<serde_json::Value>(
        &site.get_as(&cookie, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024").await,
    )
    .unwrap();
    assert_eq!((then["keys"].as_array().unwrap().len(), then["gebietsstand"].as_str()), (3, Some("2024-12-31")), "{then}");
    let now = serde_json::from_str::<serde_json::Value>(
        &site.get_as(&cookie, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&gebietsstand=aktuell").await,
    )
    .unwrap();
    assert_eq!((now["keys"].clone(), now["gebietsstand"].clone()), (serde_json::json!(["0101", "0201"]), serde_json::Value::Null), "{now}");
    // A municipality's account sees the retired areas that lay in its territory.
    let (_, tenant) = site.sign_in("bochum-mitte", "Zeche-Hansa-Lampe-4", &[]).await;
    let tenant = tenant.unwrap();
    let seen = serde_json::from_str::<serde_json::Value>(
        &site.get_as(&tenant, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024").await,
    )
    .unwrap();
    assert_eq!(seen["keys"], serde_json::json!(["0101", "0102"]), "{seen}");
    // The tile set of each boundary set: 0102 exists in the old one only.
    let old = site.get_as(&cookie, "/karte/gebiet/Sozialraum/0102?gebietsstand=2024-12-31").await;
    assert!(old.contains("\"bounds\""), "{old}");
    let now = site.get_as(&cookie, "/karte/gebiet/Sozialraum/0102").await;
    assert!(!now.contains("\"bounds\""), "{now}");
    let (status, _) = site.get("/karte/werte?subject=indicator:kinderarmut&gebietsstand=2024-13-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Removing the crosswalk keeps the carried values (undo is the import's).
    let (status, _) = site.post_as(&cookie, "/verwaltung/umstieg/loeschen", &[("csrf", csrf.as_str()), ("name", "sr2025")]).await;
    assert!(status.is_redirection());
    let left: Vec<String> = site.store().crosswalks(None).unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(left, ["punkte"]);
}

on_both_backends!(redistricting);
