//! Ticket readers at the lane, as lines of text: a QR scanner in serial or keyboard mode types
//! the e-ticket's payload and a newline; the ID-card reader's bridge (the vendor SDK that
//! decodes the card) writes one JSON object per tap:
//! `{"id_card": "<document number>", "chip_photo": "<base64 JPEG/PNG/BMP>"}` (photo optional).

use std::io::{BufRead, BufReader};
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};

/// What one line said.
#[derive(Debug, Clone, PartialEq)]
pub enum Scanned {
    /// A QR e-ticket's text.
    Qr(String),
    /// An ID card: its number and, when the reader gives it, the chip photo's bytes.
    IdCard { document_number: String, chip_photo: Option<Vec<u8>> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdCardLine {
    id_card: String,
    #[serde(default)]
    chip_photo: Option<String>,
}

/// One line → what was scanned; `Ok(None)` for a blank line; `Err` names what is wrong.
pub fn parse_line(line: &str) -> std::result::Result<Option<Scanned>, String> {
    let line = line.trim();
    if line.is_empty() {
        return Ok(None);
    }
    if !line.starts_with('{') {
        return Ok(Some(Scanned::Qr(line.to_string())));
    }
    let card: IdCardLine = serde_json::from_str(line).map_err(|e| format!("not an ID-card line: {e}"))?;
    if card.id_card.trim().is_empty() {
        return Err("an ID-card line without a document number".to_string());
    }
    let chip_photo = match card.chip_photo {
        Some(b64) => Some(STANDARD.decode(b64.trim()).map_err(|e| format!("chip photo is not base64: {e}"))?),
        None => None,
    };
    Ok(Some(Scanned::IdCard { document_number: card.id_card.trim().to_string(), chip_photo }))
}

/// Reads lines from `source` (`stdin`, a serial device or a FIFO) on a thread of its own and
/// hands each to `on_scan` until the source ends. A bad line is logged and skipped: one
/// garbled scan must not stop the lane.
pub fn spawn_reader(source: &str, mut on_scan: impl FnMut(Scanned) + Send + 'static) -> Result<()> {
    let reader: Box<dyn BufRead + Send> = if source == "stdin" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let path = Path::new(source);
        Box::new(BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?))
    };
    let name = source.to_string();
    std::thread::Builder::new()
        .name("ticket-reader".into())
        .spawn(move || {
            for line in reader.lines() {
                match line.map_err(|e| e.to_string()).and_then(|l| parse_line(&l)) {
                    Ok(Some(scanned)) => on_scan(scanned),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(reader = %name, error = %e, "unreadable scan skipped"),
                }
            }
            tracing::warn!(reader = %name, "the ticket reader ended; the lane goes on with faces alone");
        })
        .map_err(|e| Error::io("<ticket reader thread>", e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_qr_text_or_id_card_json() {
        assert_eq!(parse_line("  \n"), Ok(None));
        assert_eq!(parse_line("BC1.abc.def\r\n"), Ok(Some(Scanned::Qr("BC1.abc.def".into()))));
        let card = parse_line(r#"{"id_card": "110101199001011234", "chip_photo": "aGVsbG8="}"#);
        assert_eq!(card, Ok(Some(Scanned::IdCard { document_number: "110101199001011234".into(), chip_photo: Some(b"hello".to_vec()) })));
        let bare = parse_line(r#"{"id_card": "110101199001011234"}"#);
        assert_eq!(bare, Ok(Some(Scanned::IdCard { document_number: "110101199001011234".into(), chip_photo: None })));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(parse_line(r#"{"id_card": ""}"#).expect_err("refused").contains("document number"));
        assert!(parse_line(r#"{"id_card": "1", "chip_photo": "***"}"#).expect_err("refused").contains("base64"));
        assert!(parse_line(r#"{"idcard": "1"}"#).expect_err("refused").contains("ID-card line"));
    }
}
