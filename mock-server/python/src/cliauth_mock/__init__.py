"""Start the bundled ``cliauth-mock`` binary and talk to its admin API.

The binary ships in this wheel (maturin ``bin`` bindings, installed beside the Python
interpreter's scripts); no Rust toolchain is needed. ``MockServer.start()`` spawns
``cliauth-mock serve --host 127.0.0.1 --port 0 --exit-with-parent`` with a pipe on its stdin,
reads its JSON readiness line, and gives the URLs and helpers for the admin API. The server
exits when ``stop()`` closes that pipe, and on its own when the test process dies (the pipe
closes with it), so a killed test run leaves nothing behind.

Only 127.0.0.1 is contacted; proxy variables are ignored.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import ssl
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from ._toml import dumps as toml_dumps

__all__ = ["MockServer", "MockError", "find_binary", "toml_dumps"]

#: A config: a dict (written as TOML), a TOML string, or a path to a TOML file.
ConfigLike = Union[Mapping[str, Any], str, Path, None]

_BIN_NAME = "cliauth-mock"


class MockError(RuntimeError):
    """The mock could not start, or an admin call failed (the message says which and why)."""


def find_binary() -> str:
    """The bundled ``cliauth-mock`` binary: ``$CLIAUTH_MOCK_BIN`` if set, else the one this
    wheel installed into the interpreter's scripts folder, else one on ``PATH``."""
    explicit = os.environ.get("CLIAUTH_MOCK_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise MockError(f"CLIAUTH_MOCK_BIN={explicit} is not an executable file; unset it to use the bundled binary")
        return explicit
    exe = _BIN_NAME + (".exe" if sys.platform == "win32" else "")
    candidates = [Path(sysconfig.get_path("scripts")) / exe, Path(sys.executable).parent / exe]
    user_scheme = "nt_user" if os.name == "nt" else "posix_user"
    try:
        candidates.append(Path(sysconfig.get_path("scripts", scheme=user_scheme)) / exe)
    except KeyError:  # a Python without a user scheme
        pass
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which(_BIN_NAME)
    if on_path:
        return on_path
    raise MockError(
        "the cliauth-mock binary is not installed beside this Python "
        f"(looked in {', '.join(str(c.parent) for c in candidates)} and PATH); "
        "reinstall the cliauth-mock wheel, or set CLIAUTH_MOCK_BIN to a binary"
    )


class MockServer:
    """A running ``cliauth-mock serve``. Use ``MockServer.start()``; ``stop()`` ends it (it is
    also a context manager)."""

    def __init__(self, process: subprocess.Popen, ready: Mapping[str, Any], log_path: Path, config_path: Optional[Path]):
        self.process = process
        #: The readiness line, as the binary printed it.
        self.ready = dict(ready)
        #: The base URL clients use, e.g. ``http://127.0.0.1:41235``.
        self.url: str = ready["url"]
        self.issuer: str = ready["issuer"]
        self.admin_url: str = ready["admin_url"]
        self.port: int = ready["port"]
        #: With ``tls=True``: the path of the per-run CA certificate to trust.
        self.ca_pem: Optional[str] = ready.get("ca_pem")
        self.log_path = log_path
        self._config_path = config_path
        handlers: list = [urllib.request.ProxyHandler({})]
        if self.ca_pem:
            handlers.append(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=self.ca_pem)))
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def start(
        cls,
        config: ConfigLike = None,
        *,
        dialect: Optional[str] = None,
        tls: bool = False,
        args: Sequence[str] = (),
        binary: Optional[str] = None,
        timeout: float = 10.0,
    ) -> "MockServer":
        """Spawns the binary on 127.0.0.1 with a free port and waits for its readiness line.

        ``config``: a dict, a TOML string or a path. ``dialect``: ``spec-kitty``, ``skillmeat``,
        ``dot-ai``. ``tls``: HTTPS with a per-run CA (``ca_pem``). ``args``: more ``serve`` flags.
        """
        argv = [binary or find_binary(), "serve", "--host", "127.0.0.1", "--port", "0", "--exit-with-parent"]
        config_path = _config_file(config)
        if config_path is not None:
            argv += ["--config", str(config_path)]
        if dialect:
            argv += ["--dialect", dialect]
        if tls:
            argv.append("--tls")
        argv += list(args)
        # The caller's CLIAUTH_MOCK_* variables would change what these flags ask for.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLIAUTH_MOCK_")}
        log = tempfile.NamedTemporaryFile(prefix="cliauth-mock-", suffix=".log", delete=False)
        log_path = Path(log.name)
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, env=env)
        except OSError as e:
            raise MockError(f"cannot run {argv[0]}: {e}") from e
        finally:
            log.close()
        try:
            line = _read_line(process, timeout)
            ready = json.loads(line)
        except (MockError, ValueError) as e:
            _end(process)
            tail = log_path.read_text(errors="replace")[-2000:]
            raise MockError(f"cliauth-mock did not start ({e}); its stderr:\n{tail}") from None
        return cls(process, ready, log_path, config_path)

    # -- lifecycle -----------------------------------------------------------------------

    def stop(self) -> int:
        """Closes the server's stdin (it exits 0) and waits; returns its exit status."""
        code = _end(self.process)
        if self._config_path is not None:
            self._config_path.unlink(missing_ok=True)
        return code

    def __enter__(self) -> "MockServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"MockServer(url={self.url!r}, pid={self.process.pid})"

    # -- HTTP ----------------------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, form: Optional[Mapping[str, str]] = None,
                headers: Optional[Mapping[str, str]] = None) -> "tuple[int, Any]":
        """Sends a request to ``url + path`` (JSON ``body`` or a ``form``); returns the status and
        the parsed JSON answer (or the text when it is not JSON). Never raises for a status."""
        data = None
        hdrs = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            hdrs.setdefault("content-type", "application/x-www-form-urlencoded")
        elif body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        req = urllib.request.Request(self.url + path, data=data, headers=hdrs, method=method)
        try:
            with self._opener.open(req, timeout=30) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def get(self, path: str, bearer: Optional[str] = None) -> "tuple[int, Any]":
        """GET ``path``, with an access token as the bearer if given."""
        return self.request("GET", path, headers={"authorization": f"Bearer {bearer}"} if bearer else None)

    def token(self, **form: str) -> dict:
        """POSTs a form to the token endpoint (the default client ``cliauth`` unless ``client_id``
        is given) and returns the token response; raises MockError on an error answer."""
        form.setdefault("client_id", "cliauth")
        status, body = self.request("POST", "/oauth/token", form=form)
        if status != 200:
            raise MockError(f"token endpoint answered {status}: {body}")
        return body

    def _admin(self, method: str, path: str, body: Any = None, *, raw: Optional[bytes] = None,
               content_type: Optional[str] = None) -> Any:
        req = urllib.request.Request(self.admin_url + path, method=method,
                                     data=raw if raw is not None else (json.dumps(body).encode() if body is not None else None),
                                     headers={"content-type": content_type or "application/json"})
        try:
            with self._opener.open(req, timeout=30) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as e:
            raise MockError(f"{method} {path} answered {e.code}: {e.read().decode(errors='replace')}") from None
        return json.loads(payload) if payload else None

    # -- admin API -----------------------------------------------------------------------

    def approve_device(self, user_code: Optional[str] = None, username: str = "alice") -> dict:
        """Approves a device authorization (default: the most recent pending one) as ``username``."""
        return self._admin("POST", "/device/approve", _drop_none({"user_code": user_code, "username": username}))

    def deny_device(self, user_code: Optional[str] = None) -> dict:
        """Denies a device authorization (default: the most recent pending one)."""
        return self._admin("POST", "/device/deny", _drop_none({"user_code": user_code}))

    def add_rule(self, rule: Mapping[str, Any]) -> dict:
        """Adds a rule (``name``, ``match``, ``action``, optional ``times``), as in the config's
        ``[[rules]]``."""
        return self._admin("POST", "/rules", dict(rule))

    def clear_rules(self) -> dict:
        """Removes every rule."""
        return self._admin("DELETE", "/rules")

    def release_hold(self, name: str) -> dict:
        """Releases the requests a ``hold`` rule named ``name`` parked."""
        return self._admin("POST", f"/holds/{urllib.parse.quote(name, safe='')}/release")

    def advance_clock(self, seconds: float) -> dict:
        """Moves the server clock forward (tokens expire, device codes time out)."""
        if float(seconds).is_integer():
            return self._admin("POST", "/clock/advance", {"seconds": int(seconds)})
        return self._admin("POST", "/clock/advance", {"ms": round(seconds * 1000)})

    def journal(self, since: Optional[int] = None, limit: Optional[int] = None) -> dict:
        """The journal: ``entries`` (newer than ``since``, at most ``limit``), ``counters``,
        ``lineage``, ``dropped``, ``next_seq``."""
        query = urllib.parse.urlencode(_drop_none({"since": since, "limit": limit}))
        return self._admin("GET", "/journal" + (f"?{query}" if query else ""))

    def secrets(self) -> "list[str]":
        """Every secret the server minted (tokens, codes, client secrets), for leak scans."""
        return self._admin("GET", "/secrets")["secrets"]

    def set_config(self, config: ConfigLike) -> dict:
        """Replaces the config (tokens stay valid)."""
        return self._admin("PUT", "/config", raw=_config_text(config).encode(), content_type="application/toml")

    def reset(self) -> dict:
        """Forgets tokens, codes and the journal; the clock goes back to real time."""
        return self._admin("POST", "/reset")


def _drop_none(d: Mapping[str, Any]) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _config_text(config: ConfigLike) -> str:
    if isinstance(config, Path):
        return config.read_text()
    if isinstance(config, str):
        return config
    if isinstance(config, Mapping):
        return toml_dumps(config)
    raise TypeError(f"a config is a dict, a TOML string or a pathlib.Path, not {type(config).__name__}")


def _config_file(config: ConfigLike) -> Optional[Path]:
    if config is None:
        return None
    fd, name = tempfile.mkstemp(prefix="cliauth-mock-", suffix=".toml")
    with os.fdopen(fd, "w") as f:
        f.write(_config_text(config))
    return Path(name)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    """The first stdout line, or MockError if the process exits or ``timeout`` passes first."""
    assert process.stdout is not None  # spawned with stdout=PIPE
    deadline = time.monotonic() + timeout
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MockError(f"no readiness line within {timeout} s")
            if sel.select(left):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    raise MockError(f"it exited with status {process.wait()} before it was ready")
                buf += chunk
    return buf.split(b"\n", 1)[0].decode()


def _end(process: subprocess.Popen) -> int:
    """Closes stdin (``--exit-with-parent`` exits 0 then), escalating if it does not exit."""
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    try:
        return process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            return process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()
