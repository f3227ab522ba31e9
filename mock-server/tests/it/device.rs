//! The device authorization grant (RFC 8628).

use std::time::Duration;

use cliauth_mock::MockServer;
use rstest::rstest;

use crate::support::{get, http, post_form, s, server};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn start(server: &MockServer) -> serde_json::Value {
    let (status, body) = post_form(
        server,
        "/oauth/device_authorization",
        &[("client_id", "cliauth"), ("scope", "sync")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(server: &MockServer, device_code: &str) -> (u16, serde_json::Value) {
    post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", GRANT),
            ("device_code", device_code),
            ("client_id", "cliauth"),
        ],
    )
    .await
}

fn error(answer: &(u16, serde_json::Value)) -> &str {
    answer.1["error"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn device_authorization_answers_every_rfc8628_field() {
    let server = MockServer::start().await;
    let d = start(&server).await;
    let code = s(&d, "user_code");
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    assert_eq!(
        s(&d, "verification_uri"),
        format!("{}/device", server.url())
    );
    assert_eq!(
        s(&d, "verification_uri_complete"),
        format!("{}/device?user_code={code}", server.url())
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);
    let secrets = server.issued_secrets();
    assert!(secrets.contains(&s(&d, "device_code").to_owned()));
    assert!(
        !secrets.contains(&code.to_owned()),
        "user codes are not secrets"
    );
}

#[tokio::test]
async fn pending_until_approved_through_the_rust_api() {
    let server = MockServer::start().await;
    let d = start(&server).await;
    let dc = s(&d, "device_code");
    assert_eq!(error(&poll(&server, dc).await), "authorization_pending");
    server.approve_device(None).unwrap();
    server.advance_clock(Duration::from_secs(5));
    let (status, tokens) = poll(&server, dc).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "sync");
    // A device code is redeemed once.
    server.advance_clock(Duration::from_secs(5));
    assert_eq!(error(&poll(&server, dc).await), "invalid_grant");
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down_and_the_interval_grows_by_five() {
    let server = MockServer::start().await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    assert_eq!(error(&poll(&server, &dc).await), "authorization_pending");
    assert_eq!(error(&poll(&server, &dc).await), "slow_down");
    // The interval is now 10 s, so 5 s is too soon (and grows it to 15 s); 15 s is fine.
    server.advance_clock(Duration::from_secs(5));
    assert_eq!(error(&poll(&server, &dc).await), "slow_down");
    server.advance_clock(Duration::from_secs(15));
    assert_eq!(error(&poll(&server, &dc).await), "authorization_pending");
    let gaps: Vec<_> = server
        .journal()
        .iter()
        .filter(|e| e.grant_type.as_deref() == Some(GRANT))
        .map(|e| e.poll_gap_ms)
        .collect();
    assert_eq!(gaps[0], None);
    assert!(
        gaps[2].unwrap() >= 5000 && gaps[3].unwrap() >= 15000,
        "{gaps:?}"
    );
}

/// RFC 8628 §3.5: every `slow_down` adds 5 s for all later polls, so a client that caps its
/// interval (spec-kitty at 10 s) polls sooner than allowed. Each poll's journal entry carries
/// the interval in force, and `poll_too_fast` compares it with the gap, scripted or not.
#[tokio::test]
async fn each_poll_is_journaled_with_the_interval_in_force() {
    let server =
        server("[device]\ninterval = 6\nscript = [\"slow_down\", \"pending\", \"denied\"]\n").await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    assert_eq!(error(&poll(&server, &dc).await), "slow_down");
    // 6 s + one slow_down = 11 s: 10 s is too soon, 11 s is not.
    server.advance_clock(Duration::from_secs(10));
    assert_eq!(error(&poll(&server, &dc).await), "authorization_pending");
    server.advance_clock(Duration::from_secs(11));
    assert_eq!(error(&poll(&server, &dc).await), "access_denied");
    let polls: Vec<_> = server
        .journal()
        .into_iter()
        .filter(|e| e.grant_type.as_deref() == Some(GRANT))
        .map(|e| (e.poll_interval_ms, e.poll_too_fast()))
        .collect();
    assert_eq!(
        polls,
        [(None, false), (Some(11_000), true), (Some(11_000), false)]
    );
}

#[tokio::test]
async fn a_script_decides_each_poll() {
    let server = server("[device]\ninterval = 0\nscript = [\"pending\", \"pending\", \"slow_down\", \"pending\", \"approved\"]\n").await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    let mut answers = Vec::new();
    for _ in 0..5 {
        answers.push(error(&poll(&server, &dc).await).to_owned());
    }
    assert_eq!(
        answers,
        [
            "authorization_pending",
            "authorization_pending",
            "slow_down",
            "authorization_pending",
            "none"
        ]
    );
}

#[rstest]
#[case::denied("denied", "access_denied")]
#[case::expired("expired", "expired_token")]
#[tokio::test]
async fn scripts_end_in_denial_or_expiry(#[case] last: &str, #[case] error_code: &str) {
    let server = server(&format!(
        "[device]\ninterval = 0\nscript = [\"pending\", \"{last}\"]\n"
    ))
    .await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    assert_eq!(error(&poll(&server, &dc).await), "authorization_pending");
    assert_eq!(error(&poll(&server, &dc).await), error_code);
    assert_eq!(error(&poll(&server, &dc).await), error_code);
}

#[tokio::test]
async fn device_codes_expire_on_the_server_clock() {
    let server = server("[device]\nexpires_in = 30\n").await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    server.advance_clock(Duration::from_secs(31));
    assert_eq!(error(&poll(&server, &dc).await), "expired_token");
}

#[tokio::test]
async fn denial_through_the_rust_api_answers_access_denied() {
    let server = MockServer::start().await;
    let d = start(&server).await;
    server
        .deny_device(Some(&s(&d, "user_code").to_lowercase()))
        .unwrap();
    assert_eq!(
        error(&poll(&server, s(&d, "device_code")).await),
        "access_denied"
    );
}

#[rstest]
#[case::after_polls("approve_after_polls = 3", 3)]
#[case::after_delay("approve_after_secs = 20", 5)]
#[tokio::test]
async fn scripted_approval_after_polls_or_delay(#[case] setting: &str, #[case] approved_on: usize) {
    let server = server(&format!("[device]\n{setting}\nuser = \"bob\"\n")).await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    for n in 1..=approved_on {
        let answer = poll(&server, &dc).await;
        if n < approved_on {
            assert_eq!(error(&answer), "authorization_pending", "poll {n}");
        } else {
            assert_eq!(answer.0, 200, "poll {n}: {}", answer.1);
            let me = get(&server, "/api/v1/me", Some(s(&answer.1, "access_token")))
                .await
                .2;
            assert_eq!(me["username"], "bob");
        }
        server.advance_clock(Duration::from_secs(5));
    }
}

#[tokio::test]
async fn a_person_approves_on_the_verification_page() {
    let server = MockServer::start().await;
    let d = start(&server).await;
    let page = http()
        .get(s(&d, "verification_uri_complete"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{}\"", s(&d, "user_code"))));
    assert!(html.contains("name=\"action\" value=\"approve\""));
    let url = format!("{}/device", server.url());
    let submit = |password: &'static str| {
        let form = [
            ("user_code", s(&d, "user_code").to_owned()),
            ("username", "bob".into()),
            ("password", password.into()),
            ("action", "approve".into()),
        ];
        http().post(&url).form(&form).send()
    };
    assert_eq!(submit("wrong").await.unwrap().status(), 401);
    let ok = submit("bob-password").await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("Approved"));
    let (status, tokens) = poll(&server, s(&d, "device_code")).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&tokens, "access_token")))
            .await
            .2["username"],
        "bob"
    );
}

