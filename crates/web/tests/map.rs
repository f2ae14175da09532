//! The interactive map over HTTP: vector tiles and values apart, each kind of bad tile
//! address, a tenant's tiles and values holding only its own small areas, the public view's
//! values withheld as in the table, the base map's Content-Security-Policy, and the SVG map
//! that stays for browsers without JavaScript.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use quartier_app::store::Store;
use quartier_geom::tiles::read;
use tower::ServiceExt;

#[macro_use]
mod support;
use support::*;

/// (status, content type, body bytes) of a GET, optionally with a session cookie.
async fn fetch(app: &axum::Router, uri: &str, cookie: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::get(uri).header(header::HOST, HOST);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c.split(';').next().unwrap());
    }
    let res = app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let ct = res.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

/// The address of the zoom-12 tile holding all test areas (they are 0.01° wide: at zoom 0
/// smaller than a tile unit, and left out there).
fn z12() -> String {
    let w = quartier_geom::tiles::world(7.115, 51.485);
    format!("12/{}/{}", (w[0] * 4096.0) as u32, (w[1] * 4096.0) as u32)
}

/// The values JSON per area: key → (class, tooltip as the map puts it together).
fn areas(v: &serde_json::Value) -> std::collections::HashMap<String, (Option<u64>, String)> {
    let keys = v["keys"].as_array().unwrap();
    (0..keys.len())
        .map(|i| {
            let (c, r) = (v["classes"][i].as_u64(), v["ranks"][i].as_u64());
            let unit = v["unit"].as_str().unwrap();
            let mut t = format!("{}: {}{unit}", v["names"][i].as_str().unwrap(), v["texts"][i].as_str().unwrap());
            if let Some(c) = c {
                t.push_str(&format!(" · Klasse {c}"));
            }
            if let Some(r) = r {
                t.push_str(&format!(" · Rang {r} von {}", v["with_value"]));
                if let Some(g) = v["reference"].as_str() {
                    t.push_str(&format!(" · Gesamt {g}{unit}"));
                }
            }
            (keys[i].as_str().unwrap().to_string(), (c, t))
        })
        .collect()
}

fn keys(tile: &[u8]) -> Vec<String> {
    let mut k: Vec<String> = read(tile).unwrap().into_iter().map(|f| f.key).collect();
    k.sort();
    k
}

