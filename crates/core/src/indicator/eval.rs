//! Evaluating indicators for every area of every level and the whole municipality.
//!
//! Counts are summed up the hierarchy first and the formula is applied to the sums: a
//! district's child-poverty rate is Σ recipients / Σ children, never the mean of its
//! Sozialräume' rates. Rates delivered as such are used where delivered and never summed.

use super::catalogue::Catalogue;
use super::formula::Compiled;
use crate::Cell;
use crate::hierarchy::AreaNode;
use crate::validate::VariableKind;
use serde::Serialize;
use std::collections::HashMap;

/// The quality of one computed value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "inputs")]
pub enum Status {
    Ok,
    /// Inputs without a value (named).
    Missing(Vec<String>),
    /// Inputs carrying an official symbol such as `*` or `.` (named).
    Suppressed(Vec<String>),
    /// Denominator below the indicator's minimum: shown internally, hidden in public outputs.
    Unreliable,
    DivisionByZero,
    /// Withheld from public outputs by disclosure control ([`crate::disclosure`]): a count
    /// below the threshold, or a value from which one could be recovered.
    Confidential,
    /// Not a real number (e.g. `ln` of a negative value).
    Invalid,
}

impl Status {
    /// The machine-readable word used in CSV output.
    pub fn code(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing(_) => "missing",
            Status::Suppressed(_) => "suppressed",
            Status::Unreliable => "unreliable",
            Status::DivisionByZero => "division_by_zero",
            Status::Confidential => "confidential",
            Status::Invalid => "invalid",
        }
    }

    /// Whether the value may be shown (internally; public outputs also hide `Unreliable`).
    pub fn has_value(&self) -> bool {
        matches!(self, Status::Ok | Status::Unreliable)
    }
}

/// One indicator value of one area (or of the whole municipality) in one year.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorValue {
    /// Index into the evaluated nodes; `None` for the reference (whole municipality).
    pub node: Option<usize>,
    pub year: i32,
    pub indicator: usize,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub status: Status,
    /// An input is an estimate (quality flag `s`: estimated by the statistics office, or
    /// carried across a boundary change), so this value is one too.
    pub estimated: bool,
}

/// What the evaluation needs: the hierarchy, the kinds of variables, and delivered values.
pub struct Dataset<'a> {
    /// Areas of all levels (keys unique across levels, e.g. `rank/key`).
    pub nodes: &'a [AreaNode],
    pub kinds: &'a HashMap<String, VariableKind>,
    /// Delivered cells by (variable, year), keyed by node key.
    pub values: &'a HashMap<(String, i32), HashMap<String, Cell>>,
    /// Cells that are estimates: (variable, year, node key).
    pub estimated: &'a Estimated,
}

/// Estimated cells: (variable, year, node key).
pub type Estimated = std::collections::HashSet<(String, i32, String)>;

/// Results of one evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    pub values: Vec<IndicatorValue>,
}

#[derive(Clone, Copy, PartialEq)]
enum Input {
    Value(f64),
    Missing,
    Suppressed,
}

