//! Reading justification comments from the source text and judging their reasons.
//!
//! syn drops ordinary comments, so the comments are found by a small lexer over the source
//! that knows enough Rust (strings, raw strings, char literals, lifetimes, nested block
//! comments) not to mistake `"// allow(...)"` inside a string for a comment.

/// The marker a justification comment starts with, after `//`.
pub(crate) const MARKER: &str = "allow(broad-suppress)";

/// The fewest words a reason may have.
pub const MIN_REASON_WORDS: usize = 4;

/// Reasons that say nothing about why losing the error is safe (compared after lowercasing
/// and trimming punctuation).
pub const GENERIC_PHRASES: &[&str] = &[
    "ignore",
    "ignored",
    "ignore error",
    "ignore errors",
    "ignore the error",
    "not needed",
    "unneeded",
    "unnecessary",
    "safe",
    "it's safe",
    "this is safe",
    "best effort",
    "best-effort",
    "todo",
    "fixme",
    "tbd",
    "n/a",
    "na",
    "none",
    "ok",
    "okay",
    "fine",
    "it's fine",
    "whatever",
    "unused",
    "don't care",
    "dont care",
    "doesn't matter",
    "does not matter",
    "not important",
    "can't fail",
    "cannot fail",
    "never fails",
    "infallible",
    "intentional",
    "on purpose",
    "expected",
    "no reason",
    "reason",
    "later",
    "temporary",
    "hack",
];

/// Words that carry no information about the boundary. A reason needs at least two words
/// outside this list besides the word count.
const FILLER_WORDS: &[&str] = &[
    "a",
    "also",
    "an",
    "and",
    "any",
    "anyway",
    "are",
    "as",
    "at",
    "be",
    "because",
    "best",
    "can",
    "can't",
    "cannot",
    "care",
    "case",
    "do",
    "does",
    "doesn't",
    "don't",
    "dont",
    "effort",
    "err",
    "error",
    "errors",
    "expected",
    "fail",
    "failed",
    "fails",
    "failure",
    "fine",
    "fixme",
    "for",
    "happen",
    "here",
    "i",
    "if",
    "ignore",
    "ignored",
    "ignoring",
    "important",
    "in",
    "intentional",
    "intentionally",
    "is",
    "it",
    "it's",
    "its",
    "just",
    "matter",
    "matters",
    "might",
    "n/a",
    "need",
    "needed",
    "needs",
    "never",
    "no",
    "not",
    "of",
    "ok",
    "okay",
    "on",
    "only",
    "or",
    "purpose",
    "really",
    "reason",
    "result",
    "results",
    "safe",
    "safely",
    "should",
    "so",
    "that",
    "the",
    "there",
    "this",
    "to",
    "todo",
    "unused",
    "was",
    "we",
    "whatever",
    "will",
    "with",
    "would",
    "you",
];

/// A `// allow(broad-suppress): reason` comment found in the source.
#[derive(Debug, Clone)]
pub(crate) struct Comment {
    /// 1-based line of the comment.
    pub(crate) line: usize,
    /// 1-based column of the `//`.
    pub(crate) column: usize,
    /// The comment is alone on its line (so it covers the next line, not its own).
    pub(crate) own_line: bool,
    /// The reason, or why it was rejected.
    pub(crate) verdict: Result<(), String>,
}

impl Comment {
    /// The line whose findings this comment justifies.
    pub(crate) fn covered_line(&self) -> usize {
        if self.own_line {
            self.line + 1
        } else {
            self.line
        }
    }
}

/// Finds every justification comment in `src`.
pub(crate) fn scan_comments(src: &str, min_words: usize) -> Vec<Comment> {
    let mut out = Vec::new();
    if !src.contains(MARKER) {
        return out;
    }
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut line = 1;
    let mut line_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                line += 1;
                i += 1;
                line_start = i;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                let body = &src[i + 2..end];
                let is_doc =
                    (body.starts_with('/') && !body.starts_with("//")) || body.starts_with('!');
                if !is_doc && let Some(rest) = body.trim_start().strip_prefix(MARKER) {
                    let verdict = match rest.trim_start().strip_prefix(':') {
                        Some(reason) => judge(reason, min_words),
                        None => Err(format!("is missing `: <reason>` after `{MARKER}`")),
                    };
                    out.push(Comment {
                        line,
                        column: src[line_start..i].chars().count() + 1,
                        own_line: src[line_start..i].trim().is_empty(),
                        verdict,
                    });
                }
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut depth = 0usize;
                while i < bytes.len() {
                    if bytes[i] == b'/' && bytes.get(i + 1) == Some(&b'*') {
                        depth += 1;
                        i += 2;
                    } else if bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        if bytes[i] == b'\n' {
                            line += 1;
                            line_start = i + 1;
                        }
                        i += 1;
                    }
                }
            }
            b'r' if is_raw_string_start(bytes, i) => {
                i = skip_raw_string(bytes, i + 1, &mut line, &mut line_start);
            }
            b'"' => i = skip_string(bytes, i + 1, &mut line, &mut line_start),
            b'\'' => i = skip_char_or_lifetime(src, i),
            b if b.is_ascii_alphanumeric() || b == b'_' => {
                // Skip the whole identifier so that the `r` in `for"` or `bar#` is not taken
                // for a raw string prefix, but let a raw string prefix (`r`, `br`, `cr`) be
                // seen at the start.
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let ident = &bytes[start..i];
                if matches!(ident, b"r" | b"br" | b"cr") && is_raw_string_start(bytes, i - 1) {
                    i = skip_raw_string(bytes, i, &mut line, &mut line_start);
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Whether the `r` at `i` begins a raw string (`r"`, `r#"`, `r##"`...).
fn is_raw_string_start(bytes: &[u8], i: usize) -> bool {
    if bytes[i] != b'r' {
        return false;
    }
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    bytes.get(j) == Some(&b'"')
}

/// Skips a raw string whose hashes start at `i` (just after the `r`); returns the index after it.
fn skip_raw_string(bytes: &[u8], mut i: usize, line: &mut usize, line_start: &mut usize) -> usize {
    let mut hashes = 0;
    while bytes.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    i += 1; // the opening quote
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            *line += 1;
            *line_start = i + 1;
        } else if bytes[i] == b'"'
            && bytes.len() >= i + 1 + hashes
            && bytes[i + 1..i + 1 + hashes].iter().all(|b| *b == b'#')
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    i
}

/// Skips a (byte/C) string body starting after its opening quote.
fn skip_string(bytes: &[u8], mut i: usize, line: &mut usize, line_start: &mut usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => {
                *line += 1;
                i += 1;
                *line_start = i;
            }
            _ => i += 1,
        }
    }
    i
}

