//! Issuer keys: the SM2 signing key at the ticket office, the public keys a station trusts.
//!
//! Files (`ticket keygen` writes all three, hex text, one line):
//! - `<key-id>.key`: the 32-byte SM2 private scalar; mode 0600, stays at the ticket office.
//! - `<key-id>.pub`: the SEC1 compressed public key (33 bytes); goes to every lane.
//! - `<key-id>.pepper`: the document-number pepper ([`super::document`]); mode 0600, goes to
//!   the ticket office and to lanes that compare ID cards, never to passengers.
//!
//! The key id is derived from the public key (SM3, first 4 bytes), so a file cannot claim
//! another key's id, and loading checks that a file's name matches its key.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use sm2::dsa::signature::{Signer, Verifier};
use sm2::dsa::{Signature, SigningKey, VerifyingKey};
use sm2::elliptic_curve::sec1::ToSec1Point;
use sm2::elliptic_curve::Generate;
use sm2::SecretKey;
use sm3::{Digest, Sm3};
use zeroize::Zeroizing;

use super::document::{hash_document, Pepper};
use super::token::{self, IssueError, Signed};
use super::{Refusal, Ticket};
use crate::error::{Error, Result};
use crate::manifest::keys::{decode_secret, read_secret};

/// The SM2 distinguishing identifier: GM/T 0009's default, so other SM2 tools (GmSSL,
/// Bouncy Castle, Tongsuo) verify boardcheck's signatures without extra settings.
const SIGNER_ID: &str = "1234567812345678";

/// First 4 bytes of SM3 over the issuer's SEC1 compressed public key; written as 8 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 4]);

impl KeyId {
    fn of(key: &VerifyingKey) -> Self {
        let digest = Sm3::digest(key.to_sec1_point(true).as_bytes());
        KeyId([digest[0], digest[1], digest[2], digest[3]])
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl FromStr for KeyId {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bytes = hex::decode(s).ok().and_then(|b| <[u8; 4]>::try_from(b).ok());
        bytes.map(KeyId).ok_or_else(|| format!("'{s}' is not a key id (8 hex digits)"))
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An issuer's SM2 signing key. The secret is held as a [`SecretKey`], which wipes itself when
/// dropped; sm2's `SigningKey` does not, so one is made only for the length of a signature.
pub struct IssuerKey {
    id: KeyId,
    secret: SecretKey,
}

impl IssuerKey {
    fn from_secret(secret: SecretKey) -> Option<Self> {
        let verifying = VerifyingKey::new(SIGNER_ID, secret.public_key()).ok()?;
        Some(IssuerKey { id: KeyId::of(&verifying), secret })
    }

    /// Reads a `.key` file: 64 hex digits.
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_secret(path, "issuer private key")?;
        let key = decode_secret(&text).and_then(|secret| SecretKey::from_slice(&secret[..]).ok()).and_then(Self::from_secret);
        key.ok_or_else(|| Error::Config { path: path.into(), reason: "not an SM2 private key (expected 64 hex digits)".into() })
    }

    pub fn key_id(&self) -> KeyId {
        self.id
    }

    /// Signs `ticket` into its text form. `ticket.issuer` must be this key's id, so that a
    /// verified ticket compares equal to the one issued.
    pub fn issue(&self, ticket: &Ticket) -> std::result::Result<String, IssueError> {
        if ticket.issuer != self.id {
            return Err(IssueError { field: "issuer", reason: format!("is {}, but the key is {}", ticket.issuer, self.id) });
        }
        let mut bytes = token::payload(ticket)?;
        let signing = SigningKey::new(SIGNER_ID, &self.secret)
            .map_err(|e| IssueError { field: "issuer", reason: format!("the SM2 key does not sign: {e}") })?;
        // RFC 6979 nonces: signing needs no random source and cannot leak the key through one.
        let signature: Signature = signing.sign(&bytes);
        bytes.extend_from_slice(&signature.to_bytes());
        Ok(token::to_text(&bytes))
    }
}

/// Generates an issuer key and its pepper and writes `DIR/<id>.key`, `.pub` and `.pepper`,
/// refusing to overwrite anything.
pub fn keygen(dir: &Path) -> Result<KeyId> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let secret = SecretKey::try_generate().map_err(|e| Error::io(dir, std::io::Error::other(format!("no system randomness: {e}"))))?;
    let public = secret.public_key().to_sec1_point(true);
    let key = IssuerKey::from_secret(secret).ok_or_else(|| Error::io(dir, std::io::Error::other("SM2 key generation failed")))?;
    let path = |ext: &str| dir.join(format!("{}.{ext}", key.id));
    write_new(&path("key"), &Zeroizing::new(hex::encode(key.secret.to_bytes())), true)?;
    write_new(&path("pub"), &hex::encode(public.as_bytes()), false)?;
    write_new(&path("pepper"), &Pepper::generate().to_hex(), true)?;
    Ok(key.id)
}

fn write_new(path: &Path, line: &str, secret: bool) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    if secret {
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    writeln!(file, "{line}").map_err(|e| Error::io(path, e))
}

/// The issuers a station trusts, by key id, each with its pepper where the lane has it.
#[derive(Default)]
pub struct IssuerKeys {
    keys: HashMap<KeyId, Issuer>,
}

struct Issuer {
    verifying: VerifyingKey,
    pepper: Option<Pepper>,
}

/// The TOML form: `[[issuer]]` tables with `public_key` and optionally `pepper`, hex.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    issuer: Vec<IssuerEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuerEntry {
    public_key: String,
    pepper: Option<Zeroizing<String>>,
}

