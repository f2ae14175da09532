//! OGC API – Features (Part 1: Core, GeoJSON; Part 2: coordinate reference systems by
//! reference) under `/ogc`, for QGIS, ArcGIS and GDAL: one
//! collection per level with geometries (areas with key, name, parent, area in m² and the
//! values of chosen indicators for a year) and the offers as points. Items page with
//! `limit`/`offset` (links `next`/`prev`) and filter by `bbox` (CRS84). The request's
//! visibility applies as on every page: a tenant's collections hold only its own small areas,
//! the public view's values pass disclosure control.

use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_indicators};
use quartier_geom::wkb::{self, Decoded};
use serde_json::{Value, json};
use std::collections::HashMap;

const CONFORMANCE: [&str; 4] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
];
const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// The output CRSs: (URI, EPSG code, northing first as the authority defines it).
const CRSES: [(&str, Option<u32>, bool); 4] = [
    (CRS84, None, false),
    ("http://www.opengis.net/def/crs/EPSG/0/25832", Some(25832), false),
    ("http://www.opengis.net/def/crs/EPSG/0/25833", Some(25833), false),
    ("http://www.opengis.net/def/crs/EPSG/0/3035", Some(3035), true),
];

/// A requested CRS (by URI, as Part 2 names them, or `EPSG:n`): its URI, a transformer from
/// WGS84 (none for CRS84) and whether the axes are swapped.
struct OutputCrs {
    uri: &'static str,
    to: Option<quartier_geom::crs::Transformer>,
    swap: bool,
}

/// A CRS of [`CRSES`] by its URI (as Part 2 names them), `EPSG:n` or `OGC:CRS84`.
fn find_crs(param: Option<&str>, name: &'static str) -> Result<(&'static str, Option<u32>, bool), AppError> {
    let wanted = param.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(CRS84);
    let wanted = wanted.trim_start_matches('[').trim_end_matches(']');
    CRSES
        .iter()
        .find(|(uri, epsg, _)| match epsg {
            Some(e) => *uri == wanted || wanted.eq_ignore_ascii_case(&format!("EPSG:{e}")),
            None => *uri == wanted || wanted.eq_ignore_ascii_case("OGC:CRS84"),
        })
        .copied()
        .ok_or_else(|| {
            AppError::bad_parameter(
                name,
                format!("{name} „{wanted}“ wird nicht angeboten; möglich: {}", CRSES.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")),
            )
        })
}

fn transformer(from: Option<u32>, to: Option<u32>) -> Result<quartier_geom::crs::Transformer, AppError> {
    use quartier_geom::crs::{Crs, Transformer};
    let crs = |e: Option<u32>| match e {
        Some(e) => Crs::from_epsg(e).map_err(|e| AppError::Internal(e.to_string())),
        None => Ok(Crs::wgs84()),
    };
    Transformer::try_new(&crs(from)?, &crs(to)?).map_err(|e| AppError::Internal(e.to_string()))
}

fn output_crs(param: Option<&str>, name: &'static str) -> Result<OutputCrs, AppError> {
    let (uri, epsg, swap) = find_crs(param, name)?;
    let to = match epsg {
        Some(e) => Some(transformer(None, Some(e))?),
        None => None,
    };
    Ok(OutputCrs { uri, to, swap })
}

impl OutputCrs {
    /// A WGS84 longitude/latitude in this CRS, in its axis order, rounded (7 decimals of a
    /// degree, centimetres).
    fn point(&self, lon: f64, lat: f64) -> [f64; 2] {
        match &self.to {
            None => [(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7],
            Some(t) => {
                let c = t.coord(quartier_geom::Coord { x: lon, y: lat }).unwrap_or(quartier_geom::Coord { x: f64::NAN, y: f64::NAN });
                let (x, y) = ((c.x * 100.0).round() / 100.0, (c.y * 100.0).round() / 100.0);
                if self.swap { [y, x] } else { [x, y] }
            }
        }
    }
}
const OFFERS: &str = "angebote";
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

/// The server's own address as the client used it (links are absolute, as clients expect).
fn base(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https") { "https" } else { "http" };
    format!("{scheme}://{host}/ogc")
}

/// `f=html|json`, else the Accept header: browsers get HTML (the HTML conformance class),
/// clients JSON.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Format {
    pub f: Option<String>,
}

pub(crate) fn wants_html(headers: &HeaderMap, f: Option<&str>) -> bool {
    match f {
        Some("html") => true,
        Some(_) => false,
        None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.split(',').next().is_some_and(|first| first.trim().starts_with("text/html"))),
    }
}

