//! Statistical disclosure control (Geheimhaltung) for tables of counts.
//!
//! A table is a list of cells and the additivity relations published with it
//! (`total = Σ parts`: a parent area is the sum of its children, `n` the sum of `sgb2_0` and
//! `sgb2_1`). Two steps, as official statistics practise them (Bundesagentur für Arbeit:
//! values 1–2 become `*`; Statistisches Bundesamt, *Leitfaden zur Geheimhaltung*):
//!
//! - **primary suppression**: every count `0 < v < threshold`;
//! - **secondary suppression**: further cells, so that no suppressed cell can be recovered
//!   from the published cells and relations.
//!
//! "Recovered" means: the cell takes a single value on the set of non-negative solutions of
//! the relations with the published cells fixed. [`audit`] decides that in two steps:
//! bound propagation (interval arithmetic over every relation, to a fixpoint) finds cells
//! pinned by non-negativity (e.g. `total = a + b` with `total = 0`); a rank test finds cells
//! determined by the equations (the unit vector of the cell lies in the row space of the
//! relations restricted to suppressed cells — Gaussian elimination per connected component).
//! When every suppressed cell is positive, as [`protect`] ensures by never choosing a zero
//! cell, the rank test is exact: the solution set then has an interior point, so its affine
//! hull is the solution space of the equations.
//!
//! Zeros are published (as `-` in official tables); a zero says "nobody", which the
//! threshold does not protect against either way.

use crate::hierarchy::AreaNode;
use crate::indicator::eval::{IndicatorValue, Status};
use serde::Serialize;
use std::collections::HashMap;

/// The default threshold: counts 1 and 2 are withheld (Statistik der Bundesagentur für Arbeit).
pub const DEFAULT_THRESHOLD: f64 = 3.0;

/// A published additivity relation: `cells[total] = Σ cells[parts]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub total: usize,
    pub parts: Vec<usize>,
}

/// Why a cell is withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Published,
    /// Below the threshold.
    Primary,
    /// Withheld so that a primary cell cannot be recovered.
    Secondary,
}

impl Mark {
    pub fn is_suppressed(self) -> bool {
        self != Mark::Published
    }
}

/// A problem [`audit`] finds in a published table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// A published count below the threshold.
    BelowThreshold { cell: usize, value: f64 },
    /// A suppressed cell whose value follows from the published cells and relations.
    Recoverable { cell: usize, value: f64 },
}

impl Finding {
    pub fn cell(&self) -> usize {
        match self {
            Finding::BelowThreshold { cell, .. } | Finding::Recoverable { cell, .. } => *cell,
        }
    }
}

/// Whether a published count needs primary suppression.
pub fn below_threshold(v: f64, threshold: f64) -> bool {
    v > 0.0 && v < threshold
}

/// Relations of a wide table (`rows × cols`, cell `r·cols + c`): for each row with children
/// (`parent[r]` = its parent row) and each column, parent = Σ children; for each row and each
/// column group `(total, parts)`, total = Σ parts.
pub fn wide_relations(rows: usize, cols: usize, parent: &[Option<usize>], groups: &[(usize, Vec<usize>)]) -> Vec<Relation> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (r, p) in parent.iter().enumerate() {
        if let Some(p) = *p {
            children[p].push(r);
        }
    }
    let mut out = Vec::new();
    for (p, kids) in children.iter().enumerate() {
        if !kids.is_empty() {
            for c in 0..cols {
                out.push(Relation { total: p * cols + c, parts: kids.iter().map(|&k| k * cols + c).collect() });
            }
        }
    }
    for r in 0..rows {
        for (t, parts) in groups {
            out.push(Relation { total: r * cols + t, parts: parts.iter().map(|&g| r * cols + g).collect() });
        }
    }
    out
}

