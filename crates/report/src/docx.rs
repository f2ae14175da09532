//! The report as an editable Word document (DOCX): real headings (so Word's navigation and
//! table of contents work), tables with header rows, captions, maps as pictures (PNG from
//! [`crate::raster`]) and charts as SVG with a PNG fallback; a contents field Word fills on
//! opening, page numbers in the footer. No dates in the package: reproducible bytes.

use crate::format::fmt_de;
use crate::map::palette;
use crate::markdown::{self, Block};
use crate::model::{IndexData, IndicatorData, Report};
use crate::raster::{Canvas, hex, rings};
use std::fmt::Write as _;
use std::io::Write as _;

/// EMU per pixel at 96 dpi.
const EMU_PX: u64 = 9525;
/// Text width of an A4 page with 2 cm margins, in EMU (17 cm).
const TEXT_EMU: u64 = 6_120_000;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => o.push(c),
        }
    }
    o
}

/// The document body and its media, built in order.
struct Doc {
    body: String,
    media: Vec<(String, Vec<u8>)>,
    next_id: usize,
    /// Headings of levels 1 and 2 for the table of contents: (level, text).
    headings: Vec<(u8, String)>,
}

/// Where the table of contents goes once every heading is known.
const TOC_MARK: &str = "\u{0}toc\u{0}";

impl Doc {
    /// A heading of level 1 or 2 with a bookmark the table of contents links to.
    fn heading(&mut self, level: u8, text: &str) {
        let n = self.headings.len();
        let _ = write!(
            self.body,
            "<w:p><w:pPr><w:pStyle w:val=\"Heading{level}\"/></w:pPr><w:bookmarkStart w:id=\"{n}\" w:name=\"_Toc{n}\"/><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r><w:bookmarkEnd w:id=\"{n}\"/></w:p>",
            esc(text)
        );
        self.headings.push((level, text.to_string()));
    }

    /// The table of contents as a TOC field whose result already lists every heading as a
    /// link to it: office suites that do not update fields on opening (LibreOffice) show the
    /// entries as written, Word updates them (with page numbers) since the field is dirty.
    fn toc(&self) -> String {
        let mut out = String::from(
            "<w:p><w:pPr><w:pStyle w:val=\"TOC1\"/></w:pPr><w:r><w:fldChar w:fldCharType=\"begin\" w:dirty=\"true\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> TOC \\o \"1-2\" \\h \\z \\u </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r>",
        );
        for (n, (level, text)) in self.headings.iter().enumerate() {
            if n > 0 {
                let _ = write!(out, "<w:p><w:pPr><w:pStyle w:val=\"TOC{level}\"/></w:pPr>");
            }
            let _ = write!(
                out,
                "<w:hyperlink w:anchor=\"_Toc{n}\" w:history=\"1\"><w:r><w:rPr><w:rStyle w:val=\"Hyperlink\"/></w:rPr><w:t xml:space=\"preserve\">{}</w:t></w:r></w:hyperlink>",
                esc(text)
            );
            if n + 1 < self.headings.len() {
                out.push_str("</w:p>");
            }
        }
        out.push_str("<w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>");
        out
    }

    fn p(&mut self, style: &str, text: &str) {
        let _ = write!(
            self.body,
            "<w:p><w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            esc(text)
        );
    }

    fn text(&mut self, text: &str) {
        self.p("Standard", text);
    }

    fn page_break(&mut self) {
        self.body.push_str("<w:p><w:r><w:br w:type=\"page\"/></w:r></w:p>");
    }

    fn markdown(&mut self, text: &str) {
        for (kind, t) in markdown::to_paragraphs(text) {
            match kind {
                Block::Heading => self.p("Heading3", &t),
                Block::Item => self.p("ListeAufzaehlung", &format!("• {t}")),
                Block::Paragraph => self.text(&t),
            }
        }
    }

