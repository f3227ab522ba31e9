"""Runs the conformance suite against the seed CLIs and writes docs/conformance/matrix.md.

Called by `just conformance-seeds` (after `just seed-clients`). A bridge: the runner itself
(conformance/src) should write this matrix and apply the adaptations below through profile
fields; docs/conformance/README.md lists what moves where.
"""
import os, pathlib, re, shutil, subprocess, sys, time

ROOT = pathlib.Path.cwd()
VENV_BIN = ROOT / "build/seed-venv/bin"
RUNS = ROOT / "build/seed-runs"
PORTABLE = ROOT / "docs/conformance/scenarios"
OUT = ROOT / "docs/conformance/matrix.md"
CLIENTS = [
    # (column, dialect, profile, version)
    ("cliauth", "cliauth", "conformance/profiles/cliauth.toml", "reference client (this repository)"),
    ("spec-kitty", "spec-kitty", "conformance/profiles/spec-kitty.toml", "spec-kitty-cli 3.2.7"),
    ("skillmeat", "skillmeat", "conformance/profiles/skillmeat.toml", "skillmeat 0.74.0"),
]
# Seed CLIs are Python programs that start in 3-7 s: the per-scenario safety net grows.
MIN_TIMEOUT = 180


def adapt(text: str, rel: str, dialect: str) -> str:
    """The kit's adaptations for a client, each one explained in docs/conformance/README.md."""
    # 1. Setup logins are method-agnostic: `login` is "a session by the client's usual method".
    #    The login/password_* scenarios test the password method itself and keep it.
    if not re.match(r"login/password_", rel):
        text = re.sub(r'^action = "login_password"$', 'action = "login"', text, flags=re.M)
    # 2. The mock speaks the client's dialect.
    if re.search(r"^\[server\]\s*$", text, flags=re.M):
        text = re.sub(r"^\[server\]\s*$", f'[server]\ndialect = "{dialect}"', text, count=1, flags=re.M)
    else:
        text += f'\n[server]\ndialect = "{dialect}"\n'
    # 3. A born-expired access token must still pass a login-time check of the token
    #    (spec-kitty calls /api/v1/me during login): a 5 s server leeway, RFC 7519 §4.1.4.
    if dialect != "cliauth" and re.search(r"^access_ttl = 0$", text, flags=re.M) and "leeway" not in text:
        text = re.sub(r"^access_ttl = 0$", "access_ttl = 0\nleeway = 5", text, count=1, flags=re.M)
    # 4. A longer safety net for slow-starting clients.
    if dialect != "cliauth":
        m = re.search(r"^timeout = (\d+)$", text, flags=re.M)
        if m:
            text = text.replace(m.group(0), f"timeout = {max(int(m.group(1)) * 4, MIN_TIMEOUT)}", 1)
        else:
            text = f"timeout = {MIN_TIMEOUT}\n" + text
    return text


def capabilities(column: str, profile: str) -> set[str]:
    """`# capabilities: a, b` in the profile (the reference client's are known here)."""
    if column == "cliauth":
        return {"revocation", "benign_replay_409", "cliauth_text_contract"}
    m = re.search(r"^# capabilities: (.*)$", (ROOT / profile).read_text(), flags=re.M)
    return {c.strip() for c in m.group(1).split(",")} if m else set()


SKIPPED: dict[str, dict[str, tuple[str, str]]] = {}

# Scenarios of scenarios/ whose checks are the reference client's own text contract
# (docs/interfaces.md §4: `error:` lines, status naming the server), not a standard: for other
# clients they need the capability `cliauth_text_contract` (docs/conformance/findings.md, K1).
# Once scenarios/ is open to edits they carry `requires` themselves.
REQUIRES = {
    "status/logged_out": ["cliauth_text_contract"],
    "status/human_output_names_user": ["cliauth_text_contract"],
}


def prepare(column: str, dialect: str, profile: str) -> tuple[pathlib.Path, pathlib.Path]:
    base = RUNS / column
    shutil.rmtree(base, ignore_errors=True)
    caps = capabilities(column, profile)
    SKIPPED[column] = {}
    scen = base / "scenarios"
    sources = [(ROOT / "scenarios", "")]
    if PORTABLE.is_dir():
        sources.append((PORTABLE, "portable"))
    for src, origin in sources:
        for f in sorted(src.rglob("*.toml")):
            rel = f.relative_to(src).as_posix()
            text = f.read_text()
            needs = re.findall(r"^# requires: (\S+)$", text, flags=re.M) + REQUIRES.get(rel[:-5], [])
            lacking = [n for n in needs if n not in caps]
            if lacking:
                SKIPPED[column][rel[:-5]] = ("n.a.", f"not applicable: profile {column} lacks capability " + ", ".join(lacking))
                if origin:
                    base.mkdir(parents=True, exist_ok=True)
                    (base / "portable.txt").open("a").write(rel[:-5] + "\n")
                continue
            dst = scen / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(adapt(text, rel, dialect))
            if origin:
                (base / "portable.txt").open("a").write(rel[:-5] + "\n")
    prof = base / "profile.toml"
    text = (ROOT / profile).read_text()
    if column == "cliauth":
        # The reference client's `login` is its password login; `use` is `auth token` (takes the
    # stored session and refreshes it when the access token has expired).
        login = re.search(r"^\[actions\.login_password\]\n(.*?)\n\n", text, flags=re.M | re.S).group(1)
        text += f'\n[actions.login]\n{login}\n\n[actions.use]\ncommand = ["cliauth", "auth", "token"]\nprints_secret = true\n'
    prof.write_text(text)
    return scen, prof


