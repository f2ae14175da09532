//! Placing delivered rows on stored areas: official keys of mixed levels (a GENESIS table
//! lists Deutschland, Länder, Kreise and Gemeinden in one column), the AGS/ARS forms of a
//! municipality's key, and area names for tables without keys.

use crate::data::{DataProfile, PreparedData};
use crate::official::{Format, Table};

use crate::{ImportError, Result};
use quartier_core::date::{ReferenceDate, month_of};
use quartier_core::keys::{OfficialKey, ags_of};
use quartier_core::names::{NameIndex, NameMatch};
use quartier_core::validate::{DataRow, Location, VariableKind};
use quartier_store::{AreaRecord, DataBatch, VariableMeta};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Where a delivered key goes: the target level's key, and delivered totals (level, key).
type Place<'a> = (Option<String>, Vec<(&'a str, String)>);

/// A row's area when matched by name: its key and, for a total, the higher level.
pub type RowArea = Option<(Arc<str>, Option<String>)>;

/// The stored areas, by level (ordered from the top).
#[derive(Debug, Default)]
pub struct StoredAreas {
    pub levels: Vec<StoredLevel>,
}

#[derive(Debug, Default)]
pub struct StoredLevel {
    pub name: String,
    pub rank: usize,
    /// key → name
    pub areas: HashMap<String, String>,
    /// AGS (8 digits) → stored key, for levels keyed by 12-digit ARS.
    ags: HashMap<String, String>,
}

impl StoredAreas {
    pub fn new(areas: &[AreaRecord]) -> StoredAreas {
        let mut levels: BTreeMap<usize, StoredLevel> = BTreeMap::new();
        for a in areas {
            let l = levels.entry(a.level_rank).or_insert_with(|| StoredLevel {
                name: a.level.clone(),
                rank: a.level_rank,
                ..Default::default()
            });
            l.areas.insert(a.key.clone(), a.name.clone());
            if a.key.len() == 12
                && let Some(ags) = ags_of(&a.key)
            {
                l.ags.insert(ags, a.key.clone());
            }
        }
        StoredAreas { levels: levels.into_values().collect() }
    }

    pub fn level(&self, name: &str) -> Option<&StoredLevel> {
        self.levels.iter().find(|l| l.name == name)
    }

    /// Every stored key (of `level`, or all levels).
    pub fn keys(&self, level: Option<&str>) -> HashSet<String> {
        self.levels.iter().filter(|l| level.is_none_or(|n| n == l.name)).flat_map(|l| l.areas.keys().cloned()).collect()
    }
}

impl StoredLevel {
    /// The stored key a delivered official key stands for on this level: itself, the
    /// 8-digit AGS of a 12-digit ARS (and back), or a kreisfreie Stadt's 5-digit key as its
    /// municipality (`01001` → `01001000` or `010010000000`).
    pub fn resolve(&self, key: &str) -> Option<String> {
        if self.areas.contains_key(key) {
            return Some(key.to_string());
        }
        let ags = ags_of(key)?;
        if self.areas.contains_key(&ags) {
            return Some(ags);
        }
        self.ags.get(&ags).cloned()
    }

    /// The kind of key most stored areas of this level have.
    fn kind(&self) -> Option<OfficialKey> {
        let mut counts: HashMap<OfficialKey, usize> = HashMap::new();
        for (k, n) in &self.areas {
            if let Some(kind) = OfficialKey::classify(k, n) {
                *counts.entry(kind).or_default() += 1;
            }
        }
        counts.into_iter().max_by_key(|(k, n)| (*n, *k)).map(|(k, _)| k)
    }
}