/// An HTML page of any response of this API: title and description, links, conformance
/// classes, collections, features with their properties.
fn html_reply(v: &Value, heading: &str) -> Response {
    use maud::html;
    let with_html = |href: &str| if href.contains('?') { format!("{href}&f=html") } else { format!("{href}?f=html") };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let props = |f: &Value| -> Vec<(String, String)> {
        f["properties"].as_object().map(|o| o.iter().map(|(k, v)| (k.clone(), text(v))).collect()).unwrap_or_default()
    };
    let body = html! {
        h1 { (v["title"].as_str().unwrap_or(heading)) }
        @if let Some(d) = v["description"].as_str() { p.lead { (d) } }
        @if let Some(links) = v["links"].as_array() {
            nav aria-label="Verweise" { ul {
                @for l in links {
                    @let href = l["href"].as_str().unwrap_or("");
                    li { a href=(if l["type"] == "application/json" || l["type"] == "application/geo+json" { with_html(href) } else { href.to_string() }) {
                        (l["title"].as_str().unwrap_or(l["rel"].as_str().unwrap_or(""))) } " (" (l["rel"].as_str().unwrap_or("")) ")" }
                }
            } }
        }
        @if let Some(c) = v["conformsTo"].as_array() {
            ul { @for x in c { li { code { (text(x)) } } } }
        }
        @if let Some(cols) = v["collections"].as_array() {
            table {
                caption { "Sammlungen" }
                thead { tr { th scope="col" { "Kennung" } th scope="col" { "Titel" } th scope="col" { "Beschreibung" } } }
                tbody { @for c in cols {
                    tr { td { a href=(with_html(&format!("{}/items", c["links"][0]["href"].as_str().unwrap_or("")))) { (text(&c["id"])) } } td { (text(&c["title"])) } td { (text(&c["description"])) } }
                } }
            }
        }
        @if let Some(feats) = v["features"].as_array() {
            p { (text(&v["numberReturned"])) " von " (text(&v["numberMatched"])) " Objekten" }
            @if let Some(first) = feats.first() {
                @let cols: Vec<String> = props(first).into_iter().map(|(k, _)| k).collect();
                table {
                    caption { "Objekte und ihre Eigenschaften" }
                    thead { tr { th scope="col" { "id" } @for c in &cols { th scope="col" { (c) } } } }
                    tbody { @for f in feats {
                        @let p = props(f);
                        tr { th scope="row" { (text(&f["id"])) } @for (_, val) in &p { td { (val) } } }
                    } }
                }
            }
        }
        @if v["type"] == "Feature" {
            table {
                caption { "Eigenschaften von " (text(&v["id"])) }
                tbody { @for (k, val) in props(v) { tr { th scope="row" { (k) } td { (val) } } } }
            }
        }
    };
    crate::pages::layout_nav(heading, "karte", body, None).into_response()
}

fn reply(headers: &HeaderMap, f: Option<&str>, v: &Value, content_type: &'static str, heading: &str) -> Response {
    let mut res = if wants_html(headers, f) { html_reply(v, heading) } else { json_reply(v, content_type) };
    res.headers_mut().append(header::VARY, HeaderValue::from_static("accept"));
    res
}

fn json_reply(v: &Value, content_type: &'static str) -> Response {
    let mut res = ([(header::CONTENT_TYPE, content_type)], v.to_string()).into_response();
    res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    res
}

/// A level's collection id: its name in lower case, umlauts spelled out, other characters as
/// `-` (`Planungsraum` → `planungsraum`).
pub fn collection_id(level: &str) -> String {
    let mut out = String::new();
    for c in level.to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ if !out.ends_with('-') => out.push('-'),
            _ => {}
        }
    }
    out.trim_matches('-').to_string()
}