LINE = re.compile(r"^test\s+(\S+)\s+\.\.\.\s+(ok|FAILED|ignored)(?: \((.*)\))?$")


def run(column: str, scen: pathlib.Path, prof: pathlib.Path, extra: list[str]) -> dict:
    env = dict(os.environ)
    env["CLIAUTH_CONFORMANCE_PROFILE"] = str(prof)
    env["CLIAUTH_CONFORMANCE_SCENARIOS"] = str(scen)
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '/usr/bin:/bin')}"
    threads = "8" if column == "cliauth" else "4"
    cmd = ["cargo", "test", "-q", "-p", "cliauth-conformance", "--test", "scenarios", "--",
           "--test-threads", threads, "--include-ignored", *extra]
    started = time.monotonic()
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
            results[name] = ("fail", cause)
    # libtest's filter (a substring) applies to the scenarios the bridge left out, too.
    filters = [a for a in extra if not a.startswith("-")]
    results.update({n: r for n, r in SKIPPED.get(column, {}).items()
                    if not filters or any(f in n for f in filters)})
    return {"results": results, "seconds": time.monotonic() - started, "exit": proc.returncode}


def main() -> int:
    extra = sys.argv[1:]
    runs, portable = {}, set()
    for column, dialect, profile, _ in CLIENTS:
        scen, prof = prepare(column, dialect, profile)
        p = RUNS / column / "portable.txt"
        if p.exists():
            portable |= set(p.read_text().split())
        print(f"conformance-seeds: {column} ...", flush=True)
        runs[column] = run(column, scen, prof, extra)
        r = runs[column]["results"]
        if not r:
            print(f"conformance-seeds: no results for {column}; see {RUNS / column / 'run.log'}")
            return 1
    names = sorted(set().union(*(r["results"] for r in runs.values())))
    cols = [c for c, *_ in CLIENTS]
    totals = {c: {"pass": 0, "fail": 0, "n.a.": 0} for c in cols}
    rows = []
    for n in names:
        cells = []
        for c in cols:
            outcome, why = runs[c]["results"].get(n, ("-", ""))
            if outcome in totals[c]:
                totals[c][outcome] += 1
            # Every step passed; only an invariant checked after the last step failed.
            cells.append("fail†" if outcome == "fail" and why.startswith("after the last step; expected invariant") else outcome)
        rows.append((n + (" *" if n in portable else ""), cells))
    md = ["# Conformance matrix: scenario × client", "",
          "Written by `just conformance-seeds` (do not edit by hand). `*` marks a portable scenario",
          "from `docs/conformance/scenarios/`; every other row is a file of `scenarios/`, adapted as",
          "`docs/conformance/README.md` describes. Failures are explained in",
          "[`findings.md`](findings.md). `fail†`: every step passed and only an invariant checked after",
          "the last step failed (file modes, leaks, stray processes); it is still a failure.", "",
          "| client | version | passed | failed | not applicable | wall time |", "|---|---|---|---|---|---|"]
    for c, _, _, version in CLIENTS:
        t = totals[c]
        md.append(f"| {c} | {version} | {t['pass']} | {t['fail']} | {t['n.a.']} | {runs[c]['seconds']:.0f} s |")
    md += ["", "| scenario | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for n, cells in rows:
        md.append(f"| `{n}` | " + " | ".join(f"**{x}**" if x.startswith("fail") else x for x in cells) + " |")
    md += ["", "## Failures (first failed expectation)", ""]
    for c in cols:
        fails = [(n, why) for n, (o, why) in sorted(runs[c]["results"].items()) if o == "fail"]
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
        print(f"{c:>10}: {t['pass']} passed, {t['fail']} failed, {t['n.a.']} not applicable ({runs[c]['seconds']:.0f} s)")
    print(f"matrix: {OUT.relative_to(ROOT) if not extra else '(not written: filtered run)'}; logs: build/seed-runs/<client>/run.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
