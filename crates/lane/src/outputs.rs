//! Where a lane's decisions go: a JSON line per decision (the gate command for a local
//! controller), an HTTP POST to a relay controller, and the kiosk display state.
//!
//! An output that fails does not stop the lane: the decision is already recorded, the next
//! write may well succeed (a full disk freed, a relay back), and staff can open the gate by
//! hand. The lane logs and counts each failure ([`crate::pipeline::LaneReport`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::OutputsConfig;
use crate::error::{Error, Result};
use crate::pipeline::LaneDecision;

/// Where decisions go: the gate, the kiosk display, a log. An error is logged and counted by
/// the lane, never fatal.
pub trait DecisionSink: Send {
    fn emit(&mut self, decision: &LaneDecision) -> Result<()>;
}

/// One JSON object per decision on stdout.
pub struct JsonLines;

impl DecisionSink for JsonLines {
    fn emit(&mut self, d: &LaneDecision) -> Result<()> {
        let line = serde_json::json!({
            "t": d.t,
            "track": d.track,
            "outcome": d.decision.outcome,
            "method": d.decision.method,
            "ticket": d.decision.ticket,
            "latency_ms": d.latency_ms,
        });
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").and_then(|_| out.flush()).map_err(|e| Error::io("<stdout>", e))
    }
}

/// The kiosk display state (pass / see staff, short reason, no score) in a file, replaced
/// atomically so the display never reads half a message.
pub struct KioskFile {
    pub path: PathBuf,
}

impl DecisionSink for KioskFile {
    fn emit(&mut self, d: &LaneDecision) -> Result<()> {
        let body = serde_json::to_vec(&d.kiosk).map_err(|e| Error::Config { path: self.path.clone(), reason: e.to_string() })?;
        replace_file(&self.path, &body)
    }
}

/// Writes `path` whole or not at all: a temporary file beside it, then renamed over it. The
/// temporary's name is this process's and this write's own, so two lanes, or two writes of
/// one lane, never write into each other's.
fn replace_file(path: &Path, body: &[u8]) -> Result<()> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().map_or_else(|| "kiosk".into(), |n| n.to_string_lossy());
    let tmp = path.with_file_name(format!(".{name}.{}.{}.tmp", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    let written = std::fs::write(&tmp, body)
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp); // if it was made at all
    }
    written
}

/// POSTs each decision to the gate's relay controller.
pub struct Relay {
    pub url: String,
    agent: ureq::Agent,
}

impl Relay {
    pub fn new(url: String) -> Self {
        let config = ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(2))).build();
        Relay { url, agent: config.into() }
    }
}

impl DecisionSink for Relay {
    fn emit(&mut self, d: &LaneDecision) -> Result<()> {
        let body = serde_json::json!({ "track": d.track, "open": d.kiosk.pass, "outcome": d.decision.outcome });
        match self.agent.post(&self.url).send_json(&body) {
            Ok(_) => Ok(()),
            Err(e) => Err(Error::Output { output: format!("gate relay {}", self.url), reason: e.to_string() }),
        }
    }
}

/// The lane's outputs as `lane.toml` names them.
pub fn from_config(config: &OutputsConfig) -> Vec<Box<dyn DecisionSink>> {
    let mut sinks: Vec<Box<dyn DecisionSink>> = Vec::new();
    if config.stdout_json {
        sinks.push(Box::new(JsonLines));
    }
    if let Some(url) = &config.relay_url {
        sinks.push(Box::new(Relay::new(url.clone())));
    }
    if let Some(path) = &config.kiosk_file {
        sinks.push(Box::new(KioskFile { path: path.clone() }));
    }
    sinks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_of_one_kiosk_file_never_share_a_temporary_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("kiosk.json");
        // Two lanes' worth of writers, each replacing the file as fast as it can.
        let writers: Vec<_> = (0..2u8)
            .map(|writer| {
                let path = path.clone();
                std::thread::spawn(move || (0..300).filter(|_| replace_file(&path, &[b'0' + writer; 64]).is_err()).count())
            })
            .collect();
        let failed: Vec<usize> = writers.into_iter().map(|w| w.join().expect("writer ends")).collect();
        assert_eq!(failed, [0, 0], "every write replaced the file");
        let body = std::fs::read(&path).expect("the file is there");
        assert!(body == [b'0'; 64] || body == [b'1'; 64], "one writer's whole message");
        let names: Vec<String> =
            std::fs::read_dir(dir.path()).expect("lists").filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into()).collect();
        assert_eq!(names, ["kiosk.json"], "no temporary file left behind");
    }

    #[test]
    fn a_kiosk_file_that_cannot_be_written_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Under a regular file: not writable whoever runs the test (root too).
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, b"").expect("writes");
        let error = replace_file(&blocker.join("kiosk.json"), b"{}").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(error.contains("not-a-folder/.kiosk.json."), "{error}");
    }
}
