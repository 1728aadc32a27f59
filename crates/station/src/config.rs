//! `station.toml`: the station service's settings. Every key has a sensible default except the
//! lanes; an unknown key is an error (a typo must not silently weaken a security setting).
//! Relative paths are relative to the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use boardcheck_core::boarding::Policy;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StationConfig {
    /// Where the service listens (loopback unless the station network needs more). Anywhere
    /// but loopback the service must speak TLS (`tls_cert`, `tls_key`): lanes send face
    /// templates and their tokens to it.
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM)…
    pub tls_cert: Option<PathBuf>,
    /// …and this private key (PEM). Give both or neither.
    pub tls_key: Option<PathBuf>,
    /// The explicit opt-out: serve plain HTTP on a non-loopback `listen`, for a station
    /// network where a TLS proxy in front of the service does the encryption.
    pub allow_plain_http: bool,
    /// A client must send a request's headers within this many seconds of connecting or of
    /// its previous answer: a half-sent request and an idle keep-alive connection are closed
    /// after it (a TLS handshake gets as long).
    pub header_timeout_s: u64,
    /// A request's body and the answer's headers within this many seconds, or 503. The
    /// console's event streams and the lanes' long poll for staff results are long by design
    /// and exempt.
    pub request_timeout_s: u64,
    /// A write to a client that makes no progress for this many seconds (the client stopped
    /// reading its answers) fails and the connection is closed, event streams included.
    pub write_timeout_s: u64,
    /// At most this many open connections; a connection beyond them is closed at once, so a
    /// flood of idle sockets cannot use up the process's file descriptors. Keep it well under
    /// `ulimit -n`.
    pub max_connections: usize,
    /// The station database (default: station.db beside this file).
    pub db: PathBuf,
    /// The station key file (default: station.key beside the database).
    pub key: Option<PathBuf>,
    /// The station's time zone, for days and months in reports.
    pub timezone: String,
    /// Trips departing within this many minutes from now are boarding.
    pub window_before_min: i64,
    /// Trips that departed up to this many minutes ago still board.
    pub window_after_min: i64,
    /// A staff session ends this long after login.
    pub session_minutes: i64,
    /// Mark session cookies `Secure` (when a TLS proxy fronts the service; always with
    /// `tls_cert`).
    pub secure_cookies: bool,
    /// Failed logins from one address in the window before its logins are refused, and for
    /// one staff id before each further attempt waits (1 s, doubling; see `auth`)…
    pub login_max_failures: u32,
    /// …the window, in seconds (and the longest per-id wait).
    pub login_lockout_s: u64,
    /// Trusted e-ticket issuers: a folder of `<key-id>.pub` files or a TOML file. None: every
    /// QR e-ticket is refused (unknown key) and tickets board by ID card or staff.
    pub issuer_keys: Option<PathBuf>,
    /// A trip's personal data (names, document numbers, templates, ID photos, staff notes) is
    /// purged this many hours after its departure, by the service itself.
    pub retention_hours: i64,
    pub policy: Policy,
    pub lanes: Vec<LaneEntry>,
}

/// A lane the service accepts: its name, what it boards, and its token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneEntry {
    pub name: String,
    /// Board the trips at this gate…
    #[serde(default)]
    pub gate: Option<String>,
    /// …or exactly these trips.
    #[serde(default)]
    pub trips: Vec<String>,
    /// The lane's bearer token, one line; created (random, mode 0600) on first start.
    pub token_file: PathBuf,
}

impl Default for StationConfig {
    fn default() -> Self {
        StationConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8700)),
            tls_cert: None,
            tls_key: None,
            allow_plain_http: false,
            header_timeout_s: 10,
            request_timeout_s: 60,
            write_timeout_s: 30,
            max_connections: 256,
            db: PathBuf::from("station.db"),
            key: None,
            timezone: "Asia/Shanghai".to_string(),
            window_before_min: 60,
            window_after_min: 30,
            session_minutes: 12 * 60,
            secure_cookies: false,
            login_max_failures: 5,
            login_lockout_s: 300,
            issuer_keys: None,
            retention_hours: 24,
            policy: Policy::default(),
            lanes: Vec::new(),
        }
    }
}

