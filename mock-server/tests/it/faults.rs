//! One test per fault action, showing what a client observes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use cliauth_mock::{Action, CatalogName, HoldOrder, MockServer, Rule, RuleMatch};
use rstest::rstest;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{get, http, password_login, refresh, s, server};

fn token_path() -> RuleMatch {
    RuleMatch::default().method("POST").path("/oauth/token")
}

/// Sends a raw GET /api/v1/meta and returns what the socket gave back.
async fn raw_meta(server: &MockServer) -> std::io::Result<Vec<u8>> {
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port())).await?;
    sock.write_all(b"GET /api/v1/meta HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await?;
    Ok(buf)
}

/// Waits until `n` requests are held at `rule` (a condition, polled; bounded at 10 s).
async fn until_held(server: &MockServer, rule: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.held(rule) < n {
        assert!(
            Instant::now() < deadline,
            "requests never reached the barrier"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn status_action_answers_the_scripted_response_once() {
    let server = MockServer::start().await;
    let headers = BTreeMap::from([("Retry-After".to_owned(), "2".to_owned())]);
    let body = "{\"error\":\"temporarily_unavailable\"}".to_owned();
    server.add_rule(
        Rule::new(
            "refresh-503",
            token_path().grant_type("refresh_token"),
            Action::Status {
                status: 503,
                body,
                headers,
            },
        )
        .times(1),
    );
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "cliauth"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
    // The token was not consumed and the rule is spent.
    assert_eq!(refresh(&server, &rt).await.0, 200);
    let last = server.journal();
    assert_eq!(last[1].rule.as_deref(), Some("refresh-503"));
    assert_eq!(last[2].rule, None);
}

#[tokio::test]
async fn delay_action_waits_then_answers_normally() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "slow-meta",
        RuleMatch::default().path("/api/v1/meta"),
        Action::Delay { ms: 200 },
    ));
    let started = Instant::now();
    assert_eq!(get(&server, "/api/v1/meta", None).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn slow_first_byte_commits_the_grant_before_a_client_timeout_fires() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new("slow", token_path(), Action::SlowFirstByte { ms: 3_000 }).times(1));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let err = client
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    // The client saw nothing, yet the server minted a pair: the lost-response case. (On a
    // loaded machine the handler may still be running when the client gives up; wait for it.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.issued_secrets().len() < 2 {
        assert!(Instant::now() < deadline, "the grant was never committed");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert_eq!(server.issued_secrets().len(), 2);
}

#[tokio::test]
async fn drop_action_closes_without_an_answer() {
    let server = MockServer::start().await;
    server.add_rule(
        Rule::new(
            "drop",
            RuleMatch::default().path("/api/v1/meta"),
            Action::Drop,
        )
        .times(1),
    );
    let bytes = raw_meta(&server).await.expect("a clean close, not a reset");
    assert!(bytes.is_empty());
    let err = http()
        .get(format!("{}/api/v1/meta", server.url()))
        .send()
        .await;
    assert!(err.is_ok(), "the rule fired once only");
    assert_eq!(server.journal()[0].status, 0);
}

#[tokio::test]
async fn reset_action_resets_the_connection() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "rst",
        RuleMatch::default().path("/api/v1/meta"),
        Action::Reset,
    ));
    let err = raw_meta(&server).await.expect_err("a reset");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    let via_reqwest = http()
        .get(format!("{}/api/v1/meta", server.url()))
        .send()
        .await
        .unwrap_err();
    assert!(
        !via_reqwest.is_timeout() && via_reqwest.status().is_none(),
        "{via_reqwest:?}"
    );
    assert!(
        server
            .journal()
            .iter()
            .all(|e| e.status == 0 && e.rule.as_deref() == Some("rst"))
    );
}

#[tokio::test]
async fn truncate_action_cuts_the_body_short_of_its_content_length() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "cut",
        RuleMatch::default().path("/api/v1/meta"),
        Action::Truncate,
    ));
    let raw = String::from_utf8(raw_meta(&server).await.unwrap()).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let announced: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(body.len() < announced, "{body:?} vs {announced}");
    let resp = http()
        .get(format!("{}/api/v1/meta", server.url()))
        .send()
        .await
        .unwrap();
    assert!(resp.bytes().await.is_err());
}

#[tokio::test]
async fn malformed_json_action_answers_200_with_broken_json() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new("bad-json", token_path(), Action::MalformedJson));
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.json::<serde_json::Value>().await.is_err());
}

#[tokio::test]
async fn oauth_error_200_action_hides_an_error_in_a_success() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "e200",
        token_path(),
        Action::OauthError200 {
            error: "invalid_grant".to_owned(),
        },
    ));
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn html_login_action_answers_a_web_page_where_json_was_expected() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "portal",
        RuleMatch::default().path("/api/v1/me"),
        Action::HtmlLogin,
    ));
    let resp = http()
        .get(format!("{}/api/v1/me", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(resp.text().await.unwrap().contains("<form"));
}

#[tokio::test]
async fn commit_then_reset_rotates_the_token_but_the_client_never_sees_the_successor() {
    let server = MockServer::start().await;
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    server.add_rule(
        Rule::new(
            "lost",
            token_path().grant_type("refresh_token"),
            Action::CommitThenReset,
        )
        .times(1),
    );
    let err = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "cliauth"),
        ])
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    let lost = server.journal().pop().unwrap();
    assert_eq!((lost.status, lost.outcome.as_deref()), (0, Some("rotated")));
    // Retrying with the old token is now a reuse under strict rotation.
    let (status, body) = refresh(&server, &rt).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[rstest]
