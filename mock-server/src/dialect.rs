//! What a dialect may change: [`DialectSpec`]. The oauth layer asks the running dialect (an
//! axum extension of type [`Spec`]) for the shapes that differ; the dialects themselves live in
//! `dialects/`, one file each.

use std::sync::Arc;

use axum::Router;
use axum::response::Response;

use crate::config::{ClientConfig, Config};
use crate::model::Shared;
use crate::model::grants::TokenPair;
use crate::rules::CatalogName;

/// One product's paths and shapes over the engine. Every method but [`routes`] and
/// [`native_client_id`] has a default: cliauth's (RFC) behaviour.
///
/// [`routes`]: DialectSpec::routes
/// [`native_client_id`]: DialectSpec::native_client_id
pub(crate) trait DialectSpec: Send + Sync + 'static {
    /// The endpoints the product serves, mapped onto the engine's handlers or its own.
    fn routes(&self) -> Router<Arc<Shared>>;

    /// The public client id the product's CLI sends; the default client is renamed to it.
    fn native_client_id(&self) -> &'static str;

    /// `(dialect path, cliauth path)` pairs: a rule written for cliauth's path matches the
    /// dialect's twin, and the journal records the cliauth path as `canonical_path`.
    fn canonical_paths(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }

    /// Adds the product's fields to the token response (RFC 6749 §5.1 allows extensions);
    /// the default adds none.
    fn token_extras(
        &self,
        _pair: &TokenPair,
        _body: &mut serde_json::Map<String, serde_json::Value>,
    ) {
    }

    /// The body of a successful revocation (RFC 7009 §2.2 needs none).
    fn revoke_body(&self) -> serde_json::Value {
        serde_json::json!({})
    }

    /// A catalogue failure in the product's own error shape; `None` (the default) answers the
    /// engine's RFC 6749 body.
    fn catalog(&self, _name: CatalogName) -> Option<Response> {
        None
    }

    /// The cliauth path a dialect path stands for, if any.
    fn canonical_path(&self, path: &str) -> Option<&'static str> {
        self.canonical_paths()
            .iter()
            .find(|(dialect_path, _)| *dialect_path == path)
            .map(|(_, cliauth_path)| *cliauth_path)
    }

    /// Gives the config the product's client: when the clients are still the default, the
    /// default client is renamed to [`native_client_id`](DialectSpec::native_client_id).
    fn apply_config_defaults(&self, config: &mut Config) {
        if config.clients == [ClientConfig::default()] {
            self.native_client_id()
                .clone_into(&mut config.clients[0].client_id);
        }
    }
}

/// The running dialect, as handlers extract it (`Extension<Spec>`).
pub(crate) type Spec = &'static dyn DialectSpec;