/// The relations that hold in `values` (cells without a value cannot contradict): an
/// attacker who knows the table's structure can use exactly these.
pub fn holding(values: &[Option<f64>], relations: Vec<Relation>) -> Vec<Relation> {
    relations
        .into_iter()
        .filter(|r| {
            let (Some(t), Some(s)) = (values[r.total], r.parts.iter().map(|&p| values[p]).sum::<Option<f64>>()) else {
                return true;
            };
            (t - s).abs() <= 1e-9 * t.abs().max(1.0)
        })
        .collect()
}

/// Protection of one count over an area tree: `cells[i]` the count of node `i` (`None`:
/// no number), `parent[i]` its parent node. Parent = Σ children binds where it holds and every
/// cell of it has a number; the others publish nothing that could give a cell away.
pub fn protect_tree(cells: &[Option<f64>], parent: &[Option<usize>], threshold: f64) -> Vec<Mark> {
    let cells: Vec<Option<f64>> = cells.iter().map(|c| c.filter(|v| *v >= 0.0)).collect();
    let relations: Vec<Relation> = holding(&cells, wide_relations(cells.len(), 1, parent, &[]))
        .into_iter()
        .filter(|r| cells[r.total].is_some() && r.parts.iter().all(|&p| cells[p].is_some()))
        .collect();
    let numbers: Vec<f64> = cells.iter().map(|c| c.unwrap_or(0.0)).collect();
    protect(&numbers, &relations, threshold)
}

/// Disclosure control for computed indicator values before they leave the system.
///
/// Per indicator and year, the numerators and the denominators of all areas and the
/// reference (`node: None`) are protected as tables over the hierarchy (parent = Σ children
/// where that holds; rates are never summed, counts are); `is_count[k]` marks indicators
/// whose value itself is a count, protected the same way. A value whose numerator or
/// denominator is withheld is withheld too — with the denominator known, the rate would give
/// the numerator back. Withheld values, numerators and denominators become `None` with
/// [`Status::Confidential`]. Values that are not `Ok` (e.g. unreliable) are withheld as well.
pub fn protect_indicators(values: &mut [IndicatorValue], nodes: &[AreaNode], is_count: &[bool], threshold: f64) {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.key.as_str(), i)).collect();
    // Row of a node in each table: nodes 0..n, the reference n.
    let n = nodes.len();
    let parent: Vec<Option<usize>> = nodes
        .iter()
        .map(|a| match &a.parent {
            Some(p) => index.get(p.as_str()).copied(),
            None => Some(n),
        })
        .chain(std::iter::once(None))
        .collect();
    let mut groups: HashMap<(usize, i32), Vec<usize>> = HashMap::new();
    for (i, v) in values.iter().enumerate() {
        groups.entry((v.indicator, v.year)).or_default().push(i);
    }
    let protect_column = |members: &[usize], values: &[IndicatorValue], get: &dyn Fn(&IndicatorValue) -> Option<f64>| {
        let mut cells: Vec<Option<f64>> = vec![None; n + 1];
        for &i in members {
            cells[values[i].node.unwrap_or(n)] = get(&values[i]);
        }
        protect_tree(&cells, &parent, threshold)
    };
    for members in groups.values() {
        let k = values[members[0]].indicator;
        let num = protect_column(members, values, &|v| v.numerator);
        let den = protect_column(members, values, &|v| v.denominator);
        let own = is_count[k].then(|| protect_column(members, values, &|v| v.value));
        for &i in members {
            let row = values[i].node.unwrap_or(n);
            let v = &mut values[i];
            let (num_out, den_out) = (num[row].is_suppressed(), den[row].is_suppressed());
            let own_out = own.as_ref().is_some_and(|m| m[row].is_suppressed());
            if num_out {
                v.numerator = None;
            }
            if den_out {
                v.denominator = None;
            }
            if num_out || den_out || own_out || v.status != Status::Ok {
                v.value = None;
                if v.status == Status::Ok {
                    v.status = Status::Confidential;
                }
            }
        }
    }
}

