//! Bytes to text: encodings and CSV delimiters as found in German deliveries.

use crate::{ImportError, Result};

/// Decodes file bytes: a BOM decides; else UTF-8 if valid; else Windows-1252 (what Excel
/// writes on German Windows). `encoding` (an encoding label such as `windows-1252`,
/// `latin1`, `utf-8`) overrides detection.
pub fn decode(bytes: &[u8], encoding: Option<&str>, file: &str) -> Result<String> {
    decode_named(bytes, encoding, file).map(|(text, _)| text)
}

/// [`decode`], also returning the name of the encoding used, for messages ("UTF-8",
/// "windows-1252", "UTF-16LE").
pub fn decode_named(bytes: &[u8], encoding: Option<&str>, file: &str) -> Result<(String, &'static str)> {
    if let Some(label) = encoding {
        let enc = encoding_rs::Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            ImportError::file(file, format!("unbekannte Zeichenkodierung „{label}“ (z. B. utf-8, windows-1252, iso-8859-15)"))
        })?;
        let (text, _, _) = enc.decode(bytes);
        return Ok((text.into_owned(), enc.name()));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = String::from_utf8(rest.to_vec()).map_err(|e| {
            ImportError::file(file, format!("UTF-8 mit BOM, aber ungültiges Byte an Position {}", e.utf8_error().valid_up_to() + 3))
        })?;
        return Ok((text, "UTF-8 mit BOM"));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let enc = if bytes[0] == 0xFF { encoding_rs::UTF_16LE } else { encoding_rs::UTF_16BE };
        return Ok((enc.decode(bytes).0.into_owned(), enc.name()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok((s.to_string(), "UTF-8")),
        Err(_) => Ok((encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(), encoding_rs::WINDOWS_1252.name())),
    }
}

/// Like [`decode`], but takes the bytes and avoids a copy when they are already UTF-8.
pub fn decode_owned(bytes: Vec<u8>, encoding: Option<&str>, file: &str) -> Result<String> {
    decode_owned_named(bytes, encoding, file).map(|(text, _)| text)
}

/// [`decode_owned`], also returning the name of the encoding used.
pub fn decode_owned_named(bytes: Vec<u8>, encoding: Option<&str>, file: &str) -> Result<(String, &'static str)> {
    if encoding.is_none() && !bytes.starts_with(b"\xEF\xBB\xBF") && !bytes.starts_with(b"\xFF\xFE") && !bytes.starts_with(b"\xFE\xFF") {
        return match String::from_utf8(bytes) {
            Ok(s) => Ok((s, "UTF-8")),
            Err(e) => Ok((encoding_rs::WINDOWS_1252.decode(e.as_bytes()).0.into_owned(), encoding_rs::WINDOWS_1252.name())),
        };
    }
    decode_named(&bytes, encoding, file)
}

/// Picks the delimiter (`;`, `,`, tab, `|`) that splits the first lines most consistently.
pub fn sniff_delimiter(text: &str) -> u8 {
    // Title lines above a table (a heading, a source line) hold no delimiter: they are skipped.
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .skip_while(|l| [b';', b',', b'\t', b'|'].iter().all(|d| count_outside_quotes(l, *d) == 0))
        .take(20)
        .collect();
    let mut best = (b',', 0usize);
    for d in [b';', b',', b'\t', b'|'] {
        let counts: Vec<usize> = lines.iter().map(|l| count_outside_quotes(l, d)).collect();
        let Some(&first) = counts.first() else { continue };
        if first == 0 {
            continue;
        }
        let consistent = counts.iter().filter(|&&c| c == first).count();
        let score = consistent * 1000 + first;
        if score > best.1 {
            best = (d, score);
        }
    }
    best.0
}

/// Fields of a line that are not empty (outside quotes), for telling title lines from rows.
pub fn filled_fields(line: &str, d: u8) -> usize {
    let mut inq = false;
    let (mut n, mut current) = (0, false);
    for b in line.bytes() {
        if b == b'"' {
            inq = !inq;
            current = true;
        } else if b == d && !inq {
            n += usize::from(current);
            current = false;
        } else if !b.is_ascii_whitespace() {
            current = true;
        }
    }
    n + usize::from(current)
}

fn count_outside_quotes(line: &str, d: u8) -> usize {
    let mut inq = false;
    let mut n = 0;
    for b in line.bytes() {
        if b == b'"' {
            inq = !inq;
        } else if b == d && !inq {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_common_encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFStra\xC3\x9Fe", None, "f").unwrap(), "Straße");
        assert_eq!(decode(b"Stra\xDFe", None, "f").unwrap(), "Straße");
        assert_eq!(decode(b"Stra\xDFe", Some("latin1"), "f").unwrap(), "Straße");
        assert!(decode(b"x", Some("klingonisch"), "f").is_err());
    }

    #[test]
    fn names_the_encoding_used() {
        let name = |b: &[u8], e: Option<&str>| decode_named(b, e, "f").unwrap().1;
        assert_eq!(name(b"Stra\xC3\x9Fe", None), "UTF-8");
        assert_eq!(name(b"\xEF\xBB\xBFx", None), "UTF-8 mit BOM");
        assert_eq!(name(b"Stra\xDFe", None), "windows-1252");
        assert_eq!(name(b"\xFF\xFEx\x00", None), "UTF-16LE");
        assert_eq!(name(b"x", Some("iso-8859-15")), "ISO-8859-15");
        // The owned path (no copy for UTF-8) names the same.
        assert_eq!(decode_owned_named(b"Stra\xDFe".to_vec(), None, "f").unwrap(), ("Straße".to_string(), "windows-1252"));
        assert_eq!(decode_owned_named(b"a".to_vec(), None, "f").unwrap().1, "UTF-8");
    }

    #[test]
    fn sniffs_delimiters() {
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3\n"), b';');
        assert_eq!(sniff_delimiter("a,b,c\n1,2.5,3\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter("\"a;x\",b\n1,2\n"), b',');
        assert_eq!(sniff_delimiter("Bevölkerung am 31.12.2023\nGebiet;Name;Einwohner\n01;A;5\n"), b';');
        assert_eq!(filled_fields("Titel;;;", b';'), 1);
        assert_eq!(filled_fields("a;\"b;c\";", b';'), 2);
    }
}
