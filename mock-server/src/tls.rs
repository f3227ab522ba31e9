//! HTTPS for `serve --tls`: a certificate authority made in process for one run, a leaf
//! certificate it signs for the server's names, or a certificate and key brought from files.
//!
//! Small on purpose and free of the rest of the mock, so that other code (an intercepting
//! proxy) can mint certificates for any host name with the same CA:
//! [`CertificateAuthority::generate`], [`CertificateAuthority::issue`],
//! [`CertificateAuthority::pem`], [`server_config`], [`load_pem_files`]. Every key is ECDSA
//! P-256 from aws-lc-rs, the crypto provider already used by rustls here.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Why a certificate could not be made, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rcgen could not generate a key or sign a certificate.
    #[error("generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read or holds nothing usable.
    #[error("read {what} from {path}: {reason}")]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the certificate and key (e.g. a key that does not match).
    #[error("use the certificate and key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A certificate authority made for one run. Its key never leaves the process.
pub struct CertificateAuthority {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .finish_non_exhaustive()
    }
}

/// A leaf certificate and its private key, ready for [`server_config`].
pub struct Leaf {
    /// The certificate chain: the leaf, then the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Generates a fresh CA (`cliauth-mock test CA`), valid for a year-ish (rcgen's default
    /// validity) and allowed to sign server certificates only.
    pub fn generate() -> Result<Self, TlsError> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "cliauth-mock test CA");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: pem_certificate(cert.der()),
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate in PEM, for a client's trust store (`curl --cacert`).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// Issues a server certificate for these DNS names or IP addresses (subject alternative
    /// names), e.g. `["127.0.0.1", "localhost"]`.
    pub fn issue(&self, names: &[String]) -> Result<Leaf, TlsError> {
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut name = DistinguishedName::new();
        name.push(
            DnType::CommonName,
            names.first().map_or("cliauth-mock", String::as_str),
        );
        params.distinguished_name = name;
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let ca =
            CertificateDer::from_pem_slice(self.pem.as_bytes()).map_err(|e| TlsError::Pem {
                what: "certificate",
                path: "<the generated CA>".to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Leaf {
            chain: vec![cert.der().clone(), ca],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        })
    }
}

/// PEM text of a DER certificate (RFC 7468), written here so that rcgen's `pem` feature, a
/// second copy of the `pem` crate beside jsonwebtoken's, is not needed.
fn pem_certificate(der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// A rustls server configuration (HTTP/1.1 only) for this certificate chain and key.
pub fn server_config(leaf: Leaf) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(leaf.chain, leaf.key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads a PEM certificate chain and a PEM private key (`--tls-cert`, `--tls-key`).
pub fn load_pem_files(cert: &Path, key: &Path) -> Result<Leaf, TlsError> {
    fn pem_error<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl Fn(rustls::pki_types::pem::Error) -> TlsError + 'a {
        move |e| TlsError::Pem {
            what,
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(pem_error("certificate", cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error("certificate", cert))?;
    if chain.is_empty() {
        return Err(TlsError::Pem {
            what: "certificate",
            path: cert.display().to_string(),
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem_error("private key", key))?;
    Ok(Leaf { chain, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_ca_issues_a_leaf_rustls_accepts() {
        let ca = CertificateAuthority::generate().unwrap();
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let leaf = ca
            .issue(&["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
        assert_eq!(leaf.chain.len(), 2);
        assert!(server_config(leaf).is_ok());
        assert!(!format!("{ca:?}").contains("PRIVATE"));
    }

    #[test]
    fn missing_pem_files_name_the_file() {
        let err = load_pem_files(
            Path::new("/nonexistent/c.pem"),
            Path::new("/nonexistent/k.pem"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/c.pem"), "{err}");
    }
}
