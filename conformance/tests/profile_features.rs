//! Profile features a real CLI needs, against toy profiles of shell commands: per-home setup
//! and teardown, `{free_port}`, prompts on stdout, the paste flow, browser stand-ins and
//! clients the profile declares at the mock.

use std::path::Path;

use cliauth_conformance::{Profile, Scenario, Suite};

fn suite(profile: &str) -> Suite {
    Suite {
        profile: Profile::from_toml_str(profile, Path::new("toy.toml")).unwrap(),
        bin_dir: None,
    }
}

fn scenario(text: &str) -> Scenario {
    Scenario::from_toml_str(text, Path::new("toy/feature.toml")).unwrap()
}

fn run(suite: &Suite, scenario: &Scenario) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(suite.run(scenario)).map_err(|f| f.report)
}

const AGENT: &str = r#"
name = "toy"
home_env = "TOY_HOME"
[[setup]]
command = ["sh", "-c", "echo configured > \"$TOY_HOME/setup-ran\""]
[[setup]]
command = ["sh", "-c", "touch \"$TOY_HOME/agent.sock\"; exec sleep 60"]
background = true
ready_file = "{home}/agent.sock"
[actions.status]
command = ["sh", "-c", "cat \"$TOY_HOME/setup-ran\"; test -e \"$TOY_HOME/agent.sock\""]
"#;

#[test]
fn setup_runs_per_home_before_the_first_step_and_its_agent_is_stopped_after_the_last() {
    let s = scenario(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"status\"\n\
         [step.expect]\nexit = 0\nstdout_contains = [\"configured\"]\n\
         [[step]]\nkind = \"run\"\naction = \"status\"\nhome = \"other\"\nexpect = { exit = 0 }\n",
    );
    run(&suite(AGENT), &s).unwrap();
}

#[test]
fn a_failing_teardown_fails_the_scenario_and_names_the_hook() {
    let profile =
        format!("{AGENT}[[teardown]]\ncommand = [\"sh\", \"-c\", \"echo gone >&2; exit 3\"]\n");
    let s = scenario(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\nexpect = { exit = 0 }\n",
    );
    let report = run(&suite(&profile), &s).unwrap_err();
    assert!(report.contains("teardown#0[main]"), "{report}");
    assert!(report.contains("exit Some(3)"), "{report}");
}

#[test]
fn a_process_an_agent_leaves_behind_is_a_stray() {
    let profile = AGENT.replace(
        "touch \\\"$TOY_HOME/agent.sock\\\"; exec sleep 60",
        "touch \\\"$TOY_HOME/agent.sock\\\"; sleep 60 >/dev/null 2>&1 & exec sleep 60",
    );
    assert_ne!(profile, AGENT, "the replacement applied");
    let s = scenario(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\nexpect = { exit = 0 }\n",
    );
    let report = run(&suite(&profile), &s).unwrap_err();
    assert!(report.contains("still running"), "{report}");
}

