//! Spatial statistics over stored data: indicator values of a level and spatial weights
//! from the stored geometries (shared by the CLI and the web app).

use crate::views::{self, IndicatorQuery};
use crate::{SqliteStore, Store};
use quartier_core::spatial::Weights;
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::wkb::{self, Decoded};
use quartier_geom::{MultiPolygon, weights as gw};
use std::collections::HashMap;

/// What to compute on: indicator, year, level and the neighbourhood.
pub struct SpatialSpec<'a> {
    pub indicator: &'a str,
    pub year: i32,
    pub level: &'a str,
    /// queen, rook, knn:K or distance:METRES.
    pub weights: &'a str,
    /// Row-standardised (true) or binary weights.
    pub row_standardise: bool,
    /// Snapping tolerance in metres for contiguity (0 = exact).
    pub tolerance: f64,
}

/// Area keys, values and weights for the areas that have a value and a geometry, plus
/// remarks for the user (skipped areas, islands).
pub struct SpatialInput {
    pub keys: Vec<String>,
    pub y: Vec<f64>,
    pub weights: Weights,
    pub notes: Vec<String>,
}

/// Builds the input of Moran's I or LISA.
pub fn spatial_input(store: &SqliteStore, s: &SpatialSpec) -> Result<SpatialInput, String> {
    let res = views::compute_indicators(
        store,
        &IndicatorQuery { indicators: vec![s.indicator.to_string()], years: Some(vec![s.year]), level: Some(s.level.to_string()) },
    )?;
    let values: HashMap<String, f64> =
        res.rows.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value.map(|v| (r.area_id.clone(), v))).collect();
    let mut geoms: Vec<(String, MultiPolygon)> = Vec::new();
    let mut bad = Vec::new();
    for (k, b) in store.geometries(s.level).map_err(|e| e.to_string())? {
        match wkb::decode(&b) {
            Ok(Decoded::Areal(mp)) if values.contains_key(&k) => geoms.push((k, mp)),
            Ok(Decoded::Areal(_)) => {}
            _ => bad.push(k),
        }
    }
    if !bad.is_empty() {
        return Err(format!("ungültige oder nicht-flächige Geometrien: {}", bad.join(", ")));
    }
    if geoms.len() < 4 {
        return Err(format!("nur {} Gebiete mit Wert und Geometrie auf Ebene „{}“", geoms.len(), s.level));
    }
    let mut notes = Vec::new();
    let skipped = store.areas(Some(s.level)).map_err(|e| e.to_string())?.len() - geoms.len();
    if skipped > 0 {
        notes.push(format!("{skipped} Gebiete ohne Wert oder Geometrie bleiben unberücksichtigt"));
    }
    // Metric coordinates (ETRS89-LAEA) for distances and snapping tolerances.
    let to_metric = Transformer::new(Crs::wgs84(), Crs::from_epsg(3035).expect("registry"));
    let contiguity = matches!(s.weights, "queen" | "rook");
    let shapes: Vec<MultiPolygon> = if s.tolerance > 0.0 || !contiguity {
        geoms
            .iter()
            .map(|(_, g)| {
                let mut m = g.clone();
                to_metric.multipolygon(&mut m).map(|_| m).map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?
    } else {
        geoms.iter().map(|(_, g)| g.clone()).collect()
    };
    let neighbors = match s.weights.split_once(':') {
        None if s.weights == "queen" => gw::contiguity(&shapes, false, s.tolerance),
        None if s.weights == "rook" => gw::contiguity(&shapes, true, s.tolerance),
        Some(("knn", k)) => {
            let k: usize = k.parse().map_err(|_| "--weights knn:K braucht eine Zahl K".to_string())?;
            if k == 0 || k >= shapes.len() {
                return Err(format!("knn:{k}: K muss zwischen 1 und {} liegen", shapes.len() - 1));
            }
            gw::knn(&gw::centroids(&shapes), k)
        }
        Some(("distance", d)) => {
            let d: f64 = d.parse().map_err(|_| "--weights distance:METER braucht eine Zahl".to_string())?;
            gw::distance_band(&gw::centroids(&shapes), d)
        }
        _ => return Err("--weights kennt queen, rook, knn:K, distance:METER".into()),
    };
    let mut w = Weights::binary(neighbors);
    let islands: Vec<&str> = w.islands().iter().map(|&i| geoms[i].0.as_str()).collect();
    if !islands.is_empty() {
        notes.push(format!("{} Gebiete ohne Nachbarn (Inseln): {}", islands.len(), islands.join(", ")));
    }
    if s.row_standardise {
        w = w.row_standardised();
    }
    let keys: Vec<String> = geoms.into_iter().map(|(k, _)| k).collect();
    let y: Vec<f64> = keys.iter().map(|k| values[k]).collect();
    Ok(SpatialInput { keys, y, weights: w, notes })
}
