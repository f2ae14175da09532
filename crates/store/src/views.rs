//! Read models combining stored values with the core's hierarchy sums.

use crate::sqlite::node_key;
use crate::{Result, Store, ValueFilter};
use quartier_core::validate::VariableKind;
use quartier_core::{Cell, hierarchy};
use serde::Serialize;
use std::collections::HashMap;

/// Where a shown value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Delivered for this area.
    Delivered,
    /// Summed from the children (counts only).
    Summed,
    /// Neither delivered nor computable.
    Missing,
}

/// One area's value of a variable in a year, as shown in lists and maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaValue {
    pub area: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub value: Option<f64>,
    pub symbol: Option<&'static str>,
    pub origin: Origin,
}

/// Values of `variable` in `year` for every area of `level`: delivered where present, else
/// (for counts) the sum of the children.
pub fn level_values(store: &dyn Store, variable: &str, kind: VariableKind, year: i32, level: &str) -> Result<Vec<AreaValue>> {
    let areas = store.areas(Some(level))?;
    let ranks: HashMap<String, usize> = store.levels()?.into_iter().map(|l| (l.name, l.rank)).collect();
    let delivered = store.values(&ValueFilter { variable: Some(variable.into()), year: Some(year), ..Default::default() })?;
    let keyed: Vec<(String, Cell)> = delivered.iter().map(|v| (node_key(ranks[&v.level], &v.area), v.cell)).collect();
    let cells: HashMap<&str, Cell> = keyed.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    let sums = if kind == VariableKind::Count { hierarchy::sum_up(&store.hierarchy()?, &cells) } else { HashMap::new() };
    Ok(areas
        .into_iter()
        .map(|a| {
            let node = node_key(a.level_rank, &a.key);
            let (value, symbol, origin) = match cells.get(node.as_str()) {
                Some(c) => (c.number(), c.symbol().map(|s| s.as_str()), Origin::Delivered),
                None => match sums.get(&node).and_then(|s| s.value) {
                    Some(v) => (Some(v), None, Origin::Summed),
                    None => (None, None, Origin::Missing),
                },
            };
            AreaValue { area: a.key, name: a.name, level: a.level, parent: a.parent, value, symbol, origin }
        })
        .collect())
}
