//! The encrypted credentials store: one file per server under `credentials/` (0700), every
//! file 0600, replaced atomically, encrypted with AES-256-GCM (see [`crypto`]).

pub(crate) mod crypto;
pub(crate) mod fsutil;
pub(crate) mod lock;
pub(crate) mod recover;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::metadata::ServerMetadata;
use crate::protocol::{AccessToken, ClientId, RefreshToken, RegisteredSecret, Scope};
use crate::secret::{Secret, fingerprint};

pub use lock::LockGuard;
pub(crate) use lock::LockState;

/// How a session was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// Authorization code + PKCE through the browser.
    Browser,
    /// RFC 8628 device authorization.
    Device,
    /// Resource owner password credentials.
    Password,
    /// A personal access token read from stdin.
    Token,
}

impl LoginMethod {
    /// The name used in `auth status`.
    pub fn name(self) -> &'static str {
        match self {
            LoginMethod::Browser => "browser",
            LoginMethod::Device => "device",
            LoginMethod::Password => "password",
            LoginMethod::Token => "token",
        }
    }
}

/// A cached `/api/v1/me` answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MeCache {
    /// When it was fetched (Unix seconds).
    pub fetched_at: u64,
    /// The body.
    pub body: serde_json::Value,
}

/// An OAuth session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token, when the server issued one.
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires (Unix seconds), when known.
    pub access_expires_at: Option<u64>,
    /// When the refresh token expires (Unix seconds), when known.
    pub refresh_expires_at: Option<u64>,
    /// How the session was obtained.
    pub method: LoginMethod,
    /// The username, when known.
    pub user: Option<String>,
    /// The client id the tokens were issued to (refresh must use the same).
    pub client_id: ClientId,
    /// When the current tokens were stored (Unix seconds).
    pub updated_at: u64,
    /// The `/api/v1/me` cache.
    #[serde(default)]
    pub me: Option<MeCache>,
    /// The authorization server's metadata as discovered at login (or at the first refresh of
    /// a session stored without it), so a refresh is one request: the token grant.
    #[serde(default)]
    pub auth_server: Option<Box<ServerMetadata>>,
    /// The granted scope (the token response's, else the requested one), when known.
    #[serde(default)]
    pub scope: Option<Scope>,
    /// The subject (`sub`) of the verified ID token of the login, when there was one.
    #[serde(default)]
    pub subject: Option<String>,
    /// The client secret the tokens' client was registered with (refresh and revocation
    /// present it as registered).
    #[serde(default)]
    pub client_secret: Option<RegisteredSecret>,
}

/// A personal access token stored with `auth login --with-token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StaticToken {
    /// The token.
    pub token: AccessToken,
    /// The username, when known.
    pub user: Option<String>,
    /// When it was stored.
    pub created_at: u64,
}

/// Everything stored for one server.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredState {
    /// The server these credentials belong to.
    pub server: String,
    /// A client id obtained by dynamic registration (RFC 7591).
    #[serde(default)]
    pub registered_client_id: Option<ClientId>,
    /// The secret issued with that client id, when the server issued one.
    #[serde(default)]
    pub registered_client_secret: Option<RegisteredSecret>,
    /// A personal access token.
    #[serde(default)]
    pub static_token: Option<StaticToken>,
    /// The OAuth session.
    #[serde(default)]
    pub session: Option<SessionRecord>,
}

impl StoredState {
    /// True when nothing worth keeping is left.
    pub fn is_empty(&self) -> bool {
        self.static_token.is_none() && self.session.is_none() && self.registered_client_id.is_none()
    }
}

/// What decrypting and parsing the stored bytes gave (a key problem that is not the file's
/// fault is an `Err` beside this, never an [`Decoded::Unusable`]).
#[expect(
    clippy::large_enum_variant,
    reason = "a short-lived return value, unpacked at once; boxing would only add an allocation"
)]
enum Decoded {
    /// The stored state and its write generation (see [`recover`]).
    State(StoredState, u64),
    /// The file itself is unusable, for this reason: it is moved aside as corrupted.
    Unusable(String),
}