/// The month (and day) a `--period` picks: `12`, `Dezember`, `31.12.`, `06-30`.
fn period_of(p: &str, file: &str) -> Result<(u32, Option<u32>)> {
    let t = p.trim().trim_end_matches('.');
    if let Some((d, m)) = t.split_once('.')
        && let (Ok(d), Ok(m)) = (d.trim().parse::<u32>(), m.trim().parse::<u32>())
        && (1..=12).contains(&m)
        && (1..=31).contains(&d)
    {
        return Ok((m, Some(d)));
    }
    if let Some((m, d)) = t.split_once('-')
        && let (Ok(m), Ok(d)) = (m.trim().parse::<u32>(), d.trim().parse::<u32>())
        && (1..=12).contains(&m)
    {
        return Ok((m, Some(d)));
    }
    if let Ok(m) = t.parse::<u32>()
        && (1..=12).contains(&m)
    {
        return Ok((m, None));
    }
    month_of(t).map(|m| (m, None)).ok_or_else(|| {
        ImportError::file(file, format!("--period „{p}“ nicht lesbar: erwartet ein Monat (12, Dezember) oder ein Tag (31.12.)"))
    })
}

fn period_matches(d: &ReferenceDate, (m, day): (u32, Option<u32>)) -> bool {
    match d.month() {
        None => true,
        Some(dm) => dm == m && day.is_none_or(|day| d.iso.get(8..10).and_then(|x| x.parse::<u32>().ok()) == Some(day)),
    }
}

/// German date for messages (`31.12.2023`, `12/2023`, `2023`).
pub fn date_text(iso: &str) -> String {
    match iso.len() {
        10 => format!("{}.{}.{}", &iso[8..10], &iso[5..7], &iso[..4]),
        7 => format!("{}/{}", &iso[5..7], &iso[..4]),
        _ => iso.to_string(),
    }
}

