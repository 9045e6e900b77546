#!/usr/bin/env python3
"""Long run of the ledger's stateful comparison: a store against the in-memory reference.

Usage: ``python scripts/fuzz_ledger.py [--store memory|sqlite] [--examples N] [--steps N]``

The test suite runs `medinv.testing.stateful.ledger_machine` with a few
examples; this script runs it with many (default 500 cases of 60 steps), for
soak testing a store after a change. It exits non-zero and prints the shortest
failing sequence of steps when the store and the reference ever disagree.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from medinv.adapters.memory import MemoryStore
from medinv.ports import LedgerStore
from medinv.testing.stateful import ledger_machine


def _factory(kind: str, folder: Path) -> Callable[[], LedgerStore]:
    if kind == "memory":
        return MemoryStore
    from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415  (only when asked for)

    counter = iter(range(10**9))
    return lambda: SqliteStore(folder / f"fuzz-{next(counter)}.sqlite3")


def main(argv: list[str] | None = None) -> int:
    """Run the comparison; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--steps", type=int, default=60)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="medinv-fuzz-") as folder:
        machine = ledger_machine(_factory(args.store, Path(folder)))
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=args.examples,
                stateful_step_count=args.steps,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    seconds = time.perf_counter() - start
    print(
        f"{args.store}: {args.examples} cases of up to {args.steps} steps agree with the "
        f"reference ({seconds:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
