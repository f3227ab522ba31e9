#!/usr/bin/env python3
"""The verdict of a conformance run: merges the JUnit files of its nextest partitions into the
harness's table of groups (passed / failed / n/a / timeout), lists the failed and the
not-applicable scenarios, writes it as Markdown to the job summary, and exits 1 when a
scenario failed or timed out (a not-applicable one never fails the check).

    summary.py RESULTS_DIR [--partitions N] [--profile FILE] [--summary FILE]

RESULTS_DIR holds what run.sh wrote: junit-<k>-of-<n>.xml (any number, from every partition;
subfolders too, as artifact downloads make them), not-applicable.txt, status-<k>-of-<n>.
--partitions N: fail unless the JUnit files of all N partitions are there (a partition whose
job died must not make the check green). --summary: default $GITHUB_STEP_SUMMARY, else only
stdout. Needs only Python 3.8+.
"""

import argparse
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

COLUMNS = ("passed", "failed", "n/a", "timeout")
# The harness's first failure line for a run-out budget (conformance/README.md: "Timeouts are
# not findings").
TIMEOUT_MARK = "TIMEOUT (not a finding)"
# libtest-mimic's line for an ignored trial, as the harness words it:
# `test refresh/manual   ... ignored (not applicable: profile mycli lacks action `login_device`)`
NA_LINE = re.compile(r"^test (\S+)\s+\.\.\. ignored \(not applicable: profile \S+ (lacks .*)\)$")
PARTITION_FILE = re.compile(r"junit-(\d+)-of-(\d+)\.xml$")


def read_junit(files):
    """Yields (scenario, outcome, first line of the reason) for every test case."""
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            sys.exit(f"conformance summary: {path} is not valid JUnit XML ({e}); "
                     "hint: rerun the partition that wrote it")
        for case in root.iter("testcase"):
            name = case.get("name", "?")
            problems = case.findall("failure") + case.findall("error")
            if not problems:
                if case.find("skipped") is not None:
                    continue  # listed from not-applicable.txt instead
                yield name, "passed", ""
                continue
            text = "\n".join(
                [p.get("message", "") + " " + p.get("type", "") + "\n" + (p.text or "") for p in problems]
                + [(case.findtext("system-out") or ""), (case.findtext("system-err") or "")]
            )
            nextest_timeout = any("timeout" in (p.get("type", "") + p.get("message", "")).lower()
                                  for p in problems)
            if TIMEOUT_MARK in text or nextest_timeout:
                yield name, "timeout", first_reason(text, TIMEOUT_MARK)
            else:
                yield name, "failed", first_reason(text, None)


def first_reason(text, mark):
    """The line of the harness's report that says what went wrong, for the summary."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if mark:
        for line in lines:
            if mark in line:
                return line
    for i, line in enumerate(lines):
        if line.startswith("---- ") and line.endswith(" ----"):
            # libtest's failure block: the scenario's description, then the failed step with
            # what was expected and what was observed, then every process's output.
            block = []
            for detail in lines[i + 2:]:
                if detail.startswith("client output") or len(block) == 3:
                    break
                block.append(detail)
            return " / ".join(block) or lines[i + 1] if i + 1 < len(lines) else "failed"
    return lines[0] if lines else "failed"


def read_not_applicable(results):
    found = {}
    if not results.is_dir():
        return found
    for path in sorted(results.rglob("not-applicable.txt")):
        for line in path.read_text(errors="replace").splitlines():
            m = NA_LINE.match(line.strip())
            if m:
                found[m.group(1)] = m.group(2)
    return found


def profile_name(path):
    if not path:
        return None
    m = re.search(r'^name\s*=\s*"([^"]*)"', Path(path).read_text(errors="replace"), re.M)
    return m.group(1) if m else Path(path).stem


def render(rows, failed, na, partitions_seen, title):
    out = [f"## {title}", "", "| group | " + " | ".join(COLUMNS) + " |",
           "|---|" + "---:|" * len(COLUMNS)]
    total = defaultdict(int)
    for group in sorted(rows):
        out.append(f"| {group} | " + " | ".join(str(rows[group][c]) for c in COLUMNS) + " |")
        for c in COLUMNS:
            total[c] += rows[group][c]
    out.append("| **total** | " + " | ".join(f"**{total[c]}**" for c in COLUMNS) + " |")
    out.append("")
    out.append(f"JUnit from partitions: {', '.join(partitions_seen) or 'none'}.")
    if failed:
        out += ["", f"### Failed ({len(failed)})", ""]
        out += [f"- `{name}` ({outcome}): {reason[:300]}" for name, outcome, reason in sorted(failed)]
        if any(o == "timeout" for _, o, _ in failed):
            out += ["", "A timeout is not a finding: the scenario's time budget ran out (a slow "
                        "machine or client). Rerun, or raise the profile's `timeout_factor`."]
    if na:
        by_reason = defaultdict(list)
        for name, reason in na.items():
            by_reason[reason].append(name)
        out += ["", f"### Not applicable ({len(na)}): not run, not failed", ""]
        out += [f"- {reason} ({len(names)}): " + ", ".join(f"`{n}`" for n in sorted(names))
                for reason, names in sorted(by_reason.items())]
    return "\n".join(out) + "\n", total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--summary", default=os.environ.get("GITHUB_STEP_SUMMARY"))
    args = ap.parse_args()

    if not args.results.is_dir() and args.partitions is None:
        sys.exit(f"conformance summary: {args.results} is not a folder; "
                 "hint: pass the folder run.sh wrote (CONFORMANCE_OUT)")
    # With --partitions, a missing folder is only "no partition finished" (reported below).
    junits = sorted(args.results.rglob("junit-*-of-*.xml")) if args.results.is_dir() else []
    seen = sorted({f"{m.group(1)}/{m.group(2)}" for m in (PARTITION_FILE.search(str(p)) for p in junits) if m})
    rows = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    failed = []
    outcomes = {}
    for name, outcome, reason in read_junit(junits):
        outcomes[name] = outcome
        if outcome != "passed":
            failed.append((name, outcome, reason))
    na = read_not_applicable(args.results)
    for name, outcome in outcomes.items():
        rows[name.split("/")[0]][outcome] += 1
    for name in na:
        if name not in outcomes:
            rows[name.split("/")[0]]["n/a"] += 1

    name = profile_name(args.profile)
    title = f"cliauth conformance: profile {name}" if name else "cliauth conformance"
    text, total = render(rows, failed, na, seen, title)

    problems = []
    if args.partitions is not None:
        missing = [f"{k}/{args.partitions}" for k in range(1, args.partitions + 1)
                   if f"{k}/{args.partitions}" not in seen]
        if missing:
            problems.append(f"no JUnit from partition(s) {', '.join(missing)}: that job did not "
                            "finish; rerun it (a missing partition never counts as passed)")
    for status_file in sorted(args.results.rglob("status-*-of-*")):
        status = status_file.read_text().strip()
        if status == "100" and not failed:
            problems.append(f"{status_file.name}: nextest reported failed tests (exit 100) but "
                            "the JUnit has none; the JUnit file may be stale")
    if not outcomes and not na:
        problems.append("no scenario ran: check the profile and the partition count")
    if total["failed"] or total["timeout"]:
        problems.append(f"{total['failed']} scenario(s) failed and {total['timeout']} timed out")
    if problems:
        text += "\n**Check failed:** " + "; ".join(problems) + "\n"
    else:
        text += "\n**Check passed**: every applicable scenario passed.\n"

    print(text)
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as f:
            f.write(text)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
