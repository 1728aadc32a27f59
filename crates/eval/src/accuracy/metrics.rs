//! Biometric performance metrics computed from comparison scores.
//!
//! Verification and identification scores are similarities: higher means
//! more alike, and a comparison is accepted when `score >= threshold`.
//! Presentation-attack-detection (PAD) scores are the opposite: higher means
//! more likely an attack, and a presentation is classified bona fide when
//! `score < threshold`.
//!
//! A NaN score never satisfies either comparison, so it is counted the way
//! the decision rule would treat it: a NaN similarity is a rejection and a
//! NaN PAD score is an attack classification. NaN scores stay in every
//! denominator, so a broken pipeline shows up as errors rather than vanishing.
//!
//! Every function sorts its inputs once and answers rate queries by binary
//! search, so millions of impostor scores cost one `O(n log n)` sort.
//!
//! Thresholds at a target rate are only reported when the sample can measure
//! that rate honestly: `n * rate >= 1`, i.e. at least one error is allowed.
//! Below that the "threshold" would just be the largest observed score and
//! the rate claim would be unsupported by the data.

use serde::{Deserialize, Serialize};

/// Equal error rate of a verification score distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EerPoint {
    /// Rate where false accepts equal false rejects, linearly interpolated
    /// between the two observed operating points that bracket the crossing.
    pub eer: f64,
    /// The observed operating point closest to the crossing. Its actual
    /// FAR/FRR differ from `eer` by at most one score step.
    pub threshold: f32,
}

/// One operating point of a detection-error-tradeoff curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetPoint {
    /// Accept rule is `score >= threshold`.
    pub threshold: f32,
    /// False accept (false match) rate: fraction of impostor scores accepted.
    pub far: f64,
    /// False reject (false non-match) rate: fraction of genuine scores rejected.
    pub frr: f64,
}

/// Outcome of one mated 1:N search against a manifest (gallery).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatedSearch {
    /// Similarity between the probe and its own enrolled template.
    pub mate_score: f32,
    /// Highest similarity to any other manifest member;
    /// `f32::NEG_INFINITY` when the manifest holds only the mate.
    pub best_nonmate_score: f32,
}

/// PAD error rates at one threshold (ISO/IEC 30107-3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PadErrors {
    /// Worst-case APCER over the attack species that have scores; the
    /// standard reports the maximum because an attacker picks the best
    /// instrument. NaN when no species has any score.
    pub apcer: f64,
    /// APCER per species, in input order; NaN for a species with no scores.
    pub apcer_by_species: Vec<(String, f64)>,
    /// Fraction of bona fide presentations classified as attacks;
    /// NaN when there are no bona fide scores.
    pub bpcer: f64,
}

/// The verification decision rule; NaN scores are never accepted.
fn accepted(score: f32, threshold: f32) -> bool {
    score >= threshold
}

/// The PAD decision rule; NaN scores are never classified bona fide.
fn classified_bona_fide(score: f32, threshold: f32) -> bool {
    score < threshold
}

/// Scores sorted ascending with NaNs removed; `total` still counts the NaNs
/// because they remain part of every rate's denominator.
struct SortedScores {
    sorted: Vec<f32>,
    total: usize,
}

impl SortedScores {
    fn new(scores: &[f32]) -> Self {
        let mut sorted: Vec<f32> = scores.iter().copied().filter(|s| !s.is_nan()).collect();
        sorted.sort_unstable_by(f32::total_cmp);
        Self { sorted, total: scores.len() }
    }

    fn nan_count(&self) -> usize {
        self.total - self.sorted.len()
    }

    /// Non-NaN scores strictly below `t`.
    fn count_below(&self, t: f32) -> usize {
        self.sorted.partition_point(|&s| s < t)
    }

    /// Non-NaN scores at or above `t`, i.e. those passing `score >= t`.
    fn count_at_or_above(&self, t: f32) -> usize {
        self.sorted.len() - self.count_below(t)
    }
}

