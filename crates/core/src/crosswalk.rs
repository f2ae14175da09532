//! Crosswalks between two boundary sets: weights old area → new area, and carrying values
//! across a boundary change with them.
//!
//! A weight `w(i, j)` is the share of old area `i` that goes to new area `j`; the weights of
//! each old area sum to 1. Where they come from is the crosswalk's [`Method`]: an official key
//! table (Umsteigeschlüssel), an overlay of the two geometries (shares of area), or weighted
//! points (shares of population, e.g. Zensus grid cells or addresses) — the last is the
//! preferred one where available, as population is what counts are counts of.
//!
//! Counts are redistributed and summed (`carry_counts`); rates are never averaged as counts:
//! a rate is recomputed from carried counts, or, delivered without its counts, carried as a
//! population-weighted mean (`carry_rates`). Every carried value is an estimate where a split
//! old area contributes to it; `estimated` says how much of each new area's value came from
//! split old areas (0: every contribution came from an old area that went whole).
//!
//! Method follows the areal-weighting and target-density-weighting interpolation of
//! Goodchild & Lam (1980) and the population-weighted crosswalks of the U.S. Census Bureau
//! relationship files and the BBSR's Umsteigeschlüssel for German municipal reforms.

use std::collections::HashMap;

/// Where the weights come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// An official key table (old key, new key, share).
    KeyTable,
    /// Shares of area from an overlay of the two geometries.
    AreaOverlay,
    /// Shares of weighted points (population) located in both boundary sets.
    Points,
    /// Two crosswalks one after the other (`A → B` then `B → C`).
    Chained(Box<Method>, Box<Method>),
}

impl Method {
    pub fn label_de(&self) -> String {
        match self {
            Method::KeyTable => "Umsteigeschlüssel".into(),
            Method::AreaOverlay => "Flächenanteile (Verschneidung)".into(),
            Method::Points => "Bevölkerungsanteile (gewichtete Punkte)".into(),
            Method::Chained(a, b) => format!("{} und {}", a.label_de(), b.label_de()),
        }
    }
}

/// One weight: old area `old` gives `weight` of itself to new area `new` (positions in
/// [`Crosswalk::old`] and [`Crosswalk::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Link {
    pub old: usize,
    pub new: usize,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Crosswalk {
    pub old: Vec<String>,
    pub new: Vec<String>,
    /// Sorted by (old, new); no pair twice, no weight ≤ 0.
    pub links: Vec<Link>,
    pub method: Method,
}

/// What [`Crosswalk::check`] finds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Check {
    /// Old areas whose weights do not sum to 1 (key, sum).
    pub not_one: Vec<(String, f64)>,
    /// Old areas without any weight (their values cannot be carried).
    pub old_unlinked: Vec<String>,
    /// New areas nothing goes to.
    pub new_unlinked: Vec<String>,
}

impl Check {
    pub fn is_ok(&self) -> bool {
        self.not_one.is_empty() && self.old_unlinked.is_empty()
    }
}

/// Values carried to the new areas: per new area the value (None: nothing carried there, or a
/// contribution was missing) and the share of it that comes from split old areas.
#[derive(Debug, Clone, PartialEq)]
pub struct Carried {
    pub values: Vec<Option<f64>>,
    pub estimated: Vec<f64>,
}

/// Weights below this are dropped as slivers of digitising (one in a million of an area).
pub const SLIVER: f64 = 1e-6;

impl Crosswalk {
    /// From (old, new, weight) triples by position, e.g. from an overlay or points: slivers
    /// dropped, each old area's weights scaled to sum to 1 (an overlay of two tilings of the
    /// same territory gives sums of 1 up to rounding; what is missing at the territory's edge
    /// is not moved anywhere).
    pub fn from_weights(old: Vec<String>, new: Vec<String>, triples: &[(usize, usize, f64)], method: Method) -> Crosswalk {
        let mut sum = vec![0.0; old.len()];
        let mut pairs: HashMap<(usize, usize), f64> = HashMap::new();
        for &(i, j, w) in triples {
            if w > 0.0 && w.is_finite() {
                *pairs.entry((i, j)).or_default() += w;
                sum[i] += w;
            }
        }
        let mut links: Vec<Link> =
            pairs.into_iter().filter(|((i, _), w)| *w / sum[*i] >= SLIVER).map(|((i, j), w)| Link { old: i, new: j, weight: w }).collect();
        links.sort_by_key(|l| (l.old, l.new));
        // Scale after dropping slivers: each old area gives away exactly all of itself.
        let mut kept = vec![0.0; old.len()];
        for l in &links {
            kept[l.old] += l.weight;
        }
        for l in &mut links {
            l.weight /= kept[l.old];
        }
        Crosswalk { old, new, links, method }
    }