/// Primary and secondary suppression of `values` (true counts, all ≥ 0) under `relations`.
///
/// Secondary cells are chosen greedily: wherever a relation has exactly one suppressed cell,
/// its smallest positive published part (else its total) is added; then [`audit`] checks
/// the whole table and, for each cell still recoverable, a further cell of one of its
/// relations is withheld, until the audit is clean. Not a minimum-loss optimum (that is an
/// integer programme), but safe by construction: the result always passes [`audit`].
pub fn protect(values: &[f64], relations: &[Relation], threshold: f64) -> Vec<Mark> {
    let mut marks: Vec<Mark> =
        values.iter().map(|&v| if below_threshold(v, threshold) { Mark::Primary } else { Mark::Published }).collect();
    let mut by_cell: Vec<Vec<usize>> = vec![Vec::new(); values.len()];
    for (r, rel) in relations.iter().enumerate() {
        by_cell[rel.total].push(r);
        for &p in &rel.parts {
            by_cell[p].push(r);
        }
    }
    let withheld =
        |marks: &[Mark], rel: &Relation| rel.parts.iter().chain(std::iter::once(&rel.total)).filter(|&&c| marks[c].is_suppressed()).count();
    // The cheapest published positive cell of a relation: parts before the total, then one
    // that also protects another relation with a single withheld cell (closing rectangles),
    // then the smallest value.
    let partner = |marks: &[Mark], rel: &Relation| -> Option<usize> {
        let candidates = rel.parts.iter().map(|&p| (0u8, p)).chain(std::iter::once((1u8, rel.total)));
        candidates
            .filter(|&(_, c)| marks[c] == Mark::Published && values[c] > 0.0)
            .map(|(is_total, c)| {
                let fixes = by_cell[c].iter().filter(|&&r| withheld(marks, &relations[r]) == 1).count();
                ((is_total, std::cmp::Reverse(fixes)), c)
            })
            .min_by(|a, b| a.0.cmp(&b.0).then(values[a.1].total_cmp(&values[b.1])).then(a.1.cmp(&b.1)))
            .map(|(_, c)| c)
    };
    loop {
        // Relations with a single withheld cell give it away by subtraction.
        let mut queue: std::collections::VecDeque<usize> = (0..relations.len()).collect();
        while let Some(r) = queue.pop_front() {
            let rel = &relations[r];
            if withheld(&marks, rel) == 1
                && let Some(c) = partner(&marks, rel)
            {
                marks[c] = Mark::Secondary;
                queue.extend(&by_cell[c]);
            }
        }
        let published: Vec<Option<f64>> = values.iter().zip(&marks).map(|(&v, m)| (!m.is_suppressed()).then_some(v)).collect();
        let leaks: Vec<usize> = recoverable(&published, relations).into_iter().map(|(c, _)| c).collect();
        if leaks.is_empty() {
            return marks;
        }
        let mut added = false;
        for c in leaks {
            if let Some(p) = by_cell[c].iter().find_map(|&r| partner(&marks, &relations[r])) {
                marks[p] = Mark::Secondary;
                added = true;
            }
        }
        if !added {
            // Every relation of every leaking cell is withheld already: widen to any
            // positive published cell sharing a relation with a withheld one.
            let next = relations.iter().find_map(|rel| if withheld(&marks, rel) > 0 { partner(&marks, rel) } else { None });
            match next {
                Some(p) => marks[p] = Mark::Secondary,
                // Nothing left to withhold; cannot happen with positive suppressed cells.
                None => return marks,
            }
        }
    }
}

/// Checks a table as published (`None` = withheld): counts below the threshold, and withheld
/// cells that can be recovered. Findings are sorted by cell.
pub fn audit(cells: &[Option<f64>], relations: &[Relation], threshold: f64) -> Vec<Finding> {
    let mut out: Vec<Finding> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|&v| below_threshold(v, threshold)).map(|value| Finding::BelowThreshold { cell: i, value }))
        .collect();
    out.extend(recoverable(cells, relations).into_iter().map(|(cell, value)| Finding::Recoverable { cell, value }));
    out.sort_by_key(|f| f.cell());
    out
}

