//! The planner's text blocks: CommonMark (headings, paragraphs, lists, emphasis, links,
//! tables) to HTML. Raw HTML in a block is shown as text, never passed through: a report
//! must not carry script or markup nobody checked. Links only to http(s) and mailto.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Markdown → safe HTML. Headings are shifted down by `shift` levels (a `#` in a chapter's
/// text is below the chapter's own heading).
pub fn to_html(text: &str, shift: u8) -> String {
    let parser = Parser::new_ext(text, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        Event::Start(Tag::Heading { level, id, classes, attrs }) => {
            Event::Start(Tag::Heading { level: shifted(level, shift), id, classes, attrs })
        }
        Event::End(pulldown_cmark::TagEnd::Heading(level)) => Event::End(pulldown_cmark::TagEnd::Heading(shifted(level, shift))),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let safe = ["http://", "https://", "mailto:", "#"].iter().any(|p| dest_url.starts_with(p));
            Event::Start(Tag::Link { link_type, dest_url: if safe { dest_url } else { CowStr::from("#") }, title, id })
        }
        Event::Start(Tag::Image { .. }) | Event::End(pulldown_cmark::TagEnd::Image) => Event::Text(CowStr::from("")),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, parser);
    out
}

/// Markdown → plain paragraphs (for XLSX cells and DOCX/PDF text): markup dropped,
/// one string per block.
pub fn to_paragraphs(text: &str) -> Vec<(Block, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut kind = Block::Paragraph;
    for e in Parser::new_ext(text, Options::ENABLE_TABLES) {
        match e {
            Event::Start(Tag::Heading { .. }) => kind = Block::Heading,
            Event::Start(Tag::Item) => kind = Block::Item,
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => current.push_str(&t),
            Event::SoftBreak | Event::HardBreak => current.push(' '),
            Event::End(pulldown_cmark::TagEnd::Paragraph | pulldown_cmark::TagEnd::Heading(_) | pulldown_cmark::TagEnd::Item) => {
                if !current.trim().is_empty() {
                    out.push((kind, current.trim().to_string()));
                }
                current.clear();
                kind = Block::Paragraph;
            }
            _ => {}
        }
    }
    out
}

/// Kinds of plain blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    Heading,
    Paragraph,
    Item,
}

fn shifted(level: pulldown_cmark::HeadingLevel, shift: u8) -> pulldown_cmark::HeadingLevel {
    use pulldown_cmark::HeadingLevel::*;
    let n = (level as u8 + shift).min(6);
    [H1, H2, H3, H4, H5, H6][(n - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_but_no_raw_html_or_script_links() {
        let h = to_html(
            "# Vorwort\n\nDie **Kinderarmut** sinkt.\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [y](https://berlin.de)",
            2,
        );
        assert!(h.contains("<h3>Vorwort</h3>") && h.contains("<strong>Kinderarmut</strong>"), "{h}");
        assert!(h.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !h.contains("<script>"), "{h}");
        assert!(h.contains("<a href=\"#\">x</a>") && h.contains("<a href=\"https://berlin.de\">y</a>"), "{h}");
        let p = to_paragraphs("## Titel\n\nEin *Satz*\nmit Umbruch.\n\n- eins\n- zwei\n");
        assert_eq!(
            p,
            [
                (Block::Heading, "Titel".into()),
                (Block::Paragraph, "Ein Satz mit Umbruch.".into()),
                (Block::Item, "eins".into()),
                (Block::Item, "zwei".into())
            ]
        );
    }
}