    /// A table: header cells, then rows; `right[c]` right-aligns column c (numbers);
    /// `shade` gives a cell background (the legend's colours).
    /// Column widths: `weights` shares of the text width (17 cm = 9,638 twips).
    fn table(&mut self, caption: &str, header: &[&str], rows: &[Vec<String>], right: &[bool], shade: Option<&[Option<String>]>) {
        // The widest column is the one with names (the first left-aligned text column after
        // a rank), three times the others.
        let named = (0..header.len()).find(|&c| !right.get(c).copied().unwrap_or(false) && c < 2).unwrap_or(0);
        let weights: Vec<u32> = (0..header.len()).map(|c| if c == named { 3 } else { 1 }).collect();
        let total: u32 = weights.iter().sum();
        self.p("Beschriftung", caption);
        self.body.push_str("<w:tbl><w:tblPr><w:tblStyle w:val=\"QuartierTabelle\"/><w:tblW w:w=\"9638\" w:type=\"dxa\"/><w:tblLayout w:type=\"fixed\"/><w:tblLook w:val=\"04A0\" w:firstRow=\"1\" w:lastRow=\"0\" w:firstColumn=\"0\" w:lastColumn=\"0\" w:noHBand=\"1\" w:noVBand=\"1\"/></w:tblPr><w:tblGrid>");
        for w in &weights {
            let _ = write!(self.body, "<w:gridCol w:w=\"{}\"/>", 9638 * w / total);
        }
        self.body.push_str("</w:tblGrid>");
        let cell = |text: &str, right: bool, bold: bool, fill: Option<&str>| -> String {
            format!(
                "<w:tc><w:tcPr>{}</w:tcPr><w:p><w:pPr><w:pStyle w:val=\"Tabelle\"/>{}</w:pPr><w:r>{}<w:t xml:space=\"preserve\">{}</w:t></w:r></w:p></w:tc>",
                fill.map(|f| format!("<w:shd w:val=\"clear\" w:color=\"auto\" w:fill=\"{f}\"/>")).unwrap_or_default(),
                if right { "<w:jc w:val=\"right\"/>" } else { "" },
                if bold { "<w:rPr><w:b/></w:rPr>" } else { "" },
                esc(text)
            )
        };
        self.body.push_str("<w:tr><w:trPr><w:tblHeader/></w:trPr>");
        for (c, h) in header.iter().enumerate() {
            self.body.push_str(&cell(h, right.get(c).copied().unwrap_or(false), true, None));
        }
        self.body.push_str("</w:tr>");
        for (r, row) in rows.iter().enumerate() {
            self.body.push_str("<w:tr>");
            for (c, v) in row.iter().enumerate() {
                let fill = if c == 0 { shade.and_then(|s| s.get(r).cloned().flatten()) } else { None };
                self.body.push_str(&cell(v, right.get(c).copied().unwrap_or(false), false, fill.as_deref()));
            }
            self.body.push_str("</w:tr>");
        }
        self.body.push_str("</w:tbl>");
    }

    /// A picture (PNG, optionally with an SVG that newer Word versions show instead), as wide
    /// as the text, with its text alternative.
    fn picture(&mut self, png: Vec<u8>, svg: Option<Vec<u8>>, px: (usize, usize), alt: &str, caption: &str) {
        self.next_id += 1;
        let id = self.next_id;
        let png_name = format!("bild{id}.png");
        self.media.push((png_name.clone(), png));
        let svg_name = svg.map(|s| {
            let n = format!("bild{id}.svg");
            self.media.push((n.clone(), s));
            n
        });
        let cx = TEXT_EMU.min(px.0 as u64 * EMU_PX);
        let cy = cx * px.1 as u64 / px.0.max(1) as u64;
        let ext = svg_name
            .map(|_| format!("<a:extLst><a:ext uri=\"{{96DAC541-7B7A-43D3-8B79-37D633B846F1}}\"><asvg:svgBlip r:embed=\"rIdB{id}s\"/></a:ext></a:extLst>"))
            .unwrap_or_default();
        let _ = write!(
            self.body,
            "<w:p><w:pPr><w:pStyle w:val=\"Abbildung\"/></w:pPr><w:r><w:drawing><wp:inline distT=\"0\" distB=\"0\" distL=\"0\" distR=\"0\"><wp:extent cx=\"{cx}\" cy=\"{cy}\"/><wp:docPr id=\"{id}\" name=\"Abbildung {id}\" descr=\"{alt}\"/><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/picture\"><pic:pic><pic:nvPicPr><pic:cNvPr id=\"{id}\" name=\"{png_name}\" descr=\"{alt}\"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed=\"rIdB{id}\">{ext}</a:blip><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"{cx}\" cy=\"{cy}\"/></a:xfrm><a:prstGeom prst=\"rect\"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>",
            alt = esc(alt)
        );
        self.p("Beschriftung", caption);
    }
}

