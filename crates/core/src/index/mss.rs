//! The Berlin MSS status and dynamics index.
//!
//! 1. Rating population: areas with at least the minimum population that are not excluded.
//! 2. Each indicator is z-standardised over the rated areas (unweighted mean, population
//!    standard deviation, dividing by n).
//! 3. Status sum = Σ z of the status indicators; status index = z of the status sum over the
//!    rated areas. Dynamics likewise from the dynamics indicators.
//! 4. Status classes: 1 „hoch“ if index < −1; 2 „mittel“ if −1 ≤ index ≤ 1; 3 „niedrig“ if
//!    1 < index ≤ 1.5; 4 „sehr niedrig“ if index > 1.5 (higher index = more disadvantage).
//!    Dynamics classes: „+“ positiv if index < −1; „+/-“ stabil if −1 ≤ index ≤ 1; „-“
//!    negativ if index > 1. The combined class joins both (e.g. „2+/-“).
//!
//! # References
//! Senatsverwaltung für Stadtentwicklung und Wohnen Berlin: Monitoring Soziale
//! Stadtentwicklung 2013–2019, methodological annex; reproduced on all rated Planungsräume
//! of the editions 2013, 2015, 2017 and 2019 (see `shared/design/methods.md`).

use serde::Serialize;

/// The inputs, column by column (index = area), as a data frame would hold them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MssInput {
    pub areas: Vec<String>,
    pub population: Vec<Option<f64>>,
    /// Why the definition excludes an area, if it does.
    pub excluded: Vec<Option<String>>,
    /// Per status indicator (definition order), the value per area (`None` = missing).
    pub status: Vec<Vec<Option<f64>>>,
    pub dynamics: Vec<Vec<Option<f64>>>,
}

impl MssInput {
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// Why area `i` is not rated (`None` = rated): excluded (unless `lift_exclusions`), or
    /// without population or below the minimum when there is one.
    pub fn not_rated(&self, i: usize, min_population: Option<f64>, lift_exclusions: bool) -> Option<String> {
        if let (false, Some(r)) = (lift_exclusions, &self.excluded[i]) {
            return Some(format!("ausgeschlossen: {r}"));
        }
        match (min_population, self.population[i]) {
            (Some(_), None) => Some("Einwohnerzahl fehlt".into()),
            (Some(m), Some(p)) if p < m => Some(format!("weniger als {m} Einwohner ({p})")),
            _ => None,
        }
    }

    /// Positions of the rated areas (the same rule as [`MssInput::not_rated`], without
    /// building the reasons).
    pub fn rated(&self, min_population: Option<f64>, lift_exclusions: bool) -> Vec<usize> {
        (0..self.len())
            .filter(|&i| {
                (lift_exclusions || self.excluded[i].is_none())
                    && match (min_population, self.population[i]) {
                        (Some(_), None) => false,
                        (Some(m), Some(p)) => p >= m,
                        _ => true,
                    }
            })
            .collect()
    }

    /// Rated areas lacking a value, listwise: (area, indicator position, is_status). With
    /// `status_only` the dynamics indicators are not checked.
    fn missing(&self, rated: &[usize], status_only: bool) -> Vec<(String, usize, bool)> {
        let mut missing = Vec::new();
        for &i in rated {
            let dynamics = if status_only { &[][..] } else { &self.dynamics[..] };
            for (status, cols) in [(true, &self.status[..]), (false, dynamics)] {
                for (k, col) in cols.iter().enumerate() {
                    if col[i].is_none() {
                        missing.push((self.areas[i].clone(), k, status));
                    }
                }
            }
        }
        missing
    }
}

/// The results, column by column: one row per rated area (in input order), except
/// `reason_not_rated`, which has one entry per input area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MssResult {
    /// Input positions of the rated areas.
    pub rated: Vec<usize>,
    /// Per input area why it is not rated (`None` = rated).
    pub reason_not_rated: Vec<Option<String>>,
    /// Per status indicator the z-score of each rated area.
    pub status_z: Vec<Vec<f64>>,
    pub dynamics_z: Vec<Vec<f64>>,
    pub status_sum: Vec<f64>,
    pub status_index: Vec<f64>,
    /// 1 hoch, 2 mittel, 3 niedrig, 4 sehr niedrig.
    pub status_class: Vec<u8>,
    /// Empty without dynamics indicators.
    pub dynamics_sum: Vec<f64>,
    pub dynamics_index: Vec<f64>,
    /// `+`, `+/-`, `-`; empty without dynamics indicators.
    pub dynamics_class: Vec<&'static str>,
    pub combined_class: Vec<&'static str>,
}

