#!/usr/bin/env python3
"""The reference client `cliauth` against panva's oidc-provider (a certified OpenID provider).

    python3 interop/cliauth_vs_provider.py PATH-TO-cliauth

Starts `node interop/oidc-provider/provider.mjs` on 127.0.0.1 (run `npm ci` there first) and
drives the real `cliauth` binary through: device login, browser login (a scripted person,
browser.py, signs in and consents on the provider's own pages), refresh after the access token
expired, logout that the provider's introspection then reports inactive, and login with
self-registration (RFC 7591). One line per check (`ok NAME` or `FAIL NAME: <what the client or
provider said>`), then `N passed, N failed`; exit 1 when any failed. Only 127.0.0.1 is
contacted; every process started is stopped at the end.
"""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ACCESS_TTL = 2  # seconds: short, so that "refresh after expiry" needs no long wait


def start_provider():
    proc = subprocess.Popen(
        ["node", os.path.join(HERE, "oidc-provider", "provider.mjs")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "ACCESS_TTL": str(ACCESS_TTL)}, text=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("oidc-provider did not start (did you run `npm ci` in interop/oidc-provider?)")
    return proc, json.loads(line)


def clean_env(home, issuer, client_id=None):
    """The caller's environment without CLIAUTH_* or proxies, plus this run's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLIAUTH_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(CLIAUTH_HOME=home, CLIAUTH_SERVER_URL=issuer, CLIAUTH_NO_BROWSER="1", NO_COLOR="1")
    if client_id:
        env["CLIAUTH_CLIENT_ID"] = client_id
    return env


def run(cli, env, *args, timeout=60):
    return subprocess.run([cli, *args], env=env, capture_output=True, text=True, timeout=timeout)


def introspect(ready, token):
    rs = ready["introspection_client"]
    auth = base64.b64encode(f"{rs['id']}:{rs['secret']}".encode()).decode()
    req = urllib.request.Request(
        ready["issuer"] + "/token/introspection",
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": f"Basic {auth}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp)


def check_status(cli, env, user="alice"):
    """`auth status --json` after a login: the granted scope and the subject of the ID token
    the client verified (signature against the provider's JWKS, iss, aud, exp, nonce)."""
    status = run(cli, env, "auth", "status", "--json")
    assert status.returncode == 0, f"status exited {status.returncode}: {status.stdout.strip()}"
    doc = json.loads(status.stdout)
    scope = (doc.get("scope") or "").split()
    assert "openid" in scope and "offline_access" in scope, f"granted scope is {doc.get('scope')!r}"
    assert doc.get("sub") == user, f"no verified ID token subject: sub is {doc.get('sub')!r}"


def device_login(cli, env, user="alice"):
    """Starts `auth login --device`, types its code at the provider, returns the finished process."""
    proc = subprocess.Popen([cli, "auth", "login", "--device"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    code = uri = None
    seen = []
    while code is None or uri is None:
        line = proc.stderr.readline()
        if not line:
            break
        seen.append(line.rstrip())
        if m := re.match(r"Code: (\S+)", line):
            code = m.group(1)
        if m := re.match(r"Open: (\S+)", line):
            uri = m.group(1)
    if code is None or uri is None:
        proc.kill()
        raise AssertionError(f"the client printed no code and URI: {' | '.join(seen)}")
    browser = subprocess.run([sys.executable, os.path.join(HERE, "browser.py"), uri, "--user-code", code, "--user", user],
                             capture_output=True, text=True, timeout=60)
    out, err = proc.communicate(timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"login exited {proc.returncode}: {err.strip()} (browser: {browser.stderr.strip().splitlines()[-1:]})")
    return out, err


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    cli = os.path.abspath(sys.argv[1])
    provider, ready = start_provider()
    issuer, client_id = ready["issuer"], ready["client_id"]
    passed = failed = 0

    def check(name, fn):
        nonlocal passed, failed
        try:
            fn()
            passed += 1
            print(f"ok {name}", flush=True)
        except (AssertionError, subprocess.SubprocessError, OSError, ValueError) as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = os.path.join(tmp, "device")
            env = clean_env(home, issuer, client_id)
            state = {}

            def device():
                device_login(cli, env)
                check_status(cli, env)
                state["token"] = run(cli, env, "auth", "token").stdout.strip()
                assert introspect(ready, state["token"]).get("active") is True, "the provider says the token is not active"
            check("device login (RFC 8628) on the provider's own pages", device)

            def refresh_after_expiry():
                assert "token" in state, "no session from the device login"
                time.sleep(ACCESS_TTL + 1)  # the provider's clock cannot be moved: wait out the access token
                token = run(cli, env, "auth", "token")
                assert token.returncode == 0, f"auth token exited {token.returncode}: {token.stderr.strip()}"
                fresh = token.stdout.strip()
                assert fresh != state["token"], "the expired access token was printed again"
                assert introspect(ready, fresh).get("active") is True, "the refreshed token is not active"
                state["token"] = fresh
            check("refresh after the access token expired", refresh_after_expiry)

            def logout():
                assert "token" in state, "no session to log out of"
                out = run(cli, env, "auth", "logout", "--json")
                assert out.returncode == 0, f"logout exited {out.returncode}: {out.stdout.strip()} {out.stderr.strip()}"
                assert json.loads(out.stdout).get("revoked") is True, f"logout did not revoke: {out.stdout.strip()}"
                assert introspect(ready, state["token"]).get("active") is False, "the provider still says the token is active"
            check("logout revokes: the provider's introspection says inactive", logout)

            def browser_login():
                benv = clean_env(os.path.join(tmp, "browser"), issuer, client_id)
                del benv["CLIAUTH_NO_BROWSER"]
                benv["BROWSER"] = f"{sys.executable} {os.path.join(HERE, 'browser.py')}"
                out = run(cli, benv, "auth", "login", "--timeout", "60")
                assert out.returncode == 0, f"login exited {out.returncode}: {out.stderr.strip()}"
                check_status(cli, benv)
            check("browser login (code + PKCE, loopback redirect) on the provider's own pages", browser_login)

            def self_registration():
                renv = clean_env(os.path.join(tmp, "registered"), issuer)
                device_login(cli, renv)
                check_status(cli, renv)
            check("login with self-registration (RFC 7591)", self_registration)
    finally:
        provider.stdin.close()
        try:
            provider.wait(timeout=5)
        except subprocess.TimeoutExpired:
            provider.kill()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
