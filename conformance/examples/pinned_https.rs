//! `pinned-https`: a small command-line client whose hosts are constants, written to prove the
//! mock's interception mode (issue 14). It talks to `https://claude.ai` and
//! `https://console.anthropic.com` only, reaches them through `HTTPS_PROXY` (reqwest's usual
//! proxy variables), and trusts **only** the certificates in `SSL_CERT_FILE`: no built-in or
//! system roots, so it fails against any server whose CA is not in that file.
//!
//! ```text
//! pinned-https auth login     print the authorize URL on stderr, read `code#state` from stdin
//! pinned-https auth refresh   refresh now (a new refresh token replaces the old)
//! pinned-https auth status    logged in or not (stderr); exit 0, or 4 when not logged in
//! pinned-https auth logout    delete the stored tokens
//! ```
//!
//! Tokens live in `$PINNED_HTTPS_HOME/credentials/oauth.json` (a 0600 file in a 0700 folder):
//! `{access_token, refresh_token, expires_at}` (Unix ms). Exit status: 0 success, 1 failure, 2 usage, 4 not logged in. No
//! token, code or verifier is ever printed. Built by the conformance harness with the
//! reference client (`cargo build --workspace --example cliauth_hooked --example pinned_https`);
//! profile `conformance/profiles/pinned-https.toml`.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use base64::Engine as _;
use sha2::Digest as _;

const AUTHORIZE: &str = "https://claude.ai/oauth/authorize";
const TOKEN: &str = "https://console.anthropic.com/v1/oauth/token";
const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
const REDIRECT_URI: &str = "https://console.anthropic.com/oauth/code/callback";
const SCOPE: &str = "org:create_api_key user:profile user:inference";

/// A failure: the message for stderr and the exit status.
struct Fail(String, u8);

