//! Crash recovery of the store's temp files.
//!
//! A write is: seal to `.store.tmp-<slug>-<pid>-<hex>`, fsync, rename over `<slug>.cred`. A
//! process killed between the write and the rename leaves the complete new state in the temp
//! file; one killed during the write leaves a torn one. Every sealed state carries a write
//! `generation` (one more than the highest this process read or wrote), inside the AEAD-sealed
//! plaintext, so it cannot be forged or torn without failing the tag.
//!
//! Whoever takes the store's lock first sweeps its temp files (a temp file is only ever written
//! under the lock, so while we hold it every one of ours belongs to a dead writer): the newest
//! one that decrypts with the store key and is newer than the stored state is adopted (renamed
//! over the store), every other one is removed. A reader without the lock that sees a temp file
//! takes the lock briefly to do the same, so no stray file outlives the next command. Temp files
//! of other stores in the folder are left to their own lock holders.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Decoded, LockGuard, Store, fsutil};
use crate::classify::{Error, Result};
use crate::store::StoredState;
use zeroize::Zeroizing;

/// The plaintext of `state` with its write `generation` added as a top-level field (unknown
/// to [`StoredState`], so older readers ignore it).
pub(super) fn with_generation(state: &StoredState, generation: u64) -> Result<Zeroizing<Vec<u8>>> {
    let internal = |e: serde_json::Error| Error::Internal(format!("serialize credentials: {e}"));
    let mut value = serde_json::to_value(state).map_err(internal)?;
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("generation".into(), generation.into());
    }
    let bytes = Zeroizing::new(serde_json::to_vec(&value).map_err(internal)?);
    // The Value's strings (tokens) are dropped without wiping; the bytes written are wiped.
    drop(value);
    Ok(bytes)
}

/// The write generation in a decrypted plaintext (0 for a state written before generations).
pub(crate) fn generation_of(plain: &[u8]) -> u64 {
    #[derive(serde::Deserialize)]
    struct Generation {
        #[serde(default)]
        generation: u64,
    }
    serde_json::from_slice::<Generation>(plain).map_or(0, |g| g.generation)
}

impl Store {
    /// Records a generation seen on disk.
    pub(super) fn saw_generation(&self, generation: u64) {
        self.generation.fetch_max(generation, Ordering::SeqCst);
    }

    /// The generation of the next write.
    pub(super) fn next_generation(&self) -> u64 {
        self.generation
            .fetch_add(1, Ordering::SeqCst)
            .saturating_add(1)
    }

