//! The station secret: what makes the manifest database useless on its own.
//!
//! One 32-byte secret per station, in a key file (64 hex digits, mode 0600) kept apart from the
//! database and its backups. Three sub-keys are derived from it with HMAC-SHA256 under fixed
//! labels, so no use can be turned against another:
//! - templates are encrypted with AES-256-GCM, the ticket id as associated data, so a template
//!   copied onto another ticket's row does not decrypt (nobody can board on someone else's face);
//! - ID photos (shown to staff at a manual check) likewise, under their own key, so a template
//!   never decrypts as a photo nor a photo as a template;
//! - document numbers are stored as a keyed hash: ID numbers are too few (≈2³⁷ plausible values)
//!   for a plain or salted hash to hide them, a keyed one needs the key file as well.
//!
//! Losing the key file loses the templates and photos (re-import and re-enrol from the export)
//! and the number look-ups; it never exposes them.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, Nonce, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

const TEMPLATE_LABEL: &[u8] = b"boardcheck template encryption v1";
const DOCUMENT_LABEL: &[u8] = b"boardcheck document hash v1";
const PHOTO_LABEL: &[u8] = b"boardcheck photo encryption v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The sub-keys derived from one station secret, wiped from memory when dropped.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct StationKeys {
    #[zeroize(skip)]
    path: PathBuf,
    template_key: [u8; 32],
    document_key: [u8; 32],
    photo_key: [u8; 32],
}

impl fmt::Debug for StationKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StationKeys").field("path", &self.path).finish_non_exhaustive()
    }
}

impl StationKeys {
    /// Loads the station secret from `path`, creating it (and its folder) on first use.
    ///
    /// Refuses a file that group or others may read or write, or that is not 32 bytes of hex.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if !path.exists() {
            create_key_file(path)?;
        }
        let text = read_secret(path, "station key")?;
        let secret = decode_secret(&text).ok_or_else(|| Error::Config {
            path: path.into(),
            reason: "not a station key (expected 64 hex digits: a 32-byte secret)".into(),
        })?;
        Ok(Self::from_secret(path, &secret))
    }

    fn from_secret(path: &Path, secret: &[u8; 32]) -> Self {
        StationKeys {
            path: path.into(),
            template_key: hmac_sha256(secret, TEMPLATE_LABEL),
            document_key: hmac_sha256(secret, DOCUMENT_LABEL),
            photo_key: hmac_sha256(secret, PHOTO_LABEL),
        }
    }

    /// The key file these keys came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Encrypts a template for `ticket_id`: a random 96-bit nonce, then ciphertext and tag.
    pub fn encrypt_template(&self, ticket_id: &str, template: &[f32]) -> Vec<u8> {
        let plain: Vec<u8> = template.iter().flat_map(|v| v.to_le_bytes()).collect();
        seal(&self.template_key, ticket_id, &plain)
    }

    /// Decrypts what [`Self::encrypt_template`] made for the same ticket under the same key.
    pub fn decrypt_template(&self, ticket_id: &str, blob: &[u8]) -> Result<Vec<f32>> {
        let plain = open(&self.template_key, ticket_id, blob).map_err(|why| self.refuse("template", ticket_id, why))?;
        if plain.len() % 4 != 0 {
            return Err(self.refuse("template", ticket_id, "decrypted length is not a whole number of f32 values"));
        }
        Ok(plain.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    /// Encrypts a ticket's ID photo (JPEG bytes), as templates are but under the photo key.
    pub fn encrypt_photo(&self, ticket_id: &str, jpeg: &[u8]) -> Vec<u8> {
        seal(&self.photo_key, ticket_id, jpeg)
    }

    /// Decrypts what [`Self::encrypt_photo`] made for the same ticket under the same key.
    pub fn decrypt_photo(&self, ticket_id: &str, blob: &[u8]) -> Result<Vec<u8>> {
        open(&self.photo_key, ticket_id, blob).map_err(|why| self.refuse("photo", ticket_id, why))
    }

    fn refuse(&self, what: &str, ticket_id: &str, why: &str) -> Error {
        Error::Config { path: self.path.clone(), reason: format!("{what} of ticket {ticket_id}: {why}") }
    }

    /// The keyed hash of a document number, hex; whitespace dropped and letters upper-cased
    /// first, so `11010519491231002x` and ` 110105 19491231 002X` hash alike.
    pub fn document_hash(&self, number: &str) -> String {
        hex::encode(hmac_sha256(&self.document_key, normalise_document(number).as_bytes()))
    }
}

/// A secret file's text without surrounding whitespace, once [`check_private`] allows it; wiped
/// from memory when dropped.
pub fn read_secret(path: &Path, what: &str) -> Result<Zeroizing<String>> {
    check_private(path, what)?;
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    Ok(Zeroizing::new(text.trim().to_string()))
}

/// 32 bytes from a secret file's 64 hex digits (surrounding whitespace ignored), every copy
/// wiped when dropped.
pub fn decode_secret(text: &str) -> Option<Zeroizing<[u8; 32]>> {
    let mut secret = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(text.trim(), &mut secret[..]).ok()?;
    Some(secret)
}

/// A document number as it is hashed and masked: no whitespace, upper case.
pub fn normalise_document(number: &str) -> String {
    number.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect()
}

/// AES-256-GCM under `key` with the ticket id as associated data (so a blob copied onto
/// another ticket's row does not decrypt): a random 96-bit nonce, then ciphertext and tag.
fn seal(key: &[u8; 32], ticket_id: &str, plain: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let sealed = cipher(key)
        .encrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg: plain, aad: ticket_id.as_bytes() })
        .expect("AES-GCM encrypts any message shorter than 64 GiB");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    blob
}

