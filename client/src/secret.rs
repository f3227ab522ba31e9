//! Secret values (tokens, codes, verifiers, passwords, keys) and a redacting URL wrapper.
//!
//! A [`Secret`] has a redacted `Debug`, no `Display`, is zeroized on drop and must be read
//! through [`Secret::expose`], so a secret can only reach output by a deliberate call.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A secret string: redacted `Debug`, no `Display`, zeroized on drop.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The secret value; every call site is a place where the secret leaves its wrapper.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// At most 8 hex characters of the SHA-256 of the value: enough to tell two tokens apart,
    /// useless for recovering either.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.expose().as_bytes())
    }

    /// True when both secrets hold the same value.
    pub fn same_as(&self, other: &Secret) -> bool {
        self.expose() == other.expose()
    }
}

/// The first 8 hex characters of the SHA-256 of `bytes`.
pub(crate) fn fingerprint(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes)[..4])
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.same_as(other)
    }
}

// Serialization exists only for the encrypted store's plaintext, which is held in a zeroizing
// buffer and never written anywhere unencrypted.
impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}

/// Displays a URL with the values of secret-bearing query parameters replaced by `[redacted]`.
pub(crate) struct RedactedUrl<'a>(pub &'a url::Url);

/// Query parameters whose values are never shown.
const SECRET_PARAMS: &[&str] = &[
    "code",
    "state",
    "code_verifier",
    "access_token",
    "refresh_token",
    "token",
    "password",
    "device_code",
    "client_secret",
];

impl fmt::Display for RedactedUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut url = self.0.clone();
        if url.query().is_some() {
            let pairs: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| {
                    let v = if SECRET_PARAMS.contains(&k.as_ref()) {
                        "[redacted]".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            url.query_pairs_mut().clear().extend_pairs(pairs);
        }
        if url.password().is_some() {
            // Setting a password only fails for cannot-be-a-base URLs, which have none.
            url.set_password(Some("redacted"))
                .expect("a URL with a password can hold one");
        }
        write!(f, "{url}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("tok-very-secret");
        assert!(!format!("{s:?}").contains("very"));
    }

    #[test]
    fn fingerprint_is_eight_hex_chars() {
        let f = Secret::new("abc").fingerprint();
        assert_eq!(f.len(), 8);
        assert_eq!(f, "ba7816bf");
    }

    #[test]
    fn redacted_url_hides_code_and_state() {
        let u = url::Url::parse("http://127.0.0.1:1/cb?code=SECRET1&state=SECRET2&x=1").unwrap();
        let shown = RedactedUrl(&u).to_string();
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("x=1"));
    }
}
