//! The Werkstatt's form editors over HTTP: an indicator and an index made in the form, kept in
//! sync with their TOML, checked field by field against the stored data, computed before they
//! are saved, saved through the same checks, and refused with a conflict when someone else
//! saved the same definition meanwhile.

use axum::http::StatusCode;
use quartier_app::store::Store;
use quartier_app::store::testing::{batch, row};
use quartier_core::Cell;

#[macro_use]
mod support;
use support::*;

/// Children, children in SGB II and inhabitants for the three Sozialräume in 2024, with the
/// child-poverty indicator in the catalogue.
fn with_data(site: &Site) {
    let mut s = site.store();
    let mut rows = Vec::new();
    for (i, (area, kids, poor, people)) in
        [("0101", 120.0, 30.0, 900.0), ("0102", 80.0, 8.0, 150.0), ("0201", 200.0, 70.0, 1500.0)].into_iter().enumerate()
    {
        rows.push(row(area, 2024, "kinder_unter_15", Cell::Number(kids), 2 + i * 3));
        rows.push(row(area, 2024, "kinder_sgb_ii", Cell::Number(poor), 3 + i * 3));
        rows.push(row(area, 2024, "einwohner", Cell::Number(people), 4 + i * 3));
    }
    s.apply_data(&batch(rows), false).unwrap();
    save_child_poverty(&mut s);
}

/// The text of a field's error on a page, if any.
fn field_error(page: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"f-{field}-fehler\">");
    let start = page.find(&marker)? + marker.len();
    Some(page[start..].split('<').next().unwrap().to_string())
}

/// The text of a textarea (HTML entities of maud's escaping undone).
fn textarea(page: &str, id: &str) -> String {
    let start = page.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no {id}"));
    let open = start + page[start..].find('>').unwrap() + 1;
    let text = &page[open..open + page[open..].find("</textarea>").unwrap()];
    text.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&#39;", "'").replace("&amp;", "&")
}

