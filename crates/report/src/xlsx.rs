//! The report's tables as a workbook: one sheet per indicator (areas × years, the reference
//! row, the unit), an index sheet and a metadata sheet. Numbers are stored as numbers with
//! a number format (Excel shows them with the reader's separators, 1.234,5 in German);
//! header rows frozen; column widths set. Byte-identical for the same data and definition
//! (fixed document date).

use crate::model::Report;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};

/// Sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(base: &str, used: &mut Vec<String>) -> String {
    let clean: String = base.chars().filter(|c| !"[]:*?/\\'".contains(*c)).collect();
    let mut name: String = clean.chars().take(31).collect();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        let suffix = format!(" ({n})");
        name = clean.chars().take(31 - suffix.chars().count()).collect::<String>() + &suffix;
        n += 1;
    }
    used.push(name.clone());
    name
}

fn number_format(decimals: usize) -> Format {
    let f = if decimals == 0 { "#,##0".to_string() } else { format!("#,##0.{}", "0".repeat(decimals.min(6))) };
    Format::new().set_num_format(f)
}

/// The workbook as bytes.
pub fn render(r: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let props = DocProperties::new()
        .set_title(&r.def.title)
        .set_author(if r.def.publisher.is_empty() { "Quartier" } else { &r.def.publisher })
        .set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?);
    wb.set_properties(&props);
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let mut used = Vec::new();
    // Metadata first: what the workbook is, definitions, sources, disclosure.
    {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name("Metadaten", &mut used))?;
        let mut row = 0u32;
        let mut line = |ws: &mut Worksheet, k: &str, v: &str| -> Result<(), XlsxError> {
            ws.write_string_with_format(row, 0, k, &bold)?;
            ws.write_string_with_format(row, 1, v, &wrap)?;
            row += 1;
            Ok(())
        };
        line(ws, "Titel", &r.def.title)?;
        line(ws, "Gebietskörperschaft", &r.def.municipality)?;
        line(ws, "Ausgabe", &r.def.edition)?;
        line(ws, "Datenstand", &r.def.reference_date)?;
        line(ws, "Ebene", &r.level)?;
        line(ws, "Berichtsjahr", &r.year.to_string())?;
        if let Some(t) = r.threshold {
            line(
                ws,
                "Geheimhaltung",
                &format!("Anzahlen unter {t} und rückrechenbare Werte sind nicht ausgewiesen (leere Zelle, Vermerk „geheim“)"),
            )?;
        }
        if !r.def.publisher.is_empty() {
            line(ws, "Herausgeber", &r.def.publisher)?;
        }
        if !r.def.licence.is_empty() {
            line(ws, "Lizenz", &r.def.licence)?;
        }
        row += 1;
        for (c, h) in
            ["Indikator", "Kennung", "Formel", "Einheit", "Richtung", "Lebensbereich", "Quelle", "Beschreibung"].iter().enumerate()
        {
            ws.write_string_with_format(row, c as u16, *h, &bold)?;
        }
        row += 1;
        for d in &r.indicators {
            let direction =
                if d.direction == quartier_core::indicator::Direction::HigherIsBetter { "höher = besser" } else { "höher = mehr Bedarf" };
            for (c, v) in
                [&d.name, &d.id, &d.formula, &d.unit, &direction.to_string(), &d.domain, &d.source, &d.description].iter().enumerate()
            {
                ws.write_string_with_format(row, c as u16, v.as_str(), &wrap)?;
            }
            row += 1;
        }
        row += 1;
        ws.write_string_with_format(row, 0, "Quellen", &bold)?;
        row += 1;
        for s in &r.sources {
            ws.write_string(row, 0, &s.source)?;
            ws.write_string(row, 1, &s.reference_date)?;
            ws.write_string_with_format(row, 2, s.variables.join(", "), &wrap)?;
            row += 1;
        }
        ws.set_column_width(0, 28)?;
        ws.set_column_width(1, 40)?;
        ws.set_column_width(2, 40)?;
        for c in 3..8 {
            ws.set_column_width(c, 18)?;
        }
    }
    for d in &r.indicators {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&d.name, &mut used))?;
        let num = number_format(d.decimals);
        let years: Vec<i32> = r.years.clone();
        ws.write_string_with_format(
            0,
            0,
            format!("{}{}", d.name, if d.unit.is_empty() { String::new() } else { format!(" ({})", d.unit) }),
            &bold,
        )?;
        ws.write_string(1, 0, format!("Formel: {}", d.formula))?;
        let head = 3u32;
        ws.write_string_with_format(head, 0, "Schlüssel", &bold)?;
        ws.write_string_with_format(head, 1, r.level.as_str(), &bold)?;
        for (j, y) in years.iter().enumerate() {
            ws.write_number_with_format(head, 2 + j as u16, *y as f64, &bold)?;
        }
        let note_col = 2 + years.len() as u16;
        ws.write_string_with_format(head, note_col, "Vermerk", &bold)?;
        let mut row = head + 1;
        ws.write_string_with_format(row, 0, "", &bold)?;
        ws.write_string_with_format(row, 1, format!("Durchschnitt {}", r.def.municipality), &bold)?;
        for (j, y) in years.iter().enumerate() {
            if let Some(Some(v)) = d.reference.get(y) {
                ws.write_number_with_format(row, 2 + j as u16, *v, &num)?;
            }
        }
        row += 1;
        for (i, a) in r.areas.iter().enumerate() {
            ws.write_string(row, 0, &a.key)?;
            ws.write_string(row, 1, &a.name)?;
            let mut notes = Vec::new();
            for (j, y) in years.iter().enumerate() {
                match d.value(i, *y) {
                    Some(v) => {
                        ws.write_number_with_format(row, 2 + j as u16, v, &num)?;
                    }
                    None => {
                        if let Some(n) = d.notes[i].get(y) {
                            notes.push(format!("{y}: {n}"));
                        }
                    }
                }
            }
            if !notes.is_empty() {
                ws.write_string(row, note_col, notes.join("; "))?;
            }
            row += 1;
        }
        ws.set_freeze_panes(head + 1, 2)?;
        ws.set_column_width(0, 12)?;
        ws.set_column_width(1, 34)?;
        for j in 0..years.len() {
            ws.set_column_width(2 + j as u16, 10)?;
        }
        ws.set_column_width(note_col, 24)?;
    }
    if let Some(ix) = &r.index {
        let ws = wb.add_worksheet();
        ws.set_name(sheet_name(&format!("Index {}", ix.id), &mut used))?;
        for (c, h) in
            ["Schlüssel", r.level.as_str(), "Klasse", "Klasse (Text)", "Aufmerksamkeit", "hängt an einer Festlegung"].iter().enumerate()
        {
            ws.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        for (i, a) in r.areas.iter().enumerate() {
            let row = i as u32 + 1;
            ws.write_string(row, 0, &a.key)?;
            ws.write_string(row, 1, &a.name)?;
            if let Some(c) = ix.class[i] {
                ws.write_number(row, 2, c as f64)?;
            }
            ws.write_string(row, 3, ix.label[i].as_deref().unwrap_or("nicht bewertet"))?;
            if let Some((_, reason)) = ix.attention.iter().find(|(k, _)| *k == i) {
                ws.write_string(row, 4, reason)?;
            }
            if let Some(f) = &ix.fragile {
                ws.write_string(row, 5, if f.contains(&i) { "ja" } else { "" })?;
            }
        }
        ws.set_freeze_panes(1, 2)?;
        for (c, w) in [12, 34, 8, 16, 36, 12].iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
    }
    wb.save_to_buffer()
}

