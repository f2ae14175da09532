//! Reading a file and storing it: the one path for the CLI, the demo and the web app's
//! Verwaltung. The only part of this crate that writes, and only through [`Store`], whose
//! `apply_*` calls are one transaction each (a dry run rolls back).

use crate::ImportError;
use crate::areas::{self, AreaOptions, ParentCandidates, PreparedAreas, RawAreas};
use crate::data::{self, DataProfile, PreparedData};
use quartier_geom::wkb::{self, Decoded};
use quartier_store::{AreaBatch, AreaReport, BoundaryVersion, DataReport, NewArea, Store, StoreError};
use std::collections::HashMap;
use std::path::Path;

/// Reading or storing failed; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Import(#[from] ImportError),
    /// The store's message is part of this one (not a separate `source`, which `{:#}` would
    /// print a second time).
    #[error("{file}: {error}")]
    Store { file: String, error: StoreError },
}

fn stored(file: &Path) -> impl FnOnce(StoreError) -> LoadError + '_ {
    move |error| LoadError::Store { file: file.display().to_string(), error }
}

/// Reads a delivery with `profile` and stores it (or, with `dry_run`, only reports what
/// would change). `shown` is the file's name in the import log (an upload's original name
/// rather than where the server keeps it).
pub fn data(
    store: &mut dyn Store,
    file: &Path,
    shown: &str,
    profile: &DataProfile,
    dry_run: bool,
) -> Result<(PreparedData, DataReport), LoadError> {
    let t0 = std::time::Instant::now();
    let areas = crate::placement::StoredAreas::new(&store.areas(None).map_err(stored(file))?);
    let mut prepared = data::read(file, profile, &areas)?;
    prepared.batch.file = shown.to_string();
    prepared.batch.current_boundaries = profile.current_boundaries;
    let t1 = std::time::Instant::now();
    let report = store.apply_data(&prepared.batch, dry_run).map_err(stored(file))?;
    // QUARTIER_TIMING=1: the read and store phases on stderr (bench/run.sh reads them).
    if std::env::var_os("QUARTIER_TIMING").is_some() {
        let (read, store) = ((t1 - t0).as_secs_f64(), t1.elapsed().as_secs_f64());
        eprintln!("timing: load_s={:.3} read_s={read:.3} store_s={store:.3}", read + store);
    }
    Ok((prepared, report))
}

/// Reads an area file for a defined level and stores it (or, with `dry_run`, only reports).
/// Without a parent field or key prefix, parents are found spatially on the level above.
/// `shown` as for [`data`].
pub fn areas(
    store: &mut dyn Store,
    file: &Path,
    shown: &str,
    opts: &AreaOptions,
    dry_run: bool,
) -> Result<(RawAreas, PreparedAreas, AreaReport), LoadError> {
    let levels = store.levels().map_err(stored(file))?;
    let Some(level) = levels.iter().find(|l| l.name == opts.level) else {
        let names: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
        let names = if names.is_empty() { "keine".to_string() } else { names.join(" → ") };
        return Err(stored(file)(StoreError::UnknownLevel(opts.level.clone(), names)));
    };
    let raw = areas::read(file, opts)?;
    let parent_level = levels.iter().find(|l| level.rank > 0 && l.rank == level.rank - 1);
    let candidates = match parent_level {
        Some(p) if opts.parent_field.is_none() && opts.parent_prefix.is_none() => {
            let geoms = store.geometries(&p.name).map_err(stored(file))?;
            let areas = geoms
                .into_iter()
                .filter_map(|(k, b)| match wkb::decode(&b) {
                    Ok(Decoded::Areal(mp)) => Some((k, mp)),
                    _ => None,
                })
                .collect();
            Some(ParentCandidates { level: p.name.clone(), areas })
        }
        _ => None,
    };
    let mut prepared = areas::prepare(&raw, opts, candidates.as_ref())?;
    prepared.batch.file = shown.to_string();
    prepared.changes = boundary_changes(store, &prepared.batch)?;
    if let Some(from) = &opts.valid_from {
        prepared.batch.version =
            Some(BoundaryVersion { valid_from: from.clone(), same_territory: same_territory(prepared.changes.as_ref()) });
    }
    let report = store.apply_areas(&prepared.batch, dry_run).map_err(stored(file))?;
    Ok((raw, prepared, report))
}

