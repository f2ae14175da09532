//! Vector tiles of a level's areas for the interactive map (Mapbox Vector Tile 2.1, Web
//! Mercator tiles `z/x/y`).
//!
//! Neighbouring areas share their borders, and a map must not open gaps or overlaps between
//! them when it draws them simplified. So simplification works on the borders, not on the
//! polygons (as TopoJSON and mapshaper do): the rings of all areas are cut into *arcs* at
//! the points where three or more areas meet (junctions), every shared arc is stored once, and
//! each arc is simplified once per zoom level (Douglas–Peucker with half a screen pixel of
//! tolerance, junctions kept). Rings are put together again from the simplified arcs, so both
//! sides of a border get exactly the same line. Clipping to the tile (Sutherland–Hodgman,
//! with a buffer) and rounding to the tile grid act on each point alone, so they keep shared
//! borders equal too.
//!
//! Borders coincide only where the delivered geometries share their vertices (as areas from
//! one statistical office's boundary file do); slivers in the data stay slivers.

use crate::MultiPolygon;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Tile coordinates per tile side (the MVT default).
pub const EXTENT: u32 = 4096;
/// Tiles are cut from zoom 0 to this zoom; the map enlarges the last ones beyond it.
pub const MAX_ZOOM: u8 = 16;
/// Tile units of overlap around each tile, so that outlines do not show seams.
const BUFFER: f64 = 64.0;
/// Simplification tolerance in tile units (a map draws a tile of 4096 units on 512 pixels:
/// four units are half a pixel).
const TOLERANCE: f64 = 4.0;

/// A point in Web Mercator world coordinates: x east, y south, both in [0, 1].
type Pt = [f64; 2];

/// Longitude/latitude (WGS84) → Web Mercator world coordinates.
pub fn world(lon: f64, lat: f64) -> Pt {
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let x = (lon + 180.0) / 360.0;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    [x, y]
}

/// Web Mercator world coordinates → longitude/latitude.
pub fn lon_lat(p: Pt) -> (f64, f64) {
    let lon = p[0] * 360.0 - 180.0;
    let n = std::f64::consts::PI * (1.0 - 2.0 * p[1]);
    (lon, n.sinh().atan().to_degrees())
}

/// A ring as a sequence of arcs, each possibly walked backwards.
type Ring = Vec<(usize, bool)>;

/// The areas of one level, ready to be cut into tiles: their borders as shared arcs, and
/// per zoom level the arcs simplified (computed on first use).
pub struct TileSet {
    keys: Vec<String>,
    /// Per area, per polygon: the exterior ring, then the holes.
    polygons: Vec<Vec<Vec<Ring>>>,
    arcs: Vec<Vec<Pt>>,
    bboxes: Vec<[f64; 4]>,
    simplified: Vec<OnceLock<Vec<Vec<Pt>>>>,
}

/// Bit pattern of a point, for exact matching of shared vertices.
type Bits = (u64, u64);

fn bits(p: Pt) -> Bits {
    (p[0].to_bits(), p[1].to_bits())
}

