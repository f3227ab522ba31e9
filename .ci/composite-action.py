#!/usr/bin/env python3
"""Runs the shell steps of a composite GitHub action locally, the way a runner would.

    composite-action.py ACTION_DIR [--input NAME=VALUE ...]

Reads ACTION_DIR/action.yml and runs every `run:` step in order with `bash --noprofile --norc
-eo pipefail` (GitHub's `shell: bash`), its `env:` and `working-directory:`, GITHUB_ACTION_PATH,
and a fresh GITHUB_OUTPUT file per step whose lines become `steps.<id>.outputs.*`. GITHUB_ENV and
GITHUB_PATH are applied to later steps. GITHUB_STEP_SUMMARY and RUNNER_TEMP are taken from the
environment (point them at temp files). `${{ ... }}` may use inputs.*, steps.*.outputs.*,
github.action_path, literals, ==, !=, &&, ||, !, and always()/success()/failure() in `if:`; anything
else is an error, so the action cannot use an expression that this runner would get wrong.
`uses:` steps (caching, tool installs, artifact upload) are skipped and listed; they need GitHub.
Exits 1 when a step failed. Needs PyYAML.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)
TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||!|\(|\))|"
                   r"(?P<call>(?:always|success|failure)\(\))|(?P<ref>[A-Za-z_][\w.-]*))")


class Context:
    def __init__(self, action_path, inputs):
        self.action_path = action_path
        self.inputs = inputs
        self.outputs = {}
        self.failed = False

    def lookup(self, ref):
        parts = ref.split(".")
        if parts[0] == "inputs" and len(parts) == 2:
            return self.inputs.get(parts[1], "")
        if parts[0] == "steps" and len(parts) == 4 and parts[2] == "outputs":
            return self.outputs.get(parts[1], {}).get(parts[3], "")
        if ref == "github.action_path":
            return str(self.action_path)
        if ref in ("true", "false"):
            return ref == "true"
        raise SystemExit(f"composite-action: expression `{ref}` is not supported by the local runner; "
                         "hint: pass it through an input or a step output")

    def evaluate(self, text):
        """Evaluates one expression by translating its tokens to Python."""
        py, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise SystemExit(f"composite-action: cannot parse expression `{text}` at {pos}")
            pos = m.end()
            if m.group("str") is not None:
                py.append(repr(m.group("str")[1:-1].replace("''", "'")))
            elif m.group("op"):
                py.append({"&&": " and ", "||": " or ", "!": " not "}.get(m.group("op"), m.group("op")))
            elif m.group("call"):
                py.append({"always()": "True", "success()": repr(not self.failed),
                           "failure()": repr(self.failed)}[m.group("call")])
            else:
                py.append(repr(self.lookup(m.group("ref"))))
        return eval("".join(py), {"__builtins__": {}}, {})  # only literals and operators

    def render(self, value):
        if not isinstance(value, str):
            return str(value)
        return EXPR.sub(lambda m: str(self.evaluate(m.group(1))), value)

    def condition(self, cond):
        if cond is None:
            return not self.failed
        cond = str(cond).strip()
        m = EXPR.fullmatch(cond)
        return bool(self.evaluate(m.group(1) if m else cond))


def read_kv_file(path):
    """GitHub's `name=value` and `name<<DELIM` ... `DELIM` file format."""
    out, lines = {}, Path(path).read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            i += 1
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        i += 1
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action_dir", type=Path)
    ap.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    action_dir = args.action_dir.resolve()
    spec = yaml.safe_load((action_dir / "action.yml").read_text())
    if spec.get("runs", {}).get("using") != "composite":
        sys.exit(f"composite-action: {action_dir}/action.yml is not a composite action")
    declared = spec.get("inputs", {}) or {}
    inputs = {name: str(d.get("default", "")) for name, d in declared.items()}
    for item in args.input:
        name, _, value = item.partition("=")
        if name not in declared:
            sys.exit(f"composite-action: the action has no input `{name}`; it has {', '.join(declared)}")
        inputs[name] = value
    missing = [n for n, d in declared.items() if d.get("required") and not inputs.get(n)]
    if missing:
        sys.exit(f"composite-action: required input(s) not given: {', '.join(missing)}")

    ctx = Context(action_dir, inputs)
    env = dict(os.environ)
    extra_path = []
    tmp = Path(tempfile.mkdtemp(prefix="composite-action-"))
    skipped = []
    for index, step in enumerate(spec["runs"]["steps"]):
        label = step.get("name") or step.get("id") or f"step {index}"
        if "uses" in step:
            skipped.append(f"{label} (uses {step['uses']})")
            print(f"composite-action: skip `{label}`: uses {step['uses']} (GitHub only)", flush=True)
            continue
        if not ctx.condition(step.get("if")):
            print(f"composite-action: skip `{label}`: if: {step.get('if', 'success()')} is false", flush=True)
            continue
        if step.get("shell") != "bash":
            sys.exit(f"composite-action: step `{label}` has shell {step.get('shell')!r}; only bash is run here")
        step_env = dict(env)
        step_env.update({k: ctx.render(v) for k, v in (step.get("env") or {}).items()})
        output_file = tmp / f"output-{index}"
        output_file.touch()
        step_env.update({
            "GITHUB_ACTION_PATH": str(action_dir),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_ENV": str(tmp / "env"),
            "GITHUB_PATH": str(tmp / "path"),
        })
        step_env["PATH"] = os.pathsep.join(extra_path + [env.get("PATH", "")])
        (tmp / "env").touch()
        (tmp / "path").touch()
        script = tmp / f"step-{index}.sh"
        script.write_text(ctx.render(step["run"]) + "\n")
        cwd = ctx.render(step.get("working-directory", "."))
        print(f"composite-action: run `{label}`", flush=True)
        started = time.monotonic()
        status = subprocess.call(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                 cwd=cwd, env=step_env)
        print(f"composite-action: `{label}` exited {status} after {time.monotonic() - started:.0f} s", flush=True)
        if "id" in step:
            ctx.outputs[step["id"]] = read_kv_file(output_file)
        env.update(read_kv_file(tmp / "env"))
        extra_path = [p for p in (tmp / "path").read_text().splitlines() if p] + extra_path
        if status != 0:
            ctx.failed = True
    if skipped:
        print("composite-action: skipped (GitHub only): " + "; ".join(skipped))
    print(f"composite-action: {'FAILED' if ctx.failed else 'passed'}")
    return 1 if ctx.failed else 0


if __name__ == "__main__":
    sys.exit(main())
