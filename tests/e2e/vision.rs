//! The vision core on real models and real face images.

use crate::common;

use boardcheck_vision::face::embed::similarity;
use boardcheck_vision::face::{aligned_crop, id_photo};
use boardcheck_vision::image_io;
use common::{engine, fixture, main_face};

#[test]
fn same_person_scores_above_the_threshold() {
    let threshold = engine().verification_threshold();
    let a = main_face("obama.jpg");
    for other in ["obama2.jpg", "obama3.jpg"] {
        let s = similarity(&a.embedding, &main_face(other).embedding);
        assert!(s >= threshold, "obama.jpg vs {other}: {s} < {threshold}");
    }
}

#[test]
fn different_people_score_below_the_threshold() {
    let threshold = engine().verification_threshold();
    let s = similarity(&main_face("obama.jpg").embedding, &main_face("biden.jpg").embedding);
    assert!(s < threshold, "obama vs biden: {s} >= {threshold}");
    let hanks = main_face("Tom_Hanks_54745.png");
    let s = similarity(&hanks.embedding, &main_face("obama2.jpg").embedding);
    assert!(s < threshold, "Tom Hanks vs obama: {s} >= {threshold}");
}

#[test]
fn embeddings_are_unit_length() {
    let face = main_face("biden.jpg");
    let norm: f32 = face.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn finds_every_face_in_the_group_photo() {
    let image = image_io::load_rgb(&fixture("t1.jpg")).expect("decodes");
    let faces = engine().analyze(&image).expect("runs");
    assert_eq!(faces.len(), 6, "the six people at the table");
    for f in &faces {
        assert!(f.detection_score > 0.9);
        assert!(f.points.left_eye.x < f.points.right_eye.x, "keypoints in image order");
        let (c, b) = (f.points.nose, f.bbox);
        assert!(c.x > b.x1 && c.x < b.x2 && c.y > b.y1 && c.y < b.y2, "nose inside its box");
    }
}

#[test]
fn a_batch_embeds_exactly_as_single_faces_do() {
    let image = image_io::load_rgb(&fixture("t1.jpg")).expect("decodes");
    let faces = engine().analyze(&image).expect("runs");
    let crops: Vec<_> = faces.iter().map(|f| aligned_crop(&image, &f.points).expect("alignable")).collect();
    let batched = engine().embedder().embed(&crops).expect("batch");
    assert_eq!(batched.len(), crops.len());
    for (crop, from_batch) in crops.iter().zip(&batched) {
        let single = engine().embedder().embed(std::slice::from_ref(crop)).expect("single");
        let diff = single[0].iter().zip(from_batch).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(diff < 1e-4, "batch and single differ by {diff}");
    }
    // and the facade's embeddings are these
    for (f, e) in faces.iter().zip(&batched) {
        assert!(similarity(&f.embedding, e) > 0.9999);
    }
}

#[test]
fn an_id_card_photo_matches_other_photos_of_the_person() {
    let image = image_io::load_rgb(&fixture("obama.jpg")).expect("decodes");
    let face = main_face("obama.jpg");
    let photo = id_photo::crop(&image, &face.points).expect("croppable");
    assert_eq!(photo.dimensions(), (id_photo::WIDTH, id_photo::HEIGHT));
    let jpeg = id_photo::encode_jpeg(&photo, 50).expect("encodes");
    let chip = image_io::decode_rgb(&jpeg, std::path::Path::new("chip.jpg")).expect("decodes");
    let chip_face = engine().main_face(&chip).expect("runs").expect("a face in the 102×126 ID photo");
    let threshold = engine().verification_threshold();
    let same = similarity(&chip_face.embedding, &main_face("obama3.jpg").embedding);
    let other = similarity(&chip_face.embedding, &main_face("biden.jpg").embedding);
    assert!(same >= threshold, "ID photo vs obama3: {same}");
    assert!(other < threshold, "ID photo vs biden: {other}");
}

#[test]
fn quality_rejects_small_faces_with_a_reason() {
    let image = image_io::load_rgb(&fixture("obama.jpg")).expect("decodes");
    let small = image::imageops::resize(&image, image.width() / 5, image.height() / 5, image::imageops::FilterType::Triangle);
    let face = engine().main_face(&small).expect("runs").expect("still found");
    let issue = face.quality_issue.expect("too small to be a probe");
    assert!(issue.to_string().contains("too small"), "{issue}");
    assert!(main_face("obama.jpg").usable());
}

#[test]
fn an_image_without_a_face_has_no_faces() {
    let blank = image::RgbImage::from_pixel(320, 240, image::Rgb([90, 120, 150]));
    assert!(engine().analyze(&blank).expect("runs").is_empty());
}

#[test]
fn onnx_runtime_writes_nothing_outside_boardcheck() {
    // Today the library kept a telemetry queue under ~/.cache/Microsoft, telemetry off or not.
    let home = tempfile::tempdir().expect("a fresh HOME");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_boardcheck"))
        .args(["verify", &common::fixture("obama.jpg").to_string_lossy(), &common::fixture("obama2.jpg").to_string_lossy(), "--json"])
        .env("HOME", home.path())
        .env_remove("XDG_CACHE_HOME")
        .env_remove("ORT_DISABLE_TELEMETRY")
        .output()
        .expect("boardcheck runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let written: Vec<_> = walk(home.path());
    assert!(written.is_empty(), "written under HOME: {written:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] }).collect())
        .unwrap_or_default()
}
