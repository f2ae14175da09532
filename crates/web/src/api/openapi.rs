//! The OpenAPI 3.1 document of the JSON API, written here beside the handlers it describes
//! (`crates/web/tests/api.rs` calls every operation it lists and checks that every route of
//! `/api/v1` is in it; CI validates it against the OpenAPI 3.1 schema).

use serde_json::{Value, json};
use std::sync::OnceLock;

/// The API's version (paths carry the major version: `/api/v1`).
pub const VERSION: &str = "1.0.0";

fn param(name: &str, place: &str, required: bool, description: &str, example: Value) -> Value {
    json!({ "name": name, "in": place, "required": required, "description": description, "schema": { "type": "string" }, "example": example })
}

fn path_id(description: &str, example: &str) -> Value {
    param("id", "path", true, description, json!(example))
}

fn problem(description: &str) -> Value {
    json!({ "description": description, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn body_of(schema: &str, description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// An operation: id, summary, description, parameters, success (status, schema, text), the
/// error statuses it can answer besides those every request can (401, 429).
fn op(id: &str, summary: &str, description: &str, params: Vec<Value>, ok: (&str, &str, &str), errors: &[(&str, &str)]) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(ok.0.into(), if ok.1.is_empty() { json!({ "description": ok.2 }) } else { body_of(ok.1, ok.2) });
    for (status, text) in errors.iter().chain(&[
        ("401", "API-Schlüssel unbekannt, widerrufen oder abgelaufen, oder ohne Schlüssel nicht erlaubt"),
        ("429", "Zu viele Anfragen mit diesem API-Schlüssel (Retry-After nennt die Sekunden)"),
    ]) {
        responses.insert((*status).into(), problem(text));
    }
    json!({ "operationId": id, "summary": summary, "description": description, "parameters": params, "responses": responses })
}

fn with_body(mut operation: Value, schema: &str, media: &str, description: &str) -> Value {
    let content = if media == "application/json" {
        json!({ media: { "schema": { "$ref": format!("#/components/schemas/{schema}") } } })
    } else {
        json!({ media: { "schema": { "type": "string", "contentEncoding": "binary" } } })
    };
    operation["requestBody"] = json!({ "required": true, "description": description, "content": content });
    operation
}

fn writes(mut operation: Value) -> Value {
    operation["security"] = json!([{ "token": [] }]);
    operation
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": properties })
}

fn nullable(t: &str) -> Value {
    json!({ "type": [t, "null"] })
}

/// The document (made once).
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(build)
}

fn build() -> Value {
    let level = param("level", "query", false, "Ebene (Standard: die unterste Ebene mit Gebieten)", json!("Planungsraum"));
    let year = |d: &str| param("year", "query", false, d, json!("2019"));
    let area = param("area", "query", false, "Nur diese Gebiete (Schlüssel, durch Kommas getrennt)", json!("01011101"));
    let boundary = param(
        "gebietsstand",
        "query",
        false,
        "Gebietsstand nach einer Gebietsreform: die Gebiete, die an diesem Tag galten (JJJJ-MM-TT), oder „aktuell“. Standard: bei einem einzelnen Jahr (year) der Stand dieses Jahres, sonst der heutige",
        json!("aktuell"),
    );
    let not_found =
        ("404", "Unbekannte Ebene, unbekanntes Merkmal, unbekannter Indikator, Index oder Jahr (parameter nennt den Parameter)");
    let bad = ("400", "Ungültiger Parameter (parameter nennt ihn)");
    let forbidden = ("403", "Schlüssel nur zum Lesen, Rolle ohne dieses Recht, öffentliche Ansicht oder fremdes Objekt");
    let import_params = vec![
        param("kind", "query", false, "data (Standard) oder areas", json!("data")),
        param(
            "file",
            "query",
            true,
            "Dateiname mit Endung (.csv, .xlsx, .geojson, .zip mit Shapefile, GENESIS-CSV …)",
            json!("daten-2024.csv"),
        ),
        param(
            "level",
            "query",
            false,
            "Ebene der Gebiete (bei Gebieten nötig, außer bei amtlichen Tabellen mit Schlüsselstruktur)",
            json!("Planungsraum"),
        ),
        param("year", "query", false, "Jahr, wenn die Datei keines nennt", json!("2024")),
        param("source", "query", false, "Quelle der Daten", json!("Amt für Statistik")),
        param("reference_date", "query", false, "Stichtag (JJJJ-MM-TT)", json!("2024-12-31")),
        param("profile", "query", false, "Gespeichertes Importprofil", json!("jobcenter")),
        param("id_field", "query", false, "Gebiete: Feld mit dem Schlüssel", json!("PLR_ID")),
        param("name_field", "query", false, "Gebiete: Feld mit dem Namen", json!("PLR_NAME")),
        param("parent_prefix", "query", false, "Gebiete: Länge des Schlüsselpräfixes des übergeordneten Gebiets", json!("6")),
        param("crs", "query", false, "Gebiete: Koordinatenreferenzsystem, wenn die Datei keines nennt (EPSG:25832 …)", json!("EPSG:25833")),
        param("save_profile", "query", false, "Beim Bestätigen die erkannte Zuordnung unter diesem Namen speichern", json!("jobcenter")),
    ];
    let import_id = path_id("Kennung des wartenden Imports (aus der Antwort des Hochladens)", "9f86d081884c7d659a2feaa0c55ad015");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Quartier – JSON-API",
            "version": VERSION,
            "summary": "Ebenen, Gebiete, Merkmale, Indikatoren, Indizes, Angebote und Importe der integrierten Sozialplanung",
            "description": "Dieselben Anwendungsfälle wie die Seiten, mit derselben Prüfung und denselben Rechten. Ohne API-Schlüssel antwortet die API wie die Seiten für Besucher (auf einem Server mit Konten: nur die veröffentlichte Ansicht mit Geheimhaltung, sonst 401). Mit Schlüssel (Authorization: Bearer qrt_…, angelegt unter /konto oder mit `quartier user token create`) gelten Rolle, Gebiet und Sicht seines Kontos; Änderungen brauchen einen Schlüssel mit Schreibrecht, Cookies berechtigen keine Änderungen. Fehler sind Problem Details (RFC 9457). Geometrien liefert die OGC API – Features unter /ogc.",
            "license": { "name": "EUPL-1.2", "identifier": "EUPL-1.2" },
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{}, { "token": [] }],
        "paths": {
            "/": { "get": op("getRoot", "Einstieg", "Verweise auf die Teile der API und ihre Beschreibung.", vec![], ("200", "Links", "Verweise"), &[]) },
            "/openapi.json": { "get": op("getOpenApi", "Diese Beschreibung", "Das OpenAPI-3.1-Dokument der API.", vec![], ("200", "", "OpenAPI-Dokument"), &[]) },
            "/levels": { "get": op("listLevels", "Ebenen", "Die Gebietsebenen von oben nach unten mit der Zahl der sichtbaren Gebiete.", vec![], ("200", "Levels", "Ebenen"), &[]) },
            "/areas": { "get": op("listAreas", "Gebiete", "Gebiete mit Schlüssel, Name, Ebene, übergeordnetem Gebiet und Fläche (m²); ein Mandant sieht seine eigenen kleinen Gebiete.",
                vec![param("level", "query", false, "Nur diese Ebene (Standard: alle)", json!("Bezirksregion")), param("parent", "query", false, "Nur Gebiete mit diesem übergeordneten Gebiet (Schlüssel)", json!("01")), boundary.clone()],
                ("200", "Areas", "Gebiete"), &[not_found]) },
            "/variables": { "get": op("listVariables", "Merkmale", "Die gelieferten Merkmale mit Bezeichnung, Einheit, Art (count/rate), Quelle, Stichtag, Jahren und Zahl der Werte.", vec![], ("200", "Variables", "Merkmale"), &[]) },
            "/values": { "get": op("listValues", "Werte eines Merkmals", "Werte je Gebiet und Jahr auf einer Ebene: geliefert oder (Anzahlen) aus den Teilgebieten summiert (origin). In der öffentlichen Ansicht mit Geheimhaltung: gesperrte Werte sind null mit symbol \"*\".",
                vec![param("variable", "query", true, "Merkmal (key aus /variables)", json!("s1_percentage_unemployed")), level.clone(), year("Jahre, durch Kommas getrennt (Standard: alle)"), area.clone(), boundary.clone()],
                ("200", "Values", "Werte"), &[bad, not_found]) },
            "/indicators": { "get": op("listIndicators", "Indikatoren", "Der Indikatorenkatalog: Formel, Einheit, Richtung, Lebensbereich, Zielgruppen, Quelle.", vec![], ("200", "Indicators", "Katalog"), &[("404", "Kein Katalog gespeichert")]) },
            "/indicators/{id}/values": { "get": op("listIndicatorValues", "Indikatorwerte", "Berechnete Werte je Gebiet und Jahr mit Zähler, Nenner und Status (ok, unreliable, suppressed, confidential, missing, division_by_zero, invalid) und die Werte der ganzen Kommune (references). Öffentlich mit Geheimhaltung.",
                vec![path_id("Indikator (id aus /indicators)", "s1"), level.clone(), year("Jahre, durch Kommas getrennt (Standard: alle)"), area, boundary],
                ("200", "IndicatorValues", "Werte"), &[bad, not_found]) },
            "/indices": { "get": op("listIndices", "Indizes", "Die gespeicherten Indizes (Sozialindex, Teilindizes).", vec![], ("200", "Indices", "Indizes"), &[]) },
            "/indices/{id}": { "get": op("getIndex", "Index je Gebiet", "Der Index je Gebiet wie `quartier index compute --format json`: bewertet oder nicht (mit Grund), Werte, Klassen.",
                vec![path_id("Index (id aus /indices)", "mss"), year("Ein Jahr (Standard: das neueste mit allen Werten)"), param("level", "query", false, "Ebene (Standard: die des Index)", json!("Planungsraum"))],
                ("200", "Table", "Ergebnistabelle"), &[bad, not_found]) },
            "/indices/{id}/robustness": { "get": op("getIndexRobustness", "Robustheit der Klassen", "Wie stabil die Klasse jedes Gebiets bei veränderten Gewichten ist (1.000 Läufe, ±50 %), für Indizes nach dem MSS-Verfahren.",
                vec![path_id("Index (id aus /indices)", "mss")], ("200", "Table", "Robustheitstabelle"), &[not_found]) },
            "/offers": {
                "get": op("listOffers", "Angebotsverzeichnis", "Träger, Angebote (mit version für Änderungen), Standorte und welches Angebot wo stattfindet (HSDS).", vec![], ("200", "Offers", "Verzeichnis"), &[]),
                "post": writes(with_body(op("createOffer", "Angebot eintragen", "Ein neues Angebot mit denselben Prüfungen wie das Formular: Träger-Konten nur für den eigenen Träger; neue Träger nur Sozialplanung und Administration; ein neuer Standort braucht WGS84-Koordinaten innerhalb der Gebiete.",
                    vec![], ("201", "Written", "Angelegt (Location nennt die Adresse)"), &[bad, forbidden]), "NewOffer", "application/json", "Das Angebot")),
            },
            "/offers/{id}": {
                "put": writes(with_body(op("updateOffer", "Angebot ändern", "Setzt die Felder des Angebots; mit version nur, wenn es seitdem niemand geändert hat.",
                    vec![path_id("Angebot (id aus /offers)", "angebot-familienzentrum")], ("200", "Written", "Geändert"), &[bad, forbidden, ("404", "Unbekanntes Angebot"), ("409", "Inzwischen geändert (version passt nicht)")]), "OfferChange", "application/json", "Die neuen Werte")),
            },
            "/imports": {
                "post": writes(with_body(op("uploadImport", "Datei hochladen (Probelauf)", "Liest die Datei wie die Verwaltung und antwortet, was ein Import ändern würde (nichts wird gespeichert), mit einer Kennung zum Bestätigen. Nur Sozialplanung und Administration.",
                    import_params, ("201", "ImportPreview", "Vorschau"), &[bad, forbidden, ("413", "Datei zu groß"), ("422", "Die Datei lässt sich nicht importieren (Meldung des Lesers oder der Prüfung)")]), "", "application/octet-stream", "Die Datei")),
            },
            "/imports/{id}": {
                "get": writes(op("getImport", "Vorschau eines wartenden Imports", "Die Vorschau eines hochgeladenen, noch nicht bestätigten Imports des eigenen Kontos.", vec![import_id.clone()], ("200", "ImportPreview", "Vorschau"), &[forbidden, ("404", "Unbekannter Import")])),
                "delete": writes(op("discardImport", "Wartenden Import verwerfen", "Verwirft die hochgeladene Datei.", vec![import_id.clone()], ("204", "", "Verworfen"), &[forbidden, ("404", "Unbekannter Import")])),
            },
            "/imports/{id}/confirm": {
                "post": writes(op("confirmImport", "Import bestätigen", "Importiert die Datei in einer Transaktion (im Importprotokoll und im Änderungsprotokoll mit Konto und Schlüssel).",
                    vec![import_id], ("200", "ImportResult", "Importiert"), &[forbidden, ("404", "Unbekannter Import"), ("409", "Die Daten haben sich seit der Vorschau so geändert, dass die Datei nicht mehr passt")])),
            },
        },
        "components": {
            "securitySchemes": {
                "token": { "type": "http", "scheme": "bearer", "description": "Persönlicher API-Schlüssel (qrt_ und 64 Hexziffern); Lesen oder Lesen und Schreiben, mit Ablaufdatum, widerrufbar." },
            },
            "schemas": {
                "Problem": object(&["type", "title", "status", "detail"], json!({
                    "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" },
                    "detail": { "type": "string" }, "instance": { "type": "string" },
                    "parameter": { "type": "string", "description": "Der Parameter, an dem es liegt" },
                })),
                "Links": object(&["links"], json!({ "title": { "type": "string" }, "version": { "type": "string" }, "links": { "type": "array", "items": object(&["href"], json!({ "href": { "type": "string" }, "rel": { "type": "string" }, "title": { "type": "string" } })) } })),
                "Levels": object(&["levels"], json!({ "levels": { "type": "array", "items": object(&["name", "rank", "areas"], json!({ "name": { "type": "string" }, "rank": { "type": "integer" }, "areas": { "type": "integer" } })) } })),
                "Areas": object(&["areas"], json!({ "areas": { "type": "array", "items": object(&["key", "name", "level"], json!({
                    "key": { "type": "string" }, "name": { "type": "string" }, "level": { "type": "string" }, "parent": nullable("string"), "area_m2": nullable("number") })) } })),
                "Variables": object(&["variables"], json!({ "variables": { "type": "array", "items": object(&["key", "kind", "years"], json!({
                    "key": { "type": "string" }, "label": { "type": "string" }, "unit": { "type": "string" }, "kind": { "enum": ["count", "rate"] },
                    "source": { "type": "string" }, "reference_date": { "type": "string" }, "description": { "type": "string" },
                    "years": { "type": "array", "items": { "type": "integer" } }, "values": { "type": "integer" }, "symbols": { "type": "integer" } })) } })),
                "Values": object(&["variable", "level", "values"], json!({
                    "variable": { "type": "string" }, "label": { "type": "string" }, "unit": { "type": "string" }, "kind": { "enum": ["count", "rate"] }, "level": { "type": "string" },
                    "values": { "type": "array", "items": object(&["area", "year", "value"], json!({
                        "area": { "type": "string" }, "name": { "type": "string" }, "year": { "type": "integer" }, "value": nullable("number"),
                        "symbol": { "type": ["string", "null"], "description": "Zeichen der amtlichen Statistik (z. B. \"*\" gesperrt, \"-\" nichts vorhanden)" },
                        "origin": { "enum": ["delivered", "summed", "missing"] } })) } })),
                "Indicators": object(&["indicators"], json!({ "indicators": { "type": "array", "items": object(&["id", "name", "formula", "direction"], json!({
                    "id": { "type": "string" }, "name": { "type": "string" }, "formula": { "type": "string" }, "unit": { "type": "string" }, "decimals": { "type": "integer" },
                    "direction": { "type": "string" }, "domain": { "type": "string" }, "target_groups": { "type": "array", "items": { "type": "string" } },
                    "source": { "type": "string" }, "description": { "type": "string" }, "min_denominator": { "type": "number" } })) } })),
                "IndicatorValue": object(&["year", "value", "status"], json!({
                    "area": { "type": "string" }, "name": { "type": "string" }, "year": { "type": "integer" }, "value": nullable("number"),
                    "numerator": nullable("number"), "denominator": nullable("number"), "status": { "type": "string" },
                    "status_inputs": { "description": "Was fehlt oder gesperrt ist (je nach Status)" },
                    "estimated": { "type": "boolean", "description": "Aus Schätzungen berechnet: über einen Gebietsstandwechsel übertragene oder vom Statistikamt geschätzte Werte (Kennzeichen s)" } })),
                "IndicatorValues": object(&["indicator", "level", "references", "values"], json!({
                    "indicator": { "$ref": "#/components/schemas/Indicator" }, "level": { "type": "string" }, "public": { "type": "boolean" },
                    "references": { "type": "array", "items": { "$ref": "#/components/schemas/IndicatorValue" } },
                    "values": { "type": "array", "items": { "$ref": "#/components/schemas/IndicatorValue" } } })),
                "Indicator": { "type": "object", "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "formula": { "type": "string" } } },
                "Indices": object(&["indices"], json!({ "indices": { "type": "array", "items": object(&["id", "name", "method"], json!({
                    "id": { "type": "string" }, "name": { "type": "string" }, "method": { "type": "string" }, "level": nullable("string"),
                    "indicators": { "type": "array", "items": { "type": "string" } } })) } })),
                "Table": object(&["columns", "rows"], json!({
                    "id": { "type": "string" }, "level": { "type": "string" }, "year": { "type": ["integer", "null"] },
                    "columns": { "type": "array", "items": { "type": "string" } },
                    "rows": { "type": "array", "items": { "type": "object", "description": "Eine Zeile je Gebiet, Spalten wie columns (area_id, year, rated, reason_not_rated, …)" } },
                    "notes": { "type": "array", "items": { "type": "string" } } })),
                "Offers": object(&["organizations", "services", "locations", "service_at_location"], json!({
                    "organizations": { "type": "array", "items": { "type": "object" } },
                    "services": { "type": "array", "items": { "type": "object", "properties": { "id": { "type": "string" }, "name": { "type": "string" }, "version": { "type": "string" } } } },
                    "locations": { "type": "array", "items": { "type": "object" } },
                    "service_at_location": { "type": "array", "items": { "type": "object" } } })),
                "NewOffer": object(&["name"], json!({
                    "organization": { "type": "string", "description": "Kennung eines vorhandenen Trägers" },
                    "organization_name": { "type": "string", "description": "Oder: Name eines neuen Trägers (nur Sozialplanung, Administration)" },
                    "name": { "type": "string" }, "description": { "type": "string" }, "target_groups": { "type": "array", "items": { "type": "string" } },
                    "capacity": nullable("number"), "schedule": { "type": "string" }, "contact": { "type": "string" },
                    "valid_from": { "type": "string", "format": "date" }, "valid_to": { "type": "string", "format": "date" },
                    "location": { "type": "string", "description": "Kennung eines vorhandenen Standorts" },
                    "location_name": { "type": "string" }, "address": { "type": "string" },
                    "latitude": nullable("number"), "longitude": nullable("number") })),
                "OfferChange": object(&["name"], json!({
                    "version": { "type": "string", "description": "version aus /offers: nur ändern, wenn unverändert" },
                    "name": { "type": "string" }, "capacity": nullable("number"), "valid_from": { "type": "string" }, "valid_to": { "type": "string" },
                    "target_groups": { "type": "array", "items": { "type": "string" } }, "description": { "type": "string" },
                    "schedule": { "type": "string" }, "contact": { "type": "string" },
                    "confirmed": { "type": "boolean", "description": "Als heute bestätigt vermerken" } })),
                "Written": object(&["id"], json!({ "id": { "type": "string" }, "version": nullable("string") })),
                "ImportPreview": object(&["id", "file", "dry_run", "preview"], json!({
                    "id": { "type": "string" }, "file": { "type": "string" }, "dry_run": { "const": true },
                    "preview": { "type": "object", "description": "Was der Import ändern würde (kind, rows, inserted, changed, unchanged, changes, years, … wie in der Verwaltung)" },
                    "confirm": { "type": "string" } })),
                "ImportResult": object(&["id", "file", "dry_run", "result"], json!({
                    "id": { "type": "string" }, "file": { "type": "string" }, "dry_run": { "const": false }, "result": { "type": "object" } })),
            },
        },
    })
}