#[test]
fn free_port_is_a_bindable_loopback_port() {
    let profile = r#"
        name = "toy"
        home_env = "TOY_HOME"
        [actions.status]
        command = ["python3", "-c", "import socket; socket.socket().bind(('127.0.0.1', {free_port})); print('bound {free_port}')"]
    "#;
    let s = scenario(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\n\
         [step.expect]\nexit = 0\nstdout_regex = [\"^bound [0-9]+\"]\n",
    );
    run(&suite(profile), &s).unwrap();
}

#[test]
fn browser_stand_ins_are_on_path_and_never_open_a_real_browser() {
    let profile = r#"
        name = "toy"
        home_env = "TOY_HOME"
        [actions.status]
        command = ["sh", "-c", "xdg-open http://127.0.0.1:9/a && gio open http://127.0.0.1:9/b && \"$BROWSER\" http://127.0.0.1:9/c"]
    "#;
    let s = scenario(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\n\
         [step.expect]\nexit = 0\nstderr_contains = [\"cliauth-browser: open http://127.0.0.1:9/a\", \
         \"cliauth-browser: open http://127.0.0.1:9/b\", \"cliauth-browser: open http://127.0.0.1:9/c\"]\n",
    );
    run(&suite(profile), &s).unwrap();
}

/// A login that prints the authorize URL on stdout for a fixed client with a non-loopback
/// redirect, then reads `code#state` from stdin and checks the state.
const PASTE: &str = r##"
name = "toy"
home_env = "TOY_HOME"
[[clients]]
client_id = "toy-fixed"
redirect_uris = ["https://console.example.invalid/oauth/code/callback"]
[prompts]
stream = "stdout"
authorize_url = 'Open this URL in your browser: (\S+)'
paste = "{code}#{state}\n"
[actions.login_web]
stdin_open = true
command = ["sh", "-c", """
state=Qx3v0aZ9k2LmNpRsTuVwXyZ012345678
echo "Open this URL in your browser: {server_url}/oauth/authorize?response_type=code&client_id=toy-fixed&redirect_uri=https%3A%2F%2Fconsole.example.invalid%2Foauth%2Fcode%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=$state"
echo "Paste the code:" >&2
read -r line
case "$line" in *"#$state") echo pasted-ok;; *) echo "state mismatch" >&2; exit 5;; esac
"""]
"##;

#[test]
fn the_paste_flow_types_code_and_state_into_the_login_read_from_stdout() {
    let s = scenario(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"login_web\"\nbackground = \"login\"\n\
         [[step]]\nkind = \"browser\"\nprocess = \"login\"\n\
         [[step]]\nkind = \"wait\"\nprocess = \"login\"\n\
         [step.expect]\nexit = 0\nstdout_contains = [\"pasted-ok\"]\n",
    );
    run(&suite(PASTE), &s).unwrap();
}

#[test]
fn a_tampered_paste_reaches_the_login_with_a_changed_state() {
    let s = scenario(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"login_web\"\nbackground = \"login\"\n\
         [[step]]\nkind = \"browser\"\nprocess = \"login\"\ndecision = \"tamper_state\"\n\
         [[step]]\nkind = \"wait\"\nprocess = \"login\"\nexpect = { exit = 5 }\n",
    );
    run(&suite(PASTE), &s).unwrap();
}

#[test]
fn without_the_declared_client_the_mock_refuses_the_authorize_request() {
    let start = PASTE.find("[[clients]]").unwrap();
    let end = PASTE.find("[prompts]").unwrap();
    let profile = format!("{}{}", &PASTE[..start], &PASTE[end..]);
    let s = scenario(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"login_web\"\nbackground = \"login\"\n\
         [[step]]\nkind = \"browser\"\nprocess = \"login\"\n",
    );
    let report = run(&suite(&profile), &s).unwrap_err();
    assert!(
        report.contains("the authorize URL redirects to the client"),
        "{report}"
    );
}

/// A toy CLI that reads its token from the file `{token_file}` names and keeps a copy.
const TOKEN_FILE: &str = r#"
name = "toy"
home_env = "TOY_HOME"
[actions.token_file]
command = ["sh", "-c", "mkdir -p -m 700 \"$TOY_HOME/d\" && cp {token_file} \"$TOY_HOME/d/pat\" && chmod {mode} \"$TOY_HOME/d/pat\""]
"#;

fn token_file_scenario(mode: &str) -> Scenario {
    scenario(&format!(
        "description = \"d\"\n\
         [[step]]\nkind = \"admin\"\nop = \"mint_token\"\nusername = \"alice\"\ncapture = \"pat\"\n\
         [[step]]\nkind = \"run\"\naction = \"token_file\"\nvars = {{ token = \"{{pat}}\", mode = \"{mode}\" }}\n\
         expect = {{ exit = 0 }}\n"
    ))
}

#[test]
fn a_minted_token_reaches_the_cli_through_a_file_and_a_loose_copy_of_it_fails_the_scenario() {
    let toy = suite(TOKEN_FILE);
    run(&toy, &token_file_scenario("600")).unwrap();
    let report = run(&toy, &token_file_scenario("644")).unwrap_err();
    assert!(
        report.contains("d/pat holds an issued secret, so it is 0600 in a 0700 folder"),
        "{report}"
    );
    assert!(report.contains("file 0644 in folder 0700"), "{report}");
}

/// A toy CLI whose `use` does to its loose credentials file what `{how}` says.
const LOOSE_STORE: &str = r#"
name = "toy"
home_env = "TOY_HOME"
[actions.login]
command = ["sh", "-c", "mkdir -p -m 700 \"$TOY_HOME/d\" && echo '{}' > \"$TOY_HOME/d/store.json\" && chmod 600 \"$TOY_HOME/d/store.json\""]
[actions.use]
command = ["sh", "-c", "{how}"]
[paths]
store = "d/store.json"
"#;

fn loose_store_scenario(how: &str) -> Scenario {
    scenario(&format!(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"login\"\n\
         [[step]]\nkind = \"fs\"\nop = \"chmod\"\npath = \"{{store}}\"\nmode = \"0644\"\n\
         [[step]]\nkind = \"run\"\naction = \"use\"\nvars = {{ how = {how:?} }}\n[step.expect]\n\
         files = [{{ path = \"{{store}}\", named_on_stderr = true }}, \
                  {{ path = \"{{store}}\", mode = \"0600\", if_success = true }}]\n"
    ))
}

#[test]
fn a_loose_file_must_be_named_and_either_refused_or_repaired() {
    let toy = suite(LOOSE_STORE);
    let refuses = "echo \"error: $TOY_HOME/d/store.json is readable by others\" >&2; exit 1";
    run(&toy, &loose_store_scenario(refuses)).unwrap();
    let repairs = "chmod 600 \"$TOY_HOME/d/store.json\"; echo 'warning: repaired store.json' >&2";
    run(&toy, &loose_store_scenario(repairs)).unwrap();
    let report = run(&toy, &loose_store_scenario("exit 0")).unwrap_err();
    assert!(
        report.contains("use#0 names store.json on stderr"),
        "{report}"
    );
    let report = run(&toy, &loose_store_scenario("echo store.json >&2")).unwrap_err();
    assert!(report.contains("store.json has mode 0600"), "{report}");
    assert!(report.contains("observed: 0644"), "{report}");
}

const REWRITER: &str = r#"
name = "toy"
home_env = "TOY_HOME"
[actions.login]
command = ["sh", "-c", "mkdir -p -m 700 \"$TOY_HOME/d\" && echo one > \"$TOY_HOME/d/store\" && chmod 600 \"$TOY_HOME/d/store\""]
[actions.use]
command = ["sh", "-c", "echo two > \"$TOY_HOME/d/store\""]
[paths]
store = "d/store"
"#;

#[test]
fn saved_bytes_are_compared_and_restored() {
    let steps = |restore: bool| {
        let restore = if restore {
            "[[step]]\nkind = \"fs\"\nop = \"restore\"\npath = \"{store}\"\nname = \"before\"\n"
        } else {
            ""
        };
        scenario(&format!(
            "description = \"d\"\n\
             [[step]]\nkind = \"run\"\naction = \"login\"\n\
             [[step]]\nkind = \"fs\"\nop = \"save\"\npath = \"{{store}}\"\nname = \"before\"\n\
             [[step]]\nkind = \"run\"\naction = \"use\"\n\
             {restore}\
             [[step]]\nkind = \"check\"\nexpect = {{ files = [{{ path = \"{{store}}\", same_as = \"before\" }}] }}\n"
        ))
    };
    let toy = suite(REWRITER);
    run(&toy, &steps(true)).unwrap();
    let report = run(&toy, &steps(false)).unwrap_err();
    assert!(
        report.contains("d/store holds exactly the bytes saved as \"before\""),
        "{report}"
    );
    assert!(report.contains("4 bytes that differ"), "{report}");
}
