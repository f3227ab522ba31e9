//! `cliauth-tomlfile`: reading a TOML file into a typed value, with errors that point at the
//! place.
//!
//! The mock's configuration, the conformance scenarios and the client profiles are all TOML
//! files that a person edits by hand, so all three report a bad file the same way: the file,
//! the 1-based line and column, and what is wrong there, in the form editors and terminals
//! turn into links (`scenarios/x/y.toml:6:1: unknown field "actoin", expected ...`).
//!
//! # Example
//!
//! ```
//! use cliauth_tomlfile::{TomlFileError, parse};
//!
//! #[derive(Debug, serde::Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Settings {
//!     port: u16,
//! }
//!
//! let ok: Settings = parse("port = 8080\n", "settings.toml")?;
//! assert_eq!(ok.port, 8080);
//!
//! let err = parse::<Settings>("\nprot = 8080\n", "settings.toml").unwrap_err();
//! assert!(matches!(err, TomlFileError::Parse { line: 2, column: 1, .. }));
//! assert!(err.to_string().starts_with("settings.toml:2:1: unknown field `prot`"));
//! # Ok::<(), TomlFileError>(())
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A TOML file (or string) that could not be read, parsed or accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TomlFileError {
    /// The file could not be read.
    #[error("read {what} {}", path.display())]
    Read {
        /// What the file is, for the message: `"scenario"`, `"profile"`, `"config file"`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, unknown field or invalid value.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file name, or a stand-in such as `<config>` for a string.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, counted in characters.
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The values parse but contradict each other.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file name, or a stand-in such as `<config>` for a string.
        origin: String,
        /// What is wrong, naming the field.
        message: String,
    },
}

impl TomlFileError {
    /// A well-formed file whose values are inconsistent; `message` names the field.
    pub fn invalid(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            origin: origin.into(),
            message: message.into(),
        }
    }
}

/// Parses TOML text; `origin` (a file name) is only used in errors.
pub fn parse<T: DeserializeOwned>(src: &str, origin: &str) -> Result<T, TomlFileError> {
    toml::from_str(src).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| line_column(src, span.start));
        TomlFileError::Parse {
            origin: origin.to_owned(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Reads a file's text; `what` names the kind of file in the error (`"scenario"`).
pub fn read_text(path: &Path, what: &'static str) -> Result<String, TomlFileError> {
    std::fs::read_to_string(path).map_err(|source| TomlFileError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Reads and parses a TOML file; `what` names the kind of file in a read error.
pub fn read<T: DeserializeOwned>(path: &Path, what: &'static str) -> Result<T, TomlFileError> {
    let src = read_text(path, what)?;
    parse(&src, &path.display().to_string())
}

/// The 1-based line and column (in characters) of a byte offset in `src`; an offset past the
/// end or inside a character points at the end or at that character.
pub fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(src.len());
    while !src.is_char_boundary(end) {
        end -= 1;
    }
    let before = &src[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed, to provoke errors")]
    struct Doc {
        name: String,
    }

    #[test]
    fn line_and_column_count_characters_from_one() {
        assert_eq!(line_column("abc", 0), (1, 1));
        assert_eq!(line_column("a\nbc", 3), (2, 2));
        assert_eq!(line_column("é\nx", 3), (2, 1));
        assert_eq!(line_column("éx", 2), (1, 2));
        assert_eq!(line_column("ab", 99), (1, 3));
    }

    #[test]
    fn an_offset_inside_a_character_points_at_that_character() {
        assert_eq!(line_column("aé", 2), (1, 2));
    }

    #[test]
    fn a_parse_error_names_origin_line_column_and_field() {
        let err = parse::<Doc>("name = \"x\"\nnmae = 1\n", "f.toml").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("f.toml:2:1: unknown field `nmae`"),
            "{text}"
        );
    }

    #[test]
    fn a_read_error_names_the_kind_of_file_and_keeps_the_os_cause() {
        let dir = std::env::temp_dir().join("cliauth-tomlfile-no-such-dir-7f3a");
        let err = read::<Doc>(&dir.join("x.toml"), "scenario").unwrap_err();
        assert!(err.to_string().starts_with("read scenario "), "{err}");
        let source = std::error::Error::source(&err).expect("the io error is kept");
        assert!(source.to_string().contains("No such file"), "{source}");
    }

    #[test]
    fn invalid_names_origin_and_message() {
        let err = TomlFileError::invalid("f.toml", "clients: at least one client is required");
        assert_eq!(
            err.to_string(),
            "f.toml: clients: at least one client is required"
        );
    }
}
