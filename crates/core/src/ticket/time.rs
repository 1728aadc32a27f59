//! Times as people write them on a command line or in config: unix seconds or RFC 3339.

/// Parses `1767225600` or `2026-01-01T08:00:00+08:00` (also `Z`, fractional seconds, a space
/// for `T`) into unix seconds. Times before 1970 are refused: no ticket is valid then.
pub fn parse_time(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().map_err(|_| format!("'{text}': too large for unix seconds"));
    }
    let refused = || format!("'{text}' is neither unix seconds nor an RFC 3339 time such as 2026-01-01T08:00:00+08:00");
    // RFC 3339 requires the offset; jiff's Timestamp parser insists on it too.
    let timestamp: jiff::Timestamp = text.parse().map_err(|_| refused())?;
    u64::try_from(timestamp.as_second()).map_err(|_| refused())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_and_rfc3339_agree() {
        assert_eq!(parse_time("1767225600"), Ok(1_767_225_600));
        assert_eq!(parse_time("2026-01-01T00:00:00Z"), Ok(1_767_225_600));
        assert_eq!(parse_time("2026-01-01T08:00:00+08:00"), Ok(1_767_225_600));
        assert_eq!(parse_time("2025-12-31 19:30:00.250-04:30"), Ok(1_767_225_600));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_time("2024-02-29T12:00:00Z"), Ok(1_709_208_000));
    }

    #[test]
    fn malformed_times_are_refused() {
        for bad in [
            "",
            "soon",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:00+8:00",
            "2026-01-01T00:00:00.Z",
            "1969-12-31T23:59:59Z",
            "99999999999999999999999",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }
}
