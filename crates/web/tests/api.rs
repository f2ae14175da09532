//! The JSON API and API tokens over HTTP: every operation the OpenAPI document lists is
//! called and answers as documented (and every `/api/v1` route is documented); bad input gets
//! problem details naming the parameter; tokens authenticate with the account's role, scope
//! and visibility, read-only tokens cannot write, revoked and expired ones are refused,
//! cookies never authorise API writes, each token has its rate; API writes are audited; the
//! public view answers with disclosure control; the OpenAPI document validates (CI).

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use quartier_app::store::Store;
use quartier_app::store::accounts::{Role, TokenScope};
use serde_json::{Value, json};
use tower::ServiceExt;

#[macro_use]
mod support;
use support::*;

/// One API request: (status, JSON body or Null, headers).
async fn call(app: &axum::Router, method: Method, uri: &str, token: Option<&str>, body: Option<Vec<u8>>) -> (StatusCode, Value, HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri).header(header::HOST, HOST);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let res = app.clone().oneshot(req.body(body.map(Body::from).unwrap_or_else(Body::empty)).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null), headers)
}

async fn get(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let (s, v, _) = call(app, Method::GET, uri, token, None).await;
    (s, v)
}

/// Tokens of the test accounts.
struct Tokens {
    planner: String,
    read_only: String,
    traeger: String,
    tenant: String,
}

/// The map test data (squares, children, child poverty), an index, an offer of the AWO, and
/// accounts: a planner (read-write and read-only tokens), a Träger of the AWO with internal
/// access, a planner limited to Stadtteil 01.
fn populated(site: &Site) -> Tokens {
    use quartier_app::store::offers::*;
    with_squares(site);
    let mut s = site.store();
    s.save_index_definition(
        "kinder",
        "id = \"kinder\"\nname = \"Kinderindex\"\nmethod = \"weighted\"\nlevel = \"Sozialraum\"\ndomains = [{ indicator = \"kinderarmut\", weight = 1 }]\nclassification = { method = \"equal-interval\", k = 2 }\n",
    )
    .unwrap();
    let offers = Offers {
        organizations: vec![
            Organization { id: "awo".into(), name: "AWO".into(), ..Default::default() },
            Organization { id: "diakonie".into(), name: "Diakonie".into(), ..Default::default() },
        ],
        services: vec![Service { id: "lernhilfe".into(), organization_id: "awo".into(), name: "Lernhilfe".into(), ..Default::default() }],
        locations: vec![Location {
            id: "treff".into(),
            organization_id: "awo".into(),
            name: "Treff".into(),
            address: "Marktstraße 1".into(),
            latitude: 51.485,
            longitude: 7.105,
        }],
        service_at_location: vec![ServiceAtLocation { id: "x".into(), service_id: "lernhilfe".into(), location_id: "treff".into() }],
    };
    s.save_offers(&offers, false).unwrap();
    s.add_user("planung", Role::Planner, None, "Rathaus-Turm-Uhr-1903").unwrap();
    s.add_user("awo-user", Role::Traeger, Some("awo"), "Kastanie-Flur-Bank-8").unwrap();
    s.set_user_internal("awo-user", true).unwrap();
    s.add_user("bochum-mitte", Role::Planner, None, "Zeche-Hansa-Lampe-4").unwrap();
    s.set_user_scope("bochum-mitte", Some(&quartier_app::store::accounts::Scope { level: "Stadtteil".into(), area: "01".into() })).unwrap();
    let mut token = |user: &str, scope| s.create_api_token(user, "Test", scope, 86_400).unwrap().0;
    Tokens {
        planner: token("planung", TokenScope::ReadWrite),
        read_only: token("planung", TokenScope::Read),
        traeger: token("awo-user", TokenScope::ReadWrite),
        tenant: token("bochum-mitte", TokenScope::ReadWrite),
    }
}

/// The data file the import operations upload.
const DELIVERY: &str =
    "Gebiet;Jahr;Merkmal;Wert\n0101;2025;Kinder unter 15;125\n0102;2025;Kinder unter 15;82\n0201;2025;Kinder unter 15;301\n";

