"""Build ``ledger-schema6-gs1.sqlite3`` and its JSON dump with the release before HIBC/MA keys.

Run with medinv at commit eb54ab8 (SQLite schema 6, item keys GS1 only) on the path::

    PYTHONPATH=<eb54ab8 checkout>/src python tests/data/make_ledger_schema6.py

The dump records what that release read back (every stored movement with its hash,
every position), so that a later release can be checked to read the file unchanged.
Not a test; kept so that the fixture can be rebuilt the same way.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pendulum

from medinv import ItemKey, Ledger, Location, Movement, StockStatus
from medinv.adapters.sqlite import SqliteStore

HERE = Path(__file__).parent
FILE = HERE / "ledger-schema6-gs1.sqlite3"
DUMP = HERE / "ledger-schema6-gs1.json"


def build() -> None:
    """Write the file and the dump (replacing both)."""
    FILE.unlink(missing_ok=True)
    a1, ward = Location.parse("CHU/Store/A1"), Location.parse("CHU/Ward 3")
    gloves = ItemKey("04006381333931", lot="L2026-11")
    stent = ItemKey("09501101530003", lot="ST-88", serial="SN-000417")
    swab = ItemKey("96385074")  # a GTIN-8, stored as its GTIN-14
    clock = iter(pendulum.datetime(2026, 11, 20, 7, minute, tz="UTC") for minute in range(60))
    first: dict[str, Any] = {"occurred_at": "2026-11-20T08:00:00+01:00", "actor": "j.martin"}
    quarantined: dict[str, Any] = {"status": StockStatus.QUARANTINE, "expiry": "2028-01-31"}
    released: dict[str, Any] = {
        "from_status": StockStatus.QUARANTINE,
        "to_status": StockStatus.AVAILABLE,
    }
    with SqliteStore(FILE) as store:
        ledger = Ledger(store, clock=lambda: next(clock))
        ledger.post(
            [
                Movement.receipt(
                    "R-1", item=gloves, quantity=40, to=a1, expiry="2027-06-30", **first
                ),
                Movement.receipt("R-2", item=stent, quantity=1, to=a1, **quarantined, **first),
                Movement.receipt("R-3", item=swab, quantity=100, to=a1, **first),
            ]
        )
        then: dict[str, Any] = {"occurred_at": "2026-11-21T09:00:00+01:00", "actor": "a.dupont"}
        ledger.post(
            [
                Movement.transfer("T-1", item=gloves, quantity=10, source=a1, to=ward, **then),
                Movement.issue("I-1", item=swab, quantity=7, source=a1, **then),
                Movement.status_change("S-1", item=stent, quantity=1, at=a1, **released, **then),
            ]
        )
        assert ledger.verify().ok
        dump = {
            "movements": [
                [r.position, r.movement.id, str(r.movement.item), r.hash, r.prev_hash]
                for r in ledger.history()
            ],
            "positions": [
                [str(p.item), str(p.location), p.status.value, p.quantity, str(p.expiry)]
                for p in ledger.positions()
            ],
        }
    DUMP.write_text(json.dumps(dump, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    build()
    sys.exit(0)
