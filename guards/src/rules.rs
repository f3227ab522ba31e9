//! The rules: one syntax walk that calls one check per rule at the nodes it cares about.
//!
//! Every check is a syntactic heuristic (syn has no types); the README lists each rule's known
//! false positives and negatives. A hit is recorded for every rule, whatever the tier, so that
//! a justification above a strict-only pattern is not called stale where strict is off.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{
    Arm, Attribute, Expr, ExprCall, ExprClosure, ExprMatch, ExprMethodCall, Local, Meta, Pat, Path,
    Stmt,
};

use crate::justify;
use crate::rule::Rule;

/// A justification by `#[expect(.., reason = "..")]` on an enclosing node.
#[derive(Debug, Clone)]
pub(crate) struct Expectation {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) verdict: Result<(), String>,
}

/// A pattern match of one rule, before justifications are applied.
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) rule: Rule,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
    pub(crate) expectation: Option<Expectation>,
}

/// A node with attributes that may carry an `#[expect]`; `item` frames end the search.
struct Frame {
    item: bool,
    expectation: Option<Expectation>,
}

/// Walks one file and records every hit.
pub(crate) struct Walker {
    pub(crate) hits: Vec<Hit>,
    /// Weak reasons on `#[allow(.., reason = ..)]` of the suppression lints.
    pub(crate) weak_allows: Vec<(usize, usize, String)>,
    frames: Vec<Frame>,
    log_is_handling: bool,
    min_words: usize,
}

/// 1-based line and column of a span's start.
fn position(span: Span) -> (usize, usize) {
    let start = span.start();
    (start.line, start.column + 1)
}

impl Walker {
    pub(crate) fn new(log_is_handling: bool, min_words: usize) -> Walker {
        Walker {
            hits: Vec::new(),
            weak_allows: Vec::new(),
            frames: Vec::new(),
            log_is_handling,
            min_words,
        }
    }

    fn hit(&mut self, rule: Rule, span: Span, message: impl Into<String>) {
        let (line, column) = position(span);
        let expectation = self
            .frames
            .iter()
            .rev()
            .scan(false, |done, frame| {
                if *done {
                    return None;
                }
                *done = frame.item;
                Some(frame)
            })
            .find_map(|frame| frame.expectation.clone());
        self.hits.push(Hit {
            rule,
            line,
            column,
            message: message.into(),
            expectation,
        });
    }

    fn push(&mut self, attrs: &[Attribute], item: bool) {
        let expectation = attrs.iter().find_map(|attr| self.expectation(attr));
        self.frames.push(Frame { item, expectation });
    }

    fn pop(&mut self) {
        self.frames.pop();
    }

