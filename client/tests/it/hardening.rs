//! Issue 13: hostile or absurd input never panics, never stores a session it should not,
//! and never reaches the terminal raw.

use crate::support::Fixture;

/// `--timeout 18446744073709551615` is a usage error (exit 2) naming the bound, for the
/// browser and the device login alike (it used to panic adding it to an `Instant`).
#[rstest::rstest]
#[case::browser(&["auth", "login", "--no-browser", "--timeout", "18446744073709551615"])]
#[case::device(&["auth", "login", "--device", "--timeout", "18446744073709551615"])]
#[tokio::test]
async fn an_out_of_range_login_timeout_is_a_usage_error(#[case] args: &[&str]) {
    let f = Fixture::new("").await;
    let run = f.run(args).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--timeout"), "{run:?}");
    assert!(run.stderr.contains("86400"), "{run:?}");
}