    /// From an official key table: (old key, new key, share of the old area). Errors name
    /// the row (1-based among the given rows): an empty key, a share that is no number in
    /// (0, 1], a pair given twice.
    pub fn from_table(rows: &[(String, String, f64)]) -> Result<Crosswalk, Vec<String>> {
        let mut problems = Vec::new();
        let (mut old, mut new): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let (mut old_pos, mut new_pos): (HashMap<String, usize>, HashMap<String, usize>) = (HashMap::new(), HashMap::new());
        let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
        let mut links = Vec::new();
        for (n, (o, w_new, share)) in rows.iter().enumerate() {
            let row = n + 1;
            if o.trim().is_empty() || w_new.trim().is_empty() {
                problems.push(format!("Zeile {row}: alter und neuer Schlüssel werden gebraucht"));
                continue;
            }
            if !(share.is_finite() && *share > 0.0 && *share <= 1.0 + 1e-9) {
                problems.push(format!("Zeile {row}: Anteil {share} von „{o}“ nach „{w_new}“ liegt nicht zwischen 0 und 1"));
                continue;
            }
            let i = *old_pos.entry(o.clone()).or_insert_with(|| {
                old.push(o.clone());
                old.len() - 1
            });
            let j = *new_pos.entry(w_new.clone()).or_insert_with(|| {
                new.push(w_new.clone());
                new.len() - 1
            });
            if let Some(first) = seen.insert((i, j), row) {
                problems.push(format!("Zeile {row}: „{o}“ nach „{w_new}“ stand schon in Zeile {first}"));
                continue;
            }
            links.push(Link { old: i, new: j, weight: *share });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        links.sort_by_key(|l| (l.old, l.new));
        Ok(Crosswalk { old, new, links, method: Method::KeyTable })
    }

    /// The checks before a crosswalk is used: each old area's weights sum to 1 within
    /// `tolerance`; old areas without weights; new areas nothing goes to.
    pub fn check(&self, tolerance: f64) -> Check {
        let mut sum = vec![0.0; self.old.len()];
        let mut reached = vec![false; self.new.len()];
        for l in &self.links {
            sum[l.old] += l.weight;
            reached[l.new] = true;
        }
        let mut c = Check::default();
        for (i, s) in sum.iter().enumerate() {
            if *s == 0.0 {
                c.old_unlinked.push(self.old[i].clone());
            } else if (s - 1.0).abs() > tolerance {
                c.not_one.push((self.old[i].clone(), *s));
            }
        }
        c.new_unlinked = reached.iter().enumerate().filter(|(_, r)| !**r).map(|(j, _)| self.new[j].clone()).collect();
        c
    }

    /// Whether old area `i` goes whole to one new area.
    fn whole(&self) -> Vec<bool> {
        let mut n = vec![0usize; self.old.len()];
        let mut w = vec![0.0; self.old.len()];
        for l in &self.links {
            n[l.old] += 1;
            w[l.old] += l.weight;
        }
        n.iter().zip(&w).map(|(n, w)| *n == 1 && (w - 1.0).abs() < 1e-9).collect()
    }

    /// Counts of the old areas (by position in `old`) carried to the new areas: each old
    /// count split by the weights, the parts summed. The total of all old counts with links
    /// is preserved. A new area gets None when an old area contributing to it has no value
    /// (a partial sum would look complete).
    pub fn carry_counts(&self, values: &[Option<f64>]) -> Carried {
        let whole = self.whole();
        let mut sum = vec![Some(0.0); self.new.len()];
        let mut split = vec![0.0; self.new.len()];
        for l in &self.links {
            match (values.get(l.old).copied().flatten(), sum[l.new]) {
                (Some(v), Some(s)) => {
                    sum[l.new] = Some(s + v * l.weight);
                    if !whole[l.old] {
                        split[l.new] += v * l.weight;
                    }
                }
                _ => sum[l.new] = None,
            }
        }
        let reached = self.reached();
        let values: Vec<Option<f64>> = sum.iter().zip(&reached).map(|(s, r)| if *r { *s } else { None }).collect();
        let estimated = values.iter().zip(&split).map(|(v, s)| v.filter(|v| *v != 0.0).map_or(0.0, |v| (s / v).clamp(0.0, 1.0))).collect();
        Carried { values, estimated }
    }

    /// Rates delivered without their counts, carried as means weighted by `population` of
    /// the old areas times the weights — never as plain means. Always estimates where a split
    /// old area contributes.
    pub fn carry_rates(&self, rates: &[Option<f64>], population: &[Option<f64>]) -> Carried {
        let whole = self.whole();
        let mut num = vec![Some(0.0); self.new.len()];
        let mut den = vec![0.0; self.new.len()];
        let mut split = vec![0.0; self.new.len()];
        for l in &self.links {
            let p = population.get(l.old).copied().flatten();
            match (rates.get(l.old).copied().flatten(), p, num[l.new]) {
                (Some(r), Some(p), Some(s)) => {
                    num[l.new] = Some(s + r * p * l.weight);
                    den[l.new] += p * l.weight;
                    if !whole[l.old] {
                        split[l.new] += p * l.weight;
                    }
                }
                _ => num[l.new] = None,
            }
        }
        let values: Vec<Option<f64>> = num.iter().zip(&den).map(|(n, d)| n.filter(|_| *d > 0.0).map(|n| n / d)).collect();
        let estimated = den.iter().zip(&split).map(|(d, s)| if *d > 0.0 { (s / d).clamp(0.0, 1.0) } else { 0.0 }).collect();
        Carried { values, estimated }
    }

    fn reached(&self) -> Vec<bool> {
        let mut r = vec![false; self.new.len()];
        for l in &self.links {
            r[l.new] = true;
        }
        r
    }

    /// This crosswalk followed by `next` (whose old areas are this one's new areas, by key):
    /// `w(i, k) = Σ_j w(i, j) · w'(j, k)`. A new area of this one missing from `next` is an
    /// error naming it.
    pub fn chain(&self, next: &Crosswalk) -> Result<Crosswalk, String> {
        let pos: HashMap<&str, usize> = next.old.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let mut out_of: Vec<Vec<(usize, f64)>> = vec![Vec::new(); next.old.len()];
        for l in &next.links {
            out_of[l.old].push((l.new, l.weight));
        }
        let mut triples = Vec::new();
        for l in &self.links {
            let j = *pos.get(self.new[l.new].as_str()).ok_or_else(|| {
                format!("„{}“ aus dem ersten Umstieg fehlt im zweiten: die Umstiege passen nicht aneinander", self.new[l.new])
            })?;
            for &(k, w) in &out_of[j] {
                triples.push((l.old, k, l.weight * w));
            }
        }
        let method = Method::Chained(Box::new(self.method.clone()), Box::new(next.method.clone()));
        let mut c = Crosswalk::from_weights(self.old.clone(), next.new.clone(), &triples, method);
        // Chaining keeps whatever the parts summed to (a key table may leave a share unassigned).
        let mut sum = vec![0.0; self.old.len()];
        for &(i, _, w) in &triples {
            sum[i] += w;
        }
        for l in &mut c.links {
            l.weight *= sum[l.old];
        }
        Ok(c)
    }
}

/// How a new area relates to the old boundary set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The same territory under the same key and name.
    Unchanged,
    /// The same territory under another name or key.
    Renamed,
    /// Part of one old area.
    Split,
    /// Several whole old areas.
    Merged,
    /// Parts of old areas whose boundaries moved.
    Reshaped,
    /// Territory that belonged to no old area.
    New,
}

