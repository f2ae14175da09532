//! Benchmarks of the analysis core, run by `bench/run.sh` beside the Python peers.
//!
//! ```text
//! quartier-bench indicators --areas 10000 --years 15 --indicators 30 --out DIR
//! quartier-bench fisher-jenks --n 1000000 --k 5
//! quartier-bench crosswalk OLD.geojson NEW.geojson POINTS.csv
//! ```
//! Each prints one JSON line with timings; `indicators` also writes DIR/counts.csv so the
//! peer computes exactly the same indicators.

use quartier_core::Cell;
use quartier_core::classify::{Method, classify};
use quartier_core::hierarchy::AreaNode;
use quartier_core::indicator::Catalogue;
use quartier_core::indicator::eval::{Dataset, evaluate};
use quartier_core::validate::VariableKind;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::Instant;

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545F4914F6CDD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The allocator setting of the `quartier` binary (see `crates/cli/src/main.rs`), so the
/// core runs here as it runs there.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

fn main() {
    keep_freed_memory();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("indicators") => indicators(&args),
        Some("fisher-jenks") => fisher_jenks(&args),
        Some("index") => index(&args),
        Some("imd") => imd(&args),
        Some("read-csv") => read_csv(&args),
        Some("crosswalk") => crosswalk(&args),
        _ => {
            eprintln!(
                "usage: quartier-bench indicators [--areas N --years Y --indicators I --out DIR] | fisher-jenks [--n N --k K] | index [--areas N --indicators I --runs R --out DIR] | imd [--areas N --domains D --out DIR] | read-csv FILE | crosswalk OLD.geojson NEW.geojson POINTS.csv"
            );
            std::process::exit(2);
        }
    }
}

const NUMERATORS: usize = 15;
const DENOMINATORS: usize = 5;

fn indicators(args: &[String]) {
    let n_areas = arg(args, "--areas", 10_000);
    let n_years = arg(args, "--years", 15);
    let n_ind = arg(args, "--indicators", 30);
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let per_district = 100;
    let n_districts = n_areas.div_ceil(per_district);
    // Hierarchy: districts D0000…, areas A00000… .
    let mut nodes: Vec<AreaNode> = (0..n_districts).map(|d| AreaNode { key: format!("0/D{d:04}"), level_rank: 0, parent: None }).collect();
    nodes.extend((0..n_areas).map(|a| AreaNode {
        key: format!("1/A{a:05}"),
        level_rank: 1,
        parent: Some(format!("0/D{:04}", a / per_district)),
    }));
    // Counts: denominators 500–5,000 persons, numerators a spatially varying share of one.
    let mut rng = Rng(20_240);
    let mut values: HashMap<(String, i32), HashMap<String, Cell>> = HashMap::new();
    let mut csv = out.as_ref().map(|d| {
        std::fs::create_dir_all(d).expect("output dir");
        std::io::BufWriter::new(std::fs::File::create(format!("{d}/counts.csv")).expect("counts.csv"))
    });
    if let Some(w) = csv.as_mut() {
        writeln!(w, "area_id,district,year,variable,value").unwrap();
    }
    let district_rate: Vec<f64> = (0..n_districts).map(|_| 0.05 + 0.3 * rng.next()).collect();
    for a in 0..n_areas {
        let base: Vec<f64> = (0..DENOMINATORS).map(|_| 500.0 + 4500.0 * rng.next()).collect();
        for y in 0..n_years {
            let year = 2010 + y as i32;
            let dens: Vec<f64> = base.iter().map(|d| (d * (1.0 + 0.01 * y as f64)).round()).collect();
            // Numerator v counts a share of denominator v mod 5 (indicator i divides v(i mod 15) by v(15 + i mod 5)).
            let mut row: Vec<f64> = (0..NUMERATORS)
                .map(|v| (dens[v % DENOMINATORS] * (district_rate[a / per_district] * (0.5 + rng.next())).min(0.95)).round())
                .collect();
            row.extend(&dens);
            for (v, x) in row.iter().enumerate() {
                let var = format!("v{v:02}");
                values.entry((var.clone(), year)).or_default().insert(format!("1/A{a:05}"), Cell::Number(*x));
                if let Some(w) = csv.as_mut() {
                    writeln!(w, "A{a:05},D{:04},{year},{var},{x}", a / per_district).unwrap();
                }
            }
        }
    }
    drop(csv);
    // Indicator i: 100 * numerator (i mod 15) / denominator (15 + i mod 5).
    let toml: String = (0..n_ind)
        .map(|i| {
            format!(
                "[[indicator]]\nid = \"i{i:02}\"\nname = \"I{i}\"\nformula = \"100 * v{:02} / v{:02}\"\ndirection = \"higher_is_worse\"\nmin_denominator = 30\n",
                i % NUMERATORS,
                NUMERATORS + i % DENOMINATORS
            )
        })
        .collect();
    let vars: HashSet<String> = (0..NUMERATORS + DENOMINATORS).map(|v| format!("v{v:02}")).collect();
    let cat = Catalogue::from_toml(&toml).unwrap().checked(&vars).unwrap();
    let kinds: HashMap<String, VariableKind> = vars.iter().map(|v| (v.clone(), VariableKind::Count)).collect();
    let years: Vec<i32> = (0..n_years).map(|y| 2010 + y as i32).collect();
    let selected: Vec<usize> = (0..cat.indicators.len()).collect();
    let t = Instant::now();
    let ev = evaluate(&cat, &Dataset { nodes: &nodes, kinds: &kinds, values: &values, estimated: &Default::default() }, &years, &selected);
    let compute_s = t.elapsed().as_secs_f64();
    // Classify every indicator-year on the area level with Fisher–Jenks, k = 5.
    let t = Instant::now();
    let mut groups: HashMap<(usize, i32), Vec<f64>> = HashMap::new();
    for v in &ev.values {
        if let (Some(node), Some(x)) = (v.node, v.value)
            && node >= n_districts
        {
            groups.entry((v.indicator, v.year)).or_default().push(x);
        }
    }
    let mut checksum = 0.0;
    for g in groups.values() {
        let c = classify(g, &Method::FisherJenks { k: 5 }).expect("classifiable");
        checksum += c.bins[0];
    }
    let classify_s = t.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "task": "indicators", "areas": n_areas, "districts": n_districts, "years": n_years, "indicators": n_ind,
            "values": ev.values.len(), "classifications": groups.len(),
            "compute_s": compute_s, "classify_s": classify_s, "total_s": compute_s + classify_s, "checksum": checksum,
        })
    );
}

