//! The token that opens the admin API to non-loopback peers (`serve --admin-token`).

use std::sync::Arc;

/// The token that opens the admin API to non-loopback peers. Never printed (`Debug` is
/// redacted) and compared in constant time.
#[derive(Clone)]
pub struct AdminToken(Arc<str>);

impl AdminToken {
    /// Wraps a token; an empty one is refused (`None`).
    pub fn new(token: &str) -> Option<Self> {
        (!token.is_empty()).then(|| Self(Arc::from(token)))
    }

    pub(crate) fn matches(&self, presented: &str) -> bool {
        let (a, b) = (self.0.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}
