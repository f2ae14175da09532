//! Tables as downloads: CSV as German Excel opens it (UTF-8 with BOM, `;`, decimal comma)
//! and XLSX (numbers stored as numbers, bold frozen header, fitted columns).

use crate::AppError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// One cell of a downloadable table.
pub enum Cell {
    Text(String),
    /// A number with the decimals to show; `None` is an empty cell.
    Num(Option<f64>, usize),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Csv,
    Xlsx,
}

/// The `format` query parameter: `None` for the HTML page.
pub fn kind(format: Option<&str>) -> Result<Option<Kind>, AppError> {
    match format {
        None | Some("") | Some("html") => Ok(None),
        Some("csv") => Ok(Some(Kind::Csv)),
        Some("xlsx") => Ok(Some(Kind::Xlsx)),
        Some(f) => Err(AppError::BadRequest(format!("unbekanntes Format „{f}“ (möglich: csv, xlsx)"))),
    }
}

/// `basename` without extension; `sheet` names the worksheet.
pub fn table(kind: Kind, basename: &str, sheet: &str, headers: &[&str], rows: &[Vec<Cell>]) -> Result<Response, AppError> {
    let name = basename.replace(['"', '/', '\\'], "");
    match kind {
        Kind::Csv => {
            let field =
                |f: &str| if f.contains([';', '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.to_string() };
            let mut body = String::from("\u{feff}");
            body.push_str(&headers.iter().map(|h| field(h)).collect::<Vec<_>>().join(";"));
            body.push_str("\r\n");
            for r in rows {
                let cells: Vec<String> = r
                    .iter()
                    .map(|c| match c {
                        Cell::Text(t) => field(t),
                        Cell::Num(v, dec) => v.map(|x| format!("{x:.dec$}").replace('.', ",")).unwrap_or_default(),
                    })
                    .collect();
                body.push_str(&cells.join(";"));
                body.push_str("\r\n");
            }
            Ok(attachment("text/csv; charset=utf-8", &format!("{name}.csv"), body.into_bytes()))
        }
        Kind::Xlsx => {
            use rust_xlsxwriter::{Format, Workbook};
            let err = |e: rust_xlsxwriter::XlsxError| AppError::Internal(e.to_string());
            let mut wb = Workbook::new();
            let ws = wb.add_worksheet();
            // Sheet names: at most 31 characters, none of []:*?/\
            let sheet: String = sheet.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect();
            ws.set_name(if sheet.is_empty() { "Tabelle".to_string() } else { sheet }).map_err(err)?;
            let bold = Format::new().set_bold();
            for (c, h) in headers.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold).map_err(err)?;
            }
            let formats: Vec<Format> = (0..=6)
                .map(|d| Format::new().set_num_format(if d == 0 { "0".to_string() } else { format!("0.{}", "0".repeat(d)) }))
                .collect();
            for (r, row) in rows.iter().enumerate() {
                for (c, cell) in row.iter().enumerate() {
                    let (r, c) = (r as u32 + 1, c as u16);
                    match cell {
                        Cell::Text(t) if !t.is_empty() => {
                            ws.write_string(r, c, t).map_err(err)?;
                        }
                        Cell::Num(Some(v), dec) => {
                            ws.write_number_with_format(r, c, *v, &formats[(*dec).min(6)]).map_err(err)?;
                        }
                        _ => {}
                    }
                }
            }
            ws.set_freeze_panes(1, 0).map_err(err)?;
            ws.autofit();
            let bytes = wb.save_to_buffer().map_err(err)?;
            Ok(attachment("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", &format!("{name}.xlsx"), bytes))
        }
    }
}

fn attachment(content_type: &'static str, filename: &str, body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, content_type.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        body,
    )
        .into_response()
}
