//! Encryption of the credentials file: AES-256-GCM with a fresh random nonce per write and
//! associated data binding the format version and the file's purpose, under a key that lives in
//! a separate 0600 key file (random, or derived from `CLIAUTH_PASSPHRASE` with Argon2id).

use std::fs;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use super::fsutil;
use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::secret::{Secret, fingerprint, hex};

/// First bytes of every credentials file; the last byte is the format version.
pub(crate) const MAGIC: &[u8; 8] = b"CLIAUTH\x01";
/// Associated data: binds the ciphertext to this format version and purpose, so a file
/// encrypted for another purpose or version under the same key never decrypts as credentials.
const AAD: &[u8] = b"cliauth/v1/credentials";
const NONCE_LEN: usize = 12;
const KEY_LEN: usize = 32;
const KEY_FILE_HEADER: &str = "cliauth-key v1";
/// Argon2id parameters (OWASP's second recommended set: 19 MiB, 2 passes, 1 lane).
const ARGON2_M_KIB: u32 = 19 * 1024;
const ARGON2_T: u32 = 2;
const ARGON2_P: u32 = 1;
/// How long a passphrase-derived key handed to peers through the runtime folder stays usable.
const HANDOFF_TTL_SECS: u64 = 300;

/// A 256-bit store key, zeroized on drop.
pub(crate) struct StoreKey(Zeroizing<[u8; KEY_LEN]>);

#[cfg(fuzzing)]
impl StoreKey {
    /// A fixed key for the fuzz targets.
    pub(crate) fn fixed() -> StoreKey {
        StoreKey(Zeroizing::new([7; KEY_LEN]))
    }
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreKey([redacted])")
    }
}

/// Why a ciphertext could not be opened.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Not a cliauth credentials file (or an unknown version).
    Format(&'static str),
    /// Authentication failed: wrong key or modified bytes.
    Auth,
}

impl std::fmt::Display for OpenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpenError::Format(why) => f.write_str(why),
            OpenError::Auth => {
                f.write_str("decryption failed: the file was modified or the key does not match")
            }
        }
    }
}

/// Encrypts `plaintext` into `MAGIC || nonce || ciphertext+tag` with a fresh random nonce.
pub(crate) fn seal(key: &StoreKey, plaintext: &[u8]) -> Result<Vec<u8>> {
    let cipher = Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::from(*key.0));
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    let nonce = Nonce::from(nonce);
    let ct = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: AAD,
            },
        )
        .map_err(|e| Error::Internal(format!("encryption failed: {e}")))?;
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ct.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts a file produced by [`seal`].
pub(crate) fn open(
    key: &StoreKey,
    data: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, OpenError> {
    let Some(rest) = data.strip_prefix(MAGIC.as_slice()) else {
        return Err(OpenError::Format("not a cliauth v1 credentials file"));
    };
    if rest.len() < NONCE_LEN + 16 {
        return Err(OpenError::Format("the file is truncated"));
    }
    let (nonce_bytes, ct) = rest.split_at(NONCE_LEN);
    let mut nonce = [0u8; NONCE_LEN];
    // `split_at(NONCE_LEN)` yields exactly NONCE_LEN bytes, so the lengths always match.
    nonce.copy_from_slice(nonce_bytes);
    let cipher = Aes256Gcm::new(&aes_gcm::Key::<Aes256Gcm>::from(*key.0));
    cipher
        .decrypt(&Nonce::from(nonce), Payload { msg: ct, aad: AAD })
        .map(Zeroizing::new)
        // The AEAD error is deliberately opaque (it carries no detail to keep).
        .map_err(|aes_gcm::Error| OpenError::Auth)
}

/// How the key file says the key is obtained.
pub(crate) enum KeySpec {
    Random(StoreKey),
    /// The salt, and a check value of the derived key that tells a wrong passphrase apart from
    /// a damaged credentials file.
    Argon2id {
        salt: [u8; 16],
        check: [u8; 8],
    },
}

/// First 8 bytes of SHA-256 over a label and the key. It confirms a derived key without
/// revealing it; it allows no faster passphrase guessing than the encrypted store already does
/// (every guess still costs an Argon2id derivation).
fn key_check(key: &StoreKey) -> [u8; 8] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"cliauth/v1/key-check");
    h.update(key.0.as_slice());
    let d = h.finalize();
    let mut out = [0u8; 8];
    out.copy_from_slice(&d[..8]);
    out
}

/// The key file's text, without following a link; `None` when it does not exist. Bytes that
/// are not UTF-8 are a bad key file (not a read failure: the disk is fine, the content is not).
fn read_key_text(key_path: &Path) -> Result<Option<Zeroizing<String>>> {
    let Some(bytes) = fsutil::read_nofollow(key_path)? else {
        return Ok(None);
    };
    match String::from_utf8(bytes) {
        Ok(t) => Ok(Some(Zeroizing::new(t))),
        Err(e) => {
            // The bytes may be key material: wiped when this goes out of scope.
            let _wiped = Zeroizing::new(e.into_bytes());
            Err(Error::BadKeyFile {
                path: key_path.to_owned(),
                reason: "it is not valid UTF-8 text".into(),
            })
        }
    }
}

