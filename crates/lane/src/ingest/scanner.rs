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

/// The longest line a reader may send: an ID card's chip photo in base64 is tens of kilobytes.
/// A longer line is skipped whole, never held in memory.
pub const MAX_LINE: usize = 256 * 1024;

/// One line from a reader, at most [`MAX_LINE`] bytes of it kept.
#[derive(Debug, PartialEq)]
enum Line {
    Text(String),
    /// Longer than [`MAX_LINE`] (its length), or not UTF-8: skipped.
    Unreadable(String),
    End,
}

/// Reads the next line, keeping at most `cap` bytes of it (the rest is read and dropped).
fn next_line(reader: &mut dyn BufRead, cap: usize) -> std::io::Result<Line> {
    let (mut kept, mut length) = (Vec::new(), 0usize);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() && length == 0 {
            return Ok(Line::End);
        }
        let newline = chunk.iter().position(|&b| b == b'\n');
        let take = newline.map_or(chunk.len(), |i| i + 1);
        let content = &chunk[..newline.unwrap_or(take)];
        if kept.len() <= cap {
            kept.extend_from_slice(&content[..content.len().min(cap + 1 - kept.len())]);
        }
        length += content.len();
        let ended = newline.is_some() || chunk.is_empty();
        reader.consume(take);
        if ended {
            return Ok(if length > cap {
                Line::Unreadable(format!("a line of {length} bytes, over the {cap}-byte limit"))
            } else {
                String::from_utf8(kept).map_or_else(|_| Line::Unreadable("a line that is not UTF-8".into()), Line::Text)
            });
        }
    }
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
    let mut reader: Box<dyn BufRead + Send> = if source == "stdin" {
        Box::new(BufReader::new(std::io::stdin()))
    } else {
        let path = Path::new(source);
        Box::new(BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?))
    };
    let name = source.to_string();
    std::thread::Builder::new()
        .name("ticket-reader".into())
        .spawn(move || {
            loop {
                let scanned = match next_line(&mut reader, MAX_LINE) {
                    Ok(Line::End) => break,
                    Ok(Line::Text(line)) => parse_line(&line),
                    Ok(Line::Unreadable(why)) => Err(why),
                    Err(e) => {
                        tracing::warn!(reader = %name, error = %e, "the ticket reader failed");
                        break;
                    }
                };
                match scanned {
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
    fn an_overlong_line_is_skipped_whole_and_the_next_one_read() {
        // Today a 42 MB line was read into memory whole.
        let mut input = vec![b'A'; 5000];
        input.extend_from_slice(b"\nBC1.next\n\xff\xfe\nlast");
        let mut reader = std::io::BufReader::with_capacity(64, &input[..]);
        assert!(matches!(next_line(&mut reader, 1000), Ok(Line::Unreadable(why)) if why.contains("5000 bytes")));
        assert_eq!(next_line(&mut reader, 1000).ok(), Some(Line::Text("BC1.next".into())));
        assert!(matches!(next_line(&mut reader, 1000), Ok(Line::Unreadable(why)) if why.contains("UTF-8")));
        assert_eq!(next_line(&mut reader, 1000).ok(), Some(Line::Text("last".into())));
        assert_eq!(next_line(&mut reader, 1000).ok(), Some(Line::End));
        let exact = vec![b'B'; 1000];
        assert_eq!(next_line(&mut &exact[..], 1000).ok(), Some(Line::Text("B".repeat(1000))));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(parse_line(r#"{"id_card": ""}"#).expect_err("refused").contains("document number"));
        assert!(parse_line(r#"{"id_card": "1", "chip_photo": "***"}"#).expect_err("refused").contains("base64"));
        assert!(parse_line(r#"{"idcard": "1"}"#).expect_err("refused").contains("ID-card line"));
    }
}
