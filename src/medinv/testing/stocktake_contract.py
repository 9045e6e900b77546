"""The contract every [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.stocktake_contract import StocktakeStoreContract

class TestMyStocktakeStore(StocktakeStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStocktakeStore(tmp_path / "st.db") as store:
            yield store

    @pytest.fixture
    def reopen(self, tmp_path):  # optional: durability across restarts
        return lambda: MyStocktakeStore(tmp_path / "st.db")
```

``store`` gives a fresh, empty store per test. ``reopen``, when overridden, returns
a callable that opens a new store over the same data (a process restart); without
it the durability test is skipped. ``open_database``, for stores that keep the
ledger and the stocktakes in one database, returns a callable that opens it as a
ledger store and that store's stocktakes (as ``SqliteStore(path)`` and
``SqliteStore(path).stocktakes`` do); the tests that post through the ledger
while counting run with it, and are skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102, PLR2004
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from decimal import Decimal

import pendulum
import pytest

from medinv.errors import ConcurrencyError, CountLineError, UnknownStocktakeError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore
from medinv.ports_stocktake import LineLookup, StocktakeStore
from medinv.services import StocktakeService
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    CountSource,
    Stocktake,
    StocktakeScope,
    StocktakeState,
    Tolerance,
    TolerancePolicy,
    variance_report,
)

__all__ = ["StocktakeStoreContract", "sample_lines", "sample_stocktake"]

_TZ = "Europe/Paris"
_GTIN = "04006381333931"
_BIN = Location(("Main", "Store", "A1"))


def _at(hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, minute, tz=_TZ)


def sample_stocktake(stocktake_id: str = "ST-1") -> Stocktake:
    """A planned stocktake with a two-root, product-limited scope and custom tolerances."""
    return Stocktake.plan(
        stocktake_id,
        scope=StocktakeScope(["Main/Store", "Main/Ward 3"], products=[_GTIN, "96385074"]),
        created_by="lea",
        created_at=_at(8),
        blind=True,
        tolerances=TolerancePolicy(
            Tolerance(absolute=1, percent="2.5"), {"96385074": Tolerance(absolute=0, percent=5)}
        ),
    )


def sample_lines() -> list[CountLine]:
    """Three lines using every optional field: a lot with expiry, a serial, a recount."""
    lot = ItemKey(_GTIN, lot="L 1/a")
    return [
        CountLine(
            id="d1-0001",
            counter="ana",
            device="scanner-1",
            counted_at=_at(10, 5),
            location=_BIN,
            item=lot,
            quantity=12,
            expiry="2027-06-30",
            source=CountSource.SCAN,
            raw="]d2010400638133393110L 1/a",
        ),
        CountLine(
            id="d2-0001",
            counter="ben",
            device="scanner-2",
            counted_at=_at(10, 7),
            location=Location(("Main", "Ward 3", "Cab")),
            item=ItemKey(_GTIN, serial="SN-9"),
            quantity=1,
            status=StockStatus.QUARANTINE,
            source=CountSource.MANUAL,
        ),
        CountLine(
            id="d2-0002",
            counter="ben",
            device="scanner-2",
            counted_at=_at(11),
            location=_BIN,
            item=lot,
            quantity=10,
            source=CountSource.CSV,
            recount_of="d1-0001",
        ),
    ]


class StocktakeStoreContract:
    """Pytest mixin: the behaviour every stocktake store shares (override ``store``)."""

    @pytest.fixture
    def store(self) -> Iterator[StocktakeStore]:
        """A fresh, empty store; override in the subclass."""
        raise NotImplementedError

    @pytest.fixture
    def reopen(self) -> Callable[[], StocktakeStore] | None:
        """A callable opening a new store over the same data; ``None``: not durable."""
        return None

    @pytest.fixture
    def open_database(self) -> Callable[[], tuple[LedgerStore, StocktakeStore]] | None:
        """A callable opening the database as its ledger store and that store's stocktakes.

        For stores that keep the ledger and the stocktakes in one database (one
        file, one schema): each call is a process starting over the same data.
        ``None`` (the default): the stocktakes are kept apart, or not durably.
        """
        return None

    # ------------------------------------------------------------------ the port

    def test_satisfies_the_ports(self, store: StocktakeStore) -> None:
        assert isinstance(store, StocktakeStore)
        assert isinstance(store, LineLookup)

    # ------------------------------------------------------------------ header

    def test_create_then_get_round_trips(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        assert store.get("ST-1") == st
        assert store.get("ST-1").tolerances.for_item(ItemKey("96385074")).percent == Decimal(5)
        assert store.get("ST-1").tolerances.for_item(ItemKey(_GTIN)).percent == Decimal("2.5")

    def test_create_twice_is_refused(self, store: StocktakeStore) -> None:
        store.create(sample_stocktake())
        with pytest.raises(ConcurrencyError):
            store.create(sample_stocktake())

    def test_unknown_ids_are_reported(self, store: StocktakeStore) -> None:
        with pytest.raises(UnknownStocktakeError):
            store.get("nope")
        with pytest.raises(UnknownStocktakeError):
            store.lines("nope")
        with pytest.raises(UnknownStocktakeError):
            store.update(sample_stocktake("nope").begin(start_position=0, at=_at(9)))
        with pytest.raises(UnknownStocktakeError):
            store.add_lines("nope", sample_lines(), expected_version=1)

    def test_every_state_round_trips(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        st = st.begin(start_position=17, at=_at(9))
        store.update(st)
        assert store.get(st.id) == st
        lines = sample_lines()
        store.add_lines(st.id, lines, expected_version=st.version)
        st = st.close_counting(at=_at(12))
        store.update(st)
        report = variance_report(
            st, lines, start={(lines[0].item, _BIN, StockStatus.AVAILABLE): 11}
        )
        st = st.approve(report, approver="max", at=_at(13), default_reason="COUNT")
        store.update(st, lines_seen=3)
        stored = store.get(st.id)
        assert stored == st
        assert stored.state is StocktakeState.APPROVED
        assert stored.movements() == st.movements()
        assert {a.change for a in stored.adjustments} == {-1, 1}
        st = st.begin_posting()
        store.update(st)
        assert store.get(st.id) == st
        assert [s.id for s in store.stocktakes(state=StocktakeState.POSTING)] == [st.id]
        st = st.mark_posted(at=_at(14))
        store.update(st)
        assert store.get(st.id) == st

    def test_posting_and_cancelling_cannot_both_win(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        st = st.begin(start_position=1, at=_at(9))
        store.update(st)
        st = st.close_counting(at=_at(12))
        store.update(st)
        approved = st.approve(variance_report(st, [], start={}), approver="max", at=_at(13))
        store.update(approved)
        store.update(approved.begin_posting())
        with pytest.raises(ConcurrencyError):
            store.update(approved.cancel(by="lea", reason="too late"))
        assert store.get(st.id).state is StocktakeState.POSTING

    def test_lines_by_id_reads_only_the_lines_asked_for(self, store: StocktakeStore) -> None:
        lookup = getattr(store, "lines_by_id", None)
        if lookup is None:
            pytest.skip("this store has no LineLookup capability")
        store.create(sample_stocktake())
        lines = sample_lines()
        store.add_lines("ST-1", lines, expected_version=1)
        assert lookup("ST-1", {lines[2].id, "absent"}) == {lines[2].id: lines[2]}
        assert lookup("ST-1", []) == {}
        with pytest.raises(UnknownStocktakeError):
            lookup("nope", [lines[0].id])

    def test_cancelled_round_trips(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        st = st.cancel(by="lea", reason="wrong scope")
        store.update(st)
        assert store.get(st.id) == st

    def test_stale_update_is_refused_and_writes_nothing(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        counting = st.begin(start_position=3, at=_at(9))
        store.update(counting)
        with pytest.raises(ConcurrencyError):
            store.update(st.cancel(by="lea", reason="late"))
        with pytest.raises(ConcurrencyError):
            store.update(counting)
        assert store.get(st.id) == counting

    def test_update_with_lines_seen_detects_new_lines(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        st = st.begin(start_position=3, at=_at(9))
        store.update(st)
        store.add_lines(st.id, sample_lines()[:1], expected_version=st.version)
        closed = st.close_counting(at=_at(12))
        with pytest.raises(ConcurrencyError):
            store.update(closed, lines_seen=0)
        store.update(closed, lines_seen=1)
        assert store.get(st.id).state is StocktakeState.REVIEW

    def test_listing_by_state(self, store: StocktakeStore) -> None:
        for name in ("ST-2", "ST-1"):
            store.create(sample_stocktake(name))
        begun = store.get("ST-2").begin(start_position=0, at=_at(9))
        store.update(begun)
        assert [s.id for s in store.stocktakes()] == ["ST-1", "ST-2"]
        assert [s.id for s in store.stocktakes(state=StocktakeState.COUNTING)] == ["ST-2"]
        assert store.stocktakes(state=StocktakeState.POSTED) == []

    # ------------------------------------------------------------------ lines

    def test_lines_round_trip_in_order(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        lines = sample_lines()
        store.add_lines(st.id, lines[:2], expected_version=1)
        store.add_lines(st.id, lines[2:], expected_version=1)
        assert store.lines(st.id) == lines
        assert store.lines(st.id)[0].counted_at.utcoffset() is not None

    def test_lines_are_per_stocktake(self, store: StocktakeStore) -> None:
        store.create(sample_stocktake("ST-1"))
        store.create(sample_stocktake("ST-2"))
        store.add_lines("ST-1", sample_lines(), expected_version=1)
        assert store.lines("ST-2") == []
        store.add_lines("ST-2", sample_lines()[:1], expected_version=1)
        assert len(store.lines("ST-1")) == 3
        assert store.lines("ST-2") == sample_lines()[:1]

    def test_resent_lines_are_skipped(self, store: StocktakeStore) -> None:
        store.create(sample_stocktake())
        lines = sample_lines()
        store.add_lines("ST-1", lines[:2], expected_version=1)
        store.add_lines("ST-1", [lines[1], lines[2], lines[2]], expected_version=1)
        assert store.lines("ST-1") == lines

    def test_conflicting_line_id_writes_nothing(self, store: StocktakeStore) -> None:
        store.create(sample_stocktake())
        lines = sample_lines()
        store.add_lines("ST-1", lines[:1], expected_version=1)
        clash = CountLine(
            id=lines[0].id,
            counter="zoe",
            device="d9",
            counted_at=_at(12),
            location=_BIN,
            item=lines[0].item,
            quantity=3,
        )
        with pytest.raises(CountLineError):
            store.add_lines("ST-1", [lines[1], clash], expected_version=1)
        assert store.lines("ST-1") == lines[:1]

    def test_lines_against_a_changed_stocktake_are_refused(self, store: StocktakeStore) -> None:
        st = sample_stocktake()
        store.create(st)
        store.update(st.begin(start_position=0, at=_at(9)))
        with pytest.raises(ConcurrencyError):
            store.add_lines(st.id, sample_lines(), expected_version=1)
        assert store.lines(st.id) == []

    # ------------------------------------------------------------------ durability

    def test_a_restart_mid_count_loses_no_line(
        self, store: StocktakeStore, reopen: Callable[[], StocktakeStore] | None
    ) -> None:
        if reopen is None:
            pytest.skip("this store is not durable (no reopen fixture)")
        st = sample_stocktake().begin(start_position=5, at=_at(9))
        store.create(sample_stocktake())
        store.update(st)
        lines = sample_lines()
        store.add_lines(st.id, lines[:2], expected_version=st.version)
        store.close()
        again = reopen()
        try:
            assert again.get(st.id) == st
            assert again.lines(st.id) == lines[:2]
            again.add_lines(st.id, lines[2:], expected_version=st.version)
            assert again.lines(st.id) == lines
        finally:
            again.close()

    # ------------------------------------------------------------------ one database

    @pytest.mark.parametrize("stocktakes_first", [True, False])
    def test_one_database_holds_ledger_and_stocktakes_in_either_order(
        self,
        open_database: Callable[[], tuple[LedgerStore, StocktakeStore]] | None,
        stocktakes_first: bool,  # noqa: FBT001  (a pytest parameter)
    ) -> None:
        if open_database is None:
            pytest.skip("this store keeps no ledger beside its stocktakes")

        def write_ledger() -> None:
            with _opened(open_database) as (ledger_store, _stocktakes):
                Ledger(ledger_store).post([_receipt()])

        def write_stocktake() -> None:
            with _opened(open_database) as (_ledger_store, stocktakes):
                stocktakes.create(sample_stocktake())

        steps = (
            (write_stocktake, write_ledger) if stocktakes_first else (write_ledger, write_stocktake)
        )
        for step in steps:
            step()
        with _opened(open_database) as (ledger_store, stocktakes):
            ledger = Ledger(ledger_store)
            assert ledger.balance(gtin=_GTIN) == 10
            assert stocktakes.get("ST-1") == sample_stocktake()
            assert ledger.verify().ok

    def test_a_restart_mid_count_loses_nothing_of_ledger_or_stocktake(
        self, open_database: Callable[[], tuple[LedgerStore, StocktakeStore]] | None
    ) -> None:
        """A counting process stops mid-count; the next one finishes and posts the stocktake."""
        if open_database is None:
            pytest.skip("this store keeps no ledger beside its stocktakes")
        item = ItemKey(_GTIN, lot="L1")
        with _opened(open_database) as (ledger_store, stocktakes):
            service = StocktakeService(Ledger(ledger_store), stocktakes)
            Ledger(ledger_store).post([_receipt()])
            service.plan("ST-1", scope=StocktakeScope("Main"), created_by="lea", at=_at(8))
            service.begin("ST-1", at=_at(9))
            line = CountLine(
                id="d1-1", counter="ana", device="d1", counted_at=_at(10), location=_BIN,
                item=item, quantity=9,
            )  # fmt: skip
            service.add_lines("ST-1", [line])
        # The process stops mid-count; another one opens the database.
        with _opened(open_database) as (ledger_store, stocktakes):
            service = StocktakeService(Ledger(ledger_store), stocktakes)
            assert service.store.lines("ST-1") == [line]
            assert service.add_lines("ST-1", [line]) == []  # the device re-sends: nothing new
            recount = CountLine(
                id="d2-1", counter="bob", device="d2", counted_at=_at(11), location=_BIN,
                item=item, quantity=9, recount_of="d1-1",
            )  # fmt: skip
            service.add_lines("ST-1", [recount])
            service.close_counting("ST-1", at=_at(12))
            service.approve("ST-1", approver="max", at=_at(13), default_reason="COUNT")
            service.post("ST-1", at=_at(14))
            service.post("ST-1", at=_at(15))  # posting again posts nothing twice
            assert Ledger(ledger_store).balance(item, location=_BIN) == 9
            assert Ledger(ledger_store).verify().ok


@contextlib.contextmanager
def _opened(
    open_database: Callable[[], tuple[LedgerStore, StocktakeStore]],
) -> Iterator[tuple[LedgerStore, StocktakeStore]]:
    ledger_store, stocktakes = open_database()
    try:
        yield ledger_store, stocktakes
    finally:
        stocktakes.close()
        ledger_store.close()


def _receipt() -> Movement:
    return Movement.receipt(
        "r1",
        item=ItemKey(_GTIN, lot="L1"),
        quantity=10,
        to=_BIN,
        occurred_at=_at(7),
        actor="dock",
    )