/// The map of the report's level with one fill per area, as a PNG (2 px per view-box unit).
fn map_png(r: &Report, fills: &[&str]) -> Option<(Vec<u8>, (usize, usize))> {
    let vb: Vec<f64> = r.map.view_box.split_whitespace().filter_map(|v| v.parse().ok()).collect();
    if vb.len() != 4 {
        return None;
    }
    let scale = 1.5;
    let (w, h) = ((vb[2] * scale).ceil() as usize, (vb[3] * scale).ceil() as usize);
    let mut c = Canvas::new(w, h);
    let t = |x: f64, y: f64| ((x - vb[0]) * scale, (y - vb[1]) * scale);
    let outline = [107, 107, 112];
    for (i, a) in r.areas.iter().enumerate() {
        if let Some(d) = r.map.paths.get(&a.key) {
            c.fill(&rings(d, &t), hex(fills[i]));
        }
    }
    for a in &r.areas {
        if let Some(d) = r.map.paths.get(&a.key) {
            for ring in rings(d, &t) {
                for k in 0..ring.len() {
                    c.line(ring[k], ring[(k + 1) % ring.len()], 0.6, outline);
                }
            }
        }
    }
    for d in &r.map.parents {
        for ring in rings(d, &t) {
            for k in 0..ring.len() {
                c.line(ring[k], ring[(k + 1) % ring.len()], 1.8, [29, 29, 31]);
            }
        }
    }
    Some((c.png(), (w, h)))
}

/// Ranking bars: an SVG (with names and values) and its PNG fallback (the bars alone).
fn bars(rows: &[(String, f64, String)], reference: Option<f64>, dec: usize, label: &str) -> (Vec<u8>, Vec<u8>, (usize, usize)) {
    let svg = crate::charts::ranking_bars(rows, reference, dec, label).into_string();
    // Standalone: the namespace, and no links (Word's SVG import ignores or rejects them).
    let mut svg = svg.replacen("<svg ", "<svg xmlns=\"http://www.w3.org/2000/svg\" font-family=\"Arial, sans-serif\" ", 1);
    while let Some(start) = svg.find("<a ") {
        let end = svg[start..].find('>').map(|e| start + e + 1).unwrap_or(svg.len());
        svg.replace_range(start..end, "");
    }
    let svg = svg.replace("</a>", "");
    // The fallback at twice the size, with names and values drawn from the glyph outlines.
    let k = 2.0;
    let (w, bar_h) = (640.0, 16.0);
    let h = rows.len() as f64 * bar_h + 8.0;
    let (left, right) = (200.0, 70.0);
    let max = rows.iter().map(|r| r.1).chain(reference).fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
    let mut c = Canvas::new((w * k) as usize, (h * k) as usize);
    let ink = [29, 29, 31];
    for (i, (name, v, _)) in rows.iter().enumerate() {
        let y = 4.0 + i as f64 * bar_h;
        let bw = (v.max(0.0) / max) * (w - left - right);
        c.rect(left * k, (y + 2.0) * k, bw * k, (bar_h - 4.0) * k, hex(crate::charts::AREA_COLOUR));
        let tw = Canvas::text_width(11.0 * k, name);
        c.text((left - 6.0) * k - tw, (y + 12.0) * k, 11.0 * k, name, ink);
        c.text((left + bw + 4.0) * k, (y + 12.0) * k, 11.0 * k, &fmt_de(*v, dec), ink);
    }
    if let Some(rf) = reference {
        let x = (left + (rf.max(0.0) / max) * (w - left - right)) * k;
        c.line((x, 0.0), (x, h * k), 2.0, [74, 74, 79]);
    }
    let (w, h) = (w * k, h * k);
    (svg.into_bytes(), c.png(), (w as usize, h as usize))
}

