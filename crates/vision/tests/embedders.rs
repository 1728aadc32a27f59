//! Every embedding recipe on the real models and the fixture faces: each loads, gives unit
//! vectors of the length its id names, and scores a person's other photo above another person.

use boardcheck_vision::face::embed::{recipe_dim, similarity};
use boardcheck_vision::face::{EmbedderKind, EngineOptions, Face, FaceEngine};
use boardcheck_vision::{image_io, paths};

const KINDS: [EmbedderKind; 6] = [
    EmbedderKind::Fused,
    EmbedderKind::Faceplugin,
    EmbedderKind::Mobilefacenet,
    EmbedderKind::Sface,
    EmbedderKind::FacepluginSface,
    EmbedderKind::All,
];

fn engine(embedder: EmbedderKind) -> FaceEngine {
    let home = paths::home().expect("boardcheck home");
    let options = EngineOptions { embedder, liveness: None, ..EngineOptions::default() };
    FaceEngine::load(&home, &options).expect("models load (run scripts/setup)")
}

fn main_face(engine: &FaceEngine, name: &str) -> Face {
    let home = paths::home().expect("boardcheck home");
    let image = image_io::load_rgb(&paths::fixtures(&home).join(name)).expect("fixture decodes");
    engine.main_face(&image).expect("analysis runs").unwrap_or_else(|| panic!("a face in {name}"))
}

#[test]
fn sface_gives_unit_128_value_vectors() {
    let engine = engine(EmbedderKind::Sface);
    assert_eq!(engine.embedder_id(), "sface+flip");
    let face = main_face(&engine, "biden.jpg");
    assert_eq!(face.embedding.len(), 128);
    let norm = face.embedding.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
}

#[test]
fn every_recipe_ranks_the_same_person_above_another() {
    for kind in KINDS {
        let engine = engine(kind);
        let id = engine.embedder_id().to_string();
        let obama = main_face(&engine, "obama.jpg");
        assert_eq!(Some(obama.embedding.len()), recipe_dim(&id), "{id}: the length its id names");
        let same = similarity(&obama.embedding, &main_face(&engine, "obama2.jpg").embedding);
        let other = similarity(&obama.embedding, &main_face(&engine, "biden.jpg").embedding);
        // Measured: 0.77–0.82 against 0.10 or below for every recipe.
        assert!(same > 0.6 && other < 0.3, "{id}: obama vs obama2 {same}, vs biden {other}");
    }
}
