//! Import of the ticketing system's export and enrolment of the ID photos.
//!
//! The export is one row per ticket, as CSV (header row) or JSON (an array of objects), with
//! the columns `ticket_id, seat, name, document_type, document_number, child, refunded` and an
//! optional `photo` (file name in the photo folder; default `<ticket_id>.jpg` when present).
//! Each photo is enrolled in parallel: detect → align → embed, under the ID-photo quality
//! policy. A photo with no usable face (none, two, too small, blurred) is reported per row with
//! the reason, and its ticket stays boardable by the manual path. Either way the photo itself
//! is kept, encrypted, as a small JPEG (at most [`PHOTO_MAX_SIDE`] px a side) for staff to
//! compare faces at a manual check.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::imageops::{self, FilterType};
use image::RgbImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::keys::StationKeys;
use super::store::Store;
use super::{DocumentType, NewTicket};
use crate::error::{Error, Result};
use boardcheck_vision::face::id_photo::encode_jpeg;
use boardcheck_vision::face::quality::QualityPolicy;
use boardcheck_vision::face::FaceEngine;
use boardcheck_vision::image_io;

/// The longest side of the photo kept for staff; an ID chip photo (~102×126) keeps its size.
pub const PHOTO_MAX_SIDE: u32 = 256;
/// Enough for staff to recognise a face, a few kilobytes a photo.
const PHOTO_QUALITY: u8 = 85;

/// One row of the export, as the ticketing system writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportRow {
    ticket_id: String,
    seat: String,
    name: String,
    document_type: DocumentType,
    document_number: String,
    #[serde(default, deserialize_with = "flexible_bool")]
    child: bool,
    #[serde(default, deserialize_with = "flexible_bool")]
    refunded: bool,
    #[serde(default)]
    photo: Option<String>,
}

/// CSV exports write booleans as 1/0, true/false or yes/no.
fn flexible_bool<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Bool(b) => Ok(b),
        Raw::Int(i) => Ok(i != 0),
        Raw::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "y" => Ok(true),
            "" | "0" | "false" | "no" | "n" => Ok(false),
            other => Err(serde::de::Error::custom(format!("'{other}' is not a yes/no value"))),
        },
    }
}

/// A parsed export: tickets plus the photo each may have.
#[derive(Debug, Clone)]
pub struct Export {
    pub tickets: Vec<NewTicket>,
    pub photos: Vec<Option<PathBuf>>,
}

/// Reads a CSV or JSON export (by extension); photos are looked up in `photos_dir`.
pub fn read_export(file: &Path, photos_dir: Option<&Path>) -> Result<Export> {
    let bad = |reason: String| Error::Config { path: file.to_path_buf(), reason };
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let rows: Vec<ExportRow> = match file.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("json") => serde_json::from_str(&text).map_err(|e| bad(format!("not a JSON array of tickets: {e}")))?,
        Some("csv") => {
            let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
            reader.deserialize().enumerate().map(|(i, row)| row.map_err(|e| bad(format!("row {}: {e}", i + 2)))).collect::<Result<_>>()?
        }
        _ => return Err(bad("expected a .csv or .json export".to_string())),
    };
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = rows.iter().find(|r| !seen.insert(r.ticket_id.as_str())) {
        return Err(bad(format!("ticket {} appears twice", dup.ticket_id)));
    }
    let photos = rows
        .iter()
        .map(|r| photo_for(r, photos_dir).map_err(|reason| bad(format!("ticket {}: {reason}", r.ticket_id))))
        .collect::<Result<_>>()?;
    let tickets = rows
        .into_iter()
        .map(|r| NewTicket {
            id: r.ticket_id,
            seat: r.seat,
            name: r.name,
            document_type: r.document_type,
            document_number: r.document_number,
            child: r.child,
            refunded: r.refunded,
        })
        .collect();
    Ok(Export { tickets, photos })
}