/// Turns a recognised official table into a batch for the stored areas: rows of the chosen
/// level (or, without `--level`, the stored level most keys belong to), delivered totals of
/// stored levels above it; every other row counted by kind for the summary.
pub fn from_official(mut table: Table, profile: &DataProfile, stored: &StoredAreas, file: &str) -> Result<PreparedData> {
    if stored.levels.is_empty() {
        return Err(ImportError::file(
            file,
            format!(
                "{} erkannt, aber es sind noch keine Gebiete gespeichert. Gebiete aus dieser Tabelle anlegen: quartier import areas {file} (legt die Ebenen nach der Schlüsselstruktur an)",
                table.format.label()
            ),
        ));
    }
    // Distinct areas of the table with their first line.
    let mut distinct: Vec<(Arc<str>, Option<Arc<str>>, u32)> = Vec::new();
    {
        let mut seen: HashSet<&str> = HashSet::new();
        for r in &table.records {
            if seen.insert(&r.key) {
                distinct.push((Arc::clone(&r.key), r.name.clone(), r.line));
            }
        }
    }
    let target = match &profile.level {
        Some(l) => stored.level(l).ok_or_else(|| {
            let names: Vec<&str> = stored.levels.iter().map(|l| l.name.as_str()).collect();
            ImportError::file(file, format!("Ebene „{l}“ hat keine gespeicherten Gebiete (Ebenen mit Gebieten: {})", names.join(", ")))
        })?,
        None => stored
            .levels
            .iter()
            .map(|l| (distinct.iter().filter(|(k, _, _)| l.resolve(k).is_some()).count(), l.rank, l))
            .filter(|(n, _, _)| *n > 0)
            .max_by_key(|(n, rank, _)| (*n, *rank))
            .map(|(_, _, l)| l)
            .ok_or_else(|| {
                let sample: Vec<&str> = distinct.iter().take(5).map(|(k, _, _)| &**k).collect();
                ImportError::file(
                    file,
                    format!(
                        "kein Schlüssel der Tabelle ({} …) ist als Gebiet gespeichert; Gebiete aus der Tabelle anlegen mit quartier import areas {file}",
                        sample.join(", ")
                    ),
                )
            })?,
    };
    let target_kind = target.kind();
    // A key of the target's kind that is not stored is an error where the user evidently
    // keeps that part of the country (more than half of the table's keys of its Kreis, or for
    // Kreise of its Land, are stored); elsewhere (neighbouring Kreise in a Land-wide table)
    // the row is counted, not imported.
    let group = |k: &str| -> String {
        match k.len() {
            8 | 9 | 12 => k[..5].to_string(),
            n if n >= 2 => k[..2].to_string(),
            _ => String::new(),
        }
    };
    let mut coverage: HashMap<String, (usize, usize)> = HashMap::new();
    for (key, name, _) in &distinct {
        if OfficialKey::classify(key, name.as_deref().unwrap_or("")) == target_kind {
            let c = coverage.entry(group(key)).or_default();
            c.1 += 1;
            if target.resolve(key).is_some() {
                c.0 += 1;
            }
        }
    }
    let kept = |k: &str| coverage.get(&group(k)).is_some_and(|(stored, all)| *stored * 2 > *all);
    let above: Vec<&crate::placement::StoredLevel> = stored.levels.iter().filter(|l| l.rank < target.rank).collect();
    let below: Vec<&crate::placement::StoredLevel> = stored.levels.iter().filter(|l| l.rank > target.rank).collect();
    // Key → (target key, totals above).
    let mut place: HashMap<Arc<str>, Place> = HashMap::new();
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    let mut missing: Vec<String> = Vec::new();
    let mut kreisfrei = 0usize;
    for (key, name, line) in &distinct {
        let name_text = name.as_deref().unwrap_or("");
        let kind = OfficialKey::classify(key, name_text);
        let on_target = target.resolve(key);
        if on_target.as_deref().is_some_and(|t| t != &**key) && key.len() == 5 {
            kreisfrei += 1;
        }
        let totals: Vec<(&str, String)> =
            above.iter().filter(|l| l.areas.contains_key(&**key)).map(|l| (l.name.as_str(), key.to_string())).collect();
        if on_target.is_none() && totals.is_empty() {
            let label = kind.map(|k| k.label()).unwrap_or("ohne amtlichen Schlüssel");
            if below.iter().any(|l| l.areas.contains_key(&**key)) {
                *counted.entry(format!("{label} (Ebene unterhalb von „{}“)", target.name)).or_default() += 1;
            } else if kind.is_some() && kind == target_kind && kept(key) {
                missing.push(format!(
                    "Zeile {line}: Schlüssel {key} („{name_text}“) gehört zur Ebene „{}“, ist dort aber nicht gespeichert",
                    target.name
                ));
            } else {
                *counted.entry(label.to_string()).or_default() += 1;
            }
            continue;
        }
        place.insert(Arc::clone(key), (on_target, totals));
    }
    if !missing.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems: missing });
    }
    // Which reference date counts.
    let period = profile.period.as_deref().map(|p| period_of(p, file)).transpose()?;
    let year_override = profile.year;
    // Each key's stored key on the target level and its totals above, as shared strings,
    // decided once per key.
    let mut area_levels: HashMap<String, String> = HashMap::new();
    // Delivered key → (its key on the target level, its keys on the levels above).
    type Targets = (Option<Arc<str>>, Vec<Arc<str>>);
    let targets: HashMap<Arc<str>, Targets, foldhash::fast::RandomState> = place
        .iter()
        .map(|(k, (t, totals))| {
            if let Some(t) = t {
                area_levels.insert(t.clone(), target.name.clone());
            }
            for (level, key) in totals {
                area_levels.insert(key.clone(), level.to_string());
            }
            (Arc::clone(k), (t.as_deref().map(Arc::from), totals.iter().map(|(_, key)| Arc::from(key.as_str())).collect()))
        })
        .collect();
    let mut rows: Vec<DataRow> = Vec::with_capacity(table.records.len());
    let var_ids: Vec<Arc<str>> = table.variables.iter().map(|v| Arc::from(v.id.as_str())).collect();
    // Keys are shared strings (one `Arc` per key from the reader): their address identifies them.
    let mut seen_dates: HashMap<(usize, u32, i32), (u32, u32), foldhash::fast::RandomState> = HashMap::default();
    let mut conflicts: Vec<String> = Vec::new();
    let dates_iso: Vec<Option<Arc<str>>> = table.dates.iter().map(|d| (d.iso.len() > 4).then(|| Arc::from(d.iso.as_str()))).collect();
    // Per variable, the dates its values carry (few).
    let mut used_dates: Vec<Vec<u32>> = vec![Vec::new(); table.variables.len()];
    let mut skipped_period = 0usize;
    let columns = table.columns.clone();
    let source_text = table.source();
    let records = std::mem::take(&mut table.records);
    // Two reference dates can only collide within a year that has two of them.
    let several_dates = {
        let mut years: Vec<i32> = table.dates.iter().map(|d| year_override.unwrap_or(d.year)).collect();
        let n = years.len();
        years.sort_unstable();
        years.dedup();
        years.len() < n
    };
    for r in records {
        let Some((on_target, totals)) = targets.get(&r.key) else { continue };
        let date = &table.dates[r.date as usize];
        if let Some(p) = period
            && !period_matches(date, p)
        {
            skipped_period += 1;
            continue;
        }
        let year = year_override.unwrap_or(date.year);
        if several_dates
            && let Some((first_date, first_line)) =
                seen_dates.insert((Arc::as_ptr(&r.key) as *const u8 as usize, r.variable, year), (r.date, r.line))
            && first_date != r.date
            && conflicts.len() < 30
        {
            conflicts.push(format!(
                "Gebiet {} „{}“, Jahr {year}: zwei Stichtage ({} in Zeile {first_line}, {} in Zeile {}); bitte mit --period einen wählen (z. B. --period 12 für Dezember)",
                r.key,
                table.variables[r.variable as usize].label,
                date_text(&table.dates[first_date as usize].iso),
                date_text(&date.iso),
                r.line
            ));
        }
        let used = &mut used_dates[r.variable as usize];
        if !used.contains(&r.date) {
            used.push(r.date);
        }
        let at = Location { sheet: None, line: r.line as usize, column: Arc::clone(&columns[r.column as usize]) };
        for area in on_target.iter().chain(totals.iter()) {
            rows.push(DataRow {
                area: Arc::clone(area),
                year,
                variable: Arc::clone(&var_ids[r.variable as usize]),
                cell: r.cell,
                at: at.clone(),
                reference_date: dates_iso[r.date as usize].clone(),
                quality: r.quality.clone(),
            });
        }
    }
    if !conflicts.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems: conflicts });
    }
    if rows.is_empty() {
        return Err(ImportError::file(file, format!("keine Werte für die Ebene „{}“ oder darüber in der Tabelle", target.name)));
    }
    // Only keys that exist on several levels need their level named.
    let mut levels_of: HashMap<&str, usize> = HashMap::new();
    for l in &stored.levels {
        for k in l.areas.keys() {
            *levels_of.entry(k.as_str()).or_default() += 1;
        }
    }
    area_levels.retain(|k, _| levels_of.get(k.as_str()).is_some_and(|n| *n > 1));
    // Summary of what was recognised.
    let mut detected = vec![format!("Format: {}", table.format.label())];
    if !table.encoding.is_empty() {
        detected.push(format!("Kodierung: {}", table.encoding));
    }
    if let Some(src) = &source_text {
        detected.push(format!("Quelle: {src}"));
    }
    if let Some(d) = &table.depth {
        detected.push(format!("Regionale Tiefe: {d}"));
    }
    if table.format == Format::GenesisTable {
        detected.push(format!("Kopfzeilen: {}", table.header_rows));
    }
    let shown: Vec<String> = table.variables.iter().take(12).map(|v| format!("{} = „{}“", v.id, v.label)).collect();
    detected.push(format!(
        "Merkmale ({}): {}{}",
        table.variables.len(),
        shown.join("; "),
        if table.variables.len() > 12 { " …" } else { "" }
    ));
    let mut per_level: BTreeMap<(usize, String), usize> = BTreeMap::new();
    {
        let mut counted_keys: HashSet<(&str, &str)> = HashSet::new();
        for (key, (t, totals)) in &place {
            if let Some(t) = t
                && counted_keys.insert((target.name.as_str(), t.as_str()))
            {
                *per_level.entry((target.rank, target.name.clone())).or_default() += 1;
            }
            for (level, _) in totals {
                if counted_keys.insert((level, key)) {
                    let rank = stored.level(level).map(|l| l.rank).unwrap_or(0);
                    *per_level.entry((rank, level.to_string())).or_default() += 1;
                }
            }
        }
    }
    for ((rank, level), n) in &per_level {
        let what = if *rank == target.rank { "Gebiete der gewählten Ebene" } else { "gelieferte Summen, mit den Teilgebieten verglichen" };
        detected.push(format!("Ebene „{level}“: {n} {what}"));
    }
    if kreisfrei > 0 {
        detected
            .push(format!("{kreisfrei} kreisfreie Städte mit fünfstelligem Schlüssel als Gemeinden der Ebene „{}“ erkannt", target.name));
    }
    for (kind, n) in &counted {
        detected.push(format!("Nicht importiert: {n} Zeilen „{kind}“"));
    }
    let mut all_dates: Vec<&str> = table.dates.iter().map(|d| d.iso.as_str()).collect();
    all_dates.sort();
    detected.push(format!("Stichtage/Zeiträume: {}", all_dates.iter().map(|d| date_text(d)).collect::<Vec<_>>().join(", ")));
    if skipped_period > 0 {
        detected.push(format!("{skipped_period} Werte anderer Stichtage durch --period ausgelassen"));
    }
    if table.symbols > 0 {
        detected.push(format!("Amtliche Zeichen statt Zahlen: {}", table.symbols));
    }
    if !table.quality.is_empty() {
        let q: Vec<String> = table.quality.iter().map(|(f, n)| format!("„{f}“ {n}×")).collect();
        detected.push(format!("Qualitätskennzeichen: {}", q.join(", ")));
    }
    if table.footnotes > 0 {
        detected.push(format!("Fußnotenzeichen von Werten und Namen getrennt: {}", table.footnotes));
    }
    let mut notes = table.notes;
    if year_override.is_some() {
        notes.push("Jahr aus --year statt aus dem Stichtag".into());
    }
    // Variables.
    let rates: HashSet<String> = profile.rates.iter().map(|r| crate::identifier(r)).collect();
    let source = profile.source.clone().or(source_text);
    let variables: Vec<VariableMeta> = table
        .variables
        .iter()
        .enumerate()
        .filter(|(i, _)| !used_dates[*i].is_empty())
        .map(|(i, v)| {
            let vp = profile.variables.get(&v.id).cloned().unwrap_or_default();
            let kind = vp
                .kind
                .or_else(|| rates.contains(&v.id).then_some(VariableKind::Rate))
                .or(profile.kind)
                .unwrap_or(if v.is_count() { VariableKind::Count } else { VariableKind::Rate });
            let one_date = match used_dates[i].as_slice() {
                [d] => Some(date_text(&table.dates[*d as usize].iso)),
                _ => None,
            };
            VariableMeta {
                key: v.id.clone(),
                label: vp.label.or_else(|| Some(v.label.clone())),
                unit: vp.unit.or_else(|| profile.unit.clone()).or_else(|| v.unit.clone()),
                kind: Some(kind),
                source: vp.source.or_else(|| source.clone()),
                reference_date: vp.reference_date.or_else(|| profile.reference_date.clone()).or(one_date),
                description: vp.description,
            }
        })
        .collect();
    let mut resolved = profile.clone();
    resolved.level = Some(target.name.clone());
    if table.format == Format::GenesisTable {
        resolved.header_rows = Some(table.header_rows);
    }
    Ok(PreparedData {
        batch: DataBatch { file: file.to_string(), level: None, rows, variables, area_levels, current_boundaries: false },
        resolved,
        notes,
        detected,
        empty_cells: table.empty_cells,
        missing_cells: 0,
    })
}