    /// The `#[expect(<suppression lint>, reason = "..")]` of an attribute, judged. An
    /// `expect` of an unrelated lint, or one without a reason, justifies nothing (the latter is
    /// itself a `blanket-allow` finding).
    fn expectation(&self, attr: &Attribute) -> Option<Expectation> {
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

    fn check_local(&mut self, local: &Local) {
        let Some(init) = &local.init else { return };
        match &local.pat {
            Pat::Wild(_) if is_task_spawn(&init.expr) => self.hit(
                Rule::DetachedTask,
                local.let_token.span,
                "`let _ =` discards the spawned task's handle, so its failure goes unseen",
            ),
            Pat::Wild(_) if is_fallible_call(&init.expr) => self.hit(
                Rule::DiscardLet,
                local.let_token.span,
                "`let _ =` discards the result of a call; handle or propagate the error",
            ),
            Pat::Type(typed)
                if matches!(*typed.pat, Pat::Wild(_))
                    && names_result(&typed.ty)
                    && !matches!(*init.expr, Expr::Try(_)) =>
            {
                self.hit(
                    Rule::DiscardTypedLet,
                    local.let_token.span,
                    "`let _: ..Result =` discards a result; handle or propagate the error",
                );
            }
            pat if init.diverge.is_some() && is_ok_pattern(pat) => self.hit(
                Rule::LetElseErr,
                local.let_token.span,
                "`let Ok(..) = .. else` loses the error; use `match` or `?` so it can be named",
            ),
            _ => {}
        }
    }

    fn check_stmt_expr(&mut self, expr: &Expr) {
        match expr {
            Expr::MethodCall(call) if call.method == "ok" && call.args.is_empty() => self.hit(
                Rule::OkStatement,
                call.method.span(),
                "`.ok();` as a statement discards the error",
            ),
            Expr::Call(call) if is_spawn_path(&call.func) => self.hit(
                Rule::DetachedTask,
                call.func.span(),
                "the spawned task's handle is discarded, so its failure goes unseen",
            ),
            Expr::MethodCall(call) if is_task_spawn(expr) && !is_place(&call.receiver) => {
                self.hit(
                    Rule::DetachedTask,
                    call.method.span(),
                    "the spawned task's handle is discarded, so its failure goes unseen",
                );
            }
            _ => {}
        }
    }

    fn check_call(&mut self, call: &ExprCall) {
        let Expr::Path(func) = &*call.func else {
            return;
        };
        let Some(last) = func.path.segments.last() else {
            return;
        };
        let name = last.ident.to_string();
        match name.as_str() {
            "drop"
                if call.args.len() == 1
                    && call.args.first().is_some_and(is_task_spawn)
                    && is_drop_path(&func.path) =>
            {
                self.hit(
                    Rule::DetachedTask,
                    func.span(),
                    "`drop(..)` of the spawned task's handle detaches it, so its failure goes unseen",
                );
            }
            "drop"
                if call.args.len() == 1
                    && call.args.first().is_some_and(is_fallible_call)
                    && is_drop_path(&func.path) =>
            {
                self.hit(
                    Rule::DropCall,
                    func.span(),
                    "`drop(..)` of a call result discards it; handle or propagate the error",
                );
            }
            "catch_unwind" => self.hit(
                Rule::CatchUnwind,
                last.ident.span(),
                "`catch_unwind` turns a panic into a value; report the payload or let it unwind",
            ),
            "set_hook" if call.args.iter().any(ignores_input) => self.hit(
                Rule::CatchUnwind,
                last.ident.span(),
                "the panic hook ignores its `PanicHookInfo`; report the panic",
            ),
            _ => {}
        }
    }

    fn check_method(&mut self, call: &ExprMethodCall) {
        let method = call.method.to_string();
        match method.as_str() {
            "map_err" | "unwrap_or_else" | "or_else" | "map_or_else"
                if call.args.first().is_some_and(is_erasing_closure) =>
            {
                self.hit(
                    Rule::ErrorErasingClosure,
                    call.method.span(),
                    format!("`.{method}(|_| ..)` drops the error; keep it as the source"),
                );
            }
            "filter_map" | "flat_map" if call.args.first().is_some_and(is_result_ok_fn) => {
                self.hit(
                    Rule::ResultFilter,
                    call.method.span(),
                    format!("`.{method}(Result::ok)` silently skips every error"),
                );
            }
            "catch_unwind" if call.args.is_empty() => self.hit(
                Rule::CatchUnwind,
                call.method.span(),
                "`.catch_unwind()` turns a panic into a value; report the payload",
            ),
            "flatten" | "and_then" if is_ok_call(&call.receiver) => self.hit(
                Rule::OkTry,
                call.method.span(),
                format!("`.ok().{method}(..)` turns the error into `None`"),
            ),
            "unwrap_or_default" | "unwrap_or"
                if is_call(&call.receiver) && !returns_option(&call.receiver) =>
            {
                self.hit(
                    Rule::DefaultFallback,
                    call.method.span(),
                    format!("`.{method}` on a call replaces a failure with a default"),
                );
            }
            _ => {}
        }
    }

    fn check_match(&mut self, m: &ExprMatch) {
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

    fn check_if(&mut self, cond: &Expr, has_else: bool) {
        if has_else {
            return;
        }
        let mut stack = vec![cond];
        while let Some(expr) = stack.pop() {
            match expr {
                Expr::Let(l) if is_ok_pattern(&l.pat) && is_call(&l.expr) => self.hit(
                    Rule::IfLetOk,
                    l.let_token.span,
                    "`if let Ok(..) = ..` with no `else` drops the error",
                ),
                Expr::Binary(b) if matches!(b.op, syn::BinOp::And(_)) => {
                    stack.push(&b.left);
                    stack.push(&b.right);
                }
                _ => {}
            }
        }
    }

    fn check_attribute(&mut self, attr: &Attribute) {
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

impl<'ast> Visit<'ast> for Walker {
    fn visit_item_fn(&mut self, node: &'ast syn::ItemFn) {
        self.push(&node.attrs, true);
        visit::visit_item_fn(self, node);
        self.pop();
    }

    fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
        self.push(&node.attrs, true);
        visit::visit_impl_item_fn(self, node);
        self.pop();
    }

    fn visit_trait_item_fn(&mut self, node: &'ast syn::TraitItemFn) {
        self.push(&node.attrs, true);
        visit::visit_trait_item_fn(self, node);
        self.pop();
    }

    fn visit_attribute(&mut self, node: &'ast Attribute) {
        self.check_attribute(node);
    }

    fn visit_local(&mut self, node: &'ast Local) {
        self.push(&node.attrs, false);
        self.check_local(node);
        visit::visit_local(self, node);
        self.pop();
    }

    fn visit_stmt(&mut self, node: &'ast Stmt) {
        if let Stmt::Expr(expr, semi) = node {
            self.push(expr_attrs(expr), false);
            if semi.is_some() {
                self.check_stmt_expr(expr);
            }
            visit::visit_stmt(self, node);
            self.pop();
        } else {
            visit::visit_stmt(self, node);
        }
    }

    fn visit_expr_assign(&mut self, node: &'ast syn::ExprAssign) {
        if matches!(*node.left, Expr::Infer(_)) && is_fallible_call(&node.right) {
            self.hit(
                Rule::DiscardAssign,
                node.left.span(),
                "`_ =` discards the result of a call; handle or propagate the error",
            );
        }
        visit::visit_expr_assign(self, node);
    }

    fn visit_expr_call(&mut self, node: &'ast ExprCall) {
        self.check_call(node);
        visit::visit_expr_call(self, node);
    }

    fn visit_expr_method_call(&mut self, node: &'ast ExprMethodCall) {
        self.check_method(node);
        visit::visit_expr_method_call(self, node);
    }

    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        if let Expr::MethodCall(call) = &*node.expr
            && call.method == "ok"
            && call.args.is_empty()
        {
            self.hit(
                Rule::OkTry,
                call.method.span(),
                "`.ok()?` returns `None` and loses the error",
            );
        }
        visit::visit_expr_try(self, node);
    }

    fn visit_expr_match(&mut self, node: &'ast ExprMatch) {
        self.check_match(node);
        visit::visit_expr_match(self, node);
    }

    fn visit_arm(&mut self, node: &'ast Arm) {
        self.push(&node.attrs, false);
        visit::visit_arm(self, node);
        self.pop();
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        // syn keeps macro arguments as tokens. `select!` and `join!` are the async macros
        // whose arguments are ordinary Rust code, so they are parsed and walked too.
        let Some(name) = node.path.segments.last().map(|s| s.ident.to_string()) else {
            return;
        };
        match name.as_str() {
            "select" | "select_biased" => {
                if let Ok(parts) = node.parse_body_with(parse_select) {
                    for part in &parts {
                        match part {
                            SelectPart::Expr(expr) => self.visit_expr(expr),
                            SelectPart::Block(block) => self.visit_block(block),
                        }
                    }
                }
            }
            "join" | "try_join" => {
                if let Ok(args) = node.parse_body_with(
                    syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated,
                ) {
                    for expr in &args {
                        self.visit_expr(expr);
                    }
                }
            }
            _ => {}
        }
        visit::visit_macro(self, node);
    }

    fn visit_expr_if(&mut self, node: &'ast syn::ExprIf) {
        self.check_if(&node.cond, node.else_branch.is_some());
        visit::visit_expr_if(self, node);
    }
}

/// The attributes of an expression statement (only some expressions can carry them).
fn expr_attrs(expr: &Expr) -> &[Attribute] {
    match expr {
        Expr::Call(e) => &e.attrs,
        Expr::MethodCall(e) => &e.attrs,
        Expr::Assign(e) => &e.attrs,
        Expr::Macro(e) => &e.attrs,
        Expr::Match(e) => &e.attrs,
        Expr::If(e) => &e.attrs,
        Expr::Await(e) => &e.attrs,
        Expr::Try(e) => &e.attrs,
        Expr::Block(e) => &e.attrs,
        Expr::Unsafe(e) => &e.attrs,
        Expr::ForLoop(e) => &e.attrs,
        Expr::While(e) => &e.attrs,
        Expr::Loop(e) => &e.attrs,
        _ => &[],
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

/// A type written as `_` or a path whose last segment ends in `Result` (`io::Result<()>`,
/// `Result<T, E>`, `LockResult<..>`); anything else is a type assertion, not a discard.
fn names_result(ty: &syn::Type) -> bool {
    match ty {
        syn::Type::Infer(_) => true,
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident.to_string().ends_with("Result")),
        syn::Type::Paren(p) => names_result(&p.elem),
        _ => false,
    }
}

/// `Ok(..)`, possibly behind `|` or a guard.
fn is_ok_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(p) => path_ends_with(&p.path, "Ok"),
        Pat::Or(p) => p.cases.iter().any(is_ok_pattern),
        Pat::Guard(p) => is_ok_pattern(&p.pat),
        Pat::Paren(p) => is_ok_pattern(&p.pat),
        _ => false,
    }
}

/// `Err(..)`, possibly behind `|` or a guard.
fn is_err_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(p) => path_ends_with(&p.path, "Err"),
        Pat::Or(p) => p.cases.iter().any(is_err_pattern),
        Pat::Guard(p) => is_err_pattern(&p.pat),
        Pat::Paren(p) => is_err_pattern(&p.pat),
        _ => false,
    }
}

