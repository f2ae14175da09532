//! Report definitions kept in the database, by name: the same definitions for the Berichte
//! page, `quartier report --name` and `quartier reports …`. Stored as their TOML text (the
//! exchange format) in the settings under `report:NAME`, so every change is audited.

use crate::definition::{Profiles, ReportDefinition};
use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_indicators};
use std::collections::BTreeSet;

const PREFIX: &str = "report:";

/// A problem with one field of a definition: the field (as the form names it, e.g.
/// `kapitel.2.indikatoren`) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

fn err(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), message: message.into() }
}

/// Whether `name` can name a stored definition (it becomes part of URLs and file names).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The stored definitions: (name, TOML), by name.
pub fn list(store: &dyn Store) -> Result<Vec<(String, String)>, String> {
    Ok(store
        .settings_with_prefix(PREFIX)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|(k, v)| (k[PREFIX.len()..].to_string(), v))
        .collect())
}

/// A stored definition's TOML text.
pub fn get(store: &dyn Store, name: &str) -> Result<Option<String>, String> {
    store.setting(&format!("{PREFIX}{name}")).map_err(|e| e.to_string())
}

/// A stored definition, read and checked as a file would be.
pub fn load(store: &dyn Store, name: &str) -> Result<ReportDefinition, String> {
    let names = || list(store).map(|l| l.into_iter().map(|(n, _)| n).collect::<Vec<_>>().join(", ")).unwrap_or_default();
    let text = get(store, name)?.ok_or_else(|| {
        let known = names();
        format!("Berichtsdefinition „{name}“ gibt es nicht (gespeichert: {})", if known.is_empty() { "keine".into() } else { known })
    })?;
    ReportDefinition::from_toml(&text).map_err(|e| format!("Berichtsdefinition „{name}“: {e}"))
}

