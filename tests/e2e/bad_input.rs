//! Bad input is a clear error that names what was wrong, never a panic.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use boardcheck_vision::models::Catalog;
use boardcheck_vision::runtime::{self, OnnxModel, RuntimeOptions};
use boardcheck_vision::{image_io, paths, Error};

fn boardcheck(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boardcheck")).args(args).output().expect("runs")
}

/// `verify` on a bad file fails with exit status 2 and an error naming the file.
fn assert_refused(bad: &Path, expect: &str) {
    let good = common::fixture("obama.jpg");
    let out = boardcheck(&["verify".as_ref(), bad.as_os_str(), good.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&*bad.to_string_lossy()), "error names the file: {stderr}");
    assert!(stderr.contains(expect), "error says '{expect}': {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writes");
    path
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_refused(&write(dir.path(), "empty.jpg", b""), "empty file");
}

#[test]
fn text_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_refused(&write(dir.path(), "notes.jpg", b"passenger list, not a photo\n"), "not a recognised image format");
}

#[test]
fn truncated_jpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = std::fs::read(common::fixture("obama.jpg")).expect("fixture");
    assert_refused(&write(dir.path(), "truncated.jpg", &full[..full.len() / 3]), "truncated JPEG");
}

#[test]
fn one_pixel_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dot.png");
    image::RgbImage::new(1, 1).save(&path).expect("saves");
    assert_refused(&path, "too small");
}

#[test]
fn huge_header_is_refused_before_allocating() {
    // A BMP header claiming 20000×20000 pixels, with no pixel data behind it.
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&(54u32 + 20000 * 20000 * 3).to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&20000i32.to_le_bytes());
    bmp.extend_from_slice(&20000i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    let dir = tempfile::tempdir().expect("tempdir");
    assert_refused(&write(dir.path(), "huge.bmp", &bmp), "larger than 8192x8192");
}

#[test]
fn missing_file() {
    assert_refused(Path::new("/nonexistent/passenger.jpg"), "No such file");
}

#[test]
fn decode_errors_name_the_origin() {
    let err = image_io::decode_rgb(b"GIF89a garbage", Path::new("camera-7.gif")).expect_err("refused");
    assert!(err.to_string().contains("camera-7.gif"), "{err}");
}

#[test]
fn a_wrong_shaped_model_is_refused_by_name() {
    let home = paths::home().expect("home");
    let catalog = Catalog::load(&home).expect("catalog");
    let rt = runtime::init(&catalog.runtime_library().expect("runtime")).expect("loads");
    // The detector's file offered where the embedder is expected.
    let detector_file = catalog.model_path("rfb320").expect("detector");
    let err = OnnxModel::load(rt, "faceplugin512", &detector_file, &[-1, 3, 112, 112], RuntimeOptions::default()).err().expect("refused");
    assert!(matches!(err, Error::Model { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("faceplugin512") && text.contains("input shape"), "{text}");
}

/// A boardcheck home whose catalog names files that are absent or altered.
fn home_with(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let real = paths::home().expect("home");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("models/files")).expect("mkdir");
    std::fs::copy(real.join("models/models.toml"), dir.path().join("models/models.toml")).expect("copy catalog");
    for (name, bytes) in files {
        std::fs::write(dir.path().join("models/files").join(name), bytes).expect("write");
    }
    dir
}

#[test]
fn a_missing_runtime_library_is_a_clear_error() {
    let home = home_with(&[]);
    let out = Command::new(env!("CARGO_BIN_EXE_boardcheck"))
        .env(paths::HOME_ENV, home.path())
        .args(["verify".as_ref(), common::fixture("obama.jpg").as_os_str(), common::fixture("biden.jpg").as_os_str()])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("libonnxruntime.so") && stderr.contains("scripts/setup"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn an_altered_model_file_is_refused_by_checksum() {
    let home = home_with(&[("rfb320.onnx", b"not the pinned detector")]);
    let catalog = Catalog::load(home.path()).expect("catalog");
    let err = catalog.model_path("rfb320").expect_err("refused");
    let text = err.to_string();
    assert!(text.contains("rfb320") && text.contains("SHA-256"), "{text}");
}
