//! The router: the dialect's endpoints, the admin API and the 404/405 answers, under the fault
//! layer.

use std::sync::Arc;

use axum::Router;
use axum::response::{IntoResponse, Response};

use crate::admin::{self, AdminState};
use crate::dialects;
use crate::model::Shared;
use crate::oauth_error::OAuthError;
use crate::server::faults;

/// The whole application: routes and admin API under the fault layer (rules and journal).
pub(crate) fn router(shared: Arc<Shared>, runtime: tokio::runtime::Handle) -> Router {
    let admin = admin::router(AdminState {
        shared: Arc::clone(&shared),
        runtime,
    });
    let spec = dialects::spec(shared.dialect);
    spec.routes()
        .layer(axum::Extension(spec))
        .with_state(Arc::clone(&shared))
        .nest("/__admin", admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(shared, faults::layer))
}

async fn not_found() -> Response {
    OAuthError::new(404, "not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    OAuthError::new(
        405,
        "invalid_request",
        "method not allowed on this endpoint",
    )
    .into_response()
}