/// One relation over withheld cells: `Σ coef·x = rhs`.
struct Equation {
    vars: Vec<(usize, f64)>,
    rhs: f64,
}

/// Withheld cells whose value follows from the published ones, with that value.
fn recoverable(cells: &[Option<f64>], relations: &[Relation]) -> Vec<(usize, f64)> {
    // Equations in the withheld cells: total − Σ parts = 0 with published cells moved right.
    let mut eqs: Vec<Equation> = Vec::new();
    for rel in relations {
        let mut vars = Vec::new();
        let mut rhs = 0.0;
        let terms = std::iter::once((rel.total, 1.0)).chain(rel.parts.iter().map(|&p| (p, -1.0)));
        for (c, coef) in terms {
            match cells[c] {
                Some(v) => rhs -= coef * v,
                None => vars.push((c, coef)),
            }
        }
        if !vars.is_empty() {
            eqs.push(Equation { vars, rhs });
        }
    }
    let mut found: Vec<(usize, f64)> = Vec::new();
    // 1. Bounds from non-negativity.
    let (lo, hi) = propagate_bounds(cells.len(), &eqs);
    let mut fixed: Vec<Option<f64>> = vec![None; cells.len()];
    for c in 0..cells.len() {
        if cells[c].is_none() && (hi[c] + 1e-9).floor() <= (lo[c] - 1e-9).ceil() {
            let v = (lo[c] - 1e-9).ceil();
            fixed[c] = Some(v);
            found.push((c, v));
        }
    }
    // 2. Rank test on the rest, per connected component.
    let eqs: Vec<Equation> = eqs
        .into_iter()
        .map(|e| {
            let mut rhs = e.rhs;
            let vars = e
                .vars
                .into_iter()
                .filter(|&(c, coef)| match fixed[c] {
                    Some(v) => {
                        rhs -= coef * v;
                        false
                    }
                    None => true,
                })
                .collect();
            Equation { vars, rhs }
        })
        .filter(|e| !e.vars.is_empty())
        .collect();
    let mut parent: Vec<usize> = (0..cells.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for e in &eqs {
        let a = find(&mut parent, e.vars[0].0);
        for &(c, _) in &e.vars[1..] {
            let b = find(&mut parent, c);
            parent[b] = a;
        }
    }
    let mut components: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, e) in eqs.iter().enumerate() {
        let root = find(&mut parent, e.vars[0].0);
        components.entry(root).or_default().push(i);
    }
    for eq_ids in components.values() {
        let mut vars: Vec<usize> = eq_ids.iter().flat_map(|&i| eqs[i].vars.iter().map(|&(c, _)| c)).collect();
        vars.sort_unstable();
        vars.dedup();
        let col = |c: usize| vars.binary_search(&c).expect("variable of the component");
        let k = vars.len();
        let mut rows: Vec<Vec<f64>> = eq_ids
            .iter()
            .map(|&i| {
                let mut row = vec![0.0; k + 1];
                for &(c, coef) in &eqs[i].vars {
                    row[col(c)] += coef;
                }
                row[k] = eqs[i].rhs;
                row
            })
            .collect();
        let pivots = reduce(&mut rows, k);
        for (r, &pc) in pivots.iter().enumerate() {
            if (0..k).all(|j| j == pc || rows[r][j].abs() < 1e-9) {
                found.push((vars[pc], rows[r][k].round()));
            }
        }
    }
    found.sort_by_key(|&(c, _)| c);
    found
}