/// `GET /ogc`: the landing page.
pub async fn landing(headers: HeaderMap, Query(f): Query<Format>) -> Response {
    let b = base(&headers);
    reply(
        &headers,
        f.f.as_deref(),
        &json!({
            "title": "Quartier – Sozialmonitoring",
            "description": "Gebiete mit Indikatorwerten und Angebote als OGC API – Features (GeoJSON, CRS84).",
            "links": [
                { "href": b, "rel": "self", "type": "application/json", "title": "diese Seite" },
                { "href": format!("{b}/conformance"), "rel": "conformance", "type": "application/json", "title": "Konformitätsklassen" },
                { "href": format!("{b}/collections"), "rel": "data", "type": "application/json", "title": "Sammlungen" },
                { "href": format!("{b}?f=html"), "rel": "alternate", "type": "text/html", "title": "als HTML" },
            ],
        }),
        "application/json",
        "OGC API – Features",
    )
}

/// `GET /ogc/conformance`.
pub async fn conformance(headers: HeaderMap, Query(f): Query<Format>) -> Response {
    reply(
        &headers,
        f.f.as_deref(),
        &json!({ "title": "Konformitätsklassen", "conformsTo": CONFORMANCE }),
        "application/json",
        "Konformität",
    )
}

/// Where a collection's features come from.
#[derive(Clone)]
enum Source {
    /// The areas of a level with indicator values.
    Level(String),
    /// A saved index's results on its rated level: (index id, definition, level).
    Index(String, Box<quartier_core::index::IndexDefinition>, String),
    Offers,
}

/// A collection: a level with geometries (level name, areas, bounds), an index's results, or
/// the offers.
struct Collection {
    id: String,
    title: String,
    description: String,
    bbox: Option<[f64; 4]>,
    years: Option<(i32, i32)>,
}

fn describe(c: &Collection, b: &str) -> Value {
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "description": c.description,
        "itemType": "feature",
        "crs": CRSES.iter().map(|c| c.0).collect::<Vec<_>>(),
        "storageCrs": CRS84,
        "links": [
            { "href": format!("{b}/collections/{}", c.id), "rel": "self", "type": "application/json" },
            { "href": format!("{b}/collections/{}/items", c.id), "rel": "items", "type": "application/geo+json", "title": "Objekte" },
        ],
    });
    let mut extent = serde_json::Map::new();
    if let Some(bb) = c.bbox {
        extent.insert("spatial".into(), json!({ "bbox": [bb], "crs": CRS84 }));
    }
    if let Some((a, z)) = c.years {
        extent.insert("temporal".into(), json!({ "interval": [[format!("{a}-01-01T00:00:00Z"), format!("{z}-12-31T23:59:59Z")]] }));
    }
    if !extent.is_empty() {
        v["extent"] = Value::Object(extent);
    }
    v
}

