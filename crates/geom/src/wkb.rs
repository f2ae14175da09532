//! Well-known binary (OGC Simple Features) for polygons and multipolygons.
//!
//! Written little-endian, 2D. Read in either byte order, ISO or EWKB dimension flags,
//! with Z/M ordinates dropped: enough for stored areas and GeoPackage geometry blobs.

use crate::GeomError;
use geo::{Coord, LineString, MultiPolygon, Polygon};

/// Encodes a multipolygon as 2D little-endian WKB.
pub fn encode(mp: &MultiPolygon) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + mp.0.iter().map(|p| 8 + p.exterior().0.len() * 16).sum::<usize>());
    out.push(1);
    out.extend_from_slice(&6u32.to_le_bytes());
    out.extend_from_slice(&(mp.0.len() as u32).to_le_bytes());
    for poly in &mp.0 {
        out.push(1);
        out.extend_from_slice(&3u32.to_le_bytes());
        let rings: Vec<&LineString> = std::iter::once(poly.exterior()).chain(poly.interiors()).collect();
        out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
        for ring in rings {
            out.extend_from_slice(&(ring.0.len() as u32).to_le_bytes());
            for c in &ring.0 {
                out.extend_from_slice(&c.x.to_le_bytes());
                out.extend_from_slice(&c.y.to_le_bytes());
            }
        }
    }
    out
}

/// What a WKB blob held.
#[derive(Debug)]
pub enum Decoded {
    /// Polygon or MultiPolygon, as a multipolygon.
    Areal(MultiPolygon),
    /// Any other geometry type, by its OGC name.
    Other(&'static str),
    /// An empty geometry.
    Empty,
}

/// Decodes Polygon and MultiPolygon WKB (other types are reported by name).
pub fn decode(bytes: &[u8]) -> Result<Decoded, GeomError> {
    let mut r = Reader { b: bytes, pos: 0, le: true };
    let (ty, dims) = r.header()?;
    let out = match ty {
        3 => Decoded::Areal(MultiPolygon(vec![r.polygon(dims)?])),
        6 => {
            let n = r.u32()? as usize;
            let mut polys = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                let (t, d) = r.header()?;
                if t != 3 {
                    return Err(GeomError::Wkb(format!("MultiPolygon enthält Typ {t}")));
                }
                polys.push(r.polygon(d)?);
            }
            Decoded::Areal(MultiPolygon(polys))
        }
        1 => Decoded::Other("Point"),
        2 => Decoded::Other("LineString"),
        4 => Decoded::Other("MultiPoint"),
        5 => Decoded::Other("MultiLineString"),
        7 => Decoded::Other("GeometryCollection"),
        t => return Err(GeomError::Wkb(format!("unbekannter Geometrietyp {t}"))),
    };
    if let Decoded::Areal(mp) = &out
        && mp.0.iter().all(|p| p.exterior().0.is_empty())
    {
        return Ok(Decoded::Empty);
    }
    Ok(out)
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    le: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], GeomError> {
        let s = self.b.get(self.pos..self.pos + N).ok_or_else(|| GeomError::Wkb(format!("vorzeitiges Ende bei Byte {}", self.pos)))?;
        self.pos += N;
        Ok(s.try_into().expect("slice of length N"))
    }
    fn u32(&mut self) -> Result<u32, GeomError> {
        let a = self.take::<4>()?;
        Ok(if self.le { u32::from_le_bytes(a) } else { u32::from_be_bytes(a) })
    }
    fn f64(&mut self) -> Result<f64, GeomError> {
        let a = self.take::<8>()?;
        Ok(if self.le { f64::from_le_bytes(a) } else { f64::from_be_bytes(a) })
    }
    /// Returns (base type, number of ordinates per coordinate).
    fn header(&mut self) -> Result<(u32, usize), GeomError> {
        let [order] = self.take::<1>()?;
        self.le = match order {
            0 => false,
            1 => true,
            o => return Err(GeomError::Wkb(format!("ungültige Byte-Reihenfolge {o}"))),
        };
        let raw = self.u32()?;
        // EWKB flags (PostGIS) and ISO thousands (1000 Z, 2000 M, 3000 ZM).
        let ewkb_z = raw & 0x8000_0000 != 0;
        let ewkb_m = raw & 0x4000_0000 != 0;
        let has_srid = raw & 0x2000_0000 != 0;
        let code = raw & 0x0FFF_FFFF;
        if has_srid {
            self.u32()?;
        }
        let (base, iso) = (code % 1000, code / 1000);
        let extra = match iso {
            0 => 0,
            1 | 2 => 1,
            3 => 2,
            _ => return Err(GeomError::Wkb(format!("ungültiger Typcode {raw}"))),
        } + ewkb_z as usize
            + ewkb_m as usize;
        Ok((base, 2 + extra))
    }
    fn polygon(&mut self, dims: usize) -> Result<Polygon, GeomError> {
        let nrings = self.u32()? as usize;
        let mut rings = Vec::with_capacity(nrings.min(1 << 12));
        for _ in 0..nrings {
            let n = self.u32()? as usize;
            if n > self.b.len() {
                return Err(GeomError::Wkb(format!("Ring mit {n} Punkten in {} Bytes", self.b.len())));
            }
            let mut pts = Vec::with_capacity(n);
            for _ in 0..n {
                let x = self.f64()?;
                let y = self.f64()?;
                for _ in 2..dims {
                    self.f64()?;
                }
                pts.push(Coord { x, y });
            }
            rings.push(LineString(pts));
        }
        let mut it = rings.into_iter();
        let ext = it.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(ext, it.collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn roundtrip() {
        let mp = MultiPolygon(vec![polygon!(
            exterior: [(x: 0., y: 0.), (x: 4., y: 0.), (x: 4., y: 4.), (x: 0., y: 0.)],
            interiors: [[(x: 1., y: 1.), (x: 2., y: 1.), (x: 2., y: 2.), (x: 1., y: 1.)]],
        )]);
        match decode(&encode(&mp)).unwrap() {
            Decoded::Areal(back) => assert_eq!(back, mp),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_big_endian_polygon_z() {
        let mut b = vec![0u8];
        b.extend_from_slice(&1003u32.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&4u32.to_be_bytes());
        for (x, y) in [(0., 0.), (1., 0.), (1., 1.), (0., 0.)] {
            for v in [x, y, 9.0f64] {
                b.extend_from_slice(&v.to_be_bytes());
            }
        }
        let Decoded::Areal(mp) = decode(&b).unwrap() else { panic!() };
        assert_eq!(mp.0[0].exterior().0[2], Coord { x: 1., y: 1. });
    }

    #[test]
    fn truncated_is_an_error() {
        let b = encode(&MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.)]]));
        assert!(decode(&b[..b.len() - 3]).is_err());
    }
}
