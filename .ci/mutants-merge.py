#!/usr/bin/env python3
"""Merges the results of cargo-mutants shards (`just mutants --shard k/N` on N machines).

    mutants-merge.py DIR...    (`just mutants-merge shards/*`)

Each DIR holds one shard's mutants.out/ (or is it): its outcomes.json gives every tested
mutant's outcome and the time of each phase, its mutants.json the mutants the shard was given.
Prints the counts by outcome over all shards, the wall time of each shard (the pass takes as
long as the slowest), every missed mutant, and the mutants a shard never reached.
Exit: 0 when every given mutant was tested and none was missed; 2 when one was missed;
1 when a shard is incomplete or a mutant appears in two shards.
"""

import json
import sys
from collections import Counter
from pathlib import Path

LABELS = {"CaughtMutant": "caught", "MissedMutant": "missed", "Timeout": "timeout",
          "Unviable": "unviable"}


def shard_files(folder):
    for candidate in (folder / "outcomes.json", folder / "mutants.out" / "outcomes.json"):
        if candidate.is_file():
            return candidate, candidate.with_name("mutants.json")
    sys.exit(f"mutants-merge: no outcomes.json in {folder} or {folder}/mutants.out; "
             "hint: copy each shard's whole mutants.out/ folder")


def main(folders):
    if not folders:
        sys.exit(__doc__)
    outcomes, seen, problems = {}, {}, []
    print(f"{'shard':<40} {'mutants':>7} {'tested':>6} {'wall time':>10}")
    for folder in map(Path, folders):
        outcomes_file, mutants_file = shard_files(folder)
        data = json.loads(outcomes_file.read_text())
        given = [m["name"] for m in json.loads(mutants_file.read_text())] if mutants_file.is_file() else []
        seconds, tested = 0.0, []
        for outcome in data.get("outcomes", []):
            seconds += sum(p.get("duration", 0) for p in outcome.get("phase_results", []))
            scenario = outcome.get("scenario")
            if not isinstance(scenario, dict) or "Mutant" not in scenario:
                continue  # the baseline
            name = scenario["Mutant"]["name"]
            if name in seen and seen[name] != str(folder):
                problems.append(f"{name} is in two shards ({seen[name]} and {folder}): "
                                "give every machine the same N and a different k")
            seen[name] = str(folder)
            outcomes[name] = LABELS.get(outcome.get("summary"), outcome.get("summary"))
            tested.append(name)
        untested = sorted(set(given) - set(tested))
        if untested:
            problems.append(f"{folder}: {len(untested)} of its {len(given)} mutants were not tested "
                            f"(cut short?), e.g. {untested[0]}")
        print(f"{str(folder):<40} {len(given):>7} {len(tested):>6} {seconds / 60:>8.1f} m")
    counts = Counter(outcomes.values())
    print(f"\n{len(outcomes)} mutants tested: " +
          ", ".join(f"{counts.get(k, 0)} {k}" for k in ("caught", "missed", "timeout", "unviable")))
    viable = len(outcomes) - counts.get("unviable", 0)
    if viable:
        print(f"caught or timed out: {(counts.get('caught', 0) + counts.get('timeout', 0)) / viable:.1%} of the viable ones")
    missed = sorted(n for n, o in outcomes.items() if o == "missed")
    if missed:
        print("\nmissed (each needs a test that fails, or a line in docs/conformance/mutants.md):")
        print("\n".join(f"  {n}" for n in missed))
    for problem in problems:
        print(f"mutants-merge: {problem}", file=sys.stderr)
    return 2 if missed else 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
