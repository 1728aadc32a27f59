//! The service's TLS: rustls (the ring provider, as the lanes' client uses) with the
//! certificate chain and key that `station.toml` names, loaded once at start so a wrong file
//! stops the service before it listens.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor> {
    let bad = |path: &Path, reason: String| Error::Config { path: path.to_path_buf(), reason };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| bad(cert, format!("reading the TLS certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "no PEM certificate in the file".to_string()));
    }
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
