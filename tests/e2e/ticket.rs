//! E-ticket tokens with real SM2 keys written by `keygen`: every refusal reason, QR codes
//! through PNG files and degraded photos, and the `ticket` command line.

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use image::{imageops, Rgb, RgbImage};
use rand::{Rng, SeedableRng};

use boardcheck_core::ticket::{self, decode_qr, render_qr, IssuerKey, IssuerKeys, Refusal, Ticket};
use common::boardcheck;

const NOON: i64 = 1_767_240_000; // 2026-01-01T12:00:00+08:00
const ID_NUMBER: &str = "11010519491231002X";

struct Issuer {
    dir: tempfile::TempDir,
    key: IssuerKey,
}

impl Issuer {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = ticket::keygen(dir.path()).expect("keygen");
        let key = IssuerKey::load(&dir.path().join(format!("{id}.key"))).expect("key loads");
        Issuer { dir, key }
    }

    fn keys(&self) -> IssuerKeys {
        IssuerKeys::load(self.dir.path()).expect("public keys load")
    }

    fn ticket(&self) -> Ticket {
        let pepper = ticket::Pepper::load(&self.dir.path().join(format!("{}.pepper", self.key.key_id()))).expect("pepper loads");
        Ticket {
            ticket_id: "E20260101-000123".into(),
            trip_id: "K1203-20260101".into(),
            seat: "12A".into(),
            document_hash: Some(ticket::hash_document(&pepper, ID_NUMBER)),
            not_before: NOON - 6 * 3600,
            not_after: NOON + 6 * 3600,
            issuer: self.key.key_id(),
        }
    }

    fn token(&self) -> String {
        self.key.issue(&self.ticket()).expect("issues")
    }
}

fn check(token: &str, keys: &IssuerKeys, now: i64) -> Result<Ticket, Refusal> {
    ticket::verify(token, keys, now, Some("K1203-20260101"), &HashSet::new()).map_err(|r| r.reason)
}

fn bytes_of(token: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(token.strip_prefix(ticket::PREFIX).expect("prefix")).expect("base64url")
}

fn token_of(bytes: &[u8]) -> String {
    format!("{}{}", ticket::PREFIX, URL_SAFE_NO_PAD.encode(bytes))
}

#[test]
fn round_trip_valid() {
    let issuer = Issuer::new();
    let keys = issuer.keys();
    let token = issuer.token();
    assert!(token.len() < 200, "{} characters: {token}", token.len());
    assert_eq!(check(&token, &keys, NOON), Ok(issuer.ticket()));
    let ticket = issuer.ticket();
    assert_eq!(keys.document_matches(&ticket, "110105 19491231 002x"), Some(true));
    assert_eq!(keys.document_matches(&ticket, "110105194912310021"), Some(false));
    assert_eq!(keys.document_matches(&Ticket { document_hash: None, ..ticket }, ID_NUMBER), None);
}

#[test]
fn tampered_byte_is_bad_signature() {
    let issuer = Issuer::new();
    let keys = issuer.keys();
    let bytes = bytes_of(&issuer.token());
    let seat = bytes.windows(3).position(|w| w == b"12A").expect("seat in the payload");
    let mut tampered = bytes.clone();
    tampered[seat + 1] = b'3'; // seat 13A
    assert_eq!(check(&token_of(&tampered), &keys, NOON), Err(Refusal::BadSignature));
    let mut signature = bytes.clone();
    *signature.last_mut().expect("bytes") ^= 1;
    assert_eq!(check(&token_of(&signature), &keys, NOON), Err(Refusal::BadSignature));
    // No single changed bit anywhere gets through.
    for i in 0..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x10;
        assert!(check(&token_of(&flipped), &keys, NOON).is_err(), "byte {i}");
    }
}

#[test]
fn unregistered_key_is_unknown_key() {
    let (station, stranger) = (Issuer::new(), Issuer::new());
    let refusal = check(&stranger.token(), &station.keys(), NOON);
    assert_eq!(refusal, Err(Refusal::UnknownKey(stranger.key.key_id())));
}