#[case::arrival(HoldOrder::Arrival, [200, 400])]
#[case::reverse(HoldOrder::Reverse, [400, 200])]
#[tokio::test]
async fn hold_makes_a_refresh_race_deterministic(
    #[case] order: HoldOrder,
    #[case] expected: [u16; 2],
) {
    let server = MockServer::start().await;
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    server.add_rule(Rule::new(
        "race",
        token_path().grant_type("refresh_token"),
        Action::Hold { count: 2, order },
    ));
    let first = tokio::spawn({
        let url = server.url();
        let rt = rt.clone();
        async move {
            http()
                .post(format!("{url}/oauth/token"))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &rt)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    until_held(&server, "race", 1).await;
    let second = refresh(&server, &rt).await.0;
    let first = first.await.unwrap();
    assert_eq!([first, second], expected);
}

#[tokio::test]
async fn hold_is_released_through_the_rust_api() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "gate",
        RuleMatch::default().path("/api/v1/meta"),
        Action::Hold {
            count: 99,
            order: HoldOrder::Arrival,
        },
    ));
    let pending = tokio::spawn({
        let url = server.url();
        async move {
            http()
                .get(format!("{url}/api/v1/meta"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    until_held(&server, "gate", 1).await;
    assert_eq!(server.release_hold("gate"), 1);
    assert_eq!(pending.await.unwrap(), 200);
}

#[rstest]
#[case::invalid_token(CatalogName::InvalidToken, 401, "invalid_token", Some(("www-authenticate", "error=\"invalid_token\"")))]
#[case::insufficient_scope(CatalogName::InsufficientScope, 403, "insufficient_scope", Some(("www-authenticate", "error=\"insufficient_scope\"")))]
#[case::private_teamspace(
    CatalogName::PrivateTeamspaceRequired,
    403,
    "private_teamspace_required",
    None
)]
#[case::rate_limited(CatalogName::RateLimited, 429, "rate_limited", Some(("retry-after", "1")))]
#[case::unavailable(CatalogName::Unavailable, 503, "temporarily_unavailable", Some(("retry-after", "1")))]
#[tokio::test]
async fn catalog_failures_look_like_the_real_thing(
    #[case] name: CatalogName,
    #[case] status: u16,
    #[case] error: &str,
    #[case] header: Option<(&str, &str)>,
) {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "cat",
        RuleMatch::default().path("/api/v1/ingress"),
        Action::Catalog { name },
    ));
    let resp = http()
        .post(format!("{}/api/v1/ingress", server.url()))
        .json(&serde_json::json!({"events": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), status);
    if let Some((k, v)) = header {
        assert!(resp.headers()[k].to_str().unwrap().contains(v));
    }
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        error
    );
}

#[tokio::test]
async fn nth_and_form_matchers_pick_exactly_one_request() {
    let server = MockServer::start().await;
    server.add_rule(Rule::new(
        "second-bob",
        token_path().form("username", "bob").nth(2),
        Action::Catalog {
            name: CatalogName::Unavailable,
        },
    ));
    let url = server.url();
    let login = |user: &'static str| {
        let password = format!("{user}-password");
        let url = url.clone();
        async move {
            http()
                .post(format!("{url}/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("username", user),
                    ("password", &password),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let statuses = [
        login("bob").await,
        login("alice").await,
        login("bob").await,
        login("bob").await,
    ];
    assert_eq!(statuses, [200, 200, 503, 200]);
}

#[tokio::test]
async fn rules_from_the_config_file_apply_per_client() {
    let server = server(
        "[[clients]]\nclient_id = \"a\"\n[[clients]]\nclient_id = \"b\"\n\
[[rules]]\nname = \"once-each\"\ntimes = 1\nmatch = { path = \"/oauth/token\" }\naction = { kind = \"catalog\", name = \"unavailable\" }\n",
    )
    .await;
    let url = server.url();
    let login = |client: &'static str| {
        let url = url.clone();
        async move {
            http()
                .post(format!("{url}/oauth/token"))
                .form(&[
                    ("grant_type", "password"),
                    ("client_id", client),
                    ("username", "alice"),
                    ("password", "alice-password"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        [
            login("a").await,
            login("a").await,
            login("b").await,
            login("b").await
        ],
        [503, 200, 503, 200]
    );
}

#[tokio::test]
async fn a_tls_client_hello_on_the_plain_port_is_journaled_and_closed() {
    let server = MockServer::start().await;
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    sock.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = sock.read_to_end(&mut buf).await.expect("a clean close");
    assert_eq!(read, 0);
    assert_eq!(get(&server, "/api/v1/meta", None).await.0, 200);
    let journal = server.journal();
    assert!(journal[0].tls_handshake);
    assert!(!journal[1].tls_handshake);
}
