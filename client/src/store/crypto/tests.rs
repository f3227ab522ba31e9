use super::*;

#[test]
fn seal_open_round_trip_with_fresh_nonces() {
    let k = test_key();
    let a = seal(&k, b"hello").unwrap();
    let b = seal(&k, b"hello").unwrap();
    assert_ne!(a, b, "each write uses a fresh nonce");
    assert_eq!(open(&k, &a).unwrap().as_slice(), b"hello");
}

#[test]
fn every_flipped_byte_fails_to_open() {
    let k = test_key();
    let sealed = seal(&k, b"{\"x\":1}").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert!(open(&k, &bad).is_err(), "byte {i}");
    }
}

#[test]
fn passphrase_key_file_round_trip_and_handoff() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tempfile::tempdir().unwrap();
    let kp = dir.path().join("key");
    let pass = Secret::new("correct horse");
    let k1 = load_or_create_key(dir.path(), &kp, Some(&pass), Some(rt.path())).unwrap();
    assert!(fs::read_to_string(&kp).unwrap().contains("argon2id"));
    assert_eq!(
        fs::read_dir(rt.path()).unwrap().count(),
        1,
        "hand-off written"
    );
    let k2 = load_key(&kp, Some(&pass), Some(rt.path()))
        .unwrap()
        .unwrap();
    assert_eq!(k1.0.as_slice(), k2.0.as_slice());
    let k3 = load_key(&kp, Some(&pass), None).unwrap().unwrap();
    assert_eq!(
        k1.0.as_slice(),
        k3.0.as_slice(),
        "derivation is deterministic"
    );
    assert!(matches!(
        load_key(&kp, None, None),
        Err(Error::PassphraseRequired)
    ));
}

/// A fixed clock for the hand-off tests.
const NOW: u64 = 1_800_000_000;

fn write_handoff_file(path: &Path, body: &str) {
    fsutil::write_new_private(path, body.as_bytes()).unwrap();
}

fn key_hex() -> String {
    hex(test_key().0.as_slice())
}

#[rstest::rstest]
#[case::expires_next_second(NOW + 1)]
#[case::expires_in_a_minute(NOW + 60)]
#[case::expires_at_the_full_lifetime(NOW + HANDOFF_TTL_SECS)]
fn fresh_handoff_is_used(#[case] exp: u64) {
    let rt = tempfile::tempdir().unwrap();
    let path = rt.path().join("handoff");
    write_handoff_file(&path, &format!("v1 {exp} {}\n", key_hex()));
    let k = read_handoff(&path, NOW).expect("a fresh hand-off is used");
    assert_eq!(k.0.as_slice(), test_key().0.as_slice());
}

/// Stale (expired), impossible (expiring further ahead than a hand-off ever lives: a clock
/// that jumped back, or a planted file) and malformed hand-offs are all ignored.
#[rstest::rstest]
#[case::expires_now(format!("v1 {NOW} {}", key_hex()))]
#[case::expired(format!("v1 {} {}", NOW - 1, key_hex()))]
#[case::expired_long_ago(format!("v1 1 {}", key_hex()))]
#[case::one_second_beyond_the_lifetime(format!("v1 {} {}", NOW + HANDOFF_TTL_SECS + 1, key_hex()))]
#[case::a_day_ahead(format!("v1 {} {}", NOW + 86_400, key_hex()))]
#[case::far_future(format!("v1 {} {}", u64::MAX, key_hex()))]
#[case::expiry_not_a_number(format!("v1 soon {}", key_hex()))]
#[case::short_key(format!("v1 {} {}", NOW + 60, &key_hex()[..62]))]
#[case::not_hex(format!("v1 {} {}", NOW + 60, "zz".repeat(32)))]
#[case::unknown_version(format!("v2 {} {}", NOW + 60, key_hex()))]
#[case::extra_field(format!("v1 {} {} x", NOW + 60, key_hex()))]
#[case::empty(String::new())]
fn stale_or_invalid_handoff_is_ignored(#[case] body: String) {
    let rt = tempfile::tempdir().unwrap();
    let path = rt.path().join("handoff");
    write_handoff_file(&path, &body);
    assert!(read_handoff(&path, NOW).is_none(), "{body:?}");
}

#[test]
fn handoff_readable_by_others_is_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let rt = tempfile::tempdir().unwrap();
    let path = rt.path().join("handoff");
    write_handoff_file(&path, &format!("v1 {} {}", NOW + 60, key_hex()));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(read_handoff(&path, NOW).is_none());
}

/// End to end through the key loader: a hand-off that claims to live longer than a hand-off
/// may is not trusted; the key is derived from the passphrase and the hand-off rewritten
/// with a proper expiry.
#[test]
fn handoff_beyond_its_lifetime_falls_back_to_derivation_and_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tempfile::tempdir().unwrap();
    let kp = dir.path().join("key");
    let pass = Secret::new("correct horse");
    let k1 = load_or_create_key(dir.path(), &kp, Some(&pass), Some(rt.path())).unwrap();
    let handoff = fs::read_dir(rt.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let far = now_unix() + 10 * HANDOFF_TTL_SECS;
    fs::write(&handoff, format!("v1 {far} {}\n", hex(k1.0.as_slice()))).unwrap();
    let k2 = load_key(&kp, Some(&pass), Some(rt.path()))
        .unwrap()
        .unwrap();
    assert_eq!(k1.0.as_slice(), k2.0.as_slice());
    let text = fs::read_to_string(&handoff).unwrap();
    let exp: u64 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        exp <= now_unix() + HANDOFF_TTL_SECS,
        "the over-long hand-off was replaced (expiry {exp}, planted {far})"
    );
}

