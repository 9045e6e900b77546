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
from typing import Any

import pendulum
import pytest

from medinv.adapters.sqlite import SqliteStocktakes, SqliteStore
from medinv.errors import StocktakeStateError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services import StocktakeService
from medinv.stocktake import CountLine, StocktakeScope, StocktakeState, Tolerance, TolerancePolicy

GLOVES = ItemKey("04006381333931", lot="L1")
MASKS = ItemKey("96385074")
A1 = Location.parse("Main/Store/A1")


def at(hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")


def approve(ledger: Ledger, store: SqliteStocktakes) -> None:
    """Gloves booked 10, counted 8 and 3 masks found: approved, ready to post."""
    ledger.post(
        [
            Movement.receipt(
                "r1", item=GLOVES, quantity=10, to=A1, occurred_at=at(7), actor="dock"
            ),
            Movement.receipt("r2", item=MASKS, quantity=1, to=A1, occurred_at=at(7), actor="dock"),
        ]
    )
    service = StocktakeService(ledger, store)
    service.plan(
        "ST-1",
        scope=StocktakeScope(["Main/Store"]),
        created_by="lea",
        at=at(8),
        tolerances=TolerancePolicy(Tolerance(absolute=5)),  # no recount needed
    )
    service.begin("ST-1", at=at(9))
    common: dict[str, Any] = {"device": "d1", "counted_at": at(10), "location": A1}
    service.add_lines(
        "ST-1",
        [
            CountLine(id="c1", counter="ana", item=GLOVES, quantity=8, **common),
            CountLine(id="c2", counter="ana", item=MASKS, quantity=4, **common),
        ],
    )
    service.close_counting("ST-1", at=at(12))
    service.approve("ST-1", approver="max", at=at(13), default_reason="COUNT")


def adjustments(ledger: Ledger) -> list[Movement]:
    return [
        r.movement
        for r in ledger.history()
        if r.movement.kind is MovementKind.ADJUSTMENT and r.movement.reference == "ST-1"
    ]


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
    path = tmp_path / "medinv.sqlite3"
    with SqliteStore(path) as ls:
        approve(Ledger(ls, clock=lambda: at(14)), ls.stocktakes)
    proc = subprocess.run(
        [sys.executable, str(WORKERS), "post", str(path), "ST-1", when],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with SqliteStore(path) as ls:
        ss = ls.stocktakes
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
