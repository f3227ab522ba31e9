//! Snapshots of the human output of every client command (exit code, stdout and stderr
//! together), so a wording change is a reviewed diff (`cargo insta review`, or
//! `INSTA_UPDATE=always cargo test -p cliauth --test it snapshots` and read the diff). Ports,
//! temp paths, fingerprints, codes, tokens and times are replaced by placeholders.

use regex::Regex;

use crate::support::{Fixture, Run};

/// One command's transcript with everything that varies between runs replaced.
fn transcript(f: &Fixture, args: &[&str], run: &Run) -> String {
    let mut text = format!(
        "$ cliauth {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    );
    for secret in f.server.issued_secrets() {
        text = text.replace(&secret, "[SECRET]");
    }
    text = text
        .replace(&f.server.url(), "[SERVER]")
        .replace(&f.home.path().display().to_string(), "[HOME]");
    for (pattern, with) in [
        (r"127\.0\.0\.1([:_])\d+", "127.0.0.1${1}[PORT]"),
        (r"-[0-9a-f]{8}\.(cred|lock)", "-[HASH].$1"),
        (r"Fingerprint: [0-9a-f]+", "Fingerprint: [FP]"),
        (r#""fingerprint": ?"[0-9a-f]+""#, r#""fingerprint":"[FP]""#),
        (r"Code: [A-Z0-9-]+", "Code: [USER-CODE]"),
        (r"expires in (\d+[dhms] ?)+", "expires in [DURATION]"),
        (r"\b\d+ s\b", "[N] s"),
        (r"\d+(\.\d+)? ?ms\b", "[N] ms"),
        (r"pid=\d+", "pid=[PID]"),
        (r"\b\d{10}\b", "[UNIX-TIME]"),
    ] {
        text = Regex::new(pattern)
            .expect("a valid pattern")
            .replace_all(&text, with)
            .into_owned();
    }
    text
}

async fn snap(f: &Fixture, args: &[&str]) -> String {
    let run = f.run(args).await;
    transcript(f, args, &run)
}

async fn snap_stdin(f: &Fixture, args: &[&str], stdin: &str) -> String {
    let run = f.run_stdin(args, stdin).await;
    transcript(f, args, &run)
}

#[tokio::test]
async fn human_output_of_every_command() {
    let f = Fixture::new("[device]\ninterval = 0\napprove_after_polls = 1\n").await;
    insta::assert_snapshot!("status_logged_out", snap(&f, &["auth", "status"]).await);
    insta::assert_snapshot!("token_logged_out", snap(&f, &["auth", "token"]).await);
    // A variable, so the snapshot headers (which quote the expression) name no password.
    let password = "alice-password\n";
    let login = [
        "auth",
        "login",
        "--password",
        "--username",
        "alice",
        "--password-stdin",
    ];
    insta::assert_snapshot!("login_password", snap_stdin(&f, &login, password).await);
    insta::assert_snapshot!("login_already", snap_stdin(&f, &login, password).await);
    insta::assert_snapshot!("status", snap(&f, &["auth", "status"]).await);
    insta::assert_snapshot!("token", snap(&f, &["auth", "token"]).await);
    insta::assert_snapshot!("doctor", snap(&f, &["auth", "doctor"]).await);
    insta::assert_snapshot!("refresh", snap(&f, &["auth", "refresh"]).await);
    insta::assert_snapshot!("sync_now", snap(&f, &["sync", "now"]).await);
    insta::assert_snapshot!("logout", snap(&f, &["auth", "logout"]).await);
    insta::assert_snapshot!("logout_again", snap(&f, &["auth", "logout"]).await);
    insta::assert_snapshot!(
        "login_device",
        snap(&f, &["auth", "login", "--device", "--no-browser"]).await
    );
    insta::assert_snapshot!("logout_device", snap(&f, &["auth", "logout"]).await);
    insta::assert_snapshot!(
        "login_with_token",
        snap_stdin(&f, &["auth", "login", "--with-token"], "pat-1234567890\n").await
    );
    insta::assert_snapshot!("logout_all", snap(&f, &["auth", "logout", "--all"]).await);
    insta::assert_snapshot!(
        "login_wrong_password",
        snap_stdin(&f, &login, "wrong-password\n").await
    );
    insta::assert_snapshot!("help", snap(&f, &["--help"]).await);
    insta::assert_snapshot!(
        "auth_login_help",
        snap(&f, &["auth", "login", "--help"]).await
    );
}
