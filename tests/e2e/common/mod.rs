//! Shared by the integration tests: the real engine and the fixture images.

pub mod browser;
pub mod station;
pub mod streams;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use boardcheck_vision::face::{EngineOptions, Face, FaceEngine};
use boardcheck_vision::{image_io, paths};

pub fn fixture(name: &str) -> PathBuf {
    let home = paths::home().expect("boardcheck home (run scripts/setup)");
    paths::fixtures(&home).join(name)
}

/// One engine per test binary: loading models is the slow part.
pub fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let home = paths::home().expect("boardcheck home");
        FaceEngine::load(&home, &EngineOptions::default()).expect("models load (run scripts/setup)")
    })
}

pub fn main_face(name: &str) -> Face {
    let image = image_io::load_rgb(&fixture(name)).expect("fixture decodes");
    engine().main_face(&image).expect("analysis runs").unwrap_or_else(|| panic!("a face in {name}"))
}

/// Runs the boardcheck binary to completion, with `stdin` as its standard input.
pub fn boardcheck(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boardcheck"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("boardcheck runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin.unwrap_or_default().as_bytes()).expect("writes stdin");
    drop(input);
    child.wait_with_output().expect("boardcheck finishes")
}