/// A short fingerprint of a definition's text, for optimistic locking: a form carries the
/// fingerprint of what it was opened with, and a save over a changed definition is refused.
pub fn fingerprint(text: Option<&str>) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// Checks a definition against the stored data: the level, the indicators and the index
/// exist, and the chosen year (and comparison year) has values for every indicator at the
/// level. All problems, each with its field.
pub fn check(store: &dyn Store, def: &ReportDefinition) -> Result<Vec<FieldError>, String> {
    let mut out = Vec::new();
    if let Profiles::Keyword(k) = &def.profiles
        && k != "all"
        && k != "none"
    {
        out.push(err("steckbriefe", format!("profiles = \"{k}\": erlaubt sind \"all\", \"none\" oder Gebietsschlüssel")));
    }
    if !(2..=9).contains(&def.classes.k) {
        out.push(err("klassen_anzahl", format!("{} Klassen: 2 bis 9", def.classes.k)));
    }
    if def.disclosure_threshold.is_some_and(|t| t.is_nan() || t < 1.0) {
        out.push(err("schwelle", "Die Geheimhaltungsschwelle muss mindestens 1 sein."));
    }
    let levels = store.levels().map_err(|e| e.to_string())?;
    let level = match &def.level {
        Some(l) if !levels.iter().any(|x| &x.name == l) => {
            out.push(err("ebene", format!("Ebene „{l}“ gibt es nicht")));
            None
        }
        Some(l) => Some(l.clone()),
        None => levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()),
    };
    if def.chapters.is_empty() && def.index.is_none() {
        out.push(err("kapitel", "Der Bericht braucht mindestens ein Kapitel oder das Index-Kapitel."));
    }
    let catalogue = store.catalogue().map_err(|e| e.to_string())?;
    let mut wanted = Vec::new();
    for (i, c) in def.chapters.iter().enumerate() {
        let n = i + 1;
        if c.title.trim().is_empty() {
            out.push(err(format!("kapitel.{n}.titel"), format!("Kapitel {n} braucht einen Titel.")));
        }
        if c.indicators.is_empty() {
            out.push(err(format!("kapitel.{n}.indikatoren"), format!("Kapitel {n} nennt keine Indikatoren.")));
        }
        for id in &c.indicators {
            if catalogue.get(id).is_none() {
                out.push(err(format!("kapitel.{n}.indikatoren"), format!("Indikator „{id}“ steht nicht im Katalog.")));
            } else if !wanted.contains(id) {
                wanted.push(id.clone());
            }
        }
    }
    if let Some(ix) = &def.index {
        let known = store.index_definitions().map_err(|e| e.to_string())?;
        if !known.iter().any(|(id, _)| id == &ix.id) {
            out.push(err("index", format!("Index „{}“ ist nicht gespeichert.", ix.id)));
        }
    }
    if let (Some(level), false) = (&level, wanted.is_empty()) {
        let res = compute_indicators(
            store,
            &IndicatorQuery { indicators: wanted.clone(), years: None, level: Some(level.clone()), public: None },
        )?;
        let with_values = |id: &str, year: i32| res.rows.iter().any(|r| r.indicator == id && r.year == year && r.status.has_value());
        let years: BTreeSet<i32> = res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
        for (field, year) in [("jahr", def.year), ("vergleichsjahr", def.since)] {
            let Some(year) = year else { continue };
            let missing: Vec<&str> = wanted.iter().filter(|id| !with_values(id, year)).map(String::as_str).collect();
            if !missing.is_empty() {
                let have: Vec<String> = years.iter().map(|y| y.to_string()).collect();
                out.push(err(
                    field,
                    format!(
                        "Für {year} fehlen auf der Ebene „{level}“ Werte von {} (Jahre mit Werten: {}).",
                        missing.join(", "),
                        if have.is_empty() { "keine".into() } else { have.join(", ") }
                    ),
                ));
            }
        }
        if let (Some(y), Some(s)) = (def.year, def.since)
            && s >= y
        {
            out.push(err("vergleichsjahr", format!("Das Vergleichsjahr {s} muss vor dem Berichtsjahr {y} liegen.")));
        }
    }
    if let Some(areas) = def.profile_areas().filter(|a| !a.is_empty())
        && let Some(level) = &level
    {
        let stored: BTreeSet<String> = store.areas(Some(level)).map_err(|e| e.to_string())?.into_iter().map(|a| a.key).collect();
        let missing: Vec<&str> = areas.iter().filter(|a| !stored.contains(*a)).map(String::as_str).collect();
        if !missing.is_empty() {
            out.push(err("steckbriefe", format!("Gebiete gibt es auf der Ebene „{level}“ nicht: {}", missing.join(", "))));
        }
    }
    Ok(out)
}

/// Stores a definition under `name` after checking its text (as a file) and against the
/// data. `expected`: the fingerprint the editor started from ([`fingerprint`] of None for a
/// new definition); a definition changed meanwhile is refused.
pub fn save(store: &mut dyn Store, name: &str, toml: &str, expected: Option<&str>) -> Result<ReportDefinition, Vec<FieldError>> {
    if !valid_name(name) {
        return Err(vec![err("name", "Name: Kleinbuchstaben, Ziffern, - und _ (höchstens 64 Zeichen), z. B. sozialbericht-2026")]);
    }
    // Every problem at its field first; then the file checks (which these cover) as a guard.
    let def = ReportDefinition::parse(toml).map_err(|e| vec![err("toml", e)])?;
    let problems = check(store, &def).map_err(|e| vec![err("toml", e)])?;
    if !problems.is_empty() {
        return Err(problems);
    }
    let def = ReportDefinition::from_toml(toml).map_err(|e| vec![err("toml", e)])?;
    let key = format!("{PREFIX}{name}");
    let current = store.setting(&key).map_err(|e| vec![err("toml", e.to_string())])?;
    if let Some(expected) = expected
        && fingerprint(current.as_deref()) != expected
    {
        return Err(vec![err(
            "stand",
            "Diese Berichtsdefinition wurde inzwischen von jemand anderem geändert: bitte neu laden und die eigenen Änderungen erneut eintragen.",
        )]);
    }
    store.set_setting(&key, toml).map_err(|e| vec![err("toml", e.to_string())])?;
    Ok(def)
}