impl StationConfig {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let bad = |reason: String| Error::Config { path: path.to_path_buf(), reason };
        let mut config: StationConfig = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.db = base.join(&config.db);
        config.key = config.key.map(|k| base.join(k));
        config.issuer_keys = config.issuer_keys.map(|k| base.join(k));
        config.tls_cert = config.tls_cert.map(|c| base.join(c));
        config.tls_key = config.tls_key.map(|k| base.join(k));
        config.check_connections().map_err(bad)?;
        config.secure_cookies |= config.tls_cert.is_some();
        for lane in &mut config.lanes {
            lane.token_file = base.join(&lane.token_file);
            if lane.gate.is_none() && lane.trips.is_empty() {
                return Err(bad(format!("lane '{}': say which trips it boards: `gate = \"…\"` or `trips = [\"…\"]`", lane.name)));
            }
        }
        let mut names: Vec<&str> = config.lanes.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(bad(format!("lane '{}' is listed twice", w[0])));
        }
        config.time_zone().map_err(|e| bad(format!("timezone '{}': {e}", config.timezone)))?;
        config.policy.check().map_err(bad)?;
        if config.retention_hours < 0 {
            return Err(bad(format!("retention_hours = {}: hours after departure, 0 or more", config.retention_hours)));
        }
        Ok(config)
    }

    /// TLS given whole, plain HTTP only on loopback or by the explicit opt-out, limits that
    /// let something through.
    fn check_connections(&self) -> std::result::Result<(), String> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("give both `tls_cert` and `tls_key`, or neither".to_string());
        }
        if self.tls_cert.is_none() && !self.listen.ip().is_loopback() && !self.allow_plain_http {
            return Err(format!(
                "listen = \"{}\" is not loopback: serve TLS (`tls_cert`, `tls_key`), or set `allow_plain_http = true` \
                 where a TLS proxy fronts the service",
                self.listen
            ));
        }
        let timeouts = [
            ("header_timeout_s", self.header_timeout_s),
            ("request_timeout_s", self.request_timeout_s),
            ("write_timeout_s", self.write_timeout_s),
        ];
        for (key, value) in timeouts {
            if value == 0 {
                return Err(format!("`{key}` must be at least 1"));
            }
        }
        if self.max_connections == 0 {
            return Err("`max_connections` must be at least 1".to_string());
        }
        Ok(())
    }

    pub fn key_path(&self) -> PathBuf {
        self.key.clone().unwrap_or_else(|| self.db.with_file_name("station.key"))
    }

    pub fn time_zone(&self) -> std::result::Result<jiff::tz::TimeZone, jiff::Error> {
        jiff::tz::TimeZone::get(&self.timezone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<StationConfig> {
        let dir = tempfile::tempdir().map_err(|e| Error::io("tempdir", e))?;
        let path = dir.path().join("station.toml");
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
        StationConfig::load(&path)
    }

    #[test]
    fn paths_are_relative_to_the_file_and_defaults_fill_the_rest() {
        let config = load("[[lanes]]\nname = \"lane-1\"\ngate = \"3\"\ntoken_file = \"lane-1.token\"\n").expect("loads");
        assert!(config.db.ends_with("station.db") && config.db.is_absolute() || config.db.starts_with(std::env::temp_dir()));
        assert!(config.lanes[0].token_file.ends_with("lane-1.token"));
        assert_eq!(config.listen.to_string(), "127.0.0.1:8700");
        assert_eq!(config.login_max_failures, 5);
    }

    #[test]
    fn mistakes_are_named() {
        let typo = load("listne = \"0.0.0.0:80\"\n").expect_err("refused").to_string();
        assert!(typo.contains("listne"), "{typo}");
        let twice =
            load("[[lanes]]\nname = \"a\"\ngate = \"1\"\ntoken_file = \"a\"\n[[lanes]]\nname = \"a\"\ngate = \"2\"\ntoken_file = \"b\"\n")
                .expect_err("refused")
                .to_string();
        assert!(twice.contains("twice"), "{twice}");
        let zone = load("timezone = \"Mars/Olympus\"\n").expect_err("refused").to_string();
        assert!(zone.contains("Mars/Olympus"), "{zone}");
    }

    #[test]
    fn plain_http_beyond_loopback_needs_the_explicit_opt_out() {
        let plain = load("listen = \"0.0.0.0:8700\"\n").expect_err("refused").to_string();
        assert!(plain.contains("0.0.0.0:8700") && plain.contains("tls_cert") && plain.contains("allow_plain_http"), "{plain}");
        let opted_out = load("listen = \"0.0.0.0:8700\"\nallow_plain_http = true\n").expect("loads");
        assert!(!opted_out.secure_cookies);
        let tls = load("listen = \"0.0.0.0:8700\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n").expect("loads");
        assert!(tls.tls_cert.is_some_and(|c| c.is_absolute() && c.ends_with("cert.pem")));
        assert!(tls.secure_cookies, "cookies over TLS are Secure");
        let half = load("tls_cert = \"cert.pem\"\n").expect_err("refused").to_string();
        assert!(half.contains("tls_key"), "{half}");
        let never = load("write_timeout_s = 0\n").expect_err("refused").to_string();
        assert!(never.contains("write_timeout_s"), "{never}");
        assert_eq!(load("").expect("loads").write_timeout_s, 30);
        let closed = load("max_connections = 0\n").expect_err("refused").to_string();
        assert!(closed.contains("max_connections"), "{closed}");
    }
}
