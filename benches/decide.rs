//! Decision latency of an open-set 1:N match: a track's three embeddings scored against every
//! template of the trips boarding now, then the boarding rules. A 60-seat bus and a station's
//! whole morning (2,000 tickets). Run with `cargo bench --bench decide`.

use criterion::{criterion_group, criterion_main, Criterion};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use boardcheck_core::boarding::{decide, Candidate, Evidence, FrameEvidence, Place, Policy};
use boardcheck_core::manifest::{DocumentType, TicketRecord, TicketState, Trip};
use boardcheck_vision::face::embed::{l2_normalise, similarity};
use boardcheck_vision::face::EngineOptions;

fn unit(rng: &mut StdRng) -> Vec<f32> {
    // The default embedding's length.
    let dim: usize = EngineOptions::default().embedder.models().iter().map(|m| m.dim).sum();
    let mut v: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
    l2_normalise(&mut v);
    v
}

fn candidates(n: usize, rng: &mut StdRng) -> Vec<Candidate> {
    (0..n)
        .map(|i| Candidate {
            ticket: TicketRecord {
                id: format!("T{i}"),
                trip_id: format!("TRIP{}", i / 60),
                seat: format!("{}", i % 60),
                name: None,
                document_type: DocumentType::IdCard,
                document_masked: None,
                child: false,
                state: TicketState::Valid,
                has_template: true,
                enrol_issue: None,
            },
            trip: Trip { id: format!("TRIP{}", i / 60), route: "r".to_string(), departure: 0, gate: "3".to_string() },
            template: unit(rng),
        })
        .collect()
}

fn one_to_n(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(7);
    let probes: Vec<Vec<f32>> = (0..3).map(|_| unit(&mut rng)).collect();
    for n in [60, 2000] {
        let cands = candidates(n, &mut rng);
        let place = |trip: &Trip| if trip.id == "TRIP0" { Place::Here } else { Place::OtherGate { gate: "3".to_string() } };
        c.bench_function(&format!("decide_1n_{n}"), |b| {
            b.iter(|| {
                let frames: Vec<FrameEvidence> = probes
                    .iter()
                    .map(|p| FrameEvidence { spoof: Some(false), scores: cands.iter().map(|c| similarity(p, &c.template)).collect() })
                    .collect();
                decide(&Evidence::Face { frames, failed_attempts: 0 }, &cands, &place, &Policy::default())
            })
        });
    }
}

criterion_group!(benches, one_to_n);
criterion_main!(benches);
