//! What a rule does: [`Action`], its wire form (one flat table per action, so that a key that
//! does not belong to the kind is named), and the catalogue of ready-made failures.
//!
//! Adding a fault action: its variant in [`Action`] (the fields are its TOML/JSON keys), its
//! twin in `ActionKind` with its keys in `ActionKind::fields` and its arm in
//! `TryFrom<RawAction>` (all in this file), then its behaviour as one arm of
//! `server::faults::execute`. Every match is exhaustive, so the compiler names each place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RawAction")]
#[non_exhaustive]
pub enum Action {
    /// Answer with this status, body and headers; the request is not processed.
    Status {
        /// HTTP status code.
        status: u16,
        /// Response body.
        #[serde(default)]
        body: String,
        /// Response headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// Wait, then process normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Process normally, then wait this long before the first byte of the response.
    SlowFirstByte {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Close the connection (FIN) without answering; the request is not processed.
    Drop,
    /// Reset the connection (RST) without answering; the request is not processed.
    Reset,
    /// Process normally, announce the full `Content-Length`, send half the body and close.
    Truncate,
    /// Answer 200 with a JSON content type and a body that is not valid JSON.
    MalformedJson,
    /// Answer 200 with an OAuth error body.
    #[serde(rename = "oauth_error_200")]
    OauthError200 {
        /// The `error` code.
        #[serde(default = "default_oauth_error")]
        error: String,
    },
    /// Answer 200 with an HTML login page (a captive portal or SSO interstitial).
    HtmlLogin,
    /// Process the request (a grant is committed, a token rotated), then reset the connection.
    CommitThenReset,
    /// Wait until `count` requests are held or an admin release, then let them through one
    /// at a time in `order`, each finishing before the next starts.
    Hold {
        /// How many requests release the barrier.
        count: usize,
        /// Release order.
        #[serde(default)]
        order: HoldOrder,
    },
    /// A named resource-side failure.
    Catalog {
        /// Which one.
        name: CatalogName,
    },
}

fn default_oauth_error() -> String {
    "invalid_grant".to_owned()
}

/// The wire form of an [`Action`]: one flat table, so that an unknown key is an error for
/// every kind (serde ignores extra keys of internally tagged unit variants) and a key that
/// does not belong to the kind is named.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    kind: ActionKind,
    status: Option<u16>,
    body: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    ms: Option<u64>,
    error: Option<String>,
    count: Option<usize>,
    order: Option<HoldOrder>,
    name: Option<CatalogName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionKind {
    Status,
    Delay,
    SlowFirstByte,
    Drop,
    Reset,
    Truncate,
    MalformedJson,
    #[serde(rename = "oauth_error_200")]
    OauthError200,
    HtmlLogin,
    CommitThenReset,
    Hold,
    Catalog,
}

impl ActionKind {
    /// The keys an action of this kind takes besides `kind`.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Self::Status => &["status", "body", "headers"],
            Self::Delay | Self::SlowFirstByte => &["ms"],
            Self::OauthError200 => &["error"],
            Self::Hold => &["count", "order"],
            Self::Catalog => &["name"],
            Self::Drop
            | Self::Reset
            | Self::Truncate
            | Self::MalformedJson
            | Self::HtmlLogin
            | Self::CommitThenReset => &[],
        }
    }
}

impl TryFrom<RawAction> for Action {
    type Error = String;

    fn try_from(raw: RawAction) -> Result<Self, String> {
        let kind = raw.kind;
        let mut present: Vec<&str> = Vec::new();
        for (key, set) in [
            ("status", raw.status.is_some()),
            ("body", raw.body.is_some()),
            ("headers", raw.headers.is_some()),
            ("ms", raw.ms.is_some()),
            ("error", raw.error.is_some()),
            ("count", raw.count.is_some()),
            ("order", raw.order.is_some()),
            ("name", raw.name.is_some()),
        ] {
            if set {
                present.push(key);
            }
        }
        let allowed = kind.fields();
        if let Some(extra) = present.iter().find(|k| !allowed.contains(k)) {
            return Err(format!(
                "field `{extra}` does not apply to action kind {kind:?}; expected one of {allowed:?}"
            ));
        }
        let need = |what: &str| format!("action kind {kind:?} needs field `{what}`");
        Ok(match kind {
            ActionKind::Status => Action::Status {
                status: raw.status.ok_or_else(|| need("status"))?,
                body: raw.body.unwrap_or_default(),
                headers: raw.headers.unwrap_or_default(),
            },
            ActionKind::Delay => Action::Delay {
                ms: raw.ms.ok_or_else(|| need("ms"))?,
            },
            ActionKind::SlowFirstByte => Action::SlowFirstByte {
                ms: raw.ms.ok_or_else(|| need("ms"))?,
            },
            ActionKind::Drop => Action::Drop,
            ActionKind::Reset => Action::Reset,
            ActionKind::Truncate => Action::Truncate,
            ActionKind::MalformedJson => Action::MalformedJson,
            ActionKind::OauthError200 => Action::OauthError200 {
                error: raw.error.unwrap_or_else(default_oauth_error),
            },
            ActionKind::HtmlLogin => Action::HtmlLogin,
            ActionKind::CommitThenReset => Action::CommitThenReset,
            ActionKind::Hold => Action::Hold {
                count: raw.count.ok_or_else(|| need("count"))?,
                order: raw.order.unwrap_or_default(),
            },
            ActionKind::Catalog => Action::Catalog {
                name: raw.name.ok_or_else(|| need("name"))?,
            },
        })
    }
}

/// Order in which held requests are released.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HoldOrder {
    /// First arrived, first released.
    #[default]
    Arrival,
    /// Last arrived, first released.
    Reverse,
}

/// The catalogue of ready-made resource-side failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CatalogName {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken,
    /// 403 `insufficient_scope` (RFC 6750 §3.1).
    InsufficientScope,
    /// 403 `private_teamspace_required`.
    PrivateTeamspaceRequired,
    /// 429 with `Retry-After`.
    RateLimited,
    /// 503 with `Retry-After`.
    Unavailable,
}