impl MssResult {
    /// Per input area its row among the rated areas.
    pub fn rows(&self, areas: usize) -> Vec<Option<usize>> {
        let mut row = vec![None; areas];
        for (r, &i) in self.rated.iter().enumerate() {
            row[i] = Some(r);
        }
        row
    }
}

/// Status class labels, index = class − 1.
pub const STATUS_LABELS: [&str; 4] = ["hoch", "mittel", "niedrig", "sehr niedrig"];

pub fn status_class(index: f64) -> u8 {
    if index < -1.0 {
        1
    } else if index <= 1.0 {
        2
    } else if index <= 1.5 {
        3
    } else {
        4
    }
}

pub fn dynamics_class(index: f64) -> &'static str {
    if index < -1.0 {
        "+"
    } else if index <= 1.0 {
        "+/-"
    } else {
        "-"
    }
}

/// The combined class („2+/-“), or the status class alone without dynamics.
pub fn combined_class(status: u8, dynamics: Option<&str>) -> &'static str {
    const TABLE: [[&str; 4]; 4] =
        [["1", "1+", "1+/-", "1-"], ["2", "2+", "2+/-", "2-"], ["3", "3+", "3+/-", "3-"], ["4", "4+", "4+/-", "4-"]];
    let d = match dynamics {
        None => 0,
        Some("+") => 1,
        Some("+/-") => 2,
        Some(_) => 3,
    };
    TABLE[(status.clamp(1, 4) - 1) as usize][d]
}

pub fn dynamics_label(class: &str) -> &'static str {
    match class {
        "+" => "positiv",
        "+/-" => "stabil",
        _ => "negativ",
    }
}

/// Why an index cannot be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum MssError {
    /// Rated areas lacking an indicator value: (area, indicator position, is_status).
    MissingValues(Vec<(String, usize, bool)>),
    ZeroVariance {
        status: bool,
        position: usize,
    },
    TooFewRated(usize),
}

/// Per indicator the z-scores, then the sums and the re-standardised index, over the rated areas.
pub(crate) struct Standardised {
    pub z: Vec<Vec<f64>>,
    pub sums: Vec<f64>,
    pub index: Vec<f64>,
}

/// z-scores of `v` (population SD); `None` if the SD is 0.
fn zscores(v: &[f64]) -> Option<Vec<f64>> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (sd > 0.0).then(|| v.iter().map(|x| (x - mean) / sd).collect())
}

/// Steps 2 and 3 for one part (status or dynamics) over the rated areas, whose values the
/// caller has checked to be present.
pub(crate) fn standardise(cols: &[Vec<Option<f64>>], rated: &[usize], status: bool) -> Result<Standardised, MssError> {
    let mut z = Vec::with_capacity(cols.len());
    for (k, col) in cols.iter().enumerate() {
        let v: Vec<f64> = rated.iter().map(|&i| col[i].expect("checked")).collect();
        z.push(zscores(&v).ok_or(MssError::ZeroVariance { status, position: k })?);
    }
    let mut sums = vec![0.0; rated.len()];
    for zk in &z {
        sums.iter_mut().zip(zk).for_each(|(s, x)| *s += x);
    }
    let index = if cols.is_empty() { vec![] } else { zscores(&sums).ok_or(MssError::ZeroVariance { status, position: cols.len() })? };
    Ok(Standardised { z, sums, index })
}

/// The rated areas and their standardised status part: what [`compute`] and the robustness
/// runs share. Dynamics values are only required by `compute`.
pub(crate) fn rated_status(
    input: &MssInput,
    min_population: Option<f64>,
    lift_exclusions: bool,
    status_only: bool,
) -> Result<(Vec<usize>, Standardised), MssError> {
    let rated = input.rated(min_population, lift_exclusions);
    if rated.len() < 2 {
        return Err(MssError::TooFewRated(rated.len()));
    }
    let missing = input.missing(&rated, status_only);
    if !missing.is_empty() {
        return Err(MssError::MissingValues(missing));
    }
    let status = standardise(&input.status, &rated, true)?;
    Ok((rated, status))
}

