//! Server-side SVG choropleth: WGS84 geometries projected to a fixed view box.

use quartier_geom::{Coord, LineString, MultiPolygon, Rect};
use std::collections::HashMap;
use std::fmt::Write;

/// A level's areas as SVG path data in one view box, with the outlines of the level above.
#[derive(Debug, Clone, Default)]
pub struct MapPaths {
    pub view_box: String,
    pub paths: HashMap<String, String>,
    pub parents: Vec<String>,
}

/// The map of `level` (with the level above as outlines) from the stored geometries.
pub fn level_map(store: &dyn quartier_app::store::Store, levels: &[quartier_app::store::Level], level: &str) -> Result<MapPaths, String> {
    let shapes = |l: &str| quartier_app::spatial::level_geometries(store, l);
    let geoms = shapes(level)?;
    let rank = levels.iter().find(|l| l.name == level).map(|l| l.rank).unwrap_or(0);
    let parents = match levels.iter().find(|l| rank > 0 && l.rank == rank - 1) {
        Some(p) => shapes(&p.name)?,
        None => Vec::new(),
    };
    let bbox = geoms.iter().filter_map(|(_, g)| quartier_geom::ops::bbox(g)).reduce(|a, b| {
        Rect::new((a.min().x.min(b.min().x), a.min().y.min(b.min().y)), (a.max().x.max(b.max().x), a.max().y.max(b.max().y)))
    });
    Ok(match bbox {
        Some(bb) => {
            let proj = Projection::fit(bb).for_areas(geoms.len());
            MapPaths {
                view_box: proj.view_box(),
                paths: geoms.iter().map(|(k, g)| (k.clone(), proj.path(g))).collect(),
                parents: parents.iter().map(|(_, g)| proj.path(g)).collect(),
            }
        }
        None => MapPaths::default(),
    })
}

/// View box width; the height follows the aspect ratio of the data.
pub const WIDTH: f64 = 800.0;

/// An equirectangular projection scaled by the cosine of the mid latitude: distortion is
/// negligible at the scale of a municipality, and it needs no projection library.
pub struct Projection {
    min_x: f64,
    max_y: f64,
    kx: f64,
    ky: f64,
    pub height: f64,
    /// Douglas–Peucker tolerance in view-box units.
    tolerance: f64,
}

impl Projection {
    pub fn fit(bbox: Rect) -> Projection {
        let mid = ((bbox.min().y + bbox.max().y) / 2.0).to_radians();
        let w = (bbox.max().x - bbox.min().x) * mid.cos();
        let h = bbox.max().y - bbox.min().y;
        let scale = if w > 0.0 { WIDTH / w } else { 1.0 };
        Projection {
            min_x: bbox.min().x,
            max_y: bbox.max().y,
            kx: scale * mid.cos(),
            ky: scale,
            height: (h * scale).max(1.0),
            tolerance: 0.3,
        }
    }

    /// Coarser outlines when many areas share the map: with n areas each is about
    /// 800/√n units wide, so the tolerance grows with √n (0.3 up to 400 areas, about 1 for
    /// 5,000): the map page stays small, and the detail dropped is below a pixel of the area.
    pub fn for_areas(mut self, n: usize) -> Projection {
        self.tolerance = 0.3 * (n as f64 / 400.0).sqrt().max(1.0);
        self
    }

    /// The SVG viewBox with a small margin.
    pub fn view_box(&self) -> String {
        format!("-2 -2 {} {}", WIDTH + 4.0, self.height + 4.0)
    }

    /// SVG path data in view-box units (absolute start, relative moves): simplified (Douglas–Peucker, by default 0.3 units,
    /// below what a screen shows), rounded to 0.1, with repeated points dropped.
    pub fn path(&self, mp: &MultiPolygon) -> String {
        use geo::Simplify;
        let mut d = String::new();
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let projected =
                    LineString(ring.0.iter().map(|c| Coord { x: (c.x - self.min_x) * self.kx, y: (self.max_y - c.y) * self.ky }).collect());
                let simple = projected.simplify(self.tolerance);
                if simple.0.len() < 4 {
                    continue;
                }
                // Absolute start, then relative moves in tenths ("l" and implicit
                // repetitions): about a third shorter than absolute coordinates.
                let mut last = (i64::MIN, i64::MIN);
                let mut first = true;
                for c in &simple.0 {
                    let x = (c.x * 10.0).round() as i64;
                    let y = (c.y * 10.0).round() as i64;
                    if (x, y) == last {
                        continue;
                    }
                    if first {
                        d.push('M');
                        push_tenths(&mut d, x);
                        push_tenths(&mut d, y);
                        d.push('l');
                    } else {
                        push_tenths(&mut d, x - last.0);
                        push_tenths(&mut d, y - last.1);
                    }
                    last = (x, y);
                    first = false;
                }
                if !first {
                    d.push('Z');
                }
            }
        }
        d
    }
}

/// Appends a number given in tenths as SVG path text ("12.3", "-.5", "7"), with a space
/// before it where needed (not before a minus sign, not right after a command letter).
fn push_tenths(d: &mut String, v: i64) {
    let a = v.unsigned_abs();
    let (int, frac) = (a / 10, a % 10);
    if v < 0 {
        d.push('-');
    } else if !d.ends_with(['l', 'M']) && !d.is_empty() {
        d.push(' ');
    }
    if int > 0 || frac == 0 {
        let _ = write!(d, "{int}");
    }
    if frac > 0 {
        let _ = write!(d, ".{frac}");
    }
}

