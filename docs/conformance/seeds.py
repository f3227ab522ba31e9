"""Runs the conformance suite against the seed CLIs and writes docs/conformance/matrix.md.

Called by `just conformance-seeds` (after `just seed-clients`): one harness run per profile
(dialect, capabilities, leeway and timeout factor are profile fields), then the matrix from
libtest's lines (`--include-ignored` prints each not-applicable reason) and failure blocks.
"""
import os, pathlib, re, shutil, subprocess, sys, time

ROOT = pathlib.Path.cwd()
VENV_BIN = ROOT / "build/seed-venv/bin"
RUNS = ROOT / "build/seed-runs"
OUT = ROOT / "docs/conformance/matrix.md"
CLIENTS = [
    # (column, profile, version, binary that must be on PATH for the client to run)
    ("cliauth", "conformance/profiles/cliauth.toml", "reference client (this repository)", None),
    ("spec-kitty", "conformance/profiles/spec-kitty.toml", "spec-kitty-cli 3.2.7", "spec-kitty"),
    ("skillmeat", "conformance/profiles/skillmeat.toml", "skillmeat 0.74.0", "skillmeat"),
    ("dot-ai", "conformance/profiles/dot-ai.toml", "dot-ai CLI (vfarcic/dot-ai-cli, built from source)", "dot-ai"),
    ("oidc-agent", "conformance/profiles/oidc-agent.toml", "oidc-agent 4.2.6 (Debian oidc-agent-cli)", "oidc-agent"),
    # No profile yet: spacebot's hosts are constants, so it needs the mock's HTTPS CONNECT
    # interception mode (#14 item 2, after #15's per-run CA). Installed or not, it is not run.
    ("spacebot", None, "spacebot (spacedriveapp/spacebot)", "spacebot"),
]


def search_path() -> str:
    return f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def installed(binary) -> bool:
    return binary is None or shutil.which(binary, path=search_path()) is not None


def loadavg() -> str:
    """The 1-minute load average (the matrix records it: timeouts on a busy machine are not findings)."""
    try:
        return pathlib.Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


LINE = re.compile(r"^test\s+(\S+)\s+\.\.\.\s+(ok|FAILED|ignored)(?: \((.*)\))?$")


