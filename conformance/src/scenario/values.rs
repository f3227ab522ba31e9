//! Small values several scenario tables share: the default home and permission modes.

use serde::Deserialize;

/// The home a step uses when it names none.
pub(crate) fn default_home() -> String {
    "main".to_owned()
}

/// Permission bits written as an octal string (`"0600"`), checked when the file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Mode(u32);

impl Mode {
    /// The permission bits.
    pub fn bits(self) -> u32 {
        self.0
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl TryFrom<String> for Mode {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        Mode::parse(&text)
    }
}

impl Mode {
    /// Parses an octal mode string such as `"0600"`.
    pub(crate) fn parse(mode: &str) -> Result<Mode, String> {
        u32::from_str_radix(mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
            .map(Mode)
            .ok_or_else(|| format!("mode {mode:?} is not an octal permission such as \"0600\""))
    }
}