/// The photo file of `row`: the one it names, or `<ticket_id>.jpg` when present, always inside
/// `photos_dir`. The export comes from another system: a name that is not a plain file name
/// (`../…`, a path, absolute), or a link leading out of the folder, is refused, so an export
/// cannot enrol (and show staff) an image from elsewhere on the machine.
fn photo_for(row: &ExportRow, photos_dir: Option<&Path>) -> std::result::Result<Option<PathBuf>, String> {
    let Some(dir) = photos_dir else { return Ok(None) };
    let (name, named) = match &row.photo {
        Some(name) if !name.trim().is_empty() => (name.trim().to_string(), true),
        _ => (format!("{}.jpg", row.ticket_id), false),
    };
    let plain = matches!(Path::new(&name).components().collect::<Vec<_>>()[..], [std::path::Component::Normal(_)]);
    if !plain {
        return Err(format!("photo '{name}' is not a file name in the photos folder"));
    }
    let path = dir.join(&name);
    if !path.is_file() {
        // A named photo that is missing is reported at enrolment; a default one is optional.
        return Ok(named.then_some(path));
    }
    let inside = match (path.canonicalize(), dir.canonicalize()) {
        (Ok(file), Ok(dir)) => file.starts_with(dir),
        _ => false,
    };
    if inside {
        Ok(Some(path))
    } else {
        Err(format!("photo '{name}' leads outside the photos folder"))
    }
}

/// What enrolment made of one ticket's photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnrolmentReport {
    pub ticket_id: String,
    /// None when enrolled; otherwise why not (the ticket boards by the manual path).
    pub issue: Option<String>,
}

/// The face template of an ID photo, or why the photo cannot give one.
pub fn enrol_photo(engine: &FaceEngine, image: &RgbImage) -> std::result::Result<Vec<f32>, String> {
    let faces = engine.analyze(image).map_err(|e| e.to_string())?;
    // Faces much smaller than the main one are background (a printed pattern, a reflection).
    let largest = faces.iter().map(|f| f.bbox.area()).fold(0.0f32, f32::max);
    let main: Vec<_> = faces.into_iter().filter(|f| f.bbox.area() >= 0.25 * largest).collect();
    match main.as_slice() {
        [] => Err("no face found in the photo".to_string()),
        [face] => match QualityPolicy::ID_PHOTO.check(&face.quality) {
            Some(issue) => Err(issue.to_string()),
            None => Ok(face.embedding.clone()),
        },
        more => Err(format!("{} faces in the photo, expected one", more.len())),
    }
}

/// The photo as staff see it: a JPEG whose longest side is at most [`PHOTO_MAX_SIDE`].
fn staff_photo(image: &RgbImage) -> Result<Vec<u8>> {
    let (width, height) = image.dimensions();
    let longest = width.max(height);
    if longest <= PHOTO_MAX_SIDE {
        return Ok(encode_jpeg(image, PHOTO_QUALITY)?);
    }
    let scale = |side: u32| ((side as u64 * PHOTO_MAX_SIDE as u64 + longest as u64 / 2) / longest as u64).max(1) as u32;
    Ok(encode_jpeg(&imageops::resize(image, scale(width), scale(height), FilterType::Triangle), PHOTO_QUALITY)?)
}

/// What one photo file gave: the template or why none, and the photo for staff (absent when
/// the file is no usable image).
struct Enrolled {
    template: std::result::Result<Vec<f32>, String>,
    photo: Option<Result<Vec<u8>>>,
}

fn enrol_file(engine: &FaceEngine, path: &Path) -> Enrolled {
    match image_io::load_rgb(path) {
        Ok(image) => Enrolled { template: enrol_photo(engine, &image), photo: Some(staff_photo(&image)) },
        Err(e) => Enrolled { template: Err(e.to_string()), photo: None },
    }
}

