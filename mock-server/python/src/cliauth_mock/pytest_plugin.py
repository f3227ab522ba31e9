"""The pytest plugin (entry point ``pytest11``): fixtures that start the bundled mock.

- ``cliauth_mock``: one server per test. Its config comes from the test's
  ``@pytest.mark.cliauth_mock(config=..., dialect=..., tls=...)`` marker, else from the
  ``cliauth_mock_config`` fixture (None by default: override it in a conftest or module).
- ``cliauth_mock_session``: one server for the whole session, configured by overriding the
  session-scoped ``cliauth_mock_session_config`` fixture. State carries over between tests:
  call ``reset()`` where a test needs a clean server.
- ``cliauth_mock_factory``: ``start(config=None, **options)`` for tests that need several.

A config is a dict, a TOML string or a ``pathlib.Path``. Every server runs with
``--exit-with-parent`` on 127.0.0.1 and a free port, and is stopped at teardown.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest

from . import ConfigLike, MockServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "cliauth_mock(config=None, dialect=None, tls=False, args=()): how the cliauth_mock fixture starts the mock for this test",
    )


@pytest.fixture
def cliauth_mock_config() -> ConfigLike:
    """The config of ``cliauth_mock`` when the test has no marker (override it)."""
    return None


@pytest.fixture(scope="session")
def cliauth_mock_session_config() -> ConfigLike:
    """The config of ``cliauth_mock_session`` (override it, session-scoped)."""
    return None


@pytest.fixture
def cliauth_mock(request: pytest.FixtureRequest, cliauth_mock_config: ConfigLike) -> Iterator[MockServer]:
    """A mock server for this test, stopped after it."""
    marker = request.node.get_closest_marker("cliauth_mock")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        options.setdefault("config", marker.args[0])
    options.setdefault("config", cliauth_mock_config)
    server = MockServer.start(**options)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cliauth_mock_session(cliauth_mock_session_config: ConfigLike) -> Iterator[MockServer]:
    """One mock server for the whole test session."""
    server = MockServer.start(cliauth_mock_session_config)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cliauth_mock_factory() -> Iterator[Callable[..., MockServer]]:
    """Starts servers on demand (``start(config=None, dialect=..., tls=..., args=...)``); all
    are stopped after the test."""
    started: List[MockServer] = []

    def start(config: ConfigLike = None, **options: Any) -> MockServer:
        server = MockServer.start(config, **options)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
