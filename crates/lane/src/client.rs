//! The lane's side of the station service: a [`Decider`] that sends each track's observations
//! to the service and gets the decision back, the lane's health reports, and the long-poll for
//! staff resolutions of its manual checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::decider::Decider;
use crate::error::{Error, Result};
use boardcheck_api::StageSample;
use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::{Observation, Presented};

/// A connection to the station service, as one lane.
#[derive(Clone)]
pub struct ServiceClient {
    url: String,
    token: String,
    /// The lane's embedder: the service compares with templates made by the same model.
    model: String,
    agent: ureq::Agent,
}

impl ServiceClient {
    /// `url` is the service's base address, `token` the lane's bearer token, `model` the id
    /// of the lane's embedder.
    pub fn new(url: &str, token: &str, model: &str) -> Self {
        let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).http_status_as_error(false).build().into();
        ServiceClient { url: url.trim_end_matches('/').to_string(), token: token.trim().to_string(), model: model.to_string(), agent }
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Service { url: self.url.clone(), reason: reason.into() }
    }

    fn call<T: DeserializeOwned>(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Result<Option<T>> {
        let url = format!("{}{path}", self.url);
        let auth = format!("Bearer {}", self.token);
        let sent = match body {
            Some(body) => self.agent.post(&url).header("Authorization", &auth).send_json(&body),
            None => self.agent.get(&url).header("Authorization", &auth).call(),
        };
        let mut response = sent.map_err(|e| self.fail(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let said = response.body_mut().read_json::<serde_json::Value>().ok();
            let why = said.as_ref().and_then(|v| v["error"].as_str()).unwrap_or("no reason given").to_string();
            return Err(self.fail(format!("{method} {path}: HTTP {status}: {why}")));
        }
        response.body_mut().read_json::<T>().map(Some).map_err(|e| self.fail(format!("{method} {path}: unreadable answer: {e}")))
    }

    /// The decision on one track's observations so far (`None`: keep looking).
    pub fn observe(&self, track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
        let body = json!({ "track": track, "model": self.model, "observations": observations });
        self.decision("/api/lane/observe", body)
    }

    /// The decision on a presented ticket with the observations of the face at the lane.
    pub fn present(&self, presented: &Presented, observations: &[Observation]) -> Result<Option<Decision>> {
        let body = json!({ "presented": presented, "model": self.model, "observations": observations });
        self.decision("/api/lane/ticket", body)
    }

    fn decision(&self, path: &str, body: serde_json::Value) -> Result<Option<Decision>> {
        #[derive(Deserialize)]
        struct Answer {
            decision: Option<Decision>,
        }
        let answer: Option<Answer> = self.call("POST", path, Some(body))?;
        Ok(answer.and_then(|a| a.decision))
    }

    pub fn report_health(&self, camera_up: bool, fps: f64, frames: u64, samples: &[StageSample]) -> Result<()> {
        let body = json!({ "camera": if camera_up { "up" } else { "down" }, "fps": fps, "frames": frames, "samples": samples });
        self.call::<serde_json::Value>("POST", "/api/lane/health", Some(body)).map(|_| ())
    }

    /// Staff resolutions after number `after` (all kept, if `None`), waiting up to the
    /// service's long-poll time for one if `wait`; returns the new last number and them.
    pub fn results(&self, after: Option<u64>, wait: bool) -> Result<(u64, Vec<Decision>)> {
        #[derive(Deserialize)]
        struct Answer {
            last: u64,
            decisions: Vec<Decision>,
        }
        let after = after.unwrap_or_default();
        let answer: Option<Answer> = self.call("GET", &format!("/api/lane/results?after={after}&wait={wait}"), None)?;
        Ok(answer.map_or((after, Vec::new()), |a| (a.last, a.decisions)))
    }
}

/// Decides through the service. The service unreachable means no decision can be recorded,
/// so the track keeps looking (the next frame asks again) and nobody boards on local guesses.
pub struct ServiceDecider {
    pub client: ServiceClient,
    /// Which track each queued manual check came from, so a staff resolution reaches the
    /// right passenger's outputs.
    pub checks: Arc<Mutex<HashMap<i64, u64>>>,
}

impl ServiceDecider {
    fn answered(&self, track: u64, answer: Result<Option<Decision>>) -> Result<Option<Decision>> {
        match answer {
            Ok(decision) => {
                if let (Some(check), Ok(mut checks)) = (decision.as_ref().and_then(|d| d.manual_check), self.checks.lock()) {
                    checks.insert(check, track);
                }
                Ok(decision)
            }
            Err(e) => {
                tracing::warn!(track, error = %e, "no decision: the station service did not answer");
                Ok(None)
            }
        }
    }
}

impl Decider for ServiceDecider {
    fn decide(&mut self, track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
        self.answered(track, self.client.observe(track, observations))
    }

    fn present(&mut self, track: u64, presented: &Presented, observations: &[Observation]) -> Result<Option<Decision>> {
        self.answered(track, self.client.present(presented, observations))
    }
}