/// An allocation plan as a workbook: the table (need, group, allocation, per-capita
/// comparison, difference) and the formula in words.
pub fn allocation(plan: &quartier_app::allocation::Plan) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(
        &DocProperties::new().set_title("Bedarfsgerechte Verteilung").set_creation_datetime(&ExcelDateTime::from_ymd(2000, 1, 1)?),
    );
    let bold = Format::new().set_bold();
    let euro = Format::new().set_num_format("#,##0 \"€\"");
    let num = number_format(2);
    let ws = wb.add_worksheet();
    ws.set_name("Verteilung")?;
    let headers =
        ["Schlüssel", plan.level.as_str(), "Bedarf", "Zielgruppe", "berechtigt", "Grund", "Betrag (€)", "Gießkanne (€)", "Differenz (€)"];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in plan.rows.iter().enumerate() {
        let row = i as u32 + 1;
        ws.write_string(row, 0, &r.area_id)?;
        ws.write_string(row, 1, &r.name)?;
        if let Some(v) = r.need {
            ws.write_number_with_format(row, 2, v, &num)?;
        }
        if let Some(v) = r.group {
            ws.write_number_with_format(row, 3, v, &number_format(0))?;
        }
        ws.write_string(row, 4, if r.eligible { "ja" } else { "nein" })?;
        ws.write_string(row, 5, r.reason.as_deref().unwrap_or(""))?;
        ws.write_number_with_format(row, 6, r.allocation as f64, &euro)?;
        ws.write_number_with_format(row, 7, r.per_capita as f64, &euro)?;
        ws.write_number_with_format(row, 8, r.allocation as f64 - r.per_capita as f64, &euro)?;
    }
    let total = plan.rows.len() as u32 + 1;
    ws.write_string_with_format(total, 1, "Summe", &bold)?;
    for c in [6u16, 7] {
        let sum: u64 = plan.rows.iter().map(|r| if c == 6 { r.allocation } else { r.per_capita }).sum();
        ws.write_number_with_format(total, c, sum as f64, &euro)?;
    }
    ws.set_freeze_panes(1, 2)?;
    for (c, w) in [12, 30, 10, 12, 10, 24, 14, 14, 14].iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    let info = wb.add_worksheet();
    info.set_name("Formel")?;
    info.write_string_with_format(0, 0, "Bedarf", &bold)?;
    info.write_string(0, 1, &plan.need_label)?;
    info.write_string_with_format(1, 0, "Jahr", &bold)?;
    info.write_number(1, 1, plan.year as f64)?;
    info.write_string_with_format(2, 0, "Formel", &bold)?;
    info.write_string_with_format(2, 1, &plan.explanation, &Format::new().set_text_wrap())?;
    info.set_column_width(0, 12)?;
    info.set_column_width(1, 100)?;
    wb.save_to_buffer()
}