impl TileSet {
    /// Builds the arcs of `areas` (key, geometry in WGS84 longitude/latitude).
    pub fn new(areas: Vec<(String, MultiPolygon)>) -> TileSet {
        let mut keys = Vec::with_capacity(areas.len());
        // Rings in world coordinates, open (no repeated closing point), without repeats.
        let mut rings: Vec<Vec<Vec<Vec<Pt>>>> = Vec::with_capacity(areas.len());
        for (key, mp) in areas {
            keys.push(key);
            let polys =
                mp.0.iter()
                    .map(|poly| {
                        std::iter::once(poly.exterior())
                            .chain(poly.interiors())
                            .map(|ls| {
                                let mut r: Vec<Pt> = Vec::with_capacity(ls.0.len());
                                for c in &ls.0 {
                                    let p = world(c.x, c.y);
                                    if r.last() != Some(&p) {
                                        r.push(p);
                                    }
                                }
                                while r.len() > 1 && r.first() == r.last() {
                                    r.pop();
                                }
                                r
                            })
                            .filter(|r| r.len() >= 3)
                            .collect::<Vec<_>>()
                    })
                    .filter(|rs: &Vec<Vec<Pt>>| !rs.is_empty())
                    .collect();
            rings.push(polys);
        }
        // Junctions: points with more than two distinct neighbours over all rings.
        let mut neighbours: HashMap<Bits, Vec<Bits>> = HashMap::new();
        for ring in rings.iter().flatten().flatten() {
            let n = ring.len();
            for i in 0..n {
                let entry = neighbours.entry(bits(ring[i])).or_default();
                for q in [ring[(i + n - 1) % n], ring[(i + 1) % n]] {
                    let q = bits(q);
                    if entry.len() <= 2 && !entry.contains(&q) {
                        entry.push(q);
                    }
                }
            }
        }
        let junction = |p: Pt| neighbours.get(&bits(p)).is_some_and(|n| n.len() > 2);
        // Arcs, each stored once: found by their first, second and last point.
        let mut arcs: Vec<Vec<Pt>> = Vec::new();
        let mut index: HashMap<(Bits, Bits, Bits), Vec<usize>> = HashMap::new();
        let mut add_arc = |arc: Vec<Pt>| -> (usize, bool) {
            let reversed: Vec<Pt> = arc.iter().rev().copied().collect();
            for (candidate, backwards) in [(&arc, false), (&reversed, true)] {
                let k = (bits(candidate[0]), bits(candidate[1]), bits(candidate[candidate.len() - 1]));
                if let Some(found) = index.get(&k).and_then(|ids| ids.iter().find(|&&i| arcs[i] == *candidate)) {
                    return (*found, backwards);
                }
            }
            let k = (bits(arc[0]), bits(arc[1]), bits(arc[arc.len() - 1]));
            index.entry(k).or_default().push(arcs.len());
            arcs.push(arc);
            (arcs.len() - 1, false)
        };
        let mut polygons = Vec::with_capacity(rings.len());
        for area in &rings {
            let mut polys = Vec::with_capacity(area.len());
            for poly in area {
                let mut out = Vec::with_capacity(poly.len());
                for ring in poly {
                    let n = ring.len();
                    let cuts: Vec<usize> = (0..n).filter(|&i| junction(ring[i])).collect();
                    let mut parts: Ring = Vec::new();
                    if cuts.is_empty() {
                        // A ring no other area touches except as a whole (an island, an
                        // enclave and the hole around it): one closed arc from its smallest
                        // point, so both sides start at the same place.
                        let start = (0..n).min_by(|&a, &b| ring[a].partial_cmp(&ring[b]).unwrap_or(std::cmp::Ordering::Equal)).unwrap_or(0);
                        let mut arc: Vec<Pt> = (0..=n).map(|i| ring[(start + i) % n]).collect();
                        // The direction with the smaller second point, the same from both sides.
                        if arc[n - 1] < arc[1] {
                            arc.reverse();
                            let (id, _) = add_arc(arc);
                            parts.push((id, true));
                        } else {
                            parts.push(add_arc(arc));
                        }
                    } else {
                        for (c, &from) in cuts.iter().enumerate() {
                            let to = cuts[(c + 1) % cuts.len()];
                            let len = if to > from { to - from } else { to + n - from };
                            let arc: Vec<Pt> = (0..=len).map(|i| ring[(from + i) % n]).collect();
                            parts.push(add_arc(arc));
                        }
                    }
                    out.push(parts);
                }
                polys.push(out);
            }
            polygons.push(polys);
        }
        let bboxes = rings
            .iter()
            .map(|area| {
                let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
                for p in area.iter().flatten().flatten() {
                    b = [b[0].min(p[0]), b[1].min(p[1]), b[2].max(p[0]), b[3].max(p[1])];
                }
                b
            })
            .collect();
        TileSet { keys, polygons, arcs, bboxes, simplified: (0..=MAX_ZOOM).map(|_| OnceLock::new()).collect() }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Distinct borders (arcs) of the level.
    pub fn arcs(&self) -> usize {
        self.arcs.len()
    }

    /// The bounding box of all areas as (west, south, east, north) in degrees.
    pub fn bounds(&self) -> Option<[f64; 4]> {
        self.bbox_of(0..self.len())
    }

    /// The bounding box of one area (by key) in degrees.
    pub fn area_bounds(&self, key: &str) -> Option<[f64; 4]> {
        let i = self.keys.iter().position(|k| k == key)?;
        self.bbox_of(i..i + 1)
    }

    fn bbox_of(&self, range: std::ops::Range<usize>) -> Option<[f64; 4]> {
        let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
        for i in range {
            let x = self.bboxes[i];
            b = [b[0].min(x[0]), b[1].min(x[1]), b[2].max(x[2]), b[3].max(x[3])];
        }
        if !b[0].is_finite() {
            return None;
        }
        let (w, n) = lon_lat([b[0], b[1]]);
        let (e, s) = lon_lat([b[2], b[3]]);
        Some([w, s, e, n])
    }

    /// The arcs simplified for zoom `z` (half a pixel of tolerance, endpoints kept).
    fn arcs_at(&self, z: u8) -> &[Vec<Pt>] {
        let z = z.min(MAX_ZOOM);
        self.simplified[z as usize].get_or_init(|| {
            let tolerance = TOLERANCE / (EXTENT as f64 * f64::from(1u32 << z));
            self.arcs.iter().map(|a| simplify(a, tolerance)).collect()
        })
    }

    /// The rings of one area at zoom `z` in world coordinates: per polygon, exterior first.
    /// Rings that collapse at this zoom are left out (a polygon with them).
    pub fn rings(&self, area: usize, z: u8) -> Vec<Vec<Vec<Pt>>> {
        let arcs = self.arcs_at(z);
        self.polygons[area]
            .iter()
            .filter_map(|poly| {
                let rings: Vec<Vec<Pt>> = poly
                    .iter()
                    .enumerate()
                    .filter_map(|(i, ring)| {
                        let r = assemble(ring, arcs);
                        // A collapsed exterior takes its holes with it.
                        (r.len() >= 3 || i > 0).then_some(r)
                    })
                    .collect();
                (rings.first().is_some_and(|r| r.len() >= 3)).then(|| rings.into_iter().filter(|r| r.len() >= 3).collect())
            })
            .collect()
    }

    /// The tile `z/x/y` as MVT bytes: one layer `layer` with a feature per area that reaches
    /// into the tile (id = position in the level, property `key`). Empty tiles are a tile
    /// without features.
    pub fn tile(&self, layer: &str, z: u8, x: u32, y: u32) -> Vec<u8> {
        let scale = f64::from(1u32 << z.min(31));
        let margin = BUFFER / EXTENT as f64 / scale;
        let (x0, y0) = (f64::from(x) / scale, f64::from(y) / scale);
        let (x1, y1) = ((f64::from(x) + 1.0) / scale, (f64::from(y) + 1.0) / scale);
        let tile = mvt::Tile::new(EXTENT);
        let mut out = tile.create_layer(layer);
        let to_tile = |p: &Pt| [(p[0] * scale - f64::from(x)) * EXTENT as f64, (p[1] * scale - f64::from(y)) * EXTENT as f64];
        for (i, b) in self.bboxes.iter().enumerate() {
            if b[2] < x0 - margin || b[0] > x1 + margin || b[3] < y0 - margin || b[1] > y1 + margin {
                continue;
            }
            // An area wholly inside the tile needs no clipping (most of them, zoomed in).
            let inside = b[0] >= x0 && b[2] <= x1 && b[1] >= y0 && b[3] <= y1;
            let mut encoder = mvt::GeomEncoder::<i32>::new(mvt::GeomType::Polygon);
            let mut any = false;
            // The encoder leaves out the MoveTo of a ring that starts where the last one
            // ended: such a ring starts one point later.
            let mut last: Option<(i32, i32)> = None;
            for poly in self.rings(i, z) {
                let mut exterior_done = false;
                for (r, ring) in poly.iter().enumerate() {
                    let tiled: Vec<Pt> = ring.iter().map(to_tile).collect();
                    let Some(mut pts) = clip_and_round(&tiled, inside) else {
                        if r == 0 {
                            break; // the exterior lies outside: so do its holes
                        }
                        continue;
                    };
                    // MVT: exterior rings have positive area in tile coordinates (y down),
                    // holes negative.
                    let area = signed_area(&pts);
                    if (r == 0) != (area > 0) {
                        pts.reverse();
                    }
                    if r > 0 && !exterior_done {
                        continue;
                    }
                    if last == Some(pts[0]) {
                        pts.rotate_left(1);
                    }
                    for p in &pts {
                        let _ = encoder.add_point(p.0, p.1);
                    }
                    last = pts.last().copied();
                    let _ = encoder.complete_geom();
                    exterior_done = true;
                    any = true;
                }
            }
            if !any {
                continue;
            }
            let Ok(geom) = encoder.encode() else { continue };
            let mut feature = out.into_feature(geom);
            feature.set_id(i as u64);
            // Only the key: names and values come with the map's values (half the bytes of a
            // tile of 50,000 areas would otherwise be names).
            feature.add_tag_string("key", &self.keys[i]);
            out = feature.into_layer();
        }
        let mut tile = tile;
        if out.num_features() > 0 {
            let _ = tile.add_layer(out);
        }
        tile.to_bytes().unwrap_or_default()
    }
}

/// A ring put together from its arcs (the shared endpoints once).
fn assemble(ring: &Ring, arcs: &[Vec<Pt>]) -> Vec<Pt> {
    let mut out: Vec<Pt> = Vec::new();
    for &(id, backwards) in ring {
        let arc = &arcs[id];
        let points: Box<dyn Iterator<Item = &Pt>> = if backwards { Box::new(arc.iter().rev()) } else { Box::new(arc.iter()) };
        for p in points {
            if out.last() != Some(p) {
                out.push(*p);
            }
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

/// Douglas–Peucker on an open or closed arc, endpoints kept. A closed arc is split at the
/// point farthest from its start, so that it keeps at least three points.
pub fn simplify(arc: &[Pt], tolerance: f64) -> Vec<Pt> {
    if arc.len() <= 2 {
        return arc.to_vec();
    }
    let mut keep = vec![false; arc.len()];
    keep[0] = true;
    keep[arc.len() - 1] = true;
    if arc[0] == arc[arc.len() - 1] {
        let far = (1..arc.len() - 1)
            .max_by(|&a, &b| dist2(arc[a], arc[0]).partial_cmp(&dist2(arc[b], arc[0])).unwrap_or(std::cmp::Ordering::Equal))
            .unwrap_or(1);
        keep[far] = true;
        mark(arc, 0, far, tolerance * tolerance, &mut keep);
        mark(arc, far, arc.len() - 1, tolerance * tolerance, &mut keep);
    } else {
        mark(arc, 0, arc.len() - 1, tolerance * tolerance, &mut keep);
    }
    arc.iter().zip(keep).filter(|(_, k)| *k).map(|(p, _)| *p).collect()
}

fn dist2(a: Pt, b: Pt) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Squared distance of `p` from the segment `a`–`b`.
fn segment_dist2(p: Pt, a: Pt, b: Pt) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return dist2(p, a);
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0);
    dist2(p, [a[0] + t * dx, a[1] + t * dy])
}

/// Marks the points of `arc[from..=to]` Douglas–Peucker keeps (an explicit stack: arcs of
/// tens of thousands of points do not recurse deeply).
fn mark(arc: &[Pt], from: usize, to: usize, tolerance2: f64, keep: &mut [bool]) {
    let mut stack = vec![(from, to)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (mut worst, mut at) = (0.0, a);
        for i in a + 1..b {
            let d = segment_dist2(arc[i], arc[a], arc[b]);
            if d > worst {
                worst = d;
                at = i;
            }
        }
        if worst > tolerance2 {
            keep[at] = true;
            stack.push((a, at));
            stack.push((at, b));
        }
    }
}

/// Sutherland–Hodgman against the tile with its buffer (unless the ring lies `inside` the
/// tile), then rounding to the tile grid; `None` when less than a triangle with area remains.
fn clip_and_round(ring: &[Pt], inside: bool) -> Option<Vec<(i32, i32)>> {
    let (lo, hi) = (-BUFFER, EXTENT as f64 + BUFFER);
    let mut pts: Vec<Pt> = ring.to_vec();
    // Each edge of the box: (axis, bound, keep the side below the bound).
    let edges: &[(usize, f64, bool)] = if inside { &[] } else { &[(0, lo, false), (0, hi, true), (1, lo, false), (1, hi, true)] };
    for &(axis, bound, below) in edges {
        if pts.is_empty() {
            return None;
        }
        let inside = |p: &Pt| if below { p[axis] <= bound } else { p[axis] >= bound };
        let mut out = Vec::with_capacity(pts.len() + 4);
        for i in 0..pts.len() {
            let (cur, prev) = (pts[i], pts[(i + pts.len() - 1) % pts.len()]);
            let cross = |a: Pt, b: Pt| {
                let t = (bound - a[axis]) / (b[axis] - a[axis]);
                let mut p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
                p[axis] = bound;
                p
            };
            match (inside(&prev), inside(&cur)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cross(prev, cur)),
                (false, true) => {
                    out.push(cross(prev, cur));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
        pts = out;
    }
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = (p[0].round() as i32, p[1].round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    (out.len() >= 3 && signed_area(&out) != 0).then_some(out)
}

/// Twice the signed area of a ring on the tile grid (shoelace; positive = clockwise on
/// screen, where y points down).
fn signed_area(r: &[(i32, i32)]) -> i64 {
    let n = r.len();
    (0..n).map(|i| i64::from(r[i].0) * i64::from(r[(i + 1) % n].1) - i64::from(r[(i + 1) % n].0) * i64::from(r[i].1)).sum()
}

/// A feature read back from a tile.
#[derive(Debug, Clone, PartialEq)]
pub struct TileFeature {
    pub id: u64,
    pub key: String,
    /// Rings in tile units, as encoded (exterior clockwise on screen, holes anticlockwise).
    pub rings: Vec<Vec<(i64, i64)>>,
}

/// Reads back the polygon features of a tile that [`TileSet::tile`] wrote, checking the
/// encoding (one MoveTo per ring, LineTo only after it, extent 4096) — for tests and the
/// benchmark; not a general MVT reader.
pub fn read(bytes: &[u8]) -> Result<Vec<TileFeature>, String> {
    fn varint(b: &[u8], i: &mut usize) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i).ok_or("truncated varint")?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err("varint too long".into())
    }
    /// A message's field: (number, bytes of a length-delimited field, value of a varint).
    type Field<'a> = (u64, &'a [u8], u64);
    fn fields(b: &[u8]) -> Result<Vec<Field<'_>>, String> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let tag = varint(b, &mut i)?;
            match tag & 7 {
                0 => out.push((tag >> 3, &b[0..0], varint(b, &mut i)?)),
                2 => {
                    let len = varint(b, &mut i)? as usize;
                    let field = b.get(i..i + len).ok_or("truncated field")?;
                    out.push((tag >> 3, field, 0));
                    i += len;
                }
                w => return Err(format!("wire type {w}")),
            }
        }
        Ok(out)
    }
    fn packed(b: &[u8]) -> Result<Vec<u64>, String> {
        let mut i = 0;
        let mut out = Vec::new();
        while i < b.len() {
            out.push(varint(b, &mut i)?);
        }
        Ok(out)
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    let mut out = Vec::new();
    for (field, layer, _) in fields(bytes)? {
        if field != 3 {
            return Err(format!("field {field} outside a layer"));
        }
        let lf = fields(layer)?;
        let keys: Vec<String> = lf.iter().filter(|f| f.0 == 3).map(|f| text(f.1)).collect::<Result<_, _>>()?;
        let mut values = Vec::new();
        for f in lf.iter().filter(|f| f.0 == 4) {
            let v = fields(f.1)?;
            values.push(v.iter().find(|x| x.0 == 1).map(|x| text(x.1)).transpose()?.unwrap_or_default());
        }
        if lf.iter().find(|f| f.0 == 5).map(|f| f.2) != Some(u64::from(EXTENT)) {
            return Err("extent is not 4096".into());
        }
        for (_, feat, _) in lf.iter().filter(|f| f.0 == 2) {
            let ff = fields(feat)?;
            let get = |n: u64| ff.iter().find(|f| f.0 == n);
            let id = get(1).map(|f| f.2).ok_or("feature without id")?;
            if get(3).map(|f| f.2) != Some(3) {
                return Err(format!("feature {id} is not a polygon"));
            }
            let tags = packed(get(2).map(|f| f.1).unwrap_or_default())?;
            let tag = |k: &str| -> String {
                tags.chunks(2)
                    .find(|t| keys.get(t[0] as usize).is_some_and(|x| x == k))
                    .and_then(|t| values.get(*t.get(1)? as usize).cloned())
                    .unwrap_or_default()
            };
            let geometry = packed(get(4).map(|f| f.1).unwrap_or_default())?;
            let (mut x, mut y) = (0i64, 0i64);
            let mut rings: Vec<Vec<(i64, i64)>> = Vec::new();
            let mut i = 0;
            while i < geometry.len() {
                let (cmd, count) = (geometry[i] & 7, geometry[i] >> 3);
                i += 1;
                match cmd {
                    1 | 2 => {
                        if cmd == 1 {
                            if count != 1 {
                                return Err(format!("feature {id}: MoveTo with {count} points"));
                            }
                            rings.push(Vec::new());
                        }
                        let ring = rings.last_mut().ok_or(format!("feature {id}: LineTo before a MoveTo"))?;
                        for _ in 0..count {
                            let z = |v: u64| ((v >> 1) as i64) ^ -((v & 1) as i64);
                            let (dx, dy) = (geometry.get(i).ok_or("truncated geometry")?, geometry.get(i + 1).ok_or("truncated geometry")?);
                            x += z(*dx);
                            y += z(*dy);
                            i += 2;
                            ring.push((x, y));
                        }
                    }
                    7 => {}
                    c => return Err(format!("feature {id}: command {c}")),
                }
            }
            out.push(TileFeature { id, key: tag("key"), rings });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
