//! cliauth's own API (`docs/interfaces.md` section 3): the default dialect.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::dialect::DialectSpec;
use crate::hosted;
use crate::model::Shared;
use crate::oauth;

/// cliauth's own API: RFC shapes throughout, so every other [`DialectSpec`] method keeps its
/// default.
#[derive(Debug)]
pub(crate) struct Cliauth;

impl DialectSpec for Cliauth {
    fn native_client_id(&self) -> &'static str {
        "cliauth"
    }

    fn routes(&self) -> Router<Arc<Shared>> {
        routes()
    }
}

/// cliauth's own endpoints.
fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::discovery::oauth_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oauth::discovery::openid_metadata),
        )
        .route("/jwks.json", get(oauth::discovery::jwks))
        .route("/oauth/authorize", get(oauth::authorize::authorize))
        .route("/oauth/token", post(oauth::token::token))
        .route(
            "/oauth/device_authorization",
            post(oauth::device::authorization),
        )
        .route(
            "/device",
            get(oauth::device::page_get).post(oauth::device::page_post),
        )
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route("/oauth/introspect", post(oauth::revoke::introspect))
        .route("/oauth/register", post(oauth::register::register))
        .route("/api/v1/meta", get(hosted::meta))
        .route("/api/v1/me", get(hosted::me))
        .route("/api/v1/ingress", post(hosted::ingress))
        .route("/api/v1/session", get(hosted::session))
        .route("/api/v1/auth/login", post(hosted::login))
}