/// How many of `n` trials may be errors at `rate`, or `None` when fewer than
/// one error is allowed (the count rule) or the rate is NaN.
fn allowed_errors(n: usize, rate: f64) -> Option<usize> {
    // A relative nudge absorbs rounding such as 100.0 * 0.29 == 28.999999999999996,
    // which would otherwise lose an allowed error.
    let budget = n as f64 * rate * (1.0 + 4.0 * f64::EPSILON);
    if budget.is_nan() || budget < 1.0 {
        return None;
    }
    // `as` saturates, so a rate above 1 simply allows every trial.
    Some(budget.floor() as usize)
}

/// Smallest threshold under which at most `allowed` of the ascending,
/// NaN-free `sorted` scores pass `score >= t`.
fn smallest_threshold_allowing(sorted: &[f32], allowed: usize) -> Option<f32> {
    if allowed >= sorted.len() {
        // Every score may pass, so no threshold is too low.
        return Some(f32::NEG_INFINITY);
    }
    // The (allowed + 1)-th largest score must fail, so the threshold has to
    // sit strictly above it; the next representable f32 is the smallest such.
    let pivot = sorted[sorted.len() - allowed - 1];
    let threshold = pivot.next_up();
    // Only a +inf pivot has nothing above it.
    (threshold > pivot).then_some(threshold)
}

fn far_threshold(impostor: &SortedScores, far: f64) -> Option<f32> {
    let allowed = allowed_errors(impostor.total, far)?;
    smallest_threshold_allowing(&impostor.sorted, allowed)
}

/// Verification operating point at threshold `t`.
fn operating_point(genuine: &SortedScores, impostor: &SortedScores, t: f32) -> DetPoint {
    DetPoint {
        threshold: t,
        far: impostor.count_at_or_above(t) as f64 / impostor.total as f64,
        // NaN genuine scores never pass, hence total rather than sorted.len().
        frr: (genuine.total - genuine.count_at_or_above(t)) as f64 / genuine.total as f64,
    }
}

/// Every distinct non-NaN score in `sets`, ascending, plus one threshold above
/// them all; error rates only change at these values, so a sweep over them
/// visits every distinct operating point.
fn candidate_thresholds(sets: &[&[f32]]) -> Vec<f32> {
    let mut all: Vec<f32> = sets.iter().flat_map(|s| s.iter().copied()).collect();
    all.sort_unstable_by(f32::total_cmp);
    // total_cmp orders -0.0 before 0.0, which dedup (using ==) then merges.
    all.dedup();
    if let Some(&max) = all.last() {
        if max.next_up() > max {
            all.push(max.next_up());
        }
    }
    all
}

/// Smallest threshold `t` such that the fraction of impostor scores with
/// `score >= t` is at most `far`.
///
/// Returns `None` when `impostor.len() * far < 1` (too few impostors to
/// measure that FAR) or `far` is NaN. Returns `f32::NEG_INFINITY` when
/// `far` allows every impostor through.
pub fn threshold_at_far(impostor: &[f32], far: f64) -> Option<f32> {
    far_threshold(&SortedScores::new(impostor), far)
}

/// True accept rate (fraction of genuine scores `>=` the threshold from
/// [`threshold_at_far`]). `None` when that threshold is `None` or there are
/// no genuine scores.
pub fn tar_at_far(genuine: &[f32], impostor: &[f32], far: f64) -> Option<f64> {
    if genuine.is_empty() {
        return None;
    }
    let threshold = threshold_at_far(impostor, far)?;
    let passed = genuine.iter().filter(|&&s| accepted(s, threshold)).count();
    Some(passed as f64 / genuine.len() as f64)
}

