//! Checking one source text, and walking paths to check many files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

use crate::Finding;
use crate::config::Config;
use crate::justify;
use crate::rule::Rule;
use crate::rules::Walker;

/// Checks one file's source text. `path` decides which rules apply (see [`Config`]) and is
/// copied into each finding. Findings are sorted by line and column.
///
/// Spans of the parsed file stay in proc-macro2's thread-local source map; a caller checking
/// many files on one thread should use [`check_paths`], which clears it between files.
pub fn check_source(path: &Path, src: &str, config: &Config) -> Vec<Finding> {
    let rules = config.rules_for(path);
    let finding = |rule: Rule, line: usize, column: usize, message: String| Finding {
        rule,
        path: path.to_owned(),
        line,
        column,
        message,
    };
    let file = match syn::parse_file(src) {
        Ok(file) => file,
        Err(error) => {
            let start = error.span().start();
            return vec![finding(
                Rule::ParseError,
                start.line.max(1),
                start.column + 1,
                format!("the file does not parse, so it was not checked: {error}"),
            )];
        }
    };
    let mut walker = Walker::new(config.log_is_handling, config.min_reason_words);
    walker.visit_file(&file);
    drop(file);

    let mut comments = justify::scan_comments(src, config.min_reason_words);
    let mut used = vec![false; comments.len()];
    let mut weak_reported = BTreeSet::new();
    let mut out = Vec::new();
    for hit in walker.hits {
        let comment = comments
            .iter()
            .position(|comment| comment.covered_line() == hit.line);
        if let Some(index) = comment {
            used[index] = true;
        }
        if !rules.contains(hit.rule) {
            continue;
        }
        if let Some(expectation) = &hit.expectation {
            if let Err(why) = &expectation.verdict
                && weak_reported.insert((expectation.line, expectation.column))
            {
                out.push(finding(
                    Rule::WeakJustification,
                    expectation.line,
                    expectation.column,
                    format!(
                        "`#[expect]` rejected as justification for {}: {why}",
                        hit.rule
                    ),
                ));
            }
            continue;
        }
        match comment.map(|index| &comments[index]) {
            Some(comment) => {
                if let Err(why) = &comment.verdict
                    && weak_reported.insert((comment.line, comment.column))
                {
                    out.push(finding(
                        Rule::WeakJustification,
                        comment.line,
                        comment.column,
                        format!(
                            "justification for {} rejected: {why}; say why losing this error is safe here",
                            hit.rule
                        ),
                    ));
                }
            }
            None => out.push(finding(hit.rule, hit.line, hit.column, hit.message)),
        }
    }
    for (line, column, why) in walker.weak_allows {
        if !weak_reported.insert((line, column)) {
            continue;
        }
        out.push(finding(
            Rule::WeakJustification,
            line,
            column,
            format!("`reason` of a lint `allow`/`expect` rejected: {why}"),
        ));
    }
    for (comment, used) in comments.drain(..).zip(used) {
        if !used {
            out.push(finding(
                Rule::StaleJustification,
                comment.line,
                comment.column,
                format!(
                    "justification comment has no finding on line {}; remove it",
                    comment.covered_line()
                ),
            ));
        }
    }
    out.sort_by_key(|f| (f.line, f.column, f.rule));
    out
}

/// The result of checking a set of paths.
#[derive(Debug, Default)]
pub struct CheckRun {
    /// Every finding, file by file in path order.
    pub findings: Vec<Finding>,
    /// How many files were checked.
    pub files: usize,
    /// How many lines those files have.
    pub lines: usize,
}

/// A path to check that could not be walked: it does not exist, or a folder in it is unreadable.
#[derive(Debug, thiserror::Error)]
#[error("read {}", path.display())]
pub struct WalkError {
    /// The path given (or found while walking) that could not be read.
    pub path: PathBuf,
    /// The cause, with the OS reason.
    #[source]
    pub source: std::io::Error,
}

/// Checks the given paths (files are always checked; directories are walked and filtered by
/// the config's include and exclude globs). With no paths, walks the config's root.
///
/// An unreadable or non-UTF-8 file is reported as a `parse-error` finding and the rest are
/// still checked. A path that does not exist, or a folder that cannot be listed, is an error
/// that names it.
pub fn check_paths(paths: &[PathBuf], config: &Config) -> Result<CheckRun, WalkError> {
    let roots: Vec<PathBuf> = if paths.is_empty() {
        vec![config.root().to_owned()]
    } else {
        paths.to_vec()
    };
    let mut files = Vec::new();
    for root in &roots {
        let meta = std::fs::metadata(root).map_err(|source| WalkError {
            path: root.clone(),
            source,
        })?;
        if meta.is_file() {
            files.push(root.clone());
            continue;
        }
        let mut found = Vec::new();
        let walk = walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|entry| {
                let rel = config.relative(entry.path());
                !(entry.file_type().is_dir()
                    && entry.depth() > 0
                    && (entry.file_name().to_string_lossy().starts_with('.')
                        || config.is_excluded_dir(rel)))
            });
        for entry in walk {
            let entry = entry.map_err(|e| WalkError {
                path: e.path().unwrap_or(root).to_owned(),
                source: e.into(),
            })?;
            let path = entry.path();
            if entry.file_type().is_file()
                && path.extension().is_some_and(|e| e == "rs")
                && config.is_included(path)
            {
                found.push(path.to_owned());
            }
        }
        found.sort();
        files.extend(found);
    }
    let mut run = CheckRun::default();
    for file in files {
        run.files += 1;
        match std::fs::read(&file).map(String::from_utf8) {
            Ok(Ok(src)) => {
                run.lines += src.lines().count();
                run.findings.extend(check_source(&file, &src, config));
                proc_macro2::extra::invalidate_current_thread_spans();
            }
            Ok(Err(_)) => run
                .findings
                .push(unreadable(&file, "the file is not valid UTF-8")),
            Err(error) => run
                .findings
                .push(unreadable(&file, &format!("read failed: {error}"))),
        }
    }
    Ok(run)
}

fn unreadable(path: &Path, why: &str) -> Finding {
    Finding {
        rule: Rule::ParseError,
        path: path.to_owned(),
        line: 1,
        column: 1,
        message: format!("{why}, so it was not checked"),
    }
}
