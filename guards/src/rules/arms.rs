//! The `silent-err-arm` and `wildcard-result-arm` checks: `match` arms that lose the error.

use proc_macro2::{TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Arm, Expr, ExprMatch, Pat, Path, Stmt};

use super::Walker;
use super::syntax::{is_err_pattern, is_ok_pattern, path_ends_with};
use crate::rule::Rule;

impl Walker {
    pub(super) fn check_match(&mut self, m: &ExprMatch) {
        // With an `Err(..)` arm of its own, the `_` arm only catches the other `Ok` values.
        let has_ok_arm = m.arms.iter().any(|arm| is_ok_pattern(&arm.pat))
            && !m.arms.iter().any(|arm| is_err_pattern(&arm.pat));
        for arm in &m.arms {
            self.push(&arm.attrs, false);
            if has_ok_arm && matches!(arm.pat, Pat::Wild(_)) {
                self.hit(
                    Rule::WildcardResultArm,
                    arm.pat.span(),
                    "a `_` arm beside `Ok(..)` swallows every error; match `Err(e)` and handle it",
                );
            }
            self.check_err_arm(arm);
            self.pop();
        }
    }

    fn check_err_arm(&mut self, arm: &Arm) {
        let (pat, guard) = match &arm.pat {
            Pat::Guard(guarded) => (&*guarded.pat, Some(&*guarded.guard)),
            pat => (pat, None),
        };
        // In `Ok(Unused) | Err(_) => false` the `Err(_)` case is what loses the error.
        let pat = match pat {
            Pat::Or(or) => match or.cases.iter().find(|case| is_err_pattern(case)) {
                Some(case) => case,
                None => return,
            },
            pat => pat,
        };
        let Pat::TupleStruct(pat) = pat else {
            return;
        };
        if !path_ends_with(&pat.path, "Err") || pat.elems.len() != 1 {
            return;
        }
        let Some(inner) = pat.elems.first() else {
            return;
        };
        let binding = match inner {
            Pat::Wild(_) | Pat::Rest(_) => None,
            Pat::Ident(ident) if ident.subpat.is_none() => Some(ident.ident.to_string()),
            // A narrower pattern (`Err(Error::NotFound)`) handles one error on purpose.
            _ => return,
        };
        // A guard that inspects the error (`Err(e) if e.kind() == NotFound`) is narrow.
        if let (Some(name), Some(guard)) = (&binding, guard)
            && mentions(guard, name)
        {
            return;
        }
        if let Some(name) = &binding
            && self.log_is_handling
            && mentions(&arm.body, name)
        {
            return;
        }
        let body = strip_logging(&arm.body);
        if let (Some(name), Some(rest)) = (&binding, &body)
            && rest.iter().any(|e| mentions(e, name))
        {
            return;
        }
        if let Some(kind) = body.as_deref().and_then(silent_kind) {
            let shown = match &binding {
                Some(name) => format!("Err({name})"),
                None => "Err(_)".to_owned(),
            };
            let logs =
                matches!(&*arm.body, Expr::Block(b) if !b.block.stmts.is_empty()) && kind == EMPTY;
            let kind = if logs {
                "logging that leaves the error out"
            } else {
                kind
            };
            self.hit(
                Rule::SilentErrArm,
                arm.pat.span(),
                format!("`{shown}` arm ends in {kind} and loses the error; propagate or report it"),
            );
        }
    }
}

/// Macros whose call reports something to a human or a log.
fn is_logging_macro(path: &Path) -> bool {
    path.segments.last().is_some_and(|s| {
        matches!(
            s.ident.to_string().as_str(),
            "error"
                | "warn"
                | "info"
                | "debug"
                | "trace"
                | "event"
                | "eprintln"
                | "eprint"
                | "println"
                | "print"
        )
    })
}

/// The expressions of an arm body with every logging statement removed (`None` when the
/// body declares something, so it is not a simple tail).
fn strip_logging(body: &Expr) -> Option<Vec<&Expr>> {
    let Expr::Block(block) = body else {
        return Some(if is_log_expr(body) {
            vec![]
        } else {
            vec![body]
        });
    };
    if block.label.is_some() {
        return None;
    }
    let mut rest = Vec::new();
    for stmt in &block.block.stmts {
        match stmt {
            Stmt::Macro(m) if is_logging_macro(&m.mac.path) => {}
            Stmt::Expr(expr, _) if is_log_expr(expr) => {}
            Stmt::Expr(expr, _) => rest.push(expr),
            Stmt::Local(_) | Stmt::Item(_) | Stmt::Macro(_) => return None,
        }
    }
    Some(rest)
}

fn is_log_expr(expr: &Expr) -> bool {
    matches!(expr, Expr::Macro(m) if is_logging_macro(&m.mac.path))
}

/// What an arm with nothing left after logging is called.
const EMPTY: &str = "an empty body";

/// When the remaining statements of an arm do nothing with the error, what they amount to.
fn silent_kind(rest: &[&Expr]) -> Option<&'static str> {
    match rest {
        [] => Some(EMPTY),
        [only] => silent_expr(only),
        _ => None,
    }
}

fn silent_expr(expr: &Expr) -> Option<&'static str> {
    match expr {
        Expr::Tuple(t) if t.elems.is_empty() => Some("`()`"),
        Expr::Continue(_) => Some("`continue`"),
        Expr::Break(b) if b.expr.is_none() => Some("`break`"),
        Expr::Return(r) if r.expr.is_none() => Some("a bare `return`"),
        Expr::Path(p) if p.path.is_ident("None") => Some("`None`"),
        Expr::Lit(_) => Some("a literal default"),
        Expr::Block(b) if b.label.is_none() => match b.block.stmts.as_slice() {
            [] => Some(EMPTY),
            [Stmt::Expr(inner, _)] => silent_expr(inner),
            _ => None,
        },
        Expr::Call(call) => {
            let Expr::Path(func) = &*call.func else {
                return None;
            };
            let last = func.path.segments.last()?;
            if call.args.is_empty() && (last.ident == "default" || last.ident == "new") {
                Some("a default value")
            } else if last.ident == "Ok" && call.args.len() == 1 {
                call.args
                    .first()
                    .and_then(silent_expr)
                    .map(|_| "`Ok(..)` of a default")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Whether the identifier `name` occurs in `expr`, including inside macro arguments and
/// inline format arguments (`"{e}"`).
fn mentions(expr: &Expr, name: &str) -> bool {
    struct Finder<'n> {
        name: &'n str,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Finder<'_> {
        fn visit_ident(&mut self, ident: &'ast proc_macro2::Ident) {
            if ident == self.name {
                self.found = true;
            }
        }
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            if tokens_mention(mac.tokens.clone(), self.name) {
                self.found = true;
            }
            visit::visit_macro(self, mac);
        }
    }
    let mut finder = Finder { name, found: false };
    finder.visit_expr(expr);
    finder.found
}

fn tokens_mention(tokens: TokenStream, name: &str) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => ident == name,
        TokenTree::Group(group) => tokens_mention(group.stream(), name),
        TokenTree::Literal(lit) => {
            let text = lit.to_string();
            text.contains(&format!("{{{name}}}")) || text.contains(&format!("{{{name}:"))
        }
        TokenTree::Punct(_) => false,
    })
}
