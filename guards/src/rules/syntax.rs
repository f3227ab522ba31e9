//! Shape predicates the checks share: what looks like a fallible call, an `Ok`/`Err` pattern,
//! a spawned task, an error-erasing closure. Each is a syntactic heuristic (syn has no types).

use syn::{Expr, ExprClosure, Pat, Path};

/// A type written as `_` or a path whose last segment ends in `Result` (`io::Result<()>`,
/// `Result<T, E>`, `LockResult<..>`); anything else is a type assertion, not a discard.
pub(super) fn names_result(ty: &syn::Type) -> bool {
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
pub(super) fn is_ok_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(p) => path_ends_with(&p.path, "Ok"),
        Pat::Or(p) => p.cases.iter().any(is_ok_pattern),
        Pat::Guard(p) => is_ok_pattern(&p.pat),
        Pat::Paren(p) => is_ok_pattern(&p.pat),
        _ => false,
    }
}

/// `Err(..)`, possibly behind `|` or a guard.
pub(super) fn is_err_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::TupleStruct(p) => path_ends_with(&p.path, "Err"),
        Pat::Or(p) => p.cases.iter().any(is_err_pattern),
        Pat::Guard(p) => is_err_pattern(&p.pat),
        Pat::Paren(p) => is_err_pattern(&p.pat),
        _ => false,
    }
}

pub(super) fn path_ends_with(path: &Path, name: &str) -> bool {
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
pub(super) fn is_fallible_call(expr: &Expr) -> bool {
    match expr {
        Expr::MethodCall(m) => !NON_RESULT_METHODS.contains(&m.method.to_string().as_str()),
        Expr::Call(_) | Expr::Await(_) => true,
        Expr::Macro(m) => m.mac.path.is_ident("write") || m.mac.path.is_ident("writeln"),
        Expr::Paren(p) => is_fallible_call(&p.expr),
        _ => false,
    }
}

/// A call, method call or `.await`.
pub(super) fn is_call(expr: &Expr) -> bool {
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
pub(super) fn returns_option(expr: &Expr) -> bool {
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
pub(super) fn is_ok_call(expr: &Expr) -> bool {
    matches!(expr, Expr::MethodCall(m) if m.method == "ok" && m.args.is_empty())
}

/// A plain variable or field (`set`, `self.tasks`): likely a collection that keeps handles.
pub(super) fn is_place(expr: &Expr) -> bool {
    match expr {
        Expr::Path(_) => true,
        Expr::Field(f) => is_place(&f.base),
        Expr::Reference(r) => is_place(&r.expr),
        _ => false,
    }
}

/// `drop`, `mem::drop`, `std::mem::drop`, `core::mem::drop`.
pub(super) fn is_drop_path(path: &Path) -> bool {
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
pub(super) fn is_task_spawn(expr: &Expr) -> bool {
    match expr {
        Expr::Call(call) => is_spawn_path(&call.func),
        Expr::MethodCall(call) => call.args.len() == 1 && is_spawn_name(&call.method),
        Expr::Paren(p) => is_task_spawn(&p.expr),
        _ => false,
    }
}

pub(super) fn is_spawn_name(ident: &proc_macro2::Ident) -> bool {
    ident == "spawn" || ident == "spawn_blocking" || ident == "spawn_local"
}

/// `tokio::spawn`, `task::spawn_blocking`, `thread::spawn`, `spawn_local`, ...
pub(super) fn is_spawn_path(func: &Expr) -> bool {
    let Expr::Path(p) = func else { return false };
    p.path
        .segments
        .last()
        .is_some_and(|s| is_spawn_name(&s.ident))
}

/// A closure (possibly in `Box::new(..)`) whose first parameter is `_` or `_name`.
pub(super) fn ignores_input(expr: &Expr) -> bool {
    match expr {
        Expr::Closure(c) => closure_ignores_first(c),
        Expr::Call(call) => call.args.iter().any(ignores_input),
        Expr::Paren(p) => ignores_input(&p.expr),
        _ => false,
    }
}

pub(super) fn is_erasing_closure(expr: &Expr) -> bool {
    matches!(expr, Expr::Closure(c) if closure_ignores_first(c))
}

pub(super) fn closure_ignores_first(closure: &ExprClosure) -> bool {
    let Some(first) = closure.inputs.first() else {
        return false;
    };
    is_ignoring_pat(first)
}

pub(super) fn is_ignoring_pat(pat: &Pat) -> bool {
    match pat {
        Pat::Wild(_) => true,
        Pat::Ident(i) => i.ident.to_string().starts_with('_') && i.subpat.is_none(),
        Pat::Type(t) => is_ignoring_pat(&t.pat),
        _ => false,
    }
}

/// `Result::ok` as a function value, or `|r| r.ok()`.
pub(super) fn is_result_ok_fn(expr: &Expr) -> bool {
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
