//! Checks of `let`s, statements, calls, method calls and `if let Ok(..)` conditions.

use syn::spanned::Spanned;
use syn::{Expr, ExprCall, ExprMethodCall, Local, Pat};

use super::Walker;
use super::syntax::{
    ignores_input, is_call, is_drop_path, is_erasing_closure, is_fallible_call, is_ok_call,
    is_ok_pattern, is_place, is_result_ok_fn, is_spawn_path, is_task_spawn, names_result,
    returns_option,
};
use crate::rule::Rule;

impl Walker {
    pub(super) fn check_local(&mut self, local: &Local) {
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

    pub(super) fn check_stmt_expr(&mut self, expr: &Expr) {
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

    pub(super) fn check_call(&mut self, call: &ExprCall) {
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

    pub(super) fn check_method(&mut self, call: &ExprMethodCall) {
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

    pub(super) fn check_if(&mut self, cond: &Expr, has_else: bool) {
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
}
