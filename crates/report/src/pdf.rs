//! The report as PDF (A4): title page, table of contents with page numbers, chapters with
//! vector maps and charts, the index chapter, area profiles, methods and sources; page
//! numbers in the footer; Liberation Sans embedded (WinAnsi encoding, so the text is
//! selectable and extracts as written). No creation date: the same data and definition
//! give the same bytes.
//!
//! Tagged for PDF/UA-1 (ISO 14289-1): every text and drawing is marked content of a structure
//! element (Document; H1–H3; P; L/LI/Lbl/LBody; Table/Caption/TR/TH with column scope/TD;
//! Figure with a generated text alternative; TOC/TOCI) or an artifact (running footers,
//! rules, table borders, header rows repeated on continuation pages). Headings never skip a
//! level (`heading_as` keeps the visual size apart from the tag). The structure tree, the
//! parent tree, `/MarkInfo`, `/Lang`, `DisplayDocTitle`, the XMP packet with the PDF/UA
//! identifier and a `/ToUnicode` map for both embedded fonts are written by [`write_pdf`].

use crate::format::fmt_de;
use crate::map::palette;
use crate::markdown::{self, Block};
use crate::model::{IndexData, IndicatorData, Report};
use pdf_writer::types::FontFlags;
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

pub(crate) const REGULAR: &[u8] = include_bytes!("../fonts/LiberationSans-Regular.ttf");
const BOLD: &[u8] = include_bytes!("../fonts/LiberationSans-Bold.ttf");

const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 62.0;
const RIGHT: f32 = 62.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = 70.0;
const WIDTH: f32 = PAGE_W - LEFT - RIGHT;
const ACCENT: (f32, f32, f32) = (0.549, 0.176, 0.016);
const MUTED: (f32, f32, f32) = (0.29, 0.29, 0.31);
const INK: (f32, f32, f32) = (0.114, 0.114, 0.122);

/// A font's advance widths per WinAnsi code (1/1000 em) and descriptor values.
struct Metrics {
    widths: [f32; 256],
    ascent: f32,
    descent: f32,
    cap_height: f32,
    bbox: [f32; 4],
}

fn metrics(data: &[u8]) -> Metrics {
    let face = ttf_parser::Face::parse(data, 0).expect("embedded font parses");
    let scale = 1000.0 / face.units_per_em() as f32;
    let mut widths = [0.0; 256];
    for (code, w) in widths.iter_mut().enumerate().skip(32) {
        if let Some(c) = decode_winansi(code as u8) {
            *w = face.glyph_index(c).and_then(|g| face.glyph_hor_advance(g)).unwrap_or(0) as f32 * scale;
        }
    }
    let b = face.global_bounding_box();
    Metrics {
        widths,
        ascent: face.ascender() as f32 * scale,
        descent: face.descender() as f32 * scale,
        cap_height: face.capital_height().unwrap_or(face.ascender()) as f32 * scale,
        bbox: [b.x_min as f32 * scale, b.y_min as f32 * scale, b.x_max as f32 * scale, b.y_max as f32 * scale],
    }
}

/// WinAnsi (cp1252) code → character, for the codes that have one.
fn decode_winansi(code: u8) -> Option<char> {
    const HIGH: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019,
        0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    match code {
        0x20..=0x7E | 0xA0..=0xFF => Some(code as char),
        0x80..=0x9F => char::from_u32(HIGH[(code - 0x80) as usize] as u32).filter(|c| *c != '\0'),
        _ => None,
    }
}

/// Text → WinAnsi bytes; characters outside it are replaced by the nearest ASCII.
fn encode(s: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        let code = (c as u32) as u8;
        if (c as u32) < 0x100 && decode_winansi(code) == Some(c) {
            out.push(code);
            continue;
        }
        if let Some(code) = (0x80u8..=0x9F).find(|b| decode_winansi(*b) == Some(c)) {
            out.push(code);
            continue;
        }
        match c {
            '−' => out.push(0x96),
            '≤' => out.extend(b"<="),
            '≥' => out.extend(b">="),
            '→' => out.extend(b"->"),
            '✓' => out.extend(b"OK"),
            '\u{2009}' | '\u{202F}' => out.push(b' '),
            _ => out.push(b'?'),
        }
    }
    out
}

fn rgb(hex: &str) -> (f32, f32, f32) {
    let h = hex.trim_start_matches('#');
    let c = |i: usize| u8::from_str_radix(h.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0) as f32 / 255.0;
    (c(0), c(2), c(4))
}

/// One element of the structure tree: a standard structure type, its parent, its children
/// (elements and marked-content sequences), a text alternative (figures), and for table
/// header cells the column scope.
struct Node {
    role: &'static str,
    kids: Vec<Kid>,
    alt: Option<String>,
    column_header: bool,
}

enum Kid {
    Node(usize),
    /// A marked-content sequence: the page (by creation, see `Layout::page_keys`) and its id.
    Mc(usize, i32),
}

/// The structure tree while the layout is made: node 0 is the Document; `open` the elements
/// now open (innermost last); `mcids[page]` the element of each marked-content id.
struct Tags {
    nodes: Vec<Node>,
    open: Vec<usize>,
    mcids: Vec<Vec<usize>>,
}

impl Tags {
    fn new() -> Tags {
        Tags { nodes: vec![Node { role: "Document", kids: Vec::new(), alt: None, column_header: false }], open: vec![0], mcids: Vec::new() }
    }

    fn current(&self) -> usize {
        *self.open.last().expect("the Document stays open")
    }
}

/// A heading for the table of contents and the outline: level, text, page index.
struct Entry {
    level: u8,
    text: String,
    page: usize,
}