fn path_ends_with(path: &Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

/// Methods whose value is not a `Result` by std convention (or has been unwrapped already).
const NON_RESULT_METHODS: &[&str] = &[
    "clone",
    "expect",
    "into_iter",
    "iter",
    "len",
    "replace",
    "take",
    "to_owned",
    "to_string",
    "to_vec",
    "unwrap",
];

/// A call, method call or `.await` whose value may be a `Result` (not already unwrapped).
fn is_fallible_call(expr: &Expr) -> bool {
    match expr {
        Expr::MethodCall(m) => !NON_RESULT_METHODS.contains(&m.method.to_string().as_str()),
        Expr::Call(_) | Expr::Await(_) => true,
        Expr::Macro(m) => m.mac.path.is_ident("write") || m.mac.path.is_ident("writeln"),
        Expr::Paren(p) => is_fallible_call(&p.expr),
        _ => false,
    }
}

/// A call, method call or `.await`.
fn is_call(expr: &Expr) -> bool {
    match expr {
        Expr::Call(_) | Expr::MethodCall(_) | Expr::Await(_) => true,
        Expr::Paren(p) => is_call(&p.expr),
        _ => false,
    }
}

/// Methods that by std convention return an `Option`, not a `Result`: falling back from
/// their `None` loses no error.
const OPTION_METHODS: &[&str] = &[
    "as_deref",
    "as_ref",
    "checked_add",
    "checked_div",
    "checked_mul",
    "checked_sub",
    "domain",
    "extension",
    "file_name",
    "file_stem",
    "find",
    "find_map",
    "first",
    "fragment",
    "get",
    "get_mut",
    "host",
    "host_str",
    "last",
    "max",
    "max_by",
    "max_by_key",
    "min",
    "min_by",
    "min_by_key",
    "next",
    "next_back",
    "nth",
    "parent",
    "password",
    "peek",
    "pop",
    "port",
    "port_or_known_default",
    "position",
    "query",
    "rsplit_once",
    "split_once",
    "strip_prefix",
    "strip_suffix",
    "to_str",
    "var_os",
];

/// Option combinators that keep an `Option` an `Option` (also `Result` methods, hence only
/// looked through, never trusted on their own).
const PASS_THROUGH_METHODS: &[&str] = &[
    "and_then", "as_deref", "as_ref", "cloned", "copied", "filter", "flatten", "map", "or",
    "or_else",
];

/// A call whose name says it returns an `Option` (see [`OPTION_METHODS`]), looking through
/// combinators to the call that produced the value; `.ok()` is a `Result` turned into one.
fn returns_option(expr: &Expr) -> bool {
    match expr {
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if OPTION_METHODS.contains(&name.as_str()) {
                true
            } else if PASS_THROUGH_METHODS.contains(&name.as_str()) {
                returns_option(&m.receiver)
            } else {
                false
            }
        }
        Expr::Call(c) => match &*c.func {
            Expr::Path(p) => p
                .path
                .segments
                .last()
                .is_some_and(|s| OPTION_METHODS.contains(&s.ident.to_string().as_str())),
            _ => false,
        },
        Expr::Paren(p) => returns_option(&p.expr),
        _ => false,
    }
}