fn fail(message: impl Into<String>) -> Fail {
    Fail(message.into(), 1)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match words.as_slice() {
        ["auth", "login"] => runtime.block_on(login()),
        ["auth", "refresh"] => runtime.block_on(refresh()),
        ["auth", "status"] => status(),
        ["auth", "logout"] => logout(),
        _ => Err(Fail(
            "usage: pinned-https auth login|refresh|status|logout".to_owned(),
            2,
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fail(message, code)) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

fn store_path() -> Result<PathBuf, Fail> {
    std::env::var_os("PINNED_HTTPS_HOME")
        .map(|home| PathBuf::from(home).join("credentials").join("oauth.json"))
        .ok_or_else(|| fail("PINNED_HTTPS_HOME is not set; set it to the folder for the tokens"))
}

/// The HTTP client: the proxy from the environment, and the roots from `SSL_CERT_FILE` only.
fn http() -> Result<reqwest::Client, Fail> {
    let file = std::env::var_os("SSL_CERT_FILE").ok_or_else(|| {
        fail("SSL_CERT_FILE is not set; this client trusts only the certificates in that file")
    })?;
    let pem = std::fs::read(&file)
        .map_err(|e| fail(format!("cannot read SSL_CERT_FILE {}: {e}", file.display())))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        fail(format!(
            "SSL_CERT_FILE {} holds no certificate: {e}",
            file.display()
        ))
    })?;
    if roots.is_empty() {
        return Err(fail(format!(
            "SSL_CERT_FILE {} holds no certificate",
            file.display()
        )));
    }
    reqwest::Client::builder()
        .tls_certs_only(roots)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .map_err(|e| fail(format!("cannot build the HTTP client: {e}")))
}

/// `len` random bytes, base64url without padding.
fn random(len: usize) -> Result<String, Fail> {
    let mut bytes = vec![0u8; len];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| fail(format!("cannot read /dev/urandom: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

async fn login() -> Result<(), Fail> {
    let path = store_path()?;
    let http = http()?;
    let verifier = random(64)?;
    let state = random(32)?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let mut url = url::Url::parse(AUTHORIZE).map_err(|e| fail(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("code", "true")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", SCOPE)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", &state);
    eprintln!("Open this URL in your browser:\n{url}\n");
    eprint!("Paste the code shown after you approve (code#state): ");
    if let Err(e) = std::io::stderr().flush() {
        return Err(fail(format!("cannot write the prompt: {e}")));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| fail(format!("cannot read the pasted code: {e}")))?;
    let (code, pasted_state) = line.trim().split_once('#').ok_or_else(|| {
        fail("the pasted text is not code#state; copy the whole line the page shows")
    })?;
    if code.is_empty() {
        return Err(fail(
            "the pasted text has no code (was the request denied?); start again",
        ));
    }
    if pasted_state != state {
        return Err(fail(
            "the pasted state does not match this login; start again",
        ));
    }
    let body = serde_json::json!({
        "grant_type": "authorization_code",
        "code": code,
        "state": state,
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    });
    let tokens = token_request(&http, &body).await?;
    save(&path, &tokens)?;
    eprintln!("Logged in.");
    Ok(())
}

async fn refresh() -> Result<(), Fail> {
    let path = store_path()?;
    let stored = load(&path)?;
    let http = http()?;
    let body = serde_json::json!({
        "grant_type": "refresh_token",
        "refresh_token": stored["refresh_token"],
        "client_id": CLIENT_ID,
    });
    let tokens = token_request(&http, &body).await?;
    save(&path, &tokens)?;
    eprintln!("Refreshed.");
    Ok(())
}

fn status() -> Result<(), Fail> {
    let stored = load(&store_path()?)?;
    let now = now_ms()?;
    let left = stored["expires_at"]
        .as_u64()
        .unwrap_or(0)
        .saturating_sub(now)
        / 1000;
    eprintln!("Logged in (access token valid for {left} s).");
    Ok(())
}

fn logout() -> Result<(), Fail> {
    let path = store_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => eprintln!("Logged out."),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => eprintln!("Not logged in."),
        Err(e) => return Err(fail(format!("cannot delete {}: {e}", path.display()))),
    }
    Ok(())
}

/// POSTs a JSON token request; every success must carry access_token, refresh_token and
/// expires_in. Returns what to store.
async fn token_request(
    http: &reqwest::Client,
    body: &serde_json::Value,
) -> Result<serde_json::Value, Fail> {
    let resp = http
        .post(TOKEN)
        .json(body)
        .send()
        .await
        .map_err(|e| fail(format!("cannot reach {TOKEN}: {}", chain(&e))))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.map_err(|e| {
        fail(format!(
            "the token endpoint answered {status} without JSON: {e}"
        ))
    })?;
    if !status.is_success() {
        let error = answer["error"].as_str().unwrap_or("unknown");
        return Err(fail(format!(
            "the token endpoint refused ({status}): {error}"
        )));
    }
    let (Some(access), Some(refresh), Some(expires_in)) = (
        answer["access_token"].as_str(),
        answer["refresh_token"].as_str(),
        answer["expires_in"].as_u64(),
    ) else {
        return Err(fail(
            "the token response lacks access_token, refresh_token or expires_in",
        ));
    };
    Ok(serde_json::json!({
        "access_token": access,
        "refresh_token": refresh,
        "expires_at": now_ms()? + expires_in * 1000,
    }))
}

/// An error with its causes (a TLS failure is in the source chain).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn now_ms() -> Result<u64, Fail> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| fail(format!("the clock is before 1970: {e}")))?;
    u64::try_from(since.as_millis()).map_err(|e| fail(format!("the clock is out of range: {e}")))
}

fn load(path: &std::path::Path) -> Result<serde_json::Value, Fail> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Fail(
                "not logged in; run `pinned-https auth login`".to_owned(),
                4,
            ));
        }
        Err(e) => return Err(fail(format!("cannot read {}: {e}", path.display()))),
    };
    serde_json::from_str(&text).map_err(|e| {
        fail(format!(
            "{} is damaged ({e}); run `pinned-https auth login` again",
            path.display()
        ))
    })
}

/// Writes the tokens atomically (a private temp file renamed over the store).
fn save(path: &std::path::Path, tokens: &serde_json::Value) -> Result<(), Fail> {
    use std::os::unix::fs::DirBuilderExt as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(tokens.to_string().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| fail(format!("cannot write {}: {e}", path.display())))
}
