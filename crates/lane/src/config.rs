//! `lane.toml`: everything a lane needs, each key with a sensible default; an unknown key is
//! an error (a typo must not silently fall back to a default at a boarding gate).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use boardcheck_core::boarding::{BoardingWindow, LaneScope, Policy};
use boardcheck_core::manifest::keys::read_secret;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LaneConfig {
    /// The lane's name in events and on the console.
    pub lane: String,
    /// Camera: `/dev/video0` or `0`, an `rtsp://` URL, a video file or an image folder.
    pub source: String,
    /// Decide through the station service at this address (`boardcheck serve`), sharing one
    /// boarding state with the station's other lanes; the service says which trips this lane
    /// boards. Without it, the lane decides against the database itself.
    pub service_url: Option<String>,
    /// The lane's token for the service (the file `station.toml` names for this lane).
    pub token_file: Option<PathBuf>,
    /// With an `https://` service: trust only this CA or certificate (PEM), pinning the
    /// station's own. Without it an `https://` service must have a certificate from a public
    /// CA (Mozilla's roots, built in).
    pub ca_file: Option<PathBuf>,
    /// The station database (see `boardcheck manifest import`).
    pub db: Option<PathBuf>,
    /// The station key file (default: station.key beside the database).
    pub key: Option<PathBuf>,
    /// Board the trips at this gate…
    pub gate: Option<String>,
    /// …or exactly these trips.
    pub trips: Vec<String>,
    /// Trips departing within this many minutes from now are boarding.
    pub window_before_min: i64,
    /// Trips that departed up to this many minutes ago still board (a late bus).
    pub window_after_min: i64,
    /// The QR scanner and ID-card reader: `stdin`, a serial device or a FIFO (one line per
    /// scan; see [`crate::ingest::scanner`]). None: faces only.
    pub scanner: Option<String>,
    /// Also read QR e-tickets held up to the lane camera (a few looks a second; each costs
    /// ≈30 ms of CPU at 640×480, so leave it off where a scanner is fitted).
    pub qr_from_camera: bool,
    /// Trusted e-ticket issuers: a folder of `<key-id>.pub` files or a TOML file (local
    /// decisions; through the service, station.toml names them).
    pub issuer_keys: Option<PathBuf>,
    /// Threads per inference.
    pub threads: usize,
    /// Keep only the latest frame between stages (default: yes for cameras, no for files).
    pub drop_stale: Option<bool>,
    pub policy: Policy,
    pub outputs: OutputsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutputsConfig {
    /// One JSON line per decision on stdout (the gate command for a local controller).
    pub stdout_json: bool,
    /// POST each decision as JSON to this relay controller URL.
    pub relay_url: Option<String>,
    /// Keep the kiosk display state (pass / see staff) in this file, replaced atomically.
    pub kiosk_file: Option<PathBuf>,
}

impl Default for LaneConfig {
    fn default() -> Self {
        LaneConfig {
            lane: "lane-1".to_string(),
            source: "0".to_string(),
            service_url: None,
            token_file: None,
            ca_file: None,
            db: None,
            key: None,
            gate: None,
            trips: Vec::new(),
            window_before_min: 60,
            window_after_min: 30,
            scanner: None,
            qr_from_camera: false,
            issuer_keys: None,
            threads: 1,
            drop_stale: None,
            policy: Policy::default(),
            outputs: OutputsConfig::default(),
        }
    }
}

impl Default for OutputsConfig {
    fn default() -> Self {
        OutputsConfig { stdout_json: true, relay_url: None, kiosk_file: None }
    }
}

impl LaneConfig {
    /// What this lane boards (deciding in its own process).
    pub fn scope(&self) -> LaneScope {
        LaneScope {
            gate: self.gate.clone(),
            trips: self.trips.clone(),
            window: BoardingWindow::minutes(self.window_before_min, self.window_after_min),
        }
    }

    /// The lane's token for the service, read from `token_file` (a file group and others may
    /// not read, as the station makes it); wiped from memory when dropped.
    pub fn token(&self) -> Result<Option<Zeroizing<String>>> {
        Ok(self.token_file.as_deref().map(|path| read_secret(path, "lane token")).transpose()?)
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut config: LaneConfig =
            toml::from_str(&text).map_err(|e| Error::Config { path: path.to_path_buf(), reason: e.to_string() })?;
        let bad = |reason: &str| Err(Error::Config { path: path.to_path_buf(), reason: reason.to_string() });
        let says_trips = config.gate.is_some() || !config.trips.is_empty();
        match (&config.service_url, says_trips) {
            (None, false) => return bad("say which trips this lane boards: `gate = \"…\"` or `trips = [\"…\"]`"),
            (Some(_), true) => {
                return bad("with `service_url`, station.toml says which trips this lane boards: remove `gate` and `trips` here")
            }
            (Some(_), false) if config.token_file.is_none() => return bad("with `service_url`, give the lane's `token_file`"),
            _ => {}
        }
        if config.ca_file.is_some() && !config.service_url.as_deref().is_some_and(|url| url.starts_with("https://")) {
            return bad("`ca_file` pins the station service's certificate: it needs an `https://` `service_url`");
        }
        if let Err(reason) = config.policy.check() {
            return bad(&reason);
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for relative in [&mut config.token_file, &mut config.ca_file, &mut config.issuer_keys].into_iter().flatten() {
            *relative = base.join(&*relative);
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<LaneConfig> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("lane.toml");
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        LaneConfig::load(&path)
    }

    #[test]
    fn defaults_fill_what_is_not_said() {
        let config = load("gate = \"3\"\n[policy]\nidentify_threshold = 0.6\n").expect("loads");
        assert_eq!(config.gate.as_deref(), Some("3"));
        assert_eq!(config.window_before_min, 60);
        assert!(config.outputs.stdout_json);
        assert_eq!(config.policy.identify_threshold, 0.6);
        assert_eq!(config.policy.min_frames, Policy::default().min_frames);
    }

    #[test]
    fn an_unknown_key_is_an_error() {
        let err = load("gate = \"3\"\nsourse = \"/dev/video0\"\n").expect_err("refused").to_string();
        assert!(err.contains("sourse") && err.contains("lane.toml"), "{err}");
    }

    #[test]
    fn a_lane_must_serve_something() {
        assert!(load("source = \"0\"\n").expect_err("refused").to_string().contains("gate"));
    }

    #[test]
    fn a_service_lane_names_its_token_and_not_its_trips() {
        let config = load("service_url = \"http://127.0.0.1:8700\"\ntoken_file = \"lane.token\"\n").expect("loads");
        assert!(config.token_file.is_some_and(|t| t.ends_with("lane.token") && t.is_absolute()));
        let both = load("service_url = \"http://x\"\ntoken_file = \"t\"\ngate = \"3\"\n").expect_err("refused").to_string();
        assert!(both.contains("station.toml"), "{both}");
        let tokenless = load("service_url = \"http://x\"\n").expect_err("refused").to_string();
        assert!(tokenless.contains("token_file"), "{tokenless}");
    }

    #[test]
    fn a_pinned_ca_is_for_an_https_service() {
        let config = load("service_url = \"https://10.0.0.2:8700\"\ntoken_file = \"t\"\nca_file = \"station-ca.pem\"\n").expect("loads");
        assert!(config.ca_file.is_some_and(|c| c.ends_with("station-ca.pem") && c.is_absolute()));
        let plain = load("service_url = \"http://10.0.0.2:8700\"\ntoken_file = \"t\"\nca_file = \"ca.pem\"\n").expect_err("refused");
        assert!(plain.to_string().contains("https://"), "{plain}");
    }

    #[test]
    fn a_token_file_others_may_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let (config_path, token_path) = (dir.path().join("lane.toml"), dir.path().join("lane.token"));
        std::fs::write(&config_path, "service_url = \"http://127.0.0.1:8700\"\ntoken_file = \"lane.token\"\n").expect("writes");
        std::fs::write(&token_path, format!("{}\n", "ab".repeat(32))).expect("writes");
        let config = LaneConfig::load(&config_path).expect("loads");
        std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = config.token().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("lane.token") && err.contains("lane token") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&token_path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let token = config.token().expect("read").expect("a token file");
        assert_eq!(token.as_str(), "ab".repeat(32), "read without its line end");
    }
}