/// Skips a char literal, or just the quote of a lifetime or label.
fn skip_char_or_lifetime(src: &str, i: usize) -> usize {
    let rest = &src[i + 1..];
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, '\\')) => {
            // An escape (`'\''`, `'\n'`, `'\u{..}'`): skip the backslash and the escaped
            // character, then find the closing quote (escapes never contain a newline).
            let escaped = rest[1..].chars().next().map_or(0, char::len_utf8);
            match rest[1 + escaped..].find('\'') {
                Some(n) => i + 1 + 1 + escaped + n + 1,
                None => src.len(),
            }
        }
        Some((_, c)) => match chars.next() {
            Some((n, '\'')) => i + 1 + n + 1,
            _ => i + 1 + c.len_utf8(),
        },
        None => src.len(),
    }
}

/// Judges a reason: `Ok` when it is specific, else why it was rejected.
pub(crate) fn judge(reason: &str, min_words: usize) -> Result<(), String> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err("the reason is empty".to_owned());
    }
    let normalized = reason
        .trim_matches(|c: char| c.is_ascii_punctuation() && c != '/')
        .trim()
        .to_lowercase()
        .replace('\u{2019}', "'");
    if let Some(phrase) = GENERIC_PHRASES.iter().find(|p| **p == normalized) {
        return Err(format!("the reason \"{phrase}\" is a generic phrase"));
    }
    let words: Vec<String> = normalized
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '/')
                .to_owned()
        })
        .filter(|w| !w.is_empty())
        .collect();
    if words.len() < min_words {
        return Err(format!(
            "the reason has {} word{}; at least {min_words} are needed",
            words.len(),
            if words.len() == 1 { "" } else { "s" }
        ));
    }
    let content = words
        .iter()
        .filter(|w| !FILLER_WORDS.contains(&w.as_str()))
        .count();
    if content < 2 {
        return Err(format!(
            "the reason \"{reason}\" is made of generic words (ignore, safe, error, not needed...)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_reason_is_accepted() {
        assert_eq!(
            judge("the lock file may already be gone after a crash", 4),
            Ok(())
        );
    }

    #[test]
    fn generic_phrases_and_short_reasons_are_rejected() {
        for reason in [
            "",
            "  ",
            "best effort",
            "Ignore.",
            "n/a",
            "TODO",
            "not needed",
        ] {
            assert!(judge(reason, 4).is_err(), "{reason:?} should be rejected");
        }
        assert!(judge("cleanup of temp", 4).is_err());
        assert!(judge("we just ignore this error because it is safe", 4).is_err());
    }

    #[test]
    fn comment_inside_a_string_is_not_a_justification() {
        let src = "let s = \"// allow(broad-suppress): four words right here\";\n";
        assert!(scan_comments(src, 4).is_empty());
        let raw = "let s = r#\"// allow(broad-suppress): four \"words\" right here\"#;\n";
        assert!(scan_comments(raw, 4).is_empty());
    }

    #[test]
    fn doc_comment_is_not_a_justification() {
        let src = "/// allow(broad-suppress): documenting the form in four words\nfn f() {}\n";
        assert!(scan_comments(src, 4).is_empty());
    }

    #[test]
    fn lifetimes_and_chars_do_not_confuse_the_lexer() {
        let src = "fn f<'a>(x: &'a str) -> char { '\"' }\n\
                   // allow(broad-suppress): the lock file is gone already\n";
        let found = scan_comments(src, 4);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].line, found[0].column, found[0].own_line),
            (2, 1, true)
        );
        assert_eq!(found[0].covered_line(), 3);
    }

    #[test]
    fn escaped_quote_char_literal_is_skipped_whole() {
        // Read wrongly, the closing quote of '\'' would open ',' and then '"' a string.
        let src =
            "let q = ['\\'','\"']; // allow(broad-suppress): the quote table is static data\n";
        assert_eq!(scan_comments(src, 4).len(), 1);
    }

    #[test]
    fn trailing_comment_covers_its_own_line_and_missing_colon_is_rejected() {
        let src = "f(); // allow(broad-suppress) the lock file is gone already\n";
        let found = scan_comments(src, 4);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].column, found[0].covered_line()), (6, 1));
        assert!(found[0].verdict.is_err());
    }
}
