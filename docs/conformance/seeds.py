"""Runs the conformance suite against the seed CLIs and writes docs/conformance/matrix.md.

Called by `just conformance-seeds` (after `just seed-clients`): one harness run per profile,
the clients one after another (each with the runner's own parallelism; running two clients'
suites at once only doubles the load, and every scenario's time budget grows with the load),
then the matrix from libtest's lines (`--include-ignored` prints each not-applicable reason)
and failure blocks.

A client is run only when every program its profile starts is on PATH (the venv of
`just seed-clients` first); otherwise its row says "not installed" and names what is missing,
never "passed". Timeouts (the runner labels them `TIMEOUT (not a finding)`) are counted apart
from failures, and each row records its wall time and the load average during its run.
"""
import json, os, pathlib, re, shutil, subprocess, sys, threading, time, tomllib

ROOT = pathlib.Path.cwd()
VENV_BIN = ROOT / "build/seed-venv/bin"
RUNS = ROOT / "build/seed-runs"
OUT = ROOT / "docs/conformance/matrix.md"
CLIENTS = [
    # (row, profile, version)
    ("cliauth", "conformance/profiles/cliauth.toml", "reference client (this repository)"),
    ("spec-kitty", "conformance/profiles/spec-kitty.toml", "spec-kitty-cli 3.2.7"),
    ("skillmeat", "conformance/profiles/skillmeat.toml", "skillmeat 0.74.0"),
    ("dot-ai", "conformance/profiles/dot-ai.toml", "dot-ai CLI, vfarcic/dot-ai-cli 671416f (built from source)"),
    ("oidc-agent", "conformance/profiles/oidc-agent.toml", "oidc-agent 4.2.6 (Debian oidc-agent-cli)"),
    ("spacebot", "conformance/profiles/spacebot.toml", "spacebot (spacedriveapp/spacebot)"),
]
# Programs the harness itself puts on the clients' PATH: the reference client it builds, and
# the browser stand-ins.
HARNESS_PROVIDED = {"cliauth", "xdg-open", "gio", "gnome-open", "kde-open", "sensible-browser"}
# Wrappers whose real program follows `--` (conformance/profiles/bin/).
WRAPPERS = {"cliauth-login-as"}
# Test threads per client: the runner's default (8) unless a row needs fewer. oidc-agent runs
# one agent per home, with forked workers and a web server per login: 4 at a time keeps its
# scenarios inside their budgets on 2 cores.
THREADS = {"oidc-agent": "4"}


def search_path() -> str:
    return f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}"


def programs(profile: dict) -> list[str]:
    """Every program the profile starts: its actions' and setup/teardown commands' first words
    (the wrapped command too, for a login wrapper)."""
    # `program`: the client's own program, which the harness requires on PATH.
    commands = [[profile["program"]]] if "program" in profile else []
    commands += [a.get("command", []) for a in profile.get("actions", {}).values()]
    commands += [h.get("command", []) for key in ("setup", "teardown") for h in profile.get(key, [])]
    found = []
    for argv in commands:
        while argv:
            name = argv[0]
            if "{" not in name and name not in found:
                found.append(name)
            # `cliauth-login-as USER -- CMD ARGS`: CMD must be installed too.
            argv = argv[argv.index("--") + 1:] if name in WRAPPERS and "--" in argv else []
    return found


def missing_programs(profile_path: pathlib.Path) -> list[str]:
    profile = tomllib.loads(profile_path.read_text())
    return [p for p in programs(profile)
            if p not in HARNESS_PROVIDED and shutil.which(p, path=search_path()) is None]


