//! The token's bytes and text form (layout table in the [module docs](super)).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::{DocumentHash, KeyId, Ticket};

/// Starts every token's text form; the `1` is the text form's version.
pub const PREFIX: &str = "BC1.";
const VERSION: u8 = 1;
/// Enough for any real ticket, trip or seat id; longer ones would only grow the QR code.
const MAX_FIELD: usize = 64;
pub(crate) const SIGNATURE_LEN: usize = 64;

/// A ticket that cannot be put into a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ticket {field}: {reason}")]
pub struct IssueError {
    pub field: &'static str,
    pub reason: String,
}

/// A parsed token whose signature is still to be checked.
pub(crate) struct Signed<'a> {
    /// The bytes the signature covers.
    pub message: &'a [u8],
    pub signature: &'a [u8],
    pub ticket: Ticket,
}

/// The bytes to sign: everything before the signature.
pub(crate) fn payload(ticket: &Ticket) -> Result<Vec<u8>, IssueError> {
    let time = |field, t: i64| u32::try_from(t).map_err(|_| IssueError { field, reason: format!("{t} is outside 1970–2106") });
    let (not_before, not_after) = (time("not_before", ticket.not_before)?, time("not_after", ticket.not_after)?);
    if not_after < not_before {
        return Err(IssueError { field: "not_after", reason: "before not_before".into() });
    }
    let mut out = vec![VERSION];
    out.extend_from_slice(&ticket.issuer.0);
    out.extend_from_slice(&not_before.to_be_bytes());
    out.extend_from_slice(&not_after.to_be_bytes());
    for (field, value) in [("ticket_id", &ticket.ticket_id), ("trip_id", &ticket.trip_id), ("seat", &ticket.seat)] {
        check_field(field, value)?;
        push_field(&mut out, value.as_bytes());
    }
    push_field(&mut out, ticket.document_hash.as_ref().map_or(&[][..], |h| &h.0[..]));
    Ok(out)
}

fn check_field(field: &'static str, value: &str) -> Result<(), IssueError> {
    let reason = if value.is_empty() {
        "is empty"
    } else if value.len() > MAX_FIELD {
        "is longer than 64 bytes"
    } else if value.chars().any(char::is_control) {
        "holds a control character"
    } else {
        return Ok(());
    };
    Err(IssueError { field, reason: reason.into() })
}

fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    // check_field and DocumentHash keep every field ≤ 64 bytes.
    out.push(bytes.len() as u8);
    out.extend_from_slice(bytes);
}

/// Signed bytes → text form.
pub(crate) fn to_text(bytes: &[u8]) -> String {
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Text form → bytes. Finds the token inside a scanner's text: whatever comes before `BC1.`
/// (a symbology prefix such as `]Q1`) and after the last base64url character (CR, LF, TAB)
/// is ignored.
pub(crate) fn from_text(scanned: &str) -> Result<Vec<u8>, &'static str> {
    let start = scanned.find(PREFIX).ok_or("no BC1. prefix")? + PREFIX.len();
    let rest = &scanned[start..];
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(rest.len());
    URL_SAFE_NO_PAD.decode(&rest[..end]).map_err(|_| "not base64url")
}

/// Bytes → ticket fields, without trusting them yet.
pub(crate) fn parse(bytes: &[u8]) -> Result<Signed<'_>, &'static str> {
    let message_len = bytes.len().checked_sub(SIGNATURE_LEN).ok_or("truncated")?;
    let (message, signature) = bytes.split_at(message_len);
    let mut reader = Reader(message);
    if reader.take(1)? != [VERSION] {
        return Err("unknown version");
    }
    let issuer = KeyId(reader.array()?);
    let not_before = u32::from_be_bytes(reader.array()?).into();
    let not_after = u32::from_be_bytes(reader.array()?).into();
    let ticket_id = reader.text()?;
    let trip_id = reader.text()?;
    let seat = reader.text()?;
    let document_hash = match reader.field()? {
        [] => None,
        hash => Some(DocumentHash(hash.try_into().map_err(|_| "bad document hash length")?)),
    };
    if !reader.0.is_empty() {
        return Err("truncated");
    }
    Ok(Signed { message, signature, ticket: Ticket { ticket_id, trip_id, seat, document_hash, not_before, not_after, issuer } })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        self.take(N)?.try_into().map_err(|_| "truncated")
    }

    fn field(&mut self) -> Result<&'a [u8], &'static str> {
        let len = self.take(1)?[0];
        self.take(len.into())
    }

    fn text(&mut self) -> Result<String, &'static str> {
        let bytes = self.field()?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| "a field is not UTF-8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Ticket {
        Ticket {
            ticket_id: "T1".into(),
            trip_id: "K1203".into(),
            seat: "12A".into(),
            document_hash: Some(DocumentHash([7; 16])),
            not_before: 1_700_000_000,
            not_after: 1_700_086_400,
            issuer: KeyId([1, 2, 3, 4]),
        }
    }

    fn signed(ticket: &Ticket) -> Vec<u8> {
        let mut bytes = payload(ticket).expect("encodes");
        bytes.extend_from_slice(&[9; SIGNATURE_LEN]);
        bytes
    }

    #[test]
    fn fields_round_trip_in_the_documented_layout() {
        let bytes = signed(&ticket());
        assert_eq!(&bytes[..13], &[1, 1, 2, 3, 4, 0x65, 0x53, 0xf1, 0x00, 0x65, 0x55, 0x42, 0x80]);
        assert_eq!(&bytes[13..16], &[2, b'T', b'1']);
        assert_eq!(bytes.len(), 13 + 3 + 6 + 4 + 17 + 64);
        let parsed = parse(&bytes).expect("parses");
        assert_eq!(parsed.ticket, ticket());
        assert_eq!(parsed.message.len(), bytes.len() - SIGNATURE_LEN);
    }

    #[test]
    fn a_ticket_without_document_hash_round_trips() {
        let t = Ticket { document_hash: None, ..ticket() };
        assert_eq!(parse(&signed(&t)).expect("parses").ticket, t);
    }

    #[test]
    fn every_truncation_is_refused() {
        let bytes = signed(&ticket());
        for n in 0..bytes.len() {
            assert!(parse(&bytes[..n]).is_err(), "{n} bytes");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer).is_err());
    }

    #[test]
    fn bad_fields_are_not_issued() {
        let cases = [
            Ticket { ticket_id: String::new(), ..ticket() },
            Ticket { seat: "x".repeat(65), ..ticket() },
            Ticket { trip_id: "K12\n03".into(), ..ticket() },
            Ticket { not_after: 1_600_000_000, ..ticket() },
            Ticket { not_after: 1 << 32, ..ticket() },
            Ticket { not_before: -1, ..ticket() },
        ];
        for t in cases {
            assert!(payload(&t).is_err(), "{t:?}");
        }
    }

    #[test]
    fn scanner_noise_around_the_token_is_ignored() {
        let text = to_text(b"boarding");
        assert_eq!(from_text(&format!("]Q1{text}\r\n")).as_deref(), Ok(&b"boarding"[..]));
        assert_eq!(from_text(&format!("  {text}\t")).as_deref(), Ok(&b"boarding"[..]));
        assert_eq!(from_text("boarding"), Err("no BC1. prefix"));
        assert_eq!(from_text("BC1.a"), Err("not base64url"));
    }
}