def run(column: str, profile: str, extra: list[str]) -> dict:
    (RUNS / column).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CLIAUTH_CONFORMANCE_PROFILE"] = str(ROOT / profile)
    env.pop("CLIAUTH_CONFORMANCE_SCENARIOS", None)
    env["PATH"] = search_path()
    threads = {"cliauth": "8", "oidc-agent": "2"}.get(column, "4")
    cmd = ["cargo", "test", "-q", "-p", "cliauth-conformance", "--test", "scenarios", "--",
           "--test-threads", threads, "--include-ignored", *extra]
    started = time.monotonic()
    load_before = loadavg()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = proc.stdout
    (RUNS / column / "run.log").write_text(log)
    results = {}
    for line in log.splitlines():
        m = LINE.match(line.strip())
        if m:
            name, outcome, reason = m.groups()
            results[name] = {"ok": "pass", "FAILED": "fail", "ignored": "n.a."}[outcome], (reason or "")
    # The first expectation that failed, for the matrix's failure list.
    for block in re.split(r"^---- ", log, flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        name = head.split(" ----")[0].strip()
        exp = re.search(r"^\s*expected: (.*)$", body, flags=re.M)
        obs = re.search(r"^\s*observed: (.*)$", body, flags=re.M)
        step = re.search(r"^(step \d+.*|after the last step)$", body, flags=re.M)
        if name in results and results[name][0] == "fail":
            cause = "; ".join(x for x in [step and step.group(1), exp and "expected " + exp.group(1), obs and "observed " + obs.group(1)] if x)
            # The runner labels a scenario that ran out of its time budget: not a finding.
            results[name] = ("timeout" if "TIMEOUT (not a finding)" in body else "fail", cause)
    return {"results": results, "seconds": time.monotonic() - started, "exit": proc.returncode,
            "load": f"{load_before} → {loadavg()}"}


def main() -> int:
    extra = sys.argv[1:]
    runs = {}
    absent = {}
    for column, profile, _, binary in CLIENTS:
        if not installed(binary):
            absent[column] = "not installed"
            print(f"conformance-seeds: {column}: not installed (`{binary}` is not on PATH)", flush=True)
            continue
        if profile is None:
            absent[column] = "installed, not run: no profile until the interception mode exists"
            print(f"conformance-seeds: {column}: {absent[column]}", flush=True)
            continue
        print(f"conformance-seeds: {column} ...", flush=True)
        runs[column] = run(column, profile, extra)
        r = runs[column]["results"]
        if not r:
            print(f"conformance-seeds: no results for {column}; see {RUNS / column / 'run.log'}")
            return 1
    names = sorted(set().union(*(r["results"] for r in runs.values())))
    cols = [c for c, *_ in CLIENTS if c in runs]
    totals = {c: {"pass": 0, "fail": 0, "n.a.": 0, "timeout": 0} for c in cols}
    rows = []
    for n in names:
        cells = []
        for c in cols:
            outcome, why = runs[c]["results"].get(n, ("-", ""))
            if outcome in totals[c]:
                totals[c][outcome] += 1
            # Every step passed; only an invariant checked after the last step failed.
            only_invariants = re.match(r"after the last step; expected (invariant|\d+ invariants hold)", why)
            cells.append("fail†" if outcome == "fail" and only_invariants else outcome)
        rows.append((n + (" *" if "/portable_" in n else ""), cells))
    md = ["# Conformance matrix: scenario × client", "",
          "Written by `just conformance-seeds` (do not edit by hand). Every row is a file of",
          "`scenarios/`; `*` marks the portable scenarios written for clients other than cliauth",
          "(`portable_*`: behaviour on the wire and in files only). Failures are explained in",
          "[`findings.md`](findings.md). `fail†`: every step passed and only an invariant checked after",
          "the last step failed (file modes, leaks, stray processes); it is still a failure.",
          "`timeout`: the scenario ran out of its time budget (scaled by the profile's timeout_factor",
          "and the machine's load): a slow machine or client, not a finding; the load average",
          "(1 minute, at the start and the end of the client's run) is in the first table.",
          "A client whose binary is not on PATH after `just seed-clients` is listed `not installed`",
          "and has no column (never `passed`).", "",
          "| client | version | passed | failed | not applicable | timeout | wall time | load average |",
          "|---|---|---|---|---|---|---|---|"]
    for c, _, version, _ in CLIENTS:
        if c in absent:
            md.append(f"| {c} | {version} | {absent[c]} | - | - | - | - | - |")
            continue
        t = totals[c]
        md.append(f"| {c} | {version} | {t['pass']} | {t['fail']} | {t['n.a.']} | {t['timeout']} | {runs[c]['seconds']:.0f} s | {runs[c]['load']} |")
    md += ["", "| scenario | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for n, cells in rows:
        md.append(f"| `{n}` | " + " | ".join(f"**{x}**" if x.startswith("fail") else x for x in cells) + " |")
    md += ["", "## Failures and timeouts (first failed expectation)", ""]
    for c in cols:
        fails = [(n, why if o == "fail" else "TIMEOUT (not a finding): " + why)
                 for n, (o, why) in sorted(runs[c]["results"].items()) if o in ("fail", "timeout")]
        if fails:
            md.append(f"### {c}")
            md.append("")
            md += [f"- `{n}`: {why}" for n, why in fails]
            md.append("")
    md += ["", "## Why not applicable", ""]
    for c in cols[1:]:
        reasons = {}
        for n, (o, why) in runs[c]["results"].items():
            if o == "n.a.":
                key = re.sub(r"^not applicable: profile \S+ lacks ", "", why) or "(no reason given)"
                reasons.setdefault(key, []).append(n)
        md.append(f"### {c}")
        md.append("")
        for why, ns in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
            md.append(f"- {len(ns)} × {why}")
        md.append("")
    if not extra:
        OUT.write_text("\n".join(md) + "\n")
    width = max(len(n) for n, _ in rows)
    print(f"\n{'scenario':<{width}}  " + "  ".join(f"{c:>10}" for c in cols))
    for n, cells in rows:
        print(f"{n:<{width}}  " + "  ".join(f"{x:>10}" for x in cells))
    print()
    for c in cols:
        t = totals[c]
        print(f"{c:>10}: {t['pass']} passed, {t['fail']} failed, {t['n.a.']} not applicable, {t['timeout']} timed out ({runs[c]['seconds']:.0f} s, load {runs[c]['load']})")
    for c, why in absent.items():
        print(f"{c:>10}: {why}")
    print(f"matrix: {OUT.relative_to(ROOT) if not extra else '(not written: filtered run)'}; logs: build/seed-runs/<client>/run.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