/// Interval bounds of every withheld cell implied by `x ≥ 0` and the equations.
fn propagate_bounds(n: usize, eqs: &[Equation]) -> (Vec<f64>, Vec<f64>) {
    let mut lo = vec![0.0f64; n];
    let mut hi = vec![f64::INFINITY; n];
    for _round in 0..64 {
        let mut changed = false;
        for e in eqs {
            // Range of Σ coef·x over the current bounds.
            let (mut smin, mut smax) = (0.0f64, 0.0f64);
            for &(c, a) in &e.vars {
                let (l, h) = if a > 0.0 { (a * lo[c], a * hi[c]) } else { (a * hi[c], a * lo[c]) };
                smin += l;
                smax += h;
            }
            for &(c, a) in &e.vars {
                let (l, h) = if a > 0.0 { (a * lo[c], a * hi[c]) } else { (a * hi[c], a * lo[c]) };
                // a·x = rhs − rest, rest ∈ [smin − l, smax − h] (infinite parts stay infinite).
                let rest_min = if l.is_finite() { smin - l } else { rest_excluding(e, c, &lo, &hi, true) };
                let rest_max = if h.is_finite() { smax - h } else { rest_excluding(e, c, &lo, &hi, false) };
                let (ax_lo, ax_hi) = (e.rhs - rest_max, e.rhs - rest_min);
                let (new_lo, new_hi) = if a > 0.0 { (ax_lo / a, ax_hi / a) } else { (ax_hi / a, ax_lo / a) };
                if new_lo > lo[c] + 1e-9 {
                    lo[c] = new_lo;
                    changed = true;
                }
                if new_hi < hi[c] - 1e-9 {
                    hi[c] = new_hi;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    (lo, hi)
}

fn rest_excluding(e: &Equation, skip: usize, lo: &[f64], hi: &[f64], min: bool) -> f64 {
    e.vars
        .iter()
        .filter(|&&(c, _)| c != skip)
        .map(|&(c, a)| {
            let (l, h) = if a > 0.0 { (a * lo[c], a * hi[c]) } else { (a * hi[c], a * lo[c]) };
            if min { l } else { h }
        })
        .sum()
}

/// Reduced row echelon form of `rows` (k coefficient columns and the right-hand side) with
/// partial pivoting; returns the pivot column of each leading row.
fn reduce(rows: &mut [Vec<f64>], k: usize) -> Vec<usize> {
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..k {
        if r == rows.len() {
            break;
        }
        let best = (r..rows.len()).max_by(|&a, &b| rows[a][c].abs().total_cmp(&rows[b][c].abs())).expect("rows left");
        if rows[best][c].abs() < 1e-9 {
            continue;
        }
        rows.swap(r, best);
        let p = rows[r][c];
        for v in rows[r].iter_mut() {
            *v /= p;
        }
        let pivot_row = rows[r].clone();
        for (i, row) in rows.iter_mut().enumerate() {
            if i != r && row[c].abs() > 1e-12 {
                let f = row[c];
                for (v, pv) in row.iter_mut().zip(&pivot_row) {
                    *v -= f * pv;
                }
            }
        }
        pivots.push(c);
        r += 1;
    }
    pivots
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rows × cols table with row totals, column totals and the grand total, as cells
    /// `r*(cols+1)+c` (the last column and the last row are totals).
    fn two_way(inner: &[&[f64]]) -> (Vec<f64>, Vec<Relation>) {
        let (nr, nc) = (inner.len(), inner[0].len());
        let w = nc + 1;
        let mut v = vec![0.0; (nr + 1) * w];
        for r in 0..nr {
            for c in 0..nc {
                v[r * w + c] = inner[r][c];
                v[r * w + nc] += inner[r][c];
                v[nr * w + c] += inner[r][c];
                v[nr * w + nc] += inner[r][c];
            }
        }
        let mut rel = Vec::new();
        for r in 0..=nr {
            rel.push(Relation { total: r * w + nc, parts: (0..nc).map(|c| r * w + c).collect() });
        }
        for c in 0..=nc {
            rel.push(Relation { total: nr * w + c, parts: (0..nr).map(|r| r * w + c).collect() });
        }
        (v, rel)
    }

    /// An attacker independent of the audit: every non-negative integer filling of the
    /// withheld cells that satisfies the relations (small tables only); returns for each
    /// withheld cell the set of values it takes.
    fn brute_force(cells: &[Option<f64>], relations: &[Relation]) -> Option<Vec<(usize, Vec<u32>)>> {
        let hidden: Vec<usize> = (0..cells.len()).filter(|&c| cells[c].is_none()).collect();
        // A withheld part is at most its relation's published total.
        let global = cells.iter().flatten().cloned().fold(0.0, f64::max) as u32;
        let bounds: Vec<u32> = hidden
            .iter()
            .map(|&h| {
                relations.iter().filter(|r| r.parts.contains(&h)).filter_map(|r| cells[r.total].map(|t| t as u32)).min().unwrap_or(global)
            })
            .collect();
        let space: f64 = bounds.iter().map(|&b| b as f64 + 1.0).product();
        if space > 3e6 {
            return None;
        }
        let mut seen: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); hidden.len()];
        let mut x = vec![0u32; hidden.len()];
        let mut full: Vec<f64> = cells.iter().map(|c| c.unwrap_or(0.0)).collect();
        loop {
            for (i, &c) in hidden.iter().enumerate() {
                full[c] = x[i] as f64;
            }
            if relations.iter().all(|r| (full[r.total] - r.parts.iter().map(|&p| full[p]).sum::<f64>()).abs() < 1e-9) {
                for (i, s) in seen.iter_mut().enumerate() {
                    s.insert(x[i]);
                }
            }
            let mut i = 0;
            while i < x.len() {
                x[i] += 1;
                if x[i] <= bounds[i] {
                    break;
                }
                x[i] = 0;
                i += 1;
            }
            if i == x.len() {
                break;
            }
        }
        Some(hidden.into_iter().zip(seen).map(|(c, s)| (c, s.into_iter().collect())).collect())
    }

    #[test]
    fn primary_cell_alone_in_a_row_is_recovered_by_subtraction() {
        let (v, rel) = two_way(&[&[1.0, 5.0, 7.0], &[4.0, 6.0, 9.0]]);
        let mut cells: Vec<Option<f64>> = v.iter().map(|&x| Some(x)).collect();
        cells[0] = None;
        let f = audit(&cells, &rel, 3.0);
        assert_eq!(f, vec![Finding::Recoverable { cell: 0, value: 1.0 }]);
    }

    #[test]
    fn published_small_count_is_a_finding() {
        let (v, rel) = two_way(&[&[2.0, 5.0], &[4.0, 6.0]]);
        let cells: Vec<Option<f64>> = v.iter().map(|&x| Some(x)).collect();
        assert_eq!(audit(&cells, &rel, 3.0), vec![Finding::BelowThreshold { cell: 0, value: 2.0 }]);
    }

    #[test]
    fn zero_total_pins_withheld_parts_by_non_negativity() {
        // 0 = a + b with both withheld: both must be 0.
        let rel = vec![Relation { total: 0, parts: vec![1, 2] }];
        let f = audit(&[Some(0.0), None, None], &rel, 3.0);
        assert_eq!(f, vec![Finding::Recoverable { cell: 1, value: 0.0 }, Finding::Recoverable { cell: 2, value: 0.0 }]);
    }

    #[test]
    fn protect_completes_a_rectangle_in_a_two_way_table() {
        let (v, rel) = two_way(&[&[1.0, 5.0, 7.0], &[4.0, 6.0, 9.0], &[8.0, 3.0, 12.0]]);
        let marks = protect(&v, &rel, 3.0);
        assert_eq!(marks[0], Mark::Primary);
        let published: Vec<Option<f64>> = v.iter().zip(&marks).map(|(&x, m)| (!m.is_suppressed()).then_some(x)).collect();
        assert!(audit(&published, &rel, 3.0).is_empty());
        // At least a 2×2 pattern: two more in its row and column, one in the opposite corner.
        let hidden: Vec<usize> = (0..v.len()).filter(|&c| marks[c].is_suppressed()).collect();
        assert_eq!(hidden, vec![0, 1, 4, 5], "the 2×2 rectangle around the primary cell");
        for (c, values) in brute_force(&published, &rel).unwrap_or_else(|| panic!("too large: {hidden:?}")) {
            assert!(values.len() > 1, "cell {c} recoverable: {values:?}");
        }
    }

    #[test]
    fn hierarchy_sibling_is_withheld_and_parent_chain_stays_safe() {
        // City 0 = districts 1 + 2; district 1 = areas 3 + 4; district 2 = areas 5 + 6.
        let v = vec![30.0, 11.0, 19.0, 1.0, 10.0, 9.0, 10.0];
        let rel = vec![
            Relation { total: 0, parts: vec![1, 2] },
            Relation { total: 1, parts: vec![3, 4] },
            Relation { total: 2, parts: vec![5, 6] },
        ];
        let marks = protect(&v, &rel, 3.0);
        assert_eq!(marks[3], Mark::Primary);
        assert_eq!(marks[4], Mark::Secondary);
        let published: Vec<Option<f64>> = v.iter().zip(&marks).map(|(&x, m)| (!m.is_suppressed()).then_some(x)).collect();
        assert!(audit(&published, &rel, 3.0).is_empty());
    }

    #[test]
    fn tree_protection_binds_only_complete_sums() {
        let parent = [None, Some(0), Some(0)];
        // 12 = 10 + 2: the 2 and its sibling are withheld.
        let full = protect_tree(&[Some(12.0), Some(10.0), Some(2.0)], &parent, 3.0);
        assert_eq!(full, vec![Mark::Published, Mark::Secondary, Mark::Primary]);
        // A sibling without a number: the sum publishes nothing that gives the 2 away.
        let gap = protect_tree(&[Some(12.0), None, Some(2.0)], &parent, 3.0);
        assert_eq!(gap, vec![Mark::Published, Mark::Published, Mark::Primary]);
    }

    #[test]
    fn no_relations_means_only_primary_suppression() {
        let v = vec![1.0, 2.0, 3.0, 0.0];
        assert_eq!(protect(&v, &[], 3.0), vec![Mark::Primary, Mark::Primary, Mark::Published, Mark::Published]);
    }

    /// Property: on random small two-way tables with small counts, `protect` leaves nothing
    /// that the brute-force attacker can pin down, and every small count is withheld.
    #[test]
    fn random_tables_resist_the_brute_force_attacker() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        let mut attacked = 0;
        for _case in 0..60 {
            let nr = 2 + next(2) as usize;
            let nc = 2 + next(2) as usize;
            let inner: Vec<Vec<f64>> = (0..nr).map(|_| (0..nc).map(|_| next(6) as f64).collect()).collect();
            let refs: Vec<&[f64]> = inner.iter().map(|r| r.as_slice()).collect();
            let (v, rel) = two_way(&refs);
            let marks = protect(&v, &rel, 3.0);
            let published: Vec<Option<f64>> = v.iter().zip(&marks).map(|(&x, m)| (!m.is_suppressed()).then_some(x)).collect();
            assert!(audit(&published, &rel, 3.0).is_empty(), "{inner:?}");
            if let Some(attack) = brute_force(&published, &rel) {
                attacked += 1;
                for (c, values) in attack {
                    assert!(values.len() > 1, "{inner:?}: cell {c} recoverable as {values:?}");
                }
            }
        }
        assert!(attacked >= 20, "only {attacked} tables small enough for the attacker");
    }
}
