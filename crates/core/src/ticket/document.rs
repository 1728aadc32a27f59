//! The passenger's ID number as a ticket carries it: a keyed hash, never the number.
//!
//! HMAC-SM3 under the issuer's 32-byte secret pepper, cut to 16 bytes. Keyed, because ID
//! numbers are too few to hide behind a plain or salted hash (≈2³⁷ plausible values); SM3,
//! to stay within the national algorithms the signature already uses; 16 bytes, because the
//! hash only has to tell one passenger's number from another's (a chance match is 2⁻¹²⁸)
//! and every byte grows the QR code.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use serde::{Serialize, Serializer};
use sm3::Sm3;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// The issuer's secret for [`hash_document`]; `ticket keygen` writes it as `<key-id>.pepper`.
/// Wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Pepper([u8; 32]);

impl Pepper {
    pub fn generate() -> Self {
        let mut bytes = [0; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Pepper(bytes)
    }

    /// Reads a pepper file: 64 hex digits.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::manifest::keys::read_secret(path, "document-number pepper")?;
        Self::from_hex(&text).ok_or_else(|| Error::Config { path: path.into(), reason: "not a pepper (expected 64 hex digits)".into() })
    }

    /// 64 hex digits (surrounding whitespace ignored).
    pub fn from_hex(hex: &str) -> Option<Self> {
        crate::manifest::keys::decode_secret(hex).map(|secret| Pepper(*secret))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }
}

/// The hash of an ID number a ticket carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentHash(pub [u8; 16]);

impl Serialize for DocumentHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(self.0))
    }
}

/// Hashes an ID number. Spaces are dropped and letters upper-cased first, so a check digit
/// typed as `x` or a number read with spaces hashes as the card's own.
pub fn hash_document(pepper: &Pepper, number: &str) -> DocumentHash {
    let normalised: String = number.chars().filter(|c| !c.is_whitespace()).flat_map(char::to_uppercase).collect();
    let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(&pepper.0).expect("HMAC takes a key of any length");
    mac.update(normalised.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut hash = [0; 16];
    hash.copy_from_slice(&tag[..16]);
    DocumentHash(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_number_same_hash_and_the_pepper_matters() {
        let pepper = Pepper([1; 32]);
        let card = hash_document(&pepper, "11010519491231002X");
        assert_eq!(hash_document(&pepper, " 110105 19491231 002x\n"), card);
        assert_ne!(hash_document(&pepper, "110105194912310021"), card);
        assert_ne!(hash_document(&Pepper([2; 32]), "11010519491231002X"), card);
    }

    #[test]
    fn pepper_file_must_hold_32_hex_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.pepper");
        std::fs::write(&path, "abcd\n").expect("writes");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod");
        let err = Pepper::load(&path).err().expect("refused").to_string();
        assert!(err.contains("a.pepper") && err.contains("hex"), "{err}");
        std::fs::write(&path, format!("{}\n", Pepper([3; 32]).to_hex().as_str())).expect("writes");
        assert_eq!(Pepper::load(&path).expect("loads").0, [3; 32]);
    }

    #[test]
    fn a_pepper_is_wiped_when_dropped() {
        fn wiped_on_drop<T: ZeroizeOnDrop>() {}
        wiped_on_drop::<Pepper>();
        let mut pepper = Pepper([7; 32]);
        pepper.zeroize();
        assert_eq!(pepper.0, [0; 32]);
    }
}
