//! Minting and signing: random secrets, fingerprints and JWT access tokens.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::config::SigningAlgorithm;
use crate::error::Error;

/// First 8 hex digits of the SHA-256 of a secret: safe to log, enough to correlate.
pub(crate) fn fingerprint(secret: &str) -> String {
    hex8(secret.as_bytes())
}

/// A random URL-safe secret of 32 bytes with a readable prefix (the prefix makes leak scans easy).
///
/// The bytes come from `rand`'s thread-local CSPRNG (ChaCha, seeded and reseeded from the OS):
/// every grant mints two or three secrets, and AWS-LC's `RAND_bytes` cost about 2% of the
/// server's CPU per grant for them (the ECDSA signatures still draw their nonces from AWS-LC).
pub(crate) fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A JWS protected header (RFC 7515 §4.1), in the key order a `serde_json::Value` gave (sorted),
/// serialized without building one.
#[derive(serde::Serialize)]
struct Header<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// A JWS header or payload as JSON bytes.
fn jws_part(value: &impl serde::Serialize) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "a JWS part could not be serialized");
        Error::Signing
    })
}

/// A user code like `WDJB-MJHT` from the RFC 8628 §6.1 consonant alphabet.
pub(crate) fn user_code() -> String {
    const ALPHABET: &[u8] = b"BCDFGHJKLMNPQRSTVWXZ";
    let mut bytes = [0u8; 8];
    rand::fill(&mut bytes);
    let mut out = String::with_capacity(9);
    for (i, b) in bytes.iter().enumerate() {
        if i == 4 {
            out.push('-');
        }
        out.push(char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]));
    }
    out
}

/// The server's signing keys, generated on first use or by [`Signer::warm`].
///
/// AWS-LC seeds its RNG with CPU-jitter entropy the first time it is used, which costs about
/// 25 ms of CPU. The server therefore binds and answers first and warms the keys on a
/// background thread; a token request that comes sooner waits for that thread.
pub(crate) struct Signer {
    rng: SystemRandom,
    es256: OnceLock<Option<(EcdsaKeyPair, String)>>,
    rs256: OnceLock<Option<(RsaKeyPair, String)>>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field(
                "es256_kid",
                &self.es256.get().and_then(Option::as_ref).map(|k| &k.1),
            )
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer whose keys do not exist yet.
    pub(crate) fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            es256: OnceLock::new(),
            rs256: OnceLock::new(),
        }
    }

    /// Generates the ES256 key, and the RS256 key when `rsa`; returns the first failure.
    pub(crate) fn warm(&self, rsa: bool) -> Result<(), Error> {
        self.es256()
            .ok_or(Error::KeyGeneration { algorithm: "ES256" })?;
        if rsa {
            self.rsa()
                .ok_or(Error::KeyGeneration { algorithm: "RS256" })?;
        }
        Ok(())
    }

    fn es256(&self) -> Option<&(EcdsaKeyPair, String)> {
        self.es256
            .get_or_init(|| {
                match EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING) {
                    Ok(key) => {
                        let kid = format!("es256-{}", hex8(key.public_key().as_ref()));
                        Some((key, kid))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "ES256 key generation failed");
                        None
                    }
                }
            })
            .as_ref()
    }

    fn rsa(&self) -> Option<&(RsaKeyPair, String)> {
        self.rs256
            .get_or_init(
                || match RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048) {
                    Ok(key) => {
                        let kid = format!("rs256-{}", hex8(key.public_key().as_ref()));
                        Some((key, kid))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "RS256 key generation failed");
                        None
                    }
                },
            )
            .as_ref()
    }

    /// Signs the claims as a compact JWS typed `at+jwt` (an RFC 9068 access token).
    pub(crate) fn sign(
        &self,
        alg: SigningAlgorithm,
        claims: &impl serde::Serialize,
    ) -> Result<String, Error> {
        self.sign_typed(alg, "at+jwt", claims)
    }

    /// Signs the claims as a compact JWS with this `typ` header.
    pub(crate) fn sign_typed(
        &self,
        alg: SigningAlgorithm,
        typ: &str,
        claims: &impl serde::Serialize,
    ) -> Result<String, Error> {
        let (name, kid) = match alg {
            SigningAlgorithm::Rs256 => ("RS256", self.rsa().ok_or(Error::Signing)?.1.as_str()),
            SigningAlgorithm::Es256 => ("ES256", self.es256().ok_or(Error::Signing)?.1.as_str()),
        };
        let header = jws_part(&Header {
            alg: name,
            kid,
            typ,
        })?;
        let claims = jws_part(claims)?;
        let mut input = String::with_capacity(512);
        URL_SAFE_NO_PAD.encode_string(header, &mut input);
        input.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut input);
        let sig = match alg {
            SigningAlgorithm::Rs256 => {
                let (key, _) = self.rsa().ok_or(Error::Signing)?;
                let mut sig = vec![0u8; key.public_modulus_len()];
                key.sign(
                    &signature::RSA_PKCS1_SHA256,
                    &self.rng,
                    input.as_bytes(),
                    &mut sig,
                )
                .map_err(|e| {
                    tracing::error!(error = %e, "RS256 signing failed");
                    Error::Signing
                })?;
                sig
            }
            SigningAlgorithm::Es256 => self
                .es256()
                .ok_or(Error::Signing)?
                .0
                .sign(&self.rng, input.as_bytes())
                .map_err(|e| {
                    tracing::error!(error = %e, "ES256 signing failed");
                    Error::Signing
                })?
                .as_ref()
                .to_vec(),
        };
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(input)
    }

    /// The JWK Set (RFC 7517) with the public keys in use.
    pub(crate) fn jwks(&self, alg: SigningAlgorithm) -> Result<serde_json::Value, Error> {
        let (es256, es256_kid) = self
            .es256()
            .ok_or(Error::KeyGeneration { algorithm: "ES256" })?;
        let point = es256.public_key().as_ref();
        // An uncompressed P-256 point is 0x04 || x (32 bytes) || y (32 bytes).
        let (x, y) = if point.len() == 65 {
            (&point[1..33], &point[33..])
        } else {
            (&point[..0], &point[..0])
        };
        let mut keys = vec![serde_json::json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": es256_kid,
            "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
        })];
        let rsa = if alg == SigningAlgorithm::Rs256 {
            self.rsa()
        } else {
            self.rs256.get().and_then(Option::as_ref)
        };
        if let Some((key, kid)) = rsa {
            let public = key.public_key();
            keys.push(serde_json::json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
            }));
        }
        Ok(serde_json::json!({ "keys": keys }))
    }
}

/// First 4 bytes of the SHA-256 of `bytes`, as 8 lowercase hex digits.
fn hex8(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!(
        "{:08x}",
        u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_eight_hex_digits() {
        let fp = fingerprint("secret");
        assert_eq!(fp.len(), 8);
        assert!(fp.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn user_code_has_rfc8628_shape() {
        let code = user_code();
        assert_eq!(code.len(), 9);
        assert_eq!(code.as_bytes()[4], b'-');
    }

    #[test]
    fn es256_jwt_has_three_parts_and_64_byte_signature() {
        let signer = Signer::new();
        signer.warm(false).unwrap();
        let jwt = signer
            .sign(
                SigningAlgorithm::Es256,
                &serde_json::json!({"sub": "alice"}),
            )
            .unwrap();
        let parts: Vec<_> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 64);
    }
}
