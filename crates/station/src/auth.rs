//! Who may do what: staff passwords (argon2id), staff sessions with their CSRF tokens, login
//! throttling, and lane tokens. Pure bookkeeping; the HTTP layer ([`super::http`]) applies it.
//!
//! Login throttling policy ([`LoginThrottle`]), built so that guessing is slow, memory stays
//! bounded whatever arrives, and nobody can lock a named colleague out for long:
//! - **Reserved before hashing.** An attempt is counted, atomically with the check, before its
//!   password is hashed; a success gives the reservation back. Parallel guesses therefore meet
//!   the limit the same as sequential ones.
//! - **Per address: a hard limit.** At most `login_max_failures` failed (or still running)
//!   attempts from one address in `login_lockout_s`; then 429 with `Retry-After` until the
//!   oldest leaves the window. At most [`IN_FLIGHT_PER_ADDRESS`] attempts from one address run
//!   at once. An IPv6 client counts by its /64.
//! - **Per staff id: an exponential delay, not a lockout.** After `login_max_failures` failures
//!   for one id (from anywhere), each further attempt waits 1 s, 2 s, 4 s … (capped at
//!   `login_lockout_s`) after the last failure; the count is forgotten a window after the last
//!   failure. One attempt per id runs at a time.
//! - **Bounded hashing.** Argon2 takes ≈19 MiB per hash: at most one hash per core runs at
//!   once ([`LoginThrottle::hash_turn`]), in memory reused from login to login; an attempt
//!   that waits longer than [`HASH_QUEUE_WAIT`] for a turn is answered 503.
//! - **Bounded maps.** Entries leave once their window has passed, and neither map grows past
//!   [`MAX_TRACKED`] keys (the stalest entry makes room), whatever ids an attacker invents.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng as HashRng, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::lock;
use boardcheck_core::clock::unix_now;
use boardcheck_core::manifest::store::{StaffRecord, Store};
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

/// Whether `password` matches a stored PHC string (a malformed hash never matches), hashing in
/// `memory` (grown to what the hash asks for): a login reuses its slot's memory rather than
/// asking the allocator for ≈19 MiB each time, which the allocator would keep.
fn verify_in(stored: &str, password: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else { return false };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(hash.algorithm), Params::try_from(&hash)) else { return false };
    let Ok(version) = hash.version.map_or(Ok(Version::default()), Version::try_from) else { return false };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    memory.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    let computed =
        Argon2::new(algorithm, version, params).hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut memory[..]);
    // `Output`'s equality is constant-time.
    computed.is_ok() && Output::new(&out).is_ok_and(|out| out == expected)
}

/// [`verify_in`] with memory of its own (tests, and anything outside the login path).
#[cfg(test)]
fn verify_password(stored: &str, password: &str) -> bool {
    verify_in(stored, password, &mut Vec::new())
}

/// A fresh random token: 32 bytes, hex; wiped from memory when dropped, as its bytes are.
pub fn random_token() -> Zeroizing<String> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut bytes[..]);
    Zeroizing::new(hex::encode(&bytes[..]))
}

/// Tokens are compared through their SHA-256, so the comparison time says nothing about the
/// secret and only digests are kept in memory.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A logged-in staff member. The CSRF token is derived from the cookie, so it needs no storage;
/// it is left out of `Debug` (a logged session must not hand out the token) and wiped from
/// memory when the session is dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    pub staff: String,
    pub role: Role,
    /// Sent back in `X-CSRF-Token` with every state change.
    pub csrf: Zeroizing<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("staff", &self.staff).field("role", &self.role).finish_non_exhaustive()
    }
}

/// The CSRF token of the session with this cookie: a page that cannot read the (HttpOnly)
/// cookie cannot compute it.
fn csrf_for(cookie: &str) -> Zeroizing<String> {
    let mut hasher = Sha256::new();
    for part in [b"boardcheck csrf\0".as_slice(), cookie.as_bytes()] {
        hasher.update(part);
    }
    Zeroizing::new(hex::encode(hasher.finalize()))
}

/// Staff accounts' logins and sessions, kept in the database by the digest of the cookie value: they survive a
/// restart of the service, and a password change (from any process) ends them at once. Its own
/// connection, so a session check never waits behind the station's other work.
pub struct Sessions {
    lifetime: Duration,
    store: Mutex<Store>,
}