/// The credential files of one server.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    file: PathBuf,
    /// Name prefix of this store's temp files: `.store.tmp-<slug>-` (then `<pid>-<hex>`).
    temp_prefix: String,
    /// The highest write generation this process has read or written (see [`recover`]).
    generation: std::sync::atomic::AtomicU64,
    lock: PathBuf,
    key: PathBuf,
    passphrase: Option<Secret>,
    runtime_dir: Option<PathBuf>,
}

/// A file name fragment for a server: readable host and port plus a short hash of the URL, so
/// two servers on one host never share a file.
fn server_slug(server: &Url) -> String {
    let host: String = server
        .host_str()
        .unwrap_or("server")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let port = server.port_or_known_default().unwrap_or(0);
    let url = server.as_str().trim_end_matches('/');
    format!("{host}_{port}-{}", fingerprint(url.as_bytes()))
}

impl Store {
    /// The store for `server` in `dir`.
    pub fn new(
        dir: &Path,
        server: &Url,
        passphrase: Option<Secret>,
        runtime_dir: Option<PathBuf>,
    ) -> Store {
        let slug = server_slug(server);
        Store {
            dir: dir.to_owned(),
            file: dir.join(format!("{slug}.cred")),
            temp_prefix: format!(".store.tmp-{slug}-"),
            generation: std::sync::atomic::AtomicU64::new(0),
            lock: dir.join(format!("{slug}.lock")),
            key: dir.join("key"),
            passphrase,
            runtime_dir,
        }
    }

    /// The encrypted credentials file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// The lock file.
    pub fn lock_path(&self) -> &Path {
        &self.lock
    }

    /// The key file.
    pub fn key_path(&self) -> &Path {
        &self.key
    }

    /// The credentials folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the credentials lock, waiting at most `timeout`.
    pub fn lock(&self, timeout: Duration) -> Result<LockGuard> {
        fsutil::ensure_private_dir(&self.dir)?;
        let guard = lock::acquire(&self.lock, timeout)?;
        tracing::debug!(event = "lock_acquired", "lock_acquired");
        // Whoever holds the lock owns the temp files: any of ours is a dead writer's.
        self.recover_temps(&guard);
        crate::hooks::pause(crate::hooks::AFTER_LOCK_ACQUIRED);
        Ok(guard)
    }

    /// Reads the stored state; `None` when nothing is stored. A file that cannot be decrypted
    /// or parsed is moved aside (under the lock, and only if it is still the same bytes) and
    /// reported as corrupted. `held` says whether the caller already holds the lock.
    pub fn load(&self, held: Option<&LockGuard>) -> Result<Option<StoredState>> {
        if held.is_none() {
            self.recover_if_needed();
        }
        let bytes = self.read_checked()?;
        // Logged once the bytes are in memory: what this process decides from is fixed now,
        // whatever peers write afterwards (tests use the line as that synchronisation point).
        tracing::debug!(event = "store_read", "store_read");
        let Some(bytes) = bytes else {
            return Ok(None);
        };
        match self.decode(&bytes)? {
            Decoded::State(state, generation) => {
                self.saw_generation(generation);
                Ok(Some(state))
            }
            Decoded::Unusable(reason) => self.quarantine(&bytes, &reason, held),
        }
    }

    fn read_checked(&self) -> Result<Option<Vec<u8>>> {
        let Some(bytes) = fsutil::read_nofollow(&self.file)? else {
            return Ok(None);
        };
        fsutil::check_private(&self.dir, 0o700)?;
        fsutil::check_private(&self.file, 0o600)?;
        Ok(Some(bytes))
    }