async fn tiles_and_values_come_apart(backend: Backend) {
    let site = Site::new(backend);
    with_squares(&site);
    let app = site.app();
    let (status, ct, tile) = fetch(&app, &format!("/karte/kacheln/Sozialraum/{}.pbf", z12()), None).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/vnd.mapbox-vector-tile"));
    assert_eq!(keys(&tile), ["0101", "0102", "0201"]);
    let (_, _, world) = fetch(&app, "/karte/kacheln/Sozialraum/0/0/0.pbf", None).await;
    assert!(keys(&world).is_empty(), "areas smaller than a tile unit are left out at zoom 0");
    let f = read(&tile).unwrap().into_iter().find(|f| f.key == "0102").unwrap();
    assert!(f.rings.len() == 1 && f.rings[0].len() >= 4, "{f:?}");
    // Zoomed in: the tile over the first Sozialraum has it, one far away has nothing.
    let (x, y) = {
        let w = quartier_geom::tiles::world(7.105, 51.485);
        ((w[0] * 16384.0) as u32, (w[1] * 16384.0) as u32)
    };
    let (_, _, tile) = fetch(&app, &format!("/karte/kacheln/Sozialraum/14/{x}/{y}"), None).await;
    assert!(keys(&tile).contains(&"0101".to_string()), "{:?}", keys(&tile));
    let (_, _, empty) = fetch(&app, "/karte/kacheln/Sozialraum/14/0/0", None).await;
    assert!(keys(&empty).is_empty());
    // The values: classes, tooltips with value, unit and class, the years, the parent level.
    let (status, ct, body) = fetch(&app, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024", None).await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/json"));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((v["level"].as_str(), v["parent"].as_str(), v["year"].as_i64()), (Some("Sozialraum"), Some("Stadtteil"), Some(2024)));
    let a = areas(&v);
    let t = &a["0101"].1;
    assert!(t.starts_with("Gebiet 0101: 25 % · Klasse ") && t.contains("Gesamt 26 %"), "{t}");
    assert!(a["0201"].0.unwrap() > a["0102"].0.unwrap(), "30 % above 10 %: {v}");
    assert!(!v["legend"].as_array().unwrap().is_empty());
    // The table of the map page says the same value and class.
    let (_, page) = site.get("/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024").await;
    let row = page.split("<tr data-area=\"0101\">").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains(">25</td>") && row.contains(&format!(">{}</td>", a["0101"].0.unwrap())), "{row}");
    // The tooltip the map puts together is the SVG map's label of the area.
    assert!(page.contains(&format!("aria-label=\"{t}\"")), "{t}");
    // Area bounds for the search.
    let (status, _, body) = fetch(&app, "/karte/gebiet/Sozialraum/0102", None).await;
    let b: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!((b["bounds"][0].as_f64().unwrap() - 7.11).abs() < 1e-6 && (b["bounds"][3].as_f64().unwrap() - 51.49).abs() < 1e-6, "{b}");
    // Bad addresses.
    for (uri, want) in [
        ("/karte/kacheln/Sozialraum/21/0/0", StatusCode::BAD_REQUEST),
        ("/karte/kacheln/Sozialraum/2/4/0", StatusCode::BAD_REQUEST),
        ("/karte/kacheln/Sozialraum/2/0/zwei.pbf", StatusCode::BAD_REQUEST),
        ("/karte/kacheln/Ortsteil/0/0/0", StatusCode::NOT_FOUND),
        ("/karte/gebiet/Sozialraum/9999", StatusCode::NOT_FOUND),
        ("/karte/werte?subject=indicator:gibtsnicht&level=Sozialraum", StatusCode::NOT_FOUND),
        ("/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&method=magie", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(fetch(&app, uri, None).await.0, want, "{uri}");
    }
    // Without JavaScript the page keeps its SVG map; the interactive one is added over it.
    assert!(page.contains("<svg class=\"karte-svg\"") && page.contains("data-area=\"0101\""), "{page}");
    assert!(page.contains("id=\"karte-interaktiv\"") && page.contains("data-oben=\"Stadtteil\"") && page.contains("/static/karte.js"));
    // The same map as an SVG document (what a page too large to carry it inline shows as an
    // image without JavaScript).
    let (status, ct, svg) = fetch(&app, "/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024&format=svg", None).await;
    let svg = String::from_utf8(svg).unwrap();
    assert!(status == StatusCode::OK && ct.starts_with("image/svg+xml") && svg.matches("<path").count() == 3 + 2, "{svg}");
    let (status, ct, js) = fetch(&app, "/static/maplibre-gl.mjs", None).await;
    assert!(status == StatusCode::OK && ct.starts_with("text/javascript") && js.len() > 500_000);
}

