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

/// One area's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct MssInput {
    pub area: String,
    pub population: Option<f64>,
    /// Why the definition excludes it, if it does.
    pub excluded: Option<String>,
    /// Status indicator values, in definition order (`None` = missing).
    pub status: Vec<Option<f64>>,
    pub dynamics: Vec<Option<f64>>,
}

/// One area's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MssResult {
    pub area: String,
    pub rated: bool,
    pub reason_not_rated: Option<String>,
    pub status_z: Vec<Option<f64>>,
    pub dynamics_z: Vec<Option<f64>>,
    pub status_sum: Option<f64>,
    pub status_index: Option<f64>,
    /// 1 hoch, 2 mittel, 3 niedrig, 4 sehr niedrig.
    pub status_class: Option<u8>,
    pub dynamics_sum: Option<f64>,
    pub dynamics_index: Option<f64>,
    /// `+`, `+/-`, `-`.
    pub dynamics_class: Option<&'static str>,
    pub combined_class: Option<&'static str>,
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
type Standardised = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>);

/// z-scores of `v` over the positions in `rated` (population SD); `None` if the SD is 0.
fn zscores(v: &[f64]) -> Option<Vec<f64>> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    (sd > 0.0).then(|| v.iter().map(|x| (x - mean) / sd).collect())
}

/// Computes the index. Areas below `min_population`, without population, or excluded are
/// not rated; rated areas must have every indicator value (listwise: the missing ones are
/// reported, never filled with zeros).
pub fn compute(inputs: &[MssInput], min_population: Option<f64>) -> Result<Vec<MssResult>, MssError> {
    let reason = |a: &MssInput| -> Option<String> {
        if let Some(r) = &a.excluded {
            return Some(format!("ausgeschlossen: {r}"));
        }
        match (min_population, a.population) {
            (Some(_), None) => Some("Einwohnerzahl fehlt".into()),
            (Some(m), Some(p)) if p < m => Some(format!("weniger als {m} Einwohner ({p})")),
            _ => None,
        }
    };
    let reasons: Vec<Option<String>> = inputs.iter().map(reason).collect();
    let rated: Vec<usize> = (0..inputs.len()).filter(|&i| reasons[i].is_none()).collect();
    if rated.len() < 2 {
        return Err(MssError::TooFewRated(rated.len()));
    }
    let mut missing = Vec::new();
    for &i in &rated {
        for (k, v) in inputs[i].status.iter().enumerate() {
            if v.is_none() {
                missing.push((inputs[i].area.clone(), k, true));
            }
        }
        for (k, v) in inputs[i].dynamics.iter().enumerate() {
            if v.is_none() {
                missing.push((inputs[i].area.clone(), k, false));
            }
        }
    }
    if !missing.is_empty() {
        return Err(MssError::MissingValues(missing));
    }
    let n_status = inputs[rated[0]].status.len();
    let n_dyn = inputs[rated[0]].dynamics.len();
    let part = |status: bool, count: usize| -> Result<Standardised, MssError> {
        let mut zs = Vec::with_capacity(count);
        for k in 0..count {
            let v: Vec<f64> =
                rated.iter().map(|&i| if status { inputs[i].status[k] } else { inputs[i].dynamics[k] }.expect("checked")).collect();
            zs.push(zscores(&v).ok_or(MssError::ZeroVariance { status, position: k })?);
        }
        let sums: Vec<f64> = (0..rated.len()).map(|r| zs.iter().map(|z| z[r]).sum()).collect();
        let index = if count == 0 { vec![] } else { zscores(&sums).ok_or(MssError::ZeroVariance { status, position: count })? };
        Ok((zs, sums, index))
    };
    let (sz, ssum, sidx) = part(true, n_status)?;
    let (dz, dsum, didx) = part(false, n_dyn)?;
    // Each result built once: position among the rated areas, if rated.
    let mut pos = vec![usize::MAX; inputs.len()];
    for (r, &i) in rated.iter().enumerate() {
        pos[i] = r;
    }
    let out: Vec<MssResult> = inputs
        .iter()
        .zip(reasons)
        .enumerate()
        .map(|(i, (a, reason))| {
            let r = pos[i];
            if r == usize::MAX {
                return MssResult {
                    area: a.area.clone(),
                    rated: false,
                    reason_not_rated: reason,
                    status_z: vec![None; n_status],
                    dynamics_z: vec![None; n_dyn],
                    status_sum: None,
                    status_index: None,
                    status_class: None,
                    dynamics_sum: None,
                    dynamics_index: None,
                    dynamics_class: None,
                    combined_class: None,
                };
            }
            let sc = status_class(sidx[r]);
            let dc = (n_dyn > 0).then(|| dynamics_class(didx[r]));
            MssResult {
                area: a.area.clone(),
                rated: true,
                reason_not_rated: None,
                status_z: sz.iter().map(|z| Some(z[r])).collect(),
                dynamics_z: dz.iter().map(|z| Some(z[r])).collect(),
                status_sum: Some(ssum[r]),
                status_index: Some(sidx[r]),
                status_class: Some(sc),
                dynamics_sum: (n_dyn > 0).then(|| dsum[r]),
                dynamics_index: (n_dyn > 0).then(|| didx[r]),
                dynamics_class: dc,
                combined_class: Some(combined_class(sc, dc)),
            }
        })
        .collect();
    Ok(out)
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

    #[test]
    fn small_example_by_hand() {
        // Status values 1, 2, 3, 4 (one indicator): mean 2.5, SD √1.25; z = (x − 2.5)/√1.25;
        // the status sum equals z, re-standardised it stays z.
        let a = |k: &str, s: f64, pop: f64| MssInput {
            area: k.into(),
            population: Some(pop),
            excluded: None,
            status: vec![Some(s)],
            dynamics: vec![],
        };
        let mut inputs = vec![a("a", 1.0, 500.0), a("b", 2.0, 500.0), a("c", 3.0, 500.0), a("d", 4.0, 500.0), a("e", 99.0, 100.0)];
        inputs.push(MssInput { excluded: Some("Gewerbegebiet".into()), ..a("f", 50.0, 900.0) });
        let r = compute(&inputs, Some(300.0)).unwrap();
        let z = (4.0 - 2.5) / 1.25f64.sqrt();
        assert!((r[3].status_index.unwrap() - z).abs() < 1e-12);
        assert_eq!(r[3].status_class, Some(3), "z = 1.342: niedrig");
        assert_eq!(r[0].status_class, Some(1));
        assert!(!r[4].rated && r[4].reason_not_rated.as_deref() == Some("weniger als 300 Einwohner (100)"));
        assert_eq!(r[5].reason_not_rated.as_deref(), Some("ausgeschlossen: Gewerbegebiet"));
        let missing = vec![MssInput { status: vec![None], ..a("g", 0.0, 400.0) }];
        assert!(matches!(compute(&[inputs.clone(), missing].concat(), Some(300.0)), Err(MssError::MissingValues(m)) if m[0].0 == "g"));
        let flat: Vec<MssInput> = (0..3).map(|i| a(&i.to_string(), 1.0, 500.0)).collect();
        assert!(matches!(compute(&flat, None), Err(MssError::ZeroVariance { .. })));
    }
}
