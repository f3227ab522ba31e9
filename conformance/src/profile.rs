//! Client profiles: how the abstract actions of the scenarios map to one client's command
//! lines, environment, output and files (`conformance/profiles/<client>.toml`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

/// A client profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name of the client.
    pub name: String,
    /// What the client is.
    #[serde(default)]
    pub description: String,
    /// The variable that holds the client's state folder; the runner sets it to a temp folder
    /// per scenario home.
    pub home_env: String,
    /// Prefixes of the caller's variables removed before the client runs (its own
    /// configuration variables); proxies are always removed.
    #[serde(default)]
    pub scrub_env_prefixes: Vec<String>,
    /// Variables set for every process (templates: `{server_url}`, `{issuer}`, `{home}`).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Abstract environment settings of the scenarios (`token`, ...) → variable names.
    #[serde(default)]
    pub env_names: BTreeMap<String, String>,
    /// Abstract actions → command lines.
    pub actions: BTreeMap<String, Action>,
    /// Abstract options → arguments appended to the command (`{value}` is the option value).
    #[serde(default)]
    pub options: BTreeMap<String, Vec<String>>,
    /// Error categories → exit codes (`success` is 0).
    #[serde(default)]
    pub categories: BTreeMap<String, i32>,
    /// How to read JSON output.
    #[serde(default)]
    pub json: JsonProfile,
    /// How to turn on and read the debug log.
    #[serde(default)]
    pub debug_log: Option<DebugLog>,
    /// Test pause points (kill and race scenarios).
    #[serde(default)]
    pub pause: Option<Pause>,
    /// How to read what a login shows the user.
    #[serde(default)]
    pub prompts: Prompts,
    /// Named files and folders relative to the home (`credentials_dir`, `store`, `key`,
    /// `lock`); `*` allowed in the last component.
    #[serde(default)]
    pub paths: BTreeMap<String, String>,
    /// The mock dialect the client speaks (`spec-kitty`, `skillmeat`); default cliauth's own.
    #[serde(default)]
    pub dialect: cliauth_mock::Dialect,
    /// Behaviours beyond the standards that the client offers and scenarios may `require`
    /// (`revocation`, `benign_replay_409`, `cliauth_text_contract`).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Server leeway in seconds (RFC 7519 §4.1.4) for scenarios with born-expired access tokens
    /// (`access_ttl = 0`) that set none: a client that checks its fresh token at login needs it.
    #[serde(default)]
    pub min_leeway: u64,
    /// Multiplies every scenario's timeout (a safety net) for slow-starting clients.
    #[serde(default = "one")]
    pub timeout_factor: u64,
    /// Strip ANSI escape sequences from the client's output before any expectation reads it
    /// (for clients that force colour whatever `NO_COLOR` and `TERM` say).
    #[serde(default)]
    pub strip_ansi: bool,
    /// Commands run for every home a scenario's client steps use, before the first step (an
    /// agent or daemon the client needs: `background = true` keeps it running until after
    /// the last step).
    #[serde(default)]
    pub setup: Vec<Hook>,
    /// Commands run for every such home after the last step, before background setup
    /// processes are stopped.
    #[serde(default)]
    pub teardown: Vec<Hook>,
    /// OAuth clients the mock knows besides the scenario's own (a CLI with a fixed
    /// `client_id`, its redirect URIs, a confidential secret); a scenario's client with the
    /// same `client_id` wins.
    #[serde(default)]
    pub clients: Vec<cliauth_mock::ClientConfig>,
    /// Hosts the client reaches at constant `https://` URLs: the mock also runs its
    /// interception proxy for them (a `CONNECT` proxy that terminates TLS with a certificate
    /// from a per-scenario CA), and `{proxy_url}` and `{ca_file}` name the proxy and the CA
    /// file (for the client's `HTTPS_PROXY` and `SSL_CERT_FILE` in `env`).
    #[serde(default)]
    pub intercept: Vec<String>,
    /// The executable the client needs on `PATH` (e.g. `spacebot`): when it is missing the
    /// harness runs nothing and says the client is not installed.
    #[serde(default)]
    pub program: Option<String>,
}

