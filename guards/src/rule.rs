//! The rule ids and their tiers.

use std::fmt;

/// Whether a rule runs everywhere or only where a path opts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Tier {
    /// Precise; on for every checked file.
    Core,
    /// Common and often fine elsewhere; on only for paths listed under `[[strict]]`.
    Strict,
    /// About the justifications and the input themselves; always on.
    Meta,
}

macro_rules! rules {
    ($($variant:ident => $id:literal, $tier:ident, $doc:literal;)*) => {
        /// A rule, identified by a stable kebab-case id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Rule {
            $(#[doc = $doc] $variant,)*
        }

        impl Rule {
            /// Every rule, in the order of the rule table.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The stable id printed in reports and used in `guard.toml`.
            pub fn id(self) -> &'static str {
                match self { $(Rule::$variant => $id,)* }
            }

            /// The tier the rule belongs to.
            pub fn tier(self) -> Tier {
                match self { $(Rule::$variant => Tier::$tier,)* }
            }

            /// What the rule looks for, in one line.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $doc,)* }
            }
        }
    };
}

rules! {
    DiscardLet => "discard-let", Core, "`let _ = call();`";
    DiscardTypedLet => "discard-typed-let", Core, "`let _: T = expr;`";
    DiscardAssign => "discard-assign", Core, "`_ = expr;`";
    OkStatement => "ok-statement", Core, "`expr.ok();` as a statement";
    DropCall => "drop-call", Core, "`drop(call())`";
    SilentErrArm => "silent-err-arm", Core, "`Err(_) => {}` and other arms that lose the error";
    WildcardResultArm => "wildcard-result-arm", Core, "a `match` with an `Ok(..)` arm and a `_` arm";
    ErrorErasingClosure => "error-erasing-closure", Core, "`.map_err(|_| ..)` and friends";
    LetElseErr => "let-else-err", Core, "`let Ok(x) = expr else { .. };`";
    ResultFilter => "result-filter", Core, "`.filter_map(Result::ok)`, `.flat_map(Result::ok)`";
    CatchUnwind => "catch-unwind", Core, "`catch_unwind`, or a panic hook that ignores its input";
    BlanketAllow => "blanket-allow", Core, "`#[allow(unused_must_use)]` and kin without `reason =`";
    OkTry => "ok-try", Strict, "`.ok()?`, `.ok().flatten()`, `.ok().and_then(..)`";
    IfLetOk => "if-let-ok", Strict, "`if let Ok(..) = call()` with no `else`";
    DefaultFallback => "default-fallback", Strict, "`call().unwrap_or_default()`, `call().unwrap_or(..)`";
    DetachedTask => "detached-task", Strict, "a spawned task whose `JoinHandle` is discarded";
    WeakJustification => "weak-justification", Meta, "a justification whose reason is empty or generic";
    StaleJustification => "stale-justification", Meta, "a justification comment with no finding under it";
    ParseError => "parse-error", Meta, "a file that could not be read or parsed";
}

impl Rule {
    /// Looks a rule up by its id.
    pub fn from_id(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.id() == id)
    }

    /// The bit of this rule in a [`RuleSet`].
    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Tier::Core => "core",
            Tier::Strict => "strict",
            Tier::Meta => "meta",
        })
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.id())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// A set of rules as a bit mask (there are fewer than 32 rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RuleSet(u32);

impl RuleSet {
    /// Every rule of one tier.
    pub(crate) fn tier(tier: Tier) -> RuleSet {
        Rule::ALL
            .iter()
            .filter(|rule| rule.tier() == tier)
            .fold(RuleSet::default(), |set, rule| set.with(*rule))
    }

    /// This set plus one rule.
    pub(crate) fn with(self, rule: Rule) -> RuleSet {
        RuleSet(self.0 | rule.bit())
    }

    /// The union of two sets.
    pub(crate) fn union(self, other: RuleSet) -> RuleSet {
        RuleSet(self.0 | other.0)
    }

    /// Whether the set holds `rule`.
    pub(crate) fn contains(self, rule: Rule) -> bool {
        self.0 & rule.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_round_trips_and_is_unique() {
        for rule in Rule::ALL {
            assert_eq!(Rule::from_id(rule.id()), Some(*rule));
        }
        let mut ids: Vec<_> = Rule::ALL.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
        assert!(Rule::ALL.len() < 32, "RuleSet is a u32 bit mask");
    }

    #[test]
    fn strict_set_holds_only_strict_rules() {
        let strict = RuleSet::tier(Tier::Strict);
        assert!(strict.contains(Rule::OkTry));
        assert!(!strict.contains(Rule::DiscardLet));
    }
}