fn fisher_jenks(args: &[String]) {
    let n = arg(args, "--n", 1_000_000);
    let k = arg(args, "--k", 5);
    let mut rng = Rng(7);
    // Skewed like rates of need: a mixture of a few levels with noise.
    let y: Vec<f64> = (0..n).map(|_| (5.0 + 40.0 * rng.next().powi(2) + 10.0 * rng.next()).round_ties_even() / 1.0 + rng.next()).collect();
    let t = Instant::now();
    let c = classify(&y, &Method::FisherJenks { k }).expect("classifiable");
    let s = t.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"task": "fisher_jenks", "n": n, "k": k, "seconds": s, "bins": c.bins, "counts": c.counts}));
}

fn out_dir(args: &[String]) -> Option<String> {
    args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned()
}

/// MSS-style status and dynamics index plus robustness runs.
fn index(args: &[String]) {
    use quartier_core::index::mss::{self, MssInput};
    use quartier_core::index::robustness::robustness;
    let n = arg(args, "--areas", 10_000);
    let k = arg(args, "--indicators", 20) / 2;
    let runs = arg(args, "--runs", 1000);
    let mut rng = Rng(99);
    // Row by row as the peer's CSV has them, then as columns.
    let rows: Vec<(f64, Vec<f64>)> = (0..n)
        .map(|_| {
            let level = rng.next();
            let pop = (100.0 + 5000.0 * rng.next()).round();
            let s = (0..k).map(|_| ((level * 30.0 + 10.0 * rng.next()) * 1000.0).round() / 1000.0);
            let vals: Vec<f64> =
                s.collect::<Vec<_>>().into_iter().chain((0..k).map(|_| ((rng.next() - 0.5) * 4.0 * 1000.0).round() / 1000.0)).collect();
            (pop, vals)
        })
        .collect();
    let column = |j: usize| rows.iter().map(|r| Some(r.1[j])).collect::<Vec<_>>();
    let inputs = MssInput {
        areas: (0..n).map(|i| format!("A{i:05}")).collect(),
        population: rows.iter().map(|r| Some(r.0)).collect(),
        excluded: vec![None; n],
        status: (0..k).map(column).collect(),
        dynamics: (k..2 * k).map(column).collect(),
    };
    if let Some(d) = out_dir(args) {
        std::fs::create_dir_all(&d).expect("dir");
        let mut w = std::io::BufWriter::new(std::fs::File::create(format!("{d}/index.csv")).expect("index.csv"));
        let cols: Vec<String> = (0..k).map(|j| format!("s{j:02}")).chain((0..k).map(|j| format!("d{j:02}"))).collect();
        writeln!(w, "area_id,population,{}", cols.join(",")).unwrap();
        for (area, (pop, vals)) in inputs.areas.iter().zip(&rows) {
            let vals: Vec<String> = vals.iter().map(f64::to_string).collect();
            writeln!(w, "{area},{pop},{}", vals.join(",")).unwrap();
        }
    }
    // Median of 15 in-process runs each (the peer does the same): this machine is shared.
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (mut ti, mut tr) = (Vec::new(), Vec::new());
    let (mut r, mut rob) = (None, None);
    for _ in 0..15 {
        // The previous run's results are dropped before the clock starts.
        drop((r.take(), rob.take()));
        let t = Instant::now();
        r = Some(mss::compute(&inputs, Some(300.0)).expect("index"));
        ti.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        rob = Some(robustness(&inputs, Some(300.0), runs, 0.5, 1).expect("robustness"));
        tr.push(t.elapsed().as_secs_f64());
    }
    let (index_s, robust_s) = (median(ti), median(tr));
    let (r, rob) = (r.expect("ran"), rob.expect("ran"));
    let rated = r.rated.len();
    let fragile = (0..rob.rated.len()).filter(|&i| rob.depends_on_single_choice(i)).count();
    println!(
        "{}",
        serde_json::json!({"task": "mss_index", "areas": n, "indicators": 2 * k, "rated": rated, "runs": runs, "index_s": index_s, "robustness_s": robust_s, "total_s": index_s + robust_s, "fragile": fragile})
    );
}

