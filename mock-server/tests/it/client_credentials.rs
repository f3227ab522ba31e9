//! The `client_credentials` grant (RFC 6749 §4.4): confidential clients only, no refresh token,
//! scopes checked like every other grant.

use rstest::rstest;

use crate::confidential::{Auth, CONFIG, post};
use crate::support::{get, s, server};

const GRANT: (&str, &str) = ("grant_type", "client_credentials");

#[tokio::test]
async fn a_confidential_client_gets_an_access_token_for_itself_and_no_refresh_token() {
    let server = server(CONFIG).await;
    let (status, _, tokens) = post(
        &server,
        "/oauth/token",
        &[GRANT, ("scope", "sync openid")],
        Auth::Basic("svc-basic", "basic-secret"),
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(s(&tokens, "token_type"), "Bearer");
    assert_eq!(s(&tokens, "scope"), "sync openid");
    // §4.4.3: no refresh token; and no ID token, as no user signed in.
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    let (_, _, info) = post(
        &server,
        "/oauth/introspect",
        &[("token", s(&tokens, "access_token"))],
        Auth::Post("svc-any", "any-secret"),
    )
    .await;
    assert_eq!(info["active"], true, "{info}");
    assert_eq!(
        (s(&info, "client_id"), s(&info, "sub"), s(&info, "scope")),
        ("svc-basic", "svc-basic", "sync openid")
    );
}

#[rstest]
#[case::post(Auth::Post("svc-post", "post-secret"), 200, None)]
#[case::public_client(Auth::IdOnly("cliauth"), 400, Some("unauthorized_client"))]
#[case::unauthenticated(Auth::IdOnly("svc-any"), 401, Some("invalid_client"))]
#[case::wrong_secret(Auth::Basic("svc-any", "nope"), 401, Some("invalid_client"))]
#[case::names_no_client(Auth::Nothing, 400, Some("invalid_request"))]
#[tokio::test]
async fn only_an_authenticated_confidential_client_may_use_it(
    #[case] auth: Auth<'_>,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = server(CONFIG).await;
    let (got, _, body) = post(&server, "/oauth/token", &[GRANT], auth).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"].as_str(), error, "{body}");
}

#[rstest]
#[case::scope_not_allowed("scopes = [\"sync\"]\n", "admin", 400, Some("invalid_scope"))]
#[case::grant_not_allowed("grants = [\"refresh_token\"]\n", "", 400, Some("unauthorized_client"))]
#[case::allowed("scopes = [\"sync\"]\n", "sync", 200, None)]
#[tokio::test]
async fn the_clients_grants_and_scopes_apply(
    #[case] extra: &str,
    #[case] scope: &str,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = server(&format!(
        "[[clients]]\nclient_id = \"svc\"\nclient_secret = \"s\"\n{extra}"
    ))
    .await;
    let (got, _, body) = post(
        &server,
        "/oauth/token",
        &[GRANT, ("scope", scope)],
        Auth::Basic("svc", "s"),
    )
    .await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"].as_str(), error, "{body}");
}

#[tokio::test]
async fn discovery_advertises_client_credentials() {
    let server = server("").await;
    let (_, _, m) = get(&server, "/.well-known/oauth-authorization-server", None).await;
    let grants = m["grant_types_supported"].as_array().unwrap();
    assert!(grants.iter().any(|g| g == "client_credentials"), "{m}");
}
