#!/usr/bin/env python3
"""Python `authlib` (a widely used OAuth/OpenID client) as a judge of cliauth-mock.

    python check.py PATH-TO-cliauth-mock        (in a venv with requirements.txt installed)

Starts `cliauth-mock serve` on 127.0.0.1 and runs through authlib's OAuth2Session: the code
flow with PKCE, nonce and ID-token validation against the JWKS (with joserfc, authlib's JOSE library) (OIDC Core §3.1.3.7), refresh,
userinfo, introspection and revocation; confidential clients with client_secret_basic and
client_secret_post, client_credentials, and the ID tokens the mock breaks on purpose
(`[openid] id_token_fault`), each of which joserfc must refuse; the device grant by hand
(authlib has no device client); and RFC 6749 negative checks. One line per check (`ok NAME` or `FAIL NAME: <authlib's
or the server's own words>`), then `N passed, N failed`; exit 1 when any failed.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.jwk import KeySet

CONFIG = """
[device]
interval = 1

[[clients]]
client_id = "cliauth"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"]

[[clients]]
client_id = "svc-basic"
client_secret = "svc-basic-secret"
token_endpoint_auth_method = "client_secret_basic"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "client_credentials"]

[[clients]]
client_id = "svc-post"
client_secret = "svc-post-secret"
token_endpoint_auth_method = "client_secret_post"
redirect_uris = ["http://127.0.0.1/callback"]
grants = ["authorization_code", "refresh_token", "client_credentials"]
"""
CONFIDENTIAL = {"svc-basic": ("svc-basic-secret", "client_secret_basic"),
                "svc-post": ("svc-post-secret", "client_secret_post")}
FAULTS = ("wrong_nonce", "wrong_aud", "wrong_iss", "expired", "bad_signature")
REDIRECT = "http://127.0.0.1:53682/callback"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    # Hermetic: never through a proxy, only the mock this script starts.
    http = requests.Session()
    http.trust_env = False
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = os.path.join(tmp, "mock.toml")
        with open(cfg_path, "w") as f:
            f.write(CONFIG)
        mock = subprocess.Popen([sys.argv[1], "serve", "--config", cfg_path], stdout=subprocess.PIPE, text=True)
        try:
            ready = json.loads(mock.stdout.readline())
            return run_checks(http, ready)
        finally:
            mock.terminate()
            mock.wait(timeout=10)


def run_checks(http, ready):
    passed = failed = 0
    state = {}

    def check(name, fn):
        nonlocal passed, failed
        try:
            fn()
            passed += 1
            print(f"ok {name}", flush=True)
        except Exception as e:  # noqa: BLE001 - a judge reports every failure in its own words
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)

    def session(client_id="cliauth", **kw):
        if client_id in CONFIDENTIAL:
            secret, method = CONFIDENTIAL[client_id]
            kw.update(client_secret=secret, token_endpoint_auth_method=method)
        s = OAuth2Session(client_id, redirect_uri=REDIRECT, code_challenge_method="S256", **kw)
        s.trust_env = False
        return s

    def metadata():
        r = http.get(ready["issuer"] + "/.well-known/openid-configuration", timeout=10)
        r.raise_for_status()
        state["meta"] = r.json()
        for field in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri",
                      "response_types_supported", "subject_types_supported",
                      "id_token_signing_alg_values_supported"):
            assert field in state["meta"], f"discovery has no {field} (OIDC Discovery §3 requires it)"
    check("discovery (OpenID Connect Discovery 1.0)", metadata)
    meta = state.get("meta", {})

    def authorize(s, **params):
        verifier = generate_token(48)
        url, st = s.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, **params)
        r = http.get(url, allow_redirects=False, timeout=10)
        return r, verifier, st

    def openid_code_flow(client_id="cliauth"):
        """The code flow with PKCE and nonce; the ID token verified against the JWKS and its
        claims validated (OIDC Core §3.1.3.7). Returns the token response."""
        s = session(client_id, scope="openid")
        nonce = generate_token(20)
        r, verifier, _ = authorize(s, nonce=nonce)
        assert r.status_code in (302, 303), f"authorize answered {r.status_code}: {r.text[:200]}"
        token = s.fetch_token(meta["token_endpoint"], authorization_response=r.headers["Location"], code_verifier=verifier)
        assert "id_token" in token, "no id_token in the token response of the OpenID code flow (OIDC Core §3.1.3.3)"
        keys = KeySet.import_key_set(http.get(meta["jwks_uri"], timeout=10).json())
        id_token = jwt.decode(token["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": meta["issuer"]},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(id_token.claims)
        return token

    def code_flow():
        state["token"] = openid_code_flow()
    check("authorization code + PKCE + nonce, ID token validated (OIDC Core §3.1.3.7)", code_flow)

    def refresh():
        token = state.get("token")
        assert token and token.get("refresh_token"), "no refresh token from the code flow"
        s = session(token=token)
        state["token"] = s.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
        assert state["token"].get("access_token"), "no access token"
    check("refresh (RFC 6749 §6)", refresh)

    def userinfo():
        assert "userinfo_endpoint" in meta, "discovery advertises no userinfo_endpoint"
        s = session(token=state.get("token"))
        r = s.get(meta["userinfo_endpoint"], timeout=10)
        assert r.status_code == 200, f"userinfo answered {r.status_code}"
        assert "sub" in r.json(), "userinfo has no sub (OIDC Core §5.3.2 requires it)"
    check("userinfo (OIDC Core §5.3)", userinfo)

    def device():
        r = http.post(meta["device_authorization_endpoint"], data={"client_id": "cliauth", "scope": "openid"}, timeout=10)
        assert r.status_code == 200, f"device authorization answered {r.status_code}: {r.text[:200]}"
        started = r.json()
        ok = http.post(ready["admin_url"] + "/device/approve", json={"user_code": started["user_code"]}, timeout=10)
        assert ok.status_code == 200, f"the mock's admin API refused the approval: {ok.status_code}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            t = http.post(meta["token_endpoint"], data={"grant_type": DEVICE_GRANT, "device_code": started["device_code"], "client_id": "cliauth"}, timeout=10)
            body = t.json()
            if t.status_code == 200:
                state["device"] = body
                return
            assert body.get("error") in ("authorization_pending", "slow_down"), f"poll answered {t.status_code} {body.get('error')}"
            time.sleep(started.get("interval", 5))  # RFC 8628 §3.5: the server's interval between polls
        raise AssertionError("the device grant was not issued within 30 s")
    check("device authorization grant (RFC 8628)", device)

    def introspect_and_revoke():
        token = state.get("token") or state.get("device")
        assert token and token.get("refresh_token"), "no refresh token to revoke"
        s = session(token=token)
        r = s.introspect_token(meta["introspection_endpoint"], token=token["access_token"])
        assert r.json().get("active") is True, f"introspection says {r.json().get('active')}"
        r = s.revoke_token(meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token")
        assert r.status_code == 200, f"revocation answered {r.status_code}"
        r = s.introspect_token(meta["introspection_endpoint"], token=token["refresh_token"])
        assert r.json().get("active") is False, f"after revocation introspection says {r.json().get('active')}"
    check("introspection (RFC 7662) and revocation (RFC 7009)", introspect_and_revoke)

    def unregistered_redirect():
        s = OAuth2Session("cliauth", redirect_uri="http://attacker.invalid/cb", code_challenge_method="S256", scope="openid")
        r, _, _ = authorize(s)
        loc = r.headers.get("Location", "")
        assert not loc.startswith("http://attacker.invalid"), f"redirected to {loc}"
        assert r.status_code >= 400, f"answered {r.status_code}"
    check("an unregistered redirect URI is never redirected to (RFC 6749 §4.1.2.1)", unregistered_redirect)

    for client_id, (_, method) in CONFIDENTIAL.items():
        def confidential(client_id=client_id):
            token = openid_code_flow(client_id)
            assert token.get("refresh_token"), "no refresh token"
            s = session(client_id, token=token)
            state[client_id] = s.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
            assert state[client_id].get("access_token"), "no access token from the refresh"
        check(f"confidential client, {method}: code flow with ID token, then refresh", confidential)

    def unauthenticated():
        token = state.get("svc-basic")
        assert token and token.get("refresh_token"), "no refresh token of the confidential client"
        r = http.post(meta["token_endpoint"], data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"], "client_id": "svc-basic"}, timeout=10)
        assert r.status_code == 401 and r.json().get("error") == "invalid_client", f"answered {r.status_code} {r.text[:200]}"
        assert r.headers.get("WWW-Authenticate", "").startswith("Basic"), "a 401 without a Basic challenge"
    check("a confidential client without authentication gets 401 invalid_client (RFC 6749 §2.3, §6)", unauthenticated)

    def client_credentials():
        s = session("svc-post")
        token = s.fetch_token(meta["token_endpoint"], grant_type="client_credentials", scope="sync")
        assert token.get("access_token"), "no access token"
        assert "refresh_token" not in token, "a refresh token came with client_credentials (RFC 6749 §4.4.3 says no)"
    check("client_credentials (RFC 6749 §4.4), no refresh token", client_credentials)

    for fault in FAULTS:
        def refused(fault=fault):
            put = http.put(ready["admin_url"] + "/config", data=CONFIG + f'\n[openid]\nid_token_fault = "{fault}"\n',
                           headers={"content-type": "application/toml"}, timeout=10)
            assert put.status_code == 200, f"the mock's admin API refused the config: {put.status_code} {put.text[:200]}"
            try:
                openid_code_flow()
            except Exception as e:  # noqa: BLE001 - any refusal by joserfc is what this check wants
                if type(e).__module__.startswith("joserfc"):
                    print(f"   (joserfc: {type(e).__name__}: {e})", flush=True)
                    return
                raise
            raise AssertionError(f"joserfc accepted an ID token with {fault}")
        check(f"joserfc refuses an ID token with fault {fault}", refused)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