/// Renders the report as DOCX bytes.
pub fn render(r: &Report) -> Vec<u8> {
    let mut d = Doc { body: String::new(), media: Vec::new(), next_id: 0, headings: Vec::new() };
    let def = &r.def;
    d.p("Title", &def.title);
    if !def.subtitle.is_empty() {
        d.p("Subtitle", &def.subtitle);
    }
    d.text(&format!("{} · Ausgabe {}", def.municipality, def.edition));
    if !def.reference_date.is_empty() {
        d.text(&format!("Datenstand: {}", def.reference_date));
    }
    if !def.publisher.is_empty() {
        d.text(&format!("Herausgegeben von {}", def.publisher));
    }
    d.text(&format!("Gebiete: {} × {} · Berichtsjahr {}", r.areas.len(), r.level, r.year));
    d.page_break();
    d.p("Inhaltsverzeichnisueberschrift", "Inhalt");
    d.body.push_str(TOC_MARK);
    d.page_break();
    if !def.introduction.is_empty() {
        d.heading(1, "Einleitung");
        d.markdown(&def.introduction);
    }
    if let Some(t) = r.threshold {
        d.p("Hinweis", &format!("Geheimhaltung: Anzahlen unter {} und Werte, aus denen sie sich zurückrechnen ließen, sind nicht ausgewiesen („geheim“); Quoten mit geheimem Zähler oder Nenner ebenso.", fmt_de(t, 0)));
    }
    if !r.findings.is_empty() {
        d.heading(1, "Auffälligkeiten");
        d.p("Hinweis", "Automatisch aus den Daten ermittelt – zur Einordnung und Kommentierung durch die Sozialplanung.");
        for f in &r.findings {
            d.p("ListeAufzaehlung", &format!("• {f}"));
        }
    }
    for (c, ch) in r.chapters.iter().enumerate() {
        d.heading(1, &format!("{}. {}", c + 1, ch.title));
        if !ch.text.is_empty() {
            d.markdown(&ch.text);
        }
        for &i in &ch.indicators {
            indicator(&mut d, r, &r.indicators[i]);
        }
    }
    if let Some(ix) = &r.index {
        index(&mut d, r, ix);
    }
    if !r.profiles.is_empty() {
        d.heading(1, "Gebietsprofile");
        for &a in &r.profiles {
            profile(&mut d, r, a);
        }
    }
    appendix(&mut d, r);
    d.body = d.body.replacen(TOC_MARK, &d.toc(), 1);
    package(r, d)
}

fn legend_table(d: &mut Doc, items: &[(&str, String, usize)]) {
    let rows: Vec<Vec<String>> = items.iter().map(|(_, label, n)| vec![String::new(), label.clone(), n.to_string()]).collect();
    let shade: Vec<Option<String>> = items.iter().map(|(c, _, _)| Some(c.trim_start_matches('#').to_uppercase())).collect();
    d.table("Legende", &["Farbe", "Klasse", "Gebiete"], &rows, &[false, false, true], Some(&shade));
}

