"""The ledger store contract suite: one set of pytest tests every store must pass.

Subclass [`LedgerStoreContract`][medinv.testing.contract.LedgerStoreContract] in a
test module, override the ``store`` fixture to yield a fresh, empty store, and
pytest runs every contract test against it:

```python
import pytest
from medinv.testing.contract import LedgerStoreContract

class TestMyStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "ledger.db") as store:
            yield store

    @pytest.fixture
    def reopen(self, tmp_path):
        # Optional: close the store and open the same data again (durability tests).
        def reopen(store):
            store.close()
            return MyStore(tmp_path / "ledger.db")
        return reopen
```

The tests exercise every method of the [`LedgerStore`][medinv.ports.LedgerStore]
port directly and every ledger rule through a
[`Ledger`][medinv.ledger.Ledger] over the store: round trips of every field
(hostile text included), atomic appends, optimistic concurrency, indexed
queries with location subtrees, master data, and a clean
[`verify()`][medinv.ledger.Ledger.verify].

Needs the ``testing`` extra (pytest).
"""

# ruff: noqa: S101, PLR2004, PT018  (a test suite: asserts on literal expectations)
from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import pendulum
import pytest

from medinv.catalogue import BusinessReference, Party, PartyKind, PartyRef
from medinv.chain import GENESIS_HASH, entry_hash, format_instant, movement_content
from medinv.errors import (
    BalanceLimitError,
    ConcurrencyError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidValueError,
    LotMasterDataConflictError,
    ReversalError,
    SerialConflictError,
    StockNotIssuableError,
    StorageError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import (
    BalanceChange,
    Commit,
    ItemRecord,
    LedgerHead,
    LedgerStore,
    LotRecord,
    MovementQuery,
    MovementRow,
    MovementRowReader,
    PositionQuery,
    RecordedMovement,
    movement_rows,
)
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus
from medinv.testing import _queries

__all__ = ["HOSTILE_ACTORS", "HOSTILE_TEXTS", "STRUCTURED_IDS", "LedgerStoreContract"]

GTIN = "04006381333931"
GTIN_2 = "09501101530003"
A1 = Location.parse("CHU/Store/A1")
A2 = Location.parse("CHU/Store/A2")
ROOM = Location.parse("CHU/Storeroom")
WARD = Location.parse("CHU/Ward 3")
AV, QUARANTINE, HOLD = StockStatus.AVAILABLE, StockStatus.QUARANTINE, StockStatus.HOLD
AT = "2026-11-23T09:15:30.250000+01:00"
RECORDED = pendulum.datetime(2026, 11, 23, 8, 16, 0, 123456, tz="UTC")

HOSTILE_TEXTS: tuple[str, ...] = (
    'O\'Brien said "stop"',
    "'; DROP TABLE movements; --",
    'a;b;c "quoted" \\backslash\\ %s %(x)s ? $1 :name',
    "Ünïcødé ✓ 🧪 中文 עברית العربية",
    "tab\tnew\nline\rcarriage \u2028 \u00a0 \ufeff zero\u200bwidth",
    "  leading and trailing blanks  ",
    "R" * 10_000,
)
"""Free text every store must keep verbatim (NUL-free; the last one is 10,000 characters)."""

HOSTILE_ACTORS: tuple[str, ...] = (
    'O\'Brien said "stop"',
    "'; DROP TABLE movements; --",
    "a;b;c %s %(x)s ? $1 :name \\",
    "  Ünïcødé Ærø ✓  ",
    "王芳 やまだ",
    "علي",
    "R" * 200,
)
"""Actor names every store must keep verbatim: quotes, SQL, blanks kept, several scripts
(one per name: names mixing confusable scripts are refused when a movement is built)."""


STRUCTURED_IDS: tuple[str, ...] = (
    'DN "1"],["po","2"]',
    "a:b:c",
    "\\u0000 \\ \t\n",
    "ref:po:4711",
    "Ünïcødé ✓ 王芳",
)
"""Business reference ids every store must keep verbatim: JSON and link-key syntax inside."""


def _item(lot: str | None = "L1", serial: str | None = None, gtin: str = GTIN) -> ItemKey:
    return ItemKey(gtin, lot=lot, serial=serial)


def _receipt(mid: str, item: ItemKey | None = None, qty: int = 10, **kw: Any) -> Movement:
    kw.setdefault("to", A1)
    kw.setdefault("occurred_at", AT)
    kw.setdefault("actor", "j.martin")
    return Movement.receipt(mid, item=item or _item(), quantity=qty, **kw)


def _issue(mid: str, item: ItemKey | None = None, qty: int = 1, **kw: Any) -> Movement:
    kw.setdefault("source", A1)
    kw.setdefault("occurred_at", AT)
    kw.setdefault("actor", "j.martin")
    return Movement.issue(mid, item=item or _item(), quantity=qty, **kw)


def _hand_commit(
    store: LedgerStore, movements: list[Movement], *, expected_position: int | None = None
) -> Commit:
    """A well-formed commit of receipts chained from the store's head (bypassing the ledger)."""
    head = store.head()
    prev, position = head.hash, head.position
    recorded = []
    for m in movements:
        position += 1
        digest = entry_hash(prev, position, format_instant(RECORDED), movement_content(m))
        recorded.append(
            RecordedMovement(
                movement=m, position=position, recorded_at=RECORDED, prev_hash=prev, hash=digest
            )
        )
        prev = digest
    changes: dict[tuple[ItemKey, Location, StockStatus], int] = {}
    for m in movements:
        for location, status, delta in m.deltas():
            key = (m.item, location, status)
            changes[key] = changes.get(key, 0) + delta
    return Commit(
        expected_position=head.position if expected_position is None else expected_position,
        movements=tuple(recorded),
        balance_changes=tuple(BalanceChange(*key, delta) for key, delta in changes.items()),
    )


def _forged_commit(
    store: LedgerStore, movements: list[Movement], recorded_at: pendulum.DateTime = RECORDED
) -> Commit:
    """A commit of any movements, chained and with the master data the ledger would write.

    It bypasses every rule: what a writer that skipped the ledger could store.
    """
    commit = _hand_commit(store, movements)
    lots: dict[tuple[str, str], LotRecord] = {}
    items: dict[ItemKey, ItemRecord] = {}
    recorded = []
    prev, position = store.head().hash, store.head().position
    for m in movements:
        position += 1
        digest = entry_hash(prev, position, format_instant(recorded_at), movement_content(m))
        recorded.append(
            RecordedMovement(
                movement=m, position=position, recorded_at=recorded_at, prev_hash=prev, hash=digest
            )
        )
        prev = digest
        item = m.item
        if m.from_location is not None:
            continue
        lot_expiry = m.expiry
        if item.lot is not None:
            key = (item.device_text, item.lot.value)
            stored = store.lot_expiries([key])
            if key in stored:
                lot_expiry = stored[key]
            elif key in lots:
                lot_expiry = lots[key].expiry
            else:
                lots[key] = LotRecord(key[0], key[1], m.expiry)
        if item not in items and not store.item_records([item]):
            items[item] = ItemRecord(item=item, first_received_at=m.occurred_at, expiry=lot_expiry)
    return Commit(
        expected_position=commit.expected_position,
        movements=tuple(recorded),
        balance_changes=commit.balance_changes,
        lots=tuple(lots.values()),
        items=tuple(items.values()),
    )


def _same(left: RecordedMovement, right: RecordedMovement) -> bool:
    """Equal as stored: content (offsets included), position, time of recording and hashes."""
    return (
        movement_content(left.movement) == movement_content(right.movement)
        and left.position == right.position
        and format_instant(left.recorded_at) == format_instant(right.recorded_at)
        and left.prev_hash == right.prev_hash
        and left.hash == right.hash
    )


class _Interleaving:
    """Wraps a store: before each append, another writer posts one of ``intruders`` first."""

    def __init__(self, store: LedgerStore, intruders: list[Movement]) -> None:
        self.store = store
        self.intruders = intruders

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def append(self, commit: Commit) -> None:
        if self.intruders:
            Ledger(self.store, clock=lambda: RECORDED).post([self.intruders.pop(0)])
        self.store.append(commit)


class LedgerStoreContract:
    """Pytest mixin: the behaviour every [`LedgerStore`][medinv.ports.LedgerStore] must have.

    Override the ``store`` fixture (a fresh, empty store per test, closed afterwards);
    optionally override ``reopen`` (close a store and open the same data again) to
    run the durability tests for real. The class name does not start with ``Test``,
    so pytest collects it only through your subclass.
    """

    # ----------------------------------------------------------------- fixtures

    @pytest.fixture
    def store(self) -> Iterator[LedgerStore]:
        """A fresh, empty store; override it."""
        raise NotImplementedError("override the `store` fixture to yield the store under test")

    @pytest.fixture
    def reopen(self) -> Callable[[LedgerStore], LedgerStore]:
        """Close ``store`` and open its data again; the default keeps the same object."""
        return lambda store: store

    @pytest.fixture
    def ledger(self, store: LedgerStore) -> Ledger:
        """A ledger over the store with a fixed clock."""
        return Ledger(store, clock=lambda: RECORDED)

    # ----------------------------------------------------------------- the port, directly

    def test_empty_store(self, store: LedgerStore) -> None:
        """An empty store has the genesis head and answers every query with nothing."""
        assert isinstance(store, LedgerStore)  # every method of the protocol is there
        assert store.head() == LedgerHead.empty()
        assert store.head().hash == GENESIS_HASH
        assert dict(store.movements_by_id(["x"])) == {}
        assert dict(store.reversals_of(["x"])) == {}
        assert dict(store.lot_expiries([(GTIN, "L1")])) == {}
        assert dict(store.item_records([_item()])) == {}
        assert dict(store.balances_of([_item()])) == {}
        assert list(store.positions(PositionQuery())) == []
        assert list(store.movements(MovementQuery())) == []
        assert list(store.balances_snapshot()) == []
        assert dict(store.movements_by_id([])) == {}

    def test_append_and_read_back_every_field(self, store: LedgerStore) -> None:
        """A hand-built commit is stored whole and read back exactly."""
        movements = [
            _receipt(
                "R-1",
                qty=7,
                status=QUARANTINE,
                expiry="2027-06-30",
                reference="DN-1",
                reason="delivery",
            ),
            _receipt("R-2", item=_item(None, "SN-1", GTIN_2), qty=1, to=WARD),
        ]
        commit = _hand_commit(store, movements)
        commit = Commit(
            expected_position=0,
            movements=commit.movements,
            balance_changes=commit.balance_changes,
            lots=(LotRecord(GTIN, "L1", pendulum.date(2027, 6, 30)),),
            items=(
                ItemRecord(
                    item=_item(),
                    first_received_at=movements[0].occurred_at,
                    expiry=pendulum.date(2027, 6, 30),
                ),
                ItemRecord(item=_item(None, "SN-1", GTIN_2), first_received_at=RECORDED),
            ),
        )
        store.append(commit)
        last = commit.movements[-1]
        assert store.head() == LedgerHead(2, last.hash)
        found = store.movements_by_id(["R-1", "R-2", "R-3"])
        assert sorted(found) == ["R-1", "R-2"]
        for recorded in commit.movements:
            assert _same(found[recorded.movement.id], recorded)
        back = found["R-1"]
        assert format_instant(back.movement.occurred_at) == "2026-11-23T09:15:30.250000+01:00"
        assert back.movement.expiry == pendulum.date(2027, 6, 30)
        assert dict(store.lot_expiries([(GTIN, "L1"), (GTIN, "L2")])) == {
            (GTIN, "L1"): pendulum.date(2027, 6, 30)
        }
        records = store.item_records([_item(), _item(None, "SN-1", GTIN_2), _item("L9")])
        assert set(records) == {_item(), _item(None, "SN-1", GTIN_2)}
        assert records[_item()].expiry == pendulum.date(2027, 6, 30)
        assert records[_item()].first_received_at == movements[0].occurred_at
        assert records[_item(None, "SN-1", GTIN_2)].expiry is None
        assert dict(store.balances_of([_item()])) == {(_item(), A1, QUARANTINE): 7}

    def test_commit_without_movements_is_a_no_op(self, store: LedgerStore) -> None:
        """Appending an empty commit changes nothing."""
        store.append(Commit(expected_position=0, movements=()))
        assert store.head() == LedgerHead.empty()

    def test_stale_commit_is_refused_and_writes_nothing(self, store: LedgerStore) -> None:
        """A commit validated at an old head raises ConcurrencyError; nothing of it is stored."""
        first = _hand_commit(store, [_receipt("R-1")])
        stale = _hand_commit(store, [_receipt("R-2", qty=3)])
        store.append(first)
        with pytest.raises(ConcurrencyError) as err:
            store.append(stale)
        assert (err.value.expected, err.value.actual) == (0, 1)
        assert store.head() == LedgerHead(1, first.movements[0].hash)
        assert dict(store.movements_by_id(["R-2"])) == {}
        assert dict(store.balances_of([_item()])) == {(_item(), A1, AV): 10}

    @pytest.mark.parametrize("break_at", ["prev_hash", "position", "second_prev_hash"])
    def test_a_commit_that_does_not_chain_from_the_head_is_refused(
        self, store: LedgerStore, break_at: str
    ) -> None:
        """Each movement must follow the head (or the one before it): position and hash."""
        store.append(_hand_commit(store, [_receipt("R-1")]))
        head = store.head()
        good = _hand_commit(store, [_receipt("R-2", qty=2), _receipt("R-3", qty=3)])
        first, second = good.movements
        if break_at == "prev_hash":
            first = attrs.evolve(first, prev_hash="f" * 64)
        elif break_at == "position":
            first = attrs.evolve(first, position=first.position + 1)
        else:
            second = attrs.evolve(second, prev_hash=head.hash)
        with pytest.raises(StorageError, match="does not follow"):
            store.append(attrs.evolve(good, movements=(first, second)))
        assert store.head() == head
        assert dict(store.movements_by_id(["R-2", "R-3"])) == {}
        assert dict(store.balances_of([_item()])) == {(_item(), A1, AV): 10}

    def test_commit_with_a_stored_id_is_refused_whole(self, store: LedgerStore) -> None:
        """A commit repeating a stored id (a concurrent writer's) stores none of its movements."""
        store.append(_hand_commit(store, [_receipt("R-1")]))
        head = store.head()
        clash = _hand_commit(store, [_receipt("R-2", qty=2), _receipt("R-1", qty=3)])
        with pytest.raises(ConcurrencyError):
            store.append(clash)
        assert store.head() == head
        assert dict(store.movements_by_id(["R-2"])) == {}
        assert dict(store.balances_of([_item()])) == {(_item(), A1, AV): 10}
        assert len(list(store.movements(MovementQuery()))) == 1

    def test_second_reversal_of_a_movement_is_refused_by_the_store(
        self, store: LedgerStore
    ) -> None:
        """A store keeps at most one reversal per original, whoever wrote it."""
        original = _receipt("R-1", qty=2)
        store.append(_hand_commit(store, [original, _receipt("R-2", qty=2)]))
        first = Movement.reversal("R-1-X", of=original, occurred_at=AT, actor="a")
        store.append(_hand_commit(store, [first]))
        assert dict(store.reversals_of(["R-1", "R-2"])) == {"R-1": "R-1-X"}
        second = Movement.reversal("R-1-Y", of=original, occurred_at=AT, actor="b")
        with pytest.raises(ConcurrencyError):
            store.append(_hand_commit(store, [second]))
        assert dict(store.movements_by_id(["R-1-Y"])) == {}

    def test_zero_balances_are_not_returned(self, ledger: Ledger, store: LedgerStore) -> None:
        """A balance brought to 0 disappears from the queries."""
        ledger.post([_receipt("R-1", qty=2), _issue("I-1", qty=2)])
        assert dict(store.balances_of([_item()])) == {}
        assert list(store.positions(PositionQuery(item=_item()))) == []
        assert all(qty == 0 for *_, qty in store.balances_snapshot())
        assert ledger.verify().ok

    def test_hostile_text_is_stored_verbatim(self, ledger: Ledger, store: LedgerStore) -> None:
        """Quotes, ``;``, unicode and 10,000-character reasons come back unchanged."""
        lot = "'\";%&()*+,-./:<=>?_"
        for n, text in enumerate(HOSTILE_TEXTS):
            short = text[:200]
            actor = HOSTILE_ACTORS[n % len(HOSTILE_ACTORS)]
            segment = "".join(c for c in short if c.isprintable() and c != "/").strip()[:64]
            where = Location(("CHU", segment or "x"))
            item = _item(lot=lot, serial=f"S{n}")
            movements = [
                Movement.receipt(
                    f"{short[:150]}#{n}",
                    item=item,
                    quantity=1,
                    to=where,
                    occurred_at=AT,
                    actor=actor,
                    reason=text,
                    reference=text,
                ),
                Movement.adjustment(
                    f"adj#{n}",
                    item=item,
                    change=-1,
                    at=where,
                    occurred_at=AT,
                    actor=actor,
                    reason=text,
                ),
            ]
            result = ledger.post(movements)
            back = store.movements_by_id([m.id for m in movements])
            for recorded in result.movements:
                stored = back[recorded.movement.id]
                assert stored.movement.reason == text
                assert stored.movement.actor == actor
                assert _same(stored, recorded)
            history = list(store.movements(MovementQuery(lot=lot, serial=f"S{n}")))
            assert [r.movement.id for r in history] == [m.id for m in movements]
            assert str(history[0].movement.to_location) == str(where)
        assert ledger.verify().ok

    # ----------------------------------------------------------------- queries

    def _stock(self, ledger: Ledger) -> None:
        ledger.post(
            [
                _receipt(
                    "R-1", qty=5, expiry="2027-01-31", occurred_at="2026-11-20T08:00:00+01:00"
                ),
                _receipt("R-2", qty=3, to=A2),
                _receipt("R-3", item=_item("L2"), qty=4, to=ROOM, status=QUARANTINE),
                _receipt("R-4", item=_item("L2", "S1"), qty=1, to=WARD),
                _receipt("R-5", item=_item(None, None, GTIN_2), qty=9, to=A1, expiry="2026-12-24"),
                _receipt("R-6", item=_item(None, "S1", GTIN_2), qty=1, to=A2, status=HOLD),
            ]
        )

    def test_positions_filters(self, ledger: Ledger, store: LedgerStore) -> None:
        """Every filter of PositionQuery, alone and combined; locations select subtrees."""
        self._stock(ledger)

        def found(**filters: Any) -> set[tuple[str, str, str, int]]:
            return {
                (str(p.item), str(p.location), p.status.value, p.quantity)
                for p in store.positions(PositionQuery(**filters))
            }

        everything = found()
        assert len(everything) == 6
        assert found(item=_item()) == {
            (f"(01){GTIN}(10)L1", "CHU/Store/A1", "AVAILABLE", 5),
            (f"(01){GTIN}(10)L1", "CHU/Store/A2", "AVAILABLE", 3),
        }
        assert {row[0] for row in found(gtin=GTIN_2)} == {
            f"(01){GTIN_2}",
            f"(01){GTIN_2}(21)S1",
        }
        assert len(found(lot="L2")) == 2
        assert len(found(serial="S1")) == 2
        assert found(gtin=GTIN, serial="S1") == {
            (f"(01){GTIN}(10)L2(21)S1", "CHU/Ward 3", "AVAILABLE", 1)
        }
        # A location selects its subtree, and nothing that merely shares a prefix.
        assert {row[1] for row in found(location="CHU/Store")} == {"CHU/Store/A1", "CHU/Store/A2"}
        assert {row[1] for row in found(location="CHU/Storeroom")} == {"CHU/Storeroom"}
        assert found(location="CHU") == everything
        assert found(location="CHU/Store/A1/deeper") == set()
        assert found(location="Elsewhere") == set()
        assert {row[2] for row in found(status=HOLD)} == {"HOLD"}
        assert found(gtin=GTIN, location="CHU/Store", status=AV, lot="L1") == found(item=_item())
        assert found(item=_item("L1", "S1")) == set()

    def test_positions_carry_expiry_and_first_receipt(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """Expiry comes from the lot (else the item), received_at from the first receipt."""
        self._stock(ledger)
        ledger.post([_receipt("R-7", qty=1, to=A2, occurred_at="2026-11-25T08:00:00+01:00")])
        by_key = {(p.item, str(p.location)): p for p in store.positions(PositionQuery())}
        first = by_key[(_item(), "CHU/Store/A2")]
        assert first.expiry == pendulum.date(2027, 1, 31)
        assert first.received_at == pendulum.parse("2026-11-20T08:00:00+01:00")
        assert first.quantity == 4
        assert by_key[(_item("L2", "S1"), "CHU/Ward 3")].expiry is None
        assert by_key[(_item(None, None, GTIN_2), "CHU/Store/A1")].expiry == pendulum.date(
            2026, 12, 24
        )
        assert by_key[(_item(None, "S1", GTIN_2), "CHU/Store/A2")].expiry is None
        for position in by_key.values():
            assert position.received_at is not None

    def test_balances_of_every_location_and_status(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """balances_of returns all non-zero balances of the given items only."""
        self._stock(ledger)
        ledger.post(
            [
                Movement.status_change(
                    "SC-1",
                    item=_item(),
                    quantity=2,
                    at=A1,
                    from_status=AV,
                    to_status=HOLD,
                    occurred_at=AT,
                    actor="q",
                )
            ]
        )
        assert dict(store.balances_of([_item(), _item("L2", "S1")])) == {
            (_item(), A1, AV): 3,
            (_item(), A1, HOLD): 2,
            (_item(), A2, AV): 3,
            (_item("L2", "S1"), WARD, AV): 1,
        }
        snapshot = {(i, loc, s): q for i, loc, s, q in store.balances_snapshot() if q}
        assert len(snapshot) == 7 and snapshot[(_item(), A1, HOLD)] == 2

    def test_movements_filters_and_order(self, ledger: Ledger, store: LedgerStore) -> None:
        """movements() filters by item, gtin, lot, serial and position range, in position order."""
        self._stock(ledger)
        ledger.post([_issue("I-1", qty=2), _issue("I-2", item=_item("L2", "S1"), source=WARD)])

        def ids(**filters: Any) -> list[str]:
            return [r.movement.id for r in store.movements(MovementQuery(**filters))]

        assert ids() == ["R-1", "R-2", "R-3", "R-4", "R-5", "R-6", "I-1", "I-2"]
        assert ids(item=_item()) == ["R-1", "R-2", "I-1"]
        assert ids(gtin=GTIN_2) == ["R-5", "R-6"]
        assert ids(lot="L2") == ["R-3", "R-4", "I-2"]
        assert ids(serial="S1") == ["R-4", "R-6", "I-2"]
        assert ids(after_position=2, up_to_position=5) == ["R-3", "R-4", "R-5"]
        assert ids(item=_item(), after_position=1, up_to_position=2) == ["R-2"]
        assert ids(gtin=GTIN, lot="L2", serial="S1", after_position=4) == ["I-2"]
        assert ids(after_position=8) == []
        positions = [r.position for r in store.movements(MovementQuery())]
        assert positions == list(range(1, 9))

    def test_master_data_is_written_once(self, ledger: Ledger, store: LedgerStore) -> None:
        """Lot and item records are written at first entry and never overwritten."""
        ledger.post([_receipt("R-1", expiry="2027-01-31", occurred_at="2026-11-20T08:00:00Z")])
        ledger.post([_issue("I-1", qty=10), _receipt("R-2", expiry="2027-01-31")])
        ledger.post([_receipt("R-3", item=_item("L2"))])
        lots = store.lot_expiries([(GTIN, "L1"), (GTIN, "L2"), (GTIN_2, "L1")])
        assert dict(lots) == {(GTIN, "L1"): pendulum.date(2027, 1, 31), (GTIN, "L2"): None}
        record = store.item_records([_item()])[_item()]
        assert record.first_received_at == pendulum.parse("2026-11-20T08:00:00Z")

    # ----------------------------------------------------------------- rules through the store

    def test_replay_and_idempotency_conflict(self, ledger: Ledger, store: LedgerStore) -> None:
        """Same id + same content is a replay of the stored original; other content refused."""
        original = ledger.post([_receipt("R-1", reason="x" * 500)]).movements[0]
        replay = ledger.post([_receipt("R-1", reason="x" * 500)])
        assert replay.replayed == ("R-1",) and _same(replay.movements[0], original)
        with pytest.raises(IdempotencyConflictError) as err:
            ledger.post([_receipt("R-1", reason="y")])
        assert err.value.differences == ("reason",)
        offset = _receipt("R-1", reason="x" * 500, occurred_at="2026-11-23T08:15:30.250000Z")
        with pytest.raises(IdempotencyConflictError, match="occurred_at"):
            ledger.post([offset])
        assert store.head().position == 1

    def test_refused_batch_stores_nothing(self, ledger: Ledger, store: LedgerStore) -> None:
        """Every refusal leaves the store exactly as it was."""
        ledger.post([_receipt("R-1", qty=2, expiry="2026-11-30")])
        before = (store.head(), sorted(map(str, store.balances_snapshot())))
        refusals: list[tuple[type[Exception], list[Movement]]] = [
            (InsufficientStockError, [_receipt("R-2"), _issue("I-1", qty=13)]),
            (
                StockNotIssuableError,
                [_receipt("R-2"), _issue("I-1", occurred_at="2026-12-01T00:00:00+01:00")],
            ),
            (LotMasterDataConflictError, [_receipt("R-2", expiry="2026-12-31")]),
            (
                SerialConflictError,
                [
                    _receipt("R-2", item=_item("L1", "S"), qty=1),
                    _receipt("R-3", item=_item("L1", "S"), qty=1, to=A2),
                ],
            ),
            (
                ReversalError,
                [
                    _receipt("R-2"),
                    Movement.reversal("X", of=_receipt("R-9"), occurred_at=AT, actor="a"),
                ],
            ),
            (IdempotencyConflictError, [_receipt("R-2"), _receipt("R-1", qty=3)]),
        ]
        for error, batch in refusals:
            with pytest.raises(error):
                ledger.post(batch)
            assert (store.head(), sorted(map(str, store.balances_snapshot()))) == before
            assert dict(store.movements_by_id(["R-2", "R-3", "I-1", "X"])) == {}
            assert dict(store.item_records([_item("L1", "S")])) == {}
        assert ledger.verify().ok

    def test_ledger_rules_hold_through_the_store(self, ledger: Ledger) -> None:
        """A day of stock control: receive, release, move, issue, consume, reverse, scrap."""
        lot = _item("LOT-A")
        implant = _item("LOT-I", "SN-42")
        ledger.post(
            [
                _receipt("DN-1/1", item=lot, qty=100, status=QUARANTINE, expiry="2027-03-31"),
                _receipt("DN-1/2", item=implant, qty=1, status=QUARANTINE, expiry="2028-01-31"),
            ]
        )
        with pytest.raises(InsufficientStockError):  # quarantined stock is not AVAILABLE
            ledger.post([_issue("I-0", item=lot)])
        release = [
            Movement.status_change(
                f"QC-{n}",
                item=i,
                quantity=q,
                at=A1,
                from_status=QUARANTINE,
                to_status=AV,
                occurred_at=AT,
                actor="qa",
            )
            for n, (i, q) in enumerate([(lot, 100), (implant, 1)])
        ]
        ledger.post(release)
        move = Movement.transfer(
            "TR-1", item=lot, quantity=30, source=A1, to=WARD, occurred_at=AT, actor="x"
        )
        issue = _issue("IS-1", item=lot, qty=10, source=WARD)
        ledger.post([move, issue])
        ledger.post(
            [
                Movement.consumption(
                    "OR-7",
                    item=implant,
                    quantity=1,
                    source=A1,
                    occurred_at=AT,
                    actor="dr",
                    reference="PROC-2026-118",
                )
            ]
        )
        ledger.post([Movement.reversal("IS-1-R", of=issue, occurred_at=AT, actor="x")])
        with pytest.raises(ReversalError):
            ledger.post([Movement.reversal("IS-1-R2", of=issue, occurred_at=AT, actor="x")])
        ledger.post(
            [
                Movement.scrap(
                    "SC-1",
                    item=lot,
                    quantity=5,
                    source=WARD,
                    occurred_at=AT,
                    actor="x",
                    reason="dropped",
                )
            ]
        )
        assert ledger.balance(lot) == 95
        assert ledger.balance(lot, location="CHU/Ward 3") == 25
        assert ledger.balance(implant) == 0
        assert ledger.balance(lot, as_of_position=5) == 100
        assert ledger.balance(lot, as_of_position=6) == 90
        assert [r.movement.id for r in ledger.history(serial="SN-42")] == ["DN-1/2", "QC-1", "OR-7"]
        assert ledger.verify().ok

    def test_stale_ledger_post_is_refused_then_retried(self, store: LedgerStore) -> None:
        """A writer that lost the race gets ConcurrencyError; a retry re-reads and re-checks."""
        Ledger(store, clock=lambda: RECORDED).post([_receipt("R-1", qty=5)])
        racing = _Interleaving(store, [_issue("THEIRS", qty=4)])
        mine = Ledger(racing, clock=lambda: RECORDED)
        with pytest.raises(ConcurrencyError):
            mine.post([_issue("MINE", qty=4)])
        assert dict(store.movements_by_id(["MINE"])) == {}
        assert dict(store.balances_of([_item()])) == {(_item(), A1, AV): 1}
        # With retries the second attempt sees the other writer's issue: no overdraw.
        racing.intruders.append(_receipt("THEIRS-2", item=_item("L2"), qty=1))
        with pytest.raises(InsufficientStockError) as err:
            mine.post([_issue("MINE", qty=4)], retries=3)
        assert err.value.available == 1
        assert mine.post([_issue("MINE", qty=1)], retries=3).head.position == 4
        assert mine.balance(_item()) == 0
        assert mine.verify().ok

    def test_many_batches_verify_clean(self, ledger: Ledger, store: LedgerStore) -> None:
        """A few hundred movements over many batches: chain, positions and projection agree."""
        items = [_item(f"L{n}") for n in range(7)]
        places = [A1, A2, ROOM, WARD]
        counter = itertools.count()
        for batch in range(12):
            movements = []
            for n in range(25):
                item = items[(batch + n) % len(items)]
                where = places[n % len(places)]
                movements.append(_receipt(f"B{batch}-R{n}", item=item, qty=3, to=where))
                if n % 3 == 0:
                    movements.append(
                        _issue(f"B{batch}-I{next(counter)}", item=item, qty=2, source=where)
                    )
            ledger.post(movements)
        report = ledger.verify()
        assert report.ok and report.movements_checked == store.head().position == 12 * 34
        assert ledger.balance() == sum(p.quantity for p in store.positions(PositionQuery()))

    def test_verify_rechecks_the_rules_over_a_forged_history(self, store: LedgerStore) -> None:
        """A history written past the ledger is checked against every posting rule.

        Each commit is well chained and carries the master data the ledger would
        write, so only the broken rule is reported: a balance below zero at some
        position, a serialised unit in stock twice, reversals of nothing, of a
        later movement or not mirroring theirs, ``recorded_at`` going back.
        """
        serial = _item(lot=None, serial="SN-1")
        early = pendulum.datetime(2026, 11, 23, 7, 0, tz="UTC")
        issued = _issue("I-1", qty=5)
        later_issue = _issue("I-9", qty=1)
        forged = [
            [issued, _receipt("R-1", qty=10)],  # the issue comes first: -5 at position 1
            [_receipt("S-1", item=serial, qty=1), _receipt("S-2", item=serial, qty=1)],
            [
                Movement.reversal("X-1", of=later_issue, occurred_at=AT, actor="x"),
                later_issue,
                Movement.reversal("X-2", of=_issue("GHOST"), occurred_at=AT, actor="x"),
            ],
        ]
        for movements in forged:
            store.append(_forged_commit(store, movements))
        store.append(_forged_commit(store, [_receipt("R-2", qty=1)], recorded_at=early))
        report = Ledger(store).verify()
        found = {type(d).__name__: d for d in report.findings}
        assert set(found) == {
            "NegativeBalance",
            "SerialInTwoPlaces",
            "ReversalMismatch",
            "RecordedAtDecrease",
        }, report.findings
        negative = found["NegativeBalance"]
        assert (negative.position, negative.balance) == (1, -5)  # type: ignore[attr-defined]
        assert found["SerialInTwoPlaces"].total == 2  # type: ignore[attr-defined]
        reasons = {
            d.reverses: d.reason  # type: ignore[attr-defined]
            for d in report.findings
            if type(d).__name__ == "ReversalMismatch"
        }
        assert set(reasons) == {"I-9", "GHOST"}
        assert "later" in reasons["I-9"] and "no such movement" in reasons["GHOST"]
        assert found["RecordedAtDecrease"].position == 8  # type: ignore[attr-defined]

    def test_verify_checks_master_data_against_the_first_inbound_movement(
        self, store: LedgerStore
    ) -> None:
        """A lot record whose expiry differs from its first receipt's is reported."""
        good = _forged_commit(store, [_receipt("R-1", expiry="2027-06-30")])
        lot = good.lots[0]
        wrong = LotRecord(lot.gtin, lot.lot, pendulum.date(2099, 12, 31))
        store.append(
            Commit(
                expected_position=good.expected_position,
                movements=good.movements,
                balance_changes=good.balance_changes,
                lots=(wrong,),
                items=good.items,
            )
        )
        (finding,) = Ledger(store).verify().findings
        assert type(finding).__name__ == "MasterDataMismatch"
        assert (finding.record, finding.stored, finding.expected) == (  # type: ignore[attr-defined]
            "lot",
            "+2099-12-31",
            "+2027-06-30",
        )

    def test_data_survives_reopening(
        self, store: LedgerStore, reopen: Callable[[LedgerStore], LedgerStore]
    ) -> None:
        """After reopening, head, movements, balances and master data are all still there."""
        ledger = Ledger(store, clock=lambda: RECORDED)
        self._stock(ledger)
        before = (
            store.head(),
            [movement_content(r.movement) for r in store.movements(MovementQuery())],
            sorted(map(str, store.positions(PositionQuery()))),
        )
        again = reopen(store)
        after = (
            again.head(),
            [movement_content(r.movement) for r in again.movements(MovementQuery())],
            sorted(map(str, again.positions(PositionQuery()))),
        )
        assert after == before
        assert Ledger(again).verify().ok
        Ledger(again, clock=lambda: RECORDED).post([_issue("I-1")])
        assert again.head().position == before[0].position + 1

    def test_store_is_a_context_manager(self, store: LedgerStore) -> None:
        """``with store:`` returns the store itself (closing happens on exit)."""
        with store as entered:
            assert entered is store
            assert entered.head() == LedgerHead.empty()
        store.close()  # closing twice is harmless

    # ----------------------------------------------------------------- bounds and arguments

    def test_the_largest_quantity_is_held_exactly(self, ledger: Ledger) -> None:
        """A balance of MAX_QUANTITY is kept exactly; one unit more is refused, nothing stored."""
        store = ledger.store
        ledger.post([_receipt("R-1", qty=MAX_QUANTITY - 1), _receipt("R-2", qty=1)])
        head = store.head()
        [position] = store.positions(PositionQuery())
        assert position.quantity == MAX_QUANTITY and type(position.quantity) is int
        with pytest.raises(BalanceLimitError, match="R-3"):
            ledger.post([_receipt("R-3", qty=1)])
        # Refused as a batch too, where the batch's own movements add up past the limit.
        with pytest.raises(BalanceLimitError):
            ledger.post([_issue("I-1", qty=5), _receipt("R-4", qty=3), _receipt("R-5", qty=3)])
        assert store.head() == head
        assert [p.quantity for p in store.positions(PositionQuery())] == [MAX_QUANTITY]
        assert dict(store.balances_of([_item()])) == {(_item(), A1, AV): MAX_QUANTITY}
        ledger.post([_receipt("R-6", qty=MAX_QUANTITY, to=A2)])  # another balance: fine
        assert ledger.balance(_item()) == 2 * MAX_QUANTITY
        assert ledger.verify().ok

    def test_history_positions_of_the_wrong_type_are_refused(self, ledger: Ledger) -> None:
        """``history`` refuses positions that are not whole numbers alike on every store."""
        ledger.post([_receipt("R-1")])
        for bad in ("x", 1.5, True, [1]):
            with pytest.raises(InvalidValueError, match="position"):
                ledger.history(up_to_position=bad)  # type: ignore[arg-type]
            with pytest.raises(InvalidValueError, match="position"):
                ledger.history(after_position=bad)  # type: ignore[arg-type]
        assert [r.movement.id for r in ledger.history(up_to_position=1)] == ["R-1"]
        assert ledger.history(after_position=1) == []

    def test_a_wall_time_in_a_dst_gap_keeps_its_instant(self, store: LedgerStore) -> None:
        """A wall time in a daylight-saving gap is stored and judged at the instant Python gives.

        In Santiago the clocks jump from 00:00 to 01:00 on 2026-09-06: 00:30 that day
        does not exist. Python gives it the offset before the jump (-04:00), a time on
        the 6th; expiry on the 5th makes the lot expired then, on every store.
        """
        zone = zoneinfo.ZoneInfo("America/Santiago")
        gap = dt.datetime(2026, 9, 6, 0, 30, tzinfo=zone)
        ledger = Ledger(store, clock=lambda: RECORDED)
        ledger.post([_receipt("R-1", expiry="2026-09-05", occurred_at=gap)])
        [stored] = store.movements(MovementQuery())
        # The same instant (compared as timestamps: Python never calls a time in a
        # gap equal to a time of another zone).
        assert stored.movement.occurred_at.timestamp() == gap.timestamp()
        assert format_instant(stored.movement.occurred_at) == gap.isoformat()
        with pytest.raises(StockNotIssuableError, match="expired"):
            ledger.post([_issue("I-1", occurred_at=gap)])
        assert Ledger(store).verify().ok

    def test_devices_of_every_agency_are_kept_apart(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """HIBC and MA item keys are stored, filtered and read back like GS1 ones, never mixed.

        The HIBC DI shares the GS1 item's lot text, the MA DI its serial text; each
        device filter finds its own items only, and lot masters stay per device.
        """
        hibc, ma = "HIBCC:A123BJC5D6E71", "MA:MA.156.M0.100350.01004YA10017"
        ledger.post(
            [
                _receipt("R-1", qty=5, expiry="2027-01-31"),
                _receipt("R-2", item=_item("L1", None, hibc), qty=3, expiry="2027-06-30"),
                _receipt("R-3", item=_item(None, "S1", ma), qty=1, to=A2),
                _receipt("R-4", item=_item(None, "S1"), qty=1, to=A2),
            ]
        )
        by_device = {str(p.item): p for p in store.positions(PositionQuery(device=hibc))}
        assert list(by_device) == [f"{hibc} [lot L1]"]
        assert by_device[f"{hibc} [lot L1]"].expiry == pendulum.date(2027, 6, 30)
        assert [str(p.item) for p in store.positions(PositionQuery(device=ma))] == [
            f"{ma} [serial S1]"
        ]
        assert {str(p.item) for p in store.positions(PositionQuery(gtin=GTIN))} == {
            f"(01){GTIN}(10)L1",
            f"(01){GTIN}(21)S1",
        }
        assert len(store.positions(PositionQuery(lot="L1"))) == 2
        assert len(store.positions(PositionQuery(serial="S1"))) == 2
        assert [r.movement.id for r in store.movements(MovementQuery(device=ma))] == ["R-3"]
        assert [r.movement.id for r in store.movements(MovementQuery(device=GTIN))] == [
            "R-1",
            "R-4",
        ]
        lots = store.lot_expiries([(GTIN, "L1"), (hibc, "L1")])
        assert dict(lots) == {
            (GTIN, "L1"): pendulum.date(2027, 1, 31),
            (hibc, "L1"): pendulum.date(2027, 6, 30),
        }
        [stored] = store.movements(MovementQuery(item=_item(None, "S1", ma)))
        assert stored.movement.item == _item(None, "S1", ma)
        assert stored.movement.item != _item(None, "S1")

    # ----------------------------------------------------------------- counterparty, references

    def test_counterparty_and_business_references_round_trip(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """Both come back exactly, hostile reference ids included, and verify() is clean."""
        hostile = (*STRUCTURED_IDS, *HOSTILE_TEXTS[:6])
        receipt = _receipt(
            "R-1",
            counterparty="SUPPLIER:ACME ;'\"",
            business_references=[
                *(BusinessReference(type="desadv", id=text[:100]) for text in hostile),
                BusinessReference(type="po", id="4711", issuer_gln="0614141000012"),
                "po:4711",
            ],
        )
        issue = _issue(
            "I-1", counterparty="PATIENT:P-000123", business_references=["procedure:OP-7"]
        )
        plain = _issue("I-2")
        ledger.post([receipt, issue, plain])
        stored = store.movements_by_id(["R-1", "I-1", "I-2"])
        assert stored["R-1"].movement == receipt and stored["I-1"].movement == issue
        assert stored["R-1"].movement.business_references == receipt.business_references
        assert stored["I-2"].movement.counterparty is None
        assert stored["I-2"].movement.business_references == ()
        assert [r.movement for r in store.movements(MovementQuery())] == [receipt, issue, plain]
        assert Ledger(store).verify().ok

    def test_movements_by_counterparty_and_business_reference(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """movements() filters by counterparty and business reference, with every other filter."""
        icu, cardio = PartyRef(kind="DEPARTMENT", id="ICU"), "DEPARTMENT:CARDIO"
        ledger.post(
            [
                _receipt("R-1", qty=50, business_references=["po:PO-1", "desadv:DN-1"]),
                _receipt("R-2", item=_item("L2"), business_references=["po:PO-1"]),
                _issue("I-1", counterparty=icu, business_references=["requisition:RQ-1"]),
                _issue("I-2", counterparty=cardio),
                _issue("I-3", item=_item("L2"), counterparty=icu),
                _issue(
                    "I-4",
                    counterparty=Party(kind=PartyKind.DEPARTMENT, id="ICU", name="Intensive care"),
                    business_references=[
                        BusinessReference(type="po", id="PO-1", issuer_gln="0614141000012")
                    ],
                ),
            ]
        )

        def ids(**filters: Any) -> list[str]:
            return [r.movement.id for r in store.movements(MovementQuery(**filters))]

        assert ids(counterparty=icu) == ["I-1", "I-3", "I-4"]
        assert ids(counterparty="DEPARTMENT:CARDIO") == ["I-2"]
        assert ids(counterparty="SUPPLIER:ICU") == []
        assert ids(business_reference="po:PO-1") == ["R-1", "R-2", "I-4"]
        assert ids(business_reference="desadv:PO-1") == []
        gln = BusinessReference(type="po", id="PO-1", issuer_gln="0614141000012")
        assert ids(business_reference=gln) == ["I-4"]
        assert ids(counterparty=icu, business_reference="po:PO-1") == ["I-4"]
        assert ids(counterparty=icu, lot="L2") == ["I-3"]
        assert ids(counterparty=icu, item=_item()) == ["I-1", "I-4"]
        assert ids(counterparty=icu, after_position=3, up_to_position=5) == ["I-3"]
        assert ids(business_reference="po:PO-1", up_to_position=1) == ["R-1"]
        assert ids(business_reference="requisition:RQ-1", after_position=3) == []

    def test_counterparty_and_references_decide_idempotency(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """The same id with another counterparty or references is a conflict; reordered is not."""
        ledger.post(
            [
                _receipt(
                    "R-1", counterparty="SUPPLIER:ACME", business_references=["po:1", "desadv:2"]
                )
            ]
        )
        replay = ledger.post(
            [
                _receipt(
                    "R-1",
                    counterparty="SUPPLIER:ACME",
                    business_references=["desadv:2", "po:1", "po:1"],
                )
            ]
        )
        assert replay.replayed == ("R-1",)
        with pytest.raises(IdempotencyConflictError) as err:
            ledger.post(
                [
                    _receipt(
                        "R-1",
                        counterparty="SUPPLIER:OTHER",
                        business_references=["po:1", "desadv:2"],
                    )
                ]
            )
        assert err.value.differences == ("counterparty",)
        with pytest.raises(IdempotencyConflictError) as err:
            ledger.post(
                [_receipt("R-1", counterparty="SUPPLIER:ACME", business_references=["po:1"])]
            )
        assert err.value.differences == ("business_references",)
        with pytest.raises(IdempotencyConflictError) as err:
            ledger.post([_receipt("R-1")])
        assert err.value.differences == ("counterparty", "business_references")
        assert store.head().position == 1

    def test_a_reversal_keeps_the_counterparty_and_references(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """A reversal undoes a movement with that party, for those documents: found by both."""
        ledger.post([_receipt("R-1")])
        issued = ledger.post(
            [_issue("I-1", qty=3, counterparty="CUSTOMER:C-9", business_references=["inv:F-1"])]
        ).movements[0]
        ledger.post([Movement.reversal("I-1-R", of=issued.movement, occurred_at=AT, actor="jm")])
        found = [r.movement for r in store.movements(MovementQuery(counterparty="CUSTOMER:C-9"))]
        assert [m.id for m in found] == ["I-1", "I-1-R"]
        assert found[1].business_references == found[0].business_references
        assert [
            r.movement.id for r in store.movements(MovementQuery(business_reference="inv:F-1"))
        ] == [
            "I-1",
            "I-1-R",
        ]
        assert Ledger(store).verify().ok

    # ----------------------------------------------------------------- a stock controller's queries

    def test_movement_filters_by_example(self, store: LedgerStore) -> None:
        """Kind, actor, occurred-at window, location subtree and reference, one by one."""
        ledger = Ledger(store, clock=lambda: RECORDED)
        ledger.post([
            _receipt("R-1", reference="DN-1", actor="Lea", occurred_at="2026-11-23T08:00:00+01:00"),
            _receipt("R-2", to=ROOM, actor="bob", occurred_at="2026-11-23T07:00:00Z"),
        ])  # fmt: skip
        ledger.post([
            Movement.transfer("T-1", item=_item(), quantity=2, source=A1, to=WARD,
                              occurred_at="2026-11-23T02:00:00-05:00", actor=" LEA"),
            _issue("I-1", reference="PAT-7", occurred_at="2026-11-23T09:00:00+01:00"),
        ])  # fmt: skip

        def ids(**filters: Any) -> list[str]:
            return [r.movement.id for r in store.movements(MovementQuery(**filters))]

        assert ids(kind="RECEIPT") == ["R-1", "R-2"]
        assert ids(kind={"TRANSFER", "ISSUE"}) == ["T-1", "I-1"]
        assert ids(actor="lea") == ["R-1", "T-1"]
        # 07:00Z is 08:00+01:00 and 02:00-05:00: the window is of instants, half-open.
        assert ids(occurred_from="2026-11-23T07:00:00Z", occurred_to="2026-11-23T08:00:00Z") == [
            "R-1",
            "R-2",
            "T-1",
        ]
        assert ids(occurred_to="2026-11-23T07:00:00Z") == []
        assert ids(location="CHU/Store") == ["R-1", "T-1", "I-1"]
        assert ids(location="CHU/Ward 3") == ["T-1"]
        assert ids(location="CHU/Sto") == []
        assert ids(reference="DN-1") == ["R-1"]
        assert ids(reference="PAT-7", kind="ISSUE", gtin=GTIN) == ["I-1"]
        assert ids(actor="LEA", kind="TRANSFER", after_position=3) == []

    def test_movement_filters_match_a_plain_scan(self, store: LedgerStore) -> None:
        """Every filter and combination answers what a plain scan of every movement finds."""
        from hypothesis import HealthCheck, given, settings  # noqa: PLC0415  (testing extra)

        stored = _queries.store_query_ledger(store, _forged_commit)

        @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(filters=_queries.movement_filters())
        def check(filters: dict[str, Any]) -> None:
            query = MovementQuery(**filters)
            found = [r.movement.id for r in store.movements(query)]
            assert found == _queries.expected_movements(stored, filters), filters

        check()

    def test_position_filters_match_a_plain_scan(self, store: LedgerStore) -> None:
        """Expiry window, expiry-less positions, status and location answer like a plain scan."""
        from hypothesis import HealthCheck, given, settings  # noqa: PLC0415  (testing extra)

        _queries.store_query_ledger(store, _forged_commit, size=80)
        every = store.positions(PositionQuery())
        assert any(p.expiry is None for p in every) and any(p.expiry for p in every)

        @settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(filters=_queries.position_filters())
        def check(filters: dict[str, Any]) -> None:
            found = sorted(map(_queries.position_key, store.positions(PositionQuery(**filters))))
            assert found == _queries.expected_positions(every, filters), filters

        check()

    def test_query_filters_that_cannot_match_are_refused(self) -> None:
        """An empty window, an empty set of kinds or a contradiction is a clear error."""
        at = "2026-11-23T08:00:00Z"
        with pytest.raises(InvalidValueError, match="empty occurred-at window"):
            MovementQuery(occurred_from=at, occurred_to=at)
        with pytest.raises(InvalidValueError, match="empty set of kinds"):
            MovementQuery(kind=[])
        with pytest.raises(InvalidValueError, match="invalid movement kind"):
            MovementQuery(kind="DELIVERY")
        with pytest.raises(InvalidValueError, match="blank"):
            MovementQuery(actor="  ")
        with pytest.raises(InvalidValueError, match="empty expiry window"):
            PositionQuery(expires_from="2027-01-01", expires_before="2026-01-01")
        with pytest.raises(InvalidValueError, match="has_expiry=False"):
            PositionQuery(has_expiry=False, expires_before="2027-01-01")

    # ----------------------------------------------------------------- light rows (optional)

    def test_movement_rows_are_the_movements_as_rows(self, store: LedgerStore) -> None:
        """``movement_rows`` (if the store has it) answers what ``movements`` does, as rows."""
        from hypothesis import HealthCheck, given, settings  # noqa: PLC0415  (testing extra)
        from hypothesis import strategies as st  # noqa: PLC0415

        if not isinstance(store, MovementRowReader):
            pytest.skip("the store has no movement_rows (optional: readers fall back)")
        _queries.store_query_ledger(store, _forged_commit)

        @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(
            filters=_queries.movement_filters(),
            keyed=st.sampled_from([{}, {"lot": "L1"}, {"gtin": GTIN}, {"device": GTIN_2}]),
        )
        def check(filters: dict[str, Any], keyed: dict[str, Any]) -> None:
            query = MovementQuery(**{**filters, **keyed})
            rows = list(store.movement_rows(query))
            assert rows == [MovementRow.of(r) for r in store.movements(query)], query
            assert list(movement_rows(store, query)) == rows

        check()

    def test_movement_rows_carry_counterparty_and_reversal(
        self, ledger: Ledger, store: LedgerStore
    ) -> None:
        """A row keeps the counterparty, the reversed id and the recording instant."""
        if not isinstance(store, MovementRowReader):
            pytest.skip("the store has no movement_rows (optional: readers fall back)")
        serial = _item(lot="L1", serial="S-9")
        issue = _issue("I-1", item=serial, counterparty="PATIENT:P-00042")
        ledger.post([_receipt("R-1", item=serial, qty=1, counterparty="SUPPLIER:ACME")])
        ledger.post([issue])
        ledger.post([Movement.reversal("X-1", of=issue, occurred_at=AT, actor="ana")])
        for query in (
            MovementQuery(lot="L1"),
            MovementQuery(serial="S-9", after_position=1),
            MovementQuery(item=serial, up_to_position=2),
            MovementQuery(device=GTIN, occurred_to=issue.occurred_at.add(seconds=1)),
        ):
            rows = list(store.movement_rows(query))
            assert rows == [MovementRow.of(r) for r in store.movements(query)], query
        rows = list(store.movement_rows(MovementQuery(lot="L1")))
        assert [(r.id, r.kind, r.counterparty, r.reverses) for r in rows] == [
            ("R-1", "RECEIPT", "SUPPLIER:ACME", None),
            ("I-1", "ISSUE", "PATIENT:P-00042", None),
            ("X-1", "REVERSAL", "PATIENT:P-00042", "I-1"),
        ]
        assert (rows[1].device, rows[1].lot, rows[1].serial) == (GTIN, "L1", "S-9")
        assert rows[1].from_location == "CHU/Store/A1" and rows[1].to_location is None
        assert rows[1].from_status == "AVAILABLE" and rows[1].quantity == 1
