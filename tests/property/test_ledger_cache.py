"""The ledger's cache of posting reads decides exactly as a ledger that reads everything.

Two cached ledgers post through one store (an in-memory store shared by both, or
two connections to one SQLite file), so that each one's cache is regularly
outdated by the other's commits. A reference ledger over its own store, new for
every post (an empty cache), gets the same batches. Every batch must be accepted
by both or refused by both with the same error, the stores must hold the same
balances, and whenever a cache describes the store's head, what it holds must be
what the store holds.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import MedinvError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import Commit, LedgerStore
from medinv.status import StockStatus

GTIN = "04006381333931"
ITEMS = (
    ItemKey(GTIN, lot="L1"),
    ItemKey(GTIN, lot="L2"),
    ItemKey(GTIN, lot="OLD"),  # received with an expiry in the past: never issuable
    ItemKey("09501101530003"),
    ItemKey(GTIN, lot="L1", serial="S1"),
)
EXPIRY = {"L1": "2030-01-31", "L2": "2031-06-30", "OLD": "2020-01-31"}
PLACES = tuple(Location.parse(p) for p in ("H/Store/A", "H/Store/B", "H/Ward"))
AV, QUARANTINE = StockStatus.AVAILABLE, StockStatus.QUARANTINE
DAY = "2026-11-23T09:00:00+01:00"
NOW = pendulum.datetime(2026, 11, 23, 8, 30, tz="UTC")

step = st.tuples(
    st.sampled_from(["receipt", "issue", "transfer", "hold", "release", "reversal", "replay"]),
    st.integers(0, len(ITEMS) - 1),
    st.integers(1, 12),
    st.integers(0, len(PLACES) - 1),
    st.integers(0, len(PLACES) - 1),
    st.booleans(),  # state the lot's expiry (a wrong one half of the time for receipts)
)
program = st.lists(
    st.tuples(st.integers(0, 1), st.lists(step, min_size=1, max_size=3)), min_size=1, max_size=25
)


class Generator:
    """Turns drawn steps into movements, some of which the rules must refuse."""

    def __init__(self) -> None:
        self.count = 0
        self.posted: list[Movement] = []

    def movement(self, spec: tuple[str, int, int, int, int, bool]) -> Movement:
        kind, i, qty, a, b, state_expiry = spec
        item, src, dst = ITEMS[i], PLACES[a], PLACES[b]
        if item.serial is not None:
            qty = 1
        if kind in {"reversal", "replay"} and self.posted:
            original = self.posted[qty % len(self.posted)]
            if kind == "replay":
                return original
            self.count += 1
            return Movement.reversal(f"X{self.count}", of=original, occurred_at=DAY, actor="t")
        self.count += 1
        mid = f"M{self.count}"
        common: dict[str, Any] = {"occurred_at": DAY, "actor": "t"}
        movement: Movement
        if kind == "receipt":
            expiry = None
            if item.lot is not None and state_expiry:
                expiry = EXPIRY[item.lot.value] if qty % 2 else "2029-01-01"
            elif item.lot is not None and item.lot.value in EXPIRY:
                expiry = EXPIRY[item.lot.value]
            movement = Movement.receipt(
                mid, item=item, quantity=qty, to=dst, expiry=expiry, **common
            )
        elif kind == "issue":
            movement = Movement.issue(mid, item=item, quantity=qty, source=src, **common)
        elif kind == "transfer" and src != dst:
            movement = Movement.transfer(mid, item=item, quantity=qty, source=src, to=dst, **common)
        else:
            before, after = (AV, QUARANTINE) if kind != "release" else (QUARANTINE, AV)
            movement = Movement.status_change(
                mid, item=item, quantity=qty, at=src, from_status=before, to_status=after, **common
            )
        self.posted.append(movement)
        return movement


def outcome(ledger: Ledger, batch: list[Movement]) -> tuple[str, Any]:
    try:
        result = ledger.post(batch, retries=3)
    except MedinvError as e:
        return type(e).__name__, None
    return "ok", ([r.position for r in result.movements], result.replayed)


def snapshot(store: LedgerStore) -> set[tuple[ItemKey, Location, StockStatus, int]]:
    return set(store.balances_snapshot())


def check_cache(ledger: Ledger, store: LedgerStore) -> None:
    """A cache that describes the store's head holds exactly what the store holds."""
    known = ledger._known
    if known.head is None or known.head != store.head():
        return
    complete = known.complete
    assert {k: q for k, q in known.balances.items() if k[0] in complete} == known.balances
    assert dict(store.balances_of(complete)) == known.balances
    assert all(q for q in known.balances.values())
    for item in complete:
        if item.serial is not None:
            held = sum(q for (i, _, _), q in known.balances.items() if i == item)
            assert known.serial_totals.get(item, 0) == held
    assert dict(store.item_records(known.items)) == known.items
    assert dict(store.lot_expiries(known.lots)) == known.lots


@contextlib.contextmanager
def memory_writers() -> Iterator[tuple[LedgerStore, LedgerStore]]:
    store = MemoryStore()
    yield store, store


@contextlib.contextmanager
def sqlite_writers() -> Iterator[tuple[LedgerStore, LedgerStore]]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        with SqliteStore(path) as first, SqliteStore(path) as second:
            yield first, second


