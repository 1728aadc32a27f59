//! Boarding-lane protocol sampler.
//!
//! A bus departure has a manifest of booked passengers, each with one
//! ID-card template. At the gate every traveller is searched 1:N against that
//! manifest only. This module simulates many departures: each trial draws a
//! random manifest, and every probe becomes either a mated search (its
//! identity is booked) or a non-mated search (it is not), scored the way the
//! gate would score it. Feed the result to
//! [`fnir_at_fpir`](super::metrics::fnir_at_fpir).

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::index;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::metrics::MatedSearch;

/// One enrolled identity: its ID-card template (L2-normalised, so the dot
/// product is the cosine similarity).
#[derive(Debug, Clone, Copy)]
pub struct Enrolled<'a> {
    pub identity: usize,
    pub template: &'a [f32],
}

/// One live capture at the gate with its ground-truth identity, which need
/// not be enrolled at all.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    pub identity: usize,
    pub embedding: &'a [f32],
}

/// Scores pooled over all trials, in trial order and, within a trial, in
/// probe order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BoardingScores {
    pub mated: Vec<MatedSearch>,
    /// Best manifest score of each non-mated search.
    pub nonmated_best: Vec<f32>,
}

/// Why a boarding simulation cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoardingError {
    #[error("manifest size must be at least 1")]
    EmptyManifest,
    #[error("a manifest of {manifest_size} needs that many enrolled identities, but only {enrolled} are enrolled")]
    TooFewEnrolled { enrolled: usize, manifest_size: usize },
    #[error("identity {identity} is enrolled more than once; the protocol assumes one ID-card template per identity")]
    DuplicateIdentity { identity: usize },
    #[error("embedding of identity {identity} has length {found}, but templates have length {expected}")]
    DimensionMismatch { identity: usize, expected: usize, found: usize },
}

/// Dot product. The compiler may not reorder one serial float sum, so eight
/// independent partial sums are kept instead; they map onto SIMD lanes.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks.remainder().iter().zip(b_chunks.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for ((lane, xi), yi) in lanes.iter_mut().zip(x).zip(y) {
            *lane += xi * yi;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Checks the inputs and maps each identity to its enrolled column.
fn validate(enrolled: &[Enrolled], probes: &[Probe], manifest_size: usize) -> Result<HashMap<usize, usize>, BoardingError> {
    if manifest_size == 0 {
        return Err(BoardingError::EmptyManifest);
    }
    if enrolled.len() < manifest_size {
        return Err(BoardingError::TooFewEnrolled { enrolled: enrolled.len(), manifest_size });
    }
    // Non-empty: manifest_size >= 1 and enrolled.len() >= manifest_size.
    let expected = enrolled[0].template.len();
    let lengths = enrolled.iter().map(|e| (e.identity, e.template.len())).chain(probes.iter().map(|p| (p.identity, p.embedding.len())));
    for (identity, found) in lengths {
        if found != expected {
            return Err(BoardingError::DimensionMismatch { identity, expected, found });
        }
    }
    let mut column_of = HashMap::with_capacity(enrolled.len());
    for (column, e) in enrolled.iter().enumerate() {
        if column_of.insert(e.identity, column).is_some() {
            return Err(BoardingError::DuplicateIdentity { identity: e.identity });
        }
    }
    Ok(column_of)
}

