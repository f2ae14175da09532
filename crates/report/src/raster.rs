//! A small rasteriser for the pictures in Word documents, which need pixels: polygons
//! filled by scanlines (even–odd, so holes stay open), lines, rectangles; encoded as PNG
//! (zlib via flate2, CRC-32 via crc32fast). Maps are flat colours, so the files stay small.

/// An RGB image, white to begin with.
pub struct Canvas {
    pub w: usize,
    pub h: usize,
    px: Vec<[u8; 3]>,
}

pub fn hex(c: &str) -> [u8; 3] {
    let h = c.trim_start_matches('#');
    let v = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    [v(0), v(2), v(4)]
}

impl Canvas {
    pub fn new(w: usize, h: usize) -> Canvas {
        Canvas { w, h, px: vec![[255, 255, 255]; w * h] }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            self.px[y as usize * self.w + x as usize] = c;
        }
    }

    /// Fills the rings (closed or not) with the even–odd rule, sampling pixel centres.
    pub fn fill(&mut self, rings: &[Vec<(f64, f64)>], c: [u8; 3]) {
        let (mut y0, mut y1) = (f64::INFINITY, f64::NEG_INFINITY);
        for p in rings.iter().flatten() {
            y0 = y0.min(p.1);
            y1 = y1.max(p.1);
        }
        if !y0.is_finite() {
            return;
        }
        let mut xs = Vec::new();
        for row in (y0.floor().max(0.0) as usize)..=(y1.ceil().min(self.h as f64 - 1.0).max(0.0) as usize) {
            let sy = row as f64 + 0.5;
            xs.clear();
            for ring in rings {
                for k in 0..ring.len() {
                    let (a, b) = (ring[k], ring[(k + 1) % ring.len()]);
                    if (a.1 <= sy) != (b.1 <= sy) {
                        xs.push(a.0 + (sy - a.1) / (b.1 - a.1) * (b.0 - a.0));
                    }
                }
            }
            xs.sort_by(f64::total_cmp);
            for pair in xs.chunks_exact(2) {
                let (from, to) = ((pair[0] - 0.5).ceil() as i64, (pair[1] - 0.5).floor() as i64);
                for x in from..=to {
                    self.set(x, row as i64, c);
                }
            }
        }
    }

    /// A line `width` pixels wide (square pen), by stepping along it.
    pub fn line(&mut self, a: (f64, f64), b: (f64, f64), width: f64, c: [u8; 3]) {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let steps = (len * 2.0).ceil().max(1.0) as usize;
        let r = (width / 2.0).max(0.5);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1));
            for px in (x - r).round() as i64..(x + r).round() as i64 {
                for py in (y - r).round() as i64..(y + r).round() as i64 {
                    self.set(px, py, c);
                }
            }
        }
    }

    /// Text along a baseline at (x, y), `size` pixels high, from the glyph outlines of the
    /// embedded Liberation Sans (curves flattened to lines). Returns the advance width.
    pub fn text(&mut self, x: f64, y: f64, size: f64, s: &str, c: [u8; 3]) -> f64 {
        let face = ttf_parser::Face::parse(crate::pdf::REGULAR, 0).expect("embedded font parses");
        let scale = size / face.units_per_em() as f64;
        let mut pen = x;
        for ch in s.chars() {
            let Some(g) = face.glyph_index(ch) else {
                pen += size * 0.5;
                continue;
            };
            let mut outline = Outline { rings: Vec::new(), scale, x: pen, y, last: (0.0, 0.0) };
            face.outline_glyph(g, &mut outline);
            self.fill(&outline.rings, c);
            pen += face.glyph_hor_advance(g).unwrap_or(0) as f64 * scale;
        }
        pen - x
    }

    /// The width [`Canvas::text`] would take.
    pub fn text_width(size: f64, s: &str) -> f64 {
        let face = ttf_parser::Face::parse(crate::pdf::REGULAR, 0).expect("embedded font parses");
        let scale = size / face.units_per_em() as f64;
        s.chars().map(|ch| face.glyph_index(ch).and_then(|g| face.glyph_hor_advance(g)).map_or(size * 0.5, |a| a as f64 * scale)).sum()
    }

    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, c: [u8; 3]) {
        self.fill(&[vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h)]], c);
    }

    /// The image as PNG (8-bit RGB, no interlace).
    pub fn png(&self) -> Vec<u8> {
        use std::io::Write;
        let mut raw = Vec::with_capacity((self.w * 3 + 1) * self.h);
        for row in self.px.chunks(self.w) {
            raw.push(0); // filter: none
            for p in row {
                raw.extend_from_slice(p);
            }
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
        z.write_all(&raw).expect("in memory");
        let idat = z.finish().expect("in memory");
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend((self.w as u32).to_be_bytes());
        ihdr.extend((self.h as u32).to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", &idat[..]), (b"IEND", &[][..])] {
            out.extend((data.len() as u32).to_be_bytes());
            let mut crc = crc32fast::Hasher::new();
            crc.update(kind);
            crc.update(data);
            out.extend(kind);
            out.extend(data);
            out.extend(crc.finalize().to_be_bytes());
        }
        out
    }
}