/// `x.ok()`.
fn is_ok_call(expr: &Expr) -> bool {
    matches!(expr, Expr::MethodCall(m) if m.method == "ok" && m.args.is_empty())
}

/// A plain variable or field (`set`, `self.tasks`): likely a collection that keeps handles.
fn is_place(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) => true,
        Expr::Field(f) => is_place(&f.base),
        Expr::Reference(r) => is_place(&r.expr),
        _ => false,
    }
}

/// `drop`, `mem::drop`, `std::mem::drop`, `core::mem::drop`.
fn is_drop_path(path: &Path) -> bool {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    matches!(
        segs.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
        ["drop"] | ["mem", "drop"] | ["std" | "core", "mem", "drop"]
    )
}

/// A call that spawns a task: `tokio::spawn(f)` and kin by path, or `.spawn(f)` and kin as a
/// method with one argument (`Command::spawn()` takes none).
fn is_task_spawn(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => is_spawn_path(&call.func),
        Expr::MethodCall(call) => call.args.len() == 1 && is_spawn_name(&call.method),
        Expr::Paren(p) => is_task_spawn(&p.expr),
        _ => false,
    }
}

fn is_spawn_name(ident: &proc_macro2::Ident) -> bool {
    ident == "spawn" || ident == "spawn_blocking" || ident == "spawn_local"
}