/// Equal error rate and a threshold near it.
///
/// The crossing of FAR and FRR is located by binary search over all distinct
/// scores; the rate is interpolated linearly between the bracketing operating
/// points so that it does not depend on which side of a score gap is picked.
/// Both fields are NaN when either set is empty or every score is NaN, so an
/// undefined EER cannot pass for a measured one.
pub fn eer(genuine: &[f32], impostor: &[f32]) -> EerPoint {
    const UNDEFINED: EerPoint = EerPoint { eer: f64::NAN, threshold: f32::NAN };
    let genuine = SortedScores::new(genuine);
    let impostor = SortedScores::new(impostor);
    if genuine.total == 0 || impostor.total == 0 {
        return UNDEFINED;
    }
    let candidates = candidate_thresholds(&[&genuine.sorted, &impostor.sorted]);
    let point = |t: f32| operating_point(&genuine, &impostor, t);
    // FRR - FAR never decreases as the threshold rises.
    let crossing = candidates.partition_point(|&t| {
        let p = point(t);
        p.frr < p.far
    });
    let below = crossing.checked_sub(1).map(|i| point(candidates[i]));
    let above = candidates.get(crossing).map(|&t| point(t));
    match (below, above) {
        (Some(a), Some(b)) => {
            // Gap is negative at `a` and non-negative at `b`.
            let (gap_a, gap_b) = (a.frr - a.far, b.frr - b.far);
            let alpha = -gap_a / (gap_b - gap_a);
            EerPoint { eer: a.far + alpha * (b.far - a.far), threshold: if -gap_a < gap_b { a.threshold } else { b.threshold } }
        }
        // No bracket: only reachable with NaN-heavy or infinite scores, so
        // report the single operating point at the edge.
        (Some(p), None) | (None, Some(p)) => EerPoint { eer: p.far.midpoint(p.frr), threshold: p.threshold },
        (None, None) => UNDEFINED,
    }
}

/// Detection-error-tradeoff curve with up to `points` operating points whose
/// target FARs are spaced evenly in log10 between `1 / impostor.len()` (the
/// smallest FAR the data can measure) and 1.
///
/// Points come in ascending FAR order; targets that land on an already
/// emitted threshold are skipped, so ties can yield fewer points. `far` is
/// the rate actually achieved, which can be below the target when scores tie.
/// Empty when `points` is 0 or either set is empty.
pub fn det_curve(genuine: &[f32], impostor: &[f32], points: usize) -> Vec<DetPoint> {
    let genuine = SortedScores::new(genuine);
    let impostor = SortedScores::new(impostor);
    if points == 0 || genuine.total == 0 || impostor.total == 0 {
        return Vec::new();
    }
    let lowest_far = 1.0 / impostor.total as f64;
    let mut curve: Vec<DetPoint> = Vec::with_capacity(points);
    for k in 0..points {
        // Exponent runs from 1 to 0, so targets run from lowest_far up to 1.
        let exponent = if points == 1 { 1.0 } else { 1.0 - k as f64 / (points - 1) as f64 };
        let Some(threshold) = far_threshold(&impostor, lowest_far.powf(exponent)) else {
            continue;
        };
        if curve.last().is_some_and(|p| p.threshold == threshold) {
            continue;
        }
        curve.push(operating_point(&genuine, &impostor, threshold));
    }
    curve
}

/// Open-set identification threshold at a false positive identification rate
/// (NIST FRVT 1:N): the smallest `t` such that at most `fpir` of the
/// non-mated searches have a best score `>= t`. Same count rule as
/// [`threshold_at_far`].
pub fn fpir_threshold(nonmated_best: &[f32], fpir: f64) -> Option<f32> {
    threshold_at_far(nonmated_best, fpir)
}

/// False negative identification rate at the [`fpir_threshold`]: a mated
/// search misses when the mate scores below the threshold or does not rank
/// strictly first (a tie with a non-mate counts as a miss, since the system
/// cannot tell them apart). `None` when there are no mated searches or the
/// threshold is `None`.
pub fn fnir_at_fpir(mated: &[MatedSearch], nonmated_best: &[f32], fpir: f64) -> Option<f64> {
    if mated.is_empty() {
        return None;
    }
    let threshold = fpir_threshold(nonmated_best, fpir)?;
    let misses = mated.iter().filter(|m| !accepted(m.mate_score, threshold) || m.mate_score <= m.best_nonmate_score).count();
    Some(misses as f64 / mated.len() as f64)
}

/// Fraction of `scores` satisfying `pred`; NaN for an empty slice because the
/// rate is undefined there.
fn fraction(scores: &[f32], pred: impl Fn(f32) -> bool) -> f64 {
    scores.iter().filter(|&&s| pred(s)).count() as f64 / scores.len() as f64
}

