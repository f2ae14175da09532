//! Indicator definitions and the TOML catalogue.

use super::formula::{self, Expr};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Whether high values mean more need or a better situation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Higher values mean more disadvantage (child poverty, unemployment).
    HigherIsWorse,
    /// Higher values mean a better situation (childcare rate, voter turnout).
    HigherIsBetter,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::HigherIsWorse => "higher_is_worse",
            Direction::HigherIsBetter => "higher_is_better",
        }
    }
    pub fn label_de(self) -> &'static str {
        match self {
            Direction::HigherIsWorse => "höher = mehr Bedarf",
            Direction::HigherIsBetter => "höher = besser",
        }
    }
}

fn default_decimals() -> u8 {
    1
}

/// One indicator definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    pub id: String,
    /// German name.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Formula over variables and other indicators; a bare variable name takes the
    /// variable as delivered.
    pub formula: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    #[serde(default = "default_decimals")]
    pub decimals: u8,
    pub direction: Direction,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Below this denominator the value is unreliable and hidden in public outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_denominator: Option<f64>,
}

impl Indicator {
    /// The parsed formula (definitions in a [`Catalogue`] are known to parse).
    pub fn expr(&self) -> Expr {
        formula::parse(&self.formula).expect("catalogue formulas are checked on load")
    }
}

/// A checked set of indicators in dependency order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Catalogue {
    #[serde(rename = "indicator", default)]
    pub indicators: Vec<Indicator>,
}

/// Why a catalogue was refused.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueError(pub Vec<String>);

impl std::fmt::Display for CatalogueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} Problem(e) im Indikatorenkatalog, nichts wurde gespeichert:", self.0.len())?;
        for p in &self.0 {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl Catalogue {
    /// Parses TOML (`[[indicator]]` tables).
    pub fn from_toml(text: &str) -> Result<Catalogue, CatalogueError> {
        toml::from_str(text).map_err(|e| CatalogueError(vec![format!("TOML: {e}")]))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("catalogue serialises")
    }

    /// Checks ids, formulas, references to `variables` and other indicators, and cycles;
    /// returns the catalogue sorted so that every indicator comes after those it uses.
    pub fn checked(self, variables: &HashSet<String>) -> Result<Catalogue, CatalogueError> {
        let mut problems = Vec::new();
        let mut seen = HashSet::new();
        let ids: HashSet<&str> = self.indicators.iter().map(|i| i.id.as_str()).collect();
        let mut deps: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for ind in &self.indicators {
            let valid_id = !ind.id.is_empty()
                && ind.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !ind.id.starts_with(|c: char| c.is_ascii_digit());
            if !valid_id {
                problems.push(format!("Indikator „{}“: id muss aus Kleinbuchstaben, Ziffern und _ bestehen", ind.id));
            }
            if !seen.insert(ind.id.as_str()) {
                problems.push(format!("Indikator „{}“ ist doppelt definiert", ind.id));
            }
            if variables.contains(&ind.id) && ind.formula.trim() != ind.id {
                problems.push(format!("Indikator „{}“ heißt wie ein Merkmal: bitte eine andere id wählen", ind.id));
            }
            if ind.min_denominator.is_some_and(|m| m < 0.0 || !m.is_finite()) {
                problems.push(format!("Indikator „{}“: min_denominator muss ≥ 0 sein", ind.id));
            }
            match formula::parse(&ind.formula) {
                Err(e) => problems.push(format!("Indikator „{}“, Formel „{}“: {e}", ind.id, ind.formula)),
                Ok(expr) => {
                    let used = expr.variables();
                    for v in &used {
                        let is_self_variable = v == &ind.id && variables.contains(v);
                        if !variables.contains(v) && !ids.contains(v.as_str()) || (v == &ind.id && !is_self_variable) {
                            if v == &ind.id {
                                problems.push(format!("Indikator „{}“ verweist auf sich selbst", ind.id));
                            } else {
                                problems.push(format!("Indikator „{}“, Formel „{}“: unbekanntes Merkmal „{v}“", ind.id, ind.formula));
                            }
                        }
                    }
                    let refs: BTreeSet<String> = used.into_iter().filter(|v| ids.contains(v.as_str()) && v != &ind.id).collect();
                    deps.insert(ind.id.as_str(), refs);
                }
            }
        }
        if !problems.is_empty() {
            return Err(CatalogueError(problems));
        }
        // Topological order (Kahn); what remains is a cycle.
        let by_id: HashMap<&str, &Indicator> = self.indicators.iter().map(|i| (i.id.as_str(), i)).collect();
        let mut order: Vec<Indicator> = Vec::new();
        let mut done: HashSet<String> = HashSet::new();
        loop {
            let ready: Vec<&str> = deps.iter().filter(|(_, d)| d.iter().all(|x| done.contains(x))).map(|(k, _)| *k).collect();
            if ready.is_empty() {
                break;
            }
            for r in ready {
                deps.remove(r);
                done.insert(r.to_string());
                order.push(by_id[r].clone());
            }
        }
        if !deps.is_empty() {
            let cyc: Vec<&str> = deps.keys().copied().collect();
            return Err(CatalogueError(vec![format!("zirkuläre Verweise zwischen den Indikatoren {}", cyc.join(", "))]));
        }
        // Keep the catalogue's own order where dependencies allow it.
        let pos: HashMap<&str, usize> = self.indicators.iter().enumerate().map(|(i, x)| (x.id.as_str(), i)).collect();
        order.sort_by_key(|x| (depth(&x.id, &by_id, &ids), pos[x.id.as_str()]));
        Ok(Catalogue { indicators: order })
    }

    pub fn get(&self, id: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.id == id)
    }
}