/// Computes the index. Areas below `min_population`, without population, or excluded are
/// not rated; rated areas must have every indicator value (listwise: the missing ones are
/// reported, never filled with zeros).
pub fn compute(input: &MssInput, min_population: Option<f64>) -> Result<MssResult, MssError> {
    let (rated, s) = rated_status(input, min_population, false, false)?;
    let d = standardise(&input.dynamics, &rated, false)?;
    let status_class: Vec<u8> = s.index.iter().map(|&x| status_class(x)).collect();
    let dynamics_class: Vec<&'static str> = d.index.iter().map(|&x| dynamics_class(x)).collect();
    let combined_class = status_class.iter().enumerate().map(|(r, &c)| combined_class(c, dynamics_class.get(r).copied())).collect();
    let mut reason_not_rated = Vec::with_capacity(input.len());
    let mut next = rated.iter().peekable();
    for i in 0..input.len() {
        reason_not_rated.push(if next.next_if_eq(&&i).is_some() { None } else { input.not_rated(i, min_population, false) });
    }
    Ok(MssResult {
        rated,
        reason_not_rated,
        status_z: s.z,
        dynamics_z: d.z,
        status_sum: s.sums,
        status_index: s.index,
        status_class,
        dynamics_sum: d.sums,
        dynamics_index: d.index,
        dynamics_class,
        combined_class,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_limits() {
        assert_eq!(
            [status_class(-1.01), status_class(-1.0), status_class(1.0), status_class(1.2), status_class(1.5), status_class(1.51)],
            [1, 2, 2, 3, 3, 4]
        );
        assert_eq!([dynamics_class(-1.01), dynamics_class(1.0), dynamics_class(1.01)], ["+", "+/-", "-"]);
    }

    /// Inputs with one status indicator: (key, value, population).
    fn one_indicator(rows: &[(&str, Option<f64>, f64)]) -> MssInput {
        MssInput {
            areas: rows.iter().map(|r| r.0.to_string()).collect(),
            population: rows.iter().map(|r| Some(r.2)).collect(),
            excluded: vec![None; rows.len()],
            status: vec![rows.iter().map(|r| r.1).collect()],
            dynamics: vec![],
        }
    }

    #[test]
    fn small_example_by_hand() {
        // Status values 1, 2, 3, 4 (one indicator): mean 2.5, SD √1.25; z = (x − 2.5)/√1.25;
        // the status sum equals z, re-standardised it stays z.
        let rows = [
            ("a", Some(1.0), 500.0),
            ("b", Some(2.0), 500.0),
            ("c", Some(3.0), 500.0),
            ("d", Some(4.0), 500.0),
            ("e", Some(99.0), 100.0),
            ("f", Some(50.0), 900.0),
        ];
        let mut input = one_indicator(&rows);
        input.excluded[5] = Some("Gewerbegebiet".into());
        let r = compute(&input, Some(300.0)).unwrap();
        assert_eq!(r.rated, [0, 1, 2, 3]);
        let z = (4.0 - 2.5) / 1.25f64.sqrt();
        assert!((r.status_index[3] - z).abs() < 1e-12);
        assert_eq!(r.status_class[3], 3, "z = 1.342: niedrig");
        assert_eq!(r.status_class[0], 1);
        assert_eq!(r.combined_class[0], "1", "without dynamics the status class alone");
        assert!(r.dynamics_class.is_empty() && r.dynamics_index.is_empty());
        assert_eq!(r.reason_not_rated[..4], [None, None, None, None]);
        assert_eq!(r.reason_not_rated[4].as_deref(), Some("weniger als 300 Einwohner (100)"));
        assert_eq!(r.reason_not_rated[5].as_deref(), Some("ausgeschlossen: Gewerbegebiet"));
        assert_eq!(r.rows(6), [Some(0), Some(1), Some(2), Some(3), None, None]);
        let mut missing = one_indicator(&[rows.as_slice(), &[("g", None, 400.0)]].concat());
        missing.excluded[5] = Some("Gewerbegebiet".into());
        assert!(matches!(compute(&missing, Some(300.0)), Err(MssError::MissingValues(m)) if m[0].0 == "g"));
        let flat = one_indicator(&[("0", Some(1.0), 500.0), ("1", Some(1.0), 500.0), ("2", Some(1.0), 500.0)]);
        assert!(matches!(compute(&flat, None), Err(MssError::ZeroVariance { .. })));
        assert!(matches!(compute(&one_indicator(&rows[..1]), None), Err(MssError::TooFewRated(1))));
    }

    #[test]
    fn dynamics_and_combined_classes() {
        let mut input = one_indicator(&[("a", Some(1.0), 1.0), ("b", Some(2.0), 1.0), ("c", Some(3.0), 1.0), ("d", Some(10.0), 1.0)]);
        input.dynamics = vec![vec![Some(-5.0), Some(0.0), Some(0.5), Some(1.0)]];
        let r = compute(&input, None).unwrap();
        assert_eq!(r.dynamics_class[0], "+", "strong improvement: positive dynamics");
        assert_eq!(r.combined_class[3], "4+/-");
        let sum: f64 = r.dynamics_index.iter().sum();
        assert!(sum.abs() < 1e-12, "re-standardised: mean 0");
    }
}
