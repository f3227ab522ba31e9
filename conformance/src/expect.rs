//! Checks of one process's output against a step's expectations.

use crate::outcome::{Miss, Output, indent};
use crate::profile::Profile;
use crate::scenario::{Expect, Pattern};

/// Checks exit code, category, text and JSON expectations on one process's output.
pub(crate) fn check_output(profile: &Profile, expect: &Expect, out: &Output) -> Result<(), Miss> {
    let label = &out.label;
    let exit_text = out
        .exit
        .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
    if let Some(want) = expect.exit
        && out.exit != Some(want)
    {
        return Err(Miss::new(
            format!("{label} exits {want}"),
            format!("exit {exit_text}"),
        ));
    }
    if let Some(category) = &expect.category {
        let want = profile.exit_code(category).ok_or_else(|| {
            Miss::new(
                format!("the profile maps category {category:?}"),
                "it does not",
            )
        })?;
        if out.exit != Some(want) {
            let got = out
                .exit
                .and_then(|c| {
                    profile
                        .categories
                        .iter()
                        .find(|(_, v)| **v == c)
                        .map(|(k, _)| k.clone())
                })
                .unwrap_or_else(|| {
                    if out.exit == Some(0) {
                        "success".to_owned()
                    } else {
                        "?".to_owned()
                    }
                });
            return Err(Miss::new(
                format!("{label} fails with category {category} (exit {want})"),
                format!("exit {exit_text} ({got})"),
            ));
        }
        if out.json
            && want != 0
            && let Some(pointer) = &profile.json.category
        {
            let doc = parse_json(out)?;
            let got = doc.pointer(pointer);
            if got.and_then(serde_json::Value::as_str) != Some(category.as_str()) {
                return Err(Miss::new(
                    format!("{label} JSON {pointer} is {category:?}"),
                    got.map_or_else(|| "absent".to_owned(), ToString::to_string),
                ));
            }
        }
    }
    check_texts(
        label,
        "stdout",
        &out.stdout,
        &expect.stdout_contains,
        &expect.stdout_not_contains,
        &expect.stdout_regex,
    )?;
    check_texts(
        label,
        "stderr",
        &out.stderr,
        &expect.stderr_contains,
        &expect.stderr_not_contains,
        &expect.stderr_regex,
    )?;
    if !expect.json.is_empty() || !expect.json_regex.is_empty() {
        let doc = parse_json(out)?;
        for (field, want) in &expect.json {
            let pointer = pointer_for(profile, field)?;
            let want_json = serde_json::to_value(want).map_err(|e| {
                Miss::new(
                    format!("expected value of {field} converts to JSON"),
                    e.to_string(),
                )
            })?;
            let got = doc.pointer(&pointer);
            if !got.is_some_and(|g| json_equal(g, &want_json)) {
                return Err(Miss::new(
                    format!("{label} JSON {field} ({pointer}) == {want_json}"),
                    got.map_or_else(|| "absent".to_owned(), ToString::to_string),
                ));
            }
        }
        for (field, pattern) in &expect.json_regex {
            let pointer = pointer_for(profile, field)?;
            let got = doc.pointer(&pointer);
            let text = match got {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => {
                    return Err(Miss::new(
                        format!("{label} JSON has {field} ({pointer})"),
                        "absent",
                    ));
                }
            };
            if !pattern.regex().is_match(&text) {
                return Err(Miss::new(
                    format!(
                        "{label} JSON {field} ({pointer}) matches /{}/",
                        pattern.as_str()
                    ),
                    text,
                ));
            }
        }
    }
    Ok(())
}

fn pointer_for(profile: &Profile, field: &str) -> Result<String, Miss> {
    if field.starts_with('/') {
        return Ok(field.to_owned());
    }
    profile.json.fields.get(field).cloned().ok_or_else(|| {
        Miss::new(
            format!("the profile maps JSON field {field:?}"),
            "it does not",
        )
    })
}

fn parse_json(out: &Output) -> Result<serde_json::Value, Miss> {
    serde_json::from_str(out.stdout.trim()).map_err(|e| {
        Miss::new(
            format!("{} prints one JSON document on stdout", out.label),
            format!("{e}; stdout:\n{}", indent(&out.stdout)),
        )
    })
}

/// Equality that treats integers and floats with the same value as equal.
fn json_equal(got: &serde_json::Value, want: &serde_json::Value) -> bool {
    match (got, want) {
        (serde_json::Value::Number(a), serde_json::Value::Number(b)) => a.as_f64() == b.as_f64(),
        _ => got == want,
    }
}

fn check_texts(
    label: &str,
    stream: &str,
    text: &str,
    contains: &[String],
    not_contains: &[String],
    regexes: &[Pattern],
) -> Result<(), Miss> {
    for want in contains {
        if !text.contains(want.as_str()) {
            return Err(Miss::new(
                format!("{label} {stream} contains {want:?}"),
                format!("{stream}:\n{}", indent(text)),
            ));
        }
    }
    for unwanted in not_contains {
        if text.contains(unwanted.as_str()) {
            return Err(Miss::new(
                format!("{label} {stream} does not contain {unwanted:?}"),
                format!("{stream}:\n{}", indent(text)),
            ));
        }
    }
    for pattern in regexes {
        if !pattern.regex().is_match(text) {
            return Err(Miss::new(
                format!("{label} {stream} matches /{}/", pattern.as_str()),
                format!("{stream}:\n{}", indent(text)),
            ));
        }
    }
    Ok(())
}
