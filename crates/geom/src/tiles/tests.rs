use super::*;
use geo::{LineString, Polygon};

fn decode(bytes: &[u8]) -> Vec<TileFeature> {
    read(bytes).unwrap()
}

fn area2(r: &[(i64, i64)]) -> i64 {
    let n = r.len();
    (0..n).map(|i| r[i].0 * r[(i + 1) % n].1 - r[(i + 1) % n].0 * r[i].1).sum()
}

/// Area of world-coordinate rings (exterior minus holes), absolute.
fn world_area(polys: &[Vec<Vec<Pt>>]) -> f64 {
    let ring = |r: &[Pt]| {
        let n = r.len();
        ((0..n).map(|i| r[i][0] * r[(i + 1) % n][1] - r[(i + 1) % n][0] * r[i][1]).sum::<f64>() / 2.0).abs()
    };
    polys.iter().map(|p| ring(&p[0]) - p[1..].iter().map(|h| ring(h)).sum::<f64>()).sum()
}

/// A wiggly line from `a` to `b` with `n` points (deterministic), shared by both neighbours.
fn wiggle(a: (f64, f64), b: (f64, f64), n: usize, amp: f64) -> Vec<(f64, f64)> {
    (0..=n)
        .map(|i| {
            let t = i as f64 / n as f64;
            let off = if i == 0 || i == n { 0.0 } else { amp * ((i * 7919 % 13) as f64 / 13.0 - 0.5) };
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            (a.0 + t * dx - off * dy, a.1 + t * dy + off * dx)
        })
        .collect()
}

/// Four areas in a 2×2 grid around Berlin with wiggly shared borders, and an enclave in the
/// first (with the matching hole): a partition of the square.
fn grid() -> (Vec<(String, MultiPolygon)>, f64) {
    let (x0, y0, s) = (13.0, 52.0, 0.5);
    let c = |i: f64, j: f64| (x0 + i * s, y0 + j * s);
    // Shared interior borders: the vertical one (bottom half, top half) and the horizontal one.
    let v_lo = wiggle(c(1.0, 0.0), c(1.0, 1.0), 400, 0.08);
    let v_hi = wiggle(c(1.0, 1.0), c(1.0, 2.0), 400, 0.08);
    let h_le = wiggle(c(0.0, 1.0), c(1.0, 1.0), 400, 0.08);
    let h_ri = wiggle(c(1.0, 1.0), c(2.0, 1.0), 400, 0.08);
    let rev = |v: &[(f64, f64)]| v.iter().rev().copied().collect::<Vec<_>>();
    let ring = |parts: Vec<Vec<(f64, f64)>>| {
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for p in parts {
            for q in p {
                if pts.last() != Some(&q) {
                    pts.push(q);
                }
            }
        }
        if pts.first() != pts.last() {
            pts.push(pts[0]);
        }
        LineString::from(pts)
    };
    let enclave = wiggle(c(0.3, 0.3), c(0.6, 0.3), 50, 0.2)
        .into_iter()
        .chain(wiggle(c(0.6, 0.3), c(0.6, 0.6), 50, 0.2))
        .chain(wiggle(c(0.6, 0.6), c(0.3, 0.6), 50, 0.2))
        .chain(wiggle(c(0.3, 0.6), c(0.3, 0.3), 50, 0.2))
        .collect::<Vec<_>>();
    let sw = Polygon::new(ring(vec![vec![c(0.0, 0.0)], v_lo.clone(), rev(&h_le)]), vec![ring(vec![rev(&enclave)])]);
    let se = Polygon::new(ring(vec![vec![c(1.0, 0.0), c(2.0, 0.0), c(2.0, 1.0)], rev(&h_ri), rev(&v_lo)]), vec![]);
    let ne = Polygon::new(ring(vec![h_ri.clone(), vec![c(2.0, 2.0), c(1.0, 2.0)], rev(&v_hi)]), vec![]);
    let nw = Polygon::new(ring(vec![vec![c(0.0, 1.0)], h_le.clone(), v_hi.clone(), vec![c(0.0, 2.0)]]), vec![]);
    let inner = Polygon::new(ring(vec![enclave]), vec![]);
    let areas = vec![("sw", sw), ("se", se), ("ne", ne), ("nw", nw), ("enklave", inner)]
        .into_iter()
        .map(|(k, p)| (k.to_string(), MultiPolygon(vec![p])))
        .collect();
    let square = [world(x0, y0 + 2.0 * s), world(x0 + 2.0 * s, y0 + 2.0 * s), world(x0 + 2.0 * s, y0), world(x0, y0)];
    (areas, world_area(&[vec![square.to_vec()]]))
}

#[test]
fn mercator_round_trip() {
    for (lon, lat) in [(13.4, 52.5), (6.0, 47.3), (-180.0, 0.0), (179.9, -60.0)] {
        let (x, y) = lon_lat(world(lon, lat));
        assert!((x - lon).abs() < 1e-9 && (y - lat).abs() < 1e-9, "{lon} {lat}");
    }
    assert_eq!(world(-180.0, 0.0), [0.0, 0.5]);
}

#[test]
fn douglas_peucker_keeps_ends_and_closed_arcs_stay_rings() {
    let line: Vec<Pt> = (0..=100).map(|i| [i as f64, if i % 2 == 0 { 0.0 } else { 0.01 }]).collect();
    assert_eq!(simplify(&line, 0.1), vec![[0.0, 0.0], [100.0, 0.0]]);
    assert_eq!(simplify(&line, 0.001).len(), line.len(), "under the tolerance nothing goes");
    let circle: Vec<Pt> = (0..=64).map(|i| (i as f64 / 64.0 * std::f64::consts::TAU).sin_cos()).map(|(s, c)| [c, s]).collect();
    let mut closed = circle.clone();
    *closed.last_mut().unwrap() = closed[0];
    let s = simplify(&closed, 10.0);
    assert!(s.len() >= 3 && s[0] == s[s.len() - 1], "{s:?}");
}

