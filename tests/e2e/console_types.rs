//! The pages' scripts (crates/station/src/assets/*.js: the console's modules, the login page's,
//! the kiosk's) are type-checked against the station's HTTP types — the TypeScript declarations
//! generated from the Rust types, crates/api/bindings/api.d.ts — by the TypeScript compiler:
//! `tsc -p crates/station/src/assets` (allowJs, checkJs, strict, noEmit). A field the Rust
//! types do not have, or one used as the wrong type, fails here instead of in a browser.
//!
//! Needs TypeScript, at the version scripts/setup pins (its line `typescript=…`), installed by
//! scripts/setup into `$XDG_CACHE_HOME/boardcheck/npm` (by default `~/.cache/boardcheck/npm`);
//! without it the tests fail saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

const ASSETS: &str = "crates/station/src/assets";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The TypeScript version scripts/setup installs.
fn pinned() -> String {
    let setup = std::fs::read_to_string(root().join("scripts/setup")).expect("reads scripts/setup");
    let line =
        setup.lines().find_map(|l| l.trim().strip_prefix("typescript=")).expect("scripts/setup pins TypeScript (a line typescript=…)");
    line.trim().trim_matches('"').to_string()
}

/// Where scripts/setup installs TypeScript, as its install step works it out.
fn npm_prefix() -> PathBuf {
    let cache = match std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"),
    };
    cache.join("boardcheck").join("npm")
}

/// The pinned TypeScript's compiler; fails, naming the setup step, when it is not installed.
fn tsc() -> PathBuf {
    let version = pinned();
    let prefix = npm_prefix();
    let setup = format!(
        "run scripts/setup, which installs it (npm install --prefix {} typescript@{version} --no-audit --no-fund)",
        prefix.display()
    );
    let package = prefix.join("node_modules/typescript/package.json");
    let installed = std::fs::read_to_string(&package)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .and_then(|json| json["version"].as_str().map(str::to_string));
    match installed {
        None => panic!("TypeScript is not installed ({} is missing): {setup}", package.display()),
        Some(v) if v != version => panic!("TypeScript {v} is installed in {}, but scripts/setup pins {version}: {setup}", prefix.display()),
        Some(_) => prefix.join("node_modules/typescript/bin/tsc"),
    }
}

/// Runs `tsc -p <project>`: whether it passed, and what it said.
fn run_tsc(project: &Path) -> (bool, String) {
    let tsc = tsc();
    let output = Command::new("node")
        .arg(&tsc)
        .arg("-p")
        .arg(project)
        .arg("--pretty")
        .arg("false")
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("running node {} (is Node.js installed? scripts/setup needs it too): {e}", tsc.display()));
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), said)
}

#[test]
fn the_pages_scripts_type_check_against_the_api_types() {
    let (passed, said) = run_tsc(&root().join(ASSETS));
    assert!(passed, "tsc -p {ASSETS} found errors:\n{said}");
}

/// The check really checks: the same configuration over the same scripts, plus one that reads
/// a field LaneEvent does not have, fails on that field and nothing else. (A configuration that
/// checked nothing, or declarations that did not resolve, would let the test above pass.)
#[test]
fn a_field_the_api_types_do_not_have_fails_the_check() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let assets = root().join(ASSETS);
    let bindings = root().join("crates/api/bindings/api");
    let config = serde_json::json!({
        "extends": assets.join("tsconfig.json"),
        "include": [assets.join("*.js"), "probe.js"],
    });
    std::fs::write(dir.path().join("tsconfig.json"), config.to_string()).expect("writes tsconfig.json");
    let probe = format!(
        "// @ts-check\n/** @param {{import('{}').LaneEvent}} event */\nexport const outcome = (event) => event.outcom;\n",
        bindings.display()
    );
    std::fs::write(dir.path().join("probe.js"), probe).expect("writes probe.js");

    let (passed, said) = run_tsc(dir.path());
    assert!(!passed, "tsc passed a script that reads LaneEvent.outcom:\n{said}");
    let errors: Vec<&str> = said.lines().filter(|l| l.contains("error TS")).collect();
    assert!(
        errors.len() == 1 && errors[0].contains("probe.js") && errors[0].contains("'outcom' does not exist on type"),
        "expected exactly the error for LaneEvent.outcom, tsc said:\n{said}"
    );
}
