use super::*;
use std::os::unix::fs::PermissionsExt;

use crate::protocol::{AccessToken, RefreshToken};

fn store(dir: &Path) -> Store {
    Store::new(
        &dir.join("credentials"),
        &Url::parse("http://127.0.0.1:9").unwrap(),
        None,
        None,
    )
}

fn sample() -> StoredState {
    StoredState {
        server: "http://127.0.0.1:9".into(),
        registered_client_id: None,
        registered_client_secret: None,
        static_token: None,
        session: Some(SessionRecord {
            access_token: AccessToken::new("at-secret-value"),
            refresh_token: Some(RefreshToken::new("rt-secret-value")),
            access_expires_at: Some(10),
            refresh_expires_at: None,
            method: LoginMethod::Password,
            user: Some("alice".into()),
            client_id: "cliauth".into(),
            updated_at: 1,
            me: None,
            auth_server: None,
            scope: None,
            subject: None,
            client_secret: None,
        }),
    }
}

#[test]
fn round_trip_with_private_modes_and_no_plaintext() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    assert!(s.load(None).unwrap().is_none());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    let back = s.load(None).unwrap().unwrap();
    assert_eq!(
        back.session.unwrap().refresh_token.unwrap().expose(),
        "rt-secret-value"
    );
    for p in [s.path(), s.key_path(), s.lock_path()] {
        assert_eq!(
            fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            p.display()
        );
    }
    assert_eq!(
        fs::metadata(s.dir()).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let raw = fs::read(s.path()).unwrap();
    assert!(
        !raw.windows(9).any(|w| w == b"rt-secret"),
        "no plaintext on disk"
    );
}

#[test]
fn every_flipped_byte_is_reported_as_corruption_and_moved_aside() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    let good = fs::read(s.path()).unwrap();
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x80;
        fs::write(s.path(), &bad).unwrap();
        fs::set_permissions(s.path(), fs::Permissions::from_mode(0o600)).unwrap();
        let err = s.load(None).unwrap_err();
        let Error::Corrupted { moved_to, .. } = &err else {
            panic!("byte {i}: {err:?}")
        };
        assert_eq!(fs::read(moved_to).unwrap(), bad, "moved aside intact");
        assert!(!s.path().exists());
        fs::remove_file(moved_to).unwrap();
    }
}

#[test]
fn loose_permissions_are_refused_with_the_chmod_fix() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    fs::set_permissions(s.path(), fs::Permissions::from_mode(0o644)).unwrap();
    let err = s.load(None).unwrap_err();
    assert!(matches!(err, Error::Permissions { .. }), "{err:?}");
    assert_eq!(
        crate::commands::render::hint(&err),
        format!("run: chmod 600 {}", s.path().display())
    );
    fs::set_permissions(s.path(), fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(s.dir(), fs::Permissions::from_mode(0o755)).unwrap();
    let err = s.load(None).unwrap_err();
    assert_eq!(
        crate::commands::render::hint(&err),
        format!("run: chmod 700 {}", s.dir().display())
    );
}

#[test]
fn crash_between_write_and_rename_leaves_the_old_file_valid() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    // Simulate the crash: a torn temp file written, the process gone before rename.
    let tmp = fsutil::temp_path_named(s.dir(), &s.temp_prefix);
    fsutil::write_new_private(&tmp, b"half-written new state").unwrap();
    drop(g);
    let back = s.load(None).unwrap().unwrap();
    assert_eq!(back.session.unwrap().user.as_deref(), Some("alice"));
    assert!(
        !tmp.exists(),
        "the torn temp file is removed by the next reader"
    );
}

#[test]
fn a_missing_key_file_is_reported_as_corruption() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    fs::remove_file(s.key_path()).unwrap();
    let err = s.load(None).unwrap_err();
    assert!(err.to_string().contains("key file is missing"), "{err}");
}

/// The file name keeps the host and port readable for a person looking into the folder and
/// turns every other character into `_`, so no host puts brackets or colons into a name;
/// a short hash of the URL follows.
#[rstest::rstest]
#[case::ipv4("http://127.0.0.1:9", "127.0.0.1_9-")]
#[case::dns_name_with_default_port("https://Auth.Example.com/", "auth.example.com_443-")]
#[case::ipv6("http://[::1]:8080", "___1__8080-")]
fn credentials_file_is_named_after_host_and_port(#[case] server: &str, #[case] prefix: &str) {
    let s = Store::new(Path::new("/c"), &Url::parse(server).unwrap(), None, None);
    let name = s.path().file_name().unwrap().to_str().unwrap();
    let hash = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(".cred"))
        .unwrap_or_else(|| panic!("{name:?} should be {prefix:?} + hash + \".cred\""));
    assert_eq!(hash.len(), 8, "{name:?}");
    assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{name:?}");
}

/// Two servers on one host (another port, or another path behind the same port) never share
/// a credentials file or lock, so neither sees the other's credentials; a trailing slash
/// does not make another server.
#[test]
fn two_servers_on_one_host_get_different_files() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("credentials");
    let at = |server: &str| Store::new(&dir, &Url::parse(server).unwrap(), None, None);
    let servers = [
        at("http://127.0.0.1:9"),
        at("http://127.0.0.1:10"),
        at("http://127.0.0.1:9/tenant-a"),
        at("http://127.0.0.1:9/tenant-b"),
    ];
    for (i, a) in servers.iter().enumerate() {
        for b in &servers[i + 1..] {
            assert_ne!(a.path(), b.path());
            assert_ne!(a.lock_path(), b.lock_path());
        }
    }
    assert_eq!(
        at("http://127.0.0.1:9/tenant-a/").path(),
        servers[2].path(),
        "a trailing slash is the same server"
    );
    let [first, second, ..] = &servers;
    let g = first.lock(Duration::from_secs(1)).unwrap();
    first.save(&sample(), &g).unwrap();
    drop(g);
    assert!(second.load(None).unwrap().is_none());
    assert!(first.load(None).unwrap().is_some());
}