async fn every_documented_operation_answers_as_documented(backend: Backend) {
    let site = Site::new(backend);
    let t = populated(&site);
    let app = site.app();
    // The description is open to everyone; the data needs a token once accounts exist.
    let (status, doc) = get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!((status, &doc["openapi"]), (StatusCode::OK, &json!("3.1.0")));
    let (status, v) = get(&app, "/api/v1/levels", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
    // Every operation, as (operation id, method, path, documented success status).
    let mut documented = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let ok = op["responses"].as_object().unwrap().keys().find(|k| k.starts_with('2')).unwrap().clone();
            documented.push((op["operationId"].as_str().unwrap().to_string(), method.to_uppercase(), path.clone(), ok));
        }
    }
    // The calls, in an order that makes each one meaningful (an upload before its confirmation).
    let token = Some(t.planner.as_str());
    let mut called: Vec<String> = Vec::new();
    macro_rules! check {
        ($id:expr, $status:expr, $v:expr) => {{
            let id: &str = $id;
            let (_, _, path, ok) = documented.iter().find(|d| d.0 == id).unwrap_or_else(|| panic!("{id} is not documented"));
            assert_eq!($status.as_str(), ok, "{id} ({path}): {}", $v);
            called.push(id.to_string());
        }};
    }
    for (id, uri) in [
        ("getRoot", "/api/v1/"),
        ("getOpenApi", "/api/v1/openapi.json"),
        ("listLevels", "/api/v1/levels"),
        ("listAreas", "/api/v1/areas?level=Sozialraum"),
        ("listVariables", "/api/v1/variables"),
        ("listValues", "/api/v1/values?variable=kinder_sgb_ii&level=Sozialraum&year=2024"),
        ("listIndicators", "/api/v1/indicators"),
        ("listIndicatorValues", "/api/v1/indicators/kinderarmut/values?level=Sozialraum"),
        ("listIndices", "/api/v1/indices"),
        ("getIndex", "/api/v1/indices/kinder"),
        ("listOffers", "/api/v1/offers"),
    ] {
        let (status, v) = get(&app, uri, token).await;
        check!(id, status, &v);
        match id {
            "listLevels" => assert_eq!(v["levels"][1], json!({ "name": "Sozialraum", "rank": 1, "areas": 3 })),
            "listAreas" => assert_eq!(v["areas"].as_array().unwrap().len(), 3, "{v}"),
            "listValues" => assert_eq!(
                v["values"][1],
                json!({ "area": "0102", "name": "Gebiet 0102", "year": 2024, "value": 8.0, "symbol": null, "origin": "delivered" })
            ),
            "listIndicatorValues" => {
                // 30 of 120 children: 25 %; the whole city 128 of 500.
                let first = &v["values"][0];
                assert!(first["area"] == "0101" && first["value"] == 25.0 && first["numerator"] == 30.0 && first["status"] == "ok", "{v}");
                assert_eq!(v["references"][0]["value"], json!(25.6));
            }
            "getIndex" => assert!(v["rows"].as_array().unwrap().len() == 3 && v["columns"][0] == "area_id", "{v}"),
            "listOffers" => assert!(v["services"][0]["version"].is_string(), "{v}"),
            _ => {}
        }
    }
    // Robustness exists for MSS-style indices: the weighted test index answers 404 with why.
    let (status, v) = get(&app, "/api/v1/indices/kinder/robustness", token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("MSS"), "{v}");
    site.store()
        .save_index_definition(
            "mss",
            "id = \"mss\"\nname = \"MSS\"\nmethod = \"mss\"\nlevel = \"Sozialraum\"\npopulation = \"kinder_unter_15\"\nmin_population = 0\nstatus = [\"kinderarmut\"]\ndynamics = [\"kinderarmut\"]\n",
        )
        .unwrap();
    let (status, v) = get(&app, "/api/v1/indices/mss/robustness", token).await;
    check!("getIndexRobustness", status, &v);
    assert!(
        v["rows"].as_array().unwrap().len() == 3 && v["columns"].as_array().unwrap().iter().any(|c| c == "same_class_share_weights"),
        "{v}"
    );
    // Offers: a new one at the existing place, then a change with its version.
    let new =
        json!({ "organization": "awo", "name": "Hausaufgabenhilfe", "location": "treff", "target_groups": ["Kinder"], "capacity": 12 });
    let (status, v, h) = call(&app, Method::POST, "/api/v1/offers", token, Some(new.to_string().into_bytes())).await;
    check!("createOffer", status, &v);
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(h[header::LOCATION], format!("/api/v1/offers/{id}").as_str());
    let change = json!({ "version": v["version"], "name": "Hausaufgabenhilfe plus", "capacity": 15, "confirmed": true });
    let (status, v, _) = call(&app, Method::PUT, &format!("/api/v1/offers/{id}"), token, Some(change.to_string().into_bytes())).await;
    check!("updateOffer", status, &v);
    // The old version again: someone changed it meanwhile.
    let (status, _, _) = call(&app, Method::PUT, &format!("/api/v1/offers/{id}"), token, Some(change.to_string().into_bytes())).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let offers = site.store().offers().unwrap();
    let s = offers.services.iter().find(|s| s.id == id).unwrap();
    assert_eq!((s.name.as_str(), s.capacity, s.maintainer.as_str()), ("Hausaufgabenhilfe plus", Some(15.0), "planung"));
    // Import: upload (dry run, nothing stored), its preview, discard; again, confirm.
    let upload = "/api/v1/imports?file=kinder-2025.csv&level=Sozialraum";
    let (status, v, _) = call(&app, Method::POST, upload, token, Some(DELIVERY.into())).await;
    check!("uploadImport", status, &v);
    assert_eq!((v["dry_run"].as_bool(), v["preview"]["inserted"].as_u64()), (Some(true), Some(3)), "{v}");
    assert_eq!(site.store().value_years(&["kinder_unter_15".into()]).unwrap(), vec![2024]);
    let pending = v["id"].as_str().unwrap().to_string();
    let (status, v) = get(&app, &format!("/api/v1/imports/{pending}"), token).await;
    check!("getImport", status, &v);
    let (status, v, _) = call(&app, Method::DELETE, &format!("/api/v1/imports/{pending}"), token, None).await;
    check!("discardImport", status, &v);
    let (status, _) = get(&app, &format!("/api/v1/imports/{pending}"), token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, v, _) = call(&app, Method::POST, upload, token, Some(DELIVERY.into())).await;
    let pending = v["id"].as_str().unwrap().to_string();
    // Another account's token does not see this upload.
    let (status, _, _) = call(&app, Method::POST, &format!("/api/v1/imports/{pending}/confirm"), Some(&t.tenant), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, v, _) = call(&app, Method::POST, &format!("/api/v1/imports/{pending}/confirm"), token, None).await;
    check!("confirmImport", status, &v);
    assert_eq!(site.store().value_years(&["kinder_unter_15".into()]).unwrap(), vec![2024, 2025]);
    // Every documented operation was called, and every route of /api/v1 is documented.
    let mut ids: Vec<&str> = documented.iter().map(|d| d.0.as_str()).collect();
    ids.sort();
    called.sort();
    assert_eq!(ids, called);
    let routes = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    for line in routes.lines().filter(|l| l.trim_start().starts_with(".route(\"/api/v1")) {
        let path = line.split('"').nth(1).unwrap().trim_start_matches("/api/v1");
        let path = if path.is_empty() { "/" } else { path };
        assert!(documented.iter().any(|d| d.2 == path), "route {path} is not in the OpenAPI document");
    }
    // The writes are in the audit log with the account and the token.
    let log = site.store().audit_log().unwrap();
    assert!(log.iter().any(|e| e.who == "planung (API-Schlüssel „Test“)" && e.action == "Daten importiert"), "{log:?}");
    assert!(log.iter().any(|e| e.who == "planung (API-Schlüssel „Test“)" && e.action == "Angebote importiert"), "{log:?}");
}

