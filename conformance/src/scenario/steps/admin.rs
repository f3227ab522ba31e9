//! `admin`: a call on the mock's admin API, one [`AdminAction`] per `op`.

use serde::Deserialize;

use super::{Cue, RunStep, StepKind};
use crate::profile::Profile;
use crate::scenario::expectations::Expect;

/// An admin call on the mock: one [`AdminAction`] and what must hold afterwards.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawAdminStep")]
pub struct AdminStep {
    /// The operation with its arguments.
    pub action: AdminAction,
    /// What must hold afterwards (journal, files).
    pub expect: Expect,
}

/// Admin operations on the mock, each with the arguments it needs.
#[derive(Debug, Clone)]
pub enum AdminAction {
    /// Move the server clock forward.
    AdvanceClock {
        /// Seconds to move.
        seconds: u64,
    },
    /// Approve a device code.
    ApproveDevice {
        /// The user code (default: the most recent one).
        user_code: Option<String>,
    },
    /// Deny a device code.
    DenyDevice {
        /// The user code (default: the most recent one).
        user_code: Option<String>,
    },
    /// Add a fault rule (schema of `[[server.rules]]`).
    AddRule(Box<cliauth_mock::Rule>),
    /// Remove every fault rule.
    ClearRules,
    /// Release the requests held by a `hold` rule.
    ReleaseHold {
        /// The rule name.
        name: String,
    },
    /// Revoke every token of a user.
    RevokeAll {
        /// The user.
        username: String,
    },
    /// Make every access token issued so far expired.
    ExpireAccessTokens,
    /// Mint an access token for a user as a login would and store it as `{capture}`: a real
    /// issued secret to hand a client by flag, environment, stdin or file.
    MintToken {
        /// The user.
        username: String,
        /// The template variable that receives the token.
        capture: String,
    },
}

/// The `op` word of an admin step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AdminOp {
    AdvanceClock,
    ApproveDevice,
    DenyDevice,
    AddRule,
    ClearRules,
    ReleaseHold,
    RevokeAll,
    ExpireAccessTokens,
    MintToken,
}

/// An admin step as written: `op` beside every op's optional arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdminStep {
    op: AdminOp,
    #[serde(default)]
    seconds: Option<u64>,
    #[serde(default)]
    user_code: Option<String>,
    #[serde(default)]
    rule: Option<cliauth_mock::Rule>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    capture: Option<String>,
    #[serde(default)]
    expect: Expect,
}

impl TryFrom<RawAdminStep> for AdminStep {
    type Error = String;

    fn try_from(raw: RawAdminStep) -> Result<Self, String> {
        let op = raw.op;
        let uses: &[&str] = match op {
            AdminOp::AdvanceClock => &["seconds"],
            AdminOp::ApproveDevice | AdminOp::DenyDevice => &["user_code"],
            AdminOp::AddRule => &["rule"],
            AdminOp::ReleaseHold => &["name"],
            AdminOp::RevokeAll => &["username"],
            AdminOp::MintToken => &["username", "capture"],
            AdminOp::ClearRules | AdminOp::ExpireAccessTokens => &[],
        };
        let given = [
            ("seconds", raw.seconds.is_some()),
            ("user_code", raw.user_code.is_some()),
            ("rule", raw.rule.is_some()),
            ("name", raw.name.is_some()),
            ("username", raw.username.is_some()),
            ("capture", raw.capture.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(f, set)| *set && !uses.contains(f)) {
            return Err(format!("admin op {op:?} does not use `{field}`"));
        }
        let needs = |field: &str| format!("admin op {op:?} needs `{field}`");
        let action = match op {
            AdminOp::AdvanceClock => AdminAction::AdvanceClock {
                seconds: raw.seconds.ok_or_else(|| needs("seconds"))?,
            },
            AdminOp::ApproveDevice => AdminAction::ApproveDevice {
                user_code: raw.user_code,
            },
            AdminOp::DenyDevice => AdminAction::DenyDevice {
                user_code: raw.user_code,
            },
            AdminOp::AddRule => {
                AdminAction::AddRule(Box::new(raw.rule.ok_or_else(|| needs("rule"))?))
            }
            AdminOp::ClearRules => AdminAction::ClearRules,
            AdminOp::ReleaseHold => AdminAction::ReleaseHold {
                name: raw.name.ok_or_else(|| needs("name"))?,
            },
            AdminOp::RevokeAll => AdminAction::RevokeAll {
                username: raw.username.ok_or_else(|| needs("username"))?,
            },
            AdminOp::ExpireAccessTokens => AdminAction::ExpireAccessTokens,
            AdminOp::MintToken => AdminAction::MintToken {
                username: raw.username.ok_or_else(|| needs("username"))?,
                capture: raw.capture.ok_or_else(|| needs("capture"))?,
            },
        };
        Ok(AdminStep {
            action,
            expect: raw.expect,
        })
    }
}

impl StepKind for AdminStep {
    fn kind(&self) -> &'static str {
        "admin"
    }
    fn expect(&self) -> Option<&Expect> {
        Some(&self.expect)
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    fn needs(&self, _profile: &Profile, _need: &mut dyn FnMut(bool, String)) {}
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        format!(" op={}", self.action.op())
    }
}

impl AdminAction {
    /// The `op` word, for reports.
    pub fn op(&self) -> &'static str {
        match self {
            AdminAction::AdvanceClock { .. } => "advance_clock",
            AdminAction::ApproveDevice { .. } => "approve_device",
            AdminAction::DenyDevice { .. } => "deny_device",
            AdminAction::AddRule(_) => "add_rule",
            AdminAction::ClearRules => "clear_rules",
            AdminAction::ReleaseHold { .. } => "release_hold",
            AdminAction::RevokeAll { .. } => "revoke_all",
            AdminAction::ExpireAccessTokens => "expire_access_tokens",
            AdminAction::MintToken { .. } => "mint_token",
        }
    }
}