@pytest.mark.parametrize("writers", [memory_writers, sqlite_writers], ids=["memory", "sqlite"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=program)
def test_cached_ledgers_decide_as_a_ledger_without_cache(writers: Any, steps: Any) -> None:
    gen = Generator()
    reference_store = MemoryStore()
    with writers() as stores:
        ledgers = [Ledger(store, clock=lambda: NOW) for store in stores]
        for writer, specs in steps:
            batch = [gen.movement(spec) for spec in specs]
            expected = outcome(Ledger(reference_store, clock=lambda: NOW), batch)
            assert outcome(ledgers[writer], batch) == expected, batch
            assert snapshot(stores[writer]) == snapshot(reference_store)
            for ledger, store in zip(ledgers, stores, strict=True):
                check_cache(ledger, store)
        assert ledgers[0].verify().ok


# --------------------------------------------------------------------------- unit cases

ITEM, A, B = ITEMS[0], PLACES[0], PLACES[1]


def rcv(mid: str, qty: int) -> Movement:
    return Movement.receipt(
        mid, item=ITEM, quantity=qty, to=A, occurred_at=DAY, actor="t", expiry=EXPIRY["L1"]
    )


def iss(mid: str, qty: int) -> Movement:
    return Movement.issue(mid, item=ITEM, quantity=qty, source=A, occurred_at=DAY, actor="t")


class Counting(MemoryStore):
    """Counts the balance reads; can be told to fail its next append."""

    def __init__(self) -> None:
        super().__init__()
        self.balance_reads = 0
        self.fail_next_append = False

    def balances_of(self, items: Any) -> Any:
        self.balance_reads += 1
        return super().balances_of(items)

    def append(self, commit: Commit) -> None:
        if self.fail_next_append:
            self.fail_next_append = False
            raise StorageError("the disk is full")
        super().append(commit)


def test_the_ledgers_own_commits_keep_its_cache_and_spare_the_reads():
    store = Counting()
    ledger = Ledger(store, clock=lambda: NOW)
    ledger.post([rcv("R1", 10)])
    reads = store.balance_reads
    for n in range(5):
        ledger.post([iss(f"I{n}", 1)])
    assert store.balance_reads == reads
    assert ledger.balance(ITEM) == 5
    check_cache(ledger, store)


def test_another_writers_commit_empties_the_cache_before_it_is_used():
    store = MemoryStore()
    mine, other = Ledger(store, clock=lambda: NOW), Ledger(store, clock=lambda: NOW)
    mine.post([rcv("R1", 5)])
    other.post([iss("I1", 4)])
    # Under a stale cache (5 in stock) this issue would pass; the stock is 1.
    with pytest.raises(MedinvError, match="requested 3, available 1"):
        mine.post([iss("I2", 3)])
    assert mine.post([iss("I3", 1)]).head.position == 3
    assert store.balances_of([ITEM]) == {}


def test_a_refused_batch_leaves_the_cache_as_it_was():
    store = Counting()
    ledger = Ledger(store, clock=lambda: NOW)
    ledger.post([rcv("R1", 5)])
    new_lot = Movement.receipt(
        "R2", item=ITEMS[1], quantity=3, to=B, occurred_at=DAY, actor="t", expiry="2031-06-30"
    )
    with pytest.raises(MedinvError, match="requested 9, available 1"):
        ledger.post([iss("I1", 4), new_lot, iss("I2", 9)])
    check_cache(ledger, store)
    assert ITEMS[1] not in ledger._known.items
    assert (GTIN, "L2") not in ledger._known.lots
    # The refused batch's receipt and issue change nothing: the same batch, fixed, passes.
    ledger.post([iss("I1", 4), new_lot, iss("I2", 1)])
    assert ledger.balance(ITEM) == 0 and ledger.balance(ITEMS[1]) == 3
    check_cache(ledger, store)


def test_a_failed_append_empties_the_cache():
    store = Counting()
    ledger = Ledger(store, clock=lambda: NOW)
    ledger.post([rcv("R1", 5)])
    store.fail_next_append = True
    with pytest.raises(StorageError, match="disk is full"):
        ledger.post([iss("I1", 2)])
    assert ledger._known.head is None
    reads = store.balance_reads
    ledger.post([iss("I1", 2)])
    assert store.balance_reads == reads + 1
    assert ledger.balance(ITEM) == 3


def test_a_full_cache_starts_again(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("medinv._cache.CACHE_LIMIT", 2)
    store = Counting()
    ledger = Ledger(store, clock=lambda: NOW)
    for n, item in enumerate(ITEMS[:4]):
        ledger.post([Movement.receipt(f"R{n}", item=item, quantity=2, to=A, occurred_at=DAY,
                                      actor="t", expiry=EXPIRY.get(str(item.lot and item.lot.value)))])  # fmt: skip
    assert len(ledger._known.balances) <= 3
    reads = store.balance_reads
    ledger.post([iss("I1", 1)])
    assert store.balance_reads == reads + 1  # started again: ITEM is read anew
    check_cache(ledger, store)


def test_items_issued_to_zero_count_towards_the_limit(monkeypatch: pytest.MonkeyPatch):
    store = MemoryStore()
    lots = [ItemKey(GTIN, lot=f"Z{n}") for n in range(6)]
    Ledger(store, clock=lambda: NOW).post(
        [Movement.receipt(f"R{n}", item=item, quantity=1, to=A, occurred_at=DAY, actor="t",
                          expiry="2030-01-31") for n, item in enumerate(lots)]
    )  # fmt: skip
    monkeypatch.setattr("medinv._cache.CACHE_LIMIT", 2)
    ledger = Ledger(store, clock=lambda: NOW)
    for n, item in enumerate(lots):  # each lot out to zero: no balance left, but known
        ledger.post([Movement.issue(f"I{n}", item=item, quantity=1, source=A, occurred_at=DAY, actor="t")])  # fmt: skip
        known = ledger._known
        assert not known.balances
        assert max(len(known.complete), len(known.lots), len(known.items)) <= 3
