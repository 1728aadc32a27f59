//! Who may do what: staff passwords (argon2id), staff sessions with their CSRF tokens, login
//! throttling, and lane tokens. Pure bookkeeping; the HTTP layer ([`super::http`]) applies it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng as HashRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use boardcheck_core::manifest::Role;

/// The PHC string (`$argon2id$…`) for a new password.
pub fn hash_password(password: &str) -> Result<String> {
    if password.chars().count() < 8 {
        return Err(Error::Config { path: "<password>".into(), reason: "a staff password needs at least 8 characters".into() });
    }
    let salt = SaltString::generate(&mut HashRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Config { path: "<password>".into(), reason: format!("cannot hash the password: {e}") })
}

/// Whether `password` matches a stored PHC string (a malformed hash never matches).
pub fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fresh random token: 32 bytes, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Tokens are compared through their SHA-256, so the comparison time says nothing about the
/// secret and only digests are kept in memory.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A logged-in staff member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub staff: String,
    pub role: Role,
    /// Sent back in `X-CSRF-Token` with every state change.
    pub csrf: String,
    expires: Instant,
}

/// Live staff sessions, keyed by the digest of the cookie value. In memory: a restart of the
/// service logs everyone out, which is the safe direction.
pub struct Sessions {
    lifetime: Duration,
    live: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(lifetime: Duration) -> Self {
        Sessions { lifetime, live: Mutex::new(HashMap::new()) }
    }

    /// Starts a session; returns the cookie value and the session.
    pub fn start(&self, staff: &str, role: Role) -> (String, Session) {
        let cookie = random_token();
        let session = Session { staff: staff.to_string(), role, csrf: random_token(), expires: Instant::now() + self.lifetime };
        if let Ok(mut live) = self.live.lock() {
            let now = Instant::now();
            live.retain(|_, s| s.expires > now);
            live.insert(token_digest(&cookie), session.clone());
        }
        (cookie, session)
    }

    /// The live session a cookie value names.
    pub fn get(&self, cookie: &str) -> Option<Session> {
        let live = self.live.lock().ok()?;
        live.get(&token_digest(cookie)).filter(|s| s.expires > Instant::now()).cloned()
    }

    pub fn end(&self, cookie: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(&token_digest(cookie));
        }
    }
}

/// Failed logins per key (a staff id, a client address) in a sliding window: after
/// `max_failures` the key is locked out until its oldest failure leaves the window. A correct
/// password during a lockout is refused too, so guessing gains nothing by waiting less.
pub struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginThrottle {
    pub fn new(max_failures: u32, window: Duration) -> Self {
        LoginThrottle { max_failures: max_failures.max(1) as usize, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Err(wait)` while any of `keys` is locked out.
    pub fn check(&self, keys: &[&str]) -> std::result::Result<(), Duration> {
        let Ok(mut failures) = self.failures.lock() else { return Ok(()) };
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = failures.get_mut(*key) {
                times.retain(|t| now.duration_since(*t) < self.window);
                if times.len() >= self.max_failures {
                    wait = wait.max(self.window - now.duration_since(times[0]));
                }
            }
        }
        if wait.is_zero() {
            Ok(())
        } else {
            Err(wait)
        }
    }

    pub fn failed(&self, keys: &[&str]) {
        if let Ok(mut failures) = self.failures.lock() {
            for key in keys {
                failures.entry(key.to_string()).or_default().push(Instant::now());
            }
        }
    }

    pub fn succeeded(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_salt_and_verify() {
        let a = hash_password("correct horse").expect("hashes");
        let b = hash_password("correct horse").expect("hashes");
        assert!(a.starts_with("$argon2id$") && a != b, "salted: {a} {b}");
        assert!(verify_password(&a, "correct horse"));
        assert!(!verify_password(&a, "correct hors"));
        assert!(!verify_password("not a hash", "correct horse"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn sessions_are_found_by_cookie_and_end() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (cookie, session) = sessions.start("li", Role::Staff);
        assert_eq!(sessions.get(&cookie), Some(session.clone()));
        assert_ne!(session.csrf, cookie);
        assert_eq!(sessions.get("forged"), None);
        sessions.end(&cookie);
        assert_eq!(sessions.get(&cookie), None);
        let expired = Sessions::new(Duration::ZERO);
        let (cookie, _) = expired.start("li", Role::Staff);
        assert_eq!(expired.get(&cookie), None);
    }

    #[test]
    fn failures_lock_out_until_the_window_passes() {
        let throttle = LoginThrottle::new(3, Duration::from_millis(200));
        for _ in 0..3 {
            assert!(throttle.check(&["li", "10.0.0.1"]).is_ok());
            throttle.failed(&["li", "10.0.0.1"]);
        }
        let wait = throttle.check(&["li"]).expect_err("locked out");
        assert!(wait <= Duration::from_millis(200));
        assert!(throttle.check(&["wang", "10.0.0.1"]).is_err(), "the address is locked out too");
        assert!(throttle.check(&["wang", "10.0.0.2"]).is_ok());
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.check(&["li", "10.0.0.1"]).is_ok());
    }
}
