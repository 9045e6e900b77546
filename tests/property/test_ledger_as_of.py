"""Balances as of a past position: both ways of computing them agree with a plain replay."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

GTINS = ("04006381333931", "09501101530003")
ITEMS = [ItemKey(g, lot=f"L{n}") for g in GTINS for n in range(3)]
PLACES = [Location.parse(p) for p in ("H/Store/A", "H/Store/B", "H/Ward", "C/Depot")]
AT = pendulum.datetime(2026, 11, 23, 9, tz="UTC")


def random_ledger(seed: int, steps: int = 40) -> Ledger:
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    ledger = Ledger(MemoryStore(), clock=lambda: AT)
    for n in range(steps):
        item = rng.choice(ITEMS)
        held = [p for p in ledger.positions(item) if p.status is StockStatus.AVAILABLE]
        if not held or rng.random() < 0.35:
            m = Movement.receipt(
                f"R{n}", item=item, quantity=rng.randint(1, 20), to=rng.choice(PLACES),
                occurred_at=AT, actor="t",
            )  # fmt: skip
        else:
            p = rng.choice(held)
            qty = rng.randint(1, p.quantity)
            roll = rng.random()
            if roll < 0.4:
                to = rng.choice([place for place in PLACES if place != p.location])
                m = Movement.transfer(
                    f"T{n}", item=item, quantity=qty, source=p.location, to=to,
                    occurred_at=AT, actor="t",
                )  # fmt: skip
            elif roll < 0.7:
                m = Movement.issue(
                    f"I{n}", item=item, quantity=qty, source=p.location, occurred_at=AT,
                    actor="t",
                )  # fmt: skip
            else:
                m = Movement.status_change(
                    f"S{n}", item=item, quantity=qty, at=p.location,
                    from_status=StockStatus.AVAILABLE, to_status=StockStatus.QUARANTINE,
                    occurred_at=AT, actor="t", reason="QA",
                )  # fmt: skip
        ledger.post([m])
    return ledger


def replayed(ledger: Ledger, position: int) -> dict[tuple[ItemKey, Location, StockStatus], int]:
    totals: dict[tuple[ItemKey, Location, StockStatus], int] = defaultdict(int)
    for recorded in ledger.history(up_to_position=position):
        for location, status, delta in recorded.movement.deltas():
            totals[(recorded.movement.item, location, status)] += delta
    return {key: qty for key, qty in totals.items() if qty}


QUERIES: list[dict[str, Any]] = [
    {},
    {"item": ITEMS[0]},
    {"gtin": GTINS[1]},
    {"lot": "L1"},
    {"location": "H/Store"},
    {"status": StockStatus.QUARANTINE},
    {"gtin": GTINS[0], "location": "H"},
]


@settings(max_examples=25)
@given(st.integers(min_value=0, max_value=2**32))
def test_balances_as_of_every_position_equal_a_replay_from_the_start(seed: int):
    ledger = random_ledger(seed)
    head = ledger.head().position
    for position in range(head + 1):
        truth = replayed(ledger, position)
        for query in QUERIES:
            got = {
                (p.item, p.location, p.status): p.quantity
                for p in ledger.positions(as_of_position=position, **query)
            }
            expected = {key: qty for key, qty in truth.items() if _matches(key, query)}
            assert got == expected, (position, query)
            assert ledger.balance(as_of_position=position, **query) == sum(expected.values())


def _matches(key: tuple[ItemKey, Location, StockStatus], query: dict[str, Any]) -> bool:
    item, location, status = key
    if "item" in query and item != query["item"]:
        return False
    if "gtin" in query and item.gtin.value != query["gtin"]:
        return False
    if "lot" in query and (item.lot is None or item.lot.value != query["lot"]):
        return False
    if "status" in query and status is not query["status"]:
        return False
    if "location" in query:
        prefix = tuple(str(query["location"]).split("/"))
        if location.path[: len(prefix)] != prefix:
            return False
    return True