/// Length of the longest chain of indicator references below `id`.
fn depth(id: &str, by_id: &HashMap<&str, &Indicator>, ids: &HashSet<&str>) -> usize {
    let Some(ind) = by_id.get(id) else { return 0 };
    ind.expr()
        .variables()
        .iter()
        .filter(|v| ids.contains(v.as_str()) && v.as_str() != id)
        .map(|v| 1 + depth(v, by_id, ids))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[indicator]]
id = "child_poverty"
name = "Kinderarmut"
formula = "100 * children_u15_sgb2 / children_u15"
unit = "%"
direction = "higher_is_worse"      # or "higher_is_better"
domain = "Arbeit und Einkommen"
target_groups = ["Kinder"]
min_denominator = 30
"#;

    fn vars() -> HashSet<String> {
        ["children_u15_sgb2", "children_u15", "population", "s1"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn minimal_form_loads() {
        let c = Catalogue::from_toml(MINIMAL).unwrap().checked(&vars()).unwrap();
        let i = &c.indicators[0];
        assert_eq!((i.id.as_str(), i.direction, i.min_denominator, i.decimals), ("child_poverty", Direction::HigherIsWorse, Some(30.0), 1));
        assert_eq!(Catalogue::from_toml(&c.to_toml()).unwrap(), c);
    }

    fn problems(toml: &str) -> String {
        match Catalogue::from_toml(toml).and_then(|c| c.checked(&vars())) {
            Ok(_) => panic!("accepted: {toml}"),
            Err(e) => e.to_string(),
        }
    }

    fn ind(id: &str, formula: &str) -> String {
        format!("[[indicator]]\nid = \"{id}\"\nname = \"X\"\nformula = \"{formula}\"\ndirection = \"higher_is_worse\"\n")
    }

    #[test]
    fn bad_definitions() {
        assert!(problems(&ind("a", "100 * kinder / population")).contains("unbekanntes Merkmal „kinder“"));
        assert!(problems(&ind("a", "100 * (s1")).contains("Zeichen 10: „)“ fehlt"));
        assert!(
            problems(&format!("{}{}", ind("a", "b + 1"), ind("b", "a * 2"))).contains("zirkuläre Verweise zwischen den Indikatoren a, b")
        );
        assert!(problems(&ind("a", "a + 1")).contains("verweist auf sich selbst"));
        assert!(problems(&format!("{}{}", ind("a", "s1"), ind("a", "s1"))).contains("doppelt"));
        assert!(problems(&ind("A-1", "s1")).contains("Kleinbuchstaben"));
        assert!(problems("[[indicator]]\nid = \"a\"\nname = \"X\"\nformula = \"s1\"\ndirection = \"up\"\n").contains("TOML"));
    }

    #[test]
    fn dependency_order_and_bare_variables() {
        let c =
            Catalogue::from_toml(&format!("{}{}{}", ind("b", "a * 2"), ind("a", "s1"), ind("s1", "s1"))).unwrap().checked(&vars()).unwrap();
        let ids: Vec<&str> = c.indicators.iter().map(|i| i.id.as_str()).collect();
        // "a" uses the indicator "s1" (which takes the variable s1 as delivered).
        assert_eq!(ids, ["s1", "a", "b"]);
    }
}
