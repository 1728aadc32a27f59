//! Where a lane's decisions go: a JSON line per decision (the gate command for a local
//! controller), an HTTP POST to a relay controller, and the kiosk display state.

use std::io::Write;
use std::path::PathBuf;

use crate::config::OutputsConfig;
use crate::error::{Error, Result};
use crate::pipeline::LaneDecision;

/// Where decisions go: the gate, the kiosk display, a log.
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
        let tmp = self.path.with_extension("tmp");
        let body = serde_json::to_vec(&d.kiosk).map_err(|e| Error::Config { path: self.path.clone(), reason: e.to_string() })?;
        std::fs::write(&tmp, body).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

/// POSTs each decision to the gate's relay controller. A controller that does not answer is
/// logged, not fatal: the decision is already recorded, and staff can open the gate by hand.
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
        if let Err(e) = self.agent.post(&self.url).send_json(&body) {
            tracing::warn!(url = %self.url, error = %e, "gate relay did not take the decision");
        }
        Ok(())
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