impl Sessions {
    pub fn new(store: Store, lifetime: Duration) -> Self {
        Sessions { lifetime, store: Mutex::new(store) }
    }

    /// The account a login names.
    pub fn account(&self, staff: &str) -> Result<Option<StaffRecord>> {
        Ok(lock(&self.store).staff(staff)?)
    }

    /// Starts a session; returns the cookie value and the session.
    pub fn start(&self, staff: &str, role: Role) -> Result<(Zeroizing<String>, Session)> {
        let cookie = random_token();
        let now = unix_now();
        let expires = now.saturating_add(i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX));
        lock(&self.store).start_session(&token_digest(&cookie), staff, now, expires)?;
        let session = Session { staff: staff.to_string(), role, csrf: csrf_for(&cookie) };
        Ok((cookie, session))
    }

    /// The live session a cookie value names, with the account's current role.
    pub fn get(&self, cookie: &str) -> Result<Option<Session>> {
        let found = lock(&self.store).session(&token_digest(cookie), unix_now())?;
        Ok(found.map(|(staff, role)| Session { staff, role, csrf: csrf_for(cookie) }))
    }

    pub fn end(&self, cookie: &str) -> Result<()> {
        Ok(lock(&self.store).end_session(&token_digest(cookie))?)
    }

    /// Ends every session of `staff` (a supervisor's revocation); how many there were.
    pub fn end_all(&self, staff: &str) -> Result<usize> {
        Ok(lock(&self.store).end_staff_sessions(staff)?)
    }
}

/// Attempts from one address that may run at once.
pub const IN_FLIGHT_PER_ADDRESS: u32 = 2;
/// How long an attempt waits for a hashing turn before it is answered 503.
pub const HASH_QUEUE_WAIT: Duration = Duration::from_secs(2);
/// The most addresses, and the most staff ids, the throttle keeps track of.
pub const MAX_TRACKED: usize = 10_000;
/// The first per-id delay once an id has had its free failures; it doubles with each failure.
const FIRST_DELAY: Duration = Duration::from_secs(1);

/// Why an attempt may not run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts: try again after this long.
    Wait(Duration),
    /// Every hashing slot stayed busy for [`HASH_QUEUE_WAIT`]: the station is overloaded.
    Busy,
}

/// One address's attempts still in the window (reserved before hashing) and those running.
#[derive(Default)]
struct AddressBook {
    attempts: VecDeque<Instant>,
    running: u32,
}

/// One staff id's failures (the last at `last`) and whether an attempt is running.
struct IdBook {
    failures: u32,
    last: Instant,
    running: bool,
}

#[derive(Default)]
struct Books {
    addresses: HashMap<IpAddr, AddressBook>,
    /// By the SHA-256 of the id: an entry's size does not depend on what an attacker sends.
    ids: HashMap<[u8; 32], IdBook>,
}

/// The login throttle; the policy is in this module's doc.
pub struct LoginThrottle {
    max_failures: usize,
    window: Duration,
    books: Mutex<Books>,
    hashing: Arc<Semaphore>,
    /// Argon2 memory, one block array per hashing slot, reused from login to login.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl LoginThrottle {
    /// `hash_slots`: how many password hashes may run at once (the cores).
    pub fn new(max_failures: u32, window: Duration, hash_slots: usize) -> Self {
        LoginThrottle {
            max_failures: max_failures.max(1) as usize,
            window,
            books: Mutex::new(Books::default()),
            hashing: Arc::new(Semaphore::new(hash_slots.max(1))),
            memory: Arc::default(),
        }
    }

