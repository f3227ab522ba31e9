//! The README's Rust snippet ("Use it from your tests") is this test's body: the test below
//! checks that the README's block is, line for line, the part of this file between the markers.

use std::time::Duration;

use cliauth_mock::{Action, Config, MockServer, Rule, RuleMatch};

#[tokio::test]
async fn readme_rust_example() -> Result<(), Box<dyn std::error::Error>> {
    // readme-start
    let server = MockServer::builder()
        .config(Config::from_toml_str("[rotation]\npolicy = \"strict\"\n")?)
        .start()
        .await?;
    let http = reqwest::Client::builder().no_proxy().build()?;
    let token_url = format!("{}/oauth/token", server.url());
    let login = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
    ];
    let tokens: serde_json::Value = http
        .post(&token_url)
        .form(&login)
        .send()
        .await?
        .json()
        .await?;
    let rt = tokens["refresh_token"].as_str().unwrap_or_default();
    // The next refresh is processed (the token rotates), then the connection is reset.
    let lost = RuleMatch::default().grant_type("refresh_token");
    server.add_rule(Rule::new("lost", lost, Action::CommitThenReset).times(1));
    let refresh = [("grant_type", "refresh_token"), ("refresh_token", rt)];
    assert!(http.post(&token_url).form(&refresh).send().await.is_err());
    // A client that retries with the same token now commits a reuse (strict rotation).
    let retry = http.post(&token_url).form(&refresh).send().await?;
    assert_eq!(retry.status(), 400);
    let refreshes = server
        .journal()
        .iter()
        .filter(|e| e.grant_type.as_deref() == Some("refresh_token"))
        .count();
    assert_eq!(refreshes, 2);
    assert!(
        server
            .issued_secrets()
            .iter()
            .all(|s| !"what the client printed".contains(s.as_str()))
    );
    server.advance_clock(Duration::from_secs(3601));
    server.shutdown().await;
    // readme-end
    Ok(())
}

#[test]
fn the_readme_rust_snippet_is_this_test() {
    let readme = include_str!("../../README.md");
    let this = include_str!("readme.rs");
    let block: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("<!-- rust-example"))
        .skip_while(|l| !l.starts_with("```rust"))
        .skip(1)
        .take_while(|l| !l.starts_with("```"))
        .collect();
    let body: Vec<&str> = this
        .lines()
        .skip_while(|l| l.trim() != "// readme-start")
        .skip(1)
        .take_while(|l| l.trim() != "// readme-end")
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect();
    assert!(
        !block.is_empty(),
        "README.md has no ```rust block after <!-- rust-example"
    );
    assert_eq!(
        block, body,
        "README.md's Rust snippet differs from tests/it/readme.rs"
    );
}