/// IMD-style combination of domains.
fn imd(args: &[String]) {
    let n = arg(args, "--areas", 32_844);
    let d = arg(args, "--domains", 7);
    let mut rng = Rng(5);
    let domains: Vec<Vec<f64>> = (0..d).map(|_| (0..n).map(|_| (rng.next() * 1e6).round() / 1e4).collect()).collect();
    let weights = [22.5, 22.5, 13.5, 13.5, 9.3, 9.3, 9.3];
    let w: Vec<f64> = (0..d).map(|j| weights[j % weights.len()]).collect();
    if let Some(dir) = out_dir(args) {
        std::fs::create_dir_all(&dir).expect("dir");
        let mut f = std::io::BufWriter::new(std::fs::File::create(format!("{dir}/imd.csv")).expect("imd.csv"));
        writeln!(f, "{}", (0..d).map(|j| format!("d{j}")).collect::<Vec<_>>().join(",")).unwrap();
        for line in (0..n).map(|i| domains.iter().map(|dom| dom[i].to_string()).collect::<Vec<_>>().join(",")) {
            writeln!(f, "{line}").unwrap();
        }
    }
    // Median of 15 in-process runs (the peer does the same).
    let mut times = Vec::new();
    let mut r = None;
    for _ in 0..15 {
        drop(r.take()); // before the clock starts
        let t = Instant::now();
        r = Some(quartier_core::index::imd::compute(&domains, &w));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let s = times[times.len() / 2];
    let r = r.expect("ran");
    let top = r.decile.iter().filter(|&&x| x == 1).count();
    println!("{}", serde_json::json!({"task": "imd", "areas": n, "domains": d, "seconds": s, "decile1": top}));
}

/// The floor for `quartier aggregate`: read a points CSV with the csv crate and parse the
/// first two fields as numbers, nothing else (one thread).
fn read_csv(args: &[String]) {
    let path = args.get(2).expect("read-csv FILE");
    let t = Instant::now();
    let f = std::fs::File::open(path).expect("readable file");
    let mut rdr = csv::ReaderBuilder::new().from_reader(std::io::BufReader::with_capacity(1 << 20, f));
    let mut rec = csv::ByteRecord::new();
    let (mut n, mut sum) = (0u64, 0.0f64);
    while rdr.read_byte_record(&mut rec).expect("CSV") {
        let num = |i: usize| std::str::from_utf8(rec.get(i).unwrap_or(b"")).ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
        sum += num(0) + num(1);
        n += 1;
    }
    println!("{}", serde_json::json!({"records": n, "checksum": sum, "seconds": t.elapsed().as_secs_f64()}));
}

/// The polygons of a gen_city.py GeoJSON (metric coordinates), with their `area_id`.
fn read_polygons(path: &str) -> (Vec<String>, Vec<quartier_geom::MultiPolygon>) {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).expect("read geojson")).expect("geojson");
    let ring = |r: &serde_json::Value| -> quartier_geom::LineString {
        r.as_array().expect("ring").iter().map(|c| (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"))).collect::<Vec<_>>().into()
    };
    let polygon = |p: &serde_json::Value| -> quartier_geom::Polygon {
        let rings = p.as_array().expect("rings");
        quartier_geom::Polygon::new(ring(&rings[0]), rings[1..].iter().map(ring).collect())
    };
    let mut keys = Vec::new();
    let mut shapes = Vec::new();
    for f in v["features"].as_array().expect("features") {
        let g = &f["geometry"];
        let mp = match g["type"].as_str() {
            Some("Polygon") => quartier_geom::MultiPolygon(vec![polygon(&g["coordinates"])]),
            _ => quartier_geom::MultiPolygon(g["coordinates"].as_array().expect("polygons").iter().map(polygon).collect()),
        };
        keys.push(f["properties"]["area_id"].as_str().unwrap_or_default().to_string());
        shapes.push(mp);
    }
    (keys, shapes)
}

/// Crosswalks between two tilings of the same territory: by overlay (shared areas) and by
/// weighted points (each person record weight 1), with the checks (weights of each old area
/// sum to 1, totals preserved when carrying the old areas' populations).
fn crosswalk(args: &[String]) {
    use quartier_core::crosswalk::{Crosswalk, Method};
    let (old_keys, old) = read_polygons(&args[2]);
    let (new_keys, new) = read_polygons(&args[3]);
    let t = Instant::now();
    let shared = quartier_geom::overlay::shared_areas(&old, &new);
    let by_area = Crosswalk::from_weights(old_keys.clone(), new_keys.clone(), &shared, Method::AreaOverlay);
    let overlay_s = t.elapsed().as_secs_f64();
    let check = by_area.check(1e-9);
    let t = Instant::now();
    let mut points = Vec::new();
    let mut rdr = csv::Reader::from_path(&args[4]).expect("points.csv");
    for r in rdr.records() {
        let r = r.expect("point row");
        points.push((r[0].parse::<f64>().expect("x"), r[1].parse::<f64>().expect("y"), 1.0));
    }
    let read_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (pairs, outside) = quartier_geom::overlay::shared_points(&old, &new, &points);
    let by_points = Crosswalk::from_weights(old_keys, new_keys, &pairs, Method::Points);
    let points_s = t.elapsed().as_secs_f64();
    // The old areas' populations (points per old area) carried by the point weights: totals kept.
    let mut pop = vec![0.0; by_points.old.len()];
    for &(i, _, w) in &pairs {
        pop[i] += w;
    }
    let carried = by_points.carry_counts(&pop.iter().map(|p| Some(*p)).collect::<Vec<_>>());
    let total_old: f64 = pop.iter().sum();
    let total_new: f64 = carried.values.iter().flatten().sum();
    println!(
        "{}",
        serde_json::json!({
            "overlay_s": overlay_s, "overlay_pairs": by_area.links.len(), "overlay_check_ok": check.is_ok(),
            "points_read_s": read_s, "points_s": points_s, "points": points.len(), "points_outside": outside,
            "point_pairs": by_points.links.len(), "total_old": total_old, "total_new": total_new,
        })
    );
}