async fn a_tenant_gets_only_its_own_small_areas(backend: Backend) {
    use quartier_app::store::accounts::{Role, Scope};
    let site = Site::new(backend);
    with_squares(&site);
    {
        let mut s = site.store();
        s.add_user("kommune01", Role::Planner, None, "Kastanie-Flur-Bank-8").unwrap();
        s.set_user_scope("kommune01", Some(&Scope { level: "Stadtteil".into(), area: "01".into() })).unwrap();
    }
    let (_, cookie) = site.sign_in("kommune01", "Kastanie-Flur-Bank-8", &[]).await;
    let cookie = cookie.unwrap();
    let app = site.app();
    let (_, _, tile) = fetch(&app, &format!("/karte/kacheln/Sozialraum/{}", z12()), Some(&cookie)).await;
    assert_eq!(keys(&tile), ["0101", "0102"], "no small area of the other municipality");
    let (_, _, tile) = fetch(&app, &format!("/karte/kacheln/Stadtteil/{}", z12()), Some(&cookie)).await;
    assert_eq!(keys(&tile), ["01", "02"], "the shared level above stays whole");
    let (_, _, body) = fetch(&app, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024", Some(&cookie)).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let a = areas(&v);
    assert!(a.contains_key("0101") && !a.contains_key("0201"), "{v}");
    assert_eq!(fetch(&app, "/karte/gebiet/Sozialraum/0201", Some(&cookie)).await.0, StatusCode::NOT_FOUND);
    // The OGC API gives the tenant the same: its own small areas, the shared level whole.
    let (_, _, body) = fetch(&app, "/ogc/collections/sozialraum/items", Some(&cookie)).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids: Vec<&str> = v["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["0101", "0102"], "{v}");
    assert_eq!(fetch(&app, "/ogc/collections/sozialraum/items/0201", Some(&cookie)).await.0, StatusCode::NOT_FOUND);
    let (_, _, body) = fetch(&app, "/ogc/collections/stadtteil/items", Some(&cookie)).await;
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["numberMatched"].as_u64(), Some(2));
    // Anonymous visitors of an internal server with accounts get no tiles.
    let (status, _, _) = fetch(&app, &format!("/karte/kacheln/Sozialraum/{}", z12()), None).await;
    assert_ne!(status, StatusCode::OK);
}

async fn the_public_view_withholds_small_counts_on_the_map_as_in_the_table(backend: Backend) {
    let site = Site { public: Some(10.0), ..Site::new(backend) };
    with_squares(&site);
    let app = site.app();
    let (_, _, body) = fetch(&app, "/karte/werte?subject=indicator:kinderarmut&level=Sozialraum&year=2024", None).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    // 8 children in SGB II in 0102 are below 10: withheld, and 0101 with it (the Stadtteil's
    // total would give it away).
    let a = areas(&v);
    for k in ["0101", "0102"] {
        assert!(a[k].0.is_none() && a[k].1.contains("geheim"), "{k}: {v}");
    }
    let (_, page) = site.get("/karte?subject=indicator:kinderarmut&level=Sozialraum&year=2024").await;
    let row = page.split("<tr data-area=\"0102\">").nth(1).unwrap().split("</tr>").next().unwrap();
    assert!(row.contains("geheim") && !row.contains(">10<"), "{row}");
    assert!(!String::from_utf8_lossy(&body).contains("0102: 10"), "the value is nowhere in the JSON");
}

async fn a_base_map_joins_the_policy_and_nothing_else(backend: Backend) {
    let plain = Site::new(backend);
    with_squares(&plain);
    let res = plain.app().oneshot(Request::get("/karte").header(header::HOST, HOST).body(Body::empty()).unwrap()).await.unwrap();
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(csp.contains("worker-src 'self'") && !csp.contains("https://"), "{csp}");
    let basemap = quartier_web::Basemap::new(
        "https://sgx.geodatenzentrum.de/wmts_basemapde/tile/1.0.0/de_basemapde_web_raster_farbe/default/GLOBAL_WEBMERCATOR/{z}/{y}/{x}.png",
        "© GeoBasis-DE / BKG (2026) CC BY 4.0",
    )
    .unwrap();
    let site = Site { basemap: Some(basemap), ..Site::new(backend) };
    with_squares(&site);
    let res = site.app().oneshot(Request::get("/karte").header(header::HOST, HOST).body(Body::empty()).unwrap()).await.unwrap();
    let csp = res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_string();
    assert!(
        csp.contains("img-src 'self' data: https://sgx.geodatenzentrum.de;")
            && csp.contains("connect-src 'self' https://sgx.geodatenzentrum.de;"),
        "{csp}"
    );
    let page = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(page.contains("data-grundkarte=\"https://sgx.geodatenzentrum.de/") && page.contains("GeoBasis-DE"), "{page}");
    // Other pages keep the strict policy.
    let res = site.app().oneshot(Request::get("/gebiete").header(header::HOST, HOST).body(Body::empty()).unwrap()).await.unwrap();
    assert!(!res.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("geodatenzentrum"));
    for bad in ["ftp://x.de/{z}", "https:///a", "https://x.de/a\"onload", "kachel/{z}/{x}/{y}"] {
        assert!(quartier_web::Basemap::new(bad, "").is_err(), "{bad}");
    }
}

on_both_backends!(
    tiles_and_values_come_apart,
    a_tenant_gets_only_its_own_small_areas,
    the_public_view_withholds_small_counts_on_the_map_as_in_the_table,
    a_base_map_joins_the_policy_and_nothing_else,
);

async fn ogc_api_features_serves_levels_with_values(backend: Backend) {
    let site = Site::new(backend);
    with_squares(&site);
    let app = site.app();
    let get = |uri: &'static str| {
        let app = app.clone();
        async move {
            let (status, ct, body) = fetch(&app, uri, None).await;
            (status, ct, serde_json::from_slice::<serde_json::Value>(&body).unwrap_or(serde_json::Value::Null))
        }
    };
    let (status, _, landing) = get("/ogc").await;
    assert_eq!(status, StatusCode::OK);
    let rels: Vec<&str> = landing["links"].as_array().unwrap().iter().map(|l| l["rel"].as_str().unwrap()).collect();
    assert!(rels.contains(&"conformance") && rels.contains(&"data"), "{landing}");
    assert!(landing["links"][1]["href"].as_str().unwrap().starts_with("http://127.0.0.1:8080/ogc/"), "absolute links");
    let (_, _, conf) = get("/ogc/conformance").await;
    assert!(conf["conformsTo"].to_string().contains("ogcapi-features-1/1.0/conf/geojson"));
    let (_, _, cols) = get("/ogc/collections").await;
    let ids: Vec<&str> = cols["collections"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["stadtteil", "sozialraum"]);
    let bbox = &cols["collections"][1]["extent"]["spatial"]["bbox"][0];
    assert!((bbox[0].as_f64().unwrap() - 7.10).abs() < 1e-6, "{bbox}");
    // Items: values of the catalogue for the latest year, paging with links, bbox, by id.
    let (status, ct, items) = get("/ogc/collections/sozialraum/items?limit=2").await;
    assert_eq!((status, ct.as_str()), (StatusCode::OK, "application/geo+json"));
    assert_eq!((items["numberMatched"].as_u64(), items["numberReturned"].as_u64()), (Some(3), Some(2)));
    let next = items["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"].as_str().unwrap().to_string();
    assert!(next.ends_with("/ogc/collections/sozialraum/items?limit=2&offset=2"), "{next}");
    let f = &items["features"][0];
    assert_eq!(
        (f["id"].as_str(), f["properties"]["kinderarmut"].as_f64(), f["properties"]["jahr"].as_i64()),
        (Some("0101"), Some(25.0), Some(2024))
    );
    assert_eq!(f["properties"]["uebergeordnet"], "01");
    // Exterior rings anticlockwise (RFC 7946).
    let ring = f["geometry"]["coordinates"][0][0].as_array().unwrap();
    let area: f64 = ring
        .windows(2)
        .map(|w| w[0][0].as_f64().unwrap() * w[1][1].as_f64().unwrap() - w[1][0].as_f64().unwrap() * w[0][1].as_f64().unwrap())
        .sum();
    assert!(area > 0.0, "{ring:?}");
    let (_, _, page2) = get("/ogc/collections/sozialraum/items?limit=2&offset=2").await;
    assert_eq!(page2["features"][0]["id"], "0201");
    assert!(page2["links"].as_array().unwrap().iter().any(|l| l["rel"] == "prev"));
    let (_, _, boxed) = get("/ogc/collections/sozialraum/items?bbox=7.105,51.481,7.109,51.489").await;
    assert_eq!(boxed["numberMatched"].as_u64(), Some(1), "{boxed}");
    let (_, _, one) = get("/ogc/collections/sozialraum/items/0102").await;
    assert_eq!(one["properties"]["kinderarmut"].as_f64(), Some(10.0));
    for (uri, want) in [
        ("/ogc/collections/ortsteil/items", StatusCode::NOT_FOUND),
        ("/ogc/collections/sozialraum/items/9999", StatusCode::NOT_FOUND),
        ("/ogc/collections/sozialraum/items?limit=0", StatusCode::BAD_REQUEST),
        ("/ogc/collections/sozialraum/items?bbox=1,2,3", StatusCode::BAD_REQUEST),
        ("/ogc/collections/sozialraum/items?indikatoren=gibtsnicht", StatusCode::NOT_FOUND),
        ("/ogc/collections/sozialraum/items?jahr=zwei", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(get(uri).await.0, want, "{uri}");
    }
    // HTML for browsers (f=html or Accept: text/html), JSON for clients.
    let (status, ct, html) = fetch(&app, "/ogc/collections/sozialraum/items?f=html&limit=2", None).await;
    let html = String::from_utf8(html).unwrap();
    assert!(status == StatusCode::OK && ct.starts_with("text/html") && html.contains("<th scope=\"row\">0101</th>"), "{html}");
    assert!(html.contains("f=html") && html.contains("2 von 3 Objekten"), "{html}");
    let res = app
        .clone()
        .oneshot(
            Request::get("/ogc")
                .header(header::HOST, HOST)
                .header(header::ACCEPT, "text/html,application/xhtml+xml")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    assert!(fetch(&app, "/ogc/conformance", None).await.1.starts_with("application/json"));
    // A saved index on its rated level: its result table's columns per area.
    site.store()
        .save_index_definition(
            "kinder",
            "id = \"kinder\"\nname = \"Kinderindex\"\nmethod = \"weighted\"\nlevel = \"Sozialraum\"\ndomains = [{ indicator = \"kinderarmut\", weight = 1 }]\nclassification = { method = \"equal-interval\", k = 2 }\n",
        )
        .unwrap();
    let (_, _, cols) = get("/ogc/collections").await;
    assert!(
        cols["collections"].as_array().unwrap().iter().any(|c| c["id"] == "index-kinder" && c["title"] == "Index: Kinderindex"),
        "{cols}"
    );
    let (_, _, idx) = get("/ogc/collections/index-kinder/items").await;
    assert_eq!(idx["numberMatched"].as_u64(), Some(3), "{idx}");
    let p = &idx["features"][2]["properties"];
    assert!(p["rated"] == true && p["class"].is_number() && p["year"] == 2024 && p["name"] == "Gebiet 0201", "{p}");
    // The public view: small counts withheld as on the pages.
    let public = Site { public: Some(10.0), ..Site::new(backend) };
    with_squares(&public);
    let (_, _, body) = fetch(&public.app(), "/ogc/collections/sozialraum/items/0102", None).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["properties"]["kinderarmut"].is_null(), "{v}");
}

on_both_backends!(ogc_api_features_serves_levels_with_values);

async fn ogc_api_features_in_the_crs_asked_for(backend: Backend) {
    let site = Site::new(backend);
    with_squares(&site);
    let app = site.app();
    let first_point = |v: &serde_json::Value| {
        let p = &v["features"][0]["geometry"]["coordinates"][0][0][0];
        (p[0].as_f64().unwrap(), p[1].as_f64().unwrap())
    };
    let req = |uri: &str| Request::get(uri).header(header::HOST, HOST).body(Body::empty()).unwrap();
    let res = app.clone().oneshot(req("/ogc/collections/sozialraum/items?crs=http://www.opengis.net/def/crs/EPSG/0/25832")).await.unwrap();
    assert_eq!(res.headers()["content-crs"], "<http://www.opengis.net/def/crs/EPSG/0/25832>");
    let v: serde_json::Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    let (x, y) = first_point(&v);
    // 7.10° E, 51.48° N in UTM zone 32: about 368 km east, 5,705 km north.
    assert!((360_000.0..380_000.0).contains(&x) && (5_700_000.0..5_710_000.0).contains(&y), "{x} {y}");
    // EPSG:3035 in its authority's axis order: northing first.
    let (_, _, body) = fetch(&app, "/ogc/collections/sozialraum/items?crs=EPSG:3035", None).await;
    let (n, e) = first_point(&serde_json::from_slice(&body).unwrap());
    assert!((3_000_000.0..3_300_000.0).contains(&n) && (4_000_000.0..4_200_000.0).contains(&e), "{n} {e}");
    let (_, _, body) = fetch(&app, "/ogc/collections/sozialraum/items", None).await;
    let (lon, lat) = first_point(&serde_json::from_slice(&body).unwrap());
    assert!((lon - 7.10).abs() < 0.02 && (lat - 51.48).abs() < 0.02, "CRS84 by default: {lon} {lat}");
    // A box in EPSG:25832 selects what the same box in CRS84 does.
    let (_, _, body) = fetch(
        &app,
        &format!("/ogc/collections/sozialraum/items?bbox={},{},{},{}&bbox-crs=EPSG:25832", x + 100.0, y + 100.0, x + 300.0, y + 300.0),
        None,
    )
    .await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((v["numberMatched"].as_u64(), v["features"][0]["id"].as_str()), (Some(1), Some("0101")), "{v}");
    assert_eq!(fetch(&app, "/ogc/collections/sozialraum/items?crs=EPSG:4647", None).await.0, StatusCode::BAD_REQUEST);
    let (_, _, body) = fetch(&app, "/ogc/collections", None).await;
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["collections"][0]["crs"].as_array().unwrap().len(), 4);
}

