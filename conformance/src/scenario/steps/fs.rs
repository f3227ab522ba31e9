//! `fs`: a change to the client's files, one [`FsAction`] per `op`.

use serde::Deserialize;

use super::{Cue, RunStep, StepKind};
use crate::profile::{Profile, path_name};
use crate::scenario::expectations::Expect;
use crate::scenario::values::{Mode, default_home};

/// A change to the client's files: one [`FsAction`] on one path.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawFsStep")]
pub struct FsStep {
    /// The operation with its arguments.
    pub action: FsAction,
    /// The path: relative to the home, or a profile path name in braces (`{store}`); `*`
    /// matches within the last component and must match exactly one file.
    pub path: String,
    /// Which home.
    pub home: String,
}

/// File operations, each with the arguments it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsAction {
    /// Change the permission bits.
    Chmod {
        /// The permission bits (from an octal string such as `"0644"`).
        mode: Mode,
    },
    /// Invert every bit of one byte (a tampered file).
    FlipByte {
        /// Byte offset (negative counts from the end; default: the middle).
        offset: Option<i64>,
    },
    /// Cut the file to half its length (a corrupted file).
    Truncate,
    /// Replace the content.
    Write {
        /// The new content.
        content: String,
    },
    /// Remove a file or a whole folder.
    Delete,
    /// Replace a file by an empty folder (mode 0700) of the same name: a path that exists
    /// but cannot be read as a file.
    ReplaceWithFolder,
    /// Replace a file by a folder (mode 0700) of the same name that holds one file: neither
    /// unlink, rename onto it, nor rmdir can remove or replace it, even as root, so the
    /// client's next delete or atomic replace of that path fails.
    ReplaceWithNonemptyFolder,
    /// Remember the file's bytes under a name (for `restore` and the `same_as` file check).
    Save {
        /// The name the bytes are kept under.
        name: String,
    },
    /// Write back the bytes saved under a name (mode 0600 for a file that no longer exists).
    Restore {
        /// The name the bytes were saved under.
        name: String,
    },
}

/// The `op` word of an fs step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FsOp {
    Chmod,
    FlipByte,
    Truncate,
    Write,
    Delete,
    ReplaceWithFolder,
    ReplaceWithNonemptyFolder,
    Save,
    Restore,
}

/// An fs step as written: `op` beside every op's optional arguments.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFsStep {
    op: FsOp,
    path: String,
    #[serde(default = "default_home")]
    home: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl TryFrom<RawFsStep> for FsStep {
    type Error = String;

    fn try_from(raw: RawFsStep) -> Result<Self, String> {
        let op = raw.op;
        let uses: &[&str] = match op {
            FsOp::Chmod => &["mode"],
            FsOp::FlipByte => &["offset"],
            FsOp::Write => &["content"],
            FsOp::Save | FsOp::Restore => &["name"],
            FsOp::Truncate
            | FsOp::Delete
            | FsOp::ReplaceWithFolder
            | FsOp::ReplaceWithNonemptyFolder => &[],
        };
        let given = [
            ("mode", raw.mode.is_some()),
            ("offset", raw.offset.is_some()),
            ("content", raw.content.is_some()),
            ("name", raw.name.is_some()),
        ];
        if let Some((field, _)) = given.iter().find(|(f, set)| *set && !uses.contains(f)) {
            return Err(format!("fs op {op:?} does not use `{field}`"));
        }
        let needs = |field: &str| format!("fs op {op:?} needs `{field}`");
        let action = match op {
            FsOp::Chmod => FsAction::Chmod {
                mode: Mode::parse(raw.mode.as_deref().ok_or_else(|| needs("mode"))?)?,
            },
            FsOp::FlipByte => FsAction::FlipByte { offset: raw.offset },
            FsOp::Truncate => FsAction::Truncate,
            FsOp::Write => FsAction::Write {
                content: raw.content.ok_or_else(|| needs("content"))?,
            },
            FsOp::Delete => FsAction::Delete,
            FsOp::ReplaceWithFolder => FsAction::ReplaceWithFolder,
            FsOp::ReplaceWithNonemptyFolder => FsAction::ReplaceWithNonemptyFolder,
            FsOp::Save => FsAction::Save {
                name: raw.name.ok_or_else(|| needs("name"))?,
            },
            FsOp::Restore => FsAction::Restore {
                name: raw.name.ok_or_else(|| needs("name"))?,
            },
        };
        Ok(FsStep {
            action,
            path: raw.path,
            home: raw.home,
        })
    }
}

impl FsAction {
    /// The `op` word, for reports.
    pub fn op(&self) -> &'static str {
        match self {
            FsAction::Chmod { .. } => "chmod",
            FsAction::FlipByte { .. } => "flip_byte",
            FsAction::Truncate => "truncate",
            FsAction::Write { .. } => "write",
            FsAction::Delete => "delete",
            FsAction::ReplaceWithFolder => "replace_with_folder",
            FsAction::ReplaceWithNonemptyFolder => "replace_with_nonempty_folder",
            FsAction::Save { .. } => "save",
            FsAction::Restore { .. } => "restore",
        }
    }
}

impl StepKind for FsStep {
    fn kind(&self) -> &'static str {
        "fs"
    }
    fn expect(&self) -> Option<&Expect> {
        None
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        if let Some(name) = path_name(&self.path) {
            need(profile.paths.contains_key(name), format!("path `{name}`"));
        }
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        format!(" op={} path={}", self.action.op(), self.path)
    }
}
