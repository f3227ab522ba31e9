//! Anthropic's OAuth as the `spacebot auth ...` CLI uses it (`../shared/SEED-CLIENTS.md` §6),
//! reached through the interception proxy (its hosts are constants): the authorize page at
//! `/oauth/authorize` (on `claude.ai` or `console.anthropic.com`), a fixed public client whose
//! redirect URI is the console's own callback page (not loopback: the page shows
//! `code#state` for the user to paste into the CLI), and the token endpoint
//! `/v1/oauth/token`, which takes a **JSON** body and answers `access_token`, `refresh_token`
//! and `expires_in` for the authorization-code and refresh grants alike.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::{ClientConfig, Config};
use crate::dialect::{DialectSpec, Spec};
use crate::model::Shared;
use crate::oauth;
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx};

/// The client id the CLI sends (a constant of its source).
pub(crate) const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";

/// The redirect URI the CLI sends: the console's page that shows `code#state`.
pub(crate) const REDIRECT_URI: &str = "https://console.anthropic.com/oauth/code/callback";

/// The scopes the CLI asks for.
const SCOPES: [&str; 3] = ["org:create_api_key", "user:profile", "user:inference"];

/// The spacebot dialect.
#[derive(Debug)]
pub(crate) struct Spacebot;

impl DialectSpec for Spacebot {
    fn routes(&self) -> Router<Arc<Shared>> {
        Router::new()
            .route("/oauth/authorize", get(oauth::authorize::authorize))
            .route("/oauth/code/callback", get(callback_page))
            .route("/v1/oauth/token", post(json_token))
    }

    fn native_client_id(&self) -> &'static str {
        CLIENT_ID
    }

    fn canonical_paths(&self) -> &'static [(&'static str, &'static str)] {
        &[("/v1/oauth/token", "/oauth/token")]
    }

    /// The default client becomes the CLI's: its id, the console callback as a redirect URI
    /// (beside the loopback ones), and the scopes the CLI asks for.
    fn apply_config_defaults(&self, config: &mut Config) {
        if config.clients == [ClientConfig::default()] {
            let client = &mut config.clients[0];
            CLIENT_ID.clone_into(&mut client.client_id);
            client.redirect_uris.push(REDIRECT_URI.to_owned());
            client.scopes.extend(SCOPES.iter().map(|s| (*s).to_owned()));
        }
    }
}

/// `POST /v1/oauth/token` with a JSON body: its string fields are the form fields of the
/// engine's token endpoint (RFC 6749 §4.1.3, §6), so every grant, rule and rotation policy
/// works as at `/oauth/token`.
async fn json_token(
    State(s): State<Arc<Shared>>,
    Extension(spec): Extension<Spec>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let form = match &ctx.json {
        Some(Ok(body)) => json_fields(body)?,
        Some(Err(why)) => return Err(OAuthError::invalid_request(why)),
        None => {
            return Err(OAuthError::invalid_request(
                "the body must be application/json (this token endpoint takes JSON)",
            ));
        }
    };
    let as_form = RequestCtx {
        form: Some(Ok(form)),
        json: None,
        query: ctx.query.clone(),
        basic: ctx.basic.clone(),
        bearer: ctx.bearer.clone(),
        peer: ctx.peer,
    };
    oauth::token::token(State(s), Extension(spec), Ctx(Arc::new(as_form))).await
}

/// A JSON object's fields as form fields: strings as they are, numbers as their text.
fn json_fields(body: &serde_json::Value) -> Result<HashMap<String, String>, OAuthError> {
    let object = body
        .as_object()
        .ok_or_else(|| OAuthError::invalid_request("the JSON body must be an object"))?;
    let mut form = HashMap::new();
    for (name, value) in object {
        let text = match value {
            serde_json::Value::String(text) => text.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Array(_)
            | serde_json::Value::Object(_) => {
                return Err(OAuthError::invalid_request(&format!(
                    "field {name} must be a string"
                )));
            }
        };
        form.insert(name.clone(), text);
    }
    Ok(form)
}

/// `GET /oauth/code/callback?code=..&state=..`: the page the user copies `code#state` from.
async fn callback_page(ctx: Ctx) -> Result<Response, OAuthError> {
    let query = ctx
        .query
        .as_ref()
        .map_err(|e| OAuthError::invalid_request(e))?;
    let code = query.get("code").map_or("", String::as_str);
    let state = query.get("state").map_or("", String::as_str);
    if code.is_empty() {
        return Err(OAuthError::invalid_request("missing parameter code"));
    }
    let pasted = html_escape(&format!("{code}#{state}"));
    Ok(Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authentication code</title>\
         </head><body><p>Paste this code into your terminal:</p><pre id=\"code\">{pasted}</pre>\
         </body></html>"
    ))
    .into_response())
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_and_numbers_become_form_fields_and_others_are_refused() {
        let form =
            json_fields(&serde_json::json!({"grant_type": "refresh_token", "n": 3})).unwrap();
        assert_eq!(form["grant_type"], "refresh_token");
        assert_eq!(form["n"], "3");
        assert!(json_fields(&serde_json::json!({"a": [1]})).is_err());
        assert!(json_fields(&serde_json::json!(["x"])).is_err());
    }

    #[test]
    fn the_default_client_becomes_the_clis_fixed_client() {
        let mut config = Config::default();
        Spacebot.apply_config_defaults(&mut config);
        let client = &config.clients[0];
        assert_eq!(client.client_id, CLIENT_ID);
        assert!(client.redirect_uris.iter().any(|r| r == REDIRECT_URI));
        assert!(client.scopes.iter().any(|s| s == "user:inference"));
    }
}
