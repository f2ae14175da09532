//! Spatial statistics over stored data: indicator values of a level and spatial weights
//! from the stored geometries (shared by the CLI and the web app).

use crate::views::{self, IndicatorQuery};
use quartier_core::spatial::Weights;
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::wkb::{self, Decoded};
use quartier_geom::{MultiPolygon, weights as gw};
use quartier_store::Store;
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
    /// Weights read from a GAL/GWT file instead: (file name, content).
    pub weights_file: Option<(&'a str, &'a str)>,
}

/// Area keys, values and weights for the areas that have a value and a geometry, plus
/// remarks for the user (skipped areas, islands).
pub struct SpatialInput {
    pub keys: Vec<String>,
    pub y: Vec<f64>,
    pub weights: Weights,
    pub notes: Vec<String>,
}

/// Neighbour lists of `geoms` for a weights spec (queen, rook, knn:K, distance:METRES).
pub fn neighbours_of(geoms: &[(String, MultiPolygon)], weights: &str, tolerance: f64) -> Result<Vec<Vec<usize>>, String> {
    // Metric coordinates (ETRS89-LAEA) for distances and snapping tolerances.
    let to_metric = Transformer::new(Crs::wgs84(), Crs::from_epsg(3035).expect("registry"));
    let contiguity = matches!(weights, "queen" | "rook");
    let shapes: Vec<MultiPolygon> = if tolerance > 0.0 || !contiguity {
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
    Ok(match weights.split_once(':') {
        None if weights == "queen" => gw::contiguity(&shapes, false, tolerance),
        None if weights == "rook" => gw::contiguity(&shapes, true, tolerance),
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
    })
}

/// The stored geometries of a level, decoded; non-areal ones are an error naming them.
pub fn level_geometries(store: &dyn Store, level: &str) -> Result<Vec<(String, MultiPolygon)>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (k, b) in store.geometries(level).map_err(|e| e.to_string())? {
        match wkb::decode(&b) {
            Ok(Decoded::Areal(mp)) => out.push((k, mp)),
            _ => bad.push(k),
        }
    }
    if bad.is_empty() { Ok(out) } else { Err(format!("ungültige oder nicht-flächige Geometrien: {}", bad.join(", "))) }
}

/// Writes neighbour lists in the GAL format of GeoDa/libpysal (binary weights).
pub fn to_gal(keys: &[String], neighbors: &[Vec<usize>]) -> String {
    let mut s = format!("0 {} quartier area_id\n", keys.len());
    for (k, n) in keys.iter().zip(neighbors) {
        s.push_str(&format!("{k} {}\n", n.len()));
        s.push_str(&n.iter().map(|&j| keys[j].as_str()).collect::<Vec<_>>().join(" "));
        s.push('\n');
    }
    s
}

/// Writes weights in the GWT format (one "from to weight" line per pair).
pub fn to_gwt(keys: &[String], w: &Weights) -> String {
    let mut s = format!("0 {} quartier area_id\n", keys.len());
    for (i, (n, wt)) in w.neighbors.iter().zip(&w.weights).enumerate() {
        for (j, x) in n.iter().zip(wt) {
            s.push_str(&format!("{} {} {x}\n", keys[i], keys[*j]));
        }
    }
    s
}

/// Reads GAL or GWT text into binary/explicit weights aligned with `keys`; ids not in
/// `keys` are an error, areas without an entry become islands.
pub fn read_weights(text: &str, keys: &[String], file: &str) -> Result<Weights, String> {
    let index: HashMap<&str, usize> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut neighbors = vec![Vec::new(); keys.len()];
    let mut weights = vec![Vec::new(); keys.len()];
    let idx = |id: &str, line: usize| {
        index
            .get(id)
            .copied()
            .ok_or_else(|| format!("{file}: Zeile {line}: Gebiet „{id}“ gibt es auf dieser Ebene nicht (oder es hat keinen Wert)"))
    };
    let body = &lines[1.min(lines.len())..];
    let gwt = body.first().is_some_and(|l| {
        l.split_whitespace().count() == 3 && l.split_whitespace().nth(2).is_some_and(|x| x.parse::<f64>().is_ok() && x.contains('.'))
    });
    if gwt {
        for (n, l) in body.iter().enumerate() {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 {
                return Err(format!("{file}: Zeile {}: erwartet „von nach Gewicht“", n + 2));
            }
            let (i, j) = (idx(f[0], n + 2)?, idx(f[1], n + 2)?);
            let x: f64 = f[2].parse().map_err(|_| format!("{file}: Zeile {}: Gewicht „{}“ ist keine Zahl", n + 2, f[2]))?;
            neighbors[i].push(j);
            weights[i].push(x);
        }
    } else {
        let mut it = body.iter().enumerate();
        while let Some((n, head)) = it.next() {
            let f: Vec<&str> = head.split_whitespace().collect();
            if f.len() != 2 {
                return Err(format!("{file}: Zeile {}: erwartet „Gebiet Anzahl“", n + 2));
            }
            let i = idx(f[0], n + 2)?;
            let k: usize = f[1].parse().map_err(|_| format!("{file}: Zeile {}: „{}“ ist keine Anzahl", n + 2, f[1]))?;
            let list = if k > 0 { it.next().map(|(_, l)| *l).unwrap_or("") } else { "" };
            let ids: Vec<&str> = list.split_whitespace().collect();
            if ids.len() != k {
                return Err(format!("{file}: Zeile {}: {k} Nachbarn angekündigt, {} gefunden", n + 3, ids.len()));
            }
            for id in ids {
                neighbors[i].push(idx(id, n + 3)?);
                weights[i].push(1.0);
            }
        }
    }
    Ok(Weights { neighbors, weights })
}

