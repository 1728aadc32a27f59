//! Per-stage latency of the vision core on a real face (criterion): detection (on the photo and
//! on a 640×480 lane frame, with its letterbox alone), landmarks and alignment of one tracked
//! face, embedding (single, batched and each model alone), and the whole analysis with and
//! without liveness.
//! Run with `cargo bench --bench stages`; needs `scripts/setup` first.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use boardcheck_vision::face::align::{warp, Affine, Border};
use boardcheck_vision::face::detect::rfb::{self, RfbDetector};
use boardcheck_vision::face::detect::{letterbox, Detector};
use boardcheck_vision::face::{aligned_crop, EmbedderKind, EngineOptions, FaceEngine};
use boardcheck_vision::models::Catalog;
use boardcheck_vision::runtime::{self, OnnxModel, RuntimeOptions};
use boardcheck_vision::{image_io, paths};

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
        OnnxModel::load(rt, "rfb320", &detector_path, &boardcheck_vision::face::detect::rfb::INPUT_SHAPE, one_thread).expect("detector"),
    );

    // A lane camera frame: the photo scaled to 480 rows and centred in 640×480.
    let s = image.height() as f32 / 480.0;
    let frame = warp(&image, &Affine::scale_translate(s, s, (image.width() as f32 - 640.0 * s) / 2.0, 0.0), 640, 480, Border::Replicate);
    let in_frame = engine.detect(&frame).expect("detects").into_iter().next().expect("a face in the frame");

    let mut group = c.benchmark_group("vision");
    group.bench_function("detect_rfb320", |b| b.iter(|| detector.detect(&image).expect("detects")));
    // The lane's detect stage, and its own share: letterbox and tensor packing.
    group.bench_function("detect_rfb320_640x480", |b| b.iter(|| detector.detect(&frame).expect("detects")));
    group.bench_function("letterbox_640x480", |b| {
        b.iter(|| letterbox(&frame, rfb::INPUT_WIDTH, rfb::INPUT_HEIGHT, rfb::FILL, &rfb::NORMALISATION))
    });
    // What the assess stage does for a tracked face: a glimpse while it approaches, all of
    // locating once it has settled.
    group.bench_function("glimpse_640x480", |b| b.iter(|| engine.glimpse(&frame, &in_frame).expect("glimpses")));
    group.bench_function("locate_640x480", |b| b.iter(|| engine.locate(&frame, &in_frame).expect("locates")));
    group.bench_function("align_112", |b| b.iter(|| aligned_crop(&image, &face.points).expect("aligns")));
    let crop = aligned_crop(&image, &face.points).expect("aligns");
    group.bench_function("embed_1", |b| b.iter(|| engine.embedder().embed(std::slice::from_ref(&crop)).expect("embeds")));
    // Each model alone (with its mirror image): what it adds to a recipe's cost per face.
    for kind in [EmbedderKind::Faceplugin, EmbedderKind::Mobilefacenet, EmbedderKind::Sface] {
        let alone =
            FaceEngine::load(&home, &EngineOptions { runtime: one_thread, liveness: None, embedder: kind, ..EngineOptions::default() })
                .expect("models");
        group.bench_function(format!("embed_1_{}", alone.embedder_id()), |b| {
            b.iter(|| alone.embedder().embed(std::slice::from_ref(&crop)).expect("embeds"))
        });
    }
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
