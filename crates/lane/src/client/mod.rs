//! The lane's side of the station service: [`ServiceClient`] speaks its lane API with the
//! types of `boardcheck-api`; [`ServiceDecider`] decides each track through it; the
//! [`workers`] report the lane's health and deliver staff resolutions beside the pipeline.

pub mod workers;

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::decider::Decider;
use crate::error::{Error, Result};
use boardcheck_api::{DecisionAnswer, ErrorAnswer, HealthReport, ObserveRequest, Results, ResultsQuery, TicketRequest};
use boardcheck_core::boarding::Decision;
use boardcheck_core::decider::{Observation, Presented};

/// A connection to the station service, as one lane.
#[derive(Clone)]
pub struct ServiceClient {
    url: String,
    /// Wiped from memory when the last clone is dropped.
    token: Zeroizing<String>,
    /// The lane's embedder: the service compares with templates made by the same model.
    model: String,
    /// This run of the lane, in every request id: a restarted lane's track 1 is a new passenger.
    run: String,
    agent: ureq::Agent,
    /// Tickets presented so far, numbering their requests.
    presented: Arc<AtomicU64>,
}

impl ServiceClient {
    /// `url` is the service's base address, `token` the lane's bearer token, `model` the id
    /// of the lane's embedder. An `https://` service is verified against Mozilla's roots
    /// (built in) unless [`Self::pinned`].
    pub fn new(url: &str, token: &str, model: &str) -> Self {
        let agent = agent(ureq::tls::RootCerts::WebPki);
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let run = format!("{}-{}", std::process::id(), started.as_nanos());
        let (url, token, model) = (url.trim_end_matches('/').to_string(), Zeroizing::new(token.trim().to_string()), model.to_string());
        ServiceClient { url, token, model, run, agent, presented: Arc::default() }
    }

    /// Trusts only the CA or certificate in `ca_file` (PEM) for the service: the station's
    /// own certificate, pinned, whoever else the network lets answer.
    pub fn pinned(mut self, ca_file: &Path) -> Result<Self> {
        let bad = |reason: String| Error::Config { path: ca_file.to_path_buf(), reason };
        let pem = std::fs::read(ca_file).map_err(|e| Error::io(ca_file, e))?;
        let mut roots = Vec::new();
        for item in ureq::tls::parse_pem(&pem) {
            match item.map_err(|e| bad(format!("unreadable PEM: {e}")))? {
                ureq::tls::PemItem::Certificate(cert) => roots.push(cert),
                _ => return Err(bad("a private key: give the certificate only (keep the key on the station)".to_string())),
            }
        }
        if roots.is_empty() {
            return Err(bad("no PEM certificate in the file".to_string()));
        }
        self.agent = agent(roots.into());
        Ok(self)
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Service { url: self.url.clone(), reason: reason.into() }
    }

    fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<Option<T>> {
        let sent = self.agent.post(format!("{}{path}", self.url)).header("Authorization", self.bearer().as_str()).send_json(body);
        self.answer("POST", path, sent)
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>> {
        let sent = self.agent.get(format!("{}{path}", self.url)).header("Authorization", self.bearer().as_str()).call();
        self.answer("GET", path, sent)
    }

    fn bearer(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("Bearer {}", self.token.as_str()))
    }

