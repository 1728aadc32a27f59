//! Staff sessions, kept in the database so a restart of the service logs nobody out. A
//! session is found by the SHA-256 of its cookie: the cookie itself is never stored, so a
//! copy of the database opens no console. A password change ends the account's sessions in
//! the same transaction ([`Store::set_staff_password`]), and a supervisor can end them too.

use rusqlite::{params, OptionalExtension};

use super::{missing, OrDb, Store};
use crate::error::Result;
use crate::manifest::Role;

impl Store {
    /// Records a new session of `staff` until `expires_at`; sessions already expired are
    /// dropped on the way, so the table holds only live ones.
    pub fn start_session(&self, token_hash: &[u8; 32], staff: &str, now: i64, expires_at: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM staff_sessions WHERE expires_at <= ?1", [now])?;
            let known = tx.query_row("SELECT 1 FROM staff WHERE id = ?1", [staff], |_| Ok(())).optional()?;
            if known.is_none() {
                return missing(format!("no staff account '{staff}' to start a session for"));
            }
            tx.execute(
                "INSERT INTO staff_sessions (token_hash, staff, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![token_hash.as_slice(), staff, now, expires_at],
            )?;
            Ok(())
        })
    }

    /// The staff id and current role of the live session with this cookie digest.
    pub fn session(&self, token_hash: &[u8; 32], now: i64) -> Result<Option<(String, Role)>> {
        self.conn
            .query_row(
                "SELECT s.staff, a.role FROM staff_sessions s JOIN staff a ON a.id = s.staff
                  WHERE s.token_hash = ?1 AND s.expires_at > ?2",
                params![token_hash.as_slice(), now],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .or_db(self)
    }

    /// Ends one session (logout).
    pub fn end_session(&self, token_hash: &[u8; 32]) -> Result<()> {
        self.write(|tx| Ok(tx.execute("DELETE FROM staff_sessions WHERE token_hash = ?1", [token_hash.as_slice()]).map(|_| ())?))
    }

    /// Ends every session of `staff`; how many there were.
    pub fn end_staff_sessions(&self, staff: &str) -> Result<usize> {
        self.write(|tx| Ok(tx.execute("DELETE FROM staff_sessions WHERE staff = ?1", [staff])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_staff(dir: &tempfile::TempDir) -> Store {
        let store = Store::open(&dir.path().join("s.db")).expect("opens");
        store.add_staff("li", "$argon2id$v=19$stand-in", Role::Staff, 0).expect("adds li");
        store.add_staff("wang", "$argon2id$v=19$stand-in", Role::Supervisor, 0).expect("adds wang");
        store
    }

    #[test]
    fn sessions_outlive_the_connection_and_expire() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_staff(&dir);
        store.start_session(&[1; 32], "li", 100, 200).expect("starts");
        drop(store);
        let store = Store::open(&dir.path().join("s.db")).expect("reopens");
        assert_eq!(store.session(&[1; 32], 150).expect("reads"), Some(("li".into(), Role::Staff)));
        assert_eq!(store.session(&[2; 32], 150).expect("reads"), None, "another digest");
        assert_eq!(store.session(&[1; 32], 200).expect("reads"), None, "expired");
        let nobody = store.start_session(&[3; 32], "nobody", 100, 200).expect_err("no such account");
        assert!(nobody.to_string().contains("nobody"), "{nobody}");
        store.end_session(&[1; 32]).expect("ends");
        assert_eq!(store.session(&[1; 32], 150).expect("reads"), None);
    }

    #[test]
    fn a_password_change_ends_that_accounts_sessions_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_staff(&dir);
        store.start_session(&[1; 32], "li", 100, 900).expect("starts");
        store.start_session(&[2; 32], "li", 100, 900).expect("starts");
        store.start_session(&[3; 32], "wang", 100, 900).expect("starts");
        assert!(store.set_staff_password("li", "$argon2id$v=19$new").expect("changes"));
        assert_eq!(store.session(&[1; 32], 150).expect("reads"), None);
        assert_eq!(store.session(&[2; 32], 150).expect("reads"), None);
        assert_eq!(store.session(&[3; 32], 150).expect("reads"), Some(("wang".into(), Role::Supervisor)));
        assert_eq!(store.end_staff_sessions("wang").expect("ends"), 1);
        assert_eq!(store.session(&[3; 32], 150).expect("reads"), None);
    }
}