/// PAD error rates at `threshold`, where a presentation is classified bona
/// fide when `score < threshold`.
///
/// APCER per species is the fraction of that species' scores below the
/// threshold (attacks let through); BPCER is the fraction of bona fide scores
/// not below it (genuine travellers flagged as attacks).
pub fn pad_errors(bona_fide: &[f32], attacks: &[(String, Vec<f32>)], threshold: f32) -> PadErrors {
    let apcer_by_species: Vec<(String, f64)> =
        attacks.iter().map(|(species, scores)| (species.clone(), fraction(scores, |s| classified_bona_fide(s, threshold)))).collect();
    let apcer = apcer_by_species.iter().map(|&(_, rate)| rate).filter(|rate| !rate.is_nan()).reduce(f64::max).unwrap_or(f64::NAN);
    PadErrors { apcer, apcer_by_species, bpcer: fraction(bona_fide, |s| !classified_bona_fide(s, threshold)) }
}

/// Smallest PAD threshold whose BPCER is at most `target_bpcer`; the smallest
/// one catches the most attacks. Same count rule as [`threshold_at_far`], and
/// `None` also when NaN bona fide scores (always flagged) already exceed the
/// target.
pub fn pad_threshold_at_bpcer(bona_fide: &[f32], target_bpcer: f64) -> Option<f32> {
    let bona_fide = SortedScores::new(bona_fide);
    let allowed = allowed_errors(bona_fide.total, target_bpcer)?;
    let allowed = allowed.checked_sub(bona_fide.nan_count())?;
    smallest_threshold_allowing(&bona_fide.sorted, allowed)
}

