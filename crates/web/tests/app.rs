//! The router without a socket: empty database, assets, errors.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use quartier_app::store::{SqliteStore, Store};
use tower::ServiceExt;

async fn get(db: &std::path::Path, uri: &str) -> (StatusCode, String) {
    let res = quartier_web::app(db.to_path_buf()).oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn empty_database_explains_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.db");
    SqliteStore::open(&db).unwrap().define_levels(&["Stadtteil".into()]).unwrap();
    let (status, body) = get(&db, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Noch keine Daten") && body.contains("quartier import areas"), "{body}");
    let (status, js) = get(&db, "/static/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(js.contains("sortTable"));
    let (status, body) = get(&db, "/gibtsnicht").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Seite nicht gefunden"));
}

#[tokio::test]
async fn missing_database_is_an_internal_error_without_details() {
    let (status, body) = get(std::path::Path::new("/nonexistent/q.db"), "/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!body.contains("nonexistent"), "no internals in the page");
}