on_both_backends!(every_documented_operation_answers_as_documented);

async fn bad_input_gets_problem_details_naming_the_parameter(backend: Backend) {
    let site = Site::new(backend);
    let t = populated(&site);
    let app = site.app();
    let token = Some(t.planner.as_str());
    for (uri, status, parameter) in [
        ("/api/v1/values?level=Sozialraum", 400, Some("variable")),
        ("/api/v1/values?variable=gibtsnicht", 404, Some("variable")),
        ("/api/v1/values?variable=kinder_sgb_ii&level=Kiez", 404, Some("level")),
        ("/api/v1/values?variable=kinder_sgb_ii&year=20x4", 400, Some("year")),
        ("/api/v1/values?variable=kinder_sgb_ii&year=1999", 404, Some("year")),
        ("/api/v1/areas?level=Kiez", 404, Some("level")),
        ("/api/v1/indicators/gibtsnicht/values", 404, Some("id")),
        ("/api/v1/indicators/kinderarmut/values?year=1999", 404, Some("year")),
        ("/api/v1/indices/gibtsnicht", 404, Some("id")),
        ("/api/v1/gibtsnicht", 404, None),
        ("/ogc/collections/gibtsnicht", 404, Some("collectionId")),
        ("/ogc/collections/sozialraum/items?crs=EPSG:4326", 400, Some("crs")),
        ("/ogc/collections/sozialraum/items?bbox=1,2,3", 400, Some("bbox")),
        ("/ogc/collections/sozialraum/items?limit=0", 400, Some("limit")),
        ("/ogc/collections/sozialraum/items?indikatoren=gibtsnicht", 404, Some("indikatoren")),
        ("/ogc/collections/sozialraum/items?jahr=1999", 404, Some("jahr")),
    ] {
        let (s, v, h) = call(&app, Method::GET, uri, token, None).await;
        assert_eq!(s.as_u16(), status, "{uri}: {v}");
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json", "{uri}");
        assert_eq!((v["status"].as_u64(), v["type"].as_str()), (Some(status as u64), Some("about:blank")), "{uri}: {v}");
        assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()) && v["instance"].is_string(), "{uri}: {v}");
        assert_eq!(v["parameter"].as_str(), parameter, "{uri}: {v}");
    }
    // A browser asking the OGC API for HTML gets the HTML error page.
    let res = app
        .clone()
        .oneshot(
            Request::get("/ogc/collections/gibtsnicht?f=html")
                .header(header::AUTHORIZATION, format!("Bearer {}", t.planner))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert!(res.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
    // A limit beyond the maximum is clamped and said so.
    let (s, v, h) = call(&app, Method::GET, "/ogc/collections/sozialraum/items?limit=50000", token, None).await;
    assert_eq!((s, &h["x-quartier-limit"]), (StatusCode::OK, &"10000".parse::<axum::http::HeaderValue>().unwrap()));
    assert!(v["notice"].as_str().unwrap().contains("10000"), "{v}");
    // Writes with bad bodies: the field to blame, nothing stored.
    let before = site.store().offers().unwrap();
    for (uri, method, body, status) in [
        ("/api/v1/offers", Method::POST, "{\"name\": 3}", 400),
        ("/api/v1/offers", Method::POST, "{\"name\": \"X\", \"organization\": \"awo\", \"location\": \"treff\", \"capacity\": -1}", 400),
        ("/api/v1/offers", Method::POST, "{\"name\": \"X\", \"organization\": \"gibtsnicht\", \"location\": \"treff\"}", 400),
        ("/api/v1/offers", Method::POST, "{\"name\": \"X\", \"organization\": \"awo\", \"latitude\": 10, \"longitude\": 10}", 400),
        ("/api/v1/offers/gibtsnicht", Method::PUT, "{\"name\": \"X\"}", 404),
        ("/api/v1/imports?level=Sozialraum", Method::POST, DELIVERY, 400),
        ("/api/v1/imports?file=x.csv&kind=gebaeude", Method::POST, DELIVERY, 400),
        ("/api/v1/imports?file=x.csv&level=Sozialraum", Method::POST, "Gebiet;Jahr;Merkmal;Wert\n9999;2025;Kinder unter 15;-4\n", 422),
        ("/api/v1/imports/00000000000000000000000000000000/confirm", Method::POST, "", 404),
    ] {
        let (s, v, h) = call(&app, method, uri, token, Some(body.into())).await;
        assert_eq!(s.as_u16(), status, "{uri} {body}: {v}");
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json", "{uri}");
    }
    let (_, v, _) = call(
        &app,
        Method::POST,
        "/api/v1/imports?file=x.csv&level=Sozialraum",
        token,
        Some("Gebiet;Jahr;Merkmal;Wert\n9999;2025;Kinder unter 15;-4\n".into()),
    )
    .await;
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("x.csv") && detail.contains("9999") && detail.contains("Zeile 2") && !detail.contains("quartier-uploads"),
        "{detail}"
    );
    assert_eq!(site.store().offers().unwrap(), before);
    assert_eq!(site.store().value_years(&["kinder_unter_15".into()]).unwrap(), vec![2024]);
}