/// Keys whose territory is, within the overlay's tolerance, that of the stored area with the
/// same key (unchanged, or only renamed): these continue into a new boundary set.
fn same_territory(changes: Option<&areas::BoundaryChanges>) -> std::collections::BTreeSet<String> {
    use quartier_core::crosswalk::Change;
    let same = [Change::Unchanged.label_de(), Change::Renamed.label_de()];
    changes
        .map(|c| c.areas.iter().filter(|a| same.contains(&a.change) && a.from == [a.key.clone()]).map(|a| a.key.clone()).collect())
        .unwrap_or_default()
}

/// The batch's boundaries against the stored ones of its level, when both have geometries.
fn boundary_changes(store: &dyn Store, batch: &AreaBatch) -> Result<Option<areas::BoundaryChanges>, LoadError> {
    let here = |error| LoadError::Store { file: batch.file.clone(), error };
    let decode = |b: &[u8]| match wkb::decode(b) {
        Ok(Decoded::Areal(mp)) => Some(mp),
        _ => None,
    };
    let incoming: Vec<(String, String, quartier_geom::MultiPolygon)> =
        batch.areas.iter().filter_map(|a| Some((a.key.clone(), a.name.clone(), decode(a.geometry.as_deref()?)?))).collect();
    if incoming.is_empty() {
        return Ok(None);
    }
    let names: HashMap<String, String> = store.areas(Some(&batch.level)).map_err(here)?.into_iter().map(|a| (a.key, a.name)).collect();
    let stored: Vec<(String, String, quartier_geom::MultiPolygon)> = store
        .geometries(&batch.level)
        .map_err(here)?
        .into_iter()
        .filter_map(|(k, b)| {
            let g = decode(&b)?;
            Some((k.clone(), names.get(&k).cloned().unwrap_or_default(), g))
        })
        .collect();
    if stored.is_empty() {
        return Ok(None);
    }
    Ok(Some(areas::compare_boundaries(&batch.file, &stored, &incoming)?))
}

/// Composes the geometries of `level` from its children (the level below), keeping keys,
/// names and parents: (areas composed, report). One transaction.
pub fn dissolve(store: &mut dyn Store, level: &str) -> Result<(usize, AreaReport), LoadError> {
    let here = |error| LoadError::Store { file: format!("Ebene „{level}“"), error };
    let fail = |message: String| LoadError::Import(ImportError::File { file: format!("Ebene „{level}“"), message });
    let levels = store.levels().map_err(here)?;
    let Some(l) = levels.iter().find(|x| x.name == level) else {
        let names: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
        return Err(here(StoreError::UnknownLevel(level.to_string(), names.join(" → "))));
    };
    let Some(child) = levels.iter().find(|x| x.rank == l.rank + 1) else {
        return Err(fail("ist die unterste Ebene: es gibt keine Teilgebiete zum Zusammensetzen".into()));
    };
    let children = store.areas(Some(&child.name)).map_err(here)?;
    let parent_of: HashMap<&str, &str> = children.iter().filter_map(|c| c.parent.as_deref().map(|p| (c.key.as_str(), p))).collect();
    let grouped: Vec<(String, quartier_geom::MultiPolygon)> = store
        .geometries(&child.name)
        .map_err(here)?
        .into_iter()
        .filter_map(|(k, b)| match wkb::decode(&b) {
            Ok(Decoded::Areal(mp)) => parent_of.get(k.as_str()).map(|p| (p.to_string(), mp)),
            _ => None,
        })
        .collect();
    if grouped.is_empty() {
        return Err(fail(format!("die Gebiete der Ebene „{}“ haben keine Geometrien mit übergeordnetem Gebiet", child.name)));
    }
    let dissolved = areas::dissolve(&grouped)?;
    let current: HashMap<String, quartier_store::AreaRecord> =
        store.areas(Some(level)).map_err(here)?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let batch = AreaBatch {
        file: format!("(aufgelöst aus {})", child.name),
        level: level.to_string(),
        areas: dissolved
            .iter()
            .filter_map(|(k, g, m2)| {
                current.get(k).map(|a| NewArea {
                    key: k.clone(),
                    name: a.name.clone(),
                    parent: a.parent.clone(),
                    geometry: Some(wkb::encode(g)),
                    source_geometry: None,
                    area_m2: Some(*m2),
                    origin: format!("Gebiet {k}"),
                })
            })
            .collect(),
        source_crs: Some(4326),
        version: None,
    };
    let report = store.apply_areas(&batch, false).map_err(here)?;
    Ok((batch.areas.len(), report))
}

