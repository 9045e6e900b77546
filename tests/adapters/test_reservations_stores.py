"""The reservation contract suite on every store, and writers racing for the last units."""

from __future__ import annotations

import threading

import pendulum
import pytest

from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.allocation import AllocationRequest, Reservation
from medinv.errors import StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import ReservationConflictError
from medinv.services import index_from_ledger
from medinv.testing.reservation_contract import ReservationStoreContract

from ._store_fixtures import MemoryStores, PostgresStores, SqliteStores


class TestMemoryReservations(MemoryStores, ReservationStoreContract):
    pass


class TestSqliteReservations(SqliteStores, ReservationStoreContract):
    pass


@pytest.mark.postgres
class TestPostgresReservations(PostgresStores, ReservationStoreContract):
    pass


NOW = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
LAST = ItemKey("04006381333931", lot="LAST")


def _race_for_the_last_units(open_store, racers: int = 4) -> None:
    """``racers`` stores over one database reserve the same 3 last units at once."""
    with open_store() as store:
        ledger = Ledger(store, clock=lambda: NOW)
        ledger.post(
            [
                Movement.receipt(
                    "r1",
                    item=LAST,
                    quantity=3,
                    to=Location.parse("H/Store"),
                    occurred_at=NOW,
                    actor="goods-in",
                )
            ]
        )
        plan = index_from_ledger(ledger).allocate(
            AllocationRequest.of(LAST.gtin, 3, use_date=NOW.date())
        )
    results: list[str] = []
    barrier = threading.Barrier(racers)

    def reserve(number: int) -> None:
        reservation = Reservation(id=f"R{number}", plan=plan, expires_at=NOW.add(hours=1))
        with open_store() as store:
            barrier.wait()
            try:
                store.reservations.reserve(reservation, as_of=NOW)
                results.append("reserved")
            except ReservationConflictError:
                results.append("refused")

    threads = [threading.Thread(target=reserve, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused"] * (racers - 1) + ["reserved"]
    with open_store() as store:
        [winner] = store.reservations.active(as_of=NOW)
        assert store.reservations.held([LAST], as_of=NOW) == {(LAST, Location.parse("H/Store")): 3}
        assert winner.plan == plan


def test_sqlite_writers_racing_for_the_last_units_reserve_them_once(tmp_path) -> None:
    _race_for_the_last_units(lambda: SqliteStore(tmp_path / "race.sqlite3"))


@pytest.mark.postgres
def test_postgresql_writers_racing_for_the_last_units_reserve_them_once(
    postgres_dsn, postgres_schema
) -> None:
    PostgresStore(postgres_dsn, schema=postgres_schema).close()
    _race_for_the_last_units(lambda: PostgresStore(postgres_dsn, schema=postgres_schema))


@pytest.mark.parametrize(
    "data", ["not json", '{"format": 99}', '{"format": 1, "id": "R1"}'], ids=str
)
def test_a_corrupt_stored_reservation_is_reported_not_guessed(tmp_path, data) -> None:
    with SqliteStore(tmp_path / "corrupt.sqlite3") as store:
        store._db.execute(
            "INSERT INTO reservations (id, expires_at, data) VALUES ('R1', ?, ?)",
            ("2999-01-01T00:00:00.000000+00:00", data),
        )
        with pytest.raises(StorageError, match="corrupt reservation 'R1' in the SQLite file"):
            store.reservations.get("R1")
        with pytest.raises(StorageError, match="corrupt reservation"):
            store.reservations.active()


def test_reservation_store_reprs_name_their_store(tmp_path) -> None:
    with SqliteStore(tmp_path / "r.sqlite3") as store:
        assert repr(store.reservations).endswith(".reservations")
        assert repr(store.catalogue).endswith(".catalogue")
        assert store.reservations.where == f"the SQLite file {store.path!r}"