async fn indicator_form_round_trip(backend: Backend) {
    let site = Site::new(backend);
    with_data(&site);
    let t = site.token();
    // The form with every field; the draft is checked, previewed and offered for saving.
    let q = "id=armut_quote&name=Kinderarmut%20%28Quote%29&formel=100*kinder_sgb_ii%2Fkinder_unter_15&einheit=%25&dezimalen=2&richtung=higher_is_worse&bereich=Arbeit%20und%20Einkommen&zielgruppen=Kinder%2C%20Familien&mindestnenner=20&quelle=Jobcenter&beschreibung=Anteil%20der%20Kinder&ebene=Sozialraum";
    let (status, page) = site.get(&format!("/werkstatt/indikator?{q}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Geprüft: die Formel ist gültig") && page.contains("In den Katalog aufnehmen"), "{page}");
    assert!(page.contains("merkmal-waehler") && page.contains("value=\"kinder_sgb_ii\""), "the variable picker lists the stored variables");
    // The TOML beside the form says the same as the form.
    let toml = textarea(&page, "f-toml");
    let parsed = quartier_core::indicator::Catalogue::from_toml(&toml).unwrap().indicators.remove(0);
    assert_eq!(parsed.target_groups, ["Kinder", "Familien"]);
    assert_eq!((parsed.decimals, parsed.min_denominator, parsed.source.as_str()), (2, Some(20.0), "Jobcenter"));
    assert_eq!(parsed.description, "Anteil der Kinder");
    // Pasted TOML fills the form.
    let changed = toml.replace("Jobcenter", "Jobcenter Musterstadt");
    let (_, page) = site.get(&format!("/werkstatt/indikator?toml={}&ebene=Sozialraum", urlencode(&changed))).await;
    assert!(page.contains("name=\"quelle\" value=\"Jobcenter Musterstadt\""), "{page}");
    assert!(page.contains("name=\"zielgruppen\" value=\"Kinder, Familien\""));
    // Saved from the TOML the page offers; the CLI's catalogue has it as the form said.
    let stand = hidden(&page, "stand");
    let (status, _, location) =
        site.post("/werkstatt/indikator/speichern", &[("csrf", &t), ("toml", &changed), ("stand", &stand), ("ebene", "Sozialraum")]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/indikator/armut_quote?ebene=Sozialraum")));
    let stored = site.store().catalogue().unwrap().get("armut_quote").unwrap().clone();
    assert_eq!(stored.source, "Jobcenter Musterstadt");
    assert_eq!(stored.min_denominator, Some(20.0));
    // Opened again from the catalogue, changed by someone else meanwhile: a conflict.
    let (_, page) = site.get("/werkstatt/indikator?von=armut_quote").await;
    let stand = hidden(&page, "stand");
    let mut other = site.store().catalogue().unwrap();
    other.indicators.iter_mut().find(|i| i.id == "armut_quote").unwrap().unit = "Prozent".into();
    let known = site.store().variables().unwrap().into_iter().map(|v| v.key).collect();
    site.store().save_catalogue(&other.checked(&known).unwrap(), false).unwrap();
    let mine = textarea(&page, "f-toml").replace("Jobcenter Musterstadt", "BA");
    let (status, page, _) = site.post("/werkstatt/indikator/speichern", &[("csrf", &t), ("toml", &mine), ("stand", &stand)]).await;
    assert!(status == StatusCode::CONFLICT && page.contains("inzwischen von jemand anderem"), "{status} {page}");
    assert_eq!(site.store().catalogue().unwrap().get("armut_quote").unwrap().unit, "Prozent", "nothing of the stale draft saved");
}

async fn indicator_form_bad_input(backend: Backend) {
    let site = Site::new(backend);
    with_data(&site);
    let t = site.token();
    let before = site.store().catalogue().unwrap();
    // Each problem at its field, on the check page and when saving.
    let (status, page) = site.get("/werkstatt/indikator?id=9x&name=&formel=100*gibtsnicht&mindestnenner=viele&dezimalen=12").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(field_error(&page, "formel").unwrap().contains("unbekanntes Merkmal „gibtsnicht“"), "{page}");
    assert!(field_error(&page, "id").unwrap().contains("Kleinbuchstaben"), "{page}");
    assert!(field_error(&page, "name").unwrap().contains("Name fehlt"));
    assert!(field_error(&page, "mindestnenner").unwrap().contains("„viele“"));
    assert!(field_error(&page, "dezimalen").unwrap().contains("0 bis 6"));
    assert!(!page.contains("In den Katalog aufnehmen"), "nothing to save");
    let (_, page) = site.get("/werkstatt/indikator?formel=(kinder_sgb_ii").await;
    assert!(field_error(&page, "formel").is_some(), "a formula that does not parse");
    let (_, page) = site.get(&format!("/werkstatt/indikator?toml={}", urlencode("[[indicator]]\nid = "))).await;
    assert!(field_error(&page, "toml").unwrap().contains("TOML"), "{page}");
    let bad = [("csrf", t.as_str()), ("id", "neu"), ("name", "Neu"), ("formel", "kinder_sgb_ii / 0 * gibtsnicht"), ("mindestnenner", "-3")];
    let (status, page, _) = site.post("/werkstatt/indikator/speichern", &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(field_error(&page, "formel").is_some() && field_error(&page, "mindestnenner").is_some(), "{page}");
    assert_eq!(site.store().catalogue().unwrap(), before, "nothing saved");
}

async fn index_form_round_trip(backend: Backend) {
    let site = Site::new(backend);
    with_data(&site);
    let t = site.token();
    // A weighted index with a sub-index, a population threshold, an exclusion and classes.
    let form = [
        ("formular", "1"),
        ("id", "kinder"),
        ("name", "Kinderindex"),
        ("methode", "weighted"),
        ("ebene", "Sozialraum"),
        ("einwohner", "einwohner"),
        ("mindesteinwohner", "100"),
        ("fehlend", "error"),
        ("z0_indikator", "kinderarmut"),
        ("z0_gewicht", "2,5"),
        ("z0_gruppe", "Kinder"),
        ("z1_indikator", ""),
        ("z1_gewicht", ""),
        ("gewichtsumme", "2,5"),
        ("normierung", "rank"),
        ("klassen", "equal-interval"),
        ("k", "2"),
        ("a0_gebiet", "0102"),
        ("a0_grund", "Kleingartenanlage"),
        ("a0_jahre", "2024"),
    ];
    let query: Vec<String> = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect();
    let (status, page) = site.get(&format!("/werkstatt/index?{}", query.join("&"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Geprüft und berechnet: 2 von 3 Gebieten bewertet, Jahr 2024"), "{page}");
    assert!(page.contains("Summe der Gewichte: <output>2,5</output>"), "{page}");
    // The TOML beside the form is the definition the form describes.
    let toml = textarea(&page, "f-definition");
    let def = quartier_core::index::IndexDefinition::from_toml(&toml).unwrap();
    assert_eq!(def.domains.len(), 1);
    assert_eq!((def.domains[0].weight, def.domains[0].dimension.as_deref()), (2.5, Some("Kinder")));
    assert_eq!((def.min_population, def.population.as_deref()), (Some(100.0), Some("einwohner")));
    assert_eq!(def.exclude[0].years, [2024]);
    assert_eq!(def.classification.as_ref().unwrap().k, Some(2));
    // Pasted TOML fills the form: the exclusion's reason and the method's rows come back.
    let (_, filled) = site.get(&format!("/werkstatt/index?definition={}", urlencode(&toml))).await;
    assert!(filled.contains("value=\"Kleingartenanlage\"") && filled.contains("name=\"z0_gewicht\" value=\"2,5\""), "{filled}");
    assert!(filled.contains("<option value=\"weighted\" selected>"), "{filled}");
    // Saved; the CLI reads the same definition.
    let stand = hidden(&page, "stand");
    let (status, _, location) = site.post("/werkstatt/index/speichern", &[("csrf", &t), ("definition", &toml), ("stand", &stand)]).await;
    assert_eq!((status, location.as_deref()), (StatusCode::SEE_OTHER, Some("/index/kinder")));
    let saved = site.store().index_definitions().unwrap();
    assert_eq!(quartier_core::index::IndexDefinition::from_toml(&saved[0].1).unwrap(), def);
    // The stale draft of someone who opened it before this save: a conflict, nothing changed.
    let (status, page, _) = site
        .post("/werkstatt/index/speichern", &[("csrf", &t), ("definition", &toml.replace("Kinderindex", "Alt")), ("stand", &stand)])
        .await;
    assert!(status == StatusCode::CONFLICT && page.contains("inzwischen von jemand anderem"), "{status} {page}");
    assert_eq!(site.store().index_definitions().unwrap(), saved);
    // MSS from the form: status indicators as checkboxes.
    let (_, page) = site
        .get("/werkstatt/index?formular=1&id=mss&methode=mss&ebene=Sozialraum&einwohner=einwohner&mindesteinwohner=100&status=kinderarmut")
        .await;
    assert!(page.contains("Geprüft und berechnet") && page.contains("Status und Dynamik"), "{page}");
}

async fn index_form_bad_input(backend: Backend) {
    let site = Site::new(backend);
    with_data(&site);
    let t = site.token();
    // Weights that do not add up, an unknown exclusion area, a bad year list, an unknown
    // population variable, an unknown indicator, a bad class count: each at its field.
    let q = "formular=1&id=k&methode=imd&einwohner=gibtsnicht&z0_indikator=kinderarmut&z0_gewicht=60&z1_indikator=unbekannt&z1_gewicht=30&gewichtsumme=100&a0_gebiet=9999&a0_grund=Park&a1_gebiet=0101&a1_grund=&a1_jahre=zwanzig&klassen=quantiles&k=1";
    let (status, page) = site.get(&format!("/werkstatt/index?{q}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(field_error(&page, "gewichtsumme").unwrap().contains("ergeben 90, verlangt ist 100"), "{page}");
    assert!(field_error(&page, "a0_gebiet").unwrap().contains("„9999“"), "{page}");
    assert!(field_error(&page, "a1_grund").unwrap().contains("Grund fehlt"), "{page}");
    assert!(field_error(&page, "a1_jahre").unwrap().contains("„zwanzig“"), "{page}");
    assert!(field_error(&page, "einwohner").unwrap().contains("„gibtsnicht“"), "{page}");
    assert!(field_error(&page, "z1_indikator").unwrap().contains("„unbekannt“"), "{page}");
    assert!(field_error(&page, "k").is_some(), "{page}");
    assert!(!page.contains("Geprüft und berechnet") && !page.contains("/werkstatt/index/speichern"), "not computed, nothing to save");
    // Non-positive weights and SVI rows without a theme.
    let (_, page) = site.get("/werkstatt/index?formular=1&id=k&methode=svi&z0_indikator=kinderarmut&z0_gewicht=-1").await;
    assert!(field_error(&page, "z0_gewicht").unwrap().contains("größer als 0"), "{page}");
    assert!(field_error(&page, "z0_gruppe").unwrap().contains("Thema fehlt"), "{page}");
    // MSS without status indicators; no method at all.
    let (_, page) = site.get("/werkstatt/index?formular=1&id=k&methode=mss").await;
    assert!(field_error(&page, "status").is_some(), "{page}");
    let (_, page) = site.get("/werkstatt/index?formular=1&id=&methode=magie").await;
    assert!(field_error(&page, "id").is_some() && field_error(&page, "methode").is_some(), "{page}");
    // TOML that does not read stays in its box with the message.
    let (_, page) = site.get(&format!("/werkstatt/index?definition={}", urlencode("id = \"k\"\nmethod = \"magie\"\n"))).await;
    assert!(field_error(&page, "definition").unwrap().contains("ungültig"), "{page}");
    assert!(textarea(&page, "f-definition").contains("magie"));
    // The save checks again: an exclusion of an unknown area is refused, nothing stored.
    let def = "id = \"k\"\nmethod = \"weighted\"\ndomains = [{ indicator = \"kinderarmut\", weight = 1 }]\nexclude = [{ area = \"9999\", reason = \"Park\" }]\n";
    let (status, page, _) = site.post("/werkstatt/index/speichern", &[("csrf", &t), ("definition", def)]).await;
    assert!(status == StatusCode::BAD_REQUEST && page.contains("9999"), "{page}");
    assert!(site.store().index_definitions().unwrap().is_empty());
}

on_both_backends!(indicator_form_round_trip, indicator_form_bad_input, index_form_round_trip, index_form_bad_input);
