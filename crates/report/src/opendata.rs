//! Open data: the areas of a level with indicator values as CSV (UTF-8 with `,` and decimal
//! point; and a variant for German Excel with `;`, decimal comma and BOM), as GeoJSON
//! (WGS84), and a metadata file with DCAT-AP.de fields. Always disclosure-controlled: what
//! leaves the system here is public. Several years are rows of the same table: one row (and
//! one GeoJSON feature, id `KEY/YEAR`, for QGIS's temporal controller) per area and year.

use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_indicators};
use quartier_core::indicator::Status;
use quartier_geom::wkb::{self, Decoded};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// What to publish.
#[derive(Debug, Clone)]
pub struct Request {
    pub level: String,
    /// The years to publish (written in ascending order); empty = the latest year with values.
    pub years: Vec<i32>,
    /// Indicator ids; empty = the whole catalogue.
    pub indicators: Vec<String>,
    pub threshold: f64,
    /// Base name of the files.
    pub name: String,
    pub title: String,
    pub description: String,
    pub publisher: String,
    /// Licence URI (DCAT-AP.de vocabulary), e.g. `http://dcat-ap.de/def/licenses/dl-by-de/2.0`.
    pub licence: String,
    /// Name of the area covered (e.g. the municipality).
    pub spatial: String,
    /// Where the files will be published (the distributions' access and download URLs);
    /// None: the file names, which JSON-LD resolves against the metadata file's own address.
    pub base_url: Option<String>,
}

/// The IANA media type IRI of a media type (DCAT-AP.de's controlled vocabulary).
fn media_type_iri(media: &str) -> String {
    format!("https://www.iana.org/assignments/media-types/{media}")
}

/// The JSON-LD context of the metadata: the prefixes, IRIs where DCAT-AP.de wants IRIs, dates
/// typed as `xsd:date`, and Quartier's own terms (the indicator descriptions, keyed by id, and
/// the disclosure threshold) in their namespace, so nothing is lost when the file is read as RDF.
fn context() -> Value {
    let iri = json!({ "@type": "@id" });
    let date = json!({ "@type": "xsd:date" });
    json!({
        "@version": 1.1,
        "dcat": "http://www.w3.org/ns/dcat#",
        "dct": "http://purl.org/dc/terms/",
        "dcatde": "http://dcat-ap.de/def/dcatde/",
        "foaf": "http://xmlns.com/foaf/0.1/",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
        "quartier": QUARTIER_NS,
        "dct:license": iri, "dct:format": iri, "dcat:accessURL": iri, "dcat:downloadURL": iri, "dcat:mediaType": iri,
        "dcatde:politicalGeocodingLevelURI": iri,
        "dcat:startDate": date, "dcat:endDate": date,
        "quartier:geheimhaltungsschwelle": { "@type": "xsd:decimal" },
        "quartier:indikatoren": {
            "@id": "quartier:indikatoren",
            "@container": "@index",
            "@context": {
                "name": "dct:title",
                "beschreibung": "dct:description",
                "quelle": "dct:source",
                "einheit": "quartier:einheit",
                "formel": "quartier:formel",
            },
        },
    })
}

/// The namespace of Quartier's own metadata terms (a URN: no web address is claimed).
pub const QUARTIER_NS: &str = "urn:quartier:def:";