/// The flowing layout: pages of content, a cursor, the contents entries.
struct Layout {
    regular: Metrics,
    bold: Metrics,
    pages: Vec<Content>,
    y: f32,
    entries: Vec<Entry>,
    /// Whether a locator map used the shared base map (written once as a form XObject).
    base_map: bool,
    tags: Tags,
    /// Each page's key into `tags.mcids` (pages are made in one order and written in
    /// another: the front matter is laid out last).
    page_keys: Vec<usize>,
    /// Text drawn now is an artifact (a table's header row repeated on a new page).
    artifact: bool,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            regular: metrics(REGULAR),
            bold: metrics(BOLD),
            pages: Vec::new(),
            y: 0.0,
            entries: Vec::new(),
            base_map: false,
            tags: Tags::new(),
            page_keys: Vec::new(),
            artifact: false,
        }
    }

    /// Opens a structure element inside the one open now.
    fn open(&mut self, role: &'static str) -> usize {
        let id = self.tags.nodes.len();
        self.tags.nodes.push(Node { role, kids: Vec::new(), alt: None, column_header: false });
        let parent = self.tags.current();
        self.tags.nodes[parent].kids.push(Kid::Node(id));
        self.tags.open.push(id);
        id
    }

    fn close(&mut self) {
        debug_assert!(self.tags.open.len() > 1, "the Document is never closed");
        self.tags.open.pop();
    }

    /// A list ends where anything else begins.
    fn end_list(&mut self) {
        if self.tags.nodes[self.tags.current()].role == "L" {
            self.close();
        }
    }

    /// Draws on the current page as a marked-content sequence of the open element (an
    /// artifact while `artifact` is set).
    fn mark(&mut self, draw: impl FnOnce(&mut Content)) {
        if self.artifact {
            return self.as_artifact(draw);
        }
        let node = self.tags.current();
        debug_assert!(node != 0, "content outside any element");
        let key = *self.page_keys.last().expect("a page");
        let mcid = self.tags.mcids[key].len() as i32;
        self.tags.mcids[key].push(node);
        self.tags.nodes[node].kids.push(Kid::Mc(key, mcid));
        let role = self.tags.nodes[node].role;
        let c = self.pages.last_mut().expect("a page");
        c.begin_marked_content_with_properties(Name(role.as_bytes())).properties().identify(mcid);
        draw(c);
        c.end_marked_content();
    }

    /// Draws what is no content (rules, borders, repeated headers) as an artifact.
    fn as_artifact(&mut self, draw: impl FnOnce(&mut Content)) {
        let c = self.pages.last_mut().expect("a page");
        c.begin_marked_content(Name(b"Artifact"));
        draw(c);
        c.end_marked_content();
    }

    fn width(&self, s: &str, size: f32, bold: bool) -> f32 {
        let m = if bold { &self.bold } else { &self.regular };
        encode(s).iter().map(|b| m.widths[*b as usize]).sum::<f32>() * size / 1000.0
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.page_keys.push(self.tags.mcids.len());
        self.tags.mcids.push(Vec::new());
        self.y = PAGE_H - TOP;
    }

    /// Room for `h` points, else a new page.
    fn ensure(&mut self, h: f32) {
        if self.pages.is_empty() || self.y - h < BOTTOM {
            self.new_page();
        }
    }

    /// One line of text, marked content of the open element.
    fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: (f32, f32, f32), s: &str) {
        let bytes = encode(s);
        self.mark(|c| {
            c.set_fill_rgb(colour.0, colour.1, colour.2);
            c.begin_text();
            c.set_font(Name(if bold { b"F2" } else { b"F1" }), size);
            c.next_line(x, y);
            c.show(Str(&bytes));
            c.end_text();
        });
    }

    /// Words broken into lines of at most `width` points.
    fn lines(&self, s: &str, size: f32, bold: bool, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in s.split_whitespace() {
            let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
            if self.width(&candidate, size, bold) <= width || line.is_empty() {
                line = candidate;
            } else {
                lines.push(std::mem::take(&mut line));
                line = word.to_string();
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// A paragraph (P).
    fn paragraph_with(&mut self, s: &str, size: f32, bold: bool, colour: (f32, f32, f32), indent: f32) {
        self.end_list();
        self.open("P");
        self.lines_at(s, size, bold, colour, indent);
        self.close();
        self.y -= size * 0.5;
    }

    /// Wrapped lines of `s` from `indent`, in the open element.
    fn lines_at(&mut self, s: &str, size: f32, bold: bool, colour: (f32, f32, f32), indent: f32) {
        let lead = size * 1.38;
        for line in self.lines(s, size, bold, WIDTH - indent) {
            self.ensure(lead);
            self.y -= lead;
            self.text(LEFT + indent, self.y + lead * 0.25, size, bold, colour, &line);
        }
    }

    /// A bullet item (LI with the bullet as Lbl and the text as LBody) of the list open now,
    /// or of a new one.
    fn item(&mut self, s: &str, size: f32) {
        if self.tags.nodes[self.tags.current()].role != "L" {
            self.open("L");
        }
        self.open("LI");
        let lead = size * 1.38;
        self.ensure(lead);
        self.open("Lbl");
        self.text(LEFT, self.y - lead + lead * 0.25, size, false, INK, "•");
        self.close();
        self.open("LBody");
        self.lines_at(s, size, false, INK, 10.0);
        self.close();
        self.close();
        self.y -= size * 0.5;
    }

    fn paragraph(&mut self, s: &str) {
        self.paragraph_with(s, 10.0, false, INK, 0.0);
    }

    fn note(&mut self, s: &str) {
        self.paragraph_with(s, 8.5, false, MUTED, 0.0);
    }

    /// A heading kept with at least `keep` points of what follows.
    fn heading(&mut self, level: u8, s: &str, keep: f32) {
        self.heading_as(level, level, s, keep);
    }

    /// A heading tagged H`tag` that looks like a heading of `level` (headings never skip a
    /// level in the structure, whatever size they are drawn at).
    fn heading_as(&mut self, tag: u8, level: u8, s: &str, keep: f32) {
        self.end_list();
        let size = match level {
            1 => 18.0,
            2 => 14.0,
            _ => 11.5,
        };
        self.ensure(size * 2.2 + keep);
        self.y -= size * if level == 1 { 0.8 } else { 1.4 };
        let page = self.pages.len() - 1;
        self.entries.push(Entry { level, text: s.to_string(), page });
        let colour = if level <= 2 { ACCENT } else { INK };
        self.open(["H1", "H2", "H3", "H4"][(tag.clamp(1, 4) - 1) as usize]);
        for line in self.lines(s, size, true, WIDTH) {
            self.y -= size * 1.2;
            self.text(LEFT, self.y, size, true, colour, &line);
        }
        self.close();
        if level == 1 {
            let y = self.y - 5.0;
            self.as_artifact(|c| {
                c.set_stroke_rgb(ACCENT.0, ACCENT.1, ACCENT.2).set_line_width(1.2).move_to(LEFT, y).line_to(LEFT + WIDTH, y).stroke();
            });
            self.y -= 8.0;
        }
        self.y -= size * 0.45;
    }

    fn markdown(&mut self, text: &str) {
        for (kind, t) in markdown::to_paragraphs(text) {
            match kind {
                // Markdown comes under a level-1 heading: tagged H2, drawn small.
                Block::Heading => self.heading_as(2, 3, &t, 30.0),
                Block::Item => self.item(&t, 10.0),
                Block::Paragraph => self.paragraph(&t),
            }
        }
        self.end_list();
    }

    /// A table: column titles with widths (points) and right alignment; rows of cells, cut
    /// to their column's width; the header repeats on each new page.
    fn table(&mut self, caption: &str, cols: &[(&str, f32, bool)], rows: &[Vec<String>]) {
        self.end_list();
        let size = 8.5;
        let row_h = size * 1.6;
        self.ensure(row_h * 3.0 + 14.0);
        self.y -= 12.0;
        self.open("Table");
        self.open("Caption");
        self.text(LEFT, self.y, 9.0, true, INK, caption);
        self.close();
        self.y -= 4.0;
        // The header row: TH cells with column scope; repeated on a new page as an artifact.
        let header = |l: &mut Layout, repeated: bool| {
            l.y -= row_h;
            l.artifact = repeated;
            if !repeated {
                l.open("TR");
            }
            let mut x = LEFT;
            for (title, w, right) in cols {
                let t = l.fit(title, size, true, w - 6.0);
                let tx = if *right { x + w - 3.0 - l.width(&t, size, true) } else { x + 3.0 };
                if !repeated {
                    let th = l.open("TH");
                    l.tags.nodes[th].column_header = true;
                }
                l.text(tx, l.y + 3.0, size, true, INK, &t);
                if !repeated {
                    l.close();
                }
                x += w;
            }
            if !repeated {
                l.close();
            }
            l.artifact = false;
            let (y, end) = (l.y, LEFT + WIDTH.min(cols.iter().map(|c| c.1).sum()));
            l.as_artifact(|c| {
                c.set_stroke_rgb(0.4, 0.4, 0.42).set_line_width(0.8).move_to(LEFT, y).line_to(end, y).stroke();
            });
        };
        header(self, false);
        for row in rows {
            if self.y - row_h < BOTTOM {
                self.new_page();
                header(self, true);
            }
            self.y -= row_h;
            self.open("TR");
            let mut x = LEFT;
            for ((_, w, right), cell) in cols.iter().zip(row) {
                let t = self.fit(cell, size, false, w - 6.0);
                let tx = if *right { x + w - 3.0 - self.width(&t, size, false) } else { x + 3.0 };
                self.open("TD");
                if !t.is_empty() {
                    self.text(tx, self.y + 3.0, size, false, INK, &t);
                }
                self.close();
                x += w;
            }
            self.close();
            let y = self.y;
            let total = cols.iter().map(|c| c.1).sum::<f32>();
            self.as_artifact(|c| {
                c.set_stroke_rgb(0.8, 0.8, 0.82).set_line_width(0.4).move_to(LEFT, y).line_to(LEFT + total, y).stroke();
            });
        }
        self.close();
        self.y -= 8.0;
    }

    /// `s` shortened with "…" to fit `w` points.
    fn fit(&self, s: &str, size: f32, bold: bool, w: f32) -> String {
        if self.width(s, size, bold) <= w {
            return s.to_string();
        }
        let mut t: String = s.to_string();
        while !t.is_empty() && self.width(&format!("{t}…"), size, bold) > w {
            t.pop();
        }
        format!("{t}…")
    }

    /// A choropleth from the report's SVG paths, scaled to the text width, with a legend.
    /// `alt` says what the map shows (its text alternative; the legend's classes are added).
    fn map(&mut self, r: &Report, fills: &[&str], legend: &[(&str, String, usize)], caption: &str, alt: &str) {
        self.end_list();
        let vb: Vec<f32> = r.map.view_box.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        if vb.len() != 4 {
            return;
        }
        let classes: Vec<String> = legend.iter().map(|(_, label, n)| format!("{label}: {n} Gebiete")).collect();
        let figure = self.open("Figure");
        self.tags.nodes[figure].alt = Some(format!("{alt} Legende: {}.", classes.join("; ")));
        let scale = (WIDTH / vb[2]).min(360.0 / vb[3]);
        let h = vb[3] * scale;
        let legend_h = (legend.len() as f32 / 2.0).ceil() * 13.0 + 22.0;
        self.ensure(h + legend_h);
        let top = self.y;
        let x0 = LEFT + (WIDTH - vb[2] * scale) / 2.0;
        let tx = |x: f32| x0 + (x - vb[0]) * scale;
        let ty = |y: f32| top - (y - vb[1]) * scale;
        self.mark(|c| {
            c.set_line_width(0.25).set_stroke_rgb(0.42, 0.42, 0.44);
            for (i, a) in r.areas.iter().enumerate() {
                let Some(d) = r.map.paths.get(&a.key) else { continue };
                let (fr, fg, fb) = rgb(fills[i]);
                c.set_fill_rgb(fr, fg, fb);
                path(c, d, &tx, &ty);
                c.fill_even_odd_and_stroke();
            }
            c.set_line_width(0.9).set_stroke_rgb(0.11, 0.11, 0.12);
            for d in &r.map.parents {
                path(c, d, &tx, &ty);
                c.stroke();
            }
        });
        self.y = top - h - 6.0;
        // Legend in two columns.
        for (k, (colour, label, n)) in legend.iter().enumerate() {
            let col = (k % 2) as f32;
            if k % 2 == 0 {
                self.y -= 13.0;
            }
            let x = LEFT + col * WIDTH / 2.0;
            let (cr, cg, cb) = rgb(colour);
            let y = self.y;
            self.mark(|c| {
                c.set_fill_rgb(cr, cg, cb)
                    .set_stroke_rgb(0.42, 0.42, 0.44)
                    .set_line_width(0.4)
                    .rect(x, y, 14.0, 9.0)
                    .fill_nonzero_and_stroke();
            });
            self.text(x + 19.0, y + 1.5, 8.5, false, INK, &format!("{label} ({n})"));
        }
        self.close();
        self.y -= 6.0;
        self.note(caption);
    }

    /// Horizontal bars (name, value) with the reference as a dashed line.
    fn bars(&mut self, rows: &[(String, f64)], reference: Option<f64>, dec: usize, caption: &str) {
        self.end_list();
        let figure = self.open("Figure");
        let listed: Vec<String> = rows.iter().map(|(n, v)| format!("{n} {}", fmt_de(*v, dec))).collect();
        self.tags.nodes[figure].alt = Some(format!(
            "Balkendiagramm. {caption} Werte: {}{}.",
            listed.join("; "),
            reference.map(|rf| format!("; Durchschnitt {}", fmt_de(rf, dec))).unwrap_or_default()
        ));
        let bar = 11.0;
        let h = rows.len() as f32 * bar + 8.0;
        self.ensure(h + 24.0);
        let left = 150.0;
        let right = 44.0;
        let max = rows.iter().map(|r| r.1).chain(reference).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
        let x = |v: f64| LEFT + left + (v.max(0.0) / max) as f32 * (WIDTH - left - right);
        let top = self.y;
        for (i, (name, v)) in rows.iter().enumerate() {
            let y = top - (i as f32 + 1.0) * bar;
            let name = self.fit(name, 8.0, false, left - 8.0);
            let w = self.width(&name, 8.0, false);
            self.text(LEFT + left - 5.0 - w, y + 2.0, 8.0, false, INK, &name);
            let (a, b, c) = ACCENT;
            let (x0, w) = (x(0.0), (x(*v) - x(0.0)).max(0.5));
            self.mark(|cn| {
                cn.set_fill_rgb(a, b, c).rect(x0, y + 1.0, w, bar - 3.0).fill_nonzero();
            });
            self.text(x(*v) + 3.0, y + 2.0, 8.0, false, INK, &fmt_de(*v, dec));
        }
        if let Some(rf) = reference {
            let (rx, bottom) = (x(rf), top - h + 4.0);
            self.mark(|c| {
                c.set_stroke_rgb(MUTED.0, MUTED.1, MUTED.2).set_line_width(1.0).set_dash_pattern([4.0, 2.0], 0.0);
                c.move_to(rx, top).line_to(rx, bottom).stroke();
                c.set_dash_pattern([], 0.0);
            });
        }
        self.close();
        self.y = top - h;
        self.note(caption);
    }

    /// A line chart of one series (year, value) with labelled axes.
    fn series(&mut self, points: &[(i32, f64)], dec: usize, caption: &str) {
        if points.len() < 2 {
            return;
        }
        self.end_list();
        let h = 120.0;
        self.ensure(h + 30.0);
        let figure = self.open("Figure");
        let listed: Vec<String> = points.iter().map(|(y, v)| format!("{y}: {}", fmt_de(*v, dec))).collect();
        self.tags.nodes[figure].alt = Some(format!("Liniendiagramm. {caption} Werte: {}.", listed.join("; ")));
        let top = self.y - 6.0;
        let (x0, x1) = (LEFT + 46.0, LEFT + WIDTH * 0.7);
        let (ymin, ymax) = points.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
        let pad = ((ymax - ymin) * 0.1).max(ymax.abs() * 0.05).max(1e-9);
        let (lo, hi) = (ymin - pad, ymax + pad);
        let (first, last) = (points[0].0, points[points.len() - 1].0);
        let px = |y: i32| x0 + (y - first) as f32 / (last - first).max(1) as f32 * (x1 - x0);
        let py = |v: f64| top - h + ((v - lo) / (hi - lo)) as f32 * (h - 10.0);
        self.mark(|c| {
            c.set_stroke_rgb(0.6, 0.6, 0.62).set_line_width(0.5).move_to(x0, top - h).line_to(x1, top - h).stroke();
            c.set_stroke_rgb(ACCENT.0, ACCENT.1, ACCENT.2).set_line_width(1.6);
            c.move_to(px(points[0].0), py(points[0].1));
            for p in &points[1..] {
                c.line_to(px(p.0), py(p.1));
            }
            c.stroke();
        });
        for p in points {
            let label = fmt_de(p.1, dec);
            self.text(px(p.0) - 8.0, top - h - 11.0, 7.5, false, MUTED, &p.0.to_string());
            self.text(px(p.0) - 6.0, py(p.1) + 4.0, 7.5, false, INK, &label);
        }
        self.close();
        self.y = top - h - 16.0;
        self.note(caption);
    }
}

/// Our SVG path data (absolute `M`, relative `l`, `Z`, numbers in tenths) as PDF path ops.
fn path(c: &mut Content, d: &str, tx: &impl Fn(f32) -> f32, ty: &impl Fn(f32) -> f32) {
    let bytes = d.as_bytes();
    let (mut i, mut cmd) = (0, b'M');
    let (mut x, mut y) = (0.0f32, 0.0f32);
    let mut nums: Vec<f32> = Vec::with_capacity(2);
    let mut first = true;
    let number = |i: &mut usize| -> Option<f32> {
        let start = *i;
        if *i < bytes.len() && bytes[*i] == b'-' {
            *i += 1;
        }
        while *i < bytes.len() && (bytes[*i].is_ascii_digit() || bytes[*i] == b'.') {
            *i += 1;
        }
        std::str::from_utf8(&bytes[start..*i]).ok()?.parse().ok()
    };
    while i < bytes.len() {
        match bytes[i] {
            b'M' | b'l' => {
                cmd = bytes[i];
                first = true;
                i += 1;
            }
            b'Z' => {
                c.close_path();
                i += 1;
            }
            b' ' => i += 1,
            _ => {
                let Some(v) = number(&mut i) else {
                    i += 1;
                    continue;
                };
                nums.push(v);
                if nums.len() == 2 {
                    if cmd == b'M' {
                        (x, y) = (nums[0], nums[1]);
                        c.move_to(tx(x), ty(y));
                    } else {
                        x += nums[0];
                        y += nums[1];
                        c.line_to(tx(x), ty(y));
                    }
                    nums.clear();
                    let _ = first;
                    first = false;
                }
            }
        }
    }
}

/// Renders the report.
pub fn render(r: &Report) -> Vec<u8> {
    let mut l = Layout::new();
    let def = &r.def;
    if !def.introduction.is_empty() {
        l.heading(1, "Einleitung", 40.0);
        l.markdown(&def.introduction);
    }
    if let Some(t) = r.threshold {
        l.note(&format!(
            "Geheimhaltung: Anzahlen unter {} und Werte, aus denen sie sich zurückrechnen ließen, sind nicht ausgewiesen („geheim“); Quoten mit geheimem Zähler oder Nenner ebenso.",
            fmt_de(t, 0)
        ));
    }
    if !r.findings.is_empty() {
        l.heading(1, "Auffälligkeiten", 40.0);
        l.note("Automatisch aus den Daten ermittelt – zur Einordnung und Kommentierung durch die Sozialplanung.");
        for f in &r.findings {
            l.item(f, 10.0);
        }
        l.end_list();
    }
    for (c, ch) in r.chapters.iter().enumerate() {
        l.new_page();
        l.heading(1, &format!("{}. {}", c + 1, ch.title), 40.0);
        if !ch.text.is_empty() {
            l.markdown(&ch.text);
        }
        for &i in &ch.indicators {
            indicator(&mut l, r, &r.indicators[i]);
        }
    }
    if let Some(ix) = &r.index {
        l.new_page();
        index(&mut l, r, ix);
    }
    if !r.profiles.is_empty() {
        l.new_page();
        l.heading(1, "Gebietsprofile", 40.0);
        for (n, &a) in r.profiles.iter().enumerate() {
            if n > 0 {
                l.new_page();
            }
            profile(&mut l, r, a, 2);
        }
    }
    l.new_page();
    appendix(&mut l, r);
    assemble(l, r, true)
}

/// The area profiles alone (Steckbriefe): per area two A4 pages, the profile with its
/// locator map, then the development of every indicator in every year.
pub fn render_profiles(r: &Report) -> Vec<u8> {
    let mut l = Layout::new();
    for &a in &r.profiles {
        l.new_page();
        profile(&mut l, r, a, 1);
        l.new_page();
        development(&mut l, r, a, 2);
    }
    // One area: its two pages and nothing else; several: a title page and the contents.
    let front = r.profiles.len() > 1;
    assemble(l, r, front)
}

/// The funding application sheet for area `a` (see [`crate::funding`]).
pub fn render_funding(r: &Report, a: usize, x: &crate::funding::Extras) -> Vec<u8> {
    let mut l = Layout::new();
    l.new_page();
    let area = &r.areas[a];
    l.heading(1, &format!("Ausgangslage: {} ({})", area.name, area.key), 40.0);
    l.note(&format!("{} in {} · Daten {}", r.level, r.def.municipality, r.year));
    l.locator(r, a, &format!("Lage von {} in {}.", area.name, r.def.municipality));
    for (h, t) in crate::funding::paragraphs(r, a, x) {
        l.heading_as(2, 3, &h, 40.0);
        l.paragraph(&t);
    }
    assemble(l, r, false)
}

/// Every indicator in every year for one area, with the average in brackets.
/// `tag`: the structure level of its heading.
fn development(l: &mut Layout, r: &Report, a: usize, tag: u8) {
    let area = &r.areas[a];
    l.heading_as(tag, 3, &format!("Entwicklung in {} ({})", area.name, area.key), 40.0);
    let years: Vec<i32> = r.years.iter().rev().take(5).rev().copied().collect();
    let year_titles: Vec<String> = years.iter().map(|y| y.to_string()).collect();
    let mut cols: Vec<(&str, f32, bool)> = vec![("Indikator", 166.0, false)];
    let each = (WIDTH - 166.0) / years.len().max(1) as f32;
    cols.extend(year_titles.iter().map(|t| (t.as_str(), each, true)));
    let rows: Vec<Vec<String>> = r
        .indicators
        .iter()
        .map(|d| {
            let mut row = vec![format!("{}{}", d.name, if d.unit.is_empty() { String::new() } else { format!(" ({})", d.unit) })];
            for y in &years {
                let v = d.cell_text(a, *y);
                row.push(match d.reference.get(y).copied().flatten() {
                    Some(rf) => format!("{v} ({})", fmt_de(rf, d.decimals)),
                    None => v,
                });
            }
            row
        })
        .collect();
    l.table(&format!("Werte der letzten {} Jahre (in Klammern: Durchschnitt von {})", years.len(), r.def.municipality), &cols, &rows);
    if let Some(t) = r.threshold {
        l.note(&format!("Geheimhaltung: Anzahlen unter {} und rückrechenbare Werte sind nicht ausgewiesen („geheim“).", fmt_de(t, 0)));
    }
}

fn indicator(l: &mut Layout, r: &Report, d: &IndicatorData) {
    let y = r.year;
    let dec = d.decimals;
    // The heading, its text and most of the map belong together.
    l.heading(2, &d.name, 300.0);
    if !d.description.is_empty() {
        l.note(&d.description);
    }
    l.paragraph(&d.text);
    let values: Vec<Option<f64>> = (0..r.areas.len()).map(|i| d.value(i, y)).collect();
    let colours = palette(d.bins.len().max(1));
    let fills: Vec<&str> = values
        .iter()
        .map(|v| match v {
            Some(v) if !d.bins.is_empty() => colours[quartier_core::classify::class_of(&d.bins, *v).min(colours.len() - 1)],
            _ => "#f2f2f2",
        })
        .collect();
    let legend = crate::map::class_legend(&d.bins, &values, dec);
    let unit = if d.unit.is_empty() { String::new() } else { format!(" ({})", d.unit) };
    let mut ranked: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| Some((i, (*v)?))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let highest: Vec<String> = ranked.iter().take(3).map(|(i, v)| format!("{} ({})", r.areas[*i].name, fmt_de(*v, dec))).collect();
    l.map(
        r,
        &fills,
        &legend,
        &format!("Abbildung: {} {y}{unit} je {}{}.", d.name, r.level, if d.frozen { ", feste Klassengrenzen" } else { "" }),
        &format!(
            "Karte: {} {y}{unit} je {}, {} Gebiete mit Wert. Am höchsten: {}.",
            d.name,
            r.level,
            ranked.len(),
            if highest.is_empty() { "–".to_string() } else { highest.join(", ") }
        ),
    );
    let reference = d.reference.get(&y).copied().flatten();
    let bars: Vec<(String, f64)> = ranked.iter().take(12).map(|(i, v)| (r.areas[*i].name.clone(), *v)).collect();
    if !bars.is_empty() {
        l.bars(
            &bars,
            reference,
            dec,
            &format!(
                "Die höchsten Werte {y}{}.",
                reference.map(|rf| format!("; gestrichelt: Durchschnitt {}", fmt_de(rf, dec))).unwrap_or_default()
            ),
        );
    }
    l.series(&d.trend, dec, &format!("Verlauf, {}.", d.trend_label));
    let shown: Vec<usize> =
        if ranked.len() > 15 { (0..10).chain(ranked.len() - 5..ranked.len()).collect() } else { (0..ranked.len()).collect() };
    let mut cols = vec![("Rang", 34.0, true), ("Gebiet", 200.0, false), ("Wert", 60.0, true), ("Abw. vom Durchschnitt", 90.0, true)];
    if r.since.is_some() {
        cols.push(("Veränderung", 87.0, true));
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|&k| {
            let (i, v) = ranked[k];
            let mut row =
                vec![(k + 1).to_string(), r.area_name(i), fmt_de(v, dec), reference.map(|rf| signed(v - rf, dec)).unwrap_or_default()];
            if let Some(s) = r.since {
                row.push(d.value(i, s).map(|old| signed(v - old, dec)).unwrap_or_else(|| "–".into()));
            }
            row
        })
        .collect();
    let caption =
        format!("{} {y}: {}", d.name, if ranked.len() > 15 { "die zehn höchsten und fünf niedrigsten Werte" } else { "alle Gebiete" });
    l.table(&caption, &cols, &rows);
}

fn signed(v: f64, dec: usize) -> String {
    let s = fmt_de(v, dec);
    if v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("+{s}") } else { s }
}

fn index(l: &mut Layout, r: &Report, ix: &IndexData) {
    l.heading(1, &ix.title, 40.0);
    if !ix.text.is_empty() {
        l.markdown(&ix.text);
    }
    l.paragraph(&format!("{} Gebiete bewertet, Datenjahr {}.", ix.rated, ix.year));
    let fills = ix.fills();
    let legend = ix.class_legend();
    l.map(
        r,
        &fills,
        &legend,
        &format!("Abbildung: {} {}.", ix.title, ix.year),
        &format!("Karte: {} {}, Klasse je Gebiet; {} Gebiete bewertet.", ix.title, ix.year, ix.rated),
    );
    if let Some(rows) = ix.matrix_rows() {
        l.table(
            "Gebiete nach Status und Dynamik",
            &[("Status", 170.0, false), ("Dynamik +", 75.0, true), ("+/-", 75.0, true), ("-", 75.0, true), ("zusammen", 76.0, true)],
            &rows,
        );
    }
    if !ix.attention.is_empty() {
        let rows: Vec<Vec<String>> = ix
            .attention
            .iter()
            .map(|(i, reason)| vec![r.area_name(*i), ix.label[*i].clone().unwrap_or_default(), reason.clone()])
            .collect();
        l.table(
            &format!("Gebiete mit besonderem Aufmerksamkeitsbedarf ({})", ix.attention.len()),
            &[("Gebiet", 220.0, false), ("Klasse", 50.0, false), ("Grund", 201.0, false)],
            &rows,
        );
    }
    if let Some((y, ch)) = &ix.changed {
        if ch.is_empty() {
            l.paragraph(&format!("Seit {y} hat kein bewertetes Gebiet die Klasse gewechselt."));
        } else {
            let rows: Vec<Vec<String>> = ch.iter().map(|(i, b, n)| vec![r.area_name(*i), b.clone(), n.clone()]).collect();
            let (ys, ns) = (y.to_string(), ix.year.to_string());
            l.table(
                &format!("Gebiete mit Klassenwechsel seit {y} ({})", ch.len()),
                &[("Gebiet", 300.0, false), (&ys, 85.0, false), (&ns, 86.0, false)],
                &rows,
            );
        }
    }
    if let Some(f) = &ix.fragile {
        l.paragraph(&format!(
            "Robustheit: {} von {} bewerteten Gebieten ändern ihre Klasse, wenn ein einzelner Indikator wegfällt oder die Bewertungsgrundgesamtheit sich ändert (200 Läufe mit zufälligen Gewichten ±50 %, Startwert 1).",
            f.len(),
            ix.rated
        ));
    }
}

/// `tag`: the structure level of its heading (drawn as level 2).
fn profile(l: &mut Layout, r: &Report, a: usize, tag: u8) {
    let area = &r.areas[a];
    let y = r.year;
    l.heading_as(tag, 2, &format!("{} ({})", area.name, area.key), 60.0);
    if let Some(p) = &area.parent {
        l.note(&format!("{} in {p}", r.level));
    }
    // Where it lies: the area in the accent colour among the others.
    l.locator(r, a, &format!("Lage von {} in {}.", area.name, r.def.municipality));
    if let Some(ix) = &r.index {
        let mut t = format!("{}: {}", ix.title, ix.label[a].clone().unwrap_or_else(|| "nicht bewertet".into()));
        if let Some((_, reason)) = ix.attention.iter().find(|(i, _)| *i == a) {
            t.push_str(&format!(" – besonderer Aufmerksamkeitsbedarf: {reason}"));
        }
        l.paragraph(&t);
    }
    let mut cols = vec![("Indikator", 190.0, false), ("Wert", 60.0, true), ("Durchschnitt", 70.0, true)];
    if r.since.is_some() {
        cols.push(("Veränderung", 70.0, true));
    }
    cols.push(("Rang", 81.0, true));
    let rows: Vec<Vec<String>> = r
        .indicators
        .iter()
        .map(|d| {
            let v = d.value(a, y);
            let n = (0..r.areas.len()).filter(|&i| d.value(i, y).is_some()).count();
            let rank = v.map(|v| (0..r.areas.len()).filter(|&i| d.value(i, y).is_some_and(|w| w > v)).count() + 1);
            let mut row = vec![
                format!("{}{}", d.name, if d.unit.is_empty() { String::new() } else { format!(" ({})", d.unit) }),
                d.cell_text(a, y),
                d.reference.get(&y).copied().flatten().map(|rf| fmt_de(rf, d.decimals)).unwrap_or_default(),
            ];
            if let Some(s) = r.since {
                row.push(match (v, d.value(a, s)) {
                    (Some(v), Some(old)) => signed(v - old, d.decimals),
                    _ => "–".into(),
                });
            }
            row.push(rank.map(|k| format!("{k} von {n}")).unwrap_or_default());
            row
        })
        .collect();
    l.table(&format!("Indikatoren {y}"), &cols, &rows);
}

fn appendix(l: &mut Layout, r: &Report) {
    l.heading(1, "Methoden und Definitionen", 40.0);
    if !r.def.methods.is_empty() {
        l.markdown(&r.def.methods);
    }
    l.paragraph(&format!(
        "Indikatoren werden aus den über die Gebietsebenen summierten Anzahlen berechnet, nie als Mittel von Quoten. Kartenklassen: {} mit {} Klassen. Räumliche Häufungen: lokales Moran's I (LISA), Queen-Nachbarschaft, 999 Permutationen, p ≤ 0,05.",
        r.def.classes.method, r.def.classes.k
    ));
    for d in &r.indicators {
        l.paragraph_with(&format!("{} ({})", d.name, d.id), 9.5, true, INK, 0.0);
        let direction =
            if d.direction == quartier_core::indicator::Direction::HigherIsBetter { "höher = besser" } else { "höher = mehr Bedarf" };
        l.note(&format!(
            "Formel: {} · Einheit: {} · Richtung: {direction} · Lebensbereich: {} · Quelle: {}",
            d.formula,
            if d.unit.is_empty() { "–" } else { &d.unit },
            if d.domain.is_empty() { "–" } else { &d.domain },
            if d.source.is_empty() { "–" } else { &d.source }
        ));
    }
    if let Some(ix) = &r.index {
        l.heading(2, &format!("Definition: {}", ix.title), 40.0);
        for line in ix.definition.lines().filter(|x| !x.trim().is_empty()) {
            l.paragraph_with(line, 8.0, false, MUTED, 0.0);
        }
    }
    l.heading(1, "Quellen", 40.0);
    for s in &r.sources {
        let mut t = s.source.clone();
        if !s.reference_date.is_empty() {
            t.push_str(&format!(", Stichtag {}", s.reference_date));
        }
        if !s.variables.is_empty() {
            t.push_str(&format!(": {}", s.variables.join(", ")));
        }
        l.item(&t, 9.5);
    }
    l.end_list();
    if !r.def.licence.is_empty() {
        l.note(&format!("Lizenz: {}", r.def.licence));
    }
}

/// Title page and table of contents (with `front`), the laid-out pages, footers; fonts,
/// outline, metadata.
fn assemble(body: Layout, r: &Report, front: bool) -> Vec<u8> {
    let mut l = body;
    l.end_list();
    let body_pages = std::mem::take(&mut l.pages);
    let body_keys = std::mem::take(&mut l.page_keys);
    let body_kids = l.tags.nodes[0].kids.len();
    let entries = std::mem::take(&mut l.entries);
    let toc: Vec<&Entry> = entries.iter().filter(|e| e.level <= 2).collect();
    let per_page = 38;
    let toc_pages = toc.len().div_ceil(per_page).max(1);
    let offset = if front { 1 + toc_pages } else { 0 };
    let def = &r.def;
    if front {
        // Title page.
        l.new_page();
        l.y = PAGE_H * 0.62;
        l.open("H1");
        for line in l.lines(&def.title, 26.0, true, WIDTH) {
            l.y -= 32.0;
            l.text(LEFT, l.y, 26.0, true, ACCENT, &line);
        }
        l.close();
        l.y -= 10.0;
        if !def.subtitle.is_empty() {
            l.paragraph_with(&def.subtitle, 14.0, false, MUTED, 0.0);
        }
        l.paragraph_with(&format!("{} · Ausgabe {}", def.municipality, def.edition), 12.0, false, INK, 0.0);
        if !def.reference_date.is_empty() {
            l.note(&format!("Datenstand: {}", def.reference_date));
        }
        if !def.publisher.is_empty() {
            l.note(&format!("Herausgegeben von {}", def.publisher));
        }
        l.note(&format!("Gebiete: {} × {} · Berichtsjahr {}", r.areas.len(), r.level, r.year));
        // Contents with page numbers.
        for (n, chunk) in toc.chunks(per_page).chain(std::iter::once(&[][..]).take(usize::from(toc.is_empty()))).enumerate() {
            l.new_page();
            if n == 0 {
                l.heading_plain("Inhalt");
                l.open("TOC");
            } else {
                l.y -= 42.0;
            }
            for e in chunk {
                l.y -= 15.0;
                let indent = if e.level == 1 { 0.0 } else { 14.0 };
                let bold = e.level == 1;
                let number = (e.page + offset + 1).to_string();
                let text = l.fit(&e.text, 10.0, bold, WIDTH - indent - 40.0);
                l.open("TOCI");
                l.text(LEFT + indent, l.y, 10.0, bold, INK, &text);
                let w = l.width(&number, 10.0, bold);
                l.text(LEFT + WIDTH - w, l.y, 10.0, bold, INK, &number);
                l.close();
            }
        }
        l.close();
        // Reading order: title and contents before the body laid out earlier.
        let kids = &mut l.tags.nodes[0].kids;
        kids.rotate_left(body_kids);
    }
    let front_pages = std::mem::take(&mut l.pages);
    let front_keys = std::mem::take(&mut l.page_keys);
    let keys: Vec<usize> = front_keys.into_iter().chain(body_keys).collect();
    let mut pages: Vec<Content> = front_pages.into_iter().chain(body_pages).collect();
    let total = pages.len();
    // Footers (not on the title page).
    let footer_title = encode(&def.title);
    for (n, c) in pages.iter_mut().enumerate().skip(usize::from(front)) {
        let label = encode(&format!("Seite {} von {total}", n + 1));
        let w = label.iter().map(|b| l.regular.widths[*b as usize]).sum::<f32>() * 8.0 / 1000.0;
        // Running footer and page number: pagination artifacts.
        c.begin_marked_content_with_properties(Name(b"Artifact"))
            .properties()
            .pairs([(Name(b"Type"), Name(b"Pagination")), (Name(b"Subtype"), Name(b"Footer"))]);
        c.set_fill_rgb(MUTED.0, MUTED.1, MUTED.2);
        c.begin_text().set_font(Name(b"F1"), 8.0).next_line(LEFT, 36.0).show(Str(&footer_title)).end_text();
        c.begin_text().set_font(Name(b"F1"), 8.0).next_line(LEFT + WIDTH - w, 36.0).show(Str(&label)).end_text();
        c.end_marked_content();
    }
    write_pdf(pages, &keys, &l, &entries, offset, r)
}

impl Layout {
    /// A small map showing where area `a` lies: the shared base map (all areas, drawn once
    /// per document as a form XObject), the area on top in the accent colour.
    fn locator(&mut self, r: &Report, a: usize, caption: &str) {
        let vb: Vec<f32> = r.map.view_box.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        let Some(d) = r.map.paths.get(&r.areas[a].key).filter(|_| vb.len() == 4) else { return };
        let scale = (WIDTH * 0.45 / vb[2]).min(170.0 / vb[3]);
        let h = vb[3] * scale;
        self.end_list();
        self.ensure(h + 20.0);
        let top = self.y - 4.0;
        self.base_map = true;
        let tx = |x: f32| LEFT + (x - vb[0]) * scale;
        let ty = |y: f32| top - (y - vb[1]) * scale;
        let figure = self.open("Figure");
        self.tags.nodes[figure].alt =
            Some(format!("Lagekarte: {} ist unter den Gebieten von {} farbig hervorgehoben.", r.areas[a].name, r.def.municipality));
        self.mark(|c| {
            c.save_state().transform([scale, 0.0, 0.0, scale, LEFT, top - h]).x_object(Name(b"Grundkarte")).restore_state();
            c.set_line_width(0.6).set_stroke_rgb(0.11, 0.11, 0.12).set_fill_rgb(ACCENT.0, ACCENT.1, ACCENT.2);
            path(c, d, &tx, &ty);
            c.fill_even_odd_and_stroke();
        });
        self.close();
        self.y = top - h - 4.0;
        self.note(caption);
    }

    /// The contents page's title (H1).
    fn heading_plain(&mut self, s: &str) {
        self.y -= 30.0;
        self.open("H1");
        self.text(LEFT, self.y, 18.0, true, ACCENT, s);
        self.close();
        self.y -= 12.0;
    }
}

/// The `/ToUnicode` map of the WinAnsi codes the fonts use (PDF/UA wants one for every font,
/// though WinAnsi's characters are known).
fn winansi_to_unicode() -> Vec<u8> {
    let mut entries: Vec<String> = Vec::new();
    for code in 32u8..=255 {
        if let Some(c) = decode_winansi(code) {
            entries.push(format!("<{code:02X}> <{:04X}>", c as u32));
        }
    }
    let mut out = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<00> <FF>\nendcodespacerange\n",
    );
    for chunk in entries.chunks(100) {
        out.push_str(&format!("{} beginbfchar\n{}\nendbfchar\n", chunk.len(), chunk.join("\n")));
    }
    out.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    out.into_bytes()
}

