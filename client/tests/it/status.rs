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

    // Override tokens are checked with the server (#16), so they must be real ones.
    let valid = f.issued_token().await;
    let out = human_status(&f, None, Some(&valid)).await;
    assert!(out.contains("Token source: CLIAUTH_TOKEN\n"), "{out}");
    let out = human_status(&f, Some(&valid), Some("env-token-abc")).await;
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

/// A --token the server accepts is reported as checked, with the user the server names.
#[tokio::test]
async fn status_checks_a_flag_token_with_the_server() {
    let f = Fixture::new("").await;
    let valid = f.issued_token().await;
    let out = human_status(&f, Some(&valid), None).await;
    assert!(
        out.starts_with(&format!("Logged in to {} as alice (token)", f.server.url())),
        "{out}"
    );
    assert!(
        out.contains("  Server check: accepted by the server\n"),
        "{out}"
    );
}

/// A CLIAUTH_TOKEN the server rejects is `unauthenticated` (exit 4), not "Logged in".
#[tokio::test]
async fn status_reports_an_env_token_the_server_rejects() {
    let f = Fixture::new("").await;
    let mut cmd = f.cmd(&["auth", "status"]);
    cmd.env("CLIAUTH_TOKEN", "not-a-token-the-server-issued");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .contains("error: the server rejected the access token from CLIAUTH_TOKEN"),
        "{run:?}"
    );
    assert!(run.stderr.contains("hint: unset CLIAUTH_TOKEN"), "{run:?}");
    assert!(!run.stdout.contains("Logged in"), "{run:?}");
}

/// When the server cannot answer, status still reports the token and says it could not check.
#[tokio::test]
async fn status_says_when_it_could_not_check_the_token() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let f = Fixture::new("").await;
    let failing = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&failing)
        .await;
    let mut cmd = f.cmd(&["--token-stdin", "auth", "status", "--json"]);
    cmd.env("CLIAUTH_SERVER_URL", failing.uri());
    let run = f.run_cmd(cmd, Some("some-token\n")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let j = run.json();
    let check = j["server_check"].as_str().unwrap();
    assert!(check.starts_with("could not check: "), "{check}");
    assert!(check.contains("HTTP 503"), "{check}");
    assert!(
        j["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("could not check the token with the server"),
        "{j}"
    );
}