/// Builds the input of Moran's I or LISA.
pub fn spatial_input(store: &dyn Store, s: &SpatialSpec) -> Result<SpatialInput, String> {
    let res = views::compute_indicators(
        store,
        &IndicatorQuery {
            indicators: vec![s.indicator.to_string()],
            years: Some(vec![s.year]),
            level: Some(s.level.to_string()),
            ..Default::default()
        },
    )?;
    let values: HashMap<String, f64> =
        res.rows.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value.map(|v| (r.area_id.clone(), v))).collect();
    let geoms: Vec<(String, MultiPolygon)> =
        level_geometries(store, s.level)?.into_iter().filter(|(k, _)| values.contains_key(k)).collect();
    if geoms.len() < 4 {
        return Err(format!("nur {} Gebiete mit Wert und Geometrie auf Ebene „{}“", geoms.len(), s.level));
    }
    let mut notes = Vec::new();
    let skipped = store.areas(Some(s.level)).map_err(|e| e.to_string())?.len() - geoms.len();
    if skipped > 0 {
        notes.push(format!("{skipped} Gebiete ohne Wert oder Geometrie bleiben unberücksichtigt"));
    }
    let keys: Vec<String> = geoms.iter().map(|(k, _)| k.clone()).collect();
    let mut w = match s.weights_file {
        Some((file, text)) => read_weights(text, &keys, file)?,
        None => Weights::binary(neighbours_of(&geoms, s.weights, s.tolerance)?),
    };
    let islands: Vec<&str> = w.islands().iter().map(|&i| geoms[i].0.as_str()).collect();
    if !islands.is_empty() {
        notes.push(format!("{} Gebiete ohne Nachbarn (Inseln): {}", islands.len(), islands.join(", ")));
    }
    if s.row_standardise {
        w = w.row_standardised();
    }
    let y: Vec<f64> = keys.iter().map(|k| values[k]).collect();
    Ok(SpatialInput { keys, y, weights: w, notes })
}

/// Hot spots of an indicator: the global Moran's I and each area's local Moran (queen
/// contiguity, row-standardised, 999 permutations with seed 1; as esda's `Moran` and
/// `Moran_Local`). The LISA map, its report chapter and the CLI's defaults ask the same.
pub struct HotSpots {
    pub keys: Vec<String>,
    pub global: quartier_core::spatial::Moran,
    pub local: Vec<quartier_core::spatial::LocalMoran>,
    pub notes: Vec<String>,
}

/// The quadrant labels of `LocalMoran::q` (1–4).
pub const QUADRANTS: [&str; 4] = ["HH", "LH", "LL", "HL"];

/// The significance level of hot spots.
pub const SIGNIFICANCE: f64 = 0.05;

impl HotSpots {
    /// The significant cluster of each area (`None`: not significant).
    pub fn cluster(&self, i: usize) -> Option<&'static str> {
        let l = &self.local[i];
        l.p_sim.is_some_and(|p| p <= SIGNIFICANCE).then(|| QUADRANTS[l.q as usize - 1])
    }
}

pub fn hot_spots(store: &dyn Store, indicator: &str, year: i32, level: &str) -> Result<HotSpots, String> {
    let spec = SpatialSpec { indicator, year, level, weights: "queen", row_standardise: true, tolerance: 0.0, weights_file: None };
    let input = spatial_input(store, &spec)?;
    let global =
        quartier_core::spatial::moran(&input.y, &input.weights, 999, 1).map_err(|e| format!("Moran's I nicht berechenbar: {e:?}"))?;
    let local =
        quartier_core::spatial::local_moran(&input.y, &input.weights, 999, 1).map_err(|e| format!("LISA nicht berechenbar: {e:?}"))?;
    Ok(HotSpots { keys: input.keys, global, local, notes: input.notes })
}

/// Significant local Moran clusters of an indicator (see [`hot_spots`]): (area key,
/// HH/LH/LL/HL). Only the labels leave, never the values behind them.
pub fn lisa_clusters(store: &dyn Store, indicator: &str, year: i32, level: &str) -> Result<Vec<(String, &'static str)>, String> {
    let h = hot_spots(store, indicator, year, level)?;
    Ok((0..h.keys.len()).filter_map(|i| h.cluster(i).map(|c| (h.keys[i].clone(), c))).collect())
}

/// Offer locations outside every area of the lowest level that has geometries: (id, name).
/// Without geometries nothing is outside.
pub fn locations_outside(store: &dyn Store, locations: &[quartier_store::offers::Location]) -> Result<Vec<(String, String)>, String> {
    for level in store.levels().map_err(|e| e.to_string())?.iter().rev() {
        let geoms = level_geometries(store, &level.name)?;
        if !geoms.is_empty() {
            return Ok(crate::offers::outside(locations, &geoms));
        }
    }
    Ok(vec![])
}
