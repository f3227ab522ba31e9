//! Where in a TOML file a parse error is, for `file:line:col` messages (scenarios and
//! profiles).

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
