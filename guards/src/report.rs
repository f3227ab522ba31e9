//! Text (rustc/ruff style) and JSON reports.

use crate::Finding;

/// `path:line:col: RULE-ID message` per finding, then a count line.
pub fn render_text(findings: &[Finding], files: usize) -> String {
    let mut lines: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{}: {} {}",
                f.path.display(),
                f.line,
                f.column,
                f.rule,
                f.message
            )
        })
        .collect();
    lines.push(match findings.len() {
        0 => format!("No findings in {files} file{}.", plural(files)),
        n => format!(
            "Found {n} finding{} in {files} file{}.",
            plural(n),
            plural(files)
        ),
    });
    lines.join("\n") + "\n"
}

/// `{"count": N, "files": M, "findings": [{rule, path, line, column, message}, ...]}`.
pub fn render_json(findings: &[Finding], files: usize) -> String {
    let findings: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "rule": f.rule.id(),
                // Display, not Serialize: a non-UTF-8 path is shown lossily instead of failing.
                "path": f.path.display().to_string(),
                "line": f.line,
                "column": f.column,
                "message": f.message.as_str(),
            })
        })
        .collect();
    serde_json::json!({
        "count": findings.len(),
        "files": files,
        "findings": findings,
    })
    .to_string()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
