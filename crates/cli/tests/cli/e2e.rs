//! The end-to-end and accessibility suite in `e2e/run.mjs` (playwright-core driving headless
//! Chromium, axe-core) against the demo served by the real binary. In CI (CI=true) node, the
//! suite's packages (`npm ci --prefix e2e`, done by `.ci/run`) and Chromium must be present;
//! elsewhere the test says it was skipped.

use crate::support::*;
use std::process::Command;

#[test]
fn web_app_end_to_end_and_accessibility_in_chromium() {
    let root = repo_file("");
    let ready = std::path::Path::new("/usr/bin/chromium").exists()
        && root.join("e2e/node_modules/playwright-core").exists()
        && root.join("e2e/node_modules/axe-core").exists()
        && Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ready {
        assert!(std::env::var("CI").is_err(), "CI must install chromium, node and the e2e packages (see .ci/run)");
        eprintln!("SKIPPED: needs /usr/bin/chromium, node and `npm ci --prefix e2e`");
        return;
    }
    let env = Env::new();
    env.run(&["demo", "--keep", env.db().to_str().unwrap(), "--no-serve"]).ok();
    // The Sozialbericht and the area profiles, checked from disk beside the pages.
    let def = repo_file("data/berlin-mss/report-2019.toml");
    let (report, profiles) = (env.path("bericht.html"), env.path("steckbriefe.html"));
    env.run(&["report", "--definition", def.to_str().unwrap(), "--out", report.to_str().unwrap()]).ok();
    env.run(&["profiles", "--definition", def.to_str().unwrap(), "--area", "01011101,01033101", "--out", profiles.to_str().unwrap()]).ok();
    let server = crate::demo::serve_with(&env, &[]);
    let out = Command::new("node")
        .arg(root.join("e2e/run.mjs"))
        .arg(format!("http://{}", server.addr))
        .args(["--report", report.to_str().unwrap(), "--report", profiles.to_str().unwrap()])
        .env("HOME", env.path(""))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "end-to-end suite failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("ok   a click on the map opens the profile")
            && stdout.contains("ok   daten: no serious or critical")
            && stdout.contains("ok   bericht.html: valid HTML")
            && stdout.contains("ok   steckbriefe.html: no serious or critical")
            && stdout.contains("ok   the PDF arrives when ready")
            && stdout.contains("ok   pasted TOML fills the form")
            && stdout.contains("ok   the index is saved and opens")
            && stdout.contains("ok   the invitee sets the password")
            && stdout.contains("ok   the API answers a script with the token"),
        "{stdout}"
    );
}
