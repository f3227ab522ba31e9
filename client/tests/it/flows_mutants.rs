//! Browser login behaviours that only show end to end: the browser named by `$BROWSER` is
//! started with the authorize URL, and a failed code exchange is reported by what went wrong.

use rstest::rstest;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::Fixture;

type StderrLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Reads the login's stderr up to the printed authorize URL.
async fn printed_authorize_url(child: &mut tokio::process::Child) -> (StderrLines, String) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next_line().await.unwrap().expect("the URL line");
        if let Some(u) = line.strip_prefix("Open this URL to log in: ") {
            return (lines, u.to_owned());
        }
    }
}

/// The rest of the login's stderr.
async fn rest_of(mut lines: StderrLines) -> String {
    let mut rest = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        rest.push_str(&l);
        rest.push('\n');
    }
    rest
}

fn browser_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap()
}

/// Without `--no-browser`, the login starts the person's browser (`$BROWSER` names it) on the
/// authorize URL it printed, and that browser can complete the login. The stand-in browser
/// writes the URL it was given into a FIFO: the test's read of the FIFO waits for it, with no
/// timing involved.
#[tokio::test]
async fn browser_login_starts_the_browser_named_by_browser_env_on_the_authorize_url() {
    let f = Fixture::new("").await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("opened-url");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo: {made:?}");
    // Run through `sh` rather than executed directly: a freshly written executable can be
    // "text file busy" while another test thread forks.
    let script = dir.path().join("browser.sh");
    std::fs::write(
        &script,
        format!("printf '%s\\n' \"$1\" > '{}'\n", fifo.display()),
    )
    .unwrap();
    let mut cmd = f.cmd(&["auth", "login", "--timeout", "15"]);
    cmd.env_remove("CLIAUTH_NO_BROWSER")
        .env("BROWSER", format!("sh {}", script.display()));
    let mut child = cmd.spawn().unwrap();
    // Opening the FIFO blocks until the browser opens it for writing, so it runs on a thread of
    // its own; if the browser never starts, the thread stays blocked and the login's exit ends
    // the wait below.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        // The receiver is gone only when the test has already failed.
        drop(tx.send(std::fs::read_to_string(&fifo)));
    });
    let (lines, printed) = printed_authorize_url(&mut child).await;
    let opened = tokio::select! {
        r = rx => r.unwrap().unwrap(),
        s = child.wait() => panic!("the login ended ({s:?}) without starting the browser"),
    };
    assert_eq!(opened.trim_end(), printed);

    // Be that browser: the consent page redirects to the loopback callback.
    let browser = browser_client();
    let consent = browser.get(opened.trim_end()).send().await.unwrap();
    assert!(consent.status().is_redirection(), "{consent:?}");
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let rest = rest_of(lines).await;
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("Logged in to"), "{rest}");
}

/// When the token endpoint refuses the authorization code, the outcome names the cause:
/// `invalid_grant` means the code was used up or timed out (log in again, sooner); any other
/// OAuth error keeps its own category. The browser tab says the same.
#[rstest]
#[case::invalid_grant(
    "invalid_grant",
    12,
    "expired_code",
    "the authorization code expired before the login was approved"
)]
#[case::invalid_client(
    "invalid_client",
    9,
    "config",
    "returned an OAuth error: invalid_client"
)]
#[case::server_error(
    "server_error",
    8,
    "server_error",
    "returned an OAuth error: server_error"
)]
#[tokio::test]
async fn refused_code_exchange_is_reported_by_its_cause(
    #[case] error: &str,
    #[case] code: i32,
    #[case] category: &str,
    #[case] message: &str,
) {
    let f = Fixture::new(&format!(
        "[[rules]]\nname = \"code-refused\"\nmatch = {{ path = \"/oauth/token\", grant_type = \"authorization_code\" }}\naction = {{ kind = \"status\", status = 400, body = \"{{\\\"error\\\":\\\"{error}\\\"}}\" }}\n"
    ))
    .await;
    let mut child = f
        .cmd(&["auth", "login", "--no-browser", "--json", "--timeout", "60"])
        .spawn()
        .unwrap();
    let (lines, url) = printed_authorize_url(&mut child).await;
    let browser = browser_client();
    let consent = browser.get(&url).send().await.unwrap();
    assert!(consent.status().is_redirection(), "{consent:?}");
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let page = page.text().await.unwrap();
    assert!(page.contains("Login failed: "), "{page}");
    assert!(page.contains(message), "{page}");
    let rest = rest_of(lines).await;
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(out.status.code(), Some(code), "{rest}");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON error on stdout");
    assert_eq!(json["category"], category, "{json}");
    assert!(
        json["message"].as_str().unwrap().contains(message),
        "{json}"
    );
    assert_eq!(
        f.count(|e| e.path.contains("token")),
        1,
        "one code exchange"
    );
}
