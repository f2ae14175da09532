//! The layers of ARCHITECTURE.md, checked: each crate of the workspace may depend only on the
//! Quartier crates listed for it here. A new dependency between crates, or a new crate, fails
//! this test until ARCHITECTURE.md and this table agree on it.

use std::collections::BTreeSet;
use std::path::Path;

/// Crate directory → the Quartier crates it may use (dependencies and dev-dependencies).
const ALLOWED: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("geom", &[]),
    ("store", &["quartier-core", "quartier-geom"]),
    ("import", &["quartier-core", "quartier-geom", "quartier-store"]),
    ("app", &["quartier-core", "quartier-geom", "quartier-store"]),
    ("report", &["quartier-core", "quartier-geom", "quartier-app"]),
    ("web", &["quartier-core", "quartier-geom", "quartier-app", "quartier-import", "quartier-report"]),
    ("cli", &["quartier-core", "quartier-geom", "quartier-app", "quartier-import", "quartier-web", "quartier-report"]),
    ("bench", &["quartier-core", "quartier-geom"]),
];

fn quartier_dependencies(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    ["dependencies", "dev-dependencies", "build-dependencies"]
        .iter()
        .filter_map(|section| doc.get(*section).and_then(|t| t.as_table()))
        .flat_map(|t| t.keys())
        .filter(|name| name.starts_with("quartier"))
        .cloned()
        .collect()
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(crates).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = dir.join("Cargo.toml");
        if !manifest.exists() {
            continue;
        }
        let name = dir.file_name().unwrap().to_str().unwrap().to_string();
        let Some((_, allowed)) = ALLOWED.iter().find(|(c, _)| *c == name) else {
            wrong.push(format!("crates/{name} is not in the layer table (tests/layers.rs, ARCHITECTURE.md)"));
            continue;
        };
        seen.insert(name.clone());
        for dep in quartier_dependencies(&manifest) {
            if !allowed.contains(&dep.as_str()) {
                wrong.push(format!("crates/{name} depends on {dep}, which its layer may not use"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(seen.len(), ALLOWED.len(), "a crate of the layer table is missing: {seen:?}");
}

#[test]
fn the_check_sees_a_forbidden_dependency() {
    let dir = std::env::temp_dir().join(format!("quartier-layers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("Cargo.toml");
    std::fs::write(
        &manifest,
        "[package]\nname = \"x\"\n[dependencies]\nquartier-store.workspace = true\nserde = \"1\"\n[dev-dependencies]\nquartier-web = { path = \"../web\" }\n",
    )
    .unwrap();
    let deps = quartier_dependencies(&manifest);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(deps.into_iter().collect::<Vec<_>>(), ["quartier-store", "quartier-web"]);
    let (_, report_allowed) = ALLOWED.iter().find(|(c, _)| *c == "report").unwrap();
    assert!(!report_allowed.contains(&"quartier-store"), "report may not reach the store past app");
}
