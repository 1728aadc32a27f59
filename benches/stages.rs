//! Per-stage latency of the vision core on a real face (criterion): detection, alignment,
//! embedding (single and batched), and the whole analysis with and without liveness.
//! Run with `cargo bench --bench stages`; needs `scripts/setup` first.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use boardcheck::face::detect::rfb::RfbDetector;
use boardcheck::face::detect::Detector;
use boardcheck::face::{aligned_crop, EngineOptions, FaceEngine};
use boardcheck::models::Catalog;
use boardcheck::runtime::{self, OnnxModel, RuntimeOptions};
use boardcheck::{image_io, paths};

fn stages(c: &mut Criterion) {
    let home = paths::home().expect("boardcheck home");
    let image = image_io::load_rgb(&paths::fixtures(&home).join("obama.jpg")).expect("fixture (run scripts/setup)");
    // One thread per inference: the per-lane set-up on a 2-core station PC.
    let one_thread = RuntimeOptions { intra_threads: 1, sessions: 1 };
    let engine = FaceEngine::load(&home, &EngineOptions { runtime: one_thread, ..EngineOptions::default() }).expect("models");
    let without_liveness =
        FaceEngine::load(&home, &EngineOptions { runtime: one_thread, liveness: None, ..EngineOptions::default() }).expect("models");
    let face = engine.main_face(&image).expect("runs").expect("a face");

    let catalog = Catalog::load(&home).expect("catalog");
    let rt = runtime::init(&catalog.runtime_library().expect("runtime")).expect("runtime loads");
    let detector_path = catalog.model_path("rfb320").expect("detector");
    let detector = RfbDetector::new(
        OnnxModel::load(rt, "rfb320", &detector_path, &boardcheck::face::detect::rfb::INPUT_SHAPE, one_thread).expect("detector"),
    );

    let mut group = c.benchmark_group("vision");
    group.bench_function("detect_rfb320", |b| b.iter(|| detector.detect(&image).expect("detects")));
    group.bench_function("align_112", |b| b.iter(|| aligned_crop(&image, &face.points).expect("aligns")));
    let crop = aligned_crop(&image, &face.points).expect("aligns");
    group.bench_function("embed_1", |b| b.iter(|| engine.embedder().embed(std::slice::from_ref(&crop)).expect("embeds")));
    let eight = vec![crop.clone(); 8];
    group.bench_function("embed_batch_8", |b| {
        b.iter_batched(|| eight.clone(), |crops| engine.embedder().embed(&crops).expect("embeds"), BatchSize::SmallInput)
    });
    // Whole analysis with and without the anti-spoofing model: the difference is its cost.
    group.bench_function("analyze_whole_image", |b| b.iter(|| engine.analyze(&image).expect("analyzes")));
    group.bench_function("analyze_without_liveness", |b| b.iter(|| without_liveness.analyze(&image).expect("analyzes")));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = stages
}
criterion_main!(benches);