/// Loads the store key; `None` when the key file does not exist.
pub(crate) fn load_key(
    key_path: &Path,
    passphrase: Option<&Secret>,
    runtime_dir: Option<&Path>,
) -> Result<Option<StoreKey>> {
    let Some(text) = read_key_text(key_path)? else {
        return Ok(None);
    };
    fsutil::check_private(key_path, 0o600)?;
    match parse_key_file(key_path, &text)? {
        KeySpec::Random(k) => Ok(Some(k)),
        KeySpec::Argon2id { salt, check } => {
            let pass = passphrase.ok_or(Error::PassphraseRequired)?;
            Ok(Some(passphrase_key(
                key_path,
                pass,
                &salt,
                check,
                runtime_dir,
            )?))
        }
    }
}

/// Creates the key file (random, or Argon2id salt when a passphrase is set) unless it exists,
/// then loads it. Creation is atomic: the complete file is linked into place, so a concurrent
/// creator or a crash never leaves a half-written key file.
pub(crate) fn load_or_create_key(
    dir: &Path,
    key_path: &Path,
    passphrase: Option<&Secret>,
    runtime_dir: Option<&Path>,
) -> Result<StoreKey> {
    if let Some(k) = load_key(key_path, passphrase, runtime_dir)? {
        return Ok(k);
    }
    let body = Zeroizing::new(if let Some(pass) = passphrase {
        let mut salt = [0u8; 16];
        rand::fill(&mut salt);
        let check = key_check(&derive(pass, &salt)?);
        format!(
            "{KEY_FILE_HEADER} argon2id m={ARGON2_M_KIB},t={ARGON2_T},p={ARGON2_P} {} {}\n",
            hex(&salt),
            hex(&check)
        )
    } else {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        rand::fill(key.as_mut_slice());
        format!("{KEY_FILE_HEADER} random {}\n", hex(key.as_slice()))
    });
    let tmp = fsutil::temp_path(dir, "key");
    fsutil::write_new_private(&tmp, body.as_bytes())?;
    let linked = fs::hard_link(&tmp, key_path);
    fsutil::remove_quietly(&tmp);
    match linked {
        Ok(()) => fsutil::sync_dir(dir)?,
        // Another process created the key first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(format!("create {}", key_path.display()), e)),
    }
    load_key(key_path, passphrase, runtime_dir)?.ok_or_else(|| Error::BadKeyFile {
        path: key_path.to_owned(),
        reason: "it vanished right after it was created".into(),
    })
}