/// A passphrase-derived key handed to peers through the runtime folder is only a cache: when
/// it fails to decrypt the store, the hand-off is forgotten, so no later process trusts it,
/// before the file is judged corrupted.
#[test]
fn a_handed_off_key_that_fails_to_decrypt_is_forgotten() {
    let home = tempfile::tempdir().unwrap();
    let rt = tempfile::tempdir().unwrap();
    let s = Store::new(
        &home.path().join("credentials"),
        &Url::parse("http://127.0.0.1:9").unwrap(),
        Some(Secret::new("correct horse")),
        Some(rt.path().to_owned()),
    );
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    assert_eq!(
        fs::read_dir(rt.path()).unwrap().count(),
        1,
        "hand-off written"
    );
    let mut bad = fs::read(s.path()).unwrap();
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    fs::write(s.path(), &bad).unwrap();
    let err = s.load(None).unwrap_err();
    assert!(matches!(err, Error::Corrupted { .. }), "{err:?}");
    assert_eq!(
        fs::read_dir(rt.path()).unwrap().count(),
        0,
        "the hand-off that failed is gone"
    );
}

/// Logging out twice, or when nothing was ever stored, is not an error: delete says whether
/// there was a file.
#[test]
fn delete_reports_whether_there_was_a_file() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    assert!(!s.delete(&g).unwrap(), "nothing stored yet");
    s.save(&sample(), &g).unwrap();
    assert!(s.delete(&g).unwrap(), "the stored file");
    assert!(!s.path().exists());
    assert!(!s.delete(&g).unwrap(), "already deleted");
}

/// A credentials file that cannot be removed is an error, never "there was no file": logout
/// must not report the credentials gone while they are still there. (A folder in the file's
/// place cannot be unlinked, even by root.)
#[test]
fn a_delete_that_fails_is_reported() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    fs::create_dir(s.path()).unwrap();
    let err = s.delete(&g).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(s.path().exists());
}

/// `auth doctor` gets a verdict for the folder and for each credential file that exists, so a
/// loose file is named precisely and the others are not blamed.
#[test]
fn permission_check_names_each_file_and_flags_only_the_loose_one() {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    fs::set_permissions(s.key_path(), fs::Permissions::from_mode(0o644)).unwrap();
    let report = s.check_permissions();
    let paths: Vec<&Path> = report.iter().map(|(p, _)| p.as_path()).collect();
    assert_eq!(paths, [s.dir(), s.key_path(), s.path(), s.lock_path()]);
    let verdicts: Vec<bool> = report.iter().map(|(_, r)| r.is_ok()).collect();
    assert_eq!(verdicts, [true, false, true, true]);
    assert!(matches!(
        report[1].1,
        Err(Error::Permissions { mode: 0o644, .. })
    ));
}

/// A key file that exists but cannot be read is a key problem, not a corrupted store: it is
/// reported (bytes that are not text as a bad key file, not as a read failure: issue 13), and
/// the credentials file (still fine) stays where it is.
#[rstest::rstest]
#[case::not_text(|key: &Path| fs::write(key, [0xff, 0xfe, 0x00, 0x80]).unwrap(), |e: &Error| matches!(e, Error::BadKeyFile { reason, .. } if reason.contains("UTF-8")))]
#[case::a_folder_in_its_place(|key: &Path| {
    fs::remove_file(key).unwrap();
    fs::create_dir(key).unwrap();
}, |e: &Error| matches!(e, Error::Io { .. }))]
fn an_unreadable_key_file_never_moves_the_credentials_aside(
    #[case] damage: fn(&Path),
    #[case] expected: fn(&Error) -> bool,
) {
    let home = tempfile::tempdir().unwrap();
    let s = store(home.path());
    let g = s.lock(Duration::from_secs(1)).unwrap();
    s.save(&sample(), &g).unwrap();
    drop(g);
    let stored = fs::read(s.path()).unwrap();
    damage(s.key_path());
    let err = s.load(None).unwrap_err();
    assert!(expected(&err), "{err:?}");
    assert_eq!(fs::read(s.path()).unwrap(), stored, "left in place");
    assert_eq!(
        fs::read_dir(s.dir()).unwrap().count(),
        3,
        "nothing moved aside"
    );
}

/// First logins to several servers at once: each holds only its own server's lock, so all
/// may find no key file and create one. Whoever loses that race uses the winner's key, and
/// every server's credentials stay readable. (A passphrase makes creating a key slow, so the
/// racers all find the key file missing.)
#[test]
fn first_logins_to_several_servers_at_once_share_one_key() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("credentials");
    let pass = Secret::new("correct horse");
    let stores = [
        "http://127.0.0.1:9",
        "http://127.0.0.1:10",
        "http://127.0.0.1:11",
    ]
    .map(|server| Store::new(&dir, &Url::parse(server).unwrap(), Some(pass.clone()), None));
    let start = std::sync::Barrier::new(stores.len());
    std::thread::scope(|scope| {
        let logins: Vec<_> = stores
            .iter()
            .map(|s| {
                let start = &start;
                scope.spawn(move || {
                    // Every thread reaches the barrier, even one whose lock failed, so a
                    // wrong lock path fails the test instead of hanging it.
                    let g = s.lock(Duration::from_secs(5));
                    start.wait();
                    s.save(&sample(), &g?)
                })
            })
            .collect();
        for login in logins {
            login.join().unwrap().unwrap();
        }
    });
    for s in &stores {
        assert!(s.load(None).unwrap().is_some(), "{}", s.path().display());
    }
}