/// Observed threshold where the worst-species APCER is closest to BPCER.
///
/// Species without scores are ignored. NaN when there are no bona fide
/// scores, no attack scores, or every score is NaN; [`pad_errors`] at a NaN
/// threshold classifies everything as an attack (APCER 0, BPCER 1).
pub fn pad_eer_threshold(bona_fide: &[f32], attacks: &[(String, Vec<f32>)]) -> f32 {
    let bona_fide = SortedScores::new(bona_fide);
    let species: Vec<SortedScores> =
        attacks.iter().filter(|(_, scores)| !scores.is_empty()).map(|(_, scores)| SortedScores::new(scores)).collect();
    if bona_fide.total == 0 || species.is_empty() {
        return f32::NAN;
    }
    let mut sets: Vec<&[f32]> = species.iter().map(|s| s.sorted.as_slice()).collect();
    sets.push(&bona_fide.sorted);
    let candidates = candidate_thresholds(&sets);
    // Worst APCER minus BPCER: APCER rises and BPCER falls with the threshold,
    // so the gap never decreases and the crossing can be binary searched.
    let gap = |t: f32| {
        let worst_apcer = species.iter().map(|s| s.count_below(t) as f64 / s.total as f64).fold(0.0, f64::max);
        // Counted rather than `1 - fraction`, so equal rates compare equal.
        let flagged = bona_fide.total - bona_fide.count_below(t);
        let bpcer = flagged as f64 / bona_fide.total as f64;
        worst_apcer - bpcer
    };
    let crossing = candidates.partition_point(|&t| gap(t) < 0.0);
    let below = crossing.checked_sub(1).map(|i| candidates[i]);
    let above = candidates.get(crossing).copied();
    match (below, above) {
        // Prefer whichever bracketing candidate is nearer the crossing.
        (Some(a), Some(b)) if -gap(a) < gap(b) => a,
        (_, Some(t)) | (Some(t), None) => t,
        (None, None) => f32::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// 0.01, 0.02, ..., 1.00
    fn hundredths() -> Vec<f32> {
        (1..=100).map(|i| i as f32 / 100.0).collect()
    }

    #[test]
    fn threshold_at_far_allows_exactly_the_budget() {
        let impostor = hundredths();
        // 10 of 100 may pass: the top ten (0.91..=1.00), so t sits just above 0.90.
        let t = threshold_at_far(&impostor, 0.1).expect("measurable");
        assert_eq!(t, 0.90f32.next_up());
        assert_eq!(impostor.iter().filter(|&&s| s >= t).count(), 10);
        // 0.29 * 100 rounds below 29 in f64; the budget must still be 29.
        let t = threshold_at_far(&impostor, 0.29).expect("measurable");
        assert_eq!(impostor.iter().filter(|&&s| s >= t).count(), 29);
    }

    #[test]
    fn threshold_at_far_count_rule() {
        let impostor = hundredths();
        assert_eq!(threshold_at_far(&impostor, 0.009), None);
        assert_eq!(threshold_at_far(&impostor, 0.01), Some(0.99f32.next_up()));
        assert_eq!(threshold_at_far(&[], 0.5), None);
        assert_eq!(threshold_at_far(&impostor, f64::NAN), None);
        // A FAR of 1 lets everything through.
        assert_eq!(threshold_at_far(&impostor, 1.0), Some(f32::NEG_INFINITY));
        assert_eq!(threshold_at_far(&impostor, f64::INFINITY), Some(f32::NEG_INFINITY));
        assert_eq!(threshold_at_far(&impostor, -0.5), None);
    }

    #[test]
    fn threshold_at_far_with_ties_stays_within_budget() {
        let impostor = [0.5, 0.5, 0.5, 0.9];
        // One may pass: the 0.5s must all fail, so t lands just above 0.5.
        let t = threshold_at_far(&impostor, 0.25).expect("measurable");
        assert_eq!(t, 0.5f32.next_up());
        // Two may pass but the tie makes that impossible: still only 0.9 passes.
        assert_eq!(threshold_at_far(&impostor, 0.5), Some(0.5f32.next_up()));
    }

    #[test]
    fn threshold_at_far_with_infinite_scores() {
        // Both infinities must fail, which no f32 threshold can achieve.
        assert_eq!(threshold_at_far(&[f32::INFINITY, f32::INFINITY], 0.5), None);
        assert_eq!(threshold_at_far(&[0.1, f32::INFINITY], 0.5), Some(0.1f32.next_up()));
    }

    #[test]
    fn nan_impostors_count_but_never_pass() {
        // Four trials allow one false accept; the NaN never passes, so the
        // one allowed pass goes to 0.9.
        let t = threshold_at_far(&[0.2, f32::NAN, 0.9, 0.5], 0.25).expect("measurable");
        assert_eq!(t, 0.5f32.next_up());
    }

    #[test]
    fn tar_at_far_exact() {
        let impostor = hundredths();
        // Threshold just above 0.90: 0.95 and 1.0 pass, 0.90 and 0.5 do not.
        let genuine = [0.5, 0.90, 0.95, 1.0];
        assert_eq!(tar_at_far(&genuine, &impostor, 0.1), Some(0.5));
        assert_eq!(tar_at_far(&genuine, &impostor, 0.001), None);
        assert_eq!(tar_at_far(&[], &impostor, 0.1), None);
        // A NaN genuine score is a rejection.
        assert_eq!(tar_at_far(&[1.0, f32::NAN], &impostor, 0.1), Some(0.5));
    }

    #[test]
    fn eer_of_separable_sets_is_zero() {
        let p = eer(&[0.8, 0.9], &[0.1, 0.2]);
        assert_eq!(p.eer, 0.0);
        assert_eq!(p.threshold, 0.8);
    }

    #[test]
    fn eer_of_overlapping_sets() {
        // At t = 0.6: FAR = 1/3 (0.7), FRR = 1/3 (0.3); just below, at 0.4,
        // FAR = 2/3 and FRR = 1/3, so the crossing is exactly at 0.6.
        let p = eer(&[0.3, 0.6, 0.9], &[0.1, 0.4, 0.7]);
        assert!(close(p.eer, 1.0 / 3.0), "{p:?}");
        assert_eq!(p.threshold, 0.6);
    }

    #[test]
    fn eer_interpolates_between_operating_points() {
        // At 0.55: FAR 1/2, FRR 1/4. At 0.6: FAR 0, FRR 1/4. The segment
        // between them crosses FAR == FRR halfway, at 1/4.
        let p = eer(&[0.5, 0.6, 0.9, 0.95], &[0.1, 0.55]);
        assert!(close(p.eer, 0.25), "{p:?}");
        // Both ends are equally far from the crossing; the upper one wins.
        assert_eq!(p.threshold, 0.6);
    }

    #[test]
    fn eer_of_identical_sets_is_one_half() {
        let scores = hundredths();
        let p = eer(&scores, &scores);
        assert!((p.eer - 0.5).abs() <= 0.01, "{p:?}");
    }

    #[test]
    fn eer_is_nan_without_both_sets() {
        for p in [eer(&[], &[0.1]), eer(&[0.1], &[]), eer(&[f32::NAN], &[f32::NAN])] {
            assert!(p.eer.is_nan() && p.threshold.is_nan(), "{p:?}");
        }
    }

    #[test]
    fn det_curve_is_log_spaced_and_monotone() {
        let impostor: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let genuine: Vec<f32> = (0..1000).map(|i| 0.5 + i as f32 / 2000.0).collect();
        // Targets 1e-3, 1e-2, 1e-1, 1.
        let curve = det_curve(&genuine, &impostor, 4);
        let fars: Vec<f64> = curve.iter().map(|p| p.far).collect();
        assert_eq!(curve.len(), 4, "{curve:?}");
        for (far, want) in fars.iter().zip([1e-3, 1e-2, 1e-1, 1.0]) {
            assert!(close(*far, want), "{fars:?}");
        }
        for pair in curve.windows(2) {
            assert!(pair[0].threshold > pair[1].threshold);
            assert!(pair[0].frr >= pair[1].frr);
        }
        // FAR 1e-3 accepts only 0.999: genuine scores >= 0.999 are 0.999..0.9995.
        let first = curve[0];
        let expect_frr = genuine.iter().filter(|&&s| s < first.threshold).count() as f64 / 1000.0;
        assert_eq!(first.frr, expect_frr);
        assert_eq!(curve[3].frr, 0.0);
    }

    #[test]
    fn det_curve_skips_repeated_thresholds() {
        // All impostors tie: every target FAR below 1 gives the same
        // threshold (above 0.5, FAR 0), and FAR 1 gives -inf.
        let curve = det_curve(&[0.6, 0.7], &[0.5; 10], 5);
        assert_eq!(curve.len(), 2, "{curve:?}");
        assert_eq!(curve[0].far, 0.0);
        assert_eq!(curve[1].far, 1.0);
        assert!(det_curve(&[0.6], &[0.5], 0).is_empty());
        assert!(det_curve(&[], &[0.5], 5).is_empty());
    }

    fn mated(mate: f32, best_nonmate: f32) -> MatedSearch {
        MatedSearch { mate_score: mate, best_nonmate_score: best_nonmate }
    }

    #[test]
    fn fpir_threshold_follows_count_rule() {
        let nonmated = hundredths();
        assert_eq!(fpir_threshold(&nonmated, 0.1), Some(0.90f32.next_up()));
        assert_eq!(fpir_threshold(&nonmated, 0.005), None);
    }

    #[test]
    fn fnir_counts_threshold_and_rank_failures() {
        // Threshold just above 0.90.
        let nonmated = hundredths();
        let searches = [
            mated(0.95, f32::NEG_INFINITY), // hit: only the mate on the manifest
            mated(0.95, 0.5),               // hit
            mated(0.85, 0.1),               // miss: below threshold
            mated(0.95, 0.97),              // miss: a non-mate ranks first
            mated(0.95, 0.95),              // miss: tie at rank 1
            mated(f32::NAN, 0.1),           // miss: NaN never passes
        ];
        let fnir = fnir_at_fpir(&searches, &nonmated, 0.1).expect("defined");
        assert!(close(fnir, 4.0 / 6.0), "{fnir}");
        assert_eq!(fnir_at_fpir(&searches, &nonmated, 0.001), None);
        assert_eq!(fnir_at_fpir(&[], &nonmated, 0.1), None);
    }

    fn species(name: &str, scores: &[f32]) -> (String, Vec<f32>) {
        (name.to_string(), scores.to_vec())
    }

    #[test]
    fn pad_errors_by_species() {
        let bona_fide = [0.1, 0.2, 0.3, 0.6];
        let attacks = [
            species("print", &[0.9, 0.8, 0.4, 0.7]),   // 0.4 slips through: 1/4
            species("replay", &[0.2, 0.3, 0.9, 0.95]), // 2/4 slip through
            species("mask", &[]),                      // no data
        ];
        let e = pad_errors(&bona_fide, &attacks, 0.5);
        assert_eq!(e.apcer_by_species[0], ("print".to_string(), 0.25));
        assert_eq!(e.apcer_by_species[1], ("replay".to_string(), 0.5));
        assert!(e.apcer_by_species[2].1.is_nan());
        assert_eq!(e.apcer, 0.5);
        assert_eq!(e.bpcer, 0.25);
        // A score equal to the threshold is classified as an attack.
        let e = pad_errors(&[0.5], &[species("print", &[0.5])], 0.5);
        assert_eq!((e.apcer, e.bpcer), (0.0, 1.0));
        // NaN scores are classified as attacks.
        let e = pad_errors(&[f32::NAN, 0.1], &[species("print", &[f32::NAN])], 0.5);
        assert_eq!((e.apcer, e.bpcer), (0.0, 0.5));
        // Undefined rates are NaN rather than a misleading 0.
        let e = pad_errors(&[], &[], 0.5);
        assert!(e.apcer.is_nan() && e.bpcer.is_nan());
    }

    #[test]
    fn pad_threshold_at_bpcer_exact() {
        let bona_fide = hundredths();
        // Five of 100 may be flagged: the top five (0.96..=1.00).
        let t = pad_threshold_at_bpcer(&bona_fide, 0.05).expect("measurable");
        assert_eq!(t, 0.95f32.next_up());
        assert_eq!(pad_errors(&bona_fide, &[], t).bpcer, 0.05);
        assert_eq!(pad_threshold_at_bpcer(&bona_fide, 0.001), None);
        // Two NaNs are already two flags; a budget of one cannot be met.
        assert_eq!(pad_threshold_at_bpcer(&[0.1, f32::NAN, f32::NAN, 0.2], 0.25), None);
        // A budget of two is spent entirely on them.
        assert_eq!(pad_threshold_at_bpcer(&[0.1, f32::NAN, f32::NAN, 0.2], 0.5), Some(0.2f32.next_up()));
    }

    #[test]
    fn pad_eer_threshold_separable_and_overlapping() {
        let attacks = [species("print", &[0.8, 0.9])];
        assert_eq!(pad_eer_threshold(&[0.1, 0.2], &attacks), 0.8);
        // Worst species decides: at 0.6, replay APCER 1/2 (0.3 slips through)
        // equals BPCER 1/2 (0.6 flagged), while print is fully caught.
        let bona_fide = [0.1, 0.6];
        let attacks = [species("print", &[0.8, 0.9]), species("replay", &[0.3, 0.7])];
        let t = pad_eer_threshold(&bona_fide, &attacks);
        let e = pad_errors(&bona_fide, &attacks, t);
        assert_eq!((e.apcer, e.bpcer), (0.5, 0.5), "t = {t}");
        // Exact crossing at thirds: at 0.3, APCER 1/3 (0.2 slips through)
        // equals BPCER 1/3 (0.3 flagged).
        let attacks3 = [species("print", &[0.2, 0.8, 0.9])];
        assert_eq!(pad_eer_threshold(&[0.1, 0.15, 0.3], &attacks3), 0.3);
        // No exact crossing: at 0.65 worst APCER 1/3 vs BPCER 2/5 (gap -1/15),
        // at 0.7 it is 2/3 vs 2/5 (gap 4/15), so 0.65 is the nearer point.
        let bona_fide: Vec<f32> = (1..=10).map(|i| i as f32 / 10.0).collect();
        let attacks = [species("print", &[0.15, 0.65, 0.95])];
        assert_eq!(pad_eer_threshold(&bona_fide, &attacks), 0.65);
        assert!(pad_eer_threshold(&[], &attacks).is_nan());
        assert!(pad_eer_threshold(&bona_fide, &[species("mask", &[])]).is_nan());
    }

    #[test]
    fn large_inputs_are_fast_enough() {
        // 200k impostors would take minutes with a quadratic sweep even in debug.
        let impostor: Vec<f32> = (0..200_000).map(|i| ((i * 7919) % 200_000) as f32 / 200_000.0).collect();
        let genuine: Vec<f32> = (0..2_000).map(|i| 0.5 + i as f32 / 4_000.0).collect();
        let p = eer(&genuine, &impostor);
        assert!((p.eer - 1.0 / 3.0).abs() < 1e-3, "{p:?}");
        // The lowest targets (5e-6, 6.4e-6, ...) all allow a single false
        // accept, so they collapse into one point.
        let curve = det_curve(&genuine, &impostor, 50);
        assert!((45..50).contains(&curve.len()), "{}", curve.len());
        assert_eq!(curve[0].far, 1.0 / 200_000.0);
    }
}