on_both_backends!(ogc_api_features_in_the_crs_asked_for);

async fn offers_are_the_same_points_on_the_map_and_for_gis(backend: Backend) {
    use quartier_app::store::offers::*;
    let site = Site::new(backend);
    with_squares(&site);
    let offers = Offers {
        organizations: vec![Organization { id: "awo".into(), name: "AWO".into(), ..Default::default() }],
        services: vec![Service { id: "s1".into(), organization_id: "awo".into(), name: "Lernhilfe".into(), ..Default::default() }],
        locations: vec![Location {
            id: "l1".into(),
            organization_id: "awo".into(),
            name: "Treff".into(),
            address: "Marktstraße 1".into(),
            latitude: 51.485,
            longitude: 7.105,
        }],
        service_at_location: vec![ServiceAtLocation { id: "x".into(), service_id: "s1".into(), location_id: "l1".into() }],
    };
    site.store().save_offers(&offers, false).unwrap();
    let app = site.app();
    let (_, ct, body) = fetch(&app, "/karte/angebote.geojson", None).await;
    let map: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(ct, "application/geo+json");
    let (_, _, body) = fetch(&app, "/ogc/collections/angebote/items", None).await;
    let gis: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let want = serde_json::json!({ "name": "Treff", "adresse": "Marktstraße 1", "traeger": "AWO", "angebote": "Lernhilfe" });
    assert_eq!(map["features"][0]["properties"], want);
    assert_eq!(gis["features"][0]["properties"], want);
    assert_eq!(map["features"][0]["geometry"]["coordinates"], serde_json::json!([7.105, 51.485]));
    assert_eq!(gis["features"][0]["geometry"]["coordinates"], serde_json::json!([7.105, 51.485]));
}

on_both_backends!(offers_are_the_same_points_on_the_map_and_for_gis);
