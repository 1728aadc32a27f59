//! Tickets shown at the lane, as the decide stage needs them: the scanner's and ID-card
//! reader's lines ([`crate::ingest::scanner`]) become [`Presented`] tickets, an ID card's chip
//! photo its embedding (the reference for the 1:1 check with the face in view).

use std::path::Path;
use std::sync::Arc;

use boardcheck_core::decider::Presented;
use boardcheck_core::manifest::import;
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::image_io;
use crossbeam_channel::Receiver;

use crate::error::Result;
use crate::ingest::scanner::{self, Scanned};

/// Tickets from the lane's scanner and ID-card reader, as the decide stage needs them: an ID
/// card's chip photo becomes its embedding here (the reference for the 1:1 check).
pub fn read(scanner: &str, engine: Arc<FaceEngine>) -> Result<Receiver<Presented>> {
    let (tx, rx) = crossbeam_channel::bounded(8);
    scanner::spawn_reader(scanner, move |scanned| {
        let presented = match scanned {
            Scanned::Qr(text) => Presented::Qr(text),
            Scanned::IdCard { document_number, chip_photo } => {
                let chip_embedding = chip_photo.and_then(|bytes| chip_embedding(&engine, &bytes));
                Presented::IdCard { document_number, chip_embedding }
            }
        };
        let _ = tx.send(presented); // the lane has stopped: nothing left to decide
    })?;
    Ok(rx)
}

/// The chip photo's embedding; without a usable face the enrolled template is used instead.
fn chip_embedding(engine: &FaceEngine, bytes: &[u8]) -> Option<Vec<f32>> {
    let image = match image_io::decode_rgb(bytes, Path::new("<ID-card chip photo>")) {
        Ok(image) => image,
        Err(e) => {
            tracing::warn!(error = %e, "chip photo unreadable; comparing with the enrolled photo");
            return None;
        }
    };
    import::enrol_photo(engine, &image).map_err(|why| tracing::warn!(why, "chip photo not usable; comparing with the enrolled photo")).ok()
}