fn indicator(d: &mut Doc, r: &Report, ind: &IndicatorData) {
    let y = r.year;
    let dec = ind.decimals;
    d.heading(2, &ind.name);
    if !ind.description.is_empty() {
        d.p("Hinweis", &ind.description);
    }
    d.text(&ind.text);
    let values: Vec<Option<f64>> = (0..r.areas.len()).map(|i| ind.value(i, y)).collect();
    let colours = palette(ind.bins.len().max(1));
    let fills: Vec<&str> = values
        .iter()
        .map(|v| match v {
            Some(v) if !ind.bins.is_empty() => colours[quartier_core::classify::class_of(&ind.bins, *v).min(colours.len() - 1)],
            _ => "#f2f2f2",
        })
        .collect();
    let unit = if ind.unit.is_empty() { String::new() } else { format!(" ({})", ind.unit) };
    if let Some((png, px)) = map_png(r, &fills) {
        d.picture(
            png,
            None,
            px,
            &format!("Karte: {} {y} je {}; die Werte stehen in der Tabelle", ind.name, r.level),
            &format!("Abbildung: {} {y}{unit} je {}.", ind.name, r.level),
        );
    }
    let items = crate::map::class_legend(&ind.bins, &values, dec);
    legend_table(d, &items);
    let mut ranked: Vec<(usize, f64)> = values.iter().enumerate().filter_map(|(i, v)| Some((i, (*v)?))).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let reference = ind.reference.get(&y).copied().flatten();
    let top: Vec<(String, f64, String)> = ranked.iter().take(15).map(|(i, v)| (r.areas[*i].name.clone(), *v, String::new())).collect();
    if !top.is_empty() {
        let (svg, png, px) = bars(&top, reference, dec, &format!("Die 15 höchsten Werte: {}", ind.name));
        d.picture(
            png,
            Some(svg),
            px,
            &format!("Balkendiagramm der 15 höchsten Werte {}; die Werte stehen in der Tabelle", ind.name),
            &format!("Abbildung: die höchsten Werte {y}."),
        );
    }
    let shown: Vec<usize> =
        if ranked.len() > 15 { (0..10).chain(ranked.len() - 5..ranked.len()).collect() } else { (0..ranked.len()).collect() };
    let mut header = vec!["Rang", "Gebiet", "Wert", "Abweichung vom Durchschnitt"];
    let since_label = r.since.map(|s| format!("Veränderung seit {s}"));
    if let Some(l) = &since_label {
        header.push(l);
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|&k| {
            let (i, v) = ranked[k];
            let mut row =
                vec![(k + 1).to_string(), r.area_name(i), fmt_de(v, dec), reference.map(|rf| signed(v - rf, dec)).unwrap_or_default()];
            if let Some(s) = r.since {
                row.push(ind.value(i, s).map(|old| signed(v - old, dec)).unwrap_or_else(|| "–".into()));
            }
            row
        })
        .collect();
    let caption = format!(
        "Tabelle: {} {y}, {}",
        ind.name,
        if ranked.len() > 15 { "die zehn höchsten und fünf niedrigsten Werte" } else { "alle Gebiete" }
    );
    d.table(&caption, &header, &rows, &[true, false, true, true, true], None);
}

fn signed(v: f64, dec: usize) -> String {
    let s = fmt_de(v, dec);
    if v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') { format!("+{s}") } else { s }
}

fn index(d: &mut Doc, r: &Report, ix: &IndexData) {
    d.heading(1, &ix.title);
    if !ix.text.is_empty() {
        d.markdown(&ix.text);
    }
    d.text(&format!("{} Gebiete bewertet, Datenjahr {}.", ix.rated, ix.year));
    let fills = ix.fills();
    if let Some((png, px)) = map_png(r, &fills) {
        d.picture(png, None, px, &format!("Karte: {} je {}", ix.title, r.level), &format!("Abbildung: {} {}.", ix.title, ix.year));
    }
    let items = ix.class_legend();
    legend_table(d, &items);
    if let Some(rows) = ix.matrix_rows() {
        d.table(
            "Tabelle: Gebiete nach Status und Dynamik",
            &["Status", "Dynamik positiv (+)", "stabil (+/-)", "negativ (-)", "zusammen"],
            &rows,
            &[false, true, true, true, true],
            None,
        );
    }
    if !ix.attention.is_empty() {
        let rows: Vec<Vec<String>> = ix
            .attention
            .iter()
            .map(|(i, reason)| vec![r.area_name(*i), ix.label[*i].clone().unwrap_or_default(), reason.clone()])
            .collect();
        d.table(
            &format!("Tabelle: Gebiete mit besonderem Aufmerksamkeitsbedarf ({})", ix.attention.len()),
            &["Gebiet", "Klasse", "Grund"],
            &rows,
            &[false, false, false],
            None,
        );
    }
    if let Some((y, ch)) = &ix.changed {
        if ch.is_empty() {
            d.text(&format!("Seit {y} hat kein bewertetes Gebiet die Klasse gewechselt."));
        } else {
            let rows: Vec<Vec<String>> = ch.iter().map(|(i, b, n)| vec![r.area_name(*i), b.clone(), n.clone()]).collect();
            let (ys, ns) = (y.to_string(), ix.year.to_string());
            d.table(
                &format!("Tabelle: Gebiete mit Klassenwechsel seit {y} ({})", ch.len()),
                &["Gebiet", &ys, &ns],
                &rows,
                &[false, false, false],
                None,
            );
        }
    }
    if let Some(f) = &ix.fragile {
        d.text(&format!("Robustheit: {} von {} bewerteten Gebieten ändern ihre Klasse, wenn ein einzelner Indikator wegfällt oder die Bewertungsgrundgesamtheit sich ändert (200 Läufe mit zufälligen Gewichten ±50 %, Startwert 1).", f.len(), ix.rated));
    }
}

