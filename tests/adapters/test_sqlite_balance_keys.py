"""Schema 17: the SQLite balance projection keyed by one packed integer.

A balance's key is ``item_no << 32 | location_no << 4 | status code``; the store's
queries read an item's balances as one range of it. A file of schema 16 migrates
to exactly the schema of a new file, with the same answers.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.sqlite import SCHEMA_VERSION, SqliteStore
from medinv.adapters.sqlite._schema import ITEM_LIMIT, LOCATION_LIMIT, STATUS_CODES
from medinv.adapters.sqlite._sql import BALANCE_STATUS, ITEM_BALANCES, UPSERT_BALANCE
from medinv.errors import StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import PositionQuery
from medinv.status import StockStatus

from ._sqlite_files import balances_as_in_schema_16, schema_of

CLOCK = pendulum.datetime(2026, 12, 4, 8, tz="UTC")
AT = "2026-12-04T09:00:00+01:00"
GTIN = "04006381333931"
LOT_A, LOT_B = ItemKey(GTIN, lot="A1"), ItemKey(GTIN, lot="B2")
PLAIN = ItemKey("00614141000418")
UNIT = ItemKey(GTIN, serial="SN-1")
STORE, WARD, VAULT = (Location.parse(p) for p in ("CHU/Store/A1", "CHU/Ward/3", "CHU/Vault"))
AV, QU, HOLD = StockStatus.AVAILABLE, StockStatus.QUARANTINE, StockStatus.HOLD
QUERIES = (
    PositionQuery(),
    PositionQuery(item=LOT_A),
    PositionQuery(gtin=GTIN),
    PositionQuery(lot="B2"),
    PositionQuery(serial="SN-1"),
    PositionQuery(location="CHU/Ward"),
    PositionQuery(location="CHU", status=HOLD),
    PositionQuery(status=QU),
    PositionQuery(expires_before="2027-06-01"),
    PositionQuery(has_expiry=False),
)


def post_history(ledger: Ledger) -> None:
    """Balances in three statuses at three places, one emptied, four items."""
    rec = Movement.receipt
    ledger.post(
        [
            rec("R-1", item=LOT_A, quantity=30, to=STORE, occurred_at=AT, actor="jm", expiry="2027-03-31"),
            rec("R-2", item=LOT_B, quantity=12, to=STORE, occurred_at=AT, actor="jm", expiry="2028-01-31"),
            rec("R-3", item=PLAIN, quantity=5, to=VAULT, occurred_at=AT, actor="jm"),
            rec("R-4", item=UNIT, quantity=1, to=VAULT, occurred_at=AT, actor="jm", status=QU),
            Movement.transfer("T-1", item=LOT_A, quantity=10, source=STORE, to=WARD, occurred_at=AT, actor="jm"),
            Movement.status_change(
                "S-1", item=LOT_A, quantity=4, at=WARD, from_status=AV, to_status=HOLD,
                occurred_at=AT, actor="qa",
            ),
            Movement.issue("I-1", item=LOT_B, quantity=12, source=STORE, occurred_at=AT, actor="jm"),
        ]
    )  # fmt: skip


def answers(store: SqliteStore) -> list[object]:
    items = [LOT_A, LOT_B, PLAIN, UNIT]
    key = str
    return [
        sorted(map(key, store.balances_snapshot())),
        sorted(map(key, store.balances_of(items).items())),
        *(sorted(map(key, store.positions(query))) for query in QUERIES),
    ]


@pytest.fixture
def fresh_schema(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "fresh.sqlite3"
    SqliteStore(path).close()
    return schema_of(path)


def test_a_version_16_file_migrates_to_the_fresh_schema_with_the_same_answers(
    tmp_path: Path, fresh_schema: dict[str, object]
) -> None:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        post_history(ledger)
        before = answers(store)
        assert store._db.execute("SELECT count(*) FROM balances").fetchone() == (5,)
        balances_as_in_schema_16(store._db)
        store._db.execute("PRAGMA user_version = 16")
        # Schema 16 kept the status as text in a key of three columns.
        assert store._db.execute(
            "SELECT item_no, status FROM balances ORDER BY 1, 2 LIMIT 1"
        ).fetchone() == (1, "AVAILABLE")
    with SqliteStore(path) as migrated:
        assert migrated.schema_version == SCHEMA_VERSION == 17
        assert answers(migrated) == before
        assert before[0]  # the comparison compares something
        ledger = Ledger(migrated, clock=lambda: CLOCK)
        assert ledger.verify().ok
        # Posting goes on from the migrated balances.
        ledger.post(
            [
                Movement.issue(
                    "I-2", item=LOT_A, quantity=20, source=STORE, occurred_at=AT, actor="jm"
                )
            ]
        )
        assert migrated.balances_of([LOT_A]) == {(LOT_A, WARD, AV): 6, (LOT_A, WARD, HOLD): 4}
        assert ledger.verify().ok
    migrated_schema = schema_of(path)
    assert {k: v for k, v in migrated_schema.items() if k != "head"} == {
        k: v for k, v in fresh_schema.items() if k != "head"
    }


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE balances SET status = 'LOST' WHERE status = 'HOLD'",
        f"UPDATE balances SET location_no = {LOCATION_LIMIT} WHERE status = 'HOLD'",  # noqa: S608
        f"UPDATE balances SET item_no = {ITEM_LIMIT} WHERE status = 'HOLD'",  # noqa: S608
    ],
)
def test_a_balance_that_no_key_can_hold_stops_the_migration(tmp_path: Path, edit: str) -> None:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        post_history(Ledger(store, clock=lambda: CLOCK))
        balances_as_in_schema_16(store._db)
        store._db.execute(edit)
        store._db.execute("PRAGMA user_version = 16")
    with pytest.raises(StorageError, match="does not fit a balance key"):
        SqliteStore(path)
    db = sqlite3.connect(path)
    try:  # nothing changed: still schema 16, its balance table intact
        assert db.execute("PRAGMA user_version").fetchone() == (16,)
        assert db.execute("SELECT count(*) FROM balances").fetchone() == (5,)
    finally:
        db.close()


def test_a_location_number_beyond_the_key_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    with SqliteStore(tmp_path / "ledger.sqlite3") as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        post_history(ledger)
        # The next location gets the number after the greatest one.
        store._db.execute(
            "INSERT INTO locations (location_no, path) VALUES (?, 'CHU/Far')", (LOCATION_LIMIT - 1,)
        )
        head = store.head()
        far = Location.parse("CHU/Farther")
        with pytest.raises(StorageError, match="beyond the 268,435,455 a balance key holds"):
            ledger.post(
                [
                    Movement.receipt(
                        "R-9", item=PLAIN, quantity=1, to=far, occurred_at=AT, actor="jm"
                    )
                ]
            )
        assert store.head() == head
        assert store.balances_of([PLAIN]) == {(PLAIN, VAULT, AV): 5}


def test_every_status_has_a_key_code() -> None:
    assert set(STATUS_CODES) == set(StockStatus)
    assert sorted(STATUS_CODES.values()) == list(range(len(StockStatus)))
    assert max(STATUS_CODES.values()) < 16  # four bits of the key


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, ITEM_LIMIT - 1),
            st.integers(0, LOCATION_LIMIT - 1),
            st.sampled_from(StockStatus),
            st.integers(-(2**40), 2**40).filter(bool),
        ),
        min_size=1,
        max_size=40,
        unique_by=lambda row: row[:3],
    )
)
def test_keys_pack_and_unpack_and_an_item_is_one_range(
    rows: list[tuple[int, int, StockStatus, int]],
) -> None:
    # Whatever the numbers, the upsert's key reads back as its parts, keys order as
    # (item, location, status code), and an item's range holds its balances only.
    with SqliteStore(":memory:") as store:
        db = store._db
        db.executemany(
            UPSERT_BALANCE,
            [(item, place, STATUS_CODES[status], q) for item, place, status, q in rows],
        )
        read = db.execute(
            f"SELECT b.balance_key >> 32, b.location_no, {BALANCE_STATUS}, b.quantity "  # noqa: S608  (constant fragments)
            "FROM balances AS b ORDER BY b.balance_key"
        ).fetchall()
        assert read == sorted(
            ((item, place, status.value, q) for item, place, status, q in rows),
            key=lambda row: (row[0], row[1], STATUS_CODES[StockStatus(row[2])]),
        )
        for item in {row[0] for row in rows}:
            found = db.execute(
                f"SELECT b.quantity FROM (SELECT ? AS item_no) AS k, balances AS b WHERE {ITEM_BALANCES}",  # noqa: S608  (constant fragments)
                (item,),
            ).fetchall()
            assert sorted(q for (q,) in found) == sorted(q for i, _, _, q in rows if i == item)
