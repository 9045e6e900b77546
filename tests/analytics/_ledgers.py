"""Random ledgers for the analytics tests: a few products, lots and places over some weeks."""

from __future__ import annotations

import random

import pendulum

from medinv.dates import to_date
from medinv.errors import StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore
from medinv.status import StockStatus

ZONE = "America/New_York"
GTINS = ("04006381333931", "09501101530003")
LOTS = {("04006381333931", "A"): "2026-03-20", ("04006381333931", "B"): "2026-05-10",
        ("09501101530003", "C"): "2026-03-05", ("09501101530003", "D"): None}  # fmt: skip
EXPIRIES = {key: None if e is None else to_date(e) for key, e in LOTS.items()}
ITEMS = [ItemKey(g, lot=lot) for g, lot in LOTS]
PLACES = [Location.parse(p) for p in ("H/Store", "H/Ward")]
START = pendulum.datetime(2026, 2, 1, 8, tz=ZONE)
CLOCK = pendulum.datetime(2030, 1, 1, tz="UTC")


def random_ledger(  # noqa: C901  (one branch per kind of movement)
    store: LedgerStore, seed: int, steps: int = 60, days: int = 60, late: float = 0.0
) -> Ledger:
    """Post ``steps`` random valid movements spread over ``days`` days (refused ones skipped).

    Times are drawn at any hour (in UTC offsets too), so that the facility day of a
    movement is not the day of its offset; some issues are reversed. With ``late``
    above 0, that share of the movements is entered late: dated up to ten days
    before the one posted just before it (a balance can then dip below zero for a
    while in time order).
    """
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    ledger = Ledger(store, clock=lambda: CLOCK, timezone=ZONE)
    issues: list[Movement] = []
    moments = sorted(START.add(minutes=rng.randint(0, days * 24 * 60)) for _ in range(steps))
    for n, moment in enumerate(moments):
        at = moment
        if late and rng.random() < late:
            at = moment.subtract(minutes=rng.randint(1, 10 * 24 * 60))
        when = at.in_timezone("UTC") if rng.random() < 0.3 else at
        item = rng.choice(ITEMS)
        place = rng.choice(PLACES)
        qty = rng.randint(1, 12)
        roll = rng.random()
        expiry = LOTS[(item.gtin.value, item.lot.value if item.lot else "")]
        if roll < 0.3:
            m = Movement.receipt(f"R{n}", item=item, quantity=qty * 3, to=place,
                                 occurred_at=when, actor="t", expiry=expiry)  # fmt: skip
        elif roll < 0.55:
            m = Movement.issue(f"I{n}", item=item, quantity=qty, source=place,
                               occurred_at=when, actor="t")  # fmt: skip
        elif roll < 0.7:
            m = Movement.consumption(f"C{n}", item=item, quantity=qty, source=place,
                                     occurred_at=when, actor="t", reference="P1")  # fmt: skip
        elif roll < 0.8:
            other = next(p for p in PLACES if p != place)
            m = Movement.transfer(f"T{n}", item=item, quantity=qty, source=place, to=other,
                                  occurred_at=when, actor="t")  # fmt: skip
        elif roll < 0.86:
            m = Movement.status_change(f"S{n}", item=item, quantity=qty, at=place,
                                       from_status=StockStatus.AVAILABLE,
                                       to_status=StockStatus.HOLD, occurred_at=when,
                                       actor="t", reason="QA")  # fmt: skip
        elif roll < 0.9:
            m = Movement.status_change(f"S{n}", item=item, quantity=qty, at=place,
                                       from_status=StockStatus.HOLD,
                                       to_status=StockStatus.AVAILABLE, occurred_at=when,
                                       actor="t", reason="QA")  # fmt: skip
        elif roll < 0.95 and issues:
            original = issues.pop(rng.randrange(len(issues)))
            m = Movement.reversal(f"V{n}", of=original, occurred_at=when, actor="t")
        else:
            m = Movement.scrap(f"X{n}", item=item, quantity=qty, source=place,
                               occurred_at=when, actor="t", reason="broken")  # fmt: skip
        try:
            ledger.post([m])
        except StockError:
            continue
        if m.is_issuing:
            issues.append(m)
    return ledger