/// Evaluates the `selected` indicators (indices into the catalogue; dependencies are
/// evaluated as needed) for all nodes and the reference, in the given years.
pub fn evaluate(cat: &Catalogue, data: &Dataset, years: &[i32], selected: &[usize]) -> Evaluation {
    let n = data.nodes.len();
    let index: HashMap<&str, usize, foldhash::fast::RandomState> =
        data.nodes.iter().enumerate().map(|(i, a)| (a.key.as_str(), i)).collect();
    let tree = Tree::new(data.nodes, &index);
    let top: Vec<usize> = {
        let min_rank = data.nodes.iter().map(|a| a.level_rank).min().unwrap_or(0);
        (0..n).filter(|&i| data.nodes[i].level_rank == min_rank).collect()
    };
    let ids: HashMap<&str, usize> = cat.indicators.iter().enumerate().map(|(i, x)| (x.id.as_str(), i)).collect();
    // Indicators needed: the selected ones and everything they reference.
    let mut needed = vec![false; cat.indicators.len()];
    fn mark(i: usize, cat: &Catalogue, ids: &HashMap<&str, usize>, needed: &mut [bool]) {
        if needed[i] {
            return;
        }
        needed[i] = true;
        for v in cat.indicators[i].expr().variables() {
            if let Some(&j) = ids.get(v.as_str())
                && j != i
            {
                mark(j, cat, ids, needed);
            }
        }
    }
    selected.iter().for_each(|&i| mark(i, cat, &ids, &mut needed));
    let exprs: Vec<_> = cat.indicators.iter().map(|i| i.expr()).collect();
    let mut out = Vec::with_capacity(years.len() * selected.len() * (n + 1));
    for &year in years {
        // Inputs per variable: one column over all nodes plus the reference at index n.
        // Each column with whether each input is an estimate.
        let mut columns: HashMap<String, (Vec<Input>, Vec<bool>)> = HashMap::new();
        let column = |var: &str, columns: &mut HashMap<String, (Vec<Input>, Vec<bool>)>| {
            if columns.contains_key(var) {
                return;
            }
            let kind = data.kinds.get(var).copied().unwrap_or(VariableKind::Count);
            let mut col = vec![Input::Missing; n];
            let mut delivered = vec![false; n];
            let mut est = vec![false; n];
            if let Some(cells) = data.values.get(&(var.to_string(), year)) {
                for (k, c) in cells {
                    if let Some(&i) = index.get(k.as_str()) {
                        col[i] = c.number().map_or(Input::Suppressed, Input::Value);
                        delivered[i] = true;
                        est[i] = !data.estimated.is_empty() && data.estimated.contains(&(var.to_string(), year, k.clone()));
                    }
                }
            }
            if kind == VariableKind::Count {
                // Sums up the hierarchy, children before parents (same rules as hierarchy::sum_up):
                // a parent without its own delivery gets the sum of its children when every
                // child has a number; a child with a symbol makes the sum suppressed.
                let mut sum = vec![0.0; n];
                let mut complete = vec![true; n];
                let mut suppressed = vec![false; n];
                let mut est_below = vec![false; n];
                for &i in &tree.bottom_up {
                    if !delivered[i] && tree.has_children[i] {
                        est[i] = est_below[i];
                        col[i] = if complete[i] {
                            Input::Value(sum[i])
                        } else if suppressed[i] {
                            Input::Suppressed
                        } else {
                            Input::Missing
                        };
                    }
                    if let Some(p) = tree.parent[i] {
                        est_below[p] |= est[i];
                        match col[i] {
                            Input::Value(v) => sum[p] += v,
                            Input::Suppressed => {
                                complete[p] = false;
                                suppressed[p] = true;
                            }
                            Input::Missing => complete[p] = false,
                        }
                    }
                }
            }
            let reference = if top.len() == 1 {
                col[top[0]]
            } else if kind == VariableKind::Count && !top.is_empty() {
                top.iter()
                    .try_fold(0.0, |acc, &i| match col[i] {
                        Input::Value(v) => Ok(acc + v),
                        other => Err(other),
                    })
                    .map_or_else(|e| e, Input::Value)
            } else {
                Input::Missing
            };
            col.push(reference);
            // The whole municipality's sum is exact: carrying preserves totals. Only a
            // delivered estimate of it is one.
            est.push(top.len() == 1 && delivered[top[0]] && est[top[0]]);
            columns.insert(var.to_string(), (col, est));
        };
        // Computed indicator values per node (and reference), for references between indicators.
        let mut computed: Vec<Option<(Vec<Input>, Vec<bool>)>> = vec![None; cat.indicators.len()];
        for (k, ind) in cat.indicators.iter().enumerate() {
            if !needed[k] {
                continue;
            }
            let vars: Vec<String> = exprs[k].variables().into_iter().collect();
            let refs: Vec<Option<usize>> = vars.iter().map(|v| ids.get(v.as_str()).copied().filter(|&j| j != k)).collect();
            for (v, r) in vars.iter().zip(&refs) {
                if r.is_none() {
                    column(v, &mut columns);
                }
            }
            let slot = |name: &str| vars.iter().position(|v| v == name).expect("variable of this formula");
            let prog: Compiled = exprs[k].compile(&slot);
            let ratio = exprs[k].ratio().map(|(num, den)| (num.compile(&slot), den.compile(&slot)));
            let mut mine = Vec::with_capacity(n + 1);
            let mut mine_est = Vec::with_capacity(n + 1);
            let mut slots = vec![0.0; vars.len()];
            // Each input's column, resolved once (not per area).
            let inputs: Vec<Option<(&[Input], &[bool])>> = vars
                .iter()
                .zip(&refs)
                .map(|(v, r)| match r {
                    Some(j) => computed[*j].as_ref(),
                    None => columns.get(v.as_str()),
                })
                .map(|c| c.map(|(i, e)| (i.as_slice(), e.as_slice())))
                .collect();
            let selected_k = selected.contains(&k);
            for node in 0..=n {
                let mut missing = Vec::new();
                let mut suppressed = Vec::new();
                let mut estimated = false;
                for (s, v) in vars.iter().enumerate() {
                    let input = inputs[s].map_or(Input::Missing, |c| c.0[node]);
                    estimated |= inputs[s].is_some_and(|c| c.1[node]);
                    match input {
                        Input::Value(x) => slots[s] = x,
                        Input::Missing => missing.push(v.clone()),
                        Input::Suppressed => suppressed.push(v.clone()),
                    }
                }
                let (value, numerator, denominator, status) = if !suppressed.is_empty() {
                    (None, None, None, Status::Suppressed(suppressed))
                } else if !missing.is_empty() {
                    (None, None, None, Status::Missing(missing))
                } else {
                    let (num, den) = match &ratio {
                        Some((a, b)) => (Some(a.eval(&slots)), Some(b.eval(&slots))),
                        None => (None, None),
                    };
                    let v = prog.eval(&slots);
                    if den == Some(0.0) || v.is_infinite() && ratio.is_some() {
                        (None, num, den, Status::DivisionByZero)
                    } else if !v.is_finite() {
                        (None, num, den, Status::Invalid)
                    } else if let (Some(min), Some(d)) = (ind.min_denominator, den)
                        && d < min
                    {
                        (Some(v), num, den, Status::Unreliable)
                    } else {
                        (Some(v), num, den, Status::Ok)
                    }
                };
                mine_est.push(estimated);
                mine.push(match (&status, value) {
                    (Status::Suppressed(_), _) => Input::Suppressed,
                    (_, Some(v)) => Input::Value(v),
                    _ => Input::Missing,
                });
                if selected_k {
                    out.push(IndicatorValue {
                        node: (node < n).then_some(node),
                        year,
                        indicator: k,
                        value,
                        numerator,
                        denominator,
                        status,
                        estimated,
                    });
                }
            }
            computed[k] = Some((mine, mine_est));
        }
    }
    Evaluation { values: out }
}

