//! The area hierarchy: levels are data, ordered top (rank 0) to bottom.
//!
//! Counts are summed up the hierarchy from the children; a parent's own delivered total is
//! kept apart and compared with the sum, because a planner must know when they disagree.

use crate::cell::Cell;
use serde::Serialize;
use std::collections::HashMap;

/// One area as the core sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaNode {
    pub key: String,
    pub level_rank: usize,
    pub parent: Option<String>,
}

/// Derives a parent key from a child key by taking its first `len` characters
/// (Berlin LOR: Planungsraum `01011101` → Bezirksregion `010111` → Bezirk `01`).
pub fn prefix_parent(child_key: &str, len: usize) -> Option<&str> {
    (child_key.len() > len && child_key.is_char_boundary(len)).then(|| &child_key[..len])
}

/// A summed value of an area from its children.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Sum {
    /// The sum over all children (`-` counted as 0); `None` when a child had no number.
    pub value: Option<f64>,
    /// Children that contributed a number.
    pub children_with_value: usize,
    /// Children without a number (missing or a symbol other than `-`).
    pub children_without_value: usize,
    /// Some child (or grandchild) carries an official symbol such as `*` instead of a number.
    pub suppressed: bool,
}

/// Sums a count variable up the hierarchy.
///
/// `values` holds delivered cells by area key. For every area that has children, the sum runs
/// over its children, each child contributing its delivered value or, failing that, its own
/// sum. A sum is complete only when every child contributes a number.
pub fn sum_up(areas: &[AreaNode], values: &HashMap<&str, Cell>) -> HashMap<String, Sum> {
    let tree = Tree::new(areas);
    let cells: Vec<Option<Cell>> = areas.iter().map(|a| values.get(a.key.as_str()).copied()).collect();
    tree.sum_up(&cells).into_iter().enumerate().filter_map(|(i, s)| s.map(|s| (areas[i].key.clone(), s))).collect()
}

/// The hierarchy prepared for many sums (one per variable and year): nodes by index,
/// children lists and the parents from the lowest level up, built once.
#[derive(Debug)]
pub struct Tree<'a> {
    nodes: &'a [AreaNode],
    index: HashMap<&'a str, usize>,
    children: Vec<Vec<usize>>,
    /// Nodes with children, from the lowest level up.
    order: Vec<usize>,
}

impl<'a> Tree<'a> {
    pub fn new(nodes: &'a [AreaNode]) -> Tree<'a> {
        let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.key.as_str(), i)).collect();
        let mut children = vec![Vec::new(); nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            if let Some(p) = n.parent.as_deref().and_then(|p| index.get(p)) {
                children[*p].push(i);
            }
        }
        // Children's sums exist before the parent's.
        let mut order: Vec<usize> = (0..nodes.len()).filter(|i| !children[*i].is_empty()).collect();
        order.sort_by_key(|i| std::cmp::Reverse(nodes[*i].level_rank));
        Tree { nodes, index, children, order }
    }

    /// The index of a node key.
    pub fn index(&self, key: &str) -> Option<usize> {
        self.index.get(key).copied()
    }

    pub fn key(&self, i: usize) -> &str {
        &self.nodes[i].key
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// [`sum_up`] for cells by node index: the sum of every node with children.
    pub fn sum_up(&self, values: &[Option<Cell>]) -> Vec<Option<Sum>> {
        let mut sums: Vec<Option<Sum>> = vec![None; self.nodes.len()];
        for &a in &self.order {
            let mut s = Sum { value: Some(0.0), children_with_value: 0, children_without_value: 0, suppressed: false };
            for &c in &self.children[a] {
                let v = values[c].and_then(|cell| cell.number()).or_else(|| sums[c].and_then(|s| s.value));
                match v {
                    Some(v) => {
                        s.children_with_value += 1;
                        s.value = s.value.map(|acc| acc + v);
                    }
                    None => {
                        s.children_without_value += 1;
                        s.value = None;
                        let symbol = values[c].is_some_and(|cell| cell.symbol().is_some());
                        s.suppressed |= symbol || sums[c].is_some_and(|cs| cs.suppressed);
                    }
                }
            }
            sums[a] = Some(s);
        }
        sums
    }

    /// [`compare_totals`] for cells and sums by node index, ordered by node key.
    pub fn compare_totals(&self, values: &[Option<Cell>], sums: &[Option<Sum>], tolerance: f64) -> Vec<TotalMismatch> {
        let mut out: Vec<TotalMismatch> = self
            .order
            .iter()
            .filter_map(|&i| {
                let summed = sums[i]?.value?;
                let delivered = values[i]?.number()?;
                ((delivered - summed).abs() > tolerance).then(|| TotalMismatch { area: self.nodes[i].key.clone(), delivered, summed })
            })
            .collect();
        out.sort_by(|a, b| a.area.cmp(&b.area));
        out
    }
}

