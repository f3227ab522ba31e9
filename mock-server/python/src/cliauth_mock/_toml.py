"""A small TOML writer for configs given as dicts (the standard library only reads TOML).

Tables become ``[a.b]`` sections, lists of tables ``[[a]]``, everything else a ``key = value``
line: strings, integers, floats, booleans, lists of those, and inline tables inside lists.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, List, Mapping

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps(config: Mapping[str, Any]) -> str:
    """The TOML text of ``config``."""
    lines: List[str] = []
    _table(config, [], lines)
    return "\n".join(lines) + "\n"


def _key(k: Any) -> str:
    if not isinstance(k, str):
        raise TypeError(f"TOML keys are strings, not {type(k).__name__} ({k!r})")
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _table(table: Mapping[str, Any], path: List[str], lines: List[str]) -> None:
    for k, v in table.items():
        if v is None or isinstance(v, Mapping) or _is_table_list(v):
            continue
        lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in table.items():
        if isinstance(v, Mapping):
            header = ".".join(_key(p) for p in [*path, k])
            lines.append(f"\n[{header}]")
            _table(v, [*path, k], lines)
    for k, v in table.items():
        if _is_table_list(v):
            header = ".".join(_key(p) for p in [*path, k])
            for item in v:
                lines.append(f"\n[[{header}]]")
                _table(item, [*path, k], lines)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML has no {v} in this writer")
        return repr(v)
    if isinstance(v, str):
        # A JSON string is a valid TOML basic string (same escapes for what JSON emits).
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + " }"
    raise TypeError(f"cannot write {type(v).__name__} ({v!r}) as TOML")
