//! The interactive map's data, apart: geometry as vector tiles of a level's areas
//! (`geom::tiles`, built once per level, data version and visibility; each tile kept by the
//! page cache), and what the map shows as a small JSON of classes, colours and tooltips per
//! area. Switching indicator or year fetches only the JSON; zooming fetches only tiles.
//! Both follow the request's visibility: a tenant's tiles hold only the areas it may see,
//! the public view's values pass disclosure control exactly as the map page's table.

use crate::pages::{MapQuery, Presented, map_data};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use quartier_app::store::Store;
use quartier_geom::tiles::{MAX_ZOOM, TileSet};
use serde_json::{Value, json};
use std::sync::Arc;

/// The layer name inside every tile.
pub const LAYER: &str = "gebiete";

/// Tiles are served to this zoom (beyond [`MAX_ZOOM`] at full detail); the map enlarges the
/// last ones further.
const SERVED_ZOOM: u8 = 20;

/// The level's tile set for this request's visibility (cached per data version).
pub(crate) fn tile_set(store: &dyn Store, st: &AppState, level: &str) -> Result<Arc<TileSet>, AppError> {
    let key = format!("kacheln|{level}|{}", st.view_key());
    st.cache.memo(&st.db, key, || {
        if !store.levels()?.iter().any(|l| l.name == level) {
            return Err(AppError::NotFound(format!("Ebene „{level}“ gibt es nicht")));
        }
        let areas = quartier_app::spatial::level_geometries(store, level)
            .map_err(AppError::Internal)?
            .into_iter()
            .filter(|(k, _)| st.visible(level, k))
            .collect();
        Ok(TileSet::new(areas))
    })
}

/// `GET /karte/kacheln/{ebene}/{z}/{x}/{y}` (`y` may end in `.pbf` or `.mvt`): one vector
/// tile of the level's areas, layer `gebiete`, property `key` (names and values come with
/// `/karte/werte`).
pub async fn tile(State(st): State<AppState>, Path((level, z, x, y)): Path<(String, u8, u32, String)>) -> Result<Response, AppError> {
    let y: u32 = y
        .trim_end_matches(".pbf")
        .trim_end_matches(".mvt")
        .parse()
        .map_err(|_| AppError::BadRequest(format!("Kachel „{y}“: eine Zahl erwartet")))?;
    if z > SERVED_ZOOM || x >= 1u32 << z || y >= 1u32 << z {
        return Err(AppError::BadRequest(format!("Kachel {z}/{x}/{y} gibt es nicht (Zoom 0 bis {SERVED_ZOOM})")));
    }
    let bytes = with_store(&st, move |store, st| Ok(tile_set(store, st, &level)?.tile(LAYER, z, x, y))).await?;
    let mut res = Response::new(axum::body::Body::from(bytes));
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.mapbox-vector-tile"));
    Ok(res)
}

/// `GET /karte/gebiet/{ebene}/{schluessel}`: an area's bounding box `[west, south, east,
/// north]` in degrees (the map's search zooms to it).
pub async fn area_bounds(State(st): State<AppState>, Path((level, key)): Path<(String, String)>) -> Result<Response, AppError> {
    let bounds = with_store(&st, move |store, st| {
        tile_set(store, st, &level)?
            .area_bounds(&key)
            .ok_or_else(|| AppError::NotFound(format!("Gebiet „{key}“ hat auf Ebene „{level}“ keine Geometrie")))
    })
    .await?;
    Ok(json_response(&json!({ "bounds": bounds })))
}