/// The XMP packet: title, language, producer and the PDF/UA-1 identification.
fn xmp(title: &str) -> Vec<u8> {
    let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmlns:pdfuaid=\"http://www.aiim.org/pdfua/ns/id/\"><dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></dc:title><dc:language><rdf:Bag><rdf:li>de-DE</rdf:li></rdf:Bag></dc:language><dc:format>application/pdf</dc:format><pdf:Producer>Quartier</pdf:Producer><xmp:CreatorTool>Quartier</xmp:CreatorTool><pdfuaid:part>1</pdfuaid:part></rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>",
        esc(title)
    )
    .into_bytes()
}

fn write_pdf(pages: Vec<Content>, keys: &[usize], l: &Layout, entries: &[Entry], offset: usize, r: &Report) -> Vec<u8> {
    let mut next = 1;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let (catalog, tree, info, outline) = (alloc(), alloc(), alloc(), alloc());
    let (struct_root, metadata, to_unicode) = (alloc(), alloc(), alloc());
    let fonts = [
        (alloc(), alloc(), alloc(), REGULAR, &l.regular, "LiberationSans"),
        (alloc(), alloc(), alloc(), BOLD, &l.bold, "LiberationSans-Bold"),
    ];
    let page_ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();
    let node_ids: Vec<Ref> = l.tags.nodes.iter().map(|_| alloc()).collect();
    let outline_items: Vec<Ref> = entries.iter().filter(|e| e.level == 1).map(|_| alloc()).collect();
    let base = l.base_map.then(&mut alloc);
    let mut pdf = Pdf::new();
    if let Some(id) = base {
        // The level's areas in view-box units, y up: pages scale and place it.
        let vb: Vec<f32> = r.map.view_box.split_whitespace().filter_map(|v| v.parse().ok()).collect();
        let mut c = Content::new();
        c.set_line_width(0.5).set_stroke_rgb(0.6, 0.6, 0.62).set_fill_rgb(0.93, 0.93, 0.93);
        for a in &r.areas {
            if let Some(d) = r.map.paths.get(&a.key) {
                path(&mut c, d, &|x| x - vb[0], &|y| vb[3] - (y - vb[1]));
                c.fill_even_odd_and_stroke();
            }
        }
        let data = deflate(&c.finish());
        pdf.form_xobject(id, &data).bbox(Rect::new(0.0, 0.0, vb[2], vb[3])).filter(Filter::FlateDecode);
    }
    {
        let mut cat = pdf.catalog(catalog);
        cat.pages(tree).outlines(outline).lang(TextStr("de-DE")).metadata(metadata);
        cat.mark_info().marked(true);
        cat.viewer_preferences().display_doc_title(true);
        cat.pair(Name(b"StructTreeRoot"), struct_root);
    }
    pdf.document_info(info).title(TextStr(&r.def.title)).producer(TextStr("Quartier")).creator(TextStr("Quartier"));
    let packet = xmp(&r.def.title);
    pdf.stream(metadata, &packet).pair(Name(b"Type"), Name(b"Metadata")).pair(Name(b"Subtype"), Name(b"XML"));
    let cmap = winansi_to_unicode();
    pdf.stream(to_unicode, &cmap);
    // The structure tree: each element with its parent and children (elements, or marked
    // content by page and id), figures with their text alternative, header cells with scope.
    let page_of_key: std::collections::HashMap<usize, Ref> = keys.iter().zip(&page_ids).map(|(k, p)| (*k, p.0)).collect();
    let mut parent = vec![struct_root; l.tags.nodes.len()];
    for (i, n) in l.tags.nodes.iter().enumerate() {
        for k in &n.kids {
            if let Kid::Node(c) = k {
                parent[*c] = node_ids[i];
            }
        }
    }
    for (i, n) in l.tags.nodes.iter().enumerate() {
        let mut e = pdf.indirect(node_ids[i]).dict();
        e.pair(Name(b"Type"), Name(b"StructElem"));
        e.pair(Name(b"S"), Name(n.role.as_bytes()));
        e.pair(Name(b"P"), parent[i]);
        if let Some(alt) = &n.alt {
            e.pair(Name(b"Alt"), TextStr(alt));
        }
        if n.column_header {
            e.insert(Name(b"A")).dict().pair(Name(b"O"), Name(b"Table")).pair(Name(b"Scope"), Name(b"Column"));
        }
        if !n.kids.is_empty() {
            let mut kids = e.insert(Name(b"K")).array();
            for k in &n.kids {
                match k {
                    Kid::Node(c) => {
                        kids.item(node_ids[*c]);
                    }
                    Kid::Mc(key, mcid) => {
                        let mut mcr = kids.push().dict();
                        mcr.pair(Name(b"Type"), Name(b"MCR"));
                        mcr.pair(Name(b"Pg"), page_of_key[key]);
                        mcr.pair(Name(b"MCID"), *mcid);
                    }
                }
            }
        }
    }
    {
        let mut root = pdf.indirect(struct_root).dict();
        root.pair(Name(b"Type"), Name(b"StructTreeRoot"));
        root.pair(Name(b"K"), node_ids[0]);
        // Per page (its /StructParents), the element of each marked-content id.
        let mut nums = root.insert(Name(b"ParentTree")).dict();
        let mut arr = nums.insert(Name(b"Nums")).array();
        for (i, key) in keys.iter().enumerate() {
            arr.item(i as i32);
            arr.push().array().items(l.tags.mcids[*key].iter().map(|n| node_ids[*n]));
        }
        arr.finish();
        nums.finish();
        root.pair(Name(b"ParentTreeNextKey"), keys.len() as i32);
    }
    pdf.pages(tree).kids(page_ids.iter().map(|p| p.0)).count(page_ids.len() as i32);
    for (font, descriptor, file, data, m, name) in fonts {
        let compressed = deflate(data);
        pdf.stream(file, &compressed).filter(Filter::FlateDecode).pair(Name(b"Length1"), data.len() as i32);
        pdf.font_descriptor(descriptor)
            .name(Name(name.as_bytes()))
            .flags(FontFlags::NON_SYMBOLIC)
            .bbox(Rect::new(m.bbox[0], m.bbox[1], m.bbox[2], m.bbox[3]))
            .italic_angle(0.0)
            .ascent(m.ascent)
            .descent(m.descent)
            .cap_height(m.cap_height)
            .stem_v(if name.ends_with("Bold") { 140.0 } else { 80.0 })
            .font_file2(file);
        let mut d = pdf.indirect(font).dict();
        d.pair(Name(b"Type"), Name(b"Font"));
        d.pair(Name(b"Subtype"), Name(b"TrueType"));
        d.pair(Name(b"BaseFont"), Name(name.as_bytes()));
        d.pair(Name(b"FirstChar"), 32);
        d.pair(Name(b"LastChar"), 255);
        d.insert(Name(b"Widths")).array().items(m.widths[32..].iter().copied());
        d.pair(Name(b"Encoding"), Name(b"WinAnsiEncoding"));
        d.pair(Name(b"FontDescriptor"), descriptor);
        d.pair(Name(b"ToUnicode"), to_unicode);
        d.finish();
    }
    for (i, (content, (page, stream))) in pages.into_iter().zip(&page_ids).enumerate() {
        let data = deflate(&content.finish());
        pdf.stream(*stream, &data).filter(Filter::FlateDecode);
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).parent(tree).contents(*stream);
        p.struct_parents(i as i32).tab_order(pdf_writer::types::TabOrder::StructureOrder);
        let mut res = p.resources();
        res.fonts().pair(Name(b"F1"), fonts[0].0).pair(Name(b"F2"), fonts[1].0);
        if let Some(id) = base {
            res.x_objects().pair(Name(b"Grundkarte"), id);
        }
        res.finish();
        p.finish();
    }
    // Bookmarks: one per chapter, to its page.
    let chapters: Vec<&Entry> = entries.iter().filter(|e| e.level == 1).collect();
    let mut o = pdf.outline(outline);
    if let (Some(first), Some(last)) = (outline_items.first(), outline_items.last()) {
        o.first(*first).last(*last).count(outline_items.len() as i32);
    }
    o.finish();
    for (k, (item, e)) in outline_items.iter().zip(&chapters).enumerate() {
        let mut it = pdf.outline_item(*item);
        it.title(TextStr(&e.text)).parent(outline);
        if k > 0 {
            it.prev(outline_items[k - 1]);
        }
        if k + 1 < outline_items.len() {
            it.next(outline_items[k + 1]);
        }
        it.dest().page(page_ids[e.page + offset].0).fit();
        it.finish();
    }
    pdf.finish()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    e.write_all(data).expect("in memory");
    e.finish().expect("in memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winansi_covers_german_text() {
        assert_eq!(encode("Größe „ä“ – 5 €"), [b'G', b'r', 0xF6, 0xDF, b'e', b' ', 0x84, 0xE4, 0x93, b' ', 0x96, b' ', b'5', b' ', 0x80]);
        assert_eq!(encode("−3 ≤ x"), [0x96, b'3', b' ', b'<', b'=', b' ', b'x']);
        let m = metrics(REGULAR);
        assert!((m.widths[b'a' as usize] - 556.0).abs() < 1.0, "Arial-compatible metrics: {}", m.widths[b'a' as usize]);
    }

    #[test]
    fn svg_paths_become_pdf_paths() {
        let mut c = Content::new();
        path(&mut c, "M10 20l5-2.5 .5 0Z", &|x| x, &|y| y);
        let ops = String::from_utf8(c.finish().to_vec()).unwrap();
        assert_eq!(ops.split_whitespace().collect::<Vec<_>>(), ["10", "20", "m", "15", "17.5", "l", "15.5", "17.5", "l", "h"]);
    }
}