fn collections_of(store: &dyn Store, st: &AppState) -> Result<Vec<(Collection, Source)>, AppError> {
    let variables = st.cache.variables(&st.db, store)?;
    let years = {
        let ys: Vec<i32> = variables.iter().flat_map(|v| v.years.iter().copied()).collect();
        ys.iter().min().copied().zip(ys.iter().max().copied())
    };
    let mut out = Vec::new();
    for l in store.levels()? {
        if l.areas == 0 {
            continue;
        }
        let set = crate::interactive::tile_set(store, st, &l.name)?;
        if set.is_empty() {
            continue;
        }
        out.push((
            Collection {
                id: collection_id(&l.name),
                title: format!("Gebiete: {}", l.name),
                description: format!(
                    "Die Gebiete der Ebene {} mit Schlüssel, Name, übergeordnetem Gebiet, Fläche und den Werten der Indikatoren (Parameter jahr, indikatoren).",
                    l.name
                ),
                bbox: set.bounds(),
                years,
            },
            Source::Level(l.name),
        ));
    }
    // Each saved index on its rated level: classes and scores per area.
    let levels = store.levels()?;
    for (id, text) in store.index_definitions()? {
        let Ok(def) = quartier_core::index::IndexDefinition::from_toml(&text) else { continue };
        let level = match &def.level {
            Some(l) => l.clone(),
            None => match levels.iter().rev().find(|l| l.areas > 0) {
                Some(l) => l.name.clone(),
                None => continue,
            },
        };
        let set = crate::interactive::tile_set(store, st, &level)?;
        if set.is_empty() {
            continue;
        }
        let title = if def.name.is_empty() { id.clone() } else { def.name.clone() };
        out.push((
            Collection {
                id: format!("index-{}", collection_id(&id)),
                title: format!("Index: {title}"),
                description: format!(
                    "Die Ergebnisse des Index „{title}“ je Gebiet der Ebene {level}: bewertet oder nicht (mit Grund), Werte und Klassen wie in quartier index compute (Parameter jahr; Standard: das neueste Jahr mit allen Werten)."
                ),
                bbox: set.bounds(),
                years,
            },
            Source::Index(id, Box::new(def), level),
        ));
    }
    let offers = store.offers()?;
    if !offers.locations.is_empty() {
        let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for l in &offers.locations {
            bb = [bb[0].min(l.longitude), bb[1].min(l.latitude), bb[2].max(l.longitude), bb[3].max(l.latitude)];
        }
        out.push((
            Collection {
                id: OFFERS.into(),
                title: "Angebote".into(),
                description: "Die Orte des Angebotsverzeichnisses mit Träger und den dort angebotenen Leistungen.".into(),
                bbox: bb[0].is_finite().then_some(bb),
                years: None,
            },
            Source::Offers,
        ));
    }
    Ok(out)
}

/// A saved index's results as features of its rated level: every column of the result table
/// (as `quartier index compute --format json` gives it) as properties. Computed as the pages
/// compute it (the whole rated population; a tenant sees its own areas of it).
fn index_features(
    store: &dyn Store,
    st: &AppState,
    id: &str,
    def: &quartier_core::index::IndexDefinition,
    level: &str,
    q: &ItemsQuery,
    out: &OutputCrs,
) -> Result<Vec<Feature>, AppError> {
    let year = match q.jahr.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::bad_parameter("jahr", format!("jahr „{y}“ ist keine Jahreszahl")))?),
        None => None,
    };
    let table = quartier_app::indexing::compute_index(store, def, id, year).map_err(|e| AppError::bad_parameter("jahr", e))?;
    let rows: HashMap<&str, &Value> = table.json.iter().filter_map(|r| Some((r["area_id"].as_str()?, r))).collect();
    let names: HashMap<String, String> = store.areas(Some(level))?.into_iter().map(|a| (a.key, a.name)).collect();
    let mut found = Vec::new();
    for (key, bytes) in store.geometries(level)? {
        if !st.visible(level, &key) {
            continue;
        }
        let (Some(row), Some((geom, bb))) = (rows.get(key.as_str()), geometry(&bytes, out)) else { continue };
        let mut props = serde_json::Map::new();
        props.insert("schluessel".into(), json!(key));
        props.insert("name".into(), json!(names.get(&key)));
        if let Some(o) = row.as_object() {
            for (k, v) in o.iter().filter(|(k, _)| *k != "area_id") {
                props.insert(k.clone(), v.clone());
            }
        }
        found.push((key.clone(), json!({ "type": "Feature", "id": key, "geometry": geom, "properties": props }), bb));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// `GET /ogc/collections`.
pub async fn collections(State(st): State<AppState>, headers: HeaderMap, Query(f): Query<Format>) -> Result<Response, AppError> {
    let b = base(&headers);
    let list = with_store(&st, |store, st| collections_of(store, st)).await?;
    let v = json!({
        "title": "Sammlungen",
        "links": [{ "href": format!("{b}/collections"), "rel": "self", "type": "application/json" }],
        "collections": list.iter().map(|(c, _)| describe(c, &b)).collect::<Vec<_>>(),
    });
    Ok(reply(&headers, f.f.as_deref(), &v, "application/json", "Sammlungen"))
}

/// `GET /ogc/collections/{id}`.
pub async fn collection(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(f): Query<Format>,
) -> Result<Response, AppError> {
    let b = base(&headers);
    let list = with_store(&st, |store, st| collections_of(store, st)).await?;
    let (c, _) = list
        .iter()
        .find(|(c, _)| c.id == id)
        .ok_or_else(|| AppError::unknown_parameter("collectionId", format!("Sammlung „{id}“ gibt es nicht")))?;
    Ok(reply(&headers, f.f.as_deref(), &describe(c, &b), "application/json", &c.title))
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct ItemsQuery {
    pub limit: Option<String>,
    pub offset: Option<String>,
    pub bbox: Option<String>,
    /// Year of the indicator values (default: the latest with values).
    pub jahr: Option<String>,
    /// Indicator ids, comma-separated (default: the whole catalogue).
    pub indikatoren: Option<String>,
    /// Output CRS (Part 2), default CRS84.
    pub crs: Option<String>,
    /// CRS of `bbox`, default CRS84.
    #[serde(rename = "bbox-crs")]
    pub bbox_crs: Option<String>,
    /// `html` or `json`.
    pub f: Option<String>,
}

fn parse_bbox(text: &str) -> Result<[f64; 4], AppError> {
    let v: Vec<f64> = text.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad_bbox(text))?;
    match v.as_slice() {
        [a, b, c, d] if a <= c && b <= d => Ok([*a, *b, *c, *d]),
        [a, b, _, c, d, _] if a <= c && b <= d => Ok([*a, *b, *c, *d]),
        _ => Err(bad_bbox(text)),
    }
}

/// A box given in `bbox-crs` as longitude/latitude (its four corners transformed).
fn bbox_to_wgs84(bb: [f64; 4], crs: Option<&str>) -> Result<[f64; 4], AppError> {
    let (_, epsg, swap) = find_crs(crs, "bbox-crs")?;
    if epsg.is_none() {
        return Ok(bb);
    }
    let back = transformer(epsg, None)?;
    let mut out = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    for (x, y) in [(bb[0], bb[1]), (bb[2], bb[1]), (bb[0], bb[3]), (bb[2], bb[3])] {
        let (x, y) = if swap { (y, x) } else { (x, y) };
        let p = back.coord(quartier_geom::Coord { x, y }).map_err(|e| AppError::bad_parameter("bbox", format!("bbox: {e}")))?;
        out = [out[0].min(p.x), out[1].min(p.y), out[2].max(p.x), out[3].max(p.y)];
    }
    Ok(out)
}

fn with_content_crs(mut res: Response, uri: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!("<{uri}>")) {
        res.headers_mut().insert("content-crs", v);
    }
    res
}