/// Areas created from an official statistics table.
#[derive(Debug)]
pub struct OfficialAreas {
    pub format: crate::official::Format,
    pub source: Option<String>,
    pub plan: crate::placement::AreaPlan,
    /// Levels defined by this import (none on a dry run: they are only named).
    pub levels_new: Vec<String>,
    /// One report per level; empty on a dry run that would define new levels.
    pub reports: Vec<AreaReport>,
}

/// Creates the areas of several levels from a GENESIS table (or flat file) of official keys
/// and names, with parents from the key structure; `None` when the file is no such table.
/// Missing levels are defined first (not on a dry run); the areas of all levels are stored
/// in one transaction.
pub fn official_areas(
    store: &mut dyn Store,
    file: &Path,
    shown: &str,
    within: Option<&str>,
    encoding: Option<&str>,
    dry_run: bool,
) -> Result<Option<OfficialAreas>, LoadError> {
    let name = file.display().to_string();
    let profile = DataProfile { encoding: encoding.map(str::to_string), ..Default::default() };
    let Some(official) = data::official_text(file, &name, &profile)? else { return Ok(None) };
    let opts = crate::official::Options { encoding: official.encoding, ..Default::default() };
    let table = crate::official::read(official.format, &official.text, &name, &opts)?;
    let plan = crate::placement::area_plan(&table, within);
    if plan.levels.is_empty() {
        return Err(LoadError::Import(ImportError::file(
            &name,
            match within {
                Some(w) => format!("keine Gebiete mit Schlüssel {w}… in der Tabelle"),
                None => "keine Gebiete mit amtlichem Schlüssel in der Tabelle".into(),
            },
        )));
    }
    let existing = store.levels().map_err(stored(file))?;
    let wanted: Vec<String> = plan.levels.iter().map(|(_, n, _)| n.clone()).collect();
    let levels_new: Vec<String> = wanted.iter().filter(|w| !existing.iter().any(|l| l.name == **w)).cloned().collect();
    // The table's levels must follow each other directly among the stored levels.
    let mut reports = Vec::new();
    if dry_run && !levels_new.is_empty() {
        return Ok(Some(OfficialAreas { format: official.format, source: table.source(), plan, levels_new, reports }));
    }
    if !levels_new.is_empty() {
        // Official levels lie above a city's own (Kreis → Gemeinde → Stadtteil → …).
        let mut names = wanted.clone();
        names.extend(existing.iter().map(|l| l.name.clone()).filter(|n| !wanted.contains(n)));
        store.define_levels(&names).map_err(stored(file))?;
    }
    let batches: Vec<AreaBatch> = plan
        .levels
        .iter()
        .map(|(_, level, areas)| AreaBatch {
            file: shown.to_string(),
            level: level.clone(),
            areas: areas.clone(),
            source_crs: None,
            version: None,
        })
        .collect();
    reports = store.apply_area_batches(&batches, dry_run).map_err(stored(file))?;
    Ok(Some(OfficialAreas { format: official.format, source: table.source(), plan, levels_new, reports }))
}