    /// Reserves an attempt by `staff` from `addr`, or says how long to wait. The reservation
    /// counts as a failure until [`Attempt::succeeded`] gives it back.
    pub fn begin(&self, staff: &str, addr: IpAddr) -> std::result::Result<Attempt<'_>, Refusal> {
        let (staff, addr) = (token_digest(staff), client_key(addr));
        let now = Instant::now();
        let mut books = lock(&self.books);
        self.prune(&mut books, now);
        if let Some(book) = books.addresses.get(&addr) {
            if book.attempts.len() >= self.max_failures {
                let oldest = book.attempts.front().map_or(Duration::ZERO, |t| now.duration_since(*t));
                return Err(Refusal::Wait(self.window.saturating_sub(oldest)));
            }
            if book.running >= IN_FLIGHT_PER_ADDRESS {
                return Err(Refusal::Wait(FIRST_DELAY));
            }
        }
        if let Some(book) = books.ids.get(&staff) {
            if book.running {
                return Err(Refusal::Wait(FIRST_DELAY));
            }
            let wait = self.id_delay(book.failures).saturating_sub(now.duration_since(book.last));
            if !wait.is_zero() {
                return Err(Refusal::Wait(wait));
            }
        }
        make_room(&mut books.addresses, &addr, |b| (b.running == 0).then(|| b.attempts.back().copied()).flatten());
        let address = books.addresses.entry(addr).or_default();
        address.attempts.push_back(now);
        address.running += 1;
        make_room(&mut books.ids, &staff, |b| (!b.running).then_some(b.last));
        books.ids.entry(staff).or_insert(IdBook { failures: 0, last: now, running: false }).running = true;
        Ok(Attempt { throttle: self, staff, addr, reserved: now, outcome: None })
    }

    /// A turn to hash a password: waits up to [`HASH_QUEUE_WAIT`] for one of the slots. The
    /// turn moves with the hash onto its blocking thread, so a client that leaves mid-hash
    /// frees its slot only when the hash is done.
    pub async fn hash_turn(&self) -> std::result::Result<HashTurn, Refusal> {
        match tokio::time::timeout(HASH_QUEUE_WAIT, self.hashing.clone().acquire_owned()).await {
            Ok(Ok(permit)) => {
                let memory = lock(&self.memory).pop().unwrap_or_default();
                Ok(HashTurn { _permit: permit, memory, pool: self.memory.clone() })
            }
            _ => Err(Refusal::Busy),
        }
    }

    /// How long after its last failure an id with `failures` failures waits.
    fn id_delay(&self, failures: u32) -> Duration {
        let over = failures.saturating_sub(self.max_failures as u32 - 1);
        if over == 0 {
            return Duration::ZERO;
        }
        FIRST_DELAY.saturating_mul(1 << (over - 1).min(20)).min(self.window)
    }

    /// Forgets what has left the window.
    fn prune(&self, books: &mut Books, now: Instant) {
        let window = self.window;
        books.addresses.retain(|_, b| {
            while b.attempts.front().is_some_and(|t| now.duration_since(*t) >= window) {
                b.attempts.pop_front();
            }
            b.running > 0 || !b.attempts.is_empty()
        });
        books.ids.retain(|_, b| b.running || (b.failures > 0 && now.duration_since(b.last) < window));
    }

    fn settle(&self, attempt: &Attempt<'_>) {
        let ok = attempt.outcome;
        let mut books = lock(&self.books);
        if let Some(address) = books.addresses.get_mut(&attempt.addr) {
            address.running = address.running.saturating_sub(1);
            if ok == Some(true) {
                if let Some(at) = address.attempts.iter().position(|t| *t == attempt.reserved) {
                    address.attempts.remove(at);
                }
            }
        }
        if let Some(id) = books.ids.get_mut(&attempt.staff) {
            id.running = false;
            match ok {
                Some(true) => id.failures = 0,
                Some(false) => {
                    id.failures = id.failures.saturating_add(1);
                    id.last = Instant::now();
                }
                None => {}
            }
        }
    }
}

/// The key an address is throttled by: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber's usual allocation, so hopping through it gains nothing).
fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

/// Makes room for `key` in a map at [`MAX_TRACKED`]: drops the entry with the oldest `age`
/// among those that may go (`age` is `None` for an entry in use).
fn make_room<K: std::hash::Hash + Eq + Clone + std::borrow::Borrow<Q>, Q: std::hash::Hash + Eq + ?Sized, V>(
    map: &mut HashMap<K, V>,
    key: &Q,
    age: impl Fn(&V) -> Option<Instant>,
) {
    if map.len() < MAX_TRACKED || map.contains_key(key) {
        return;
    }
    if let Some(stalest) = map.iter().filter_map(|(k, v)| age(v).map(|t| (t, k))).min_by_key(|(t, _)| *t).map(|(_, k)| k.clone()) {
        map.remove::<K>(&stalest);
    }
}

