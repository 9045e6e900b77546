"""8 writer processes posting one movement at a time to one ledger (SQLite, PostgreSQL).

Optimistic posting with back-off and pessimistic posting (``lock_head=True``) both
land every post; under the head lock no post ever needs a second attempt, and with
back-off a lost race is retried a bounded number of times. The final ledger
verifies and its shared balance is the sum of what every writer posted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger

pytestmark = pytest.mark.slow

WORKERS = Path(__file__).with_name("_contention_workers.py")
WRITERS, OPS = 8, 10
SHARED = ItemKey("04006381333931", lot="SHARED")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize("mode", ["lock", "backoff"])
def test_eight_writers_all_land_with_bounded_attempts(
    ledger_target: tuple[str, str], mode: str
) -> None:
    start_at = time.time() + 5  # every writer imported and connected: they start together
    writers = [
        subprocess.Popen(
            [sys.executable, str(WORKERS), *ledger_target, str(w), str(OPS), mode, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for w in range(WRITERS)
    ]
    attempts: list[int] = []
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        attempts += json.loads(out)["attempts"]
    assert len(attempts) == WRITERS * OPS * 2
    if mode == "lock":
        assert set(attempts) == {1}  # never a lost race
    else:
        assert max(attempts) <= 51  # every post landed within its retries=50
    location, schema = ledger_target
    store = SqliteStore(location) if schema == "-" else PostgresStore(location, schema=schema)
    with store:
        ledger = Ledger(store)
        assert ledger.head().position == WRITERS * OPS * 2
        assert ledger.balance(SHARED) == WRITERS * OPS
        assert ledger.verify().ok