fn bad_bbox(text: &str) -> AppError {
    AppError::bad_parameter("bbox", format!("bbox „{text}“: minLänge,minBreite,maxLänge,maxBreite erwartet (CRS84)"))
}

/// A feature's GeoJSON geometry from stored WKB in the output CRS: polygons with exterior
/// rings anticlockwise and holes clockwise (RFC 7946, judged in longitude/latitude), and the
/// WGS84 bounding box for `bbox` filters.
fn geometry(bytes: &[u8], out: &OutputCrs) -> Option<(Value, [f64; 4])> {
    match wkb::decode(bytes).ok()? {
        Decoded::Areal(mp) => {
            let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
            let ring = |ls: &quartier_geom::LineString, exterior: bool, bb: &mut [f64; 4]| {
                let mut lonlat: Vec<[f64; 2]> = ls.0.iter().map(|c| [c.x, c.y]).collect();
                let area: f64 = lonlat.windows(2).map(|w| w[0][0] * w[1][1] - w[1][0] * w[0][1]).sum();
                if (area > 0.0) != exterior {
                    lonlat.reverse();
                }
                for p in &lonlat {
                    *bb = [bb[0].min(p[0]), bb[1].min(p[1]), bb[2].max(p[0]), bb[3].max(p[1])];
                }
                lonlat.iter().map(|p| out.point(p[0], p[1])).collect::<Vec<_>>()
            };
            let polys: Vec<Vec<Vec<[f64; 2]>>> =
                mp.0.iter()
                    .map(|p| {
                        std::iter::once(ring(p.exterior(), true, &mut bb))
                            .chain(p.interiors().iter().map(|h| ring(h, false, &mut bb)))
                            .collect()
                    })
                    .collect();
            Some((json!({ "type": "MultiPolygon", "coordinates": polys }), bb))
        }
        _ => None,
    }
}

