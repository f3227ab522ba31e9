//! What the heuristics do and do not report, on inline sources.

use std::path::Path;

use cliauth_guard::{Config, Rule, check_source};
use rstest::rstest;

use crate::{check, fixture_config, summary};

/// Forms that handle the error; none is a finding, even with strict rules on.
#[rstest]
#[case::err_arm_propagates("match f() { Ok(v) => v, Err(e) => return Err(e) }")]
#[case::err_arm_wraps("match f() { Ok(v) => v, Err(e) => return Err(Error::Io(e)) }")]
#[case::narrow_guard(
    "match f() { Ok(()) => {} Err(e) if e.kind() == io::ErrorKind::NotFound => {} Err(e) => return Err(e) }"
)]
#[case::narrow_pattern(
    "match f() { Ok(()) => {} Err(Error::NotFound) => {} Err(e) => return Err(e) }"
)]
#[case::while_let_ok("while let Ok(msg) = rx.recv() { handle(msg); }")]
#[case::if_let_ok_with_else("if let Ok(v) = f() { use_(v) } else { return Err(Error::Missing) }")]
#[case::arm_logs_error(
    "match f() { Ok(()) => {} Err(e) => { tracing::warn!(\"refresh failed: {e}\"); } }"
)]
#[case::arm_logs_error_arg(
    "match f() { Ok(()) => {} Err(e) => { warn!(error = %e, \"refresh failed\"); } }"
)]
#[case::named_let_binding("let _guard = lock.lock();")]
#[case::let_underscore_of_a_variable("let _ = value;")]
#[case::drop_of_a_variable("drop(guard);")]
#[case::map_err_keeps_source("f().map_err(|e| Error::Io(e))?;")]
#[case::option_fallback("let host = url.host_str().unwrap_or(\"server\");")]
#[case::kept_join_handle("let handle = tokio::spawn(refresh());")]
#[case::join_set_spawn("set.spawn(refresh());")]
#[case::ok_into_option_binding("let maybe = f().ok();")]
#[case::wildcard_beside_an_err_arm(
    "match f() { Ok(false) => {} Err(e) => return Err(e), _ => {} }"
)]
#[case::drop_of_a_take("drop(slot.take());")]
#[case::option_chain_fallback(
    "let target = head.lines().next().and_then(|l| l.split_whitespace().nth(1)).unwrap_or(\"/\");"
)]
#[case::typed_let_with_try("let _: Token![pub] = input.parse()?;")]
#[case::typed_let_type_assertion("let _: Digest = context.finish();")]
#[case::assign_of_an_index("_ = map[&4];")]
#[case::allow_with_specific_reason(
    "#[allow(unused_must_use, reason = \"the writer is a Vec and cannot fail on write\")] fn g() {}"
)]
fn handled_error_is_not_a_finding(#[case] body: &str) {
    let src = format!("fn t() {{ {body} }}\n");
    let findings = check(&src, &fixture_config());
    assert!(findings.is_empty(), "{src}: {findings:#?}");
}

#[test]
fn explicitly_discarded_task_handle_is_detached_task_not_a_core_finding() {
    let src = "fn t() {\n    drop(tokio::spawn(run()));\n    let _ = rt.spawn(run());\n    let _ = Command::new(\"x\").spawn();\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["4:5 discard-let"]
    );
    assert_eq!(
        summary(&check(src, &fixture_config())),
        ["2:5 detached-task", "3:5 detached-task", "4:5 discard-let"]
    );
}

#[test]
fn ok_then_fallback_is_default_fallback() {
    let src = "fn t() {\n    let v = f().ok().map(parse).unwrap_or(0);\n}\n";
    assert_eq!(
        summary(&check(src, &fixture_config())),
        ["2:33 default-fallback"]
    );
}

#[test]
fn arm_that_logs_the_error_is_a_finding_when_logging_is_not_handling() {
    let src = "fn t() {\n    match f() {\n        Ok(()) => {}\n        Err(e) => { tracing::warn!(\"failed: {e}\"); }\n    }\n}\n";
    assert!(check(src, &Config::default()).is_empty());
    let mut config = Config::default();
    config.log_is_handling = false;
    assert_eq!(summary(&check(src, &config)), ["4:9 silent-err-arm"]);
}

