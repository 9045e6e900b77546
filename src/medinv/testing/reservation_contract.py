"""The contract every [`ReservationStore`][medinv.ports.ReservationStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.reservation_contract import ReservationStoreContract

class TestMyReservations(ReservationStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability, one database
        return lambda: MyStore(tmp_path / "medinv.db")
```

``store`` gives a fresh, empty store per test: a ledger store with
``.reservations`` (the reservations hold units of the ledger's balances).
``open_database``, when overridden, returns a callable that opens the whole store
over the same database each time it is called (another process, or a restart);
the tests of durability and of two stores sharing one database run with it, and
are skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.allocation import AllocationRequest, FefoIndex, Plan, Reservation
from medinv.errors import InvalidValueError, StalePlanError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import ReservationConflictError, ReservationStore
from medinv.services import index_from_ledger
from medinv.status import StockStatus

__all__ = ["ReservationStoreContract"]

GTIN = "04006381333931"
SHELF, CABINET = Location.parse("H/Store/A1"), Location.parse("H/Ward/Cabinet")
LOT_A, LOT_B = ItemKey(GTIN, lot="A"), ItemKey(GTIN, lot="B")
NOW = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
LATER = NOW.add(hours=1)
USE = pendulum.date(2026, 11, 23)

_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[
        # One store serves every example (a fresh database per example is too slow);
        # each example releases what it reserved.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def _receive(ledger: Ledger, mid: str, item: ItemKey, quantity: int, to: Location) -> None:
    ledger.post(
        [
            Movement.receipt(
                mid,
                item=item,
                quantity=quantity,
                to=to,
                occurred_at=NOW.subtract(days=7),
                actor="goods-in",
                expiry=pendulum.date(2027, 6, 30) if item.lot == LOT_A.lot else None,
            )
        ]
    )


def _stocked(store: Any) -> Ledger:
    """5 of lot A on the shelf, 3 of lot B in the cabinet."""
    ledger = Ledger(store, clock=lambda: NOW)
    _receive(ledger, "r-a", LOT_A, 5, SHELF)
    _receive(ledger, "r-b", LOT_B, 3, CABINET)
    return ledger


def _plan(ledger: Ledger, quantity: int, **options: Any) -> Plan:
    index = index_from_ledger(ledger)
    return index.allocate(AllocationRequest.of(GTIN, quantity, use_date=USE, **options))


def _reservation(rid: str, plan: Plan, expires_at: pendulum.DateTime | None = LATER) -> Reservation:
    return Reservation(id=rid, plan=plan, expires_at=expires_at)


class ReservationStoreContract:
    """Pytest mixin: the behaviour every reservation store shares (override ``store``)."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        """A fresh, empty ledger store with ``.reservations``; override in the subclass."""
        raise NotImplementedError

    @pytest.fixture
    def open_database(self) -> Callable[[], Any] | None:
        """A callable opening the whole store over the same database; ``None``: not durable."""
        return None

    # ------------------------------------------------------------------ the port

    def test_satisfies_the_port(self, store: Any) -> None:
        assert isinstance(store.reservations, ReservationStore)

    def test_an_empty_store_holds_nothing(self, store: Any) -> None:
        reservations = store.reservations
        assert reservations.active(as_of=NOW) == []
        assert reservations.get("R1", as_of=NOW) is None
        assert reservations.held([LOT_A], as_of=NOW) == {}
        assert reservations.release("R1") is None
        assert reservations.purge(as_of=NOW) == 0

    def test_a_reservation_reads_back_equal_and_holds_its_units(self, store: Any) -> None:
        ledger = _stocked(store)
        plan = _plan(ledger, 7)  # 5 of A on the shelf, 2 of B in the cabinet
        reservation = _reservation("order 1/line 'A'; é", plan)
        assert store.reservations.reserve(reservation, as_of=NOW) is True
        assert store.reservations.get(reservation.id, as_of=NOW) == reservation
        assert store.reservations.active(as_of=NOW) == [reservation]
        assert store.reservations.held([LOT_A, LOT_B, ItemKey(GTIN)], as_of=NOW) == {
            (LOT_A, SHELF): 5,
            (LOT_B, CABINET): 2,
        }

    def test_every_plan_field_round_trips(self, store: Any) -> None:
        ledger = _stocked(store)
        index = index_from_ledger(ledger)
        plans = [
            index.allocate(AllocationRequest.of(GTIN, 9, use_date=USE), explain=True),
            index.allocate(
                AllocationRequest.manual(
                    GTIN, 2, lots=["B"], use_date=USE, location=Location.parse("H/Ward")
                )
            ),
            index.allocate(
                AllocationRequest.of(GTIN, 2, use_date=USE, min_shelf_life_days=30),
                explain=True,
            ),
        ]
        for number, plan in enumerate(plans):
            reservation = _reservation(f"R{number}", plan, LATER.add(microseconds=number))
            assert store.reservations.reserve(reservation, as_of=NOW)
            assert store.reservations.get(reservation.id, as_of=NOW) == reservation
            store.reservations.release(reservation.id)

    def test_reserving_the_same_reservation_again_changes_nothing(self, store: Any) -> None:
        reservation = _reservation("R1", _plan(_stocked(store), 3))
        assert store.reservations.reserve(reservation, as_of=NOW) is True
        assert store.reservations.reserve(reservation, as_of=NOW) is False
        assert store.reservations.held([LOT_A], as_of=NOW) == {(LOT_A, SHELF): 3}

    def test_an_id_in_force_is_not_given_to_another_reservation(self, store: Any) -> None:
        ledger = _stocked(store)
        store.reservations.reserve(_reservation("R1", _plan(ledger, 1)), as_of=NOW)
        with pytest.raises(InvalidValueError, match="already in use"):
            store.reservations.reserve(_reservation("R1", _plan(ledger, 2)), as_of=NOW)
        assert store.reservations.held([LOT_A], as_of=NOW) == {(LOT_A, SHELF): 1}

    @pytest.mark.parametrize(
        "expires_at",
        [None, NOW, NOW.subtract(seconds=1)],
        ids=["no expiry", "expires now", "expired"],
    )
    def test_a_reservation_needs_an_expiry_after_now(
        self, store: Any, expires_at: pendulum.DateTime | None
    ) -> None:
        plan = _plan(_stocked(store), 1)
        with pytest.raises(InvalidValueError, match="expire"):
            store.reservations.reserve(_reservation("R1", plan, expires_at), as_of=NOW)
        assert store.reservations.active(as_of=NOW.subtract(days=1)) == []

    @pytest.mark.parametrize("bad", [None, "R1", 3])
    def test_what_is_not_a_reservation_is_refused(self, store: Any, bad: object) -> None:
        with pytest.raises(InvalidValueError):
            store.reservations.reserve(bad, as_of=NOW)

    @pytest.mark.parametrize("bad", ["", "  ", None, 7])
    def test_blank_or_non_text_ids_are_refused(self, store: Any, bad: object) -> None:
        with pytest.raises(InvalidValueError, match="reservation id"):
            store.reservations.get(bad)
        with pytest.raises(InvalidValueError, match="reservation id"):
            store.reservations.release(bad)

    def test_held_takes_item_keys(self, store: Any) -> None:
        with pytest.raises(InvalidValueError, match="ItemKey"):
            store.reservations.held([GTIN], as_of=NOW)

    def test_a_moment_without_a_time_zone_is_refused(self, store: Any) -> None:
        with pytest.raises(InvalidValueError):
            store.reservations.active(as_of="2026-11-23T09:00:00")

    def test_a_closed_store_refuses_with_a_storage_error(self, store: Any) -> None:
        plan = _plan(_stocked(store), 1)
        store.reservations.close()
        with pytest.raises(StorageError):
            store.reservations.active(as_of=NOW)
        with pytest.raises(StorageError):
            store.reservations.reserve(_reservation("R1", plan), as_of=NOW)

    # ------------------------------------------------------------------ never over-reserved

    def test_units_reserved_by_another_are_not_reserved_twice(self, store: Any) -> None:
        ledger = _stocked(store)
        plan = _plan(ledger, 4)
        store.reservations.reserve(_reservation("R1", plan), as_of=NOW)
        with pytest.raises(ReservationConflictError, match="only 1 AVAILABLE") as refused:
            store.reservations.reserve(_reservation("R2", plan), as_of=NOW)
        assert isinstance(refused.value, StalePlanError)
        assert refused.value.reservation_id == "R2"
        assert [r.id for r in store.reservations.active(as_of=NOW)] == ["R1"]
        # What is left is still free.
        assert store.reservations.reserve(_reservation("R3", _plan(ledger, 1)), as_of=NOW)
        assert store.reservations.held([LOT_A], as_of=NOW) == {(LOT_A, SHELF): 5}

    def test_stock_that_moved_since_the_plan_cannot_be_reserved(self, store: Any) -> None:
        ledger = _stocked(store)
        plan = _plan(ledger, 5)
        ledger.post(
            [
                Movement.status_change(
                    "hold-1",
                    item=LOT_A,
                    quantity=1,
                    at=SHELF,
                    from_status=StockStatus.AVAILABLE,
                    to_status=StockStatus.HOLD,
                    occurred_at=NOW,
                    actor="quality",
                )
            ]
        )
        with pytest.raises(ReservationConflictError) as refused:
            store.reservations.reserve(_reservation("R1", plan), as_of=NOW)
        assert (refused.value.planned_at, refused.value.current) == (2, 3)
        assert store.reservations.active(as_of=NOW) == []

    # ------------------------------------------------------------------ expiry

    def test_an_expired_reservation_holds_nothing_and_gives_its_id_back(self, store: Any) -> None:
        ledger = _stocked(store)
        first = _reservation("R1", _plan(ledger, 5))
        store.reservations.reserve(first, as_of=NOW)
        assert store.reservations.get("R1", as_of=LATER.subtract(microseconds=1)) == first
        assert store.reservations.get("R1", as_of=LATER) is None
        assert store.reservations.active(as_of=LATER) == []
        assert store.reservations.held([LOT_A], as_of=LATER) == {}
        again = _reservation("R1", _plan(ledger, 5), LATER.add(hours=1))
        assert store.reservations.reserve(again, as_of=LATER)
        assert store.reservations.get("R1", as_of=LATER) == again

    def test_a_refused_reserve_leaves_the_expired_one_of_its_id(self, store: Any) -> None:
        # Hypothesis found it on the memory store: the refused reserve had already
        # removed the expired reservation whose id it reused.
        ledger = _stocked(store)
        first = _reservation("R1", _plan(ledger, 1))
        store.reservations.reserve(first, as_of=NOW)
        taken = _reservation("R2", _plan(ledger, 5), LATER.add(hours=1))
        assert store.reservations.reserve(taken, as_of=LATER)  # R1 expired: all 5 of lot A
        again = _reservation("R1", _plan(ledger, 1), LATER.add(hours=1))
        with pytest.raises(ReservationConflictError):
            store.reservations.reserve(again, as_of=LATER)
        assert store.reservations.purge(as_of=LATER) == 1  # the expired R1, still there
        assert store.reservations.release("R1") is None

    def test_purge_removes_only_the_expired(self, store: Any) -> None:
        ledger = _stocked(store)
        store.reservations.reserve(_reservation("R1", _plan(ledger, 1)), as_of=NOW)
        store.reservations.reserve(
            _reservation("R2", _plan(ledger, 1), LATER.add(hours=1)), as_of=NOW
        )
        assert store.reservations.purge(as_of=NOW) == 0
        assert store.reservations.purge(as_of=LATER) == 1
        assert store.reservations.release("R1") is None  # gone for good
        assert [r.id for r in store.reservations.active(as_of=NOW)] == ["R2"]
        assert store.reservations.held([LOT_A], as_of=NOW) == {(LOT_A, SHELF): 1}

    def test_without_as_of_the_moment_is_now(self, store: Any) -> None:
        ledger = _stocked(store)
        now = pendulum.now("UTC")
        plan = _plan(ledger, 1)
        store.reservations.reserve(_reservation("soon", plan, now.add(hours=1)))
        store.reservations.reserve(
            _reservation("past", plan, now.subtract(hours=1)), as_of=now.subtract(hours=2)
        )
        assert [r.id for r in store.reservations.active()] == ["soon"]
        assert store.reservations.get("soon") is not None
        assert store.reservations.get("past") is None
        assert store.reservations.purge() == 1

    # ------------------------------------------------------------------ release

    def test_release_frees_the_units(self, store: Any) -> None:
        ledger = _stocked(store)
        plan = _plan(ledger, 5)
        reservation = _reservation("R1", plan)
        store.reservations.reserve(reservation, as_of=NOW)
        assert store.reservations.release("R1") == reservation
        assert store.reservations.release("R1") is None
        assert store.reservations.held([LOT_A], as_of=NOW) == {}
        assert store.reservations.reserve(_reservation("R2", plan), as_of=NOW)

    # ------------------------------------------------------------------ a model

    @_SETTINGS
    @given(
        steps=st.lists(
            st.tuples(
                st.sampled_from(("reserve", "release", "purge")),
                st.integers(0, 3),  # reservation id
                st.integers(1, 8),  # units
                st.integers(0, 2),  # minutes after the step before (time never goes back)
                st.integers(1, 5),  # minutes the reservation lasts
            ),
            max_size=12,
        )
    )
    def test_the_store_answers_as_a_model_and_never_over_reserves(
        self, store: Any, steps: list[tuple[str, int, int, int, int]]
    ) -> None:
        if store.head().position == 0:
            _stocked(store)
        ledger = Ledger(store, clock=lambda: NOW)
        index = FefoIndex.from_positions(ledger.positions())
        balance = {(p.item, p.location): p.quantity for p in ledger.positions()}
        model: dict[str, Reservation] = {}
        reservations = store.reservations
        moment = NOW
        try:
            for action, number, units, minutes, lasts in steps:
                rid, moment = f"M{number}", moment.add(minutes=minutes)
                in_force = {k: r for k, r in model.items() if r.expires_at > moment}  # type: ignore[operator]
                if action == "reserve":
                    plan = index.allocate(AllocationRequest.of(GTIN, units, use_date=USE))
                    reservation = _reservation(rid, plan, moment.add(minutes=lasts))
                    held = _held(in_force.values(), exclude=rid)
                    fits = all(
                        held.get(key, 0) + units_ <= balance[key]
                        for key, units_ in _held([reservation]).items()
                    )
                    if rid in in_force and in_force[rid] != reservation:
                        with pytest.raises(InvalidValueError):
                            reservations.reserve(reservation, as_of=moment)
                    elif rid in in_force:
                        assert reservations.reserve(reservation, as_of=moment) is False
                    elif fits:
                        assert reservations.reserve(reservation, as_of=moment) is True
                        model[rid] = reservation
                    else:
                        with pytest.raises(ReservationConflictError):
                            reservations.reserve(reservation, as_of=moment)
                elif action == "release":
                    assert reservations.release(rid) == model.pop(rid, None)
                else:
                    expired = [k for k, r in model.items() if r.expires_at <= moment]  # type: ignore[operator]
                    assert reservations.purge(as_of=moment) == len(expired)
                    for k in expired:
                        del model[k]
                in_force = {k: r for k, r in model.items() if r.expires_at > moment}  # type: ignore[operator]
                assert reservations.active(as_of=moment) == [in_force[k] for k in sorted(in_force)]
                held = reservations.held([LOT_A, LOT_B], as_of=moment)
                assert held == _held(in_force.values())
                assert all(units <= balance[key] for key, units in held.items())
        finally:
            for rid in list(model):
                reservations.release(rid)

    # ------------------------------------------------------------------ one database

    def test_reservations_outlive_the_store_object(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("this store is not durable (no open_database fixture)")
        with contextlib.closing(open_database()) as store:
            reservation = _reservation("R1", _plan(_stocked(store), 4))
            store.reservations.reserve(reservation, as_of=NOW)
        with contextlib.closing(open_database()) as store:
            assert store.reservations.active(as_of=NOW) == [reservation]

    def test_two_stores_on_one_database_see_each_others_reservations(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("no open_database fixture")
        with (
            contextlib.closing(open_database()) as first,
            contextlib.closing(open_database()) as second,
        ):
            plan = _plan(_stocked(first), 4)
            first.reservations.reserve(_reservation("R1", plan), as_of=NOW)
            assert [r.id for r in second.reservations.active(as_of=NOW)] == ["R1"]
            with pytest.raises(ReservationConflictError):
                second.reservations.reserve(_reservation("R2", plan), as_of=NOW)
            second.reservations.release("R1")
            assert first.reservations.active(as_of=NOW) == []
            assert second.reservations.reserve(_reservation("R2", plan), as_of=NOW)


def _held(reservations: Any, *, exclude: str | None = None) -> dict[tuple[ItemKey, Location], int]:
    held: dict[tuple[ItemKey, Location], int] = {}
    for reservation in reservations:
        if reservation.id == exclude:
            continue
        for pick in reservation.plan.picks:
            key = (pick.item, pick.location)
            held[key] = held.get(key, 0) + pick.quantity
    return held