/// Collects a glyph's contours as rings in canvas coordinates (y down).
struct Outline {
    rings: Vec<Vec<(f64, f64)>>,
    scale: f64,
    x: f64,
    y: f64,
    last: (f64, f64),
}

impl Outline {
    fn at(&self, x: f32, y: f32) -> (f64, f64) {
        (self.x + x as f64 * self.scale, self.y - y as f64 * self.scale)
    }
}

impl ttf_parser::OutlineBuilder for Outline {
    fn move_to(&mut self, x: f32, y: f32) {
        self.last = self.at(x, y);
        self.rings.push(vec![self.last]);
    }
    fn line_to(&mut self, x: f32, y: f32) {
        self.last = self.at(x, y);
        if let Some(r) = self.rings.last_mut() {
            r.push(self.last);
        }
    }
    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (p0, p1, p2) = (self.last, self.at(x1, y1), self.at(x, y));
        for k in 1..=6 {
            let t = k as f64 / 6.0;
            let u = 1.0 - t;
            let p = (u * u * p0.0 + 2.0 * u * t * p1.0 + t * t * p2.0, u * u * p0.1 + 2.0 * u * t * p1.1 + t * t * p2.1);
            if let Some(r) = self.rings.last_mut() {
                r.push(p);
            }
        }
        self.last = p2;
    }
    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (p0, p1, p2, p3) = (self.last, self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        for k in 1..=8 {
            let t = k as f64 / 8.0;
            let u = 1.0 - t;
            let f = |a: f64, b: f64, c: f64, d: f64| u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d;
            if let Some(r) = self.rings.last_mut() {
                r.push((f(p0.0, p1.0, p2.0, p3.0), f(p0.1, p1.1, p2.1, p3.1)));
            }
        }
        self.last = p3;
    }
    fn close(&mut self) {}
}

/// Our SVG path data (absolute `M`, relative `l`, `Z`) as rings of points, transformed.
pub fn rings(d: &str, t: &impl Fn(f64, f64) -> (f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let bytes = d.as_bytes();
    let (mut i, mut cmd) = (0, b'M');
    let (mut x, mut y) = (0.0, 0.0);
    let mut nums: Vec<f64> = Vec::with_capacity(2);
    while i < bytes.len() {
        match bytes[i] {
            b'M' | b'l' => {
                cmd = bytes[i];
                i += 1;
            }
            b'Z' | b' ' => i += 1,
            _ => {
                let start = i;
                if bytes[i] == b'-' {
                    i += 1;
                }
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let Some(v) = std::str::from_utf8(&bytes[start..i]).ok().and_then(|s| s.parse().ok()) else {
                    i = i.max(start + 1);
                    continue;
                };
                nums.push(v);
                if nums.len() == 2 {
                    if cmd == b'M' {
                        (x, y) = (nums[0], nums[1]);
                        out.push(vec![t(x, y)]);
                    } else {
                        x += nums[0];
                        y += nums[1];
                        if let Some(r) = out.last_mut() {
                            r.push(t(x, y));
                        }
                    }
                    nums.clear();
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_square_with_a_hole_and_its_png() {
        let mut c = Canvas::new(10, 10);
        let outer = vec![(1.0, 1.0), (9.0, 1.0), (9.0, 9.0), (1.0, 9.0)];
        let hole = vec![(4.0, 4.0), (6.0, 4.0), (6.0, 6.0), (4.0, 6.0)];
        c.fill(&[outer, hole], [255, 0, 0]);
        assert_eq!(c.px[2 * 10 + 2], [255, 0, 0]);
        assert_eq!(c.px[5 * 10 + 5], [255, 255, 255], "even–odd keeps the hole");
        assert_eq!(c.px[0], [255, 255, 255]);
        let png = c.png();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND with its CRC");
        assert_eq!(rings("M1 2l3 0 0-2Z", &|x, y| (x, y)), vec![vec![(1.0, 2.0), (4.0, 2.0), (4.0, 0.0)]]);
    }
}