/// The hierarchy as indices: parent of each node, whether it has children, and an order
/// with children before their parents.
struct Tree {
    parent: Vec<Option<usize>>,
    has_children: Vec<bool>,
    bottom_up: Vec<usize>,
}

impl Tree {
    fn new(nodes: &[AreaNode], index: &HashMap<&str, usize, foldhash::fast::RandomState>) -> Tree {
        let parent: Vec<Option<usize>> = nodes.iter().map(|a| a.parent.as_deref().and_then(|p| index.get(p).copied())).collect();
        let mut has_children = vec![false; nodes.len()];
        parent.iter().flatten().for_each(|&p| has_children[p] = true);
        let mut bottom_up: Vec<usize> = (0..nodes.len()).collect();
        bottom_up.sort_by_key(|&i| std::cmp::Reverse(nodes[i].level_rank));
        Tree { parent, has_children, bottom_up }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Symbol;
    use crate::indicator::Catalogue;
    use std::collections::HashSet;

    fn node(key: &str, rank: usize, parent: Option<&str>) -> AreaNode {
        AreaNode { key: key.into(), level_rank: rank, parent: parent.map(Into::into) }
    }

    /// City "S" with districts A (a1, a2) and B (b1).
    fn city() -> Vec<AreaNode> {
        vec![node("A", 0, None), node("B", 0, None), node("a1", 1, Some("A")), node("a2", 1, Some("A")), node("b1", 1, Some("B"))]
    }

    fn catalogue(toml: &str, vars: &[&str]) -> Catalogue {
        let v: HashSet<String> = vars.iter().map(|s| s.to_string()).collect();
        Catalogue::from_toml(toml).unwrap().checked(&v).unwrap()
    }

    const CHILD_POVERTY: &str = r#"
[[indicator]]
id = "child_poverty"
name = "Kinderarmut"
formula = "100 * sgb2_u15 / pop_u15"
direction = "higher_is_worse"
min_denominator = 30
"#;

    fn data(rows: &[(&str, &str, Cell)]) -> HashMap<(String, i32), HashMap<String, Cell>> {
        let mut m: HashMap<(String, i32), HashMap<String, Cell>> = HashMap::new();
        for (var, area, c) in rows {
            m.entry((var.to_string(), 2023)).or_default().insert(area.to_string(), *c);
        }
        m
    }

    fn run(cat: &Catalogue, values: &HashMap<(String, i32), HashMap<String, Cell>>) -> HashMap<String, IndicatorValue> {
        let nodes = city();
        let kinds = HashMap::new();
        let ev = evaluate(cat, &Dataset { nodes: &nodes, kinds: &kinds, values, estimated: &Default::default() }, &[2023], &[0]);
        ev.values.into_iter().map(|v| (v.node.map(|i| nodes[i].key.clone()).unwrap_or_else(|| "ref".into()), v)).collect()
    }

    #[test]
    fn sums_counts_before_dividing() {
        let cat = catalogue(CHILD_POVERTY, &["sgb2_u15", "pop_u15"]);
        let n = Cell::Number;
        let values = data(&[
            ("sgb2_u15", "a1", n(10.0)),
            ("pop_u15", "a1", n(100.0)),
            ("sgb2_u15", "a2", n(30.0)),
            ("pop_u15", "a2", n(300.0)),
            ("sgb2_u15", "b1", n(5.0)),
            ("pop_u15", "b1", n(20.0)),
        ]);
        let r = run(&cat, &values);
        assert_eq!(r["a1"].value, Some(10.0));
        // District A: (10 + 30) / (100 + 300) = 10 %, not the mean of 10 % and 10 %.
        assert_eq!((r["A"].value, r["A"].numerator, r["A"].denominator), (Some(10.0), Some(40.0), Some(400.0)));
        // b1 and B have a denominator below 30: value kept, flagged.
        assert_eq!((r["b1"].value, r["b1"].status.clone()), (Some(25.0), Status::Unreliable));
        // Reference: 45 / 420.
        assert!((r["ref"].value.unwrap() - 100.0 * 45.0 / 420.0).abs() < 1e-12);
        assert_eq!(r["ref"].status, Status::Ok);
    }

    #[test]
    fn statuses() {
        let cat = catalogue(CHILD_POVERTY, &["sgb2_u15", "pop_u15"]);
        let n = Cell::Number;
        let values = data(&[
            ("sgb2_u15", "a1", Cell::Symbol(Symbol::Suppressed)),
            ("pop_u15", "a1", n(100.0)),
            ("pop_u15", "a2", n(300.0)),
            ("sgb2_u15", "b1", Cell::Symbol(Symbol::Zero)),
            ("pop_u15", "b1", n(0.0)),
        ]);
        let r = run(&cat, &values);
        assert_eq!(r["a1"].status, Status::Suppressed(vec!["sgb2_u15".into()]));
        assert_eq!(r["a2"].status, Status::Missing(vec!["sgb2_u15".into()]));
        assert_eq!(r["A"].status, Status::Suppressed(vec!["sgb2_u15".into()]), "a suppressed child makes the sum suppressed");
        assert_eq!(r["b1"].status, Status::DivisionByZero);
        assert_eq!(r["ref"].status, Status::Suppressed(vec!["sgb2_u15".into()]));
    }

    #[test]
    fn indicators_can_use_indicators_and_rates_are_not_summed() {
        let toml = format!(
            "{CHILD_POVERTY}\n[[indicator]]\nid = \"gap\"\nname = \"Abstand\"\nformula = \"child_poverty - quote\"\ndirection = \"higher_is_worse\"\n"
        );
        let cat = catalogue(&toml, &["sgb2_u15", "pop_u15", "quote"]);
        let n = Cell::Number;
        let values = data(&[("sgb2_u15", "a1", n(10.0)), ("pop_u15", "a1", n(100.0)), ("quote", "a1", n(4.0)), ("quote", "a2", n(6.0))]);
        let nodes = city();
        let kinds: HashMap<String, VariableKind> = [("quote".to_string(), VariableKind::Rate)].into();
        let ev = evaluate(&cat, &Dataset { nodes: &nodes, kinds: &kinds, values: &values, estimated: &Default::default() }, &[2023], &[1]);
        let get = |k: &str| ev.values.iter().find(|v| v.node.map(|i| nodes[i].key.as_str()) == Some(k)).unwrap().clone();
        assert_eq!(get("a1").value, Some(6.0));
        assert_eq!(get("A").status, Status::Missing(vec!["child_poverty".into(), "quote".into()]));
    }
}
