//! Supply figures per area and target group from the stored offers: number of offers,
//! capacity per 1,000 persons of the target group, straight-line reachability; and the gap
//! analysis (need against supply). Reachability is approximated from the representative
//! points of the lowest level's areas, weighted by the target group there (the store keeps
//! no individual addresses); the result says so.

use crate::views::{IndicatorQuery, compute_indicators, level_values};
use quartier_core::supply::{Quadrant, quadrants, reached};
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::locate::PointIndex;
use quartier_store::Store;
use quartier_store::offers::Offers;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct SupplySpec {
    pub level: String,
    /// Only services for this target group (case-insensitive); None = all.
    pub target_group: Option<String>,
    /// Variable with the size of the target group per area.
    pub group_variable: String,
    pub year: Option<i32>,
    /// Radii in metres.
    pub distances: Vec<f64>,
    /// Only services valid on this ISO date.
    pub date: Option<String>,
    /// Population-weighted points of the target group (address points, Zensus grid cells);
    /// without them, the lowest level's area points stand in.
    pub points: Option<WeightedPoints>,
}

/// Points with the number of persons of the target group at each, in WGS84.
#[derive(Debug, Clone, Default)]
pub struct WeightedPoints {
    /// Where they come from, for the method text (e.g. the file name).
    pub source: String,
    /// (longitude, latitude, weight).
    pub points: Vec<(f64, f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SupplyRow {
    pub area_id: String,
    pub name: String,
    pub group: Option<f64>,
    /// Services at locations in the area.
    pub offers: usize,
    /// Capacity located in the area (a service's capacity shared among its locations).
    pub capacity: Option<f64>,
    pub capacity_per_1000: Option<f64>,
    /// Per radius: share (%) of the target group within that straight-line distance.
    pub reach: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Supply {
    pub year: i32,
    pub distances: Vec<f64>,
    pub rows: Vec<SupplyRow>,
    /// How reachability was computed, in words.
    pub method: String,
    pub services: usize,
}

fn latest(store: &dyn Store, variable: &str, year: Option<i32>) -> Result<(i32, quartier_core::validate::VariableKind), String> {
    let vars = store.variables().map_err(|e| e.to_string())?;
    let v =
        vars.iter().find(|v| v.key == variable).ok_or_else(|| format!("Merkmal „{variable}“ gibt es nicht (siehe quartier data list)"))?;
    let y = match year {
        Some(y) if v.years.contains(&y) => y,
        Some(y) => return Err(format!("„{variable}“ hat für {y} keine Werte (Jahre: {:?})", v.years)),
        None => *v.years.last().ok_or_else(|| format!("„{variable}“ hat keine Werte"))?,
    };
    Ok((y, v.kind))
}

/// Supply per area of the level.
pub fn supply(store: &dyn Store, spec: &SupplySpec) -> Result<Supply, String> {
    let levels = store.levels().map_err(|e| e.to_string())?;
    let level = levels.iter().find(|l| l.name == spec.level).ok_or_else(|| format!("Ebene „{}“ gibt es nicht", spec.level))?;
    let (year, kind) = latest(store, &spec.group_variable, spec.year)?;
    let offers: Offers = store.offers().map_err(|e| e.to_string())?;
    let wanted = spec.target_group.as_deref().map(str::to_lowercase);
    let services: HashMap<&str, &quartier_store::offers::Service> = offers
        .services
        .iter()
        .filter(|s| wanted.as_ref().is_none_or(|g| s.target_groups.iter().any(|t| t.to_lowercase() == *g)))
        .filter(|s| match &spec.date {
            Some(d) => {
                (s.valid_from.is_empty() || s.valid_from.as_str() <= d.as_str())
                    && (s.valid_to.is_empty() || s.valid_to.as_str() >= d.as_str())
            }
            None => true,
        })
        .map(|s| (s.id.as_str(), s))
        .collect();
    let locations: HashMap<&str, &quartier_store::offers::Location> = offers.locations.iter().map(|l| (l.id.as_str(), l)).collect();
    let links: Vec<(&quartier_store::offers::Service, &quartier_store::offers::Location)> = offers
        .service_at_location
        .iter()
        .filter_map(|k| Some((*services.get(k.service_id.as_str())?, *locations.get(k.location_id.as_str())?)))
        .collect();
    let per_service: HashMap<&str, usize> = links.iter().fold(HashMap::new(), |mut m, (s, _)| {
        *m.entry(s.id.as_str()).or_default() += 1;
        m
    });
    // Offers and capacity per area of the level.
    let geoms = crate::spatial::level_geometries(store, &spec.level)?;
    if geoms.is_empty() {
        return Err(format!("Ebene „{}“ hat keine Geometrien: Angebote lassen sich nicht zuordnen", spec.level));
    }
    let index = PointIndex::new(geoms.iter().map(|(_, g)| g.clone()).collect());
    let mut count: HashMap<&str, usize> = HashMap::new();
    let mut capacity: HashMap<&str, f64> = HashMap::new();
    for (s, l) in &links {
        if let Some(i) = index.locate(l.longitude, l.latitude) {
            let k = geoms[i].0.as_str();
            *count.entry(k).or_default() += 1;
            if let Some(c) = s.capacity {
                *capacity.entry(k).or_default() += c / per_service[s.id.as_str()] as f64;
            }
        }
    }
    let group: HashMap<String, f64> = level_values(store, &spec.group_variable, kind, year, &spec.level)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|a| Some((a.area, a.value?)))
        .collect();
    let metric = Transformer::new(Crs::wgs84(), Crs::from_epsg(3035).expect("registry"));
    let to_m = |lon: f64, lat: f64| metric.coord(quartier_geom::Coord { x: lon, y: lat }).ok().map(|c| (c.x, c.y));
    let offer_points: Vec<(f64, f64)> = links.iter().filter_map(|(_, l)| to_m(l.longitude, l.latitude)).collect();
    let lowest = levels.iter().rev().find(|l| l.areas > 0).expect("the level exists");
    let (points, method) = match &spec.points {
        // Each weighted point counts for the area it lies in.
        Some(wp) => {
            let mut outside = 0usize;
            let points: AreaPoints = wp
                .points
                .iter()
                .filter_map(|&(lon, lat, w)| {
                    let Some(i) = index.locate(lon, lat) else {
                        outside += 1;
                        return None;
                    };
                    let (x, y) = to_m(lon, lat)?;
                    Some((geoms[i].0.clone(), (x, y, w)))
                })
                .collect();
            if points.is_empty() {
                return Err(format!(
                    "{}: keiner der {} Punkte liegt in einem Gebiet der Ebene „{}“ (falsches Koordinatensystem?)",
                    wp.source, outside, spec.level
                ));
            }
            let method = format!(
                "Erreichbarkeit aus {} gewichteten Punkten ({}){}; Luftlinie.",
                points.len(),
                wp.source,
                if outside > 0 { format!(", {outside} Punkte außerhalb aller Gebiete nicht gezählt") } else { String::new() }
            );
            (points, method)
        }
        None => representative_points(store, spec, level, lowest, kind, year, &to_m)?,
    };
    let weighted: Vec<(f64, f64, f64)> = points.iter().map(|(_, p)| *p).collect();
    let mut reach: Vec<HashMap<&str, (f64, f64)>> = Vec::new();
    for d in &spec.distances {
        let r = reached(&weighted, &offer_points, *d);
        let mut m: HashMap<&str, (f64, f64)> = HashMap::new();
        for ((k, p), got) in points.iter().zip(r) {
            let e = m.entry(k.as_str()).or_default();
            e.0 += got;
            e.1 += p.2;
        }
        reach.push(m);
    }
    let areas = store.areas(Some(&spec.level)).map_err(|e| e.to_string())?;
    let rows = areas
        .iter()
        .map(|a| {
            let g = group.get(&a.key).copied();
            let cap = capacity.get(a.key.as_str()).copied();
            SupplyRow {
                area_id: a.key.clone(),
                name: a.name.clone(),
                group: g,
                offers: count.get(a.key.as_str()).copied().unwrap_or(0),
                capacity: cap,
                capacity_per_1000: match (cap.or(Some(0.0)), g) {
                    (Some(c), Some(g)) if g > 0.0 => Some(1000.0 * c / g),
                    _ => None,
                },
                reach: reach
                    .iter()
                    .map(|m| m.get(a.key.as_str()).and_then(|(got, total)| (*total > 0.0).then(|| 100.0 * got / total)))
                    .collect(),
            }
        })
        .collect();
    Ok(Supply { year, distances: spec.distances.clone(), rows, method, services: services.len() })
}

/// Weighted points (x, y in metres, weight), each with its area on the requested level.
type AreaPoints = Vec<(String, (f64, f64, f64))>;

/// The lowest level's representative points (point on surface), weighted by the target group
/// there, each with its ancestor on the requested level; and the method in words.
#[allow(clippy::too_many_arguments)]
fn representative_points(
    store: &dyn Store,
    spec: &SupplySpec,
    level: &quartier_store::Level,
    lowest: &quartier_store::Level,
    kind: quartier_core::validate::VariableKind,
    year: i32,
    to_m: &dyn Fn(f64, f64) -> Option<(f64, f64)>,
) -> Result<(AreaPoints, String), String> {
    let fine = crate::spatial::level_geometries(store, &lowest.name)?;
    let fine_group: HashMap<String, f64> = level_values(store, &spec.group_variable, kind, year, &lowest.name)
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|a| Some((a.area, a.value?)))
        .collect();
    // Each fine area's ancestor on the requested level.
    let all = store.areas(None).map_err(|e| e.to_string())?;
    let parent: HashMap<(usize, String), Option<String>> = all.iter().map(|a| ((a.level_rank, a.key.clone()), a.parent.clone())).collect();
    let ancestor = |key: &str| -> Option<String> {
        let mut k = key.to_string();
        let mut rank = lowest.rank;
        while rank > level.rank {
            k = parent.get(&(rank, k.clone())).cloned().flatten()?;
            rank -= 1;
        }
        Some(k)
    };
    let points = fine
        .iter()
        .filter_map(|(k, g)| {
            let p = quartier_geom::ops::point_on_surface(g)?;
            let (x, y) = to_m(p.x(), p.y())?;
            Some((ancestor(k)?, (x, y, fine_group.get(k).copied().unwrap_or(0.0))))
        })
        .collect();
    let method = if lowest.rank == level.rank {
        format!(
            "Erreichbarkeit als Näherung über den inneren Mittelpunkt jedes Gebiets ({}): ein Gebiet zählt ganz als erreicht oder gar nicht; Luftlinie. Genauer mit gewichteten Punkten (--points).",
            lowest.name
        )
    } else {
        format!(
            "Erreichbarkeit als Näherung über die inneren Mittelpunkte der Gebiete der Ebene „{}“, gewichtet mit „{}“; Luftlinie. Genauer mit gewichteten Punkten (--points).",
            lowest.name, spec.group_variable
        )
    };
    Ok((points, method))
}

/// One area in the gap analysis.
#[derive(Debug, Clone, Serialize)]
pub struct GapRow {
    pub area_id: String,
    pub name: String,
    pub need: Option<f64>,
    pub supply: Option<f64>,
    pub offers: usize,
    pub group: Option<f64>,
    pub quadrant: Option<&'static str>,
    pub gap: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gaps {
    pub need_label: String,
    pub medians: Option<(f64, f64)>,
    pub rows: Vec<GapRow>,
    pub method: String,
}

/// Need (an indicator) against supply (capacity per 1,000 of the target group, or offers
/// per 1,000 where no capacity is stated): the areas with need at or above the median and
/// supply at or below it are the gaps.
pub fn gaps(store: &dyn Store, spec: &SupplySpec, need_indicator: &str) -> Result<Gaps, String> {
    let s = supply(store, spec)?;
    let cat = store.catalogue().map_err(|e| e.to_string())?;
    let ind = cat.get(need_indicator).ok_or_else(|| format!("Indikator „{need_indicator}“ gibt es nicht"))?;
    let res = compute_indicators(
        store,
        &IndicatorQuery { indicators: vec![need_indicator.into()], years: None, level: Some(spec.level.clone()), public: None },
    )?;
    let year = res
        .rows
        .iter()
        .filter(|r| r.status.has_value())
        .map(|r| r.year)
        .filter(|y| *y <= s.year)
        .max()
        .or_else(|| res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).max());
    let need: HashMap<&str, f64> = res
        .rows
        .iter()
        .filter(|r| Some(r.year) == year && r.status.has_value())
        .filter_map(|r| Some((r.area_id.as_str(), r.value?)))
        .collect();
    let with_capacity = s.rows.iter().any(|r| r.capacity.is_some());
    let supply_of = |r: &SupplyRow| -> Option<f64> {
        if with_capacity { r.capacity_per_1000 } else { r.group.filter(|g| *g > 0.0).map(|g| 1000.0 * r.offers as f64 / g) }
    };
    let needs: Vec<Option<f64>> = s.rows.iter().map(|r| need.get(r.area_id.as_str()).copied()).collect();
    let supplies: Vec<Option<f64>> = s.rows.iter().map(supply_of).collect();
    let (q, medians) = quadrants(&needs, &supplies);
    let rows = s
        .rows
        .iter()
        .zip(needs.iter().zip(&supplies))
        .zip(q)
        .map(|((r, (n, sup)), q)| GapRow {
            area_id: r.area_id.clone(),
            name: r.name.clone(),
            need: *n,
            supply: *sup,
            offers: r.offers,
            group: r.group,
            quadrant: q.map(Quadrant::label_de),
            gap: q == Some(Quadrant::HighNeedLowSupply),
        })
        .collect();
    let method = format!(
        "Bedarf: {} ({}); Versorgung: {} je 1.000 der Zielgruppe („{}“, {}). Eine Lücke ist ein Gebiet mit Bedarf mindestens beim Median und Versorgung höchstens beim Median aller Gebiete mit beiden Werten.",
        ind.name,
        year.map(|y| y.to_string()).unwrap_or_default(),
        if with_capacity { "Kapazität" } else { "Zahl der Angebote" },
        spec.group_variable,
        s.year
    );
    Ok(Gaps { need_label: ind.name.clone(), medians, rows, method })
}