/// Removes a stored definition; false if there was none.
pub fn remove(store: &mut dyn Store, name: &str) -> Result<bool, String> {
    store.remove_setting(&format!("{PREFIX}{name}")).map_err(|e| e.to_string())
}

/// The name of the whole the data cover, for "Durchschnitt von …": the `municipality`
/// setting if an installation set one, else the single area of the top level (the Kreis or
/// the city), else None.
pub fn municipality(store: &dyn Store) -> Result<Option<String>, String> {
    if let Some(m) = store.setting("municipality").map_err(|e| e.to_string())?.filter(|m| !m.trim().is_empty()) {
        return Ok(Some(m));
    }
    let levels = store.levels().map_err(|e| e.to_string())?;
    let Some(top) = levels.iter().find(|l| l.areas > 0) else { return Ok(None) };
    let areas = store.areas(Some(&top.name)).map_err(|e| e.to_string())?;
    Ok(if areas.len() == 1 { Some(areas[0].name.clone()) } else { None })
}

/// [`municipality`], or "allen Gebieten" ("Durchschnitt von allen Gebieten") without one.
pub fn reference_name(store: &dyn Store) -> Result<String, String> {
    Ok(municipality(store)?.unwrap_or_else(|| "allen Gebieten".into()))
}

/// The definition behind a profile downloaded from an area's page, where no report definition
/// is chosen: every catalogue indicator, one chapter per domain in catalogue order, the first
/// saved index, the latest year, on `level`; disclosure-controlled with `public` (the
/// public view) and internal otherwise, as the page shows.
pub fn profile_definition(store: &dyn Store, level: &str, public: Option<f64>, municipality: &str) -> Result<ReportDefinition, String> {
    let catalogue = store.catalogue().map_err(|e| e.to_string())?;
    let mut chapters: Vec<crate::definition::Chapter> = Vec::new();
    for i in &catalogue.indicators {
        let title = if i.domain.is_empty() { "Weitere Indikatoren".to_string() } else { i.domain.clone() };
        match chapters.iter_mut().find(|c| c.title == title) {
            Some(c) => c.indicators.push(i.id.clone()),
            None => chapters.push(crate::definition::Chapter { title, indicators: vec![i.id.clone()], text: String::new() }),
        }
    }
    let index = store.index_definitions().map_err(|e| e.to_string())?.into_iter().next().map(|(id, _)| crate::definition::IndexChapter {
        id,
        title: None,
        text: String::new(),
    });
    if chapters.is_empty() && index.is_none() {
        return Err("Für Steckbriefe braucht es Indikatoren im Katalog (Werkstatt) oder einen gespeicherten Index.".into());
    }
    Ok(ReportDefinition {
        title: "Gebietsprofile".into(),
        subtitle: String::new(),
        municipality: municipality.to_string(),
        edition: String::new(),
        reference_date: String::new(),
        publisher: String::new(),
        licence: String::new(),
        level: Some(level.to_string()),
        year: None,
        since: None,
        public: public.is_some(),
        disclosure_threshold: public,
        classes: Default::default(),
        introduction: String::new(),
        chapters,
        index,
        profiles: Profiles::Keyword("none".into()),
        methods: String::new(),
        sources: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_is_named_by_the_setting_or_the_single_top_area() {
        for (backend, mut s) in quartier_app::store::testing::berlins() {
            // The top level (Bezirk) has one area, Mitte.
            assert_eq!(municipality(&*s).unwrap().as_deref(), Some("Mitte"), "{backend}");
            s.set_setting("municipality", "Berlin").unwrap();
            assert_eq!(reference_name(&*s).unwrap(), "Berlin", "{backend}");
        }
    }
}
