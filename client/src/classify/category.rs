//! The categories of failure: what scripts see (a stable name, an exit code, a `retryable`
//! bit). The table is in the parent module's documentation.

use std::fmt;

/// Exit code for usage errors (clap's own code).
pub(crate) const EXIT_USAGE: u8 = 2;

/// Exit code when Ctrl-C (SIGINT) interrupts a wait: 128 + 2, what a shell reports for a
/// process the signal killed, so scripts see the same code either way.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// The kind of a failure, as scripts see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCategory {
    /// A bug in cliauth itself.
    Internal,
    /// No session, an expired session or a rejected refresh token.
    Unauthenticated,
    /// The hosted API needs a Private Teamspace the user does not have.
    PrivateTeamspaceRequired,
    /// The server refused the request for this user.
    Forbidden,
    /// The network or an overloaded server failed; trying again later may work.
    RetryableTransport,
    /// The server failed (500) or answered with something unreadable.
    ServerError,
    /// The configuration or the invocation is wrong.
    Config,
    /// The local credential store: permissions, corruption, lock timeout.
    LocalStorage,
    /// The user or the server denied the authorization.
    AccessDenied,
    /// The authorization code or device code expired.
    ExpiredCode,
    /// The login was cancelled or timed out.
    Cancelled,
}

impl ErrorCategory {
    /// Every category, in exit-code order.
    pub const ALL: [ErrorCategory; 11] = [
        ErrorCategory::Internal,
        ErrorCategory::Unauthenticated,
        ErrorCategory::PrivateTeamspaceRequired,
        ErrorCategory::Forbidden,
        ErrorCategory::RetryableTransport,
        ErrorCategory::ServerError,
        ErrorCategory::Config,
        ErrorCategory::LocalStorage,
        ErrorCategory::AccessDenied,
        ErrorCategory::ExpiredCode,
        ErrorCategory::Cancelled,
    ];

    /// The stable snake_case name used in `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCategory::Internal => "internal",
            ErrorCategory::Unauthenticated => "unauthenticated",
            ErrorCategory::PrivateTeamspaceRequired => "private_teamspace_required",
            ErrorCategory::Forbidden => "forbidden",
            ErrorCategory::RetryableTransport => "retryable_transport",
            ErrorCategory::ServerError => "server_error",
            ErrorCategory::Config => "config",
            ErrorCategory::LocalStorage => "local_storage",
            ErrorCategory::AccessDenied => "access_denied",
            ErrorCategory::ExpiredCode => "expired_code",
            ErrorCategory::Cancelled => "cancelled",
        }
    }

    /// The process exit code (see the table in the module docs).
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorCategory::Internal => 1,
            ErrorCategory::Unauthenticated => 4,
            ErrorCategory::PrivateTeamspaceRequired => 5,
            ErrorCategory::Forbidden => 6,
            ErrorCategory::RetryableTransport => 7,
            ErrorCategory::ServerError => 8,
            ErrorCategory::Config => 9,
            ErrorCategory::LocalStorage => 10,
            ErrorCategory::AccessDenied => 11,
            ErrorCategory::ExpiredCode => 12,
            ErrorCategory::Cancelled => 13,
        }
    }

    /// Whether running the same command again later may succeed without any other change.
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorCategory::RetryableTransport | ErrorCategory::ServerError
        )
    }
}

impl fmt::Display for ErrorCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_displays_as_its_json_name() {
        for c in ErrorCategory::ALL {
            assert_eq!(c.to_string(), c.name());
        }
    }

    #[test]
    fn exit_codes_and_names_are_distinct() {
        let mut codes: Vec<u8> = ErrorCategory::ALL.iter().map(|c| c.exit_code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorCategory::ALL.len());
        assert!(!codes.contains(&0) && !codes.contains(&EXIT_USAGE));
        let mut names: Vec<&str> = ErrorCategory::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCategory::ALL.len());
    }
}
