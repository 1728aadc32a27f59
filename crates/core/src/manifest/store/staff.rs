//! Staff accounts for the console: only PHC password hashes are stored, never passwords.

use rusqlite::{params, OptionalExtension};

use super::{clash, rule, Fail, OrDb, Store};
use crate::error::Result;
use crate::manifest::Role;

/// A staff account: the console checks the password against the PHC hash string stored here.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffRecord {
    pub id: String,
    pub password_hash: String,
    pub role: Role,
}

/// Leaves the hash out, so logging a record never copies it anywhere.
impl std::fmt::Debug for StaffRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRecord").field("id", &self.id).field("role", &self.role).finish_non_exhaustive()
    }
}

impl Store {
    /// Adds a staff account; `password_hash` is the PHC string the console made (argon2).
    /// An id already taken is refused, the existing account untouched.
    pub fn add_staff(&self, id: &str, password_hash: &str, role: Role, now: i64) -> Result<()> {
        self.write(|tx| {
            if id.trim().is_empty() {
                return rule("a staff id cannot be blank".into());
            }
            check_phc(password_hash)?;
            let added = tx.execute(
                "INSERT INTO staff (id, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                params![id, password_hash, role, now],
            )?;
            if added == 0 {
                return clash(format!("staff id '{id}' already exists; set its password instead of adding it again"));
            }
            Ok(())
        })
    }

    /// Replaces a staff account's password hash and ends the account's sessions in the same
    /// transaction (whoever knew the old password is logged out); false when there is no such
    /// account.
    pub fn set_staff_password(&self, id: &str, password_hash: &str) -> Result<bool> {
        self.write(|tx| {
            check_phc(password_hash)?;
            let changed = tx.execute("UPDATE staff SET password_hash = ?2 WHERE id = ?1", params![id, password_hash])? == 1;
            tx.execute("DELETE FROM staff_sessions WHERE staff = ?1", [id])?;
            Ok(changed)
        })
    }

    pub fn staff(&self, id: &str) -> Result<Option<StaffRecord>> {
        self.conn
            .query_row("SELECT id, password_hash, role FROM staff WHERE id = ?1", [id], |r| {
                Ok(StaffRecord { id: r.get(0)?, password_hash: r.get(1)?, role: r.get(2)? })
            })
            .optional()
            .or_db(self)
    }
}

/// Refuses anything but a PHC hash string (`$argon2id$…`), so a password typed into the wrong
/// place is never stored in clear.
fn check_phc(password_hash: &str) -> std::result::Result<(), Fail> {
    if !password_hash.starts_with('$') || password_hash.contains(char::is_whitespace) {
        return rule("a staff password must be stored as a PHC hash string ($argon2id$…), never as the password".into());
    }
    Ok(())
}