/// `tokio::spawn`, `task::spawn_blocking`, `thread::spawn`, `spawn_local`, ...
fn is_spawn_path(func: &Expr) -> bool {
    let Expr::Path(p) = func else { return false };
    p.path
        .segments
        .last()
        .is_some_and(|s| is_spawn_name(&s.ident))
}

/// A closure (possibly in `Box::new(..)`) whose first parameter is `_` or `_name`.
fn ignores_input(expr: &Expr) -> bool {
    match expr {
        Expr::Closure(c) => closure_ignores_first(c),
        Expr::Call(call) => call.args.iter().any(ignores_input),
        Expr::Paren(p) => ignores_input(&p.expr),
        _ => false,
    }
}

fn is_erasing_closure(expr: &Expr) -> bool {
    matches!(expr, Expr::Closure(c) if closure_ignores_first(c))
}

fn closure_ignores_first(closure: &ExprClosure) -> bool {
    let Some(first) = closure.inputs.first() else {
        return false;
    };
    is_ignoring_pat(first)
}

fn is_ignoring_pat(pat: &Pat) -> bool {
    match pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.ident.to_string().starts_with('_') && i.subpat.is_none(),
        Pat::Type(t) => is_ignoring_pat(&t.pat),
        _ => false,
    }
}

/// `Result::ok` as a function value, or `|r| r.ok()`.
fn is_result_ok_fn(expr: &Expr) -> bool {
    match expr {
        Expr::Path(p) => {
            let segs = &p.path.segments;
            segs.len() >= 2
                && segs[segs.len() - 1].ident == "ok"
                && segs[segs.len() - 2].ident == "Result"
        }
        Expr::Closure(c) => c.inputs.len() == 1 && is_ok_call(&c.body),
        _ => false,
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

/// A piece of a `select!` branch that holds code.
enum SelectPart {
    Expr(Expr),
    Block(syn::Block),
}

/// Parses the body of `tokio::select!` / `futures::select!` into the code it runs: each
/// branch's future, its `if` precondition and its handler (`else`, `complete` and `default`
/// branches have only a handler). A braced handler is parsed as a block, so the next branch's
/// `(..)` pattern is not taken for a call of it.
fn parse_select(input: syn::parse::ParseStream<'_>) -> syn::Result<Vec<SelectPart>> {
    let mut parts = Vec::new();
    if input.peek(syn::Ident) && input.peek2(syn::Token![;]) {
        // `biased;`
        input.parse::<syn::Ident>()?;
        input.parse::<syn::Token![;]>()?;
    }
    while !input.is_empty() {
        let handler_only = (input.peek(syn::Token![else]) || input.peek(syn::Ident))
            && input.peek2(syn::Token![=>]);
        if handler_only {
            input.parse::<proc_macro2::TokenTree>()?;
        } else {
            Pat::parse_single(input)?;
            input.parse::<syn::Token![=]>()?;
            parts.push(SelectPart::Expr(input.parse()?));
            if input.peek(syn::Token![,]) && input.peek2(syn::Token![if]) {
                input.parse::<syn::Token![,]>()?;
                input.parse::<syn::Token![if]>()?;
                parts.push(SelectPart::Expr(input.parse()?));
            }
        }
        input.parse::<syn::Token![=>]>()?;
        if input.peek(syn::token::Brace) {
            parts.push(SelectPart::Block(input.parse()?));
        } else {
            parts.push(SelectPart::Expr(input.parse()?));
        }
        if input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
        }
    }
    Ok(parts)
}
