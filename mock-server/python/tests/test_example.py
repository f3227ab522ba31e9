"""Example suite for the cliauth-mock pytest plugin: each admin helper against the real binary.

Run by .ci/python-wheel from a fresh venv with only the wheel and pytest installed. The
README's Python snippet is taken from this file (the check compares them line by line).
"""

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from cliauth_mock import MockServer, toml_dumps


def login(mock, user="alice"):
    return mock.token(grant_type="password", username=user, password=f"{user}-password")


# readme-start
def test_refresh_after_the_access_token_expires(cliauth_mock):
    tokens = cliauth_mock.token(grant_type="password", username="alice", password="alice-password")
    cliauth_mock.advance_clock(3601)
    status, _ = cliauth_mock.get("/api/v1/me", bearer=tokens["access_token"])
    assert status == 401
    cliauth_mock.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert cliauth_mock.journal()["counters"]["POST /oauth/token refresh_token 200"] == 1


@pytest.mark.cliauth_mock(config={"device": {"interval": 0}})
def test_device_flow_approved_through_the_admin_api(cliauth_mock):
    _, device = cliauth_mock.request("POST", "/oauth/device_authorization", form={"client_id": "cliauth"})
    cliauth_mock.approve_device(device["user_code"], username="bob")
    grant = "urn:ietf:params:oauth:grant-type:device_code"
    tokens = cliauth_mock.token(grant_type=grant, device_code=device["device_code"])
    assert tokens["access_token"] in cliauth_mock.secrets()
# readme-end


@pytest.mark.cliauth_mock(config={"device": {"interval": 0}})
def test_a_denied_device_code_is_access_denied(cliauth_mock):
    _, device = cliauth_mock.request("POST", "/oauth/device_authorization", form={"client_id": "cliauth"})
    cliauth_mock.deny_device()
    status, body = cliauth_mock.request("POST", "/oauth/token", form={
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device["device_code"], "client_id": "cliauth"})
    assert (status, body["error"]) == (400, "access_denied")


def test_a_rule_breaks_one_request_then_clear_rules_restores(cliauth_mock):
    cliauth_mock.add_rule({"name": "busy", "times": 1, "match": {"path": "/api/v1/meta"},
                           "action": {"kind": "catalog", "name": "rate_limited"}})
    assert cliauth_mock.get("/api/v1/meta")[0] == 429
    assert cliauth_mock.get("/api/v1/meta")[0] == 200
    cliauth_mock.add_rule({"name": "down", "match": {"path": "/api/v1/meta"},
                           "action": {"kind": "status", "status": 503}})
    assert cliauth_mock.get("/api/v1/meta")[0] == 503
    cliauth_mock.clear_rules()
    assert cliauth_mock.get("/api/v1/meta")[0] == 200


def test_a_held_request_waits_for_release_hold(cliauth_mock):
    cliauth_mock.add_rule({"name": "gate", "match": {"path": "/api/v1/meta"},
                           "action": {"kind": "hold", "count": 10}})
    answers = []
    waiter = threading.Thread(target=lambda: answers.append(cliauth_mock.get("/api/v1/meta")[0]))
    waiter.start()
    # Release as soon as the request is parked (released counts the requests let through).
    deadline = time.monotonic() + 10
    while cliauth_mock.release_hold("gate")["released"] == 0:
        assert time.monotonic() < deadline, "the request never reached the hold"
        time.sleep(0.01)
    waiter.join(timeout=10)
    assert answers == [200]


def test_journal_pages_by_sequence_number(cliauth_mock):
    for _ in range(3):
        cliauth_mock.get("/api/v1/meta")
    first = cliauth_mock.journal(limit=2)
    assert [e["path"] for e in first["entries"]] == ["/api/v1/meta"] * 2
    rest = cliauth_mock.journal(since=first["entries"][-1]["seq"])
    assert len(rest["entries"]) == 1
    assert rest["dropped"] == 0


def test_every_minted_token_is_in_secrets_for_leak_scans(cliauth_mock):
    tokens = login(cliauth_mock)
    secrets = cliauth_mock.secrets()
    assert tokens["access_token"] in secrets and tokens["refresh_token"] in secrets


ROTATION = """
[rotation]
policy = "benign_replay"
retry_after = 2
"""


@pytest.mark.cliauth_mock(config=ROTATION)
def test_config_as_toml_text(cliauth_mock):
    tokens = login(cliauth_mock)
    cliauth_mock.token(grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    status, body = cliauth_mock.request("POST", "/oauth/token", form={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "cliauth"})
    assert status == 409, body


def test_config_as_a_path_and_set_config_at_run_time(cliauth_mock_factory, tmp_path):
    path = tmp_path / "mock.toml"
    path.write_text('[tokens]\naccess_ttl = 5\n')
    mock = cliauth_mock_factory(Path(path))
    assert login(mock)["expires_in"] == 5
    mock.set_config({"tokens": {"access_ttl": 7}})
    assert login(mock)["expires_in"] == 7


def test_dict_configs_are_written_as_toml():
    text = toml_dumps({"issuer": "http://127.0.0.1:1", "rotation": {"policy": "grace"},
                       "rules": [{"name": "r", "match": {"path": "/x"}, "action": {"kind": "drop"}}]})
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the plugin needs only 3.9
    assert tomllib.loads(text)["rules"][0]["action"] == {"kind": "drop"}


def test_https_with_the_per_run_ca(cliauth_mock_factory):
    mock = cliauth_mock_factory(tls=True)
    assert mock.url.startswith("https://127.0.0.1:")
    status, meta = mock.get("/.well-known/oauth-authorization-server")
    assert status == 200 and meta["issuer"] == mock.issuer


def test_stop_exits_zero_and_a_closed_stdin_ends_the_server():
    mock = MockServer.start()
    assert mock.get("/api/v1/meta")[0] == 200
    assert mock.stop() == 0


_session_pids = []


def test_the_session_server_is_shared(cliauth_mock_session):
    cliauth_mock_session.reset()
    login(cliauth_mock_session)
    _session_pids.append(cliauth_mock_session.process.pid)


def test_the_session_server_keeps_its_state_into_the_next_test(cliauth_mock_session):
    assert _session_pids == [cliauth_mock_session.process.pid]
    assert cliauth_mock_session.journal()["counters"]["POST /oauth/token password 200"] == 1


def test_the_bundled_binary_answers_health(cliauth_mock):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(cliauth_mock.admin_url + "/health", timeout=10) as resp:
        assert json.load(resp)["status"] == "ok"