fn profile(d: &mut Doc, r: &Report, a: usize) {
    let area = &r.areas[a];
    let y = r.year;
    d.heading(2, &format!("{} ({})", area.name, area.key));
    if let Some(p) = &area.parent {
        d.p("Hinweis", &format!("{} in {p}", r.level));
    }
    if let Some(ix) = &r.index {
        d.text(&format!("{}: {}", ix.title, ix.label[a].clone().unwrap_or_else(|| "nicht bewertet".into())));
    }
    let rows: Vec<Vec<String>> = r
        .indicators
        .iter()
        .map(|ind| {
            let v = ind.value(a, y);
            vec![
                format!("{}{}", ind.name, if ind.unit.is_empty() { String::new() } else { format!(" ({})", ind.unit) }),
                ind.cell_text(a, y),
                ind.reference.get(&y).copied().flatten().map(|rf| fmt_de(rf, ind.decimals)).unwrap_or_default(),
                match (v, r.since.and_then(|s| ind.value(a, s))) {
                    (Some(v), Some(old)) => signed(v - old, ind.decimals),
                    _ => "–".into(),
                },
            ]
        })
        .collect();
    d.table(
        &format!("Tabelle: Indikatoren {y}"),
        &["Indikator", "Wert", "Durchschnitt", "Veränderung"],
        &rows,
        &[false, true, true, true],
        None,
    );
}

fn appendix(d: &mut Doc, r: &Report) {
    d.heading(1, "Methoden und Definitionen");
    if !r.def.methods.is_empty() {
        d.markdown(&r.def.methods);
    }
    let rows: Vec<Vec<String>> = r
        .indicators
        .iter()
        .map(|i| {
            let direction =
                if i.direction == quartier_core::indicator::Direction::HigherIsBetter { "höher = besser" } else { "höher = mehr Bedarf" };
            vec![format!("{} ({})", i.name, i.id), i.formula.clone(), i.unit.clone(), direction.into(), i.domain.clone(), i.source.clone()]
        })
        .collect();
    d.table(
        "Tabelle: Indikatordefinitionen",
        &["Indikator", "Formel", "Einheit", "Richtung", "Lebensbereich", "Quelle"],
        &rows,
        &[false; 6],
        None,
    );
    if let Some(ix) = &r.index {
        d.heading(2, &format!("Definition: {}", ix.title));
        for line in ix.definition.lines().filter(|l| !l.trim().is_empty()) {
            d.p("Code", line);
        }
    }
    d.heading(1, "Quellen");
    for s in &r.sources {
        let mut t = s.source.clone();
        if !s.reference_date.is_empty() {
            t.push_str(&format!(", Stichtag {}", s.reference_date));
        }
        if !s.variables.is_empty() {
            t.push_str(&format!(": {}", s.variables.join(", ")));
        }
        d.p("ListeAufzaehlung", &format!("• {t}"));
    }
    if !r.def.licence.is_empty() {
        d.p("Hinweis", &format!("Lizenz: {}", r.def.licence));
    }
}

const NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" xmlns:wp=\"http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:pic=\"http://schemas.openxmlformats.org/drawingml/2006/picture\" xmlns:asvg=\"http://schemas.microsoft.com/office/drawing/2016/SVG/main\"";

