"""A stocktake poster killed mid-post, for the crash tests (run as a script, never imported).

``python _stocktake_workers.py post PATH STOCKTAKE_ID WHEN``
    Posts the approved stocktake through ``StocktakeService`` over one SQLite
    file (ledger and stocktakes), and kills itself with SIGKILL at
    ``WHEN``: ``before-ledger`` (POSTING is stored, the ledger not written yet)
    or ``after-ledger`` (the ledger committed, POSTED not stored yet).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

import pendulum

from medinv.adapters.sqlite import SqliteStore
from medinv.ledger import Ledger, PostResult
from medinv.movements import Movement
from medinv.services import StocktakeService

AT = pendulum.datetime(2026, 11, 23, 14, tz="Europe/Paris")


class KilledLedger(Ledger):
    """Dies with SIGKILL just before or just after writing a batch."""

    when = "after-ledger"

    def post(self, movements: Iterable[Movement], **kw: Any) -> PostResult:
        if self.when == "before-ledger":
            os.kill(os.getpid(), signal.SIGKILL)
        result = super().post(movements, **kw)
        os.kill(os.getpid(), signal.SIGKILL)
        return result  # pragma: no cover  (never reached)


def main(argv: list[str]) -> None:
    _command, path, stocktake_id, when = argv
    store = SqliteStore(path)
    ledger = KilledLedger(store, clock=lambda: AT)
    ledger.when = when
    service = StocktakeService(ledger, store.stocktakes)
    service.post(stocktake_id, at=AT)


if __name__ == "__main__":
    main(sys.argv[1:])
