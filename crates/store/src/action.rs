//! From data to action: area conferences (Sozialraum-/Fachplanungskonferenz) with their five
//! questions, and measures (Maßnahmen) whose linked indicators are monitored before and
//! after the start. Records carry a version for optimistic locking: a save with a stale
//! version is refused instead of overwriting someone else's change.

use serde::{Deserialize, Serialize};

/// Does the analysis match what people on site see?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agreement {
    Agree,
    Partly,
    No,
}

impl Agreement {
    pub fn label_de(self) -> &'static str {
        match self {
            Agreement::Agree => "ja",
            Agreement::Partly => "teilweise",
            Agreement::No => "nein",
        }
    }
}

/// Who can contribute what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    pub organization: String,
    pub commitment: String,
}

/// One area conference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conference {
    /// Assigned by the store (0 for a new record).
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub version: i64,
    pub level: String,
    pub area: String,
    /// ISO date.
    pub date: String,
    /// "Sozialraumkonferenz" or "Fachplanungskonferenz".
    #[serde(default = "default_kind")]
    pub kind: String,
    /// 1. Does the analysis match perceptions on site?
    pub matches: Agreement,
    #[serde(default)]
    pub matches_note: String,
    /// 2. Which target groups?
    #[serde(default)]
    pub target_groups: Vec<String>,
    /// 3. What exists (service ids from the offer directory)?
    #[serde(default)]
    pub existing_offers: Vec<String>,
    /// 4. What is missing?
    #[serde(default)]
    pub missing: String,
    /// 5. Who can contribute what?
    #[serde(default)]
    pub contributions: Vec<Contribution>,
    #[serde(default)]
    pub participants: Vec<String>,
    /// Strengths and resources of the area.
    #[serde(default)]
    pub potentials: String,
}

fn default_kind() -> String {
    "Sozialraumkonferenz".into()
}

/// A measure and what is monitored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub version: i64,
    pub title: String,
    #[serde(default)]
    pub goal: String,
    #[serde(default)]
    pub target_groups: Vec<String>,
    pub level: String,
    pub areas: Vec<String>,
    #[serde(default)]
    pub lead: String,
    #[serde(default)]
    pub partners: Vec<String>,
    #[serde(default)]
    pub budget: Option<f64>,
    #[serde(default)]
    pub programme: String,
    /// First year of the measure (monitoring compares before and from then on).
    pub start: i32,
    #[serde(default)]
    pub end: Option<i32>,
    /// geplant, laufend, abgeschlossen.
    #[serde(default = "default_status")]
    pub status: String,
    /// Indicator ids to follow.
    #[serde(default)]
    pub indicators: Vec<String>,
    /// The conference the measure came from.
    #[serde(default)]
    pub conference: Option<i64>,
}

fn default_status() -> String {
    "geplant".into()
}

impl Conference {
    /// Checks what the store cannot: dates, kinds.
    pub fn check(&self) -> Result<(), String> {
        let mut p = Vec::new();
        if !is_iso_date(&self.date) {
            p.push(format!("date „{}“: JJJJ-MM-TT erwartet", self.date));
        }
        if !["Sozialraumkonferenz", "Fachplanungskonferenz"].contains(&self.kind.as_str()) {
            p.push(format!("kind „{}“: Sozialraumkonferenz oder Fachplanungskonferenz", self.kind));
        }
        if p.is_empty() { Ok(()) } else { Err(p.join("; ")) }
    }
}

impl Measure {
    pub fn check(&self) -> Result<(), String> {
        let mut p = Vec::new();
        if self.title.trim().is_empty() {
            p.push("title fehlt".to_string());
        }
        if self.areas.is_empty() {
            p.push("areas: mindestens ein Gebiet".into());
        }
        if self.end.is_some_and(|e| e < self.start) {
            p.push(format!("end {} liegt vor start {}", self.end.unwrap_or(0), self.start));
        }
        if self.budget.is_some_and(|b| !(b.is_finite() && b >= 0.0)) {
            p.push("budget muss ≥ 0 sein".into());
        }
        if !["geplant", "laufend", "abgeschlossen"].contains(&self.status.as_str()) {
            p.push(format!("status „{}“: geplant, laufend oder abgeschlossen", self.status));
        }
        if p.is_empty() { Ok(()) } else { Err(p.join("; ")) }
    }
}

fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b[4] == b'-' && b[7] == b'-' && s.split('-').all(|x| x.bytes().all(|c| c.is_ascii_digit())) && {
        let m: u32 = s[5..7].parse().unwrap_or(0);
        let d: u32 = s[8..10].parse().unwrap_or(0);
        (1..=12).contains(&m) && (1..=31).contains(&d)
    }
}