/// A per-home setup or teardown command.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// Program and arguments (templates as in actions, with `{home}` the home it serves).
    pub command: Vec<String>,
    /// Keep it running in the background until after the last step (then it is killed);
    /// otherwise it must exit 0 before the first step.
    #[serde(default)]
    pub background: bool,
    /// A background hook is ready once this file exists (template; e.g. its socket).
    #[serde(default)]
    pub ready_file: Option<String>,
}

fn one() -> u64 {
    1
}

/// One abstract action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Program and arguments (templates allowed: `{username}`, `{server_url}`, ...). The program
    /// is looked up on `PATH`.
    pub command: Vec<String>,
    /// Arguments appended when a step asks for JSON output; absent = no JSON mode.
    #[serde(default)]
    pub json_args: Option<Vec<String>>,
    /// Standard input (template), used when the step gives none.
    #[serde(default)]
    pub stdin: Option<String>,
    /// The action prints a secret on stdout by design (`token`); its stdout is exempt from
    /// the leak scan.
    #[serde(default)]
    pub prints_secret: bool,
    /// The command itself carries a secret (a token flag): its own command line is exempt
    /// from the argv invariant (processes it starts are not), and the run lists the action
    /// as a finding, since every local user can read a command line.
    #[serde(default)]
    pub secret_in_argv: bool,
    /// Keep the client's standard input open after `stdin` was written (a login that reads
    /// a pasted `code#state` line: the `browser` step types the profile's `prompts.paste`).
    #[serde(default)]
    pub stdin_open: bool,
}

/// JSON output conventions.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonProfile {
    /// JSON pointer of the error category in an error document.
    #[serde(default)]
    pub category: Option<String>,
    /// Abstract field names → JSON pointers.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// Debug log conventions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugLog {
    /// Variables that turn the log on.
    pub env: BTreeMap<String, String>,
    /// Abstract event words → the word the client writes.
    pub words: BTreeMap<String, String>,
}

/// Pause-point conventions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pause {
    /// Variable naming the point to pause at.
    pub env: String,
    /// The stderr line the client prints when paused (`{point}`).
    pub line: String,
    /// File relative to the home whose creation releases the pause (`{point}`).
    pub release_file: String,
    /// Supported points.
    pub points: Vec<String>,
}

/// Regexes over a login's output; the first capture group is the value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prompts {
    /// Where the prompts are printed (default stderr).
    #[serde(default)]
    pub stream: PromptStream,
    /// The paste flow: instead of delivering the authorize redirect to a loopback callback,
    /// the browser step types this template into the login's stdin, with `{code}`, `{state}`
    /// and `{redirect}` (the whole redirect URL) from the redirect (e.g. `"{code}#{state}\n"`).
    /// The login action needs `stdin_open = true`.
    #[serde(default)]
    pub paste: Option<String>,
    /// The authorize URL of a browser login.
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// The user code of a device login.
    #[serde(default)]
    pub user_code: Option<String>,
}

/// The output stream a login's prompts appear on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptStream {
    /// Standard error (most CLIs: it keeps stdout for results).
    #[default]
    Stderr,
    /// Standard output.
    Stdout,
    /// Either: stdout, then stderr, followed by the first to match.
    Both,
}

/// A profile that could not be read or understood: the workspace's one error for a TOML file
/// (`file:line:col: what is wrong`), shared with scenarios and the mock's config.
pub type ProfileError = cliauth_tomlfile::TomlFileError;

impl Profile {
    /// Reads a profile file.
    pub fn from_file(path: &Path) -> Result<Self, ProfileError> {
        let src = cliauth_tomlfile::read_text(path, "profile")?;
        Self::from_toml_str(&src, path)
    }

    /// Parses profile text; `path` is only used in errors.
    pub fn from_toml_str(src: &str, path: &Path) -> Result<Self, ProfileError> {
        cliauth_tomlfile::parse(src, &path.display().to_string())
    }

    /// Exit code of a category (`success` = 0).
    pub fn exit_code(&self, category: &str) -> Option<i32> {
        if category == "success" {
            Some(0)
        } else {
            self.categories.get(category).copied()
        }
    }
}