/// Opens what [`seal`] made under the same key for the same ticket; the error says why not.
fn open(key: &[u8; 32], ticket_id: &str, blob: &[u8]) -> std::result::Result<Vec<u8>, &'static str> {
    if blob.len() < NONCE_LEN + TAG_LEN {
        return Err("too short to be encrypted data");
    }
    let (nonce, sealed) = blob.split_at(NONCE_LEN);
    let nonce = Nonce::<Aes256Gcm>::try_from(nonce).map_err(|_| "bad nonce")?;
    cipher(key)
        .decrypt(&nonce, Payload { msg: sealed, aad: ticket_id.as_bytes() })
        .map_err(|_| "does not decrypt with this station key (another station's key, or a row altered or copied)")
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(key).expect("AES-256 takes a 32-byte key")
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// Writes a fresh secret so that the file appears whole or not at all: written and synced under
/// a temporary name, then hard-linked into place (which fails if another process won the race,
/// in which case its key is the one kept).
fn create_key_file(path: &Path) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))?;

    let mut secret = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(&mut secret[..]);
    let tmp = dir.join(format!(".{}.{}.tmp", path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(), std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut file| {
        file.write_all(Zeroizing::new(hex::encode(&secret[..])).as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()
    });
    let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|e| Error::io(path, e))?;
    // The new name must survive a power cut too, or templates would outlive their key.
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| Error::io(dir, e))
}