/// Told how far enrolment has got, `(enrolled, of)` photos, from the worker threads: the
/// caller draws its progress (a terminal bar, a log line) or ignores it.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Imports `export` into `trip_id`, enrols its photos and keeps them for staff; returns a
/// report per photo.
pub fn import(
    store: &Store,
    keys: &StationKeys,
    engine: &FaceEngine,
    trip_id: &str,
    export: &Export,
    now: i64,
    progress: Progress,
) -> Result<Vec<EnrolmentReport>> {
    store.import_tickets(trip_id, &export.tickets, keys, now)?;
    let jobs: Vec<(&NewTicket, &PathBuf)> =
        export.tickets.iter().zip(&export.photos).filter(|(t, _)| !t.refunded).filter_map(|(t, p)| p.as_ref().map(|p| (t, p))).collect();
    let done = AtomicUsize::new(0);
    let enrolled: Vec<(&NewTicket, Enrolled)> = jobs
        .par_iter()
        .map(|(t, p)| {
            let enrolled = enrol_file(engine, p);
            progress(done.fetch_add(1, Ordering::Relaxed) + 1, jobs.len());
            (*t, enrolled)
        })
        .collect();
    let mut reports = Vec::with_capacity(enrolled.len());
    for (ticket, Enrolled { template, photo }) in enrolled {
        let issue = match template {
            Ok(template) => {
                store.set_template(&ticket.id, &template, engine.embedder_id(), keys, now)?;
                None
            }
            Err(reason) => {
                store.set_enrol_issue(&ticket.id, &reason, now)?;
                Some(reason)
            }
        };
        match photo {
            Some(Ok(jpeg)) => store.set_photo(&ticket.id, &jpeg, keys, now)?,
            // Staff then see no photo; the ticket still boards by the manual path.
            Some(Err(e)) => tracing::warn!(ticket = %ticket.id, "ID photo not kept for staff: {e}"),
            None => {}
        }
        reports.push(EnrolmentReport { ticket_id: ticket.id.clone(), issue });
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("writes");
        path
    }

    #[test]
    fn reads_csv_and_json_exports() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = write(
            dir.path(),
            "m.csv",
            "ticket_id,seat,name,document_type,document_number,child,refunded,photo\nT1,1A,Li Lei,id_card,110101199003071234,0,no,li.jpg\nT2,1B,Han Mei,passport,E12345678,yes,0,\n",
        );
        let export = read_export(&csv, Some(dir.path())).expect("parses");
        assert_eq!(export.tickets.len(), 2);
        assert!(export.tickets[1].child && !export.tickets[1].refunded);
        assert_eq!(export.photos[0], Some(dir.path().join("li.jpg")));
        assert_eq!(export.photos[1], None, "no photo named and no T2.jpg present");
        let json = write(
            dir.path(),
            "m.json",
            r#"[{"ticket_id":"T1","seat":"1A","name":"Li Lei","document_type":"id_card","document_number":"110101199003071234"}]"#,
        );
        assert_eq!(read_export(&json, None).expect("parses").tickets[0].id, "T1");
    }

    #[test]
    fn a_photo_outside_the_photos_folder_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let photos = dir.path().join("photos");
        std::fs::create_dir_all(&photos).expect("mkdir");
        let secret = dir.path().join("elsewhere.jpg");
        std::fs::write(&secret, b"not yours").expect("writes");
        std::os::unix::fs::symlink(&secret, photos.join("link.jpg")).expect("links");
        std::fs::write(photos.join("ok.jpg"), b"jpeg").expect("writes");
        for (photo, refused) in
            [("../elsewhere.jpg", true), ("/etc/passwd", true), ("sub/../../elsewhere.jpg", true), ("link.jpg", true), ("ok.jpg", false)]
        {
            let csv =
                write(dir.path(), "t.csv", &format!("ticket_id,seat,name,document_type,document_number,photo\nT1,1,A,id_card,1,{photo}\n"));
            let read = read_export(&csv, Some(&photos));
            assert_eq!(read.is_err(), refused, "{photo}: {:?}", read.map(|e| e.photos));
        }
        // A ticket id is not a way out either.
        std::fs::write(dir.path().join("x.jpg"), b"jpeg").expect("writes");
        let csv = write(dir.path(), "t.csv", "ticket_id,seat,name,document_type,document_number\n../x,1,A,id_card,1\n");
        assert!(read_export(&csv, Some(&photos)).is_err());
    }

    #[test]
    fn staff_photo_is_a_jpeg_at_most_256_px_a_side() {
        for ((width, height), expected) in [((102, 126), (102, 126)), ((600, 400), (256, 171)), ((300, 1200), (64, 256))] {
            let jpeg = staff_photo(&RgbImage::new(width, height)).expect("encodes");
            let decoded = image_io::decode_rgb(&jpeg, Path::new("<staff photo>")).expect("a JPEG");
            assert_eq!(decoded.dimensions(), expected, "from {width}x{height}");
        }
    }

    #[test]
    fn a_bad_export_names_the_row() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv =
            write(dir.path(), "m.csv", "ticket_id,seat,name,document_type,document_number\nT1,1A,Li,id_card,1\nT2,1B,Han,spaceship,2\n");
        let err = read_export(&csv, None).expect_err("refused").to_string();
        assert!(err.contains("row 3") && err.contains("m.csv"), "{err}");
        let dup =
            write(dir.path(), "d.csv", "ticket_id,seat,name,document_type,document_number\nT1,1A,Li,id_card,1\nT1,1B,Han,id_card,2\n");
        assert!(read_export(&dup, None).expect_err("refused").to_string().contains("appears twice"));
    }
}