#[test]
fn expired_and_not_yet_valid() {
    let issuer = Issuer::new();
    let (keys, token, ticket) = (issuer.keys(), issuer.token(), issuer.ticket());
    assert!(check(&token, &keys, ticket.not_before).is_ok());
    assert!(check(&token, &keys, ticket.not_after).is_ok());
    assert_eq!(check(&token, &keys, ticket.not_before - 1), Err(Refusal::NotYetValid { not_before: ticket.not_before }));
    assert_eq!(check(&token, &keys, ticket.not_after + 1), Err(Refusal::Expired { not_after: ticket.not_after }));
    let refused = ticket::verify(&token, &keys, ticket.not_after + 1, None, &HashSet::new()).expect_err("expired");
    assert_eq!(refused.ticket.as_deref(), Some(&ticket), "an authentic ticket is shown with its refusal");
}

#[test]
fn other_trip() {
    let issuer = Issuer::new();
    let refused = ticket::verify(&issuer.token(), &issuer.keys(), NOON, Some("K1205-20260101"), &HashSet::new()).expect_err("refused");
    assert_eq!(refused.reason, Refusal::OtherTrip { expected: "K1205-20260101".into(), actual: "K1203-20260101".into() });
    assert!(ticket::verify(&issuer.token(), &issuer.keys(), NOON, None, &HashSet::new()).is_ok(), "no trip given: any trip");
}

#[test]
fn replay_is_already_used() {
    let issuer = Issuer::new();
    let (keys, token) = (issuer.keys(), issuer.token());
    let mut used = HashSet::new();
    let boarded = ticket::verify(&token, &keys, NOON, Some("K1203-20260101"), &used).expect("first use boards");
    used.insert(boarded.ticket_id);
    let refused = ticket::verify(&token, &keys, NOON + 60, Some("K1203-20260101"), &used).expect_err("second use");
    assert_eq!(refused.reason, Refusal::AlreadyUsed);
}

#[test]
fn garbage_strings_are_garbage() {
    let issuer = Issuer::new();
    let keys = issuer.keys();
    let bytes = bytes_of(&issuer.token());
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let random: Vec<u8> = (0..bytes.len()).map(|_| rng.gen()).collect();
    let mut version_2 = bytes.clone();
    version_2[0] = 2;
    let cases = [
        String::new(),
        "\r\n".into(),
        "https://example.com/ticket/123".into(),
        URL_SAFE_NO_PAD.encode(&random),
        token_of(&[&[0x03][..], &random[1..]].concat()),
        ticket::PREFIX.into(),
        format!("{}!!!!", ticket::PREFIX),
        token_of(&bytes[..bytes.len() - 1]),
        token_of(&bytes[..20]),
        token_of(&version_2),
        token_of(&[bytes.as_slice(), &[0]].concat()),
    ];
    for case in cases {
        let refusal = check(&case, &keys, NOON);
        assert!(matches!(refusal, Err(Refusal::Garbage(_))), "{case:?}: {refusal:?}");
    }
}

#[test]
fn scanner_text_with_prefix_and_line_end() {
    let issuer = Issuer::new();
    let scanned = format!("]Q1{}\r\n", issuer.token());
    assert_eq!(check(&scanned, &issuer.keys(), NOON), Ok(issuer.ticket()));
}

#[test]
fn keys_from_a_toml_list() {
    let (a, b) = (Issuer::new(), Issuer::new());
    let line = |issuer: &Issuer, ext: &str| {
        std::fs::read_to_string(issuer.dir.path().join(format!("{}.{ext}", issuer.key.key_id()))).expect("reads").trim().to_owned()
    };
    let toml = format!(
        "[[issuer]]\npublic_key = \"{}\"\npepper = \"{}\"\n\n[[issuer]]\npublic_key = \"{}\"\n",
        line(&a, "pub"),
        line(&a, "pepper"),
        line(&b, "pub")
    );
    let path = a.dir.path().join("issuers.toml");
    std::fs::write(&path, toml).expect("writes");
    // It holds a pepper: a secret file, refused unless only its owner may read it.
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
    let keys = IssuerKeys::load(&path).expect("loads");
    assert!(check(&a.token(), &keys, NOON).is_ok());
    assert!(check(&b.token(), &keys, NOON).is_ok());
    assert_eq!(keys.document_matches(&a.ticket(), ID_NUMBER), Some(true));
    assert_eq!(keys.document_matches(&b.ticket(), ID_NUMBER), None, "no pepper listed for b");
}