impl Change {
    pub fn label_de(self) -> &'static str {
        match self {
            Change::Unchanged => "unverändert",
            Change::Renamed => "umbenannt",
            Change::Split => "geteilt",
            Change::Merged => "zusammengelegt",
            Change::Reshaped => "Grenzen verschoben",
            Change::New => "neu",
        }
    }
}

/// Shares below this (1 %) count as digitising noise when telling changes apart.
pub const CHANGE_TOLERANCE: f64 = 0.01;

/// What a new boundary set changes against the old one, from the areas they share
/// (`shared`: old, new, area, e.g. `geom::overlay::shared_areas`) and each area's own area:
/// per new area its kind of change and the old areas it takes territory from (keys); then the
/// old areas whose territory no new area covers. Both areas must be in the same units.
pub fn changes(
    old: &[(String, String)],
    new: &[(String, String)],
    shared: &[(usize, usize, f64)],
    old_area: &[f64],
    new_area: &[f64],
) -> (Vec<(Change, Vec<String>)>, Vec<String>) {
    let mut from: Vec<Vec<(usize, f64, f64)>> = vec![Vec::new(); new.len()];
    let mut covered = vec![0.0; old.len()];
    for &(i, j, a) in shared {
        let (of_old, of_new) = (a / old_area[i].max(f64::MIN_POSITIVE), a / new_area[j].max(f64::MIN_POSITIVE));
        covered[i] += of_old;
        if of_new >= CHANGE_TOLERANCE {
            from[j].push((i, of_old, of_new));
        }
    }
    let whole = |x: f64| x >= 1.0 - CHANGE_TOLERANCE;
    let per_new = from
        .iter()
        .enumerate()
        .map(|(j, parts)| {
            let keys: Vec<String> = parts.iter().map(|(i, _, _)| old[*i].0.clone()).collect();
            let kind = match parts.as_slice() {
                [] => Change::New,
                [(i, of_old, of_new)] if whole(*of_old) && whole(*of_new) => {
                    if old[*i] == new[j] {
                        Change::Unchanged
                    } else {
                        Change::Renamed
                    }
                }
                [(_, _, of_new)] if whole(*of_new) => Change::Split,
                several if several.len() > 1 && several.iter().all(|(_, of_old, _)| whole(*of_old)) => Change::Merged,
                _ => Change::Reshaped,
            };
            (kind, keys)
        })
        .collect();
    let gone = covered.iter().enumerate().filter(|(_, c)| **c < CHANGE_TOLERANCE).map(|(i, _)| old[i].0.clone()).collect();
    (per_new, gone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    /// A split (A → A1 60 %, A2 40 %), a merge (B, C → BC) and an unchanged area (D).
    fn redistricting() -> Crosswalk {
        let rows: Vec<(String, String, f64)> = [("A", "A1", 0.6), ("A", "A2", 0.4), ("B", "BC", 1.0), ("C", "BC", 1.0), ("D", "D", 1.0)]
            .iter()
            .map(|(o, n, w)| (o.to_string(), n.to_string(), *w))
            .collect();
        Crosswalk::from_table(&rows).unwrap()
    }

    #[test]
    fn counts_are_split_by_the_weights_and_totals_preserved() {
        let c = redistricting();
        assert!(c.check(1e-9).is_ok());
        let counts = [Some(100.0), Some(30.0), Some(20.0), Some(7.0)];
        let carried = c.carry_counts(&counts);
        let at = |k: &str| carried.values[c.new.iter().position(|x| x == k).unwrap()];
        assert_eq!((at("A1"), at("A2"), at("BC"), at("D")), (Some(60.0), Some(40.0), Some(50.0), Some(7.0)));
        let total: f64 = carried.values.iter().flatten().sum();
        assert_eq!(total, 157.0, "totals preserved exactly");
        let est = |k: &str| carried.estimated[c.new.iter().position(|x| x == k).unwrap()];
        assert_eq!((est("A1"), est("BC"), est("D")), (1.0, 0.0, 0.0), "split areas are estimates, merges and unchanged areas are not");
    }

    #[test]
    fn rates_are_recomputed_from_carried_counts_not_averaged() {
        let c = redistricting();
        // B: 3 of 30 (10 %), C: 10 of 20 (50 %): BC has 13 of 50 = 26 %, not the mean 30 %.
        let num = c.carry_counts(&[Some(10.0), Some(3.0), Some(10.0), Some(1.0)]);
        let den = c.carry_counts(&[Some(100.0), Some(30.0), Some(20.0), Some(7.0)]);
        let bc = c.new.iter().position(|x| x == "BC").unwrap();
        assert!((100.0 * num.values[bc].unwrap() / den.values[bc].unwrap() - 26.0).abs() < 1e-12);
        // Delivered rates without counts: weighted by population.
        let rates = c.carry_rates(&[Some(10.0), Some(10.0), Some(50.0), Some(1.0)], &[Some(100.0), Some(30.0), Some(20.0), Some(7.0)]);
        assert!((rates.values[bc].unwrap() - 26.0).abs() < 1e-12);
    }

    #[test]
    fn a_missing_contribution_leaves_the_new_area_without_a_value() {
        let c = redistricting();
        let carried = c.carry_counts(&[Some(100.0), None, Some(20.0), Some(7.0)]);
        assert_eq!(carried.values[c.new.iter().position(|x| x == "BC").unwrap()], None);
    }

    #[test]
    fn checks_name_what_does_not_add_up() {
        let rows = vec![("A".to_string(), "A1".to_string(), 0.6), ("A".into(), "A2".into(), 0.3), ("B".into(), "B".into(), 1.0)];
        let c = Crosswalk::from_table(&rows).unwrap();
        let check = c.check(1e-6);
        assert_eq!(check.not_one.len(), 1);
        assert_eq!(check.not_one[0].0, "A");
        assert!((check.not_one[0].1 - 0.9).abs() < 1e-12);
        let bad = vec![
            ("A".to_string(), "A1".to_string(), 1.5),
            ("".into(), "X".into(), 1.0),
            ("B".into(), "B".into(), 1.0),
            ("B".into(), "B".into(), 1.0),
        ];
        let err = Crosswalk::from_table(&bad).unwrap_err();
        assert_eq!(err.len(), 3, "{err:?}");
        assert!(err[0].starts_with("Zeile 1") && err[1].starts_with("Zeile 2") && err[2].contains("schon in Zeile 3"), "{err:?}");
    }

    #[test]
    fn crosswalks_chain_across_versions() {
        let first = redistricting();
        // The second change splits BC again (70/30) and renames D.
        let rows: Vec<(String, String, f64)> = [("A1", "A1", 1.0), ("A2", "A2", 1.0), ("BC", "X", 0.7), ("BC", "Y", 0.3), ("D", "D2", 1.0)]
            .iter()
            .map(|(o, n, w)| (o.to_string(), n.to_string(), *w))
            .collect();
        let second = Crosswalk::from_table(&rows).unwrap();
        let both = first.chain(&second).unwrap();
        assert!(both.check(1e-9).is_ok());
        let carried = both.carry_counts(&[Some(100.0), Some(30.0), Some(20.0), Some(7.0)]);
        let at = |k: &str| carried.values[both.new.iter().position(|x| x == k).unwrap()].unwrap();
        assert!((at("X") - 35.0).abs() < 1e-12 && (at("Y") - 15.0).abs() < 1e-12 && at("D2") == 7.0);
        assert_eq!(both.method, Method::Chained(Box::new(Method::KeyTable), Box::new(Method::KeyTable)));
        // A gap between the two is named.
        let gap = Crosswalk::from_table(&[("A1".to_string(), "Z".to_string(), 1.0)]).unwrap();
        assert!(first.chain(&gap).unwrap_err().contains("A2"));
    }

    #[test]
    fn a_new_boundary_set_is_told_apart_area_by_area() {
        let pair = |k: &str, n: &str| (k.to_string(), n.to_string());
        // Old: A (100), B (50), C (50), D (100), E (100), G (100). New: A unchanged, A2 = D
        // renamed, BC = B + C merged, E1/E2 = E split 60/40, F new (80), H = G shifted (takes
        // 90 of G and 20 new), G's remaining 10 nowhere.
        let old = [pair("A", "Alt"), pair("B", "B"), pair("C", "C"), pair("D", "Dorf"), pair("E", "E"), pair("G", "G")];
        let new =
            [pair("A", "Alt"), pair("A2", "Dorf"), pair("BC", "BC"), pair("E1", "E"), pair("E2", "E"), pair("F", "F"), pair("H", "H")];
        let shared = [(0, 0, 100.0), (3, 1, 100.0), (1, 2, 50.0), (2, 2, 50.0), (4, 3, 60.0), (4, 4, 40.0), (5, 6, 90.0)];
        let (per_new, gone) =
            changes(&old, &new, &shared, &[100.0, 50.0, 50.0, 100.0, 100.0, 100.0], &[100.0, 100.0, 100.0, 60.0, 40.0, 80.0, 110.0]);
        let kinds: Vec<Change> = per_new.iter().map(|c| c.0).collect();
        assert_eq!(
            kinds,
            [Change::Unchanged, Change::Renamed, Change::Merged, Change::Split, Change::Split, Change::New, Change::Reshaped]
        );
        assert_eq!(per_new[2].1, ["B", "C"]);
        assert!(gone.is_empty(), "G is still mostly covered: {gone:?}");
        let (_, gone) = changes(&old, &new[..1], &shared[..1], &[100.0; 6], &[100.0]);
        assert_eq!(gone, ["B", "C", "D", "E", "G"]);
    }

    #[test]
    fn weights_from_overlays_drop_slivers_and_sum_to_one() {
        let c = Crosswalk::from_weights(
            keys(&["A", "B"]),
            keys(&["X", "Y"]),
            &[(0, 0, 99.0), (0, 1, 1.0), (0, 1, 1e-9), (1, 1, 5.0), (1, 0, 1e-12)],
            Method::AreaOverlay,
        );
        assert_eq!(c.links.len(), 3, "the sliver of B in X is dropped");
        assert!(c.check(1e-12).is_ok());
        assert!((c.links[0].weight - 99.0 / 100.0).abs() < 1e-6);
    }
}