on_both_backends!(bad_input_gets_problem_details_naming_the_parameter);

async fn tokens_carry_their_account_and_nothing_more(backend: Backend) {
    let site = Site::new(backend);
    let t = populated(&site);
    let app = site.app();
    // Without a token, with a malformed or an unknown one: 401 with WWW-Authenticate.
    for token in [None, Some("qrt_abc"), Some(&*format!("qrt_{}", "0".repeat(64)))] {
        let (s, v, h) = call(&app, Method::GET, "/api/v1/levels", token, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{token:?}: {v}");
        assert!(h[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
    }
    // A read-only token reads, and may not write.
    assert_eq!(get(&app, "/api/v1/levels", Some(&t.read_only)).await.0, StatusCode::OK);
    let offer = json!({ "organization": "awo", "name": "Neu", "location": "treff" }).to_string();
    let (s, v, _) = call(&app, Method::POST, "/api/v1/offers", Some(&t.read_only), Some(offer.clone().into_bytes())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("nur lesen"));
    // A Träger token: offers of its own organisation only; no imports.
    let other = json!({ "organization": "diakonie", "name": "Fremd", "location": "treff" }).to_string();
    assert_eq!(call(&app, Method::POST, "/api/v1/offers", Some(&t.traeger), Some(other.into_bytes())).await.0, StatusCode::FORBIDDEN);
    let (s, v, _) = call(&app, Method::POST, "/api/v1/offers", Some(&t.traeger), Some(offer.clone().into_bytes())).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _, _) = call(&app, Method::POST, "/api/v1/imports?file=x.csv&level=Sozialraum", Some(&t.traeger), Some(DELIVERY.into())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A tenant's token: the shared level whole, only its own small areas.
    let (_, v) = get(&app, "/api/v1/areas?level=Sozialraum", Some(&t.tenant)).await;
    let keys: Vec<&str> = v["areas"].as_array().unwrap().iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["0101", "0102"]);
    let (_, v) = get(&app, "/api/v1/values?variable=kinder_sgb_ii&level=Sozialraum", Some(&t.tenant)).await;
    assert!(v["values"].as_array().unwrap().iter().all(|x| x["area"] != "0201"), "{v}");
    let (_, v) = get(&app, "/api/v1/indicators/kinderarmut/values?level=Sozialraum", Some(&t.tenant)).await;
    assert!(!v.to_string().contains("0201"), "{v}");
    let (_, v) = get(&app, "/api/v1/indices/kinder", Some(&t.tenant)).await;
    assert!(!v.to_string().contains("0201"), "{v}");
    let (_, v) = get(&app, "/api/v1/levels", Some(&t.tenant)).await;
    assert_eq!(v["levels"][1]["areas"], 2);
    let (_, v) = get(&app, "/ogc/collections/sozialraum/items", Some(&t.tenant)).await;
    assert_eq!(v["numberMatched"], 2, "{v}");
    // Cookies never authorise API writes (no CSRF for the API, so no cookie may write).
    let (_, cookie) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let cookie = cookie.unwrap();
    let req = Request::post("/api/v1/offers")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, format!("http://{HOST}"))
        .header("sec-fetch-site", "same-origin")
        .header(header::COOKIE, cookie.split(';').next().unwrap())
        .body(Body::from(offer.clone()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // ... but a signed-in browser may read.
    let req = Request::get("/api/v1/levels").header(header::HOST, HOST).header(header::COOKIE, cookie.split(';').next().unwrap());
    assert_eq!(app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap().status(), StatusCode::OK);
    // Revoked: refused at once, saying so; its last use is listed.
    let id = site.store().api_tokens(Some("planung")).unwrap().iter().find(|k| k.scope == TokenScope::Read).unwrap().id;
    assert!(site.store().api_tokens(Some("planung")).unwrap().iter().any(|k| k.id == id && k.last_used.is_some()));
    site.store().revoke_api_token(Some("planung"), id).unwrap();
    let (s, v, _) = call(&app, Method::GET, "/api/v1/levels", Some(&t.read_only), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(v["detail"].as_str().unwrap().contains("widerrufen"), "{v}");
    // Another account's token cannot be revoked by name of a different account.
    let tenant_id = site.store().api_tokens(Some("bochum-mitte")).unwrap()[0].id;
    assert!(site.store().revoke_api_token(Some("planung"), tenant_id).is_err());
    // A disabled account's tokens stop working.
    site.store().set_user_disabled("bochum-mitte", true).unwrap();
    assert_eq!(get(&app, "/api/v1/levels", Some(&t.tenant)).await.0, StatusCode::UNAUTHORIZED);
    // Revoking and issuing are audited.
    let log = site.store().audit_log().unwrap();
    assert!(log.iter().any(|e| e.action == "API-Schlüssel widerrufen"));
    assert_eq!(log.iter().filter(|e| e.action == "API-Schlüssel ausgestellt").count(), 4);
}

on_both_backends!(tokens_carry_their_account_and_nothing_more);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_saying_so() {
    let site = Site::new(Backend::Sqlite);
    let t = populated(&site);
    let Location::Sqlite(path) = &site.db else { unreachable!() };
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute("UPDATE api_token SET expires = 1000 WHERE scope = 'read'", []).unwrap();
    let (s, v) = get(&site.app(), "/api/v1/levels", Some(&t.read_only)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(v["detail"].as_str().unwrap().contains("abgelaufen"), "{v}");
    // The same token's neighbour still works.
    assert_eq!(get(&site.app(), "/api/v1/levels", Some(&t.planner)).await.0, StatusCode::OK);
}

use quartier_app::store::Location;

async fn each_token_has_its_rate(backend: Backend) {
    let site = Site { api_rate: Some(60), ..Site::new(backend) };
    let t = populated(&site);
    let app = site.app();
    // 60 a minute: a burst of 15, then 429 with Retry-After; another token is not held up.
    for _ in 0..15 {
        assert_eq!(get(&app, "/api/v1/", Some(&t.planner)).await.0, StatusCode::OK);
    }
    let (s, v, h) = call(&app, Method::GET, "/api/v1/", Some(&t.planner), None).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(h[header::RETRY_AFTER], "1");
    assert_eq!(v["status"], 429);
    assert_eq!(get(&app, "/api/v1/", Some(&t.read_only)).await.0, StatusCode::OK);
    // The OGC API counts against the same rate.
    assert_eq!(get(&app, "/ogc", Some(&t.planner)).await.0, StatusCode::TOO_MANY_REQUESTS);
}

on_both_backends!(each_token_has_its_rate);

async fn the_public_view_answers_with_disclosure_control(backend: Backend) {
    let site = Site { public_view: Some(10.0), ..Site::new(backend) };
    populated(&site);
    let app = site.app();
    // Anonymous: published results only; 8 children in SGB II in 0102 are withheld, and so is
    // what would give them back.
    let (s, v) = get(&app, "/api/v1/values?variable=kinder_sgb_ii&level=Sozialraum&year=2024", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let row = |k: &str| v["values"].as_array().unwrap().iter().find(|x| x["area"] == k).unwrap().clone();
    assert_eq!((row("0102")["value"].clone(), row("0102")["symbol"].clone()), (Value::Null, json!("*")));
    assert!(!v.to_string().contains("8.0"), "{v}");
    let (_, v) = get(&app, "/api/v1/indicators/kinderarmut/values?level=Sozialraum", None).await;
    assert_eq!(v["public"], true);
    let r = v["values"].as_array().unwrap().iter().find(|x| x["area"] == "0102").unwrap();
    assert!(r["value"].is_null() && r["numerator"].is_null(), "{r}");
    // Writes: never without a token.
    let (s, _, _) = call(&app, Method::POST, "/api/v1/offers", None, Some(b"{}".to_vec())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

on_both_backends!(the_public_view_answers_with_disclosure_control);

async fn tokens_are_made_and_revoked_on_the_account_page(backend: Backend) {
    let site = Site::new(backend);
    populated(&site);
    let (_, cookie) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let cookie = cookie.unwrap();
    let page = site.get_as(&cookie, "/konto").await;
    let csrf = hidden(&page, "csrf");
    // Without the form's token: refused.
    let (s, _) = site.post_as(&cookie, "/konto/schluessel", &[("csrf", "falsch"), ("name", "R"), ("recht", "read"), ("tage", "30")]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, page) =
        site.post_as(&cookie, "/konto/schluessel", &[("csrf", &csrf), ("name", "R-Auswertung"), ("recht", "read"), ("tage", "30")]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let secret = page.split("<code class=\"secret\" tabindex=\"0\">").nth(1).unwrap().split('<').next().unwrap().to_string();
    assert!(secret.starts_with("qrt_") && secret.len() == 68, "{secret}");
    assert_eq!(get(&site.app(), "/api/v1/levels", Some(&secret)).await.0, StatusCode::OK);
    // Shown once: the page afterwards lists it without the secret.
    let again = site.get_as(&cookie, "/konto").await;
    assert!(again.contains("R-Auswertung") && !again.contains(&secret));
    let (s, page) = site.post_as(&cookie, "/konto/schluessel", &[("csrf", &csrf), ("name", "x"), ("recht", "read"), ("tage", "999")]).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    let id = site.store().api_tokens(Some("planung")).unwrap().iter().find(|k| k.name == "R-Auswertung").unwrap().id.to_string();
    let (s, page) = site.post_as(&cookie, "/konto/schluessel/widerrufen", &[("csrf", &csrf), ("id", &id)]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("widerrufen"));
    assert_eq!(get(&site.app(), "/api/v1/levels", Some(&secret)).await.0, StatusCode::UNAUTHORIZED);
}

on_both_backends!(tokens_are_made_and_revoked_on_the_account_page);

/// The OpenAPI document against the OpenAPI 3.1 schema, with the validator from the npm
/// registry (`e2e/openapi.mjs`, installed by `npm ci --prefix e2e`). In CI it must run.
#[test]
fn the_openapi_document_validates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let ready = root.join("e2e/node_modules/@seriousme/openapi-schema-validator").exists()
        && std::process::Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ready {
        assert!(std::env::var("CI").is_err(), "CI must install node and the e2e packages (see .ci/run)");
        eprintln!("SKIPPED: needs node and `npm ci --prefix e2e`");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let site = rt.block_on(async { Site::create(Backend::Sqlite) });
    let doc = rt.block_on(async { get(&site.app(), "/api/v1/openapi.json", None).await.1 });
    let file = site.dir.path().join("openapi.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = std::process::Command::new("node").arg(root.join("e2e/openapi.mjs")).arg(&file).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("valid OpenAPI 3.1"), "{text}");
}

async fn administrators_revoke_any_token(backend: Backend) {
    let site = Site::new(backend);
    let t = populated(&site);
    site.store().add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1904").unwrap();
    let (_, admin) = site.sign_in("chefin", "Rathaus-Turm-Uhr-1904", &[]).await;
    let admin = admin.unwrap();
    let page = site.get_as(&admin, "/verwaltung/konten").await;
    assert!(page.contains("API-Schlüssel aller Konten") && page.contains("bochum-mitte"), "{page}");
    let id = site.store().api_tokens(Some("bochum-mitte")).unwrap()[0].id.to_string();
    // Not an administrator: refused.
    let (_, planner) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let planner = planner.unwrap();
    let own_csrf = hidden(&site.get_as(&planner, "/konto").await, "csrf");
    let (s, _) = site.post_as(&planner, "/verwaltung/konten/schluessel", &[("csrf", &own_csrf), ("id", &id)]).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(get(&site.app(), "/api/v1/levels", Some(&t.tenant)).await.0, StatusCode::OK);
    let (s, page) = site.post_as(&admin, "/verwaltung/konten/schluessel", &[("csrf", &hidden(&page, "csrf")), ("id", &id)]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("widerrufen"));
    assert_eq!(get(&site.app(), "/api/v1/levels", Some(&t.tenant)).await.0, StatusCode::UNAUTHORIZED);
    assert!(site.store().audit_log().unwrap().iter().any(|e| e.who == "chefin" && e.action == "API-Schlüssel widerrufen"));
}

on_both_backends!(administrators_revoke_any_token);

async fn a_new_boundary_set_shows_what_changes_before_it_is_imported(backend: Backend) {
    let site = Site::new(backend);
    let t = populated(&site);
    // Against the test squares (0101, 0102 in Stadtteil 01, 0201 in 02): 0101 and 0102 merged.
    let sq = |x: f64, w: f64| format!("[[[{x},51.48],[{},51.48],[{},51.49],[{x},51.49],[{x},51.48]]]", x + w, x + w);
    let file = format!(
        r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":"0101","name":"Gebiet 0101"}},"geometry":{{"type":"Polygon","coordinates":{}}}}},{{"type":"Feature","properties":{{"id":"0201","name":"Gebiet 0201"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}]}}"#,
        sq(7.10, 0.02),
        sq(7.12, 0.01)
    );
    let before = site.store().areas(Some("Sozialraum")).unwrap();
    let (_, cookie) = site.sign_in("planung", "Rathaus-Turm-Uhr-1903", &[]).await;
    let cookie = cookie.unwrap();
    let csrf = hidden(&site.get_as(&cookie, "/verwaltung").await, "csrf");
    let fields = [("csrf", csrf.as_str()), ("art", "gebiete"), ("ebene", "Sozialraum")];
    let (status, page, _) = site.upload_to("/verwaltung/vorschau", Some(&cookie), &fields, "neu.geojson", file.as_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Was sich an den Grenzen ändert") && page.contains("1 unverändert, 1 zusammengelegt"), "{page}");
    assert!(page.contains("<th scope=\"row\">0101</th><td>zusammengelegt</td><td>0101, 0102</td>"), "{page}");
    // The API's preview says the same; nothing is stored by either.
    let (status, v, _) = call(
        &site.app(),
        Method::POST,
        "/api/v1/imports?kind=areas&level=Sozialraum&file=neu.geojson",
        Some(&t.planner),
        Some(file.into_bytes()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["preview"]["boundary_changes"]["areas"][0],
        json!({ "key": "0101", "change": "zusammengelegt", "from": ["0101", "0102"] })
    );
    assert_eq!(site.store().areas(Some("Sozialraum")).unwrap(), before);
}

on_both_backends!(a_new_boundary_set_shows_what_changes_before_it_is_imported);