/// Refuses a secret file (`what`: the station key, an issuer key, a pepper, a lane token, the
/// service's TLS key) that group or others may read or write: a copied or carelessly created
/// file must not be used as if safe.
#[cfg(unix)]
pub fn check_private(path: &Path, what: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.permissions().mode();
    if mode & 0o066 != 0 {
        return Err(Error::Config {
            path: path.into(),
            reason: format!("{what} is readable or writable by group or others (mode {:o}); chmod 600 it", mode & 0o777),
        });
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check_private(_path: &Path, _what: &str) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(byte: u8) -> StationKeys {
        StationKeys::from_secret(Path::new("test.key"), &[byte; 32])
    }

    #[test]
    fn template_round_trips() {
        let keys = keys(1);
        let template: Vec<f32> = (0..128).map(|i| i as f32 / 100.0 - 0.5).collect();
        let blob = keys.encrypt_template("T1", &template);
        assert_eq!(blob.len(), NONCE_LEN + template.len() * 4 + TAG_LEN);
        assert_eq!(keys.decrypt_template("T1", &blob).expect("decrypts"), template);
        assert_ne!(keys.encrypt_template("T1", &template), blob, "a fresh nonce every time");
    }

    #[test]
    fn template_of_another_ticket_or_tampered_or_other_key_fails() {
        let station = keys(1);
        let blob = station.encrypt_template("T1", &[0.25; 16]);
        let err = station.decrypt_template("T2", &blob).expect_err("bound to T1").to_string();
        assert!(err.contains("ticket T2") && err.contains("test.key"), "{err}");
        for i in [0, NONCE_LEN, blob.len() - 1] {
            let mut tampered = blob.clone();
            tampered[i] ^= 1;
            assert!(station.decrypt_template("T1", &tampered).is_err(), "byte {i} altered");
        }
        assert!(keys(2).decrypt_template("T1", &blob).is_err(), "another station's key");
        assert!(station.decrypt_template("T1", &blob[..10]).is_err());
    }

    #[test]
    fn photo_round_trips_and_is_no_template() {
        let keys = keys(1);
        let jpeg = b"\xFF\xD8 not really a jpeg \xFF\xD9".to_vec();
        let blob = keys.encrypt_photo("T1", &jpeg);
        assert_eq!(keys.decrypt_photo("T1", &blob).expect("decrypts"), jpeg);
        let err = keys.decrypt_photo("T2", &blob).expect_err("bound to T1").to_string();
        assert!(err.contains("photo of ticket T2"), "{err}");
        assert!(keys.decrypt_template("T1", &blob).is_err(), "a photo never decrypts as a template");
        let template = keys.encrypt_template("T1", &[0.5; 8]);
        assert!(keys.decrypt_photo("T1", &template).is_err(), "nor a template as a photo");
    }

    #[test]
    fn document_hash_is_keyed_and_normalised() {
        let a = keys(1);
        let hash = a.document_hash("11010519491231002X");
        assert_eq!(hash.len(), 64);
        assert_eq!(a.document_hash(" 110105 19491231002x\n"), hash);
        assert_ne!(a.document_hash("110105194912310021"), hash);
        assert_ne!(keys(2).document_hash("11010519491231002X"), hash);
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station").join("station.key");
        let created = StationKeys::load_or_create(&path).expect("created");
        let again = StationKeys::load_or_create(&path).expect("reloaded");
        assert_eq!(created.document_hash("E1234567"), again.document_hash("E1234567"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(path.parent().expect("dir")).expect("lists").count(), 1, "no temporary file left");
    }

    #[cfg(unix)]
    #[test]
    fn open_or_malformed_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.key");
        StationKeys::load_or_create(&path).expect("created");
        for mode in [0o640, 0o604, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let err = StationKeys::load_or_create(&path).expect_err("refused").to_string();
            assert!(err.contains("station.key") && err.contains("group or others"), "{err}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        std::fs::write(&path, "abcd\n").expect("writes");
        let err = StationKeys::load_or_create(&path).expect_err("refused").to_string();
        assert!(err.contains("station.key") && err.contains("64 hex digits"), "{err}");
    }

    #[test]
    fn station_keys_are_wiped_on_drop() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<StationKeys>();
        let mut station = keys(1);
        station.zeroize();
        assert_eq!((station.template_key, station.document_key, station.photo_key), ([0; 32], [0; 32], [0; 32]));
        assert!(decode_secret(&"ab".repeat(32)).is_some_and(|s| *s == [0xab; 32]));
        assert!(decode_secret(&"ab".repeat(31)).is_none() && decode_secret(&"zz".repeat(32)).is_none());
    }
}