/// The files: (file name, content).
pub fn export(store: &dyn Store, req: &Request) -> Result<Vec<(String, Vec<u8>)>, String> {
    let levels = store.levels().map_err(|e| e.to_string())?;
    if !levels.iter().any(|l| l.name == req.level) {
        let names: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
        return Err(format!("Ebene „{}“ gibt es nicht (vorhanden: {})", req.level, names.join(", ")));
    }
    let catalogue = store.catalogue().map_err(|e| e.to_string())?;
    let unknown: Vec<&str> = req.indicators.iter().filter(|i| catalogue.get(i).is_none()).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(format!("unbekannte Indikatoren: {}", unknown.join(", ")));
    }
    let ids: Vec<String> =
        if req.indicators.is_empty() { catalogue.indicators.iter().map(|i| i.id.clone()).collect() } else { req.indicators.clone() };
    if ids.is_empty() {
        return Err("der Indikatorkatalog ist leer: nichts zu veröffentlichen".into());
    }
    let res = compute_indicators(
        store,
        &IndicatorQuery {
            indicators: ids.clone(),
            years: (!req.years.is_empty()).then(|| req.years.clone()),
            level: Some(req.level.clone()),
            public: Some(req.threshold),
        },
    )?;
    let mut years: Vec<i32> = if req.years.is_empty() {
        vec![res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).max().ok_or("keine Indikatorwerte auf dieser Ebene")?]
    } else {
        req.years.clone()
    };
    years.sort_unstable();
    years.dedup();
    for year in &years {
        if !res.rows.iter().any(|r| r.year == *year && r.status.has_value()) {
            return Err(format!("für {year} gibt es auf Ebene „{}“ keine Werte", req.level));
        }
    }
    let areas = store.areas(Some(&req.level)).map_err(|e| e.to_string())?;
    // (area, indicator, year) → (value, numerator, denominator, note), already protected.
    type Published = (Option<f64>, Option<f64>, Option<f64>, &'static str);
    let mut cells: HashMap<(&str, &str, i32), Published> = HashMap::new();
    for r in res.rows.iter().filter(|r| years.contains(&r.year)) {
        let shown = r.status.has_value();
        let note = match &r.status {
            Status::Ok if r.estimated => "geschätzt",
            Status::Ok => "",
            Status::Confidential | Status::Suppressed(_) => "geheim",
            Status::Unreliable => "unsicher",
            Status::DivisionByZero => "Nenner 0",
            _ => "fehlt",
        };
        cells.insert(
            (r.area_id.as_str(), r.indicator.as_str(), r.year),
            (if shown { r.value } else { None }, r.numerator, r.denominator, note),
        );
    }
    let decimals: HashMap<&str, usize> = catalogue.indicators.iter().map(|i| (i.id.as_str(), i.decimals as usize)).collect();
    let mut headers = vec!["schluessel".to_string(), "name".into(), "uebergeordnet".into(), "jahr".into()];
    for id in &ids {
        headers.extend([id.clone(), format!("{id}_zaehler"), format!("{id}_nenner"), format!("{id}_vermerk")]);
    }
    // Rows of strings in a neutral form: numbers with a point.
    let number = |v: Option<f64>, dec: usize| v.map(|v| format!("{v:.dec$}")).unwrap_or_default();
    // Rows by year, then area: (area, year, cells).
    let rows: Vec<(&quartier_app::store::AreaRecord, i32, Vec<String>)> = years
        .iter()
        .flat_map(|&year| areas.iter().map(move |a| (a, year)))
        .map(|(a, year)| {
            let mut row = vec![a.key.clone(), a.name.clone(), a.parent.clone().unwrap_or_default(), year.to_string()];
            for id in &ids {
                let (v, num, den, note) = cells.get(&(a.key.as_str(), id.as_str(), year)).copied().unwrap_or((None, None, None, "fehlt"));
                row.extend([number(v, decimals[id.as_str()]), number(num, 0), number(den, 0), note.to_string()]);
            }
            (a, year, row)
        })
        .collect();
    let csv = |sep: char, comma: bool, bom: bool| -> Vec<u8> {
        let field = |f: &str| if f.contains([sep, '"', '\n', '\r']) { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.to_string() };
        let mut out = String::from(if bom { "\u{feff}" } else { "" });
        out.push_str(&headers.iter().map(|h| field(h)).collect::<Vec<_>>().join(&sep.to_string()));
        out.push_str("\r\n");
        for (_, _, r) in &rows {
            let cells: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    // Numeric columns: 3 (year) and the value, numerator, denominator ones.
                    let numeric = c >= 4 && (c - 4) % 4 != 3;
                    if comma && numeric { v.replace('.', ",") } else { field(v) }
                })
                .collect();
            out.push_str(&cells.join(&sep.to_string()));
            out.push_str("\r\n");
        }
        out.into_bytes()
    };
    // GeoJSON: the stored WGS84 geometries, coordinates to 6 decimals (about 0.1 m).
    let geoms: HashMap<String, Vec<u8>> = store.geometries(&req.level).map_err(|e| e.to_string())?.into_iter().collect();
    let several = years.len() > 1;
    let features: Vec<Value> = rows
        .iter()
        .map(|(a, year, row)| {
            let mut props = serde_json::Map::new();
            for (h, v) in headers.iter().zip(row) {
                // Years, numerators and denominators are whole numbers (`2019`, not `2019.0`);
                // values keep their decimals.
                let whole = h == "jahr" || ids.iter().any(|id| *h == format!("{id}_zaehler") || *h == format!("{id}_nenner"));
                let numeric = whole || ids.iter().any(|id| h == id);
                let value = match v.parse::<f64>() {
                    Ok(x) if whole && x.fract() == 0.0 && x.abs() < 9e15 => json!(x as i64),
                    Ok(x) if numeric => json!(x),
                    _ if numeric => Value::Null,
                    _ => json!(v),
                };
                props.insert(h.clone(), value);
            }
            let geometry = geoms.get(&a.key).and_then(|b| match wkb::decode(b) {
                Ok(Decoded::Areal(mp)) => Some(multipolygon_json(&mp)),
                _ => None,
            });
            let id = if several { format!("{}/{year}", a.key) } else { a.key.clone() };
            json!({"type": "Feature", "id": id, "properties": props, "geometry": geometry})
        })
        .collect();
    let geojson = serde_json::to_vec(&json!({"type": "FeatureCollection", "name": req.name, "features": features})).expect("json");
    let bbox = bbox_of(&geoms);
    let files = [
        (format!("{}.csv", req.name), "text/csv", "CSV"),
        (format!("{}.de.csv", req.name), "text/csv", "CSV"),
        (format!("{}.geojson", req.name), "application/geo+json", "GEOJSON"),
    ];
    let url = |f: &str| match &req.base_url {
        Some(b) => format!("{}/{f}", b.trim_end_matches('/')),
        None => f.to_string(),
    };
    let variables: BTreeMap<&str, Value> = ids
        .iter()
        .map(|id| {
            let i = catalogue.get(id).expect("checked");
            (
                id.as_str(),
                json!({"name": i.name, "einheit": i.unit, "formel": i.formula, "beschreibung": i.description, "quelle": i.source}),
            )
        })
        .collect();
    let meta = json!({
        "@context": context(),
        "@type": "dcat:Dataset",
        "dct:title": req.title,
        "dct:description": format!("{} Werte je {} für {}. Geheimhaltung: Anzahlen unter {} und rückrechenbare Werte sind nicht ausgewiesen (Vermerk „geheim“).", req.description, req.level, years_text(&years), req.threshold),
        "dcat:keyword": ["Sozialplanung", "Sozialmonitoring", req.level.as_str(), req.spatial.as_str()],
        "dct:publisher": {"@type": "foaf:Organization", "foaf:name": req.publisher},
        "dct:license": req.licence,
        "dct:temporal": {"@type": "dct:PeriodOfTime", "dcat:startDate": format!("{}-01-01", years[0]), "dcat:endDate": format!("{}-12-31", years[years.len() - 1])},
        "dct:spatial": {"@type": "dct:Location", "dct:title": req.spatial, "dcat:bbox": bbox},
        "dcatde:politicalGeocodingLevelURI": "http://dcat-ap.de/def/politicalGeocoding/Level/municipality",
        "dcat:distribution": files.iter().map(|(f, media, format)| json!({
            "@type": "dcat:Distribution", "dct:title": f, "dcat:accessURL": url(f), "dcat:downloadURL": url(f), "dcat:mediaType": media_type_iri(media),
            "dct:format": format!("http://publications.europa.eu/resource/authority/file-type/{format}"), "dct:license": req.licence,
        })).collect::<Vec<_>>(),
        "quartier:indikatoren": variables,
        "quartier:geheimhaltungsschwelle": req.threshold,
    });
    Ok(vec![
        (files[0].0.clone(), csv(',', false, false)),
        (files[1].0.clone(), csv(';', true, true)),
        (files[2].0.clone(), geojson),
        (format!("{}.meta.json", req.name), serde_json::to_vec_pretty(&meta).expect("json")),
    ])
}