#[tokio::test]
async fn a_person_denies_on_the_verification_page() {
    let server = MockServer::start().await;
    let d = start(&server).await;
    let resp = http()
        .post(format!("{}/device", server.url()))
        .form(&[("user_code", s(&d, "user_code")), ("action", "deny")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        error(&poll(&server, s(&d, "device_code")).await),
        "access_denied"
    );
}

#[tokio::test]
async fn the_page_rejects_an_unknown_code() {
    let server = MockServer::start().await;
    let resp = http()
        .post(format!("{}/device", server.url()))
        .form(&[("user_code", "BCDF-GHJK"), ("action", "deny")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(server.approve_device(Some("BCDF-GHJK")).is_err());
    assert!(server.approve_device(None).is_err());
}

#[rstest]
#[case::missing_client(&[("scope", "sync")], 400, "invalid_request")]
#[case::unknown_client(&[("client_id", "nope")], 401, "invalid_client")]
#[tokio::test]
async fn device_authorization_errors(
    #[case] form: &[(&str, &str)],
    #[case] status: u16,
    #[case] error_code: &str,
) {
    let server = MockServer::start().await;
    let (got, body) = post_form(&server, "/oauth/device_authorization", form).await;
    assert_eq!((got, s(&body, "error")), (status, error_code));
}

#[tokio::test]
async fn a_device_code_is_bound_to_its_client() {
    let server =
        server("[[clients]]\nclient_id = \"cliauth\"\n[[clients]]\nclient_id = \"other\"\n").await;
    let d = start(&server).await;
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", GRANT),
            ("device_code", s(&d, "device_code")),
            ("client_id", "other"),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[tokio::test]
async fn a_zero_lifetime_device_code_is_born_expired() {
    let server = server("[device]\nexpires_in = 0\n").await;
    let dc = s(&start(&server).await, "device_code").to_owned();
    assert_eq!(error(&poll(&server, &dc).await), "expired_token");
}
