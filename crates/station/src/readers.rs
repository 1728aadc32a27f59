//! Read-only connections for the console's and the reports' reads, so that a long report
//! never holds the one writing connection the lanes' decisions need (SQLite in WAL mode lets
//! readers run beside the writer, each on its own connection). Connections are reused: a few
//! idle ones are kept, more are opened when many reads run at once.

use std::ops::Deref;
use std::path::PathBuf;
use std::sync::Mutex;

use boardcheck_core::manifest::store::{Options, Store};

use crate::error::Result;
use crate::lock;

/// How many idle readers are kept for the next read.
const KEEP_IDLE: usize = 4;

/// The station's pool of read-only connections to its database.
pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Store>>,
}

impl Readers {
    pub fn new(path: PathBuf) -> Readers {
        Readers { path, idle: Mutex::new(Vec::new()) }
    }

    /// A reader for one operation: an idle one, or a new connection.
    pub fn get(&self) -> Result<Reader<'_>> {
        let idle = lock(&self.idle).pop();
        let store = match idle {
            Some(store) => store,
            None => Store::open_read_only(&self.path, Options::default())?,
        };
        Ok(Reader { store: Some(store), pool: self })
    }

    /// Drops the idle readers: after the database file was replaced, they read the old one.
    pub fn forget(&self) {
        lock(&self.idle).clear();
    }
}

/// A read-only connection, back to the pool when dropped.
pub struct Reader<'a> {
    store: Option<Store>,
    pool: &'a Readers,
}

impl Deref for Reader<'_> {
    type Target = Store;

    fn deref(&self) -> &Store {
        // Present from `get` until `drop`.
        self.store.as_ref().unwrap_or_else(|| unreachable!("a reader is taken only when dropped"))
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        let mut idle = lock(&self.pool.idle);
        if idle.len() < KEEP_IDLE {
            idle.extend(self.store.take());
        }
    }
}