def loadavg() -> float:
    """The 1-minute load average (the matrix records it: timeouts on a busy machine are not findings)."""
    try:
        return float(pathlib.Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return float("nan")


class LoadSampler:
    """Samples the 1-minute load average every 5 s while a client's suite runs."""

    def __init__(self) -> None:
        self.samples = [loadavg()]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        while not self.stop.wait(5):
            self.samples.append(loadavg())

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join()
        self.samples.append(loadavg())
        s = self.samples
        return {"start": s[0], "end": s[-1], "max": max(s), "mean": sum(s) / len(s)}


def load_text(load: dict) -> str:
    return f"{load['start']:.1f} → {load['end']:.1f} (mean {load['mean']:.1f}, max {load['max']:.1f})"


LINE = re.compile(r"^test\s+(\S+)\s+\.\.\.\s+(ok|FAILED|ignored)(?: \((.*)\))?$")


def run(row: str, profile: str, extra: list[str], log_name: str = "run.log") -> dict:
    (RUNS / row).mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["CLIAUTH_CONFORMANCE_PROFILE"] = str(ROOT / profile)
    env.pop("CLIAUTH_CONFORMANCE_SCENARIOS", None)
    env["PATH"] = search_path()
    threads = ["--test-threads", THREADS[row]] if row in THREADS else []
    cmd = ["cargo", "test", "-q", "-p", "cliauth-conformance", "--test", "scenarios", "--",
           *threads, "--include-ignored", *extra]
    started = time.monotonic()
    sampler = LoadSampler()
    # Each line is stamped with the seconds since the start, so the slow scenarios show in the log.
    lines = []
    finished_at = {}
    with (subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
          open(RUNS / row / log_name, "w") as out):
        for line in proc.stdout:
            at = time.monotonic() - started
            lines.append(line)
            out.write(line)
            out.flush()
            m = LINE.match(line.strip())
            if m:
                finished_at[m.group(1)] = at
    seconds = time.monotonic() - started
    load = sampler.finish()
    meta = {"seconds": seconds, "load": load, "exit": proc.returncode, "commit": head_commit()}
    if log_name == "run.log":
        (RUNS / row / "finished-at.txt").write_text(
            "".join(f"{t:7.1f} s  {n}\n" for n, t in sorted(finished_at.items(), key=lambda kv: kv[1])))
        (RUNS / row / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"conformance-seeds: {row}: {seconds:.0f} s, load {load_text(load)}", flush=True)
    return {"results": parse("".join(lines)), **meta}


def head_commit() -> str:
    """The commit the suite ran at, with `+dirty` when the worktree had changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True).stdout.strip()
    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def resumed(row: str, any_commit: bool = False) -> dict | None:
    """The results of `row` from an earlier, finished run at the same commit (`--resume`), or
    at any commit (`--keep`: the matrix then names that commit in the row)."""
    try:
        meta = json.loads((RUNS / row / "meta.json").read_text())
        log = (RUNS / row / "run.log").read_text()
    except (OSError, ValueError):
        return None
    if not any_commit and (meta.get("commit") != head_commit() or "+dirty" in meta.get("commit", "")):
        return None
    print(f"conformance-seeds: {row}: reusing the finished run at {meta['commit']} ({meta['seconds']:.0f} s)", flush=True)
    return {"results": parse(log), **meta}


def parse(log: str) -> dict:
    """Each scenario's outcome and, for failures, the first expectation that failed."""
    results = {}
    for line in log.splitlines():
        m = LINE.match(line.strip())
        if m:
            name, outcome, reason = m.groups()
            results[name] = {"ok": "pass", "FAILED": "fail", "ignored": "n.a."}[outcome], (reason or "")
    # The first expectation that failed (every failed invariant, when only invariants failed).
    for block in re.split(r"^---- ", log, flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        name = head.split(" ----")[0].strip()
        exp = re.search(r"^\s*expected: (.*)$", body, flags=re.M)
        obs = re.search(r"^\s*observed: (.*)$", body, flags=re.M)
        step = re.search(r"^(step \d+.*|after the last step)$", body, flags=re.M)
        if name in results and results[name][0] == "fail":
            cause = "; ".join(x for x in [step and step.group(1), exp and "expected " + exp.group(1), obs and "observed " + obs.group(1)] if x)
            # The runner labels a scenario that ran out of its time budget: not a finding.
            results[name] = ("TIMEOUT" if "TIMEOUT (not a finding)" in body else "fail", cause)
    return results


def main() -> int:
    # `--clients=a,b` runs only those rows (a trial run; the matrix is then not written); the
    # other arguments go to the harness (libtest filters such as `refresh/`).
    # `--resume`: a client whose last run here finished at the same commit (clean worktree) is
    # not run again; its results, wall time and load are reused (an interrupted matrix run
    # then costs only the clients it had not finished).
    # `--keep=a,b`: reuse those clients' last finished runs whatever their commit, and
    # `--recheck=client:FILTER` (repeatable): then run the scenarios FILTER selects for that
    # client now and let their outcomes replace the kept ones. For a matrix after a merge that
    # changed a few scenarios only, when the slow clients cannot be run again in time; each row
    # names the commit of its run and of its rechecks.
    args = sys.argv[1:]
    value = lambda flag: [a.split("=", 1)[1] for a in args if a.startswith(flag + "=")]
    only = [c.split(",") for c in value("--clients")]
    keep = [c for v in value("--keep") for c in v.split(",")]
    rechecks = [tuple(v.split(":", 1)) for v in value("--recheck")]
    resume = "--resume" in args
    extra = [a for a in args if not a.startswith(("--clients=", "--keep=", "--recheck=")) and a != "--resume"]
    partial = bool(extra or only)
    runs = {}
    absent = {}
    for row, profile, _ in CLIENTS:
        if only and row not in only[0]:
            continue
        path = ROOT / profile
        if not path.exists():
            absent[row] = f"not run: no profile (`{profile}` does not exist)"
            print(f"conformance-seeds: {row}: {absent[row]}", flush=True)
            continue
        missing = missing_programs(path)
        if missing:
            absent[row] = "not installed (" + ", ".join(f"`{p}`" for p in missing) + " not on PATH)"
            print(f"conformance-seeds: {row}: {absent[row]}", flush=True)
            continue
        if not partial and ((resume and (earlier := resumed(row))) or (row in keep and (earlier := resumed(row, True)))):
            runs[row] = earlier
        else:
            print(f"conformance-seeds: {row} ...", flush=True)
            runs[row] = run(row, profile, extra)
        if not runs[row]["results"]:
            print(f"conformance-seeds: no results for {row}; see {RUNS / row / 'run.log'}")
            return 1
        runs[row]["rechecks"] = []
        for i, (client, pattern) in enumerate(r for r in rechecks if r[0] == row):
            print(f"conformance-seeds: {row}: recheck {pattern} ...", flush=True)
            again = run(row, profile, [pattern], log_name=f"recheck-{i}.log")
            redone = {n: v for n, v in again["results"].items() if pattern in n}
            runs[row]["results"].update(redone)
            runs[row]["seconds"] += again["seconds"]
            runs[row]["rechecks"].append(f"`{pattern}` ({len(redone)}) rechecked at {again['commit']}")
    # The clients run one after another, so the run's wall time is the sum of the rows' (a
    # resumed run included); the build before the first client is not counted.
    total_seconds = sum(r["seconds"] for r in runs.values())
    commits = sorted({r.get("commit", "?") for r in runs.values()})
    when = {c: "; ".join([r.get("commit", "?")] + r["rechecks"]) for c, r in runs.items()}
    names = sorted(set().union(*(r["results"] for r in runs.values())))
    cols = [c for c, *_ in CLIENTS if c in runs]
    totals = {c: {"pass": 0, "fail": 0, "n.a.": 0, "TIMEOUT": 0} for c in cols}
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
          "Written by `just conformance-seeds` (do not edit by hand). Every row of the second table is",
          "a file of `scenarios/`; `*` marks the portable scenarios written for clients other than",
          "cliauth (`portable_*`: behaviour on the wire and in files only). Failures are explained in",
          "[`findings.md`](findings.md). `fail†`: every step passed and only an invariant checked after",
          "the last step failed (file modes, leaks, stray processes); it is still a failure.",
          "`TIMEOUT`: the scenario ran out of its time budget (its `timeout` × the profile's",
          "`timeout_factor` × the machine's load factor): a slow machine or client, never a finding;",
          "each client's load average (1 minute: at its start → at its end, mean and maximum of",
          "5-second samples) is in the first table. The clients run one after another, each with the",
          "runner's parallelism. A client whose programs are not on PATH after `just seed-clients` is",
          "listed `not installed` and has no column (never `passed`). The last column names the",
          "commit each row's suite ran at, and scenarios rechecked at a later commit (their outcomes",
          "replace the earlier ones).", "",
          f"Whole run: {total_seconds:.0f} s (the rows' wall times added), at commit {', '.join(commits)}.", "",
          "| client | version | passed | failed | not applicable | TIMEOUT | wall time | load average | commit |",
          "|---|---|---|---|---|---|---|---|---|"]
    for c, _, version in CLIENTS:
        if c not in absent and c not in runs:
            continue
        if c in absent:
            md.append(f"| {c} | {version} | {absent[c]} | - | - | - | - | - | - |")
            continue
        t = totals[c]
        md.append(f"| {c} | {version} | {t['pass']} | {t['fail']} | {t['n.a.']} | {t['TIMEOUT']} | {runs[c]['seconds']:.0f} s | {load_text(runs[c]['load'])} | {when[c]} |")
    md += ["", "| scenario | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for n, cells in rows:
        md.append(f"| `{n}` | " + " | ".join(f"**{x}**" if x.startswith("fail") else x for x in cells) + " |")
    md += ["", "## Failures and timeouts (first failed expectation)", ""]
    for c in cols:
        fails = [(n, why if o == "fail" else "TIMEOUT (not a finding): " + why)
                 for n, (o, why) in sorted(runs[c]["results"].items()) if o in ("fail", "TIMEOUT")]
        if fails:
            md.append(f"### {c}")
            md.append("")
            md += [f"- `{n}`: {why}" for n, why in fails]
            md.append("")
    md += ["", "## Why not applicable", ""]
    for c in cols:
        reasons = {}
        for n, (o, why) in runs[c]["results"].items():
            if o == "n.a.":
                key = re.sub(r"^not applicable: profile \S+ lacks ", "", why) or "(no reason given)"
                reasons.setdefault(key, []).append(n)
        if not reasons:
            continue
        md.append(f"### {c}")
        md.append("")
        for why, ns in sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            md.append(f"- {len(ns)} × {why}")
        md.append("")
    if not partial:
        OUT.write_text("\n".join(md).rstrip("\n") + "\n")
    if rows:
        width = max(len(n) for n, _ in rows)
        print(f"\n{'scenario':<{width}}  " + "  ".join(f"{c:>10}" for c in cols))
        for n, cells in rows:
            print(f"{n:<{width}}  " + "  ".join(f"{x:>10}" for x in cells))
    print()
    for c in cols:
        t = totals[c]
        print(f"{c:>10}: {t['pass']} passed, {t['fail']} failed, {t['n.a.']} not applicable, {t['TIMEOUT']} TIMEOUT ({runs[c]['seconds']:.0f} s, load {load_text(runs[c]['load'])})")
    for c, why in absent.items():
        print(f"{c:>10}: {why}")
    print(f"whole run: {total_seconds:.0f} s")
    print(f"matrix: {OUT.relative_to(ROOT) if not partial else '(not written: filtered run)'}; logs: build/seed-runs/<client>/run.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
