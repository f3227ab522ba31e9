//! Human `auth status`: what a person reads (the `--json` fields are covered in login.rs).

use crate::support::Fixture;

/// Runs human `auth status` with optional `--token` and `CLIAUTH_TOKEN`, expects success and
/// returns stdout.
async fn human_status(f: &Fixture, flag: Option<&str>, env: Option<&str>) -> String {
    let mut args = Vec::new();
    if let Some(t) = flag {
        args.extend(["--token", t]);
    }
    args.extend(["auth", "status"]);
    let mut cmd = f.cmd(&args);
    if let Some(t) = env {
        cmd.env("CLIAUTH_TOKEN", t);
    }
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    for t in flag.into_iter().chain(env) {
        assert!(!run.stdout.contains(t), "status prints the token: {run:?}");
    }
    run.stdout
}

#[tokio::test]
async fn human_status_names_the_token_source_in_words() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let out = human_status(&f, None, None).await;
    assert!(out.contains("Token source: the stored session\n"), "{out}");
    assert!(out.contains("  Refresh token: "), "{out}");

    let out = human_status(&f, None, Some("env-token-abc")).await;
    assert!(out.contains("Token source: CLIAUTH_TOKEN\n"), "{out}");
    let out = human_status(&f, Some("flag-token-xyz"), Some("env-token-abc")).await;
    assert!(out.contains("Token source: the --token flag\n"), "{out}");

    assert_eq!(f.run(&["auth", "logout"]).await.code, 0);
    let run = f
        .run_stdin(&["auth", "login", "--with-token"], "pat-1234567890\n")
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let out = human_status(&f, None, None).await;
    assert!(
        out.contains("Token source: the stored personal access token\n"),
        "{out}"
    );
    assert!(!out.contains("Refresh token:"), "{out}");
}