    /// This store's temp files in the credentials folder.
    pub(crate) fn leftover_temps(&self) -> Vec<std::path::PathBuf> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) => {
                tracing::debug!(reason = %e.kind(), "credentials folder not listed");
                return Vec::new();
            }
        };
        entries
            .filter_map(|e| match e {
                Ok(e) => Some(e.path()),
                Err(err) => {
                    tracing::debug!(reason = %err.kind(), "folder entry skipped");
                    None
                }
            })
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&self.temp_prefix))
            })
            .collect()
    }

    /// Without the lock: when a temp file of ours is there, take the lock briefly so
    /// [`Store::lock`] recovers it. A busy lock means a live holder, who sweeps it.
    pub(super) fn recover_if_needed(&self) {
        if self.leftover_temps().is_empty() {
            return;
        }
        match self.lock(Duration::from_millis(500)) {
            Ok(guard) => drop(guard),
            Err(e) => tracing::debug!(error = %e, "temp file left for the lock holder"),
        }
    }

    /// Under the lock: adopts the newest complete temp file newer than the store and removes
    /// every other one. Failures are logged: the store itself is never made worse.
    pub(super) fn recover_temps(&self, _held: &LockGuard) {
        let temps = self.leftover_temps();
        if temps.is_empty() {
            return;
        }
        let stored = match fsutil::read_nofollow(&self.file) {
            Ok(Some(bytes)) => match self.decode(&bytes) {
                Ok(Decoded::State(_, generation)) => generation,
                // A corrupt store loses to any complete temp file.
                Ok(Decoded::Unusable(_)) => 0,
                Err(e) => {
                    tracing::debug!(error = %e, "store key unavailable; temp files left alone");
                    return;
                }
            },
            Ok(None) => 0,
            Err(e) => {
                tracing::debug!(error = %e, "store unreadable; temp files left alone");
                return;
            }
        };
        let mut best: Option<(u64, std::path::PathBuf)> = None;
        for tmp in temps {
            let generation = match fsutil::read_nofollow(&tmp) {
                Ok(Some(bytes)) => match self.decode(&bytes) {
                    Ok(Decoded::State(_, g)) if g > stored => Some(g),
                    Ok(Decoded::State(..) | Decoded::Unusable(_)) => None,
                    Err(e) => {
                        tracing::debug!(error = %e, "temp file undecidable; left alone");
                        continue;
                    }
                },
                Ok(None) => continue,
                Err(e) => {
                    tracing::debug!(error = %e, "temp file unreadable; removed");
                    None
                }
            };
            match (generation, &best) {
                (Some(g), Some((b, _))) if g <= *b => fsutil::remove_quietly(&tmp),
                (Some(g), _) => {
                    if let Some((_, older)) = best.replace((g, tmp)) {
                        fsutil::remove_quietly(&older);
                    }
                }
                (None, _) => {
                    tracing::debug!(event = "temp_discarded", path = %tmp.display(), "temp_discarded");
                    fsutil::remove_quietly(&tmp);
                }
            }
        }
        let Some((generation, tmp)) = best else {
            return;
        };
        match std::fs::rename(&tmp, &self.file)
            .and_then(|()| std::fs::File::open(&self.dir).and_then(|d| d.sync_all()))
        {
            Ok(()) => {
                self.saw_generation(generation);
                tracing::debug!(event = "temp_adopted", generation, "temp_adopted");
            }
            Err(e) => {
                tracing::warn!(path = %tmp.display(), error = %e, "could not adopt a complete temp file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::crypto;

    fn store(dir: &Path) -> Store {
        let url = url::Url::parse("http://127.0.0.1:9").unwrap();
        Store::new(&dir.join("credentials"), &url, None, None)
    }

    fn state(user: &str) -> StoredState {
        StoredState {
            server: "http://127.0.0.1:9".into(),
            static_token: Some(crate::store::StaticToken {
                token: crate::protocol::AccessToken::new("t"),
                user: Some(user.into()),
                created_at: 1,
            }),
            ..StoredState::default()
        }
    }

    /// What a writer killed between the write and the rename leaves: `state` sealed at
    /// `generation` in a temp file of the store.
    fn crashed_write(s: &Store, state: &StoredState, generation: u64) -> std::path::PathBuf {
        let key = crypto::load_or_create_key(s.dir(), s.key_path(), None, None).unwrap();
        let sealed = crypto::seal(&key, &with_generation(state, generation).unwrap()).unwrap();
        let tmp = fsutil::temp_path_named(s.dir(), &s.temp_prefix);
        fsutil::write_new_private(&tmp, &sealed).unwrap();
        tmp
    }

    fn user(s: &Store) -> String {
        let st = s.load(None).unwrap().unwrap();
        st.static_token.unwrap().user.unwrap()
    }

    fn saved(home: &Path, who: &str) -> Store {
        let s = store(home);
        let g = s.lock(Duration::from_secs(1)).unwrap();
        s.save(&state(who), &g).unwrap();
        s
    }

    /// A complete temp file newer than the store is adopted by the next reader (which takes
    /// the lock for it), and no temp file is left.
    #[test]
    fn a_complete_newer_temp_file_is_adopted() {
        let home = tempfile::tempdir().unwrap();
        let s = saved(home.path(), "old");
        crashed_write(&s, &state("new"), 2);
        let fresh = store(home.path());
        assert_eq!(user(&fresh), "new");
        assert!(fresh.leftover_temps().is_empty());
        // The next write is newer still.
        let g = fresh.lock(Duration::from_secs(1)).unwrap();
        fresh.save(&state("newer"), &g).unwrap();
        drop(g);
        assert_eq!(user(&store(home.path())), "newer");
    }

    /// A temp file not newer than the store, a torn one and a garbage one are removed; the
    /// store is kept; of two complete newer ones the newest wins.
    #[test]
    fn older_torn_and_garbage_temp_files_are_removed() {
        let home = tempfile::tempdir().unwrap();
        let s = saved(home.path(), "current");
        crashed_write(&s, &state("stale"), 1);
        let torn = crashed_write(&s, &state("torn"), 9);
        let bytes = std::fs::read(&torn).unwrap();
        std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
        let garbage = fsutil::temp_path_named(s.dir(), &s.temp_prefix);
        fsutil::write_new_private(&garbage, b"half-written").unwrap();
        let fresh = store(home.path());
        assert_eq!(user(&fresh), "current");
        assert!(fresh.leftover_temps().is_empty());

        crashed_write(&s, &state("second"), 3);
        crashed_write(&s, &state("third"), 4);
        let fresh = store(home.path());
        assert_eq!(user(&fresh), "third");
        assert!(fresh.leftover_temps().is_empty());
    }

    /// A temp file of a login that crashed before the first store existed is adopted.
    #[test]
    fn a_first_login_temp_file_is_adopted() {
        let home = tempfile::tempdir().unwrap();
        let s = store(home.path());
        fsutil::ensure_private_dir(s.dir()).unwrap();
        crashed_write(&s, &state("first"), 1);
        assert_eq!(user(&store(home.path())), "first");
    }
}