/// "2019", "2017 und 2019", "2015, 2017 und 2019".
fn years_text(years: &[i32]) -> String {
    let y: Vec<String> = years.iter().map(|y| y.to_string()).collect();
    match y.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} und {last}", rest.join(", ")),
    }
}

/// A multipolygon as RFC 7946 wants it: exterior rings counterclockwise, holes clockwise
/// (§3.1.6; whatever winding the delivery had), coordinates to 6 decimals (about 0.1 m).
fn multipolygon_json(mp: &quartier_geom::MultiPolygon) -> Value {
    use geo::orient::{Direction, Orient};
    let mp = mp.orient(Direction::Default);
    let ring = |ls: &quartier_geom::LineString| -> Vec<[f64; 2]> {
        ls.0.iter().map(|c| [(c.x * 1e6).round() / 1e6, (c.y * 1e6).round() / 1e6]).collect()
    };
    let polys: Vec<Vec<Vec<[f64; 2]>>> =
        mp.0.iter().map(|p| std::iter::once(p.exterior()).chain(p.interiors()).map(ring).collect()).collect();
    json!({"type": "MultiPolygon", "coordinates": polys})
}

/// WKT polygon of the bounding box of all geometries (DCAT's `dcat:bbox`).
fn bbox_of(geoms: &HashMap<String, Vec<u8>>) -> Value {
    let mut bb = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut keys: Vec<&String> = geoms.keys().collect();
    keys.sort();
    for k in keys {
        if let Ok(Decoded::Areal(mp)) = wkb::decode(&geoms[k]) {
            for c in mp.0.iter().flat_map(|p| p.exterior().0.iter()) {
                bb = [bb[0].min(c.x), bb[1].min(c.y), bb[2].max(c.x), bb[3].max(c.y)];
            }
        }
    }
    if !bb[0].is_finite() {
        return Value::Null;
    }
    let r = |v: f64| (v * 1e4).round() / 1e4;
    json!(format!(
        "POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))",
        x0 = r(bb[0]),
        y0 = r(bb[1]),
        x1 = r(bb[2]),
        y1 = r(bb[3])
    ))
}

/// The files of [`export`] in one ZIP (fixed timestamps: the same data give the same bytes).
pub fn zip(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).expect("zip in memory");
        zip.write_all(bytes).expect("zip in memory");
    }
    zip.finish().expect("zip in memory").into_inner()
}