    /// The answer's body (`None`: 204), or the service's reason for refusing.
    fn answer<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        sent: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Option<T>> {
        let mut response = sent.map_err(|e| self.fail(format!("{method} {path}: {e}")))?;
        let status = response.status().as_u16();
        if status == 204 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            let said = response.body_mut().read_json::<ErrorAnswer>().ok();
            let why = said.map_or_else(|| "no reason given".to_string(), |a| a.error);
            return Err(self.fail(format!("{method} {path}: HTTP {status}: {why}")));
        }
        response.body_mut().read_json::<T>().map(Some).map_err(|e| self.fail(format!("{method} {path}: unreadable answer: {e}")))
    }

    /// The decision on one track's observations so far (`None`: keep looking). One passenger's
    /// track is one request to the service: asked again after its decision (the reply was
    /// lost), the service answers with that decision.
    pub fn observe(&self, track: u64, observations: &[Observation]) -> Result<Option<Decision>> {
        let request_id = Some(format!("{}-track-{track}", self.run));
        let body = ObserveRequest { track, request_id, model: self.model.clone(), observations: observations.to_vec() };
        self.decision("/api/lane/observe", &body)
    }

    /// The decision on a presented ticket with the observations of the face at the lane.
    pub fn present(&self, presented: &Presented, observations: &[Observation]) -> Result<Option<Decision>> {
        let n = self.presented.fetch_add(1, Ordering::Relaxed);
        let request_id = Some(format!("{}-ticket-{n}", self.run));
        let body =
            TicketRequest { presented: presented.clone(), request_id, model: self.model.clone(), observations: observations.to_vec() };
        self.decision("/api/lane/ticket", &body)
    }

    fn decision(&self, path: &str, body: &impl Serialize) -> Result<Option<Decision>> {
        let answer: Option<DecisionAnswer> = self.post(path, body)?;
        Ok(answer.and_then(|a| a.decision))
    }

    pub fn report_health(&self, report: &HealthReport) -> Result<()> {
        self.post::<IgnoredAny>("/api/lane/health", report).map(drop)
    }

    /// Staff resolutions after number `after` (all kept, if `None`), waiting up to the
    /// service's long-poll time for one if `wait`; returns the new last number and them.
    pub fn results(&self, after: Option<u64>, wait: bool) -> Result<(u64, Vec<Decision>)> {
        let query = ResultsQuery { after: after.unwrap_or_default(), wait };
        let answer: Option<Results> = self.get(&format!("/api/lane/results?after={}&wait={}", query.after, query.wait))?;
        Ok(answer.map_or((query.after, Vec::new()), |a| (a.last, a.decisions)))
    }
}

/// An agent that verifies the service's certificate against `roots` and hands every HTTP
/// status to [`ServiceClient::answer`].
fn agent(roots: ureq::tls::RootCerts) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).build();
    ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).http_status_as_error(false).tls_config(tls).build().into()
}

/// How long the service may go without answering a lane before the lane gives up: a restart
/// of the service is over well within it; beyond it the lane cannot decide, so it stops and
/// its supervisor restarts it.
const SERVICE_PATIENCE: Duration = Duration::from_secs(60);

/// Decides through the service. The service unreachable means no decision can be recorded,
/// so the track keeps looking (the next frame asks again) and nobody boards on local guesses;
/// a service that has answered nothing for a minute is the lane's failure.
pub struct ServiceDecider {
    client: ServiceClient,
    /// Which track each queued manual check came from, so a staff resolution reaches the
    /// right passenger's outputs.
    checks: Arc<Mutex<HashMap<i64, u64>>>,
    /// Since when every request has failed; `None` while the service answers.
    failing_since: Option<Instant>,
    patience: Duration,
}

impl ServiceDecider {
    pub fn new(client: ServiceClient, checks: Arc<Mutex<HashMap<i64, u64>>>) -> Self {
        ServiceDecider { client, checks, failing_since: None, patience: SERVICE_PATIENCE }
    }

    fn answered(&mut self, track: u64, answer: Result<Option<Decision>>) -> Result<Option<Decision>> {
        match answer {
            Ok(decision) => {
                self.failing_since = None;
                if let (Some(check), Ok(mut checks)) = (decision.as_ref().and_then(|d| d.manual_check), self.checks.lock()) {
                    checks.insert(check, track);
                }
                Ok(decision)
            }
            Err(e) => {
                let since = *self.failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= self.patience {
                    return Err(e);
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A service address where nothing listens: every request is refused at once.
    fn unreachable() -> ServiceClient {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        ServiceClient::new(&format!("http://127.0.0.1:{port}"), "lane-token", "model")
    }

    #[test]
    fn a_service_unreachable_for_good_is_an_error_not_an_endless_wait() {
        let mut decider = ServiceDecider::new(unreachable(), Arc::default());
        decider.patience = Duration::from_millis(300);
        // At first the track keeps looking: the service may be restarting.
        assert!(matches!(decider.decide(1, &[]), Ok(None)));
        std::thread::sleep(Duration::from_millis(400));
        match decider.decide(1, &[]) {
            Err(Error::Service { url, reason }) => {
                assert!(url.starts_with("http://127.0.0.1:") && reason.contains("/api/lane/observe"), "{reason}")
            }
            other => panic!("the lane gives up on the service: {other:?}"),
        }
    }
}
