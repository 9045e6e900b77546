"""The posting path's shortcuts (see docs/benchmarks/ledger.md) decide as the plain code would.

A ledger with an empty cache must read from its store what the rules need for
kinds that the reads now tell apart by identity (issues, consumptions and
reversals); the link rows of a commit must be those of every movement's
`link_keys`, whether it has links or not.
"""

from __future__ import annotations

import itertools
from typing import Any

import pendulum
import pytest

from medinv.adapters._codec import link_rows
from medinv.adapters.memory import MemoryStore
from medinv.chain import link_keys
from medinv.errors import ReversalError, StockNotIssuableError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import RecordedMovement

OLD_LOT = ItemKey("04006381333931", lot="OLD")
SHELF = Location.parse("H/Store/A")
DAY = "2026-11-23T09:00:00+01:00"
NOW = pendulum.datetime(2026, 11, 23, 8, 30, tz="UTC")


def _received(store: MemoryStore) -> Movement:
    receipt = Movement.receipt(
        "R-1",
        item=OLD_LOT,
        quantity=5,
        to=SHELF,
        occurred_at=DAY,
        actor="nurse",
        expiry="2020-01-31",
    )
    Ledger(store, clock=lambda: NOW).post([receipt])
    return receipt


@pytest.mark.parametrize("kind", ["issue", "consumption"])
def test_a_fresh_ledger_reads_the_lot_expiry_for_each_issuing_kind(kind: str) -> None:
    store = MemoryStore()
    _received(store)
    make = Movement.issue if kind == "issue" else Movement.consumption
    taking = make(
        "T-1", item=OLD_LOT, quantity=1, source=SHELF, occurred_at=DAY, actor="nurse", reference="P"
    )
    # A new ledger knows nothing of the lot: it must ask the store for its expiry.
    with pytest.raises(StockNotIssuableError, match="expired on 2020-01-31"):
        Ledger(store, clock=lambda: NOW).post([taking])
    assert Ledger(store).head().position == 1


def test_a_fresh_ledger_reads_which_movements_are_reversed() -> None:
    store = MemoryStore()
    receipt = _received(store)
    first = Movement.reversal("X-1", of=receipt, occurred_at=DAY, actor="nurse")
    Ledger(store, clock=lambda: NOW).post([first])
    again = Movement.reversal("X-2", of=receipt, occurred_at=DAY, actor="nurse")
    with pytest.raises(ReversalError, match="already reversed by 'X-1'"):
        Ledger(store, clock=lambda: NOW).post([again])


def _movements() -> list[Movement]:
    links: list[dict[str, Any]] = [
        {},
        {"counterparty": "DEPARTMENT:ICU"},
        {"business_references": ["po:4711", "desadv:88"]},
        {"counterparty": "SUPPLIER:ACME", "business_references": ["po:1"]},
    ]
    return [
        Movement.receipt(
            f"M-{n}", item=OLD_LOT, quantity=1, to=SHELF, occurred_at=DAY, actor="a", **extra
        )
        for n, extra in enumerate(links)
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_link_rows_are_the_link_keys_of_every_movement(order: tuple[int, ...]) -> None:
    movements = _movements()
    records = [
        RecordedMovement(
            movement=movements[i],
            position=position,
            recorded_at=NOW,
            prev_hash="0" * 64,
            hash="0" * 64,
        )
        for position, i in enumerate(order, start=1)
    ]
    expected = [(link, r.position) for r in records for link in link_keys(r.movement)]
    assert link_rows(records) == expected
    assert len(expected) == 5