/// ColorBrewer "OrRd" sequential schemes (Cynthia Brewer, colorbrewer2.org), safe for
/// colour-blind readers and in greyscale print; index = number of classes − 3.
const ORRD: [&[&str]; 5] = [
    &["#fee8c8", "#fdbb84", "#e34a33"],
    &["#fef0d9", "#fdcc8a", "#fc8d59", "#d7301f"],
    &["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],
    &["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#e34a33", "#b30000"],
    &["#fef0d9", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"],
];

/// ColorBrewer "PuOr" (Cynthia Brewer, colorbrewer2.org; safe for colour-blind readers):
/// the neutral middle, then five steps each way.
const PUOR_NEUTRAL: &str = "#f7f7f7";
const PUOR_ORANGE: [&str; 5] = ["#fee0b6", "#fdb863", "#e08214", "#b35806", "#7f3b08"];
const PUOR_PURPLE: [&str; 5] = ["#d8daeb", "#b2abd2", "#8073ac", "#542788", "#2d004b"];

/// Diverging colours around a reference value: the class holding the reference is neutral,
/// classes above it orange, below it purple, darker the further away. `bins` are the
/// classes' upper bounds (mapclassify).
pub fn diverging(bins: &[f64], reference: f64) -> Vec<&'static str> {
    let centre = bins.iter().position(|b| reference <= *b).unwrap_or(bins.len().saturating_sub(1)) as i64;
    (0..bins.len() as i64)
        .map(|i| match i - centre {
            0 => PUOR_NEUTRAL,
            d if d > 0 => PUOR_ORANGE[(d as usize).min(5) - 1],
            d => PUOR_PURPLE[((-d) as usize).min(5) - 1],
        })
        .collect()
}

/// The legend of a classed map, as every report format shows it: per class its colour, the
/// range "lower bis upper" and how many areas fall in it; then the areas without a value.
pub fn class_legend(bins: &[f64], values: &[Option<f64>], decimals: usize) -> Vec<(&'static str, String, usize)> {
    let colours = palette(bins.len().max(1));
    let mut lower = values.iter().flatten().copied().fold(f64::INFINITY, f64::min);
    let mut items = Vec::new();
    for (k, b) in bins.iter().enumerate() {
        let n = values.iter().flatten().filter(|v| quartier_core::classify::class_of(bins, **v) == k).count();
        items.push((
            colours[k.min(colours.len() - 1)],
            format!("{} bis {}", crate::format::fmt_de(lower, decimals), crate::format::fmt_de(*b, decimals)),
            n,
        ));
        lower = *b;
    }
    let missing = values.iter().filter(|v| v.is_none()).count();
    if missing > 0 {
        items.push(("#f2f2f2", "kein Wert oder geheim".into(), missing));
    }
    items
}

/// The colours for `k` classes (1–7).
pub fn palette(k: usize) -> Vec<&'static str> {
    match k {
        0 => vec![],
        1 => vec![ORRD[0][1]],
        2 => vec![ORRD[0][0], ORRD[0][2]],
        k => ORRD[k.min(7) - 3].to_vec(),
    }
}

/// Okabe–Ito qualitative colours (Okabe & Ito 2008, "Color Universal Design"), distinguishable
/// with all common colour-vision deficiencies; for types without order.
const OKABE_ITO: [&str; 7] = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"];

/// `k` qualitative colours (at most 7).
pub fn qualitative(k: usize) -> Vec<&'static str> {
    OKABE_ITO.iter().copied().cycle().take(k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn projects_into_view_box() {
        let mp = MultiPolygon(vec![polygon![(x: 13.0, y: 52.0), (x: 14.0, y: 52.0), (x: 14.0, y: 53.0), (x: 13.0, y: 52.0)]]);
        let p = Projection::fit(geo::BoundingRect::bounding_rect(&mp).unwrap());
        let d = p.path(&mp);
        // Absolute start, then deltas in tenths; the triangle returns to its start.
        assert_eq!(d, "M0 1314.1l800 0 0-1314.1-800 1314.1Z");
    }

    #[test]
    fn numbers_in_tenths_need_separators_only_where_ambiguous() {
        let mut s = String::from("M");
        for v in [123, -5, 7, 0, 40] {
            push_tenths(&mut s, v);
        }
        assert_eq!(s, "M12.3-.5 .7 0 4");
    }

    #[test]
    fn diverging_colours_centre_on_the_reference() {
        // Classes (…, 10], (10, 20], (20, 30], (30, 40]; reference 15 lies in the second.
        assert_eq!(diverging(&[10.0, 20.0, 30.0, 40.0], 15.0), vec!["#d8daeb", "#f7f7f7", "#fee0b6", "#fdb863"]);
        assert_eq!(diverging(&[10.0, 20.0], 99.0), vec!["#d8daeb", "#f7f7f7"], "reference above all: the last class is neutral");
    }

    #[test]
    fn palettes_have_k_colours() {
        for k in 1..=7 {
            assert_eq!(palette(k).len(), k);
        }
    }
}