#[test]
fn arm_that_logs_without_the_error_is_a_finding() {
    let src = "fn t() {\n    match f() {\n        Ok(()) => {}\n        Err(_) => { tracing::warn!(\"failed\"); }\n    }\n}\n";
    let findings = check(src, &Config::default());
    assert_eq!(summary(&findings), ["4:9 silent-err-arm"]);
    assert!(
        findings[0]
            .message
            .contains("logging that leaves the error out"),
        "{}",
        findings[0].message
    );
}

#[test]
fn err_case_inside_an_or_pattern_is_a_silent_arm() {
    let src = "fn t() -> bool {\n    match parse() {\n        Ok(Spec::Good) => true,\n        Ok(Spec::Other) | Err(_) => false,\n    }\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["4:9 silent-err-arm"]
    );
}

#[test]
fn guard_that_does_not_inspect_the_error_is_not_narrow() {
    let src = "fn t() {\n    match f() {\n        Ok(()) => {}\n        Err(_) if retrying => {}\n        Err(e) => return Err(e),\n    }\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["4:9 silent-err-arm"]
    );
}

#[rstest]
#[case::unit("()")]
#[case::continue_("continue")]
#[case::break_("break")]
#[case::bare_return("return")]
#[case::none("None")]
#[case::default_call("Default::default()")]
#[case::ok_unit("Ok(())")]
#[case::rest_pattern_block("{ return; }")]
fn silent_err_arm_bodies_are_findings(#[case] body: &str) {
    let src = format!(
        "fn t() {{\n    match f() {{\n        Ok(v) => v,\n        Err(_e) => {body},\n    }}\n}}\n"
    );
    assert_eq!(
        summary(&check(&src, &Config::default())),
        ["4:9 silent-err-arm"],
        "{src}"
    );
}

#[test]
fn strict_rules_are_off_unless_the_path_opts_in() {
    let src = "fn t() -> Option<u8> {\n    let v = f().ok()?;\n    Some(v)\n}\n";
    assert!(check(src, &Config::default()).is_empty());
    let toml = "[[strict]]\npaths = [\"src/store/**\"]\n";
    let config = Config::from_toml(toml, Path::new("."), Path::new("guard.toml")).unwrap();
    assert!(check_source(Path::new("src/main.rs"), src, &config).is_empty());
    let store = check_source(Path::new("src/store/mod.rs"), src, &config);
    assert_eq!(summary(&store), ["2:17 ok-try"]);
}

#[test]
fn justification_above_a_strict_pattern_is_not_stale_where_strict_is_off() {
    let src = "fn t() -> Option<u8> {\n    // allow(broad-suppress): a missing cache entry just means a fresh login\n    let v = f().ok()?;\n    Some(v)\n}\n";
    assert!(check(src, &Config::default()).is_empty());
}

#[test]
fn trailing_comment_on_the_same_line_justifies() {
    let src = "fn t() {\n    let _ = f(); // allow(broad-suppress): the temp file may already be gone after a crash\n}\n";
    assert!(check(src, &Config::default()).is_empty());
}

#[test]
fn comment_two_lines_above_does_not_justify_and_is_stale() {
    let src = "fn t() {\n    // allow(broad-suppress): the temp file may already be gone after a crash\n\n    let _ = f();\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["2:5 stale-justification", "4:5 discard-let"]
    );
}

#[test]
fn expect_with_a_specific_reason_justifies_the_statement() {
    let src = "fn t() {\n    #[expect(clippy::let_underscore_must_use, reason = \"the temp file may already be gone after a crash\")]\n    let _ = f();\n}\n";
    assert!(check(src, &Config::default()).is_empty());
}

#[test]
fn expect_with_a_generic_reason_is_a_weak_justification() {
    let src = "fn t() {\n    #[expect(clippy::let_underscore_must_use, reason = \"not needed\")]\n    let _ = f();\n}\n";
    let findings = check(src, &Config::default());
    assert_eq!(summary(&findings), ["2:5 weak-justification"]);
    assert!(
        findings[0].message.contains("generic phrase"),
        "{}",
        findings[0].message
    );
}