#[test]
fn unhex_rejects_garbage() {
    assert_eq!(unhex("0aff"), Some(vec![10, 255]));
    assert_eq!(unhex("0g"), None);
    assert_eq!(unhex("abc"), None);
}

/// A key never reaches a log or an error message through `{:?}`.
#[test]
fn store_key_debug_output_is_redacted() {
    assert_eq!(format!("{:?}", test_key()), "StoreKey([redacted])");
}

/// Anything shorter than magic + nonce + tag is reported as truncated (and never read past
/// its end); the reason is what `auth` shows for a corrupted file.
#[rstest::rstest]
#[case::magic_only(0)]
#[case::part_of_the_nonce(NONCE_LEN - 1)]
#[case::nonce_without_tag(NONCE_LEN)]
#[case::one_byte_short_of_the_tag(NONCE_LEN + 15)]
fn short_files_are_reported_as_truncated(#[case] after_magic: usize) {
    let sealed = seal(&test_key(), b"").unwrap();
    let err = open(&test_key(), &sealed[..MAGIC.len() + after_magic]).unwrap_err();
    assert_eq!(err.to_string(), "the file is truncated");
}

/// The shortest complete file (an empty plaintext: magic, nonce and tag only) is not
/// mistaken for a truncated one.
#[test]
fn the_shortest_complete_file_opens() {
    let sealed = seal(&test_key(), b"").unwrap();
    assert_eq!(sealed.len(), MAGIC.len() + NONCE_LEN + 16);
    assert!(open(&test_key(), &sealed).unwrap().is_empty());
}

/// What a corrupted credentials file is reported as: a foreign file, or a failed
/// decryption (modified bytes or another key).
#[test]
fn open_errors_say_why() {
    let other = StoreKey(Zeroizing::new([8u8; KEY_LEN]));
    let sealed = seal(&other, b"{}").unwrap();
    assert_eq!(
        open(&test_key(), &sealed).unwrap_err().to_string(),
        "decryption failed: the file was modified or the key does not match"
    );
    assert_eq!(
        open(&test_key(), b"{\"server\":\"plain json\"}")
            .unwrap_err()
            .to_string(),
        "not a cliauth v1 credentials file"
    );
}

/// Key files written by earlier releases keep opening with their passphrase: the Argon2id
/// parameters, the derivation and the check value are part of the file format. (The vector
/// was recorded once from this implementation.)
#[test]
fn a_passphrase_key_file_from_an_earlier_release_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let kp = dir.path().join("key");
    fsutil::write_new_private(
        &kp,
        b"cliauth-key v1 argon2id m=19456,t=2,p=1 0102030405060708090a0b0c0d0e0f10 2edaeb11e02bdcb2\n",
    )
    .unwrap();
    let key = load_key(&kp, Some(&Secret::new("correct horse")), None).unwrap();
    assert!(key.is_some());
    assert!(matches!(
        load_key(&kp, Some(&Secret::new("correct horsE")), None),
        Err(Error::WrongPassphrase)
    ));
}

/// When the key file cannot be put in place (here: its folder is gone by then, as when the
/// credentials folder is removed concurrently) the OS error is reported, not a key file that
/// "vanished", whose hint would send the user to replace the key of every server.
#[test]
fn a_key_file_that_cannot_be_created_is_reported_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let kp = dir.path().join("gone").join("key");
    let err = load_or_create_key(dir.path(), &kp, None, None).unwrap_err();
    let Error::Io { context, source } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(context, &format!("create {}", kp.display()));
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the temporary key file is removed"
    );
}

/// The hand-off's expiry is set from the wall clock that peers read, one lifetime ahead, so
/// a peer can use it now and nobody can once [`HANDOFF_TTL_SECS`] have passed.
#[test]
fn the_handoff_expires_one_lifetime_after_it_is_written() {
    let wall = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let dir = tempfile::tempdir().unwrap();
    let rt = tempfile::tempdir().unwrap();
    let kp = dir.path().join("key");
    let before = wall();
    load_or_create_key(
        dir.path(),
        &kp,
        Some(&Secret::new("correct horse")),
        Some(rt.path()),
    )
    .unwrap();
    let after = wall();
    let handoff = fs::read_dir(rt.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = fs::read_to_string(&handoff).unwrap();
    let exp: u64 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        (before + HANDOFF_TTL_SECS..=after + HANDOFF_TTL_SECS).contains(&exp),
        "expiry {exp}, written between {before} and {after}"
    );
    assert!(read_handoff(&handoff, after).is_some(), "usable now");
    assert!(
        read_handoff(&handoff, after + HANDOFF_TTL_SECS).is_none(),
        "expired after one lifetime"
    );
}

/// Creating the key leaves only the key file: the temporary file it was written to, a copy
/// of the key, is removed once linked into place.
#[test]
fn creating_the_key_leaves_no_copy_behind() {
    let dir = tempfile::tempdir().unwrap();
    load_or_create_key(dir.path(), &dir.path().join("key"), None, None).unwrap();
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["key"]);
}