/// Simulates `trials` departures, each with a manifest of `manifest_size`
/// distinct enrolled identities drawn uniformly by an `StdRng` seeded with
/// `seed` (same inputs and seed give the same output for a given `rand`
/// version; `StdRng`'s algorithm may change across major versions).
///
/// Every probe is searched in every trial: against its own template plus the
/// other manifest members when its identity is on the manifest (mated), or
/// against the whole manifest otherwise (non-mated). So each trial adds
/// `probes.len()` searches in total.
///
/// The full probe × template score matrix is computed once up front
/// (`probes.len() * enrolled.len()` f32s of memory) so that a trial costs
/// only `probes.len() * manifest_size` lookups.
///
/// # Errors
///
/// [`BoardingError`] when `manifest_size` is 0 or exceeds the number of
/// enrolled identities, an identity is enrolled twice, or any template or
/// probe embedding differs in length from the first template.
pub fn sample(
    enrolled: &[Enrolled],
    probes: &[Probe],
    manifest_size: usize,
    trials: usize,
    seed: u64,
) -> Result<BoardingScores, BoardingError> {
    let column_of = validate(enrolled, probes, manifest_size)?;
    let columns = enrolled.len();
    let scores: Vec<f32> = probes.iter().flat_map(|p| enrolled.iter().map(|e| dot(p.embedding, e.template))).collect();
    let mate_column: Vec<Option<usize>> = probes.iter().map(|p| column_of.get(&p.identity).copied()).collect();

    let mut rng = StdRng::seed_from_u64(seed);
    // Reused across trials and cleared after each, to avoid an O(enrolled) reset.
    let mut on_manifest = vec![false; columns];
    let mut out = BoardingScores::default();
    for _ in 0..trials {
        let mut manifest = index::sample(&mut rng, columns, manifest_size).into_vec();
        // Ascending columns walk each score row front to back.
        manifest.sort_unstable();
        for &c in &manifest {
            on_manifest[c] = true;
        }
        // `columns` >= manifest_size >= 1 (validated), so chunking cannot panic.
        for (row, mate) in scores.chunks_exact(columns).zip(&mate_column) {
            let best_of =
                |skip: Option<usize>| manifest.iter().filter(|&&c| Some(c) != skip).map(|&c| row[c]).fold(f32::NEG_INFINITY, f32::max);
            match mate.filter(|&c| on_manifest[c]) {
                Some(c) => out.mated.push(MatedSearch { mate_score: row[c], best_nonmate_score: best_of(Some(c)) }),
                None => out.nonmated_best.push(best_of(None)),
            }
        }
        for &c in &manifest {
            on_manifest[c] = false;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unit vector along axis `i` in `dim` dimensions.
    fn axis(i: usize, dim: usize) -> Vec<f32> {
        (0..dim).map(|j| if j == i { 1.0 } else { 0.0 }).collect()
    }

    #[test]
    fn dot_matches_naive_sum_including_tail() {
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let b: Vec<f32> = (0..19).map(|i| (i % 3) as f32).collect();
        let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), naive);
        assert_eq!(dot(&[], &[]), 0.0);
    }

    /// Four enrolled identities on the axes of R^4; probe `i` sits near
    /// axis `i` with a small component of `0.1 * (j + 1)` on every other
    /// axis `j`, so each score reveals which template produced it.
    struct Fixture {
        templates: Vec<Vec<f32>>,
        embeddings: Vec<(usize, Vec<f32>)>,
    }

    impl Fixture {
        fn new() -> Self {
            let templates = (0..4).map(|i| axis(i, 4)).collect();
            let mut embeddings: Vec<(usize, Vec<f32>)> = (0..4)
                .map(|i| {
                    let v = (0..4).map(|j| if j == i { 0.9 } else { 0.1 * (j + 1) as f32 }).collect();
                    (i, v)
                })
                .collect();
            // A second capture of identity 2, and a traveller who never enrolled.
            embeddings.push((2, axis(2, 4)));
            embeddings.push((99, vec![0.1, 0.2, 0.3, 0.4]));
            Self { templates, embeddings }
        }

        fn enrolled(&self) -> Vec<Enrolled<'_>> {
            self.templates.iter().enumerate().map(|(identity, t)| Enrolled { identity, template: t }).collect()
        }

        fn probes(&self) -> Vec<Probe<'_>> {
            self.embeddings.iter().map(|(identity, e)| Probe { identity: *identity, embedding: e }).collect()
        }
    }

    #[test]
    fn full_manifest_makes_every_enrolled_probe_mated() {
        let f = Fixture::new();
        let out = sample(&f.enrolled(), &f.probes(), 4, 3, 7).expect("valid");
        // Five enrolled-identity probes and one stranger, three trials.
        assert_eq!(out.mated.len(), 15);
        assert_eq!(out.nonmated_best.len(), 3);
        // Probe 0: mate 0.9; non-mates score 0.2, 0.3, 0.4.
        assert_eq!(out.mated[0], MatedSearch { mate_score: 0.9, best_nonmate_score: 0.4 });
        // Probe 3: non-mates score 0.1, 0.2, 0.3.
        assert_eq!(out.mated[3].best_nonmate_score, 0.3);
        // The second capture of identity 2 lies on its axis: non-mates score 0.
        assert_eq!(out.mated[4], MatedSearch { mate_score: 1.0, best_nonmate_score: 0.0 });
        assert!(out.nonmated_best.iter().all(|&s| s == 0.4));
    }

    #[test]
    fn manifest_of_one_has_no_nonmate() {
        let f = Fixture::new();
        let out = sample(&f.enrolled(), &f.probes(), 1, 20, 1).expect("valid");
        assert!(!out.mated.is_empty());
        assert!(out.mated.iter().all(|m| m.best_nonmate_score == f32::NEG_INFINITY));
    }

    #[test]
    fn searches_split_by_manifest_membership() {
        let f = Fixture::new();
        let trials = 50;
        let out = sample(&f.enrolled(), &f.probes(), 2, trials, 42).expect("valid");
        // Every probe is searched once per trial.
        assert_eq!(out.mated.len() + out.nonmated_best.len(), trials * 6);
        // Each trial books two identities, each with one probe, except
        // identity 2 with two; so a trial has 2 or 3 mated searches.
        let mated_per_trial = out.mated.len() as f64 / trials as f64;
        assert!((2.0..=3.0).contains(&mated_per_trial), "{mated_per_trial}");
        // The stranger's best score reveals the manifest's highest booked
        // axis; over 50 trials several manifests must have been drawn.
        let mut seen: Vec<f32> = out.nonmated_best.clone();
        seen.sort_by(f32::total_cmp);
        seen.dedup();
        assert!(seen.len() > 2, "{seen:?}");
    }

    #[test]
    fn same_seed_reproduces_and_other_seed_differs() {
        let f = Fixture::new();
        let (e, p) = (f.enrolled(), f.probes());
        let a = sample(&e, &p, 2, 30, 5).expect("valid");
        let b = sample(&e, &p, 2, 30, 5).expect("valid");
        let c = sample(&e, &p, 2, 30, 6).expect("valid");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn zero_trials_is_empty() {
        let f = Fixture::new();
        let out = sample(&f.enrolled(), &f.probes(), 2, 0, 0).expect("valid");
        assert_eq!(out, BoardingScores::default());
    }

    #[test]
    fn rejects_bad_inputs() {
        let f = Fixture::new();
        let (e, p) = (f.enrolled(), f.probes());
        assert_eq!(sample(&e, &p, 5, 1, 0), Err(BoardingError::TooFewEnrolled { enrolled: 4, manifest_size: 5 }));
        assert_eq!(sample(&e, &p, 0, 1, 0), Err(BoardingError::EmptyManifest));
        let mut duplicated = e.clone();
        duplicated[3].identity = 1;
        assert_eq!(sample(&duplicated, &p, 2, 1, 0), Err(BoardingError::DuplicateIdentity { identity: 1 }));
        let short = [1.0, 0.0];
        let mut mismatched = p.clone();
        mismatched.push(Probe { identity: 7, embedding: &short });
        assert_eq!(sample(&e, &mismatched, 2, 1, 0), Err(BoardingError::DimensionMismatch { identity: 7, expected: 4, found: 2 }));
    }
}