/// The area of each row of a table without keys, by its name: `names[i]` is the key of row
/// `i`, or `None` for rows that are not an area of `level` (combined areas, totals) — those
/// are counted in the summary, never stored on an area. Ambiguous and unknown names are
/// errors naming the line, the candidates or the nearest stored names.
pub struct NameMatches {
    pub keys: Vec<RowArea>,
    pub detected: Vec<String>,
    /// name → key decisions, for the profile.
    pub decisions: BTreeMap<String, String>,
}

/// Matches `names` (one per row, with its line and its sum of values) to the stored areas of
/// `level`; higher levels take total rows that repeat a name.
pub fn match_names(
    rows: &[(usize, String, f64)],
    level: &StoredLevel,
    above: &[&StoredLevel],
    saved: &BTreeMap<String, String>,
    column: &str,
    file: &str,
) -> Result<NameMatches> {
    let index = NameIndex::new(level.areas.iter().map(|(k, n)| (k.as_str(), n.as_str())));
    let above_ix: Vec<(&StoredLevel, NameIndex)> =
        above.iter().map(|l| (*l, NameIndex::new(l.areas.iter().map(|(k, n)| (k.as_str(), n.as_str()))))).collect();
    // A name delivered twice: the row with the larger values is a total of a higher level.
    let mut by_norm: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, (_, name, _)) in rows.iter().enumerate() {
        by_norm.entry(quartier_core::names::normalise(name)).or_default().push(i);
    }
    let total_rows: HashSet<usize> = by_norm
        .values()
        .filter(|v| v.len() == 2)
        .filter_map(|v| {
            let (a, b) = (v[0], v[1]);
            if rows[a].2 > rows[b].2 {
                Some(a)
            } else if rows[b].2 > rows[a].2 {
                Some(b)
            } else {
                None
            }
        })
        .collect();
    let mut out = NameMatches { keys: Vec::with_capacity(rows.len()), detected: vec![], decisions: BTreeMap::new() };
    let mut problems = Vec::new();
    let (mut matched, mut combined, mut totals, mut saved_hits) = (0usize, 0usize, 0usize, 0usize);
    let total_words = ["insgesamt", "gesamt", "summe", "zusammen", "stadt insgesamt"];
    for (i, (line, name, _)) in rows.iter().enumerate() {
        if let Some(k) = saved.get(name.trim()) {
            if level.areas.contains_key(k) {
                saved_hits += 1;
                out.keys.push(Some((Arc::from(k.as_str()), None)));
                continue;
            }
            if let Some(l) = above.iter().find(|l| l.areas.contains_key(k)) {
                out.keys.push(Some((Arc::from(k.as_str()), Some(l.name.clone()))));
                continue;
            }
        }
        let lower = name.to_lowercase();
        let higher = |out: &mut NameMatches| -> bool {
            for (l, ix) in &above_ix {
                if let NameMatch::Unique(k) = ix.lookup(name) {
                    out.decisions.insert(name.trim().to_string(), k.clone());
                    out.keys.push(Some((Arc::from(k.as_str()), Some(l.name.clone()))));
                    return true;
                }
            }
            false
        };
        if total_rows.contains(&i) || total_words.iter().any(|w| lower.split_whitespace().any(|x| x == *w)) {
            totals += 1;
            if !higher(&mut out) {
                out.keys.push(None);
            }
            continue;
        }
        match index.lookup(name) {
            NameMatch::Unique(k) => {
                matched += 1;
                out.decisions.insert(name.trim().to_string(), k.clone());
                out.keys.push(Some((Arc::from(k.as_str()), None)));
            }
            NameMatch::Combined(keys) => {
                combined += 1;
                let _ = keys;
                out.keys.push(None);
            }
            NameMatch::Ambiguous(keys) => {
                let list: Vec<String> = keys.iter().map(|k| format!("{k} „{}“", level.areas[k])).collect();
                problems.push(format!(
                    "Zeile {line}, Spalte „{column}“: „{name}“ passt zu mehreren Gebieten der Ebene „{}“: {}; im Importprofil unter [names] festlegen",
                    level.name,
                    list.join(", ")
                ));
                out.keys.push(None);
            }
            NameMatch::Unmatched(near) => {
                if higher(&mut out) {
                    totals += 1;
                    continue;
                }
                let hint = if near.is_empty() { String::new() } else { format!("; ähnlich: {}", near.join(", ")) };
                problems.push(format!("Zeile {line}, Spalte „{column}“: kein Gebiet „{name}“ auf der Ebene „{}“{hint}", level.name));
                out.keys.push(None);
            }
        }
    }
    if !problems.is_empty() {
        return Err(ImportError::Problems { file: file.to_string(), problems });
    }
    out.detected.push(format!(
        "Gebiete nach Namen (Spalte „{column}“, Ebene „{}“): {matched} zugeordnet{}{}{}",
        level.name,
        if saved_hits > 0 { format!(", {saved_hits} aus dem Importprofil") } else { String::new() },
        if combined > 0 { format!(", {combined} zusammengefasste Zeilen („A und B“) übergangen") } else { String::new() },
        if totals > 0 { format!(", {totals} Summenzeilen (nie auf ein Gebiet geschrieben)") } else { String::new() },
    ));
    Ok(out)
}

