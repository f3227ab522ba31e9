//! `#[allow]` and `#[expect]` of the lints that hide discarded results: the `blanket-allow`
//! check, weak reasons, and the expectations that justify findings below them.

use syn::{Attribute, Expr, Meta, Path};

use super::{Expectation, Walker, position};
use crate::justify;
use crate::rule::Rule;

impl Walker {
    /// The `#[expect(<suppression lint>, reason = "..")]` of an attribute, judged. An
    /// `expect` of an unrelated lint, or one without a reason, justifies nothing (the latter is
    /// itself a `blanket-allow` finding).
    pub(super) fn expectation(&self, attr: &Attribute) -> Option<Expectation> {
        if !attr.path().is_ident("expect") {
            return None;
        }
        let (lints, reason) = lint_list(&attr.meta)?;
        let reason = reason?;
        if !lints.iter().any(|lint| is_suppression_lint(lint)) {
            return None;
        }
        let (line, column) = position(attr.pound_token.span);
        Some(Expectation {
            line,
            column,
            verdict: justify::judge(&reason, self.min_words),
        })
    }

    pub(super) fn check_attribute(&mut self, attr: &Attribute) {
        let Some(ident) = attr.path().get_ident() else {
            return;
        };
        let metas: Vec<Meta> = if ident == "allow" || ident == "expect" {
            vec![attr.meta.clone()]
        } else if ident == "cfg_attr" {
            match attr.parse_args_with(
                syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
            ) {
                Ok(list) => list.into_iter().skip(1).collect(),
                // allow(broad-suppress): rustc rejects a malformed cfg_attr itself, and it holds no lint list to judge
                Err(_) => return,
            }
        } else {
            return;
        };
        for meta in metas {
            let kind = match meta.path().get_ident() {
                Some(i) if i == "allow" => "allow",
                Some(i) if i == "expect" => "expect",
                _ => continue,
            };
            let Some((lints, reason)) = lint_list(&meta) else {
                continue;
            };
            let Some(lint_name) = lints.iter().find(|l| is_suppression_lint(l)) else {
                continue;
            };
            match reason {
                None => self.hit(
                    Rule::BlanketAllow,
                    attr.pound_token.span,
                    format!(
                        "`#[{kind}({lint_name})]` without `reason = \"...\"` hides discarded results"
                    ),
                ),
                Some(reason) => {
                    if let Err(why) = justify::judge(&reason, self.min_words) {
                        let (line, column) = position(attr.pound_token.span);
                        self.weak_allows.push((line, column, why));
                    }
                }
            }
        }
    }
}

/// The lints of `allow(..)`/`expect(..)` and the `reason`, if any.
fn lint_list(meta: &Meta) -> Option<(Vec<String>, Option<String>)> {
    let Meta::List(list) = meta else { return None };
    let items = list
        .parse_args_with(syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut lints = Vec::new();
    let mut reason = None;
    for item in items {
        match item {
            Meta::Path(path) => lints.push(path_string(&path)),
            Meta::NameValue(nv) if nv.path.is_ident("reason") => {
                if let Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) = &nv.value
                {
                    reason = Some(s.value());
                }
            }
            _ => {}
        }
    }
    Some((lints, reason))
}

fn path_string(path: &Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Lints whose `allow` hides discarded results.
fn is_suppression_lint(lint: &str) -> bool {
    matches!(
        lint,
        "unused_must_use" | "unused_results" | "unused" | "warnings"
    ) || lint.strip_prefix("clippy::").is_some_and(|l| {
        l.starts_with("let_underscore_") || l == "map_err_ignore" || l == "unused_result_ok"
    })
}