/// `{name}` when the whole path is a profile path name.
pub(crate) fn path_name(path: &str) -> Option<&str> {
    path.strip_prefix('{').and_then(|p| p.strip_suffix('}'))
}

/// Substitutes `{name}` placeholders; an unknown name is an error naming it.
pub(crate) fn render(template: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').filter(|&e| {
            e > 0
                && after[..e]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if let Some(end) = end {
            let name = &after[..end];
            let value = vars
                .get(name)
                .ok_or_else(|| format!("no value for placeholder {{{name}}}"))?;
            out.push_str(value);
            rest = &after[end + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_substitutes_and_reports_unknown_names() {
        let vars: BTreeMap<String, String> = [("a".to_owned(), "1".to_owned())].into();
        assert_eq!(render("x{a}y", &vars).unwrap(), "x1y");
        assert_eq!(render("{\"json\": {}}", &vars).unwrap(), "{\"json\": {}}");
        assert!(render("{b}", &vars).unwrap_err().contains("{b}"));
    }

    #[test]
    fn shipped_profile_parses_and_covers_the_core_actions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/cliauth.toml");
        let p = Profile::from_file(&path).unwrap();
        for action in [
            "login_web",
            "login_device",
            "login_password",
            "login_token",
            "status",
            "token",
            "refresh",
            "logout",
            "sync",
        ] {
            assert!(p.actions.contains_key(action), "{action}");
        }
        assert_eq!(p.exit_code("unauthenticated"), Some(4));
    }

    #[test]
    fn interception_profiles_parse_with_their_hosts_program_and_paste_flow() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        for (file, program) in [
            ("spacebot.toml", "spacebot"),
            ("pinned-https.toml", "pinned-https"),
        ] {
            let p = Profile::from_file(&dir.join(file)).unwrap();
            assert_eq!(p.dialect, cliauth_mock::Dialect::Spacebot, "{file}");
            assert_eq!(p.program.as_deref(), Some(program));
            assert_eq!(p.intercept, ["claude.ai", "console.anthropic.com"]);
            assert_eq!(p.env["HTTPS_PROXY"], "{proxy_url}");
            assert_eq!(p.env["SSL_CERT_FILE"], "{ca_file}");
            assert!(p.actions["login_web"].stdin_open, "{file}");
            assert_eq!(p.prompts.paste.as_deref(), Some("{code}#{state}\n"));
        }
        let cliauth = Profile::from_file(&dir.join("cliauth.toml")).unwrap();
        assert!(cliauth.intercept.is_empty() && cliauth.program.is_none());
    }

    #[test]
    fn seed_profiles_parse_with_their_dialects_and_capabilities() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let sk = Profile::from_file(&dir.join("spec-kitty.toml")).unwrap();
        assert_eq!(sk.dialect, cliauth_mock::Dialect::SpecKitty);
        assert!(sk.capabilities.iter().any(|c| c == "revocation"));
        assert_eq!((sk.min_leeway, sk.timeout_factor), (5, 4));
        let sm = Profile::from_file(&dir.join("skillmeat.toml")).unwrap();
        assert_eq!(sm.dialect, cliauth_mock::Dialect::Skillmeat);
        assert_eq!(sm.capabilities, ["refresh_tokens"]);
        let cliauth = Profile::from_file(&dir.join("cliauth.toml")).unwrap();
        assert_eq!(cliauth.dialect, cliauth_mock::Dialect::Cliauth);
        assert_eq!(cliauth.timeout_factor, 1);
        let oidc = Profile::from_file(&dir.join("oidc-agent.toml")).unwrap();
        assert_eq!(oidc.setup.len(), 1);
        assert!(oidc.setup[0].background);
        assert_eq!(oidc.clients[0].client_id, "oidc-agent-kit");
        let dot_ai = Profile::from_file(&dir.join("dot-ai.toml")).unwrap();
        assert_eq!(dot_ai.dialect, cliauth_mock::Dialect::DotAi);
        assert_eq!(dot_ai.prompts.stream, PromptStream::Stdout);
        for p in [&sk, &sm, &cliauth, &oidc, &dot_ai] {
            assert!(
                p.actions.contains_key("login") && p.actions.contains_key("use"),
                "{}",
                p.name
            );
        }
    }
}