fn styles() -> String {
    let heading = |id: &str, name: &str, level: u8, size: u8, colour: &str, before: u16| {
        format!(
            "<w:style w:type=\"paragraph\" w:styleId=\"{id}\"><w:name w:val=\"{name}\"/><w:basedOn w:val=\"Standard\"/><w:next w:val=\"Standard\"/><w:uiPriority w:val=\"9\"/><w:qFormat/><w:pPr><w:keepNext/><w:keepLines/><w:spacing w:before=\"{before}\" w:after=\"120\"/><w:outlineLvl w:val=\"{level}\"/></w:pPr><w:rPr><w:b/><w:color w:val=\"{colour}\"/><w:sz w:val=\"{size}\"/></w:rPr></w:style>"
        )
    };
    let para = |id: &str, name: &str, extra_p: &str, extra_r: &str| {
        format!(
            "<w:style w:type=\"paragraph\" w:styleId=\"{id}\"><w:name w:val=\"{name}\"/><w:basedOn w:val=\"Standard\"/><w:qFormat/><w:pPr>{extra_p}</w:pPr><w:rPr>{extra_r}</w:rPr></w:style>"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:styles {NS}><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii=\"Arial\" w:hAnsi=\"Arial\" w:cs=\"Arial\" w:eastAsia=\"Arial\"/><w:sz w:val=\"21\"/><w:lang w:val=\"de-DE\"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after=\"120\" w:line=\"276\" w:lineRule=\"auto\"/></w:pPr></w:pPrDefault></w:docDefaults>\
<w:style w:type=\"paragraph\" w:default=\"1\" w:styleId=\"Standard\"><w:name w:val=\"Normal\"/><w:qFormat/></w:style>\
{}{}{}{}{}{}{}{}{}{}{}\
<w:style w:type=\"table\" w:styleId=\"QuartierTabelle\"><w:name w:val=\"Quartier Tabelle\"/><w:tblPr><w:tblBorders><w:top w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/><w:bottom w:val=\"single\" w:sz=\"4\" w:color=\"999999\"/><w:insideH w:val=\"single\" w:sz=\"2\" w:color=\"CCCCCC\"/></w:tblBorders><w:tblCellMar><w:left w:w=\"80\" w:type=\"dxa\"/><w:right w:w=\"80\" w:type=\"dxa\"/></w:tblCellMar></w:tblPr></w:style>\
</w:styles>",
        para("Title", "Title", "<w:spacing w:before=\"2400\" w:after=\"240\"/>", "<w:b/><w:color w:val=\"8C2D04\"/><w:sz w:val=\"52\"/>"),
        para("Subtitle", "Subtitle", "<w:spacing w:after=\"480\"/>", "<w:color w:val=\"4A4A4F\"/><w:sz w:val=\"28\"/>"),
        heading("Heading1", "heading 1", 0, 32, "8C2D04", 360),
        heading("Heading2", "heading 2", 1, 26, "8C2D04", 280),
        heading("Heading3", "heading 3", 2, 22, "1D1D1F", 200),
        para("Hinweis", "Hinweis", "", "<w:color w:val=\"4A4A4F\"/><w:sz w:val=\"18\"/>"),
        para("Beschriftung", "caption", "<w:keepNext/><w:spacing w:before=\"120\" w:after=\"60\"/>", "<w:b/><w:sz w:val=\"18\"/>"),
        para("Abbildung", "Abbildung", "<w:keepNext/><w:jc w:val=\"center\"/>", ""),
        para("Tabelle", "Tabelle", "<w:spacing w:after=\"0\" w:line=\"240\" w:lineRule=\"auto\"/>", "<w:sz w:val=\"18\"/>"),
        para("ListeAufzaehlung", "List Bullet", "<w:ind w:left=\"284\" w:hanging=\"284\"/>", ""),
        para(
            "Code",
            "Code",
            "<w:spacing w:after=\"0\"/>",
            "<w:rFonts w:ascii=\"Courier New\" w:hAnsi=\"Courier New\"/><w:sz w:val=\"17\"/>"
        ) + &para(
            "Inhaltsverzeichnisueberschrift",
            "TOC Heading",
            "<w:spacing w:after=\"240\"/>",
            "<w:b/><w:color w:val=\"8C2D04\"/><w:sz w:val=\"32\"/>"
        ) + &para("TOC1", "toc 1", "<w:spacing w:before=\"120\" w:after=\"40\"/>", "<w:b/>")
            + &para("TOC2", "toc 2", "<w:spacing w:after=\"20\"/><w:ind w:left=\"284\"/>", "")
            + "<w:style w:type=\"character\" w:styleId=\"Hyperlink\"><w:name w:val=\"Hyperlink\"/><w:rPr><w:color w:val=\"0563C1\"/><w:u w:val=\"single\"/></w:rPr></w:style>",
    )
}

/// Zips the parts (fixed timestamps: reproducible).
fn package(r: &Report, d: Doc) -> Vec<u8> {
    let mut rels = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rIdStyles\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/><Relationship Id=\"rIdSettings\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings\" Target=\"settings.xml\"/><Relationship Id=\"rIdFooter\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer\" Target=\"footer1.xml\"/>",
    );
    for (name, _) in &d.media {
        let id = name.trim_start_matches("bild").replace(".png", "").replace(".svg", "s");
        let _ = write!(
            rels,
            "<Relationship Id=\"rIdB{id}\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image\" Target=\"media/{name}\"/>"
        );
    }
    rels.push_str("</Relationships>");
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document {NS}><w:body>{}<w:sectPr><w:footerReference w:type=\"default\" r:id=\"rIdFooter\"/><w:pgSz w:w=\"11906\" w:h=\"16838\"/><w:pgMar w:top=\"1134\" w:right=\"1134\" w:bottom=\"1134\" w:left=\"1134\" w:header=\"567\" w:footer=\"567\" w:gutter=\"0\"/></w:sectPr></w:body></w:document>",
        d.body
    );
    let footer = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:ftr {NS}><w:p><w:pPr><w:pStyle w:val=\"Hinweis\"/><w:tabs><w:tab w:val=\"right\" w:pos=\"9638\"/></w:tabs></w:pPr><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r><w:r><w:tab/><w:t xml:space=\"preserve\">Seite </w:t></w:r><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r><w:r><w:t xml:space=\"preserve\"> von </w:t></w:r><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> NUMPAGES </w:instrText></w:r><w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p></w:ftr>",
        esc(&r.def.title)
    );
    let parts: Vec<(String, Vec<u8>)> = vec![
        (
            "[Content_Types].xml".into(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Default Extension=\"png\" ContentType=\"image/png\"/><Default Extension=\"svg\" ContentType=\"image/svg+xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/><Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/><Override PartName=\"/word/settings.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml\"/><Override PartName=\"/word/footer1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/></Types>".into(),
        ),
        (
            "_rels/.rels".into(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/><Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/></Relationships>".into(),
        ),
        (
            "docProps/core.xml".into(),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:language>de-DE</dc:language></cp:coreProperties>", esc(&r.def.title), esc(if r.def.publisher.is_empty() { "Quartier" } else { &r.def.publisher })).into_bytes(),
        ),
        ("word/document.xml".into(), document.into_bytes()),
        ("word/styles.xml".into(), styles().into_bytes()),
        (
            "word/settings.xml".into(),
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:settings {NS}><w:updateFields w:val=\"true\"/><w:defaultTabStop w:val=\"708\"/><w:themeFontLang w:val=\"de-DE\"/></w:settings>").into_bytes(),
        ),
        ("word/footer1.xml".into(), footer.into_bytes()),
        ("word/_rels/document.xml.rels".into(), rels.into_bytes()),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let media: Vec<(String, &Vec<u8>)> = d.media.iter().map(|(n, b)| (format!("word/media/{n}"), b)).collect();
    for (name, bytes) in parts.iter().map(|(n, b)| (n.clone(), b)).chain(media) {
        zip.start_file(name, options).expect("zip in memory");
        zip.write_all(bytes).expect("zip in memory");
    }
    zip.finish().expect("zip in memory").into_inner()
}
