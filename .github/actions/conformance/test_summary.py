"""Tests of summary.py on hand-made results (run: python3 -m unittest discover -s THIS_FOLDER).
The real thing is exercised by .ci/conformance-action against the reference client."""

import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SUMMARY = Path(__file__).with_name("summary.py")

PASSED = '<testcase name="{0}" classname="cliauth-conformance::scenarios" time="0.4"/>'
FAILED = ('<testcase name="{0}" classname="cliauth-conformance::scenarios" time="0.5">'
          '<failure type="test failure with exit code 101"/><system-out>running 1 test\n'
          '---- {0} ----\nwhat the scenario checks\nstep 2 (kind = "run" action=token)\n'
          '  expected: token#0 exits 0\n  observed: exit 4\nclient output (...)\n</system-out></testcase>')
HARNESS_TIMEOUT = ('<testcase name="{0}" classname="c" time="30"><failure type="test failure"/>'
                   '<system-out>---- {0} ----\nTIMEOUT (not a finding): budget 30 s x 1 x load 2'
                   '</system-out></testcase>')
NEXTEST_TIMEOUT = ('<testcase name="{0}" classname="c" time="120">'
                   '<failure type="test timeout" message="test timed out"/></testcase>')


def junit(*cases):
    return f'<?xml version="1.0"?><testsuites><testsuite name="s">{"".join(cases)}</testsuite></testsuites>'


class Summary(unittest.TestCase):
    def run_summary(self, files, *args):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in files.items():
                path = Path(tmp, name)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
            md = Path(tmp, "summary.md")
            proc = subprocess.run([sys.executable, str(SUMMARY), tmp, "--summary", str(md), *args],
                                  capture_output=True, text=True)
            return proc.returncode, md.read_text() if md.exists() else "", proc.stderr

    def test_all_passed_gives_the_table_and_passes(self):
        code, md, _ = self.run_summary({"junit-1-of-1.xml": junit(PASSED.format("refresh/a"),
                                                                  PASSED.format("login/b"))})
        self.assertEqual(code, 0)
        self.assertIn("| group | passed | failed | n/a | timeout |", md)
        self.assertIn("| refresh | 1 | 0 | 0 | 0 |", md)
        self.assertIn("| **total** | **2** | **0** | **0** | **0** |", md)

    def test_a_failed_scenario_fails_the_check_and_names_the_step(self):
        code, md, _ = self.run_summary({"junit-1-of-1.xml": junit(FAILED.format("token/x"))})
        self.assertEqual(code, 1)
        self.assertIn("`token/x` (failed): step 2 (kind = \"run\" action=token) / expected: "
                      "token#0 exits 0 / observed: exit 4", md)
        self.assertIn("**Check failed:**", md)

    def test_timeouts_are_their_own_column_and_fail_the_check(self):
        code, md, _ = self.run_summary({"junit-1-of-1.xml": junit(
            HARNESS_TIMEOUT.format("refresh/slow"), NEXTEST_TIMEOUT.format("refresh/hung"))})
        self.assertEqual(code, 1)
        self.assertIn("| refresh | 0 | 0 | 0 | 2 |", md)
        self.assertIn("A timeout is not a finding", md)

    def test_not_applicable_scenarios_are_listed_by_reason_and_never_fail(self):
        na = ("running 2 tests\n"
              "test login/device   ... ignored (not applicable: profile my-cli lacks action `login_device`)\n"
              "test login/device2  ... ignored (not applicable: profile my-cli lacks action `login_device`)\n")
        code, md, _ = self.run_summary({"p1/junit-1-of-1.xml": junit(PASSED.format("login/web")),
                                        "p1/not-applicable.txt": na})
        self.assertEqual(code, 0)
        self.assertIn("| login | 1 | 0 | 2 | 0 |", md)
        self.assertIn("- lacks action `login_device` (2): `login/device`, `login/device2`", md)

    def test_a_missing_partition_fails_the_merge(self):
        code, md, _ = self.run_summary({"a/junit-1-of-3.xml": junit(PASSED.format("login/a")),
                                        "b/junit-3-of-3.xml": junit(PASSED.format("login/b"))},
                                       "--partitions", "3")
        self.assertEqual(code, 1)
        self.assertIn("no JUnit from partition(s) 2/3", md)

    def test_nextest_failure_without_a_failed_case_is_not_a_pass(self):
        code, md, _ = self.run_summary({"junit-1-of-1.xml": junit(PASSED.format("login/a")),
                                        "status-1-of-1": "100\n"})
        self.assertEqual(code, 1)
        self.assertIn("may be stale", md)

    def test_no_results_at_all_fail(self):
        code, md, _ = self.run_summary({}, "--partitions", "2")
        self.assertEqual(code, 1)
        self.assertIn("no JUnit from partition(s) 1/2, 2/2", md)


if __name__ == "__main__":
    unittest.main()