    /// Decrypts and parses. An error is a key problem that is not corruption (passphrase
    /// missing, key file permissions) and must never lead to moving the store aside;
    /// [`Decoded::Unusable`] says why the file itself is unusable.
    fn decode(&self, bytes: &[u8]) -> Result<Decoded> {
        let rt = self.runtime_dir.as_deref();
        let Some(key) = crypto::load_key(&self.key, self.passphrase.as_ref(), rt)? else {
            return Ok(Decoded::Unusable("the key file is missing".into()));
        };
        let plain = match crypto::open(&key, bytes) {
            Ok(p) => p,
            Err(crypto::OpenError::Auth) if crypto::drop_handoff(&self.key, rt) => {
                // A handed-off key may be stale or forged: derive it again before judging.
                let Some(key) = crypto::load_key(&self.key, self.passphrase.as_ref(), None)? else {
                    return Ok(Decoded::Unusable("the key file is missing".into()));
                };
                match crypto::open(&key, bytes) {
                    Ok(p) => p,
                    Err(e) => return Ok(Decoded::Unusable(e.to_string())),
                }
            }
            Err(e) => return Ok(Decoded::Unusable(e.to_string())),
        };
        let generation = recover::generation_of(&plain);
        Ok(match serde_json::from_slice(&plain) {
            Ok(state) => Decoded::State(state, generation),
            Err(e) => Decoded::Unusable(format!("the decrypted data is not valid ({e})")),
        })
    }

    fn quarantine(
        &self,
        bytes: &[u8],
        reason: &str,
        held: Option<&LockGuard>,
    ) -> Result<Option<StoredState>> {
        let guard;
        if held.is_none() {
            guard = self.lock(Duration::from_secs(10))?;
            // Under the lock: if a writer replaced the file meanwhile, read the new one.
            let current = self.read_checked()?;
            if current.as_deref() != Some(bytes) {
                drop(guard);
                return match current {
                    None => Ok(None),
                    Some(b) => match self.decode(&b)? {
                        Decoded::State(s, generation) => {
                            self.saw_generation(generation);
                            Ok(Some(s))
                        }
                        Decoded::Unusable(r) => self.quarantine(&b, &r, None),
                    },
                };
            }
        }
        let moved_to = self.file.with_extension(format!(
            "cred.corrupt-{}-{}",
            now_unix(),
            std::process::id()
        ));
        fs::rename(&self.file, &moved_to).map_err(|e| {
            Error::io(
                format!("move the corrupted {} aside", self.file.display()),
                e,
            )
        })?;
        fsutil::sync_dir(&self.dir)?;
        Err(Error::Corrupted {
            path: self.file.clone(),
            moved_to,
            reason: reason.to_owned(),
        })
    }

    /// Encrypts and atomically replaces the stored state (an empty state deletes the file).
    /// Callers hold the lock.
    pub fn save(&self, state: &StoredState, held: &LockGuard) -> Result<()> {
        if state.is_empty() {
            return self.delete(held).map(|_existed| ());
        }
        fsutil::ensure_private_dir(&self.dir)?;
        let key = crypto::load_or_create_key(
            &self.dir,
            &self.key,
            self.passphrase.as_ref(),
            self.runtime_dir.as_deref(),
        )?;
        let plain = recover::with_generation(state, self.next_generation())?;
        let sealed = crypto::seal(&key, &plain)?;
        let tmp = fsutil::temp_path_named(&self.dir, &self.temp_prefix);
        fsutil::atomic_replace(&self.file, &tmp, &sealed)
    }

    /// Deletes the credentials file; true when there was one. Callers hold the lock.
    pub fn delete(&self, _held: &LockGuard) -> Result<bool> {
        match fs::remove_file(&self.file) {
            Ok(()) => {
                fsutil::sync_dir(&self.dir)?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io(format!("delete {}", self.file.display()), e)),
        }
    }

    /// Checks the folder and files' permissions, for `auth doctor`.
    pub fn check_permissions(&self) -> Vec<(PathBuf, Result<()>)> {
        let mut out = vec![(self.dir.clone(), fsutil::check_private(&self.dir, 0o700))];
        for p in [&self.key, &self.file, &self.lock] {
            if p.exists() {
                out.push((p.clone(), fsutil::check_private(p, 0o600)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
