//! The report definition (TOML), kept from edition to edition: what the Sozialbericht
//! contains, with the planner's own text blocks (Markdown).

use serde::{Deserialize, Serialize};

/// Which area profiles (Steckbriefe) the report contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(untagged)]
pub enum Profiles {
    /// `"all"` or `"none"`.
    Keyword(String),
    /// Area keys.
    Areas(Vec<String>),
    #[default]
    #[serde(skip)]
    Unset,
}

impl Profiles {
    fn is_unset(&self) -> bool {
        matches!(self, Profiles::Unset)
    }
}

/// A chapter: a Lebensbereich with its indicators and the planner's text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    pub title: String,
    /// Indicator ids from the catalogue, in the order shown.
    pub indicators: Vec<String>,
    /// Markdown, shown before the indicators.
    #[serde(default)]
    pub text: String,
}

/// The index chapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexChapter {
    /// A saved index definition (`quartier index save`).
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub text: String,
}

/// Class breaks of the maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Classes {
    /// A mapclassify method as on the map page (quantiles, equal-interval, fisher-jenks, …).
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default = "default_k")]
    pub k: usize,
    /// Use the breaks frozen for the indicator and level (`quartier classify --freeze`), so
    /// maps of different editions compare.
    #[serde(default)]
    pub frozen: bool,
}

fn default_method() -> String {
    "quantiles".into()
}

fn default_k() -> usize {
    5
}

impl Default for Classes {
    fn default() -> Self {
        Classes { method: default_method(), k: default_k(), frozen: false }
    }
}

/// The whole definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportDefinition {
    pub title: String,
    #[serde(default)]
    pub subtitle: String,
    /// The municipality or district ("Berlin", "Kreis Musterland"): names the reference.
    pub municipality: String,
    /// Edition, e.g. "2019".
    pub edition: String,
    /// Reference date of the data as printed ("31.12.2018").
    #[serde(default)]
    pub reference_date: String,
    /// Publisher and licence for the metadata and the imprint.
    #[serde(default)]
    pub publisher: String,
    #[serde(default)]
    pub licence: String,
    /// Level of the areas reported (default: the lowest).
    #[serde(default)]
    pub level: Option<String>,
    /// Year of the data (default: the latest with values of the first indicator).
    #[serde(default)]
    pub year: Option<i32>,
    /// Changes are described since this year (default: the earliest with values).
    #[serde(default)]
    pub since: Option<i32>,
    /// Disclosure control (default on: a report is published). `false` for internal ones.
    #[serde(default = "default_true")]
    pub public: bool,
    /// Disclosure threshold (default 3).
    #[serde(default)]
    pub disclosure_threshold: Option<f64>,
    #[serde(default)]
    pub classes: Classes,
    /// Markdown after the title: preface, summary.
    #[serde(default)]
    pub introduction: String,
    #[serde(default, rename = "chapter")]
    pub chapters: Vec<Chapter>,
    #[serde(default)]
    pub index: Option<IndexChapter>,
    /// `"all"`, `"none"` (default) or a list of area keys.
    #[serde(default, skip_serializing_if = "Profiles::is_unset")]
    pub profiles: Profiles,
    /// Markdown for the methods appendix, before the generated definitions.
    #[serde(default)]
    pub methods: String,
    /// Sources beyond those the data carry.
    #[serde(default)]
    pub sources: Vec<String>,
}

fn default_true() -> bool {
    true
}

impl ReportDefinition {
    /// Reads a definition as written, without the checks of [`ReportDefinition::from_toml`]
    /// (for editors that report every problem at its field).
    pub fn parse(text: &str) -> Result<ReportDefinition, String> {
        toml::from_str(text).map_err(|e| format!("Berichtsdefinition ungültig: {e}"))
    }

    pub fn from_toml(text: &str) -> Result<ReportDefinition, String> {
        let d = ReportDefinition::parse(text)?;
        let mut problems = Vec::new();
        if d.chapters.is_empty() && d.index.is_none() {
            problems.push("der Bericht braucht mindestens ein [[chapter]] oder ein [index]".to_string());
        }
        for (i, c) in d.chapters.iter().enumerate() {
            if c.indicators.is_empty() {
                problems.push(format!("Kapitel {} („{}“) nennt keine Indikatoren", i + 1, c.title));
            }
        }
        if let Profiles::Keyword(k) = &d.profiles
            && k != "all"
            && k != "none"
        {
            problems.push(format!("profiles = \"{k}\": erlaubt sind \"all\", \"none\" oder eine Liste von Gebietsschlüsseln"));
        }
        if d.classes.k < 2 || d.classes.k > 9 {
            problems.push(format!("classes.k = {}: 2 bis 9 Klassen", d.classes.k));
        }
        if let Some(t) = d.disclosure_threshold
            && (t.is_nan() || t < 1.0)
        {
            problems.push("disclosure_threshold muss mindestens 1 sein".into());
        }
        if problems.is_empty() { Ok(d) } else { Err(problems.join("; ")) }
    }

    /// The definition as TOML (the exchange format), read back by [`ReportDefinition::from_toml`]
    /// as the same definition.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a report definition serialises")
    }

    /// The profiles asked for: None = none, Some(empty) = all.
    pub fn profile_areas(&self) -> Option<Vec<String>> {
        match &self.profiles {
            Profiles::Keyword(k) if k == "all" => Some(Vec::new()),
            Profiles::Areas(a) => Some(a.clone()),
            _ => None,
        }
    }

    /// The disclosure threshold in force, if public.
    pub fn threshold(&self) -> Option<f64> {
        self.public.then(|| self.disclosure_threshold.unwrap_or(quartier_core::disclosure::DEFAULT_THRESHOLD))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_and_bad_definitions() {
        let d = ReportDefinition::from_toml(
            "title = \"Sozialbericht\"\nmunicipality = \"Berlin\"\nedition = \"2019\"\n[[chapter]]\ntitle = \"Armut\"\nindicators = [\"s4\"]\n",
        )
        .unwrap();
        assert!(d.public && d.threshold() == Some(3.0) && d.profile_areas().is_none());
        assert_eq!(d.classes, Classes::default());
        let e = ReportDefinition::from_toml("title = \"x\"\nmunicipality = \"B\"\nedition = \"1\"\n").unwrap_err();
        assert!(e.contains("mindestens ein"), "{e}");
        let e = ReportDefinition::from_toml(
            "title = \"x\"\nmunicipality = \"B\"\nedition = \"1\"\nprofiles = \"some\"\n[[chapter]]\ntitle = \"A\"\nindicators = []\n",
        )
        .unwrap_err();
        assert!(e.contains("nennt keine Indikatoren") && e.contains("\"all\", \"none\""), "{e}");
        assert!(ReportDefinition::from_toml("title = \"x\"\nunknown = 1\n").unwrap_err().contains("ungültig"));
        let d = ReportDefinition::from_toml(
            "title = \"x\"\nmunicipality = \"B\"\nedition = \"1\"\nprofiles = [\"0101\"]\npublic = false\n[index]\nid = \"mss\"\n",
        )
        .unwrap();
        assert_eq!((d.profile_areas(), d.threshold()), (Some(vec!["0101".to_string()]), None));
    }
}