/// A feature: its id, its GeoJSON and its WGS84 bounding box (for `bbox`).
type Feature = (String, Value, [f64; 4]);

/// A collection's features as [`features`] makes them, kept per data version, visibility,
/// public view, year, indicators and CRS: a client paging through a level (GDAL asks page by
/// page) and the item requests after it compute the values and encode the geometries once.
fn collection_features(
    store: &dyn Store,
    st: &AppState,
    id: &str,
    q: &ItemsQuery,
    out: &OutputCrs,
) -> Result<std::sync::Arc<Vec<Feature>>, AppError> {
    let key = format!("ogc|{id}|{:?}|{:?}|{}|{:?}|{}", q.jahr, q.indikatoren, out.uri, st.public.map(f64::to_bits), st.view_key());
    st.cache.memo(&st.db, key, || {
        let (_, source) = collections_of(store, st)?
            .into_iter()
            .find(|(c, _)| c.id == id)
            .ok_or_else(|| AppError::unknown_parameter("collectionId", format!("Sammlung „{id}“ gibt es nicht")))?;
        features(store, st, &source, q, out)
    })
}

/// The features of a collection (all of them; paging and bbox are applied by the caller).
fn features(store: &dyn Store, st: &AppState, source: &Source, q: &ItemsQuery, out: &OutputCrs) -> Result<Vec<Feature>, AppError> {
    let level = match source {
        Source::Level(l) => l.as_str(),
        Source::Index(id, def, level) => return index_features(store, st, id, def, level, q, out),
        Source::Offers => {
            let d = store.offers()?;
            return Ok(crate::interactive::offer_places(&d)
                .into_iter()
                .map(|(l, props)| {
                    let f = json!({ "type": "Feature", "id": l.id, "geometry": { "type": "Point", "coordinates": out.point(l.longitude, l.latitude) }, "properties": props });
                    (l.id.clone(), f, [l.longitude, l.latitude, l.longitude, l.latitude])
                })
                .collect());
        }
    };
    let catalogue = store.catalogue()?;
    let wanted: Vec<String> = match q.indikatoren.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        None => catalogue.indicators.iter().map(|i| i.id.clone()).collect(),
    };
    if let Some(unknown) = wanted.iter().find(|id| catalogue.get(id).is_none()) {
        return Err(AppError::unknown_parameter("indikatoren", format!("Indikator „{unknown}“ gibt es nicht")));
    }
    let year = match q.jahr.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::bad_parameter("jahr", format!("jahr „{y}“ ist keine Jahreszahl")))?),
        None => None,
    };
    // Values for the year (the latest with values unless given), as the pages compute them.
    let mut values: HashMap<(String, String), Option<f64>> = HashMap::new();
    let mut shown_year = year;
    if !wanted.is_empty() {
        let res = compute_indicators(
            store,
            &IndicatorQuery { indicators: wanted.clone(), years: year.map(|y| vec![y]), level: Some(level.to_string()), public: st.public },
        )
        .map_err(|e| if year.is_some() { AppError::unknown_parameter("jahr", e) } else { AppError::BadRequest(e) })?;
        let y = year.or_else(|| res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).max());
        shown_year = y;
        for r in res.rows.iter().filter(|r| Some(r.year) == y) {
            values.insert((r.area_id.clone(), r.indicator.clone()), if r.status.has_value() { r.value } else { None });
        }
    }
    let areas: HashMap<String, quartier_app::store::AreaRecord> =
        store.areas(Some(level))?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let mut found = Vec::new();
    for (key, bytes) in store.geometries(level)? {
        if !st.visible(level, &key) {
            continue;
        }
        let (Some(a), Some((geom, bb))) = (areas.get(&key), geometry(&bytes, out)) else { continue };
        let mut props = serde_json::Map::new();
        props.insert("schluessel".into(), json!(a.key));
        props.insert("name".into(), json!(a.name));
        props.insert("uebergeordnet".into(), json!(a.parent));
        props.insert("flaeche_m2".into(), json!(a.area_m2.map(|m| m.round())));
        props.insert("jahr".into(), json!(shown_year));
        for id in &wanted {
            props.insert(id.clone(), json!(values.get(&(key.clone(), id.clone())).copied().flatten()));
        }
        found.push((key.clone(), json!({ "type": "Feature", "id": key, "geometry": geom, "properties": props }), bb));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// `GET /ogc/collections/{id}/items`.
pub async fn items(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ItemsQuery>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, AppError> {
    let b = base(&headers);
    let asked = match q.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| *l >= 1)
            .ok_or_else(|| AppError::bad_parameter("limit", format!("limit „{l}“: eine Zahl ab 1")))?,
    };
    // Beyond the maximum the page is clamped, and the answer says so (a member and a header).
    let limit = asked.min(MAX_LIMIT);
    let offset = match q.offset.as_deref() {
        None | Some("") => 0,
        Some(o) => o.parse::<usize>().map_err(|_| AppError::bad_parameter("offset", format!("offset „{o}“: eine Zahl ab 0")))?,
    };
    let out = output_crs(q.crs.as_deref(), "crs")?;
    let html_f = q.f.clone();
    let bbox = match q.bbox.as_deref().filter(|b| !b.is_empty()).map(parse_bbox).transpose()? {
        Some(bb) => Some(bbox_to_wgs84(bb, q.bbox_crs.as_deref())?),
        None => None,
    };
    let content_crs = out.uri;
    let items = format!("{b}/collections/{id}/items");
    let all = with_store(&st, move |store, st| collection_features(store, st, &id, &q, &out)).await?;
    let matched: Vec<&Feature> =
        all.iter().filter(|(_, _, bb)| bbox.is_none_or(|q| bb[0] <= q[2] && bb[2] >= q[0] && bb[1] <= q[3] && bb[3] >= q[1])).collect();
    let page: Vec<&Value> = matched.iter().skip(offset).take(limit).map(|(_, f, _)| f).collect();
    // The links keep the request's parameters, with the page moved.
    let others: Vec<&str> = raw
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("offset=") && !p.starts_with("limit="))
        .collect();
    let link = |off: usize| {
        let mut params: Vec<String> = others.iter().map(|p| p.to_string()).collect();
        params.push(format!("limit={limit}"));
        params.push(format!("offset={off}"));
        format!("{items}?{}", params.join("&"))
    };
    let mut links = vec![json!({ "href": link(offset), "rel": "self", "type": "application/geo+json" })];
    if offset + page.len() < matched.len() {
        links.push(json!({ "href": link(offset + limit), "rel": "next", "type": "application/geo+json" }));
    }
    if offset > 0 {
        links.push(json!({ "href": link(offset.saturating_sub(limit)), "rel": "prev", "type": "application/geo+json" }));
    }
    let mut v = json!({
        "type": "FeatureCollection",
        "numberMatched": matched.len(),
        "numberReturned": page.len(),
        "links": links,
        "features": page,
    });
    if asked > limit {
        v["notice"] =
            json!(format!("limit {asked} ist größer als das Höchstmaß: auf {MAX_LIMIT} begrenzt (weitere Seiten über den Link next)"));
    }
    let mut res = with_content_crs(reply(&headers, html_f.as_deref(), &v, "application/geo+json", "Objekte"), content_crs);
    if asked > limit {
        res.headers_mut().insert("x-quartier-limit", HeaderValue::from(limit));
    }
    Ok(res)
}

/// `GET /ogc/collections/{id}/items/{fid}`.
pub async fn item(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((id, fid)): Path<(String, String)>,
    Query(q): Query<ItemsQuery>,
) -> Result<Response, AppError> {
    let out = output_crs(q.crs.as_deref(), "crs")?;
    let html_f = q.f.clone();
    let content_crs = out.uri;
    let f = with_store(&st, move |store, st| {
        collection_features(store, st, &id, &q, &out)?
            .iter()
            .find(|(k, _, _)| *k == fid)
            .map(|(_, f, _)| f.clone())
            .ok_or_else(|| AppError::unknown_parameter("featureId", format!("Objekt „{fid}“ gibt es in „{id}“ nicht")))
    })
    .await?;
    Ok(with_content_crs(reply(&headers, html_f.as_deref(), &f, "application/geo+json", "Objekt"), content_crs))
}