/// A delivered total that disagrees with the sum of the children.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TotalMismatch {
    pub area: String,
    pub delivered: f64,
    pub summed: f64,
}

impl TotalMismatch {
    pub fn difference(&self) -> f64 {
        self.delivered - self.summed
    }
}

/// Compares delivered totals with complete sums; differences beyond `tolerance` (absolute)
/// are reported, sorted by area key.
pub fn compare_totals(values: &HashMap<&str, Cell>, sums: &HashMap<String, Sum>, tolerance: f64) -> Vec<TotalMismatch> {
    let mut out: Vec<TotalMismatch> = sums
        .iter()
        .filter_map(|(k, s)| {
            let summed = s.value?;
            let delivered = values.get(k.as_str())?.number()?;
            ((delivered - summed).abs() > tolerance).then(|| TotalMismatch { area: k.clone(), delivered, summed })
        })
        .collect();
    out.sort_by(|a, b| a.area.cmp(&b.area));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Symbol;

    fn node(key: &str, rank: usize, parent: Option<&str>) -> AreaNode {
        AreaNode { key: key.into(), level_rank: rank, parent: parent.map(Into::into) }
    }

    fn berlin() -> Vec<AreaNode> {
        vec![
            node("01", 0, None),
            node("010111", 1, Some("01")),
            node("010112", 1, Some("01")),
            node("01011101", 2, Some("010111")),
            node("01011102", 2, Some("010111")),
            node("01011201", 2, Some("010112")),
        ]
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix_parent("01011101", 6), Some("010111"));
        assert_eq!(prefix_parent("01", 2), None);
    }

    #[test]
    fn sums_through_two_levels() {
        let areas = berlin();
        let values: HashMap<&str, Cell> =
            [("01011101", Cell::Number(3384.0)), ("01011102", Cell::Symbol(Symbol::Zero)), ("01011201", Cell::Number(100.0))].into();
        let sums = sum_up(&areas, &values);
        assert_eq!(sums["010111"].value, Some(3384.0));
        assert_eq!(sums["01"].value, Some(3484.0));
        assert_eq!(sums["01"].children_with_value, 2);
    }

    #[test]
    fn suppressed_child_makes_sum_incomplete_but_delivered_parent_fills_in() {
        let areas = berlin();
        let values: HashMap<&str, Cell> = [
            ("01011101", Cell::Number(10.0)),
            ("01011102", Cell::Symbol(Symbol::Suppressed)),
            ("01011201", Cell::Number(5.0)),
            ("010111", Cell::Number(12.0)),
        ]
        .into();
        let sums = sum_up(&areas, &values);
        assert_eq!(sums["010111"].value, None);
        assert_eq!(sums["010111"].children_without_value, 1);
        assert!(sums["010111"].suppressed);
        // Bezirk uses the delivered Bezirksregion total where the children's sum is incomplete.
        assert_eq!(sums["01"].value, Some(17.0));
    }

    #[test]
    fn reports_disagreeing_totals() {
        let areas = berlin();
        let values: HashMap<&str, Cell> =
            [("01011101", Cell::Number(10.0)), ("01011102", Cell::Number(2.0)), ("010111", Cell::Number(13.0))].into();
        let sums = sum_up(&areas, &values);
        let m = compare_totals(&values, &sums, 0.5);
        assert_eq!(m, vec![TotalMismatch { area: "010111".into(), delivered: 13.0, summed: 12.0 }]);
    }
}