/// Areas of several levels from the key structure of an official table.
#[derive(Debug)]
pub struct AreaPlan {
    /// From the top: the key kind, the level name it becomes, its areas (parents set).
    pub levels: Vec<(OfficialKey, String, Vec<quartier_store::NewArea>)>,
    pub notes: Vec<String>,
}

/// Default level names for the kinds of official keys.
pub fn level_name(kind: OfficialKey) -> &'static str {
    match kind {
        OfficialKey::Germany => "Deutschland",
        OfficialKey::Land => "Land",
        OfficialKey::Regierungsbezirk => "Regierungsbezirk",
        OfficialKey::Kreis => "Kreis",
        OfficialKey::Gemeindeverband => "Gemeindeverband",
        OfficialKey::Gemeinde => "Gemeinde",
        OfficialKey::Other => "Gebietseinheit",
    }
}

/// Derives the areas of a table's rows, level by level, with parents from the key
/// structure (Land 2, Regierungsbezirk 3, Kreis 5, Gemeindeverband 9, Gemeinde 8 or 12).
///
/// `within`: only this key, what lies below it and its ancestors (a Kreis takes its own
/// municipalities from a Land-wide table). Deutschland and keys of irregular length are left
/// out (and said so). An intermediate level (Regierungsbezirk, Gemeindeverband) is created
/// only when every area below it has one, because a parent lies on the level directly above.
/// A kreisfreie Stadt, delivered only as a Kreis, also becomes its own Gemeinde.
pub fn area_plan(table: &Table, within: Option<&str>) -> AreaPlan {
    let mut notes = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut by_kind: BTreeMap<OfficialKey, Vec<(String, String)>> = BTreeMap::new();
    let mut left_out: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in &table.records {
        if !seen.insert(&r.key) {
            continue;
        }
        if let Some(w) = within
            && !(r.key.starts_with(w) || w.starts_with(&*r.key))
        {
            continue;
        }
        let name = r.name.as_deref().unwrap_or(&r.key).trim().to_string();
        match OfficialKey::classify(&r.key, &name) {
            Some(k @ (OfficialKey::Germany | OfficialKey::Other)) => *left_out.entry(k.label()).or_default() += 1,
            Some(k) => by_kind.entry(k).or_default().push((r.key.to_string(), name)),
            None => *left_out.entry("ohne amtlichen Schlüssel").or_default() += 1,
        }
    }
    for (k, n) in &left_out {
        notes.push(format!("nicht als Gebiete angelegt: {n} × {k}"));
    }
    // A table of Kreis depth may show a few cities inside Kreise (Hannover in the Region
    // Hannover): they do not make a municipal level.
    if let (Some(kreise), Some(gemeinden)) = (by_kind.get(&OfficialKey::Kreis), by_kind.get(&OfficialKey::Gemeinde))
        && gemeinden.len() < kreise.len()
    {
        let shown: Vec<String> = gemeinden.iter().take(3).map(|(k, n)| format!("{k} „{n}“")).collect();
        notes.push(format!(
            "{} Gemeinden in einer Tabelle der Kreisebene (z. B. {}) nicht als eigene Ebene angelegt",
            gemeinden.len(),
            shown.join(", ")
        ));
        by_kind.remove(&OfficialKey::Gemeinde);
    }
    // Kreisfreie Städte become their own municipality when the table has municipalities.
    if let (Some(kreise), Some(gemeinden)) = (by_kind.get(&OfficialKey::Kreis), by_kind.get(&OfficialKey::Gemeinde)) {
        let twelve = gemeinden.iter().filter(|(k, _)| k.len() == 12).count() * 2 > gemeinden.len();
        let with_children: HashSet<&str> = gemeinden.iter().map(|(k, _)| &k[..5]).collect();
        let added: Vec<(String, String)> = kreise
            .iter()
            .filter(|(k, _)| !with_children.contains(k.as_str()))
            .map(|(k, n)| (if twelve { format!("{k}0000000") } else { format!("{k}000") }, n.clone()))
            .collect();
        if !added.is_empty() {
            notes.push(format!("{} kreisfreie Städte auch als Gemeinde angelegt (z. B. {} „{}“)", added.len(), added[0].0, added[0].1));
            by_kind.get_mut(&OfficialKey::Gemeinde).expect("present").extend(added);
        }
    }
    // Intermediate levels only when complete.
    let kinds: Vec<OfficialKey> = by_kind.keys().copied().collect();
    let mut included: Vec<OfficialKey> = Vec::new();
    for (i, kind) in kinds.iter().enumerate() {
        let intermediate = matches!(kind, OfficialKey::Regierungsbezirk | OfficialKey::Gemeindeverband);
        if intermediate && let Some(next) = kinds.get(i + 1) {
            let own: HashSet<&str> = by_kind[kind].iter().map(|(k, _)| k.as_str()).collect();
            let complete = by_kind[next].iter().all(|(k, _)| OfficialKey::parent_key(k, |p| own.contains(p)).is_some());
            if !complete {
                notes.push(format!(
                    "Ebene „{}“ nicht angelegt: nicht jedes Gebiet der Ebene darunter hat eines ({} Gebiete übergangen)",
                    level_name(*kind),
                    by_kind[kind].len()
                ));
                continue;
            }
        }
        included.push(*kind);
    }
    let mut levels = Vec::new();
    for (i, kind) in included.iter().enumerate() {
        let above: Option<HashSet<&str>> = i.checked_sub(1).map(|j| by_kind[&included[j]].iter().map(|(k, _)| k.as_str()).collect());
        let mut areas: Vec<quartier_store::NewArea> = by_kind[kind]
            .iter()
            .map(|(key, name)| quartier_store::NewArea {
                key: key.clone(),
                name: name.clone(),
                parent: above.as_ref().and_then(|a| {
                    // A 12-digit municipality hangs on its Kreis when no Verband level exists.
                    OfficialKey::parent_key(key, |p| a.contains(p))
                }),
                geometry: None,
                source_geometry: None,
                area_m2: None,
                origin: format!("Schlüssel {key}"),
            })
            .collect();
        areas.sort_by(|a, b| a.key.cmp(&b.key));
        levels.push((*kind, level_name(*kind).to_string(), areas));
    }
    AreaPlan { levels, notes }
}
