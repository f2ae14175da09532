//! Index definitions (TOML).

use serde::{Deserialize, Serialize};

/// The published method an index follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexMethod {
    /// Berlin MSS: z-scores over the rated areas, summed, re-standardised, fixed class limits.
    Mss,
    /// English Indices of Deprivation 2019: ranks, exponential transformation, weights.
    Imd,
    /// CDC/ATSDR SVI: percentile ranks per variable, theme sums and ranks, flags.
    Svi,
    /// RKI GISD: first principal component per dimension, rescaled, summed, quintiles.
    Gisd,
    /// A planner's own weighted mean of normalised indicators, with sub-indices per
    /// dimension and any class scheme.
    Weighted,
}

/// How the weighted method makes indicators comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalisation {
    /// z-scores over the rated areas (population SD).
    #[default]
    Z,
    /// (x − min) / (max − min).
    Minmax,
    /// Percentile rank (r − 1)/(n − 1), ties at the minimum rank.
    Rank,
}

/// What to do with rated areas that lack an indicator value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MissingPolicy {
    /// Refuse and name them (default).
    #[default]
    Error,
    /// Leave them out of the rating (listwise), with the missing indicators as the reason.
    Exclude,
}

/// Class scheme of a weighted index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassScheme {
    /// quantiles, equal-interval, std-mean, fisher-jenks, jenks-caspall, box-plot, headtail,
    /// max-breaks, user.
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaks: Vec<f64>,
}

/// A dimension of a GISD-style index: its indicators and the one that fixes the sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dimension {
    pub name: String,
    pub indicators: Vec<String>,
    /// The component is oriented to correlate positively with this indicator.
    pub anchor: String,
    /// Weight in the sum of the rescaled dimensions (RKI: all 1; an extension for the
    /// robustness runs and planners who weigh dimensions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// A theme of an SVI-style index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub name: String,
    pub indicators: Vec<String>,
    /// Weight of the theme sum in the overall sum (CDC: all 1; an extension for the
    /// robustness runs and planners who weigh themes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

/// An area left out of the rating population, with the reason (and, optionally, only in
/// some years).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub area: String,
    pub reason: String,
    /// Years in which the exclusion applies; empty = all years.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<i32>,
}

impl Exclusion {
    pub fn applies(&self, year: i32) -> bool {
        self.years.is_empty() || self.years.contains(&year)
    }
}

/// A weighted indicator of an IMD-style index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Weighted {
    pub indicator: String,
    pub weight: f64,
    /// Dimension (Lebensbereich) for a sub-index (weighted method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

fn default_level() -> Option<String> {
    None
}

/// One index definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexDefinition {
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub method: IndexMethod,
    /// Level whose areas are rated; default: the lowest level.
    #[serde(default = "default_level", skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    /// Variable with the population of each area (for the minimum population).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub population: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_population: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<Exclusion>,
    /// Status indicators (MSS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status: Vec<String>,
    /// Dynamics indicators (MSS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dynamics: Vec<String>,
    /// Weighted domains (IMD).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<Weighted>,
    /// Dimensions (GISD).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<Dimension>,
    /// Themes (SVI).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub themes: Vec<Theme>,
    /// Normalisation (weighted method).
    #[serde(default, skip_serializing_if = "is_default")]
    pub normalisation: Normalisation,
    /// Classes of the weighted index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<ClassScheme>,
    /// Rated areas without a value: error (default) or exclude listwise.
    #[serde(default, skip_serializing_if = "is_default")]
    pub missing: MissingPolicy,
    /// Sum the weights must reach (IMD: 100); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sum: Option<f64>,
}

impl IndexDefinition {
    pub fn from_toml(text: &str) -> Result<IndexDefinition, String> {
        let d: IndexDefinition = toml::from_str(text).map_err(|e| format!("Indexdefinition ungültig: {e}"))?;
        d.check()?;
        Ok(d)
    }

