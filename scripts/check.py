#!/usr/bin/env python3
"""Run every check medinv's CI runs: lint, format, types, import contracts, tests, docs.

Usage: ``python scripts/check.py [--fast]`` from the repository root, in the
virtual environment that has ``pip install -e ".[dev]"``. ``--fast`` skips the
tests marked ``slow`` (crash and concurrency tests); CI never passes it.

Each step runs even when an earlier one failed, so one run shows every problem;
the exit code is non-zero when any step failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.etree import ElementTree as ET

ROOT = Path(__file__).resolve().parent.parent


def _steps(*, fast: bool, site_dir: str, junit: str) -> list[tuple[str, list[str]]]:
    python = sys.executable
    pytest_args = [
        python,
        "-m",
        "pytest",
        "--cov",
        "--cov-branch",
        "--cov-report=term",
        "--cov-fail-under=90",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        "--durations=15",
        # One test process per core (at most four), whole files per process: the
        # suite's files keep their module fixtures, and the 2-core machine CI runs on
        # takes about half the time of one process.
        "-n",
        str(_workers()),
        "--dist",
        "loadfile",
    ]
    if fast:
        pytest_args += ["-m", "not slow"]
    return [
        ("ruff lint", [python, "-m", "ruff", "check", "."]),
        ("ruff format", [python, "-m", "ruff", "format", "--check", "."]),
        ("mypy --strict", [python, "-m", "mypy"]),
        ("import contracts", [str(Path(python).parent / "lint-imports")]),
        ("pytest", pytest_args),
        ("mkdocs build --strict", [python, "-m", "mkdocs", "build", "--strict", "-d", site_dir]),
    ]


def _workers() -> int:
    """Test processes: the cores this process may use, at least one, at most four."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def main(argv: list[str]) -> int:
    """Run the steps and print a summary; returns the exit code."""
    fast = "--fast" in argv
    failed: list[str] = []
    timings: list[tuple[str, float, int]] = []
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    with tempfile.TemporaryDirectory(prefix="medinv-check-") as tmp:
        site_dir, junit = str(Path(tmp) / "site"), str(Path(tmp) / "junit.xml")
        for name, command in _steps(fast=fast, site_dir=site_dir, junit=junit):
            shown = " ".join([Path(command[0]).name, *command[1:]])
            print(f"\n=== {name}: {shown}", flush=True)
            start = time.perf_counter()
            code = subprocess.call(command, cwd=ROOT)  # noqa: S603  (our own tools)
            timings.append((name, time.perf_counter() - start, code))
            if code != 0:
                failed.append(name)
        counts = _test_counts(junit)
    print("\n=== summary")
    for name, seconds, code in timings:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {name:<24} {seconds:7.1f} s")
    print(f"{'FAILED: ' + ', '.join(failed) if failed else 'all checks passed'}")
    # The last line is the test runner's count, for readers and CI log scrapers alike.
    passed, failures, skipped = counts
    print(f"tests: {passed} passed, {failures} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


def _test_counts(junit: str) -> tuple[int, int, int]:
    """(passed, failed or errored, skipped) from pytest's JUnit XML report."""
    path = Path(junit)
    if not path.is_file():
        return (0, 0, 0)
    root = ET.parse(path).getroot()  # noqa: S314  (our own pytest's report)
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    total = sum(int(s.get("tests", 0)) for s in suites)
    bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return (total - bad - skipped, bad, skipped)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