fn json_response(v: &Value) -> Response {
    // `<` as \u003c: names and texts can never read as markup, whoever renders the JSON.
    let body = v.to_string().replace('<', "\\u003c");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// `GET /karte/werte?…` (the map page's own query): what the map shows, in columns per area —
/// key, name, class (1-based; none without a value), value as text, rank — with the unit, the
/// reference value and the number of areas with a value (the tooltip's parts); the legend; the
/// years; LISA clusters when asked for.
pub async fn values(State(st): State<AppState>, Query(q): Query<MapQuery>) -> Result<Response, AppError> {
    let preview = q.oeffentlich.as_deref() == Some("1");
    let public = st.public.or(preview.then_some(quartier_core::disclosure::DEFAULT_THRESHOLD));
    let diverging = q.farben.as_deref() == Some("divergierend");
    let method = q.method.clone().filter(|m| !m.is_empty()).unwrap_or_else(|| "quantiles".into());
    if !crate::pages::METHODS.iter().any(|(m, _)| *m == method) {
        return Err(AppError::BadRequest(format!("unbekannte Klassenbildung „{method}“")));
    }
    let d = map_data(&st, q, public).await?;
    let Some(var) = &d.variable else { return Err(AppError::NotFound("keine Werte für diese Auswahl".into())) };
    let p = Presented::new(&d, &method, diverging);
    // Columns, not an object per area: 50,000 areas in a few hundred kilobytes. The client
    // puts the tooltip together exactly as `Presented::tooltip` does.
    let keys: Vec<&str> = d.values.iter().map(|v| v.area.as_str()).collect();
    let names: Vec<&str> = d.values.iter().map(|v| v.name.as_str()).collect();
    let classes: Vec<Option<usize>> = d.values.iter().map(|v| v.value.and_then(|x| p.class_of(x)).map(|c| c + 1)).collect();
    let texts: Vec<String> = d.values.iter().map(|v| p.value_text(v)).collect();
    let ranks: Vec<Option<usize>> = d.values.iter().map(|v| p.rank(&v.area)).collect();
    let reference = d.reference.map(|r| crate::pages::fmt_de(r, p.dec));
    let legend: Vec<Value> = p
        .legend()
        .into_iter()
        .enumerate()
        .map(|(i, (label, color, count))| json!({ "class": i + 1, "label": label, "color": color, "count": count }))
        .collect();
    let label = if var.label.is_empty() { var.key.clone() } else { var.label.clone() };
    let lisa: Option<serde_json::Map<String, Value>> =
        d.overlay.as_ref().map(|o| o.iter().map(|(k, c)| (k.clone(), Value::from(*c))).collect());
    let parent = d
        .levels
        .iter()
        .find(|l| l.name == d.level)
        .and_then(|l| d.levels.iter().find(|p| l.rank > 0 && p.rank == l.rank - 1))
        .map(|l| l.name.clone());
    Ok(json_response(&json!({
        "title": format!("{label} {} – {}", d.year.map(|y| y.to_string()).unwrap_or_default(), d.level),
        "level": d.level,
        "parent": parent,
        "year": d.year,
        "years": var.years,
        "unit": p.unit,
        "legend": legend,
        "nodata": { "count": d.values.iter().filter(|v| v.value.is_none()).count() },
        "keys": keys,
        "names": names,
        "classes": classes,
        "texts": texts,
        "ranks": ranks,
        "with_value": p.with_value(),
        "reference": reference,
        "lisa": lisa,
        "maxzoom": MAX_ZOOM,
        // The boundary set of these values (its tiles: `?gebietsstand=`); null: today's.
        "gebietsstand": d.boundary,
    })))
}

/// The offer directory's places (with coordinates) and what a map or a GIS client shows of
/// each: name, address, organisation and the services offered there.
pub(crate) fn offer_places(d: &quartier_app::store::offers::Offers) -> Vec<(&quartier_app::store::offers::Location, Value)> {
    let orgs: std::collections::HashMap<&str, &str> = d.organizations.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
    let services: std::collections::HashMap<&str, &str> = d.services.iter().map(|s| (s.id.as_str(), s.name.as_str())).collect();
    d.locations
        .iter()
        .filter(|l| l.latitude.is_finite() && l.longitude.is_finite())
        .map(|l| {
            let here: Vec<&str> = d
                .service_at_location
                .iter()
                .filter(|s| s.location_id == l.id)
                .filter_map(|s| services.get(s.service_id.as_str()).copied())
                .collect();
            let props = json!({
                "name": l.name,
                "adresse": l.address,
                "traeger": orgs.get(l.organization_id.as_str()).copied().unwrap_or(""),
                "angebote": here.join(", "),
            });
            (l, props)
        })
        .collect()
}

/// `GET /karte/angebote.geojson`: the offer directory's places as points for the map's offer
/// layer.
pub async fn offers_geojson(State(st): State<AppState>) -> Result<Response, AppError> {
    let v = with_store(&st, move |store, _| {
        let d = store.offers()?;
        let features: Vec<Value> = offer_places(&d)
            .into_iter()
            .map(|(l, props)| {
                json!({ "type": "Feature", "id": l.id, "geometry": { "type": "Point", "coordinates": [l.longitude, l.latitude] }, "properties": props })
            })
            .collect();
        Ok(json!({ "type": "FeatureCollection", "features": features }))
    })
    .await?;
    let mut res = json_response(&v);
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/geo+json"));
    Ok(res)
}