    /// The definition as TOML that [`IndexDefinition::from_toml`] reads back to the same.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("index definitions serialise")
    }

    /// Checks the parts the method needs.
    pub fn check(&self) -> Result<(), String> {
        let mut p = Vec::new();
        match self.method {
            IndexMethod::Mss => {
                if self.status.is_empty() {
                    p.push("method = \"mss\" braucht status = [Indikatoren]".to_string());
                }
                if self.min_population.is_some() && self.population.is_none() {
                    p.push("min_population braucht population = \"Merkmal mit der Einwohnerzahl\"".into());
                }
            }
            IndexMethod::Imd | IndexMethod::Weighted => {
                if self.domains.is_empty() {
                    p.push("method = \"imd\" oder \"weighted\" braucht domains = [{ indicator, weight }]".into());
                }
                if self.domains.iter().any(|d| !(d.weight.is_finite() && d.weight > 0.0)) {
                    p.push("Gewichte müssen positiv sein".into());
                }
                let sum: f64 = self.domains.iter().map(|d| d.weight).sum();
                if let Some(want) = self.weights_sum
                    && (sum - want).abs() > 1e-9 * want.abs().max(1.0)
                {
                    p.push(format!("die Gewichte ergeben {sum}, erklärt ist weights_sum = {want}"));
                }
            }
            IndexMethod::Gisd => {
                if self.dimensions.is_empty() {
                    p.push("method = \"gisd\" braucht dimensions = [{ name, indicators = [...], anchor }]".into());
                }
                for d in &self.dimensions {
                    if !d.indicators.contains(&d.anchor) {
                        p.push(format!("Dimension „{}“: anchor „{}“ ist keiner ihrer Indikatoren", d.name, d.anchor));
                    }
                }
            }
            IndexMethod::Svi => {
                if self.themes.is_empty() || self.themes.iter().any(|t| t.indicators.is_empty()) {
                    p.push("method = \"svi\" braucht themes = [{ name, indicators = [...] }] mit Indikatoren".into());
                }
            }
        }
        let optional = self.themes.iter().map(|t| (&t.name, t.weight)).chain(self.dimensions.iter().map(|d| (&d.name, d.weight)));
        for (name, w) in optional {
            if w.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
                p.push(format!("„{name}“: weight muss positiv sein"));
            }
        }
        if p.is_empty() { Ok(()) } else { Err(p.join("; ")) }
    }

    /// All indicators the index uses.
    pub fn indicators(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .status
            .iter()
            .chain(&self.dynamics)
            .cloned()
            .chain(self.domains.iter().map(|d| d.indicator.clone()))
            .chain(self.themes.iter().flat_map(|t| t.indicators.clone()))
            .chain(self.dimensions.iter().flat_map(|d| d.indicators.clone()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        v.retain(|x| seen.insert(x.clone()));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_forms_load() {
        let mss = IndexDefinition::from_toml(
            r#"
id = "mss"
name = "Index Soziale Ungleichheit"
method = "mss"
population = "inhabitants"                 # variable with the population of each area
min_population = 300
exclude = [{ area = "01011102", reason = "Parkanlage, kaum Wohnbevölkerung" }]
status = ["s1", "s3", "s4"]
dynamics = ["d1", "d3", "d4"]
"#,
        )
        .unwrap();
        assert_eq!(mss.indicators(), ["s1", "s3", "s4", "d1", "d3", "d4"]);
        let imd = IndexDefinition::from_toml(
            r#"
id = "imd"
method = "imd"
domains = [
  { indicator = "income", weight = 22.5 }, { indicator = "employment", weight = 22.5 },
  { indicator = "education", weight = 13.5 }, { indicator = "health", weight = 13.5 },
  { indicator = "crime", weight = 9.3 }, { indicator = "barriers", weight = 9.3 },
  { indicator = "living_environment", weight = 9.3 },
]
"#,
        )
        .unwrap();
        assert_eq!(imd.domains.len(), 7);
    }

    #[test]
    fn toml_round_trip_keeps_every_part() {
        let text = r#"
id = "k"
name = "Kinder"
method = "weighted"
level = "PLR"
population = "ew"
min_population = 300
missing = "exclude"
normalisation = "rank"
weights_sum = 3
exclude = [{ area = "01", reason = "Park", years = [2021] }, { area = "02", reason = "Flughafen" }]
domains = [{ indicator = "a", weight = 2, dimension = "Arbeit" }, { indicator = "b", weight = 1 }]
classification = { method = "user", breaks = [1.5, 2.5] }
"#;
        let d = IndexDefinition::from_toml(text).unwrap();
        let again = IndexDefinition::from_toml(&d.to_toml()).unwrap();
        assert_eq!(again, d);
        for method in ["svi", "gisd", "mss"] {
            let t = match method {
                "svi" => "id = \"s\"\nmethod = \"svi\"\nthemes = [{ name = \"A\", indicators = [\"a\", \"b\"], weight = 2 }]\n",
                "gisd" => "id = \"g\"\nmethod = \"gisd\"\ndimensions = [{ name = \"A\", indicators = [\"a\"], anchor = \"a\" }]\n",
                _ => "id = \"m\"\nmethod = \"mss\"\nstatus = [\"a\"]\ndynamics = [\"b\"]\n",
            };
            let d = IndexDefinition::from_toml(t).unwrap();
            assert_eq!(IndexDefinition::from_toml(&d.to_toml()).unwrap(), d, "{method}");
        }
        assert!(!IndexDefinition::from_toml("id = \"m\"\nmethod = \"mss\"\nstatus = [\"a\"]\n").unwrap().to_toml().contains("missing"));
    }

    #[test]
    fn bad_definitions() {
        assert!(IndexDefinition::from_toml("id = \"x\"\nmethod = \"mss\"\n").unwrap_err().contains("status"));
        let e = IndexDefinition::from_toml("id = \"x\"\nmethod = \"imd\"\nweights_sum = 100\ndomains = [{ indicator = \"a\", weight = 60 }, { indicator = \"b\", weight = 30 }]\n").unwrap_err();
        assert!(e.contains("ergeben 90"), "{e}");
        assert!(IndexDefinition::from_toml("id = \"x\"\nmethod = \"magic\"\n").unwrap_err().contains("ungültig"));
        let e =
            IndexDefinition::from_toml("id = \"x\"\nmethod = \"svi\"\nthemes = [{ name = \"a\", indicators = [\"s1\"], weight = -1 }]\n")
                .unwrap_err();
        assert!(e.contains("„a“: weight muss positiv sein"), "{e}");
    }
}