/// One of the hashing slots, with its argon2 memory (given back to the pool when done).
pub struct HashTurn {
    _permit: OwnedSemaphorePermit,
    memory: Vec<Block>,
    pool: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl HashTurn {
    /// Whether `password` matches the stored PHC string (a malformed hash never matches).
    pub fn verify(&mut self, stored: &str, password: &str) -> bool {
        verify_in(stored, password, &mut self.memory)
    }
}

impl Drop for HashTurn {
    fn drop(&mut self) {
        lock(&self.pool).push(std::mem::take(&mut self.memory));
    }
}

/// A reserved login attempt. Tell it how the password check went; dropped untold (the check
/// failed or the client left), it keeps its reservation, the safe direction.
pub struct Attempt<'a> {
    throttle: &'a LoginThrottle,
    staff: [u8; 32],
    addr: IpAddr,
    reserved: Instant,
    /// Whether the password was right, once known; settled when the attempt is dropped.
    outcome: Option<bool>,
}

impl Attempt<'_> {
    /// The password was right: the reservation is given back and the id's failures forgotten.
    pub fn succeeded(mut self) {
        self.outcome = Some(true);
    }

    /// The password was wrong (or the id unknown): the failure counts for the id's delay.
    pub fn failed(mut self) {
        self.outcome = Some(false);
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        self.throttle.settle(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

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
    fn sessions_are_found_by_cookie_survive_a_reopen_and_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("s.db");
        let store = Store::open(&db).expect("opens");
        store.add_staff("li", &hash_password("li-password").expect("hashes"), Role::Staff, 0).expect("adds");
        let sessions = Sessions::new(store, Duration::from_secs(60));
        let (cookie, session) = sessions.start("li", Role::Staff).expect("starts");
        assert_eq!(sessions.get(&cookie).expect("reads"), Some(session.clone()));
        assert_ne!(session.csrf, cookie);
        assert_eq!(sessions.get("forged").expect("reads"), None);
        let reopened = Sessions::new(Store::open(&db).expect("reopens"), Duration::from_secs(60));
        assert_eq!(reopened.get(&cookie).expect("reads"), Some(session), "a restart keeps the session");
        reopened.end(&cookie).expect("ends");
        assert_eq!(sessions.get(&cookie).expect("reads"), None);
        let (a, _) = sessions.start("li", Role::Staff).expect("starts");
        let (b, _) = sessions.start("li", Role::Staff).expect("starts");
        assert_eq!(sessions.end_all("li").expect("ends"), 2);
        assert_eq!((sessions.get(&a).expect("reads"), sessions.get(&b).expect("reads")), (None, None));
    }

    #[test]
    fn a_session_in_debug_output_shows_no_csrf_token() {
        let session = Session { staff: "li".into(), role: Role::Staff, csrf: csrf_for("cookie") };
        let shown = format!("{session:?}");
        assert!(shown.contains("li") && !shown.contains(session.csrf.as_str()), "{shown}");
    }

    #[test]
    fn cookies_csrf_tokens_and_lane_tokens_are_wiped_on_drop() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("opens");
        store.add_staff("li", &hash_password("li-password").expect("hashes"), Role::Staff, 0).expect("adds");
        let (cookie, session) = Sessions::new(store, Duration::from_secs(60)).start("li", Role::Staff).expect("starts");
        wiped_on_drop(&cookie);
        wiped_on_drop(&session.csrf);
        wiped_on_drop(&random_token());
        // Derived as before: the page's copy of the token still matches.
        assert_eq!(session.csrf.as_str(), hex::encode(Sha256::digest(format!("boardcheck csrf\0{}", cookie.as_str()))));
    }

    #[test]
    fn attempts_are_counted_before_they_finish() {
        let throttle = LoginThrottle::new(3, Duration::from_secs(60), 1);
        // Two run at once from one address; a third is refused while they run.
        let first = throttle.begin("li", A).expect("first");
        let second = throttle.begin("wang", A).expect("second");
        assert!(matches!(throttle.begin("zhao", A), Err(Refusal::Wait(_))), "in flight per address");
        assert!(matches!(throttle.begin("li", B), Err(Refusal::Wait(_))), "one attempt per id at a time");
        first.failed();
        second.failed();
        let third = throttle.begin("zhao", A).expect("third");
        drop(third); // untold: the reservation stays
        let Err(Refusal::Wait(wait)) = throttle.begin("qian", A) else { panic!("the address has used its three") };
        assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60), "{wait:?}");
        assert!(throttle.begin("qian", B).is_ok(), "another address is not held back");
        let v6 = |last: u16| IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, last]);
        for last in 1..=3 {
            throttle.begin(&format!("v6-{last}"), v6(last)).expect("runs").failed();
        }
        assert!(throttle.begin("v6-4", v6(4)).is_err(), "one /64 is one client");
    }

    #[test]
    fn a_success_gives_its_reservation_back() {
        let throttle = LoginThrottle::new(2, Duration::from_secs(60), 1);
        for _ in 0..5 {
            throttle.begin("li", A).expect("a right password never uses up the address").succeeded();
        }
    }

    #[test]
    fn an_id_waits_exponentially_after_its_free_failures_without_a_hard_lockout() {
        let throttle = LoginThrottle::new(2, Duration::from_millis(2500), 1);
        throttle.begin("li", A).expect("1").failed();
        throttle.begin("li", B).expect("2").failed();
        let Err(Refusal::Wait(wait)) = throttle.begin("li", IpAddr::from([10, 0, 0, 3])) else { panic!("a delay") };
        assert!(wait <= FIRST_DELAY, "{wait:?}");
        assert!(throttle.begin("wang", IpAddr::from([10, 0, 0, 3])).is_ok(), "other ids are not affected");
        std::thread::sleep(FIRST_DELAY);
        throttle.begin("li", IpAddr::from([10, 0, 0, 4])).expect("after the delay").failed();
        let Err(Refusal::Wait(wait)) = throttle.begin("li", IpAddr::from([10, 0, 0, 5])) else { panic!("a longer delay") };
        assert!(wait > FIRST_DELAY && wait <= 2 * FIRST_DELAY, "doubled: {wait:?}");
        std::thread::sleep(2 * FIRST_DELAY);
        throttle.begin("li", IpAddr::from([10, 0, 0, 6])).expect("after the doubled delay").succeeded();
        throttle.begin("li", IpAddr::from([10, 0, 0, 6])).expect("a success forgets the failures").succeeded();
    }

    #[test]
    fn the_books_stay_bounded_whatever_ids_arrive() {
        let throttle = LoginThrottle::new(1_000_000, Duration::from_secs(60), 1);
        for i in 0..(MAX_TRACKED + 50) {
            throttle.begin(&format!("invented-{i}"), IpAddr::from([10, 1, (i >> 8) as u8, i as u8])).expect("runs").failed();
        }
        let books = lock(&throttle.books);
        assert!(books.ids.len() <= MAX_TRACKED && books.addresses.len() <= MAX_TRACKED, "{} ids", books.ids.len());
        drop(books);
        let pruned = LoginThrottle::new(1, Duration::from_millis(50), 1);
        pruned.begin("li", A).expect("runs").failed();
        std::thread::sleep(Duration::from_millis(60));
        assert!(pruned.begin("wang", B).is_ok());
        assert_eq!(lock(&pruned.books).ids.len(), 1, "li's old failure left the books");
    }

    #[tokio::test]
    async fn hashing_turns_are_bounded() {
        let throttle = LoginThrottle::new(5, Duration::from_secs(60), 1);
        let mut held = throttle.hash_turn().await.expect("the one slot");
        assert!(matches!(throttle.hash_turn().await, Err(Refusal::Busy)));
        let stored = hash_password("correct horse").expect("hashes");
        assert!(held.verify(&stored, "correct horse") && !held.verify(&stored, "correct hors"));
        drop(held);
        let again = throttle.hash_turn().await.expect("the slot is free again");
        assert!(again.memory.len() >= 19 * 1024, "the slot's memory is reused: {} blocks", again.memory.len());
    }
}