pub(crate) fn parse_key_file(path: &Path, text: &str) -> Result<KeySpec> {
    let bad = |reason: &str| Error::BadKeyFile {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = text
        .trim_end()
        .strip_prefix(KEY_FILE_HEADER)
        .ok_or_else(|| bad("unknown format"))?;
    let parts: Vec<&str> = rest.split_whitespace().collect();
    match parts.as_slice() {
        ["random", key] => {
            let bytes = Zeroizing::new(unhex(key).ok_or_else(|| bad("the key is not hex"))?);
            let arr: [u8; KEY_LEN] =
                bytes
                    .as_slice()
                    .try_into()
                    .map_err(|e: std::array::TryFromSliceError| {
                        bad(&format!("wrong key length ({e})"))
                    })?;
            Ok(KeySpec::Random(StoreKey(Zeroizing::new(arr))))
        }
        ["argon2id", params, salt, check] => {
            if *params != format!("m={ARGON2_M_KIB},t={ARGON2_T},p={ARGON2_P}") {
                return Err(bad("unsupported Argon2id parameters"));
            }
            let salt = unhex(salt).ok_or_else(|| bad("the salt is not hex"))?;
            let salt: [u8; 16] =
                salt.as_slice()
                    .try_into()
                    .map_err(|e: std::array::TryFromSliceError| {
                        bad(&format!("wrong salt length ({e})"))
                    })?;
            let check = unhex(check).ok_or_else(|| bad("the check value is not hex"))?;
            let check: [u8; 8] =
                check
                    .as_slice()
                    .try_into()
                    .map_err(|e: std::array::TryFromSliceError| {
                        bad(&format!("wrong check length ({e})"))
                    })?;
            Ok(KeySpec::Argon2id { salt, check })
        }
        _ => Err(bad("unknown key kind")),
    }
}

fn derive(pass: &Secret, salt: &[u8; 16]) -> Result<StoreKey> {
    let params = argon2::Params::new(ARGON2_M_KIB, ARGON2_T, ARGON2_P, Some(KEY_LEN))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    argon
        .hash_password_into(pass.expose().as_bytes(), salt, out.as_mut_slice())
        .map_err(|e| Error::Internal(format!("argon2 derivation: {e}")))?;
    Ok(StoreKey(out))
}

/// The hand-off file for this key file: named after the key file's path and salt, so different
/// homes never share one.
fn handoff_path(runtime_dir: &Path, key_path: &Path, salt: &[u8; 16]) -> PathBuf {
    let mut id = key_path.as_os_str().as_encoded_bytes().to_vec();
    id.extend_from_slice(salt);
    runtime_dir.join(format!("cliauth-key-{}", fingerprint(&id)))
}

/// Derives the passphrase key, reusing a fresh hand-off from a peer when there is one. The
/// hand-off is only a cache: anything missing, stale or unreadable falls back to Argon2id, and
/// [`super::Store`] re-derives when a handed-off key fails to decrypt.
fn passphrase_key(
    key_path: &Path,
    pass: &Secret,
    salt: &[u8; 16],
    check: [u8; 8],
    runtime_dir: Option<&Path>,
) -> Result<StoreKey> {
    let handoff = runtime_dir.map(|rt| (rt, handoff_path(rt, key_path, salt)));
    if let Some((_, path)) = &handoff
        && let Some(k) = read_handoff(path, now_unix())
    {
        if key_check(&k) == check {
            tracing::debug!(
                event = "key_handoff_hit",
                "store key from the runtime hand-off"
            );
            return Ok(k);
        }
        tracing::debug!(
            event = "key_handoff_miss",
            reason = "check mismatch",
            "key hand-off ignored"
        );
        fsutil::remove_quietly(path);
    }
    let key = derive(pass, salt)?;
    if key_check(&key) != check {
        return Err(Error::WrongPassphrase);
    }
    if let Some((rt, path)) = &handoff {
        write_handoff(rt, path, &key);
    }
    Ok(key)
}

/// Forgets the hand-off so the next load derives again (used when a handed-off key fails).
pub(crate) fn drop_handoff(key_path: &Path, runtime_dir: Option<&Path>) -> bool {
    let Some(rt) = runtime_dir else { return false };
    let text = match fs::read_to_string(key_path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) => {
            tracing::debug!(event = "key_handoff_keep", reason = %e.kind(), "no key file, no hand-off to forget");
            return false;
        }
    };
    match parse_key_file(key_path, &text) {
        Ok(KeySpec::Argon2id { salt, .. }) => {
            fsutil::remove_quietly(&handoff_path(rt, key_path, &salt));
            true
        }
        // A random key is never handed off.
        Ok(KeySpec::Random(_)) => false,
        Err(e) => {
            tracing::debug!(event = "key_handoff_keep", error = %e, "unreadable key file, no hand-off to forget");
            false
        }
    }
}

/// The key in the hand-off file at `path`, when it is private, well formed and fresh at the Unix
/// time `now` (its expiry is after `now` and at most [`HANDOFF_TTL_SECS`] ahead of it).
fn read_handoff(path: &Path, now: u64) -> Option<StoreKey> {
    let text = match fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) => {
            tracing::debug!(event = "key_handoff_miss", reason = %e.kind(), "no usable key hand-off");
            return None;
        }
    };
    if let Err(e) = fsutil::check_private(path, 0o600) {
        tracing::debug!(event = "key_handoff_miss", reason = %e, "key hand-off refused");
        return None;
    }
    let mut parts = text.split_whitespace();
    let (Some("v1"), Some(exp), Some(key), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        tracing::debug!(
            event = "key_handoff_miss",
            reason = "format",
            "key hand-off unreadable"
        );
        return None;
    };
    let fresh = exp
        .parse::<u64>()
        .is_ok_and(|exp| exp > now && exp <= now + HANDOFF_TTL_SECS);
    let bytes = Zeroizing::new(unhex(key).filter(|b| b.len() == KEY_LEN));
    if !fresh {
        tracing::debug!(
            event = "key_handoff_miss",
            reason = "stale or invalid",
            "key hand-off ignored"
        );
        return None;
    }
    let bytes = bytes.as_ref()?;
    let mut arr = Zeroizing::new([0u8; KEY_LEN]);
    arr.copy_from_slice(bytes);
    Some(StoreKey(arr))
}

fn write_handoff(rt: &Path, path: &Path, key: &StoreKey) {
    let body = Zeroizing::new(format!(
        "v1 {} {}\n",
        now_unix() + HANDOFF_TTL_SECS,
        hex(key.0.as_slice())
    ));
    let tmp = fsutil::temp_path(rt, "cliauth-key");
    let result = fsutil::write_new_private(&tmp, body.as_bytes()).and_then(|()| {
        fs::rename(&tmp, path).map_err(|e| Error::io(format!("rename {}", tmp.display()), e))
    });
    if let Err(e) = result {
        // The hand-off is an optimisation: peers simply derive the key themselves.
        tracing::debug!(event = "key_handoff_write_failed", error = %e, "could not hand off the store key");
        fsutil::remove_quietly(&tmp);
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
pub(crate) fn test_key() -> StoreKey {
    StoreKey(Zeroizing::new([7u8; KEY_LEN]))
}

#[cfg(test)]
mod tests;
