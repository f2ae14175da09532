//! Supply of offers against need: straight-line reachability and the need–supply quadrant.

/// For each weighted point (x, y in metres, weight), whether an offer lies within `d`
/// metres; the result is the reached weight per point (0 or the weight). Points and offers
/// are few thousand at most: a sort on x prunes the pairs.
pub fn reached(points: &[(f64, f64, f64)], offers: &[(f64, f64)], d: f64) -> Vec<f64> {
    let mut xs: Vec<(f64, f64)> = offers.to_vec();
    xs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let d2 = d * d;
    points
        .iter()
        .map(|&(x, y, w)| {
            let start = xs.partition_point(|o| o.0 < x - d);
            let hit = xs[start..].iter().take_while(|o| o.0 <= x + d).any(|o| (o.0 - x).powi(2) + (o.1 - y).powi(2) <= d2);
            if hit { w } else { 0.0 }
        })
        .collect()
}

/// Where an area stands: need against supply, each compared with the median of the areas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Quadrant {
    /// Need at or above the median, supply at or below: the gap.
    HighNeedLowSupply,
    HighNeedHighSupply,
    LowNeedLowSupply,
    LowNeedHighSupply,
}

impl Quadrant {
    pub fn label_de(self) -> &'static str {
        match self {
            Quadrant::HighNeedLowSupply => "hoher Bedarf, geringe Versorgung",
            Quadrant::HighNeedHighSupply => "hoher Bedarf, gute Versorgung",
            Quadrant::LowNeedLowSupply => "geringer Bedarf, geringe Versorgung",
            Quadrant::LowNeedHighSupply => "geringer Bedarf, gute Versorgung",
        }
    }
}

/// The quadrant of each area with both values (need and supply medians over those areas).
pub fn quadrants(need: &[Option<f64>], supply: &[Option<f64>]) -> (Vec<Option<Quadrant>>, Option<(f64, f64)>) {
    let both: Vec<(f64, f64)> = need.iter().zip(supply).filter_map(|(n, s)| Some(((*n)?, (*s)?))).collect();
    if both.is_empty() {
        return (vec![None; need.len()], None);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let m = v.len() / 2;
        if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
    };
    let (mn, ms) = (median(both.iter().map(|b| b.0).collect()), median(both.iter().map(|b| b.1).collect()));
    let q = need
        .iter()
        .zip(supply)
        .map(|(n, s)| {
            let (n, s) = ((*n)?, (*s)?);
            Some(match (n >= mn, s <= ms) {
                (true, true) => Quadrant::HighNeedLowSupply,
                (true, false) => Quadrant::HighNeedHighSupply,
                (false, true) => Quadrant::LowNeedLowSupply,
                (false, false) => Quadrant::LowNeedHighSupply,
            })
        })
        .collect();
    (q, Some((mn, ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reach_within_a_radius() {
        let points = [(0.0, 0.0, 10.0), (400.0, 300.0, 5.0), (2000.0, 0.0, 7.0)];
        let r = reached(&points, &[(0.0, 0.0)], 500.0);
        assert_eq!(r, [10.0, 5.0, 0.0], "the second point is exactly 500 m away");
        assert_eq!(reached(&points, &[], 500.0), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn quadrants_by_medians() {
        let (q, m) = quadrants(&[Some(1.0), Some(9.0), Some(5.0), None], &[Some(3.0), Some(1.0), Some(9.0), Some(2.0)]);
        assert_eq!(m, Some((5.0, 3.0)));
        assert_eq!(q, [Some(Quadrant::LowNeedLowSupply), Some(Quadrant::HighNeedLowSupply), Some(Quadrant::HighNeedHighSupply), None]);
    }
}