#[test]
fn key_file_errors_name_the_file() {
    let issuer = Issuer::new();
    let missing = issuer.dir.path().join("nope.key");
    let err = IssuerKey::load(&missing).err().expect("missing key").to_string();
    assert!(err.contains("nope.key"), "{err}");
    let pub_path = issuer.dir.path().join(format!("{}.pub", issuer.key.key_id()));
    std::fs::write(&pub_path, "02abcdef\n").expect("writes");
    let err = IssuerKeys::load(issuer.dir.path()).err().expect("bad public key").to_string();
    assert!(err.contains(&*pub_path.to_string_lossy()) && err.contains("not an SM2 public key"), "{err}");
    let other = Issuer::new();
    let renamed = issuer.dir.path().join("deadbeef.pub");
    std::fs::remove_file(&pub_path).expect("removes");
    std::fs::copy(other.dir.path().join(format!("{}.pub", other.key.key_id())), &renamed).expect("copies");
    let err = IssuerKeys::load(issuer.dir.path()).err().expect("misnamed public key").to_string();
    assert!(err.contains("deadbeef.pub") && err.contains(&other.key.key_id().to_string()), "{err}");
    let empty = tempfile::tempdir().expect("tempdir");
    let err = IssuerKeys::load(empty.path()).err().expect("no keys").to_string();
    assert!(err.contains("no issuer public keys"), "{err}");
}

#[test]
fn qr_round_trip_through_png() {
    let issuer = Issuer::new();
    let token = issuer.token();
    let path = issuer.dir.path().join("ticket.png");
    render_qr(&token).expect("fits a QR code").save(&path).expect("writes PNG");
    let photo = boardcheck_vision::image_io::load_rgb(&path).expect("reads PNG");
    assert_eq!(decode_qr(&photo), vec![token.clone()]);
    assert_eq!(check(&decode_qr(&photo)[0], &issuer.keys(), NOON), Ok(issuer.ticket()));
}

/// The QR code as a lane camera might see a phone: small in a larger, noisy, dim frame,
/// out of focus, and turned 90°.
#[test]
fn qr_from_a_degraded_photo() {
    let issuer = Issuer::new();
    let token = issuer.token();
    let code = imageops::grayscale(&render_qr(&token).expect("fits"));
    let side = code.width() / 2; // 4 pixels a module
    let small = imageops::resize(&code, side, side, imageops::FilterType::Triangle);
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut frame = RgbImage::from_fn(640, 480, |_, _| {
        let v = 110 + rng.gen_range(0..40);
        Rgb([v, v, v.saturating_sub(10)])
    });
    for (x, y, p) in small.enumerate_pixels() {
        // A screen under glare: black is grey, white is not quite white, plus sensor noise.
        let v = (40.0 + f32::from(p.0[0]) * 0.7 + rng.gen_range(-12.0..12.0)).clamp(0.0, 255.0) as u8;
        frame.put_pixel(300 + x, 150 + y, Rgb([v, v, v]));
    }
    let photo = imageops::rotate90(&imageops::blur(&frame, 1.0));
    let path = issuer.dir.path().join("photo.png");
    photo.save(&path).expect("writes");
    let texts = decode_qr(&boardcheck_vision::image_io::load_rgb(&path).expect("reads"));
    assert_eq!(texts, vec![token]);
    assert_eq!(check(&texts[0], &issuer.keys(), NOON), Ok(issuer.ticket()));
}

#[test]
fn no_qr_in_a_plain_image() {
    assert!(decode_qr(&RgbImage::from_pixel(320, 240, Rgb([128, 128, 128]))).is_empty());
}

// The command line.

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn verify_json(keys: &Path, token_args: &[&str], stdin: Option<&str>) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["ticket", "verify", "--json", "--keys", utf8(keys)];
    args.extend_from_slice(token_args);
    let out = boardcheck(&args, stdin);
    let json = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    (out.status.code(), json)
}

fn cli_keygen(dir: &Path) -> String {
    let out = boardcheck(&["ticket", "keygen", "--out", utf8(dir)], None);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    stdout(&out)
}

/// `ticket issue` of ticket E1, trip K1203, seat 7, with `more` arguments.
fn cli_issue(key: &Path, more: &[&str]) -> Output {
    let mut args = vec!["ticket", "issue", "--key", utf8(key), "--ticket", "E1", "--trip", "K1203", "--seat", "7"];
    args.extend_from_slice(more);
    boardcheck(&args, None)
}