#[test]
fn shared_borders_are_stored_once_and_simplified_without_gaps() {
    let (areas, square) = grid();
    let set = TileSet::new(areas);
    assert_eq!(set.len(), 5);
    // Four interior borders, one outer boundary per corner pair, the enclave's ring once.
    assert!(set.arcs() <= 12, "{} arcs", set.arcs());
    for z in 0..=MAX_ZOOM {
        let total: f64 = (0..set.len()).map(|i| world_area(&set.rings(i, z))).sum();
        assert!((total - square).abs() <= 1e-9 * square, "zoom {z}: areas add up to {total}, the square is {square}");
        for i in 0..set.len() {
            for poly in set.rings(i, z) {
                assert!(poly.iter().all(|r| r.len() >= 3), "zoom {z}: a ring of {} collapsed", set.keys[i]);
            }
        }
    }
    // Simplification does work at low zoom: far fewer points than delivered.
    let points = |z: u8| (0..set.len()).map(|i| set.rings(i, z).iter().flatten().map(Vec::len).sum::<usize>()).sum::<usize>();
    assert!(points(2) * 3 < points(MAX_ZOOM), "{} at z2, {} at z16", points(2), points(MAX_ZOOM));
    // The same polygons simplified one by one would open gaps: the check above can fail.
    let (areas, _) = grid();
    let alone: f64 = areas
        .iter()
        .map(|(k, mp)| {
            let one = TileSet::new(vec![(k.clone(), mp.clone())]);
            world_area(&one.rings(0, 4))
        })
        .sum();
    assert!((alone - square).abs() > 1e-6 * square, "independent simplification leaves gaps or overlaps");
}

#[test]
fn tiles_hold_the_areas_they_touch_with_valid_rings() {
    let (areas, _) = grid();
    let set = TileSet::new(areas);
    // At zoom 0 the enclave is smaller than a tile unit and left out (with the hole it fills);
    // at zoom 6 every area is there.
    assert_eq!(decode(&set.tile("gebiete", 0, 0, 0)).len(), 4);
    let tile_of = |lon: f64, lat: f64, z: u8| {
        let c = world(lon, lat);
        let n = f64::from(1u32 << z);
        ((c[0] * n) as u32, (c[1] * n) as u32)
    };
    let (x, y) = tile_of(13.225, 52.225, 6);
    let all = decode(&set.tile("gebiete", 6, x, y));
    assert_eq!(all.len(), 5, "{:?}", all.iter().map(|f| &f.key).collect::<Vec<_>>());
    let sw = all.iter().find(|f| f.key == "sw").unwrap();
    assert_eq!(sw.id, 0);
    assert_eq!(sw.rings.len(), 2, "exterior and the enclave's hole");
    assert!(area2(&sw.rings[0]) > 0 && area2(&sw.rings[1]) < 0, "exterior clockwise on screen, hole anticlockwise");
    // Zoomed in on Berlin: the tile holding the grid's centre, every area in it valid; a tile
    // far away is empty.
    let z = 12u8;
    let c = world(13.5, 52.5);
    let (x, y) = ((c[0] * 4096.0) as u32, (c[1] * 4096.0) as u32);
    let feats = decode(&set.tile("gebiete", z, x, y));
    assert!(feats.len() >= 2, "{} features", feats.len());
    for f in &feats {
        for r in &f.rings {
            assert!(r.len() >= 3 && area2(r) != 0, "{}: degenerate ring", f.key);
            assert!(r.iter().all(|p| (-64..=4160).contains(&p.0) && (-64..=4160).contains(&p.1)), "{}: clipped to the buffer", f.key);
        }
    }
    assert!(decode(&set.tile("gebiete", z, 0, 0)).is_empty());
    // Bounds in degrees.
    let b = set.bounds().unwrap();
    assert!((b[0] - 13.0).abs() < 1e-9 && (b[1] - 52.0).abs() < 1e-9 && (b[2] - 14.0).abs() < 0.1 && (b[3] - 53.0).abs() < 0.1, "{b:?}");
    assert!(set.area_bounds("enklave").is_some() && set.area_bounds("gibtsnicht").is_none());
}

#[test]
fn a_ring_starting_where_the_last_ended_keeps_its_move_to() {
    // Two squares touching at one corner, in one area: the second ring may start where the
    // first ends.
    let sq = |x: f64, y: f64| Polygon::new(LineString::from(vec![(x, y), (x + 0.1, y), (x + 0.1, y + 0.1), (x, y + 0.1), (x, y)]), vec![]);
    let set = TileSet::new(vec![("a".into(), MultiPolygon(vec![sq(13.0, 52.0), sq(13.1, 52.1)]))]);
    for z in [6u8, 8, 10] {
        let c = world(13.1, 52.1);
        let n = f64::from(1u32 << z);
        let feats = decode(&set.tile("gebiete", z, (c[0] * n) as u32, (c[1] * n) as u32));
        assert_eq!(feats.len(), 1, "zoom {z}");
        assert!(feats[0].rings.iter().all(|r| r.len() >= 3), "zoom {z}: {:?}", feats[0].rings);
    }
}