impl IssuerKeys {
    /// Loads a directory of `<key-id>.pub` files (with `<key-id>.pepper` beside them where
    /// present) or a TOML file of `[[issuer]]` entries. Finding no key is an error: every
    /// ticket would be refused.
    pub fn load(path: &Path) -> Result<Self> {
        let keys = if path.is_dir() { Self::load_dir(path)? } else { Self::load_toml(path)? };
        if keys.keys.is_empty() {
            return Err(config(path, "no issuer public keys (expected <key-id>.pub files or [[issuer]] entries)"));
        }
        Ok(keys)
    }

    fn load_dir(dir: &Path) -> Result<Self> {
        let mut keys = IssuerKeys::default();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let path = entry.map_err(|e| Error::io(dir, e))?.path();
            if path.extension().is_none_or(|ext| ext != "pub") {
                continue;
            }
            let public_key = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let pepper_path = path.with_extension("pepper");
            let pepper = pepper_path.exists().then(|| Pepper::load(&pepper_path)).transpose()?;
            let id = keys.add(&path, public_key.trim(), pepper)?;
            if path.file_stem() != Some(OsStr::new(&id.to_string())) {
                return Err(config(&path, format!("holds the public key of issuer {id}; name it {id}.pub")));
            }
        }
        Ok(keys)
    }

    fn load_toml(path: &Path) -> Result<Self> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
        let file: KeysFile = toml::from_str(&text).map_err(|e| config(path, e.to_string()))?;
        if file.issuer.iter().any(|entry| entry.pepper.is_some()) {
            // Peppers make it a secret file, as a `.pepper` file is.
            crate::manifest::keys::check_private(path, "issuer keys file with peppers")?;
        }
        let mut keys = IssuerKeys::default();
        for entry in file.issuer {
            let pepper = match entry.pepper {
                Some(hex) => Some(Pepper::from_hex(&hex).ok_or_else(|| config(path, "a pepper is not 64 hex digits"))?),
                None => None,
            };
            keys.add(path, &entry.public_key, pepper)?;
        }
        Ok(keys)
    }

    fn add(&mut self, origin: &Path, public_hex: &str, pepper: Option<Pepper>) -> Result<KeyId> {
        let bytes = hex::decode(public_hex).map_err(|_| config(origin, "public key is not hex"))?;
        let verifying = VerifyingKey::from_sec1_bytes(SIGNER_ID, &bytes).map_err(|_| config(origin, "not an SM2 public key"))?;
        let id = KeyId::of(&verifying);
        if self.keys.insert(id, Issuer { verifying, pepper }).is_some() {
            return Err(config(origin, format!("issuer key {id} is listed twice")));
        }
        Ok(id)
    }

    pub(crate) fn check_signature(&self, signed: &Signed<'_>) -> std::result::Result<(), Refusal> {
        let issuer = self.keys.get(&signed.ticket.issuer).ok_or(Refusal::UnknownKey(signed.ticket.issuer))?;
        let signature = Signature::from_slice(signed.signature).map_err(|_| Refusal::BadSignature)?;
        issuer.verifying.verify(signed.message, &signature).map_err(|_| Refusal::BadSignature)
    }

    /// Whether `ticket` belongs to the holder of ID number `number` (read from the card at
    /// the lane). `None` when the ticket names no document or the lane lacks its issuer's pepper.
    pub fn document_matches(&self, ticket: &Ticket, number: &str) -> Option<bool> {
        let pepper = self.keys.get(&ticket.issuer)?.pepper.as_ref()?;
        Some(hash_document(pepper, number) == ticket.document_hash?)
    }
}

fn config(path: &Path, reason: impl Into<String>) -> Error {
    Error::Config { path: PathBuf::from(path), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn secret_files_open_to_others_are_refused_on_load() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = keygen(dir.path()).expect("keygen");
        let key = dir.path().join(format!("{id}.key"));
        let pepper = dir.path().join(format!("{id}.pepper"));
        assert!(IssuerKey::load(&key).is_ok());
        assert!(IssuerKeys::load(dir.path()).is_ok());
        for secret in [&key, &pepper] {
            std::fs::set_permissions(secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        let err = IssuerKey::load(&key).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("issuer private key") && err.contains("chmod 600"), "{err}");
        let err = IssuerKeys::load(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("pepper") && err.contains("chmod 600"), "{err}");
    }

    #[test]
    fn an_issuers_toml_holding_peppers_is_a_secret_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = keygen(dir.path()).expect("keygen");
        let line = |ext: &str| std::fs::read_to_string(dir.path().join(format!("{id}.{ext}"))).expect("reads").trim().to_owned();
        let (public, pepper) = (line("pub"), line("pepper"));
        let plain = dir.path().join("public.toml");
        std::fs::write(&plain, format!("[[issuer]]\npublic_key = \"{public}\"\n")).expect("writes");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(IssuerKeys::load(&plain).is_ok(), "public keys alone may be readable by all");
        let peppered = dir.path().join("peppered.toml");
        std::fs::write(&peppered, format!("[[issuer]]\npublic_key = \"{public}\"\npepper = \"{pepper}\"\n")).expect("writes");
        std::fs::set_permissions(&peppered, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = IssuerKeys::load(&peppered).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("peppered.toml") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&peppered, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(IssuerKeys::load(&peppered).is_ok());
    }

    #[test]
    fn the_signing_secret_is_held_where_it_is_wiped_on_drop() {
        fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        // `IssuerKey::secret`'s type; sm2's `SigningKey` is not, so it is never kept.
        wiped_on_drop::<SecretKey>();
        let dir = tempfile::tempdir().expect("tempdir");
        let id = keygen(dir.path()).expect("keygen");
        let key = IssuerKey::load(&dir.path().join(format!("{id}.key"))).expect("loads");
        assert_eq!(key.key_id(), id, "the id is the public key's, as before");
    }
}