fn issued(out: Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let token = stdout(&out);
    assert!(token.starts_with(ticket::PREFIX), "{token}");
    token
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

#[test]
fn cli_keygen_issue_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("keys");
    let id = cli_keygen(&keys);
    assert!(id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit()), "key id {id}");
    let key = keys.join(format!("{id}.key"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).expect("key file").permissions().mode() & 0o777, 0o600);
    }
    assert!(keys.join(format!("{id}.pub")).is_file());
    let qr = dir.path().join("ticket.png");
    let window = ["--valid-from", "2020-01-01T00:00:00+08:00", "--valid-to", "4000000000"];
    let token = issued(cli_issue(&key, &[&window[..], &["--doc-number", ID_NUMBER, "--qr", utf8(&qr)]].concat()));

    let (code, json) = verify_json(&keys, &[&token], None);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["reason"], serde_json::Value::Null);
    let ticket = &json["ticket"];
    assert_eq!((ticket["ticket_id"].as_str(), ticket["trip_id"].as_str(), ticket["seat"].as_str()), (Some("E1"), Some("K1203"), Some("7")));
    assert_eq!((ticket["not_before"].as_i64(), ticket["not_after"].as_i64()), (Some(1_577_808_000), Some(4_000_000_000)));
    assert_eq!(ticket["issuer"].as_str(), Some(id.as_str()));
    assert_eq!(ticket["document_hash"].as_str().map(str::len), Some(32));
    assert!(!json.to_string().contains(ID_NUMBER), "the ID number never leaves the issuer");

    let (code, json) = verify_json(&keys, &["--trip", "K9999", &token], None);
    assert_eq!((code, json["reason"].as_str()), (Some(1), Some("other_trip")));
    assert_eq!(json["ticket"]["trip_id"], "K1203");

    let (code, json) = verify_json(&keys, &["-"], Some(&format!("{token}\r\n")));
    assert_eq!((code, json["valid"].as_bool()), (Some(0), Some(true)), "scanner text on stdin");

    let (code, json) = verify_json(&keys, &["--image", utf8(&qr)], None);
    assert_eq!((code, json["valid"].as_bool()), (Some(0), Some(true)), "QR from --qr");

    // A character well inside the signature: every one of its bits is used.
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() - 10;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let (code, json) = verify_json(&keys, &[&tampered], None);
    assert_eq!((code, json["reason"].as_str()), (Some(1), Some("bad_signature")));
    assert_eq!(json["ticket"], serde_json::Value::Null, "a forged ticket's fields are not shown");

    let (code, json) = verify_json(&keys, &["not a ticket"], None);
    assert_eq!((code, json["reason"].as_str(), json["ticket"].is_null()), (Some(1), Some("garbage"), true));
}

#[test]
fn cli_refusals_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (station, stranger) = (dir.path().join("station"), dir.path().join("stranger"));
    let station_key = station.join(format!("{}.key", cli_keygen(&station)));
    let stranger_key = stranger.join(format!("{}.key", cli_keygen(&stranger)));
    let window = |from, to| ["--valid-from", from, "--valid-to", to];
    let cases = [
        (issued(cli_issue(&station_key, &window("1600000000", "1700000000"))), "expired"),
        (issued(cli_issue(&station_key, &window("4000000000", "4000000001"))), "not_yet_valid"),
        (issued(cli_issue(&stranger_key, &window("1600000000", "4000000000"))), "unknown_key"),
    ];
    for (token, reason) in cases {
        let (code, json) = verify_json(&station, &[&token], None);
        assert_eq!((code, json["valid"].as_bool(), json["reason"].as_str()), (Some(1), Some(false), Some(reason)), "{json}");
    }
    let out = boardcheck(&["ticket", "verify", "--keys", utf8(&station), "garbage"], None);
    assert_eq!(out.status.code(), Some(1), "refused without --json too");

    let out = cli_issue(&dir.path().join("missing.key"), &window("0", "1"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.key"), "names the file: {stderr}");

    let out = boardcheck(&["ticket", "verify", "--keys", utf8(&dir.path().join("nowhere")), "BC1.AA"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = cli_issue(&station_key, &window("tomorrow", "1"));
    assert_eq!(out.status.code(), Some(2), "a bad time is a usage error: {out:?}");
    let out = cli_issue(&station_key, &window("2", "1"));
    assert_eq!(out.status.code(), Some(2), "a reversed window is an error: {out:?}");
    let out = boardcheck(&["ticket", "verify", "--keys", utf8(&station)], None);
    assert_eq!(out.status.code(), Some(2), "no token is a usage error");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
