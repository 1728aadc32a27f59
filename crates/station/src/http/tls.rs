//! The service's TLS: rustls (the ring provider, as the lanes' client uses) with the
//! certificate chain and key that `station.toml` names, loaded once at start so a wrong file
//! (or a key that group or others may read) stops the service before it listens.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};
use boardcheck_core::manifest::keys::check_private;

pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let bad = |path: &Path, reason: String| Error::Config { path: path.to_path_buf(), reason };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| bad(cert, format!("reading the TLS certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "no PEM certificate in the file".to_string()));
    }
    check_private(key, "TLS private key")?;
    let private = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, format!("reading the TLS private key: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| bad(cert, format!("the certificate and key do not make a TLS identity: {e}")))?;
    // HTTP/1.1 only: hyper's header-read timeout, which closes stalled and idle connections,
    // is an HTTP/1 setting.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_key_that_others_may_read_is_refused_naming_the_file_and_the_fix() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a certificate");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        std::fs::write(&cert, made.cert.pem()).expect("writes");
        std::fs::write(&key, made.signing_key.serialize_pem()).expect("writes");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = acceptor(&cert, &key).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("key.pem") && err.contains("TLS private key") && err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(acceptor(&cert, &key).is_ok());
    }
}
