"""A post killed (SIGKILL) between its steps never leaves a cancellable stocktake with adjustments.

The stocktakes and the ledger are two SQLite files, as in a deployment where they
are different databases; the poster is a separate OS process killed mid-post.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.adapters.sqlite_stocktake import SqliteStocktakeStore
from medinv.errors import StocktakeStateError
from medinv.ledger import Ledger
from medinv.stocktake import StocktakeService, StocktakeState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
from test_stocktake_posting import A1, GLOVES, MASKS, adjustments, approved_service, at  # noqa: E402

WORKERS = Path(__file__).with_name("_stocktake_workers.py")


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


@pytest.mark.slow
@pytest.mark.parametrize(("when", "in_ledger"), [("before-ledger", 0), ("after-ledger", 2)])
def test_a_post_killed_between_its_steps_is_completed_and_never_cancelled(
    tmp_path: Path, when: str, in_ledger: int
):
    ledger_path, store_path = tmp_path / "ledger.sqlite3", tmp_path / "stocktakes.sqlite3"
    with SqliteStore(ledger_path) as ls, SqliteStocktakeStore(store_path) as ss:
        approved_service(Ledger(ls, clock=lambda: at(14)), ss)
    proc = subprocess.run(
        [sys.executable, str(WORKERS), "post", str(ledger_path), str(store_path), "ST-1", when],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with SqliteStore(ledger_path) as ls, SqliteStocktakeStore(store_path) as ss:
        ledger = Ledger(ls, clock=lambda: at(15))
        service = StocktakeService(ledger, ss)
        assert ss.get("ST-1").state is StocktakeState.POSTING
        assert len(adjustments(ledger)) == in_ledger
        with pytest.raises(StocktakeStateError, match="POSTING"):
            service.cancel("ST-1", by="lea", reason="after the crash")
        assert [s.id for s in ss.stocktakes(state=StocktakeState.POSTING)] == ["ST-1"]
        service.resume_post("ST-1", at=at(15))
        assert ss.get("ST-1").state is StocktakeState.POSTED
        assert len(adjustments(ledger)) == 2
        assert ledger.balance(GLOVES, location=A1) == 8
        assert ledger.balance(MASKS, location=A1) == 4
        assert ledger.verify().ok
