//! The rules: one syntax walk that calls one check per rule at the nodes it cares about.
//!
//! Every check is a syntactic heuristic (syn has no types); the README lists each rule's known
//! false positives and negatives. A hit is recorded for every rule, whatever the tier, so that
//! a justification above a strict-only pattern is not called stale where strict is off.
//!
//! The walk lives here; what each rule looks for lives beside the nodes it inspects:
//! `statements.rs` (discarding `let`s, statements, calls and method calls, `if let Ok`),
//! `arms.rs` (`match` arms that lose the error), `attrs.rs` (`#[allow]`/`#[expect]`), and
//! `syntax.rs` (the shape predicates they share). A new rule is one entry in the table in
//! `rule.rs` plus one arm in the check for the node it looks at.

mod arms;
mod attrs;
mod statements;
mod syntax;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Arm, Attribute, Expr, ExprCall, ExprMatch, ExprMethodCall, Local, Pat, Stmt};

use crate::rule::Rule;
use syntax::is_fallible_call;

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
pub(super) struct Frame {
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
pub(super) fn position(span: Span) -> (usize, usize) {
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

    pub(super) fn hit(&mut self, rule: Rule, span: Span, message: impl Into<String>) {
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

    pub(super) fn push(&mut self, attrs: &[Attribute], item: bool) {
        let expectation = attrs.iter().find_map(|attr| self.expectation(attr));
        self.frames.push(Frame { item, expectation });
    }

    pub(super) fn pop(&mut self) {
        self.frames.pop();
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
