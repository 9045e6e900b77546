#!/usr/bin/env python3
"""Run every check medinv's CI runs: lint, format, types, import contracts, tests, docs.

Usage: ``python scripts/check.py [--fast]`` from the repository root, in the
virtual environment that has ``pip install -e ".[dev]"``. ``--fast`` skips the
tests marked ``slow`` (crash and concurrency tests); CI never passes it.

Each step runs even when an earlier one failed, so one run shows every problem;
the exit code is non-zero when any step failed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _steps(*, fast: bool, site_dir: str) -> list[tuple[str, list[str]]]:
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


def main(argv: list[str]) -> int:
    """Run the steps and print a summary; returns the exit code."""
    fast = "--fast" in argv
    failed: list[str] = []
    timings: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="medinv-site-") as site_dir:
        for name, command in _steps(fast=fast, site_dir=site_dir):
            shown = " ".join([Path(command[0]).name, *command[1:]])
            print(f"\n=== {name}: {shown}", flush=True)
            start = time.perf_counter()
            code = subprocess.call(command, cwd=ROOT)  # noqa: S603  (our own tools)
            timings.append((name, time.perf_counter() - start, code))
            if code != 0:
                failed.append(name)
    print("\n=== summary")
    for name, seconds, code in timings:
        print(f"  {'ok  ' if code == 0 else 'FAIL'} {name:<24} {seconds:7.1f} s")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
