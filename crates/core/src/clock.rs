//! Wall-clock time as the store records it: unix seconds. Every rule takes `now` as an
//! argument instead of reading the clock, so tests control time; only the edges call this.

/// Seconds since the unix epoch (0 if the clock is before it).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}