#[test]
fn expect_on_an_enclosing_function_justifies_but_not_beyond_it() {
    let src = "#[expect(unused_must_use, reason = \"the writer is a Vec and writes cannot fail\")]\nfn t() {\n    let _ = f();\n    fn inner() {\n        let _ = f();\n    }\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["5:9 discard-let"]
    );
}

#[test]
fn expect_of_an_unrelated_lint_justifies_nothing() {
    let src = "#[expect(clippy::type_complexity, reason = \"the callback type is spelled out once\")]\nfn t() {\n    let _ = f();\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["3:5 discard-let"]
    );
}

#[test]
fn expect_without_reason_is_blanket_allow_and_justifies_nothing() {
    let src = "#[expect(unused_must_use)]\nfn t() {\n    let _ = f();\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["1:1 blanket-allow", "3:5 discard-let"]
    );
}

#[rstest]
#[case::empty("", "the reason is empty")]
#[case::short("temp file cleanup", "at least 4 are needed")]
#[case::generic_words("we just ignore this error because it is safe", "generic words")]
#[case::missing_colon_form("MISSING", "is missing `: <reason>`")]
fn weak_reasons_say_why_they_were_rejected(#[case] reason: &str, #[case] why: &str) {
    let comment = if reason == "MISSING" {
        "// allow(broad-suppress) the temp file may already be gone".to_owned()
    } else {
        format!("// allow(broad-suppress): {reason}")
    };
    let src = format!("fn t() {{\n    {comment}\n    let _ = f();\n}}\n");
    let findings = check(&src, &Config::default());
    assert_eq!(summary(&findings), ["2:5 weak-justification"]);
    assert!(findings[0].message.contains(why), "{}", findings[0].message);
}

#[test]
fn blanket_allow_in_cfg_attr_and_inner_attribute_is_found() {
    let src = "#![allow(clippy::let_underscore_must_use)]\n#[cfg_attr(test, allow(unused_results))]\nfn t() {}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["1:1 blanket-allow", "2:1 blanket-allow"]
    );
}

#[test]
fn allow_with_a_generic_reason_is_a_weak_justification() {
    let src = "#[allow(unused_must_use, reason = \"best effort\")]\nfn t() {}\n";
    let findings = check(src, &Config::default());
    assert_eq!(summary(&findings), ["1:1 weak-justification"]);
    assert!(
        findings[0].message.contains("generic phrase"),
        "{}",
        findings[0].message
    );
}

#[test]
fn panic_hook_that_ignores_its_input_is_found() {
    let src = "fn t() {\n    std::panic::set_hook(Box::new(|_| {}));\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["2:17 catch-unwind"]
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    let src = "fn t() {\n    let é = 1; let _ = f();\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        ["2:16 discard-let"]
    );
}

#[test]
fn unparsable_source_is_one_parse_error_at_its_line() {
    let src = "fn ok() {}\n\nfn broken( {\n";
    let findings = check(src, &Config::default());
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, Rule::ParseError);
    assert_eq!(findings[0].line, 3);
}

#[test]
fn select_and_join_branches_are_checked() {
    let src = "async fn t() {\n    tokio::select! {\n        biased;\n        _ = stop.changed() => { let _ = tx.send(1); }\n        () = sleep(tick) => { continue; }\n        res = fetch(), if ready => match res { Ok(v) => v, Err(_) => {} },\n        else => drop(close()),\n    }\n    tokio::join!(async { refresh().await.ok(); }, other());\n}\n";
    assert_eq!(
        summary(&check(src, &Config::default())),
        [
            "4:33 discard-let",
            "6:60 silent-err-arm",
            "7:17 drop-call",
            "9:42 ok-statement"
        ]
    );
}

#[test]
fn code_inside_macro_invocations_is_a_known_blind_spot() {
    // syn keeps macro arguments as tokens; the README documents this.
    let src = "fn t() {\n    assert!({ let _ = f(); true });\n}\n";
    assert!(check(src, &Config::default()).is_empty());
}
