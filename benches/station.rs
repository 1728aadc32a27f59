//! Lane decision latency while supervisors run reports: 8 lanes send observations to the
//! station (each takes the writing connection and records an event) while a month report runs
//! again and again over a log of 1.2 million events. Prints p50/p99 of the lanes' decisions
//! with no report, with reports on their own read-only connections (as the service runs
//! them), and with reports on the writing connection (as the service ran them before).
//! Run with `cargo bench --bench station`.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use boardcheck_core::decider::Observation;
use boardcheck_station::config::{LaneEntry, StationConfig};
use boardcheck_station::reports;
use boardcheck_station::station::Station;

const LANES: usize = 8;
/// A lane sends an observation this often (a busy lane: a face every 50 ms).
const PACE: Duration = Duration::from_millis(50);
const PHASE: Duration = Duration::from_secs(8);
/// The embedder the lanes name, and its embeddings' length.
const MODEL: &str = "mobilefacenet";
const DIM: usize = 192;
/// 2026-11-01 00:00 in Shanghai: the month the log fills.
const MONTH_START: i64 = 1_793_462_400;
const EVENTS: i64 = 1_200_000;

/// A month of a busy station, written straight in SQLite in one transaction: 6,000 trips,
/// 240,000 tickets, 1.2 million events (boardings, refusals, spoofs, faces on no manifest).
fn fill(db: &std::path::Path) {
    drop(boardcheck_core::manifest::store::Store::open(db).expect("creates the store"));
    let conn = rusqlite::Connection::open(db).expect("opens");
    conn.execute_batch(&format!(
        "BEGIN;
         WITH RECURSIVE i (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 5999)
         INSERT INTO trips (id, route, departure, gate) SELECT 'T' || n, 'Hefei - Wuhu', {MONTH_START} + n * 432, '3' FROM i;
         WITH RECURSIVE i (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 239999)
         INSERT INTO tickets (id, trip_id, seat, document_type, child, state, updated_at)
         SELECT 'K' || n, 'T' || (n / 40), n % 40, 'id_card', 0, 'valid', 0 FROM i;
         WITH RECURSIVE i (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < {EVENTS} - 1)
         INSERT INTO events (at, lane, trip_id, outcome, method)
         SELECT {MONTH_START} + n * 2, 'lane-' || (n % {LANES} + 1),
                CASE WHEN n % 10 < 5 THEN 'T' || (n / 200) END,
                CASE n % 10 WHEN 0 THEN 'manual_refused' WHEN 1 THEN 'spoof_suspected' WHEN 2 THEN 'boarded'
                            WHEN 3 THEN 'boarded' WHEN 4 THEN 'boarded' ELSE 'not_on_manifest' END,
                CASE WHEN n % 10 = 0 THEN 'manual' ELSE 'face' END
         FROM i;
         COMMIT;"
    ))
    .expect("fills the log");
}

fn observation(seed: usize) -> Observation {
    let raw: Vec<f32> = (0..DIM).map(|i| ((seed * 31 + i * 17) % 97) as f32 - 48.0).collect();
    let norm = raw.iter().map(|v| v * v).sum::<f32>().sqrt();
    Observation { spoof: Some(false), embedding: raw.iter().map(|v| v / norm).collect() }
}

/// How reports run beside the lanes in a phase.
#[derive(Clone, Copy, PartialEq)]
enum Reports {
    None,
    /// On their own read-only connections, as the service runs them.
    Readers,
    /// On the writing connection, as the service ran them before.
    Writer,
}

/// The lanes' decision latencies (ms, sorted) over one phase, and the reports that ran.
fn phase(station: &Arc<Station>, reports: Reports) -> (Vec<f64>, Vec<f64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let seeds = Arc::new(AtomicUsize::new(0));
    let lanes: Vec<_> = (1..=LANES)
        .map(|n| {
            let (station, stop, seeds) = (station.clone(), stop.clone(), seeds.clone());
            std::thread::spawn(move || {
                let lane = format!("lane-{n}");
                let mut took = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let observations = [observation(seeds.fetch_add(1, Ordering::Relaxed))];
                    let started = Instant::now();
                    station.decide(&lane, MODEL, None, None, &observations).expect("decides");
                    let elapsed = started.elapsed();
                    took.push(elapsed.as_secs_f64() * 1000.0);
                    std::thread::sleep(PACE.saturating_sub(elapsed));
                }
                took
            })
        })
        .collect();
    let reporter = {
        let (station, stop) = (station.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut took = Vec::new();
            while reports != Reports::None && !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                // Each run computes the report (the service keeps the last one while nothing
                // changes: that would measure the cache).
                let month = match reports {
                    Reports::Writer => reports::month_report(&station.store(), 2026, 11, &station.time_zone),
                    _ => station.reader().and_then(|r| reports::month_report(&r, 2026, 11, &station.time_zone)),
                };
                month.expect("reports");
                took.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            took
        })
    };
    std::thread::sleep(PHASE);
    stop.store(true, Ordering::Relaxed);
    let mut took: Vec<f64> = lanes.into_iter().flat_map(|l| l.join().expect("a lane")).collect();
    took.sort_by(f64::total_cmp);
    let mut reported = reporter.join().expect("the reporter");
    reported.sort_by(f64::total_cmp);
    (took, reported)
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted.get(((sorted.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(f64::NAN)
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("station.db");
    let started = Instant::now();
    fill(&db);
    eprintln!("filled {EVENTS} events in {:.1} s", started.elapsed().as_secs_f64());
    let lanes = (1..=LANES)
        .map(|n| LaneEntry {
            name: format!("lane-{n}"),
            gate: Some("3".into()),
            trips: vec![],
            token_file: dir.path().join(format!("lane-{n}.token")),
        })
        .collect();
    let station = Station::open(StationConfig { db, lanes, ..StationConfig::default() }).expect("opens the station");
    for (name, reports) in
        [("no report", Reports::None), ("month reports, readers", Reports::Readers), ("month reports, writer (before)", Reports::Writer)]
    {
        let (took, reported) = phase(&station, reports);
        println!(
            "{name:32} lane observe: n={:5} p50={:7.2} ms p99={:7.2} ms max={:7.2} ms | month report: n={:3} p50={:7.1} ms",
            took.len(),
            quantile(&took, 0.5),
            quantile(&took, 0.99),
            took.last().copied().unwrap_or(f64::NAN),
            reported.len(),
            quantile(&reported, 0.5),
        );
    }
}
