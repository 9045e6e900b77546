"""What the SQLite store guarantees beyond the shared contract: file, schema, errors, indexes."""

from __future__ import annotations

import contextlib
import random
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.sqlite import MIGRATIONS, SCHEMA_VERSION, SqliteStore, register_sql_functions
from medinv.adapters.sqlite._schema import STATUS_CODES
from medinv.adapters.sqlite._sql import UPSERT_BALANCE
from medinv.chain import CONTENT_FIELDS, GENESIS_HASH, chain_hash, movement_content
from medinv.errors import ConcurrencyError, StockError, StorageError
from medinv.identifiers import ItemKey, Lot
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import (
    BalanceChange,
    Commit,
    ItemRecord,
    LedgerHead,
    LotRecord,
    MovementQuery,
    PositionQuery,
    RecordedMovement,
)
from medinv.status import StockStatus

from ._sqlite_files import migrate, replayed

GTIN = "04006381333931"
AV = StockStatus.AVAILABLE
RECORDED = pendulum.datetime(2026, 11, 23, 8, 30, 0, 123, tz="UTC")
HOSTILE = 'O\'Brien; DROP TABLE movements; -- "x" é 漢字 🧪 \t\n' + "r" * 5000


def chained(head: LedgerHead, movements: Iterable[Movement]) -> tuple[RecordedMovement, ...]:
    out = []
    prev, position = head.hash, head.position
    for movement in movements:
        position += 1
        digest = chain_hash(prev, movement, position=position, recorded_at=RECORDED)
        out.append(
            RecordedMovement(
                movement=movement,
                position=position,
                recorded_at=RECORDED,
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    return tuple(out)


def receipt(
    id_: str, *, lot: str = "L1", qty: int = 5, to: str = "Main/Store/A1", **extra
) -> Movement:
    return Movement.receipt(
        id_,
        item=ItemKey(GTIN, lot=lot),
        quantity=qty,
        to=Location.parse(to),
        occurred_at=pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris"),
        actor="jm",
        **extra,
    )


def commit_receipts(store: SqliteStore, *movements: Movement) -> Commit:
    """Append receipts as the ledger would: chained, with their balance changes and master data."""
    head = store.head()
    recorded = chained(head, movements)
    sums: dict[tuple[ItemKey, Location, StockStatus], int] = {}
    for m in movements:
        for location, status, delta in m.deltas():
            key = (m.item, location, status)
            sums[key] = sums.get(key, 0) + delta
    lots = {
        (m.item.gtin.value, str(m.item.lot)): LotRecord(
            m.item.gtin.value, str(m.item.lot), m.expiry
        )
        for m in movements
    }
    known_lots = store.lot_expiries(list(lots))
    commit = Commit(
        expected_position=head.position,
        movements=recorded,
        balance_changes=tuple(BalanceChange(*key, delta) for key, delta in sums.items() if delta),
        lots=tuple(record for key, record in lots.items() if key not in known_lots),
        items=tuple(
            ItemRecord(item=m.item, first_received_at=m.occurred_at)
            for m in {m.item: m for m in movements}.values()
            if m.item not in store.item_records([m.item])
        ),
    )
    store.append(commit)
    return commit


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def store(path: Path):
    with SqliteStore(path) as opened:
        yield opened


# --------------------------------------------------------------------------- file and schema


def test_a_new_file_is_wal_durable_and_at_the_current_schema(store: SqliteStore, path: Path):
    assert store.schema_version == SCHEMA_VERSION == MIGRATIONS[-1].version
    assert store.head() == LedgerHead.empty()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    assert repr(store) == f"SqliteStore({str(path)!r}, schema {SCHEMA_VERSION})"


def test_data_survives_closing_and_reopening_the_file(path: Path):
    with SqliteStore(path) as store:
        commit = commit_receipts(store, receipt("R-1", reason=HOSTILE, reference=HOSTILE))
        head = store.head()
    with SqliteStore(path) as again:
        assert again.head() == head
        stored = again.movements_by_id(["R-1"])["R-1"]
        assert stored == commit.movements[0]
        assert stored.movement.reason == HOSTILE
        assert stored.movement.occurred_at.isoformat() == "2026-11-23T09:00:00+01:00"
        assert stored.recorded_at.isoformat() == RECORDED.isoformat()
        assert chain_hash(
            GENESIS_HASH, stored.movement, position=1, recorded_at=stored.recorded_at
        ) == (stored.hash)
    assert repr(again) == f"SqliteStore({str(path)!r}, closed)"


def test_hostile_text_is_stored_verbatim_everywhere(store: SqliteStore):
    lot = "'; --\"%_"
    location = "Site 'x'/Zone; DROP/漢字 🧪"
    m = receipt(
        "R-'1'; DROP TABLE movements; --",
        lot=lot,
        to=location,
        reason=HOSTILE,
        reference=HOSTILE[::-1],
    )
    commit_receipts(store, m)
    stored = store.movements_by_id([m.id])[m.id].movement
    assert stored == m
    assert (stored.reason, stored.reference, stored.actor) == (m.reason, m.reference, m.actor)
    [position] = store.positions(PositionQuery(lot=lot, location="Site 'x'"))
    assert str(position.location) == location
    assert [r.movement.id for r in store.movements(MovementQuery(lot=lot))] == [m.id]


def test_a_newer_schema_is_refused_with_a_clear_error(path: Path):
    SqliteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(
        StorageError,
        match=rf"schema version {SCHEMA_VERSION + 1}, newer than this medinv knows \({SCHEMA_VERSION}\)",
    ):
        SqliteStore(path)


def test_a_foreign_sqlite_database_is_refused(path: Path):
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE customers (name TEXT)")
    with pytest.raises(StorageError, match="not a medinv ledger"):
        SqliteStore(path)


def test_migrations_run_once_and_are_idempotent_on_reopen(path: Path):
    for _ in range(2):
        with SqliteStore(path) as store:
            assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(path) as raw:
        names = {row[0] for row in raw.execute("SELECT name FROM sqlite_schema")}
    assert {"movements", "balances", "lots", "items", "head"} <= names


# --------------------------------------------------------------------------- error translation


def test_a_file_that_is_not_a_database_raises_storage_error_from_the_driver(path: Path):
    path.write_bytes(b"this is not an SQLite file at all" * 100)
    with pytest.raises(StorageError, match="cannot open") as info:
        SqliteStore(path)
    assert isinstance(info.value.__cause__, sqlite3.DatabaseError)
    assert not isinstance(info.value, ConcurrencyError)


def test_an_unopenable_path_raises_storage_error(tmp_path: Path):
    with pytest.raises(StorageError, match="cannot open") as info:
        SqliteStore(tmp_path / "missing-dir" / "ledger.sqlite3")
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)


def test_a_closed_store_raises_storage_error(path: Path):
    store = SqliteStore(path)
    store.close()
    store.close()  # harmless
    for call in (
        store.head,
        lambda: store.movements_by_id(["x"]),
        lambda: list(store.movements(MovementQuery())),
        lambda: store.positions(PositionQuery()),
    ):
        with pytest.raises(StorageError, match="is closed"):
            call()


def test_a_driver_error_inside_a_query_is_translated(store: SqliteStore):
    store._db.execute("DROP TABLE lots")
    with pytest.raises(StorageError, match="cannot read lot master data") as info:
        store.lot_expiries([(GTIN, "L1")])
    assert isinstance(info.value.__cause__, sqlite3.OperationalError)
    assert "no such table: lots" in str(info.value)


def test_a_failed_append_writes_nothing_and_is_translated(store: SqliteStore):
    commit_receipts(store, receipt("R-1"))
    # Fails after the movements and balances of the batch were written.
    store._db.execute(
        "CREATE TRIGGER sabotage BEFORE INSERT ON items BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"
    )
    with pytest.raises(StorageError, match=r"cannot append.*disk on fire") as info:
        commit_receipts(store, receipt("R-2", lot="L2"))
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert not isinstance(info.value, ConcurrencyError)
    assert store.balances_of([ItemKey(GTIN, lot="L2")]) == {}
    assert store.head().position == 1
    assert set(store.movements_by_id(["R-1", "R-2"])) == {"R-1"}


def test_a_stale_head_is_a_concurrency_error_and_writes_nothing(store: SqliteStore):
    first = commit_receipts(store, receipt("R-1"))
    stale = Commit(
        expected_position=0, movements=chained(LedgerHead.empty(), [receipt("R-2", lot="L2")])
    )
    with pytest.raises(
        ConcurrencyError, match="checked at position 0, the head is now at 1"
    ) as info:
        store.append(stale)
    assert (info.value.expected, info.value.actual) == (0, 1)
    assert store.head().hash == first.movements[0].hash
    assert "R-2" not in store.movements_by_id(["R-2"])


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("id", "a movement id of the batch is already stored"),
        ("reverses", "a movement the batch reverses is already reversed"),
    ],
)
def test_unique_violations_while_appending_are_concurrency_errors(
    store: SqliteStore, case: str, reason: str
):
    original = receipt("R-1", qty=2)
    commit_receipts(store, original)
    at = pendulum.datetime(2026, 11, 23, 10, tz="UTC")
    first_reversal = Movement.reversal("V-1", of=original, occurred_at=at, actor="jm")
    store.append(Commit(expected_position=1, movements=chained(store.head(), [first_reversal])))
    again = (
        receipt("R-1", qty=3)
        if case == "id"
        else Movement.reversal("V-2", of=original, occurred_at=at, actor="jm")
    )
    with pytest.raises(ConcurrencyError, match=reason) as info:
        store.append(Commit(expected_position=2, movements=chained(store.head(), [again])))
    assert isinstance(info.value.__cause__, sqlite3.IntegrityError)
    assert store.head().position == 2
    assert store.reversals_of(["R-1"]) == {"R-1": "V-1"}


def test_a_held_write_lock_is_a_concurrency_error_after_the_timeout(path: Path):
    with SqliteStore(path, timeout=0.05) as store:
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            with pytest.raises(ConcurrencyError, match="held the database lock") as info:
                commit_receipts(store, receipt("R-1"))
            assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        commit_receipts(store, receipt("R-1"))
        assert store.head().position == 1


# --------------------------------------------------------------------------- queries


def test_location_subtree_excludes_siblings_sharing_a_prefix(store: SqliteStore):
    paths = [
        "Main/Store",
        "Main/Store/A1",
        "Main/Store/A1/x",
        "Main/Store-2",
        "Main/Storeroom",
        "Main/Stor",
        "Main/Store 3/A",
    ]
    commit_receipts(store, *(receipt(f"R-{i}", to=p, qty=i + 1) for i, p in enumerate(paths)))
    found = {
        str(p.location): p.quantity for p in store.positions(PositionQuery(location="Main/Store"))
    }
    assert found == {"Main/Store": 1, "Main/Store/A1": 2, "Main/Store/A1/x": 3}
    assert {str(p.location) for p in store.positions(PositionQuery(location="Main"))} == set(paths)


def test_positions_carry_lot_expiry_and_first_receipt(store: SqliteStore):
    commit_receipts(store, receipt("R-1", expiry="2027-06-30"), receipt("R-2", lot="L2"))
    positions = {p.item.lot.value: p for p in store.positions(PositionQuery(gtin=GTIN, status=AV))}  # type: ignore[union-attr]
    assert positions["L1"].expiry == pendulum.date(2027, 6, 30)
    assert positions["L2"].expiry is None
    assert positions["L1"].received_at == pendulum.datetime(2026, 11, 23, 8, tz="UTC")


def test_balances_reaching_zero_disappear_from_the_projection(store: SqliteStore):
    original = receipt("R-1", qty=4)
    commit_receipts(store, original)
    at = pendulum.datetime(2026, 11, 23, 10, tz="UTC")
    reversal = Movement.reversal("V-1", of=original, occurred_at=at, actor="jm")
    item, location = original.item, original.to_location
    assert location is not None
    store.append(
        Commit(
            expected_position=1,
            movements=chained(store.head(), [reversal]),
            balance_changes=(BalanceChange(item, location, AV, -4),),
        )
    )
    assert list(store.balances_snapshot()) == []
    assert store.balances_of([item]) == {}
    assert [r.movement.id for r in store.movements(MovementQuery(item=item))] == ["R-1", "V-1"]
    assert [r.movement.id for r in store.movements(MovementQuery(after_position=1))] == ["V-1"]
    assert [r.movement.id for r in store.movements(MovementQuery(up_to_position=1))] == ["R-1"]


def test_whole_ledger_reads_are_paged_in_position_order(store: SqliteStore):
    movements = [receipt(f"R-{i:05}", qty=1) for i in range(4500)]
    commit_receipts(store, *movements)
    ids = [r.movement.id for r in store.movements(MovementQuery())]
    assert ids == [m.id for m in movements]
    later = [
        r.position for r in store.movements(MovementQuery(after_position=4000, up_to_position=4400))
    ]
    assert later == list(range(4001, 4401))


def plan(store: SqliteStore, sql: str, params: list[object]) -> str:
    rows = store._db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
    return " | ".join(row[-1] for row in rows)


@pytest.mark.parametrize(
    ("sql", "uses"),
    [
        ("SELECT * FROM movements WHERE id IN (?, ?)", "USING INDEX sqlite_autoindex_movements_1"),
        ("SELECT * FROM movements WHERE reverses IN (?)", "USING INDEX movements_by_reverses"),
        (
            "WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods WHERE p < (SELECT position FROM head WHERE singleton = 1) >> 14) SELECT * FROM periods CROSS JOIN movements WHERE (position >> 14) = periods.p AND item_no IN (SELECT item_no FROM item_keys WHERE gtin = ? AND lot = ? AND serial = ?) AND position > ? ORDER BY position",
            "SEARCH movements USING INDEX movements_by_period_item (<expr>=? AND item_no=? AND rowid>?) | LIST SUBQUERY 4 | SEARCH item_keys USING COVERING INDEX sqlite_autoindex_item_keys_1 (gtin=? AND lot=? AND serial=?)",
        ),
        (
            "WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods WHERE p < (SELECT position FROM head WHERE singleton = 1) >> 14) SELECT * FROM periods CROSS JOIN movements WHERE (position >> 14) = periods.p AND item_no IN (SELECT item_no FROM item_keys WHERE gtin = ?) AND position > ? ORDER BY position",
            "SEARCH item_keys USING COVERING INDEX sqlite_autoindex_item_keys_1 (gtin=?)",
        ),
        (
            "WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods WHERE p < (SELECT position FROM head WHERE singleton = 1) >> 14) SELECT * FROM periods CROSS JOIN movements WHERE (position >> 14) = periods.p AND item_no IN (SELECT item_no FROM item_keys WHERE lot = ? AND lot <> '') AND position > ? ORDER BY position",
            "SEARCH item_keys USING COVERING INDEX item_keys_by_lot (lot=?)",
        ),
        (
            "WITH RECURSIVE periods (p) AS (SELECT ? UNION ALL SELECT p + 1 FROM periods WHERE p < (SELECT position FROM head WHERE singleton = 1) >> 14) SELECT * FROM periods CROSS JOIN movements WHERE (position >> 14) = periods.p AND item_no IN (SELECT item_no FROM item_keys WHERE serial = ? AND serial <> '') AND position > ? ORDER BY position",
            "SEARCH item_keys USING COVERING INDEX item_keys_by_serial (serial=?)",
        ),
        (
            "SELECT * FROM movements WHERE position > ? ORDER BY position LIMIT 10",
            "USING INTEGER PRIMARY KEY",
        ),
        (
            "SELECT * FROM locations AS loc JOIN balances AS b ON b.location_no = loc.location_no WHERE loc.path >= ? AND loc.path < ? AND (loc.path = ? OR substr(loc.path, ?, 1) = '/')",
            "SEARCH loc USING COVERING INDEX sqlite_autoindex_locations_1 (path>? AND path<?) | SEARCH b USING INDEX balances_by_location (location_no=?)",
        ),
        (
            "SELECT * FROM item_keys AS k JOIN balances AS b ON b.balance_key BETWEEN (k.item_no << 32) AND ((k.item_no << 32) | 4294967295) WHERE k.lot = ? AND k.lot <> ''",
            "SEARCH k USING INDEX item_keys_by_lot (lot=?) | SEARCH b USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
        (
            "SELECT * FROM item_keys AS k JOIN balances AS b ON b.balance_key BETWEEN (k.item_no << 32) AND ((k.item_no << 32) | 4294967295) WHERE k.serial = ? AND k.serial <> ''",
            "SEARCH k USING INDEX item_keys_by_serial (serial=?) | SEARCH b USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
        (
            "SELECT * FROM item_keys AS k JOIN balances AS b ON b.balance_key BETWEEN (k.item_no << 32) AND ((k.item_no << 32) | 4294967295) WHERE k.gtin = ? AND k.lot = ? AND k.serial = ?",
            "SEARCH k USING COVERING INDEX sqlite_autoindex_item_keys_1 (gtin=? AND lot=? AND serial=?) | SEARCH b USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
        (
            "SELECT * FROM balances WHERE balance_key >= ? AND balance_key < ?",
            "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
        ),
    ],
)
def test_every_keyed_query_uses_an_index(store: SqliteStore, sql: str, uses: str):
    shown = plan(store, sql, [None] * sql.count("?"))
    assert uses in shown
    # Scanning the generated list of periods (history queries) is no table scan.
    tables = shown.replace("SCAN CONSTANT ROW", "").replace("SCAN periods", "")
    assert "SCAN" not in tables


def test_store_queries_as_issued_never_scan(
    path: Path, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
):
    commit_receipts(store, receipt("R-1"))
    store = SqliteStore(path)  # another connection
    issued: list[tuple[str, list[object]]] = []
    real = store._db

    class Spy:
        def execute(self, sql: str, params: Sequence[object] = ()):
            if sql.startswith(("SELECT", "WITH")):
                issued.append((sql, list(params)))
            return real.execute(sql, params)

        def __getattr__(self, name: str):
            return getattr(real, name)

    monkeypatch.setattr(store, "_db", Spy())
    item = ItemKey(GTIN, lot="L1")
    store.movements_by_id(["R-1"])
    store.reversals_of(["R-1"])
    store.lot_expiries([(GTIN, "L1")])
    store.item_records([item])
    store.balances_of([item])
    for query in (
        PositionQuery(item=item),
        PositionQuery(gtin=GTIN),
        PositionQuery(lot="L1"),
        PositionQuery(serial="S1"),
        PositionQuery(location="Main/Store"),
    ):
        store.positions(query)
    for mquery in (
        MovementQuery(item=item),
        MovementQuery(gtin=GTIN),
        MovementQuery(lot="L1"),
        MovementQuery(serial="S1"),
    ):
        list(store.movements(mquery))
    monkeypatch.undo()
    scans = [
        (sql, shown)
        for sql, params in issued
        if "SCAN b" in (shown := plan(store, sql, params))
        or "SCAN movements" in shown
        or "SCAN l" in shown
        or "SCAN i " in shown
        or "SCAN k " in shown
    ]
    assert scans == []
    # Every query above, one each, and movements_by_id's seek of the last id first.
    assert len(issued) == 15
    store.close()


def test_an_online_backup_is_a_consistent_openable_ledger(store: SqliteStore, tmp_path: Path):
    commit_receipts(store, receipt("R-1"), receipt("R-2", lot="L2"))
    target = tmp_path / "copies" / "backup.sqlite3"
    target.parent.mkdir()
    store.backup(target)
    commit_receipts(store, receipt("R-3", lot="L3"))
    with SqliteStore(target) as copy:
        assert copy.head().position == 2
        assert set(copy.movements_by_id(["R-1", "R-2", "R-3"])) == {"R-1", "R-2"}
    with pytest.raises(StorageError, match="cannot back up") as info:
        store.backup(tmp_path / "missing" / "x.sqlite3")
    assert isinstance(info.value.__cause__, sqlite3.Error)


def set_field(content: str, index: int, value: str) -> str:
    """Stored content with field ``index`` replaced (an SQL function for tampering tests)."""
    fields = content.split("\x00")
    fields[index] = value
    return "\x00".join(fields)


def tamper(db: sqlite3.Connection, sql: str, *params: object) -> None:
    db.create_function("set_field", 3, set_field, deterministic=True)
    assert db.execute(sql, params).rowcount >= 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (1, "TELEPORT"),  # kind
        (3, "L1"),  # lot without its '+'
        (5, "-3"),  # quantity
        (5, "05"),  # quantity, not canonical
        (5, "five"),
        (6, "yesterday"),  # occurred_at
        (10, "+"),  # to_location: empty path
        (11, "+LOST"),  # to_status
        (14, "+2026-02-30"),  # expiry
    ],
)
def test_a_row_edited_into_nonsense_is_a_storage_error_naming_its_position(
    store: SqliteStore, field: int, value: str
):
    commit_receipts(store, receipt("R-1"), receipt("R-2"))
    tamper(
        store._db,
        "UPDATE movements SET content = set_field(content, ?, ?) WHERE position = 2",
        field,
        value,
    )
    with pytest.raises(StorageError, match="movement at position 2 is corrupt"):
        list(store.movements(MovementQuery()))
    assert set(store.movements_by_id(["R-1"])) == {"R-1"}


@pytest.mark.parametrize("content", ["", "R-2", "R-2\x00RECEIPT", "\x00" * 16])
def test_content_with_missing_or_extra_fields_is_a_storage_error(store: SqliteStore, content: str):
    commit_receipts(store, receipt("R-1"), receipt("R-2"))
    tamper(store._db, "UPDATE movements SET content = ? WHERE position = 2", content)
    with pytest.raises(StorageError, match="movement at position 2 is corrupt"):
        store.movements_by_id(["R-2"])


def test_stored_content_is_the_hashed_text_and_its_fields_read_in_sql(
    store: SqliteStore, path: Path
):
    commit = commit_receipts(store, receipt("R-1", reason=HOSTILE, expiry="2027-01-31"))
    (content,) = store._db.execute("SELECT content FROM movements WHERE id = 'R-1'").fetchone()
    assert content == movement_content(commit.movements[0].movement)
    report = sqlite3.connect(path)
    register_sql_functions(report)
    fields = ", ".join(f"movement_field(content, '{name}')" for name in CONTENT_FIELDS)
    row = report.execute(f"SELECT {fields} FROM movements").fetchone()  # noqa: S608  (constant names)
    report.close()
    assert dict(zip(CONTENT_FIELDS, row, strict=True)) == {
        "id": "R-1", "kind": "RECEIPT", "gtin": GTIN, "lot": "L1", "serial": None,
        "quantity": 5, "occurred_at": "2026-11-23T09:00:00+01:00", "actor": "jm",
        "from_location": None, "from_status": None, "to_location": "Main/Store/A1",
        "to_status": "AVAILABLE", "reason": HOSTILE, "reference": None,
        "expiry": "2027-01-31", "reverses": None,
    }  # fmt: skip
    assert store._db.execute(
        "SELECT movement_field(content, 'nonsense'), movement_field(NULL, 'kind'), "
        "movement_field('a' || char(0) || 'b', 'kind'), movement_field(x'00ff', 'kind'), "
        "movement_field(content, 7), movement_field(42, NULL) FROM movements"
    ).fetchone() == (None, None, None, None, None, None)


def v1_row(recorded: RecordedMovement) -> tuple[object, ...]:
    """A movement as schema version 1 stored it: twenty columns."""
    m = recorded.movement

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    return (
        recorded.position,
        m.id,
        m.kind.value,
        m.item.gtin.value,
        text(m.item.lot),
        text(m.item.serial),
        m.quantity,
        m.occurred_at.isoformat(),
        m.actor,
        text(m.from_location),
        None if m.from_status is None else m.from_status.value,
        text(m.to_location),
        None if m.to_status is None else m.to_status.value,
        m.reason,
        m.reference,
        None if m.expiry is None else m.expiry.isoformat(),
        m.reverses,
        recorded.recorded_at.isoformat(),
        recorded.prev_hash,
        recorded.hash,
    )


@pytest.mark.parametrize("via", [(1,), (1, 2)], ids=["v1", "v1-then-v2"])
def test_an_older_file_is_migrated_to_the_current_schema_with_its_history(
    path: Path, via: tuple[int, ...]
):
    lots = ["L1", "L2", "L1"]
    movements = [
        receipt(f"R-{i}", lot=lot, qty=i + 1, reason=HOSTILE if i == 1 else None)
        for i, lot in enumerate(lots)
    ]
    movements.append(
        Movement.receipt(
            "R-S", item=ItemKey(GTIN, serial="S9"), quantity=1, to=Location.parse("Main/Vault"),
            occurred_at="2026-11-23T09:00:00.000250-09:30", actor="jm", expiry="2027-01-31",
            reference="DN-1",
        )
    )  # fmt: skip
    recorded = chained(LedgerHead.empty(), movements)
    old = replayed(path, 1)
    old.execute("BEGIN")
    old.executemany(
        "INSERT INTO movements VALUES (" + ", ".join("?" * 20) + ")",  # noqa: S608  (placeholders)
        [v1_row(r) for r in recorded],
    )
    old.execute("UPDATE head SET position = ?, hash = ?", (4, recorded[-1].hash))
    old.executemany(
        "INSERT INTO balances VALUES (?, ?, ?, ?, ?, ?)",
        [
            (GTIN, "L1", "", "Main/Store/A1", "AVAILABLE", 4),
            (GTIN, "L2", "", "Main/Store/A1", "AVAILABLE", 2),
            (GTIN, "", "S9", "Main/Vault", "AVAILABLE", 1),
            (GTIN, "L7", "", "Main/Gone", "AVAILABLE", 0),  # emptied
        ],
    )
    # The master data the first receipt of each lot and item wrote.
    old.executemany(
        "INSERT INTO lots VALUES (?, ?, ?)",
        [(GTIN, "L1", None), (GTIN, "L2", None)],
    )
    received = movements[0].occurred_at.isoformat()
    old.executemany(
        "INSERT INTO items VALUES (?, ?, ?, ?, ?)",
        [
            (GTIN, "L1", "", received, None),
            (GTIN, "L2", "", received, None),
            (GTIN, "", "S9", movements[3].occurred_at.isoformat(), "2027-01-31"),
        ],
    )
    old.execute("COMMIT")
    for version in via[1:]:  # the steps an older release applied in between
        migrate(old, version)
    old.close()
    with SqliteStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 17
        assert store.head() == LedgerHead(4, recorded[-1].hash)

        def by(**query: Any) -> list[str]:
            return [r.movement.id for r in store.movements(MovementQuery(**query))]

        assert by(lot="L1") == ["R-0", "R-2"]
        assert by(item=ItemKey(GTIN, lot="L2")) == ["R-1"]
        assert by(gtin=GTIN) == ["R-0", "R-1", "R-2", "R-S"]
        assert by(serial="S9") == ["R-S"]
        assert list(store.movements(MovementQuery())) == list(recorded)
        contents = [row[0] for row in store._db.execute("SELECT content FROM movements")]
        assert contents == [movement_content(r.movement) for r in recorded]
        names = {row[0] for row in store._db.execute("SELECT name FROM sqlite_schema")}
        assert {"movements_by_period_item", "movements_by_reverses", "balances_emptied"} <= names
        assert {"stocktakes", "stocktake_lines", "stocktakes_state"} <= names  # migration 5
        assert {"catalogue_versions", "catalogue_lookups"} <= names  # migration 6
        assert {"catalogue_head", "catalogue_versions_by_seq"} <= names  # migration 7
        assert "movements_by_item_no" not in names
        assert not names & {"movements_by_item", "movements_by_lot", "movements_by_serial"}
        assert not names & {"movements_v3", "balances_v3"}
        a1, vault = Location.parse("Main/Store/A1"), Location.parse("Main/Vault")
        assert store.balances_of([ItemKey(GTIN, lot="L1"), ItemKey(GTIN, serial="S9")]) == {
            (ItemKey(GTIN, lot="L1"), a1, AV): 4,
            (ItemKey(GTIN, serial="S9"), vault, AV): 1,
        }
        assert {(p.item.lot, p.quantity) for p in store.positions(PositionQuery(location=a1))} == {
            (Lot("L1"), 4),
            (Lot("L2"), 2),
        }
        assert Ledger(store).verify().ok
        # New movements of known and new items get numbers as well.
        commit_receipts(store, receipt("R-4", lot="L1"), receipt("R-5", lot="L3"))
        assert by(lot="L1") == ["R-0", "R-2", "R-4"]
        assert by(lot="L3") == ["R-5"]


# --------------------------------------------------------------------------- numbers and reads


def test_reads_see_what_another_writer_committed(path: Path, store: SqliteStore):
    item = ItemKey(GTIN, lot="L1")
    commit_receipts(store, receipt("R-1", qty=5))
    assert store.balances_of([item])[item, Location.parse("Main/Store/A1"), AV] == 5
    with SqliteStore(path) as other:
        commit_receipts(other, receipt("R-2", qty=4), receipt("R-3", lot="L9", qty=1))
    assert store.balances_of([item])[item, Location.parse("Main/Store/A1"), AV] == 9
    new_item = ItemKey(GTIN, lot="L9")
    assert set(store.item_records([new_item])) == {new_item}
    assert store.lot_expiries([(GTIN, "L9")]) == {(GTIN, "L9"): None}


def test_numbers_of_a_rolled_back_append_are_not_remembered(path: Path, store: SqliteStore):
    commit_receipts(store, receipt("R-1"))
    # A new item at a new location, in a commit that fails after numbering them
    # (its movement id is stored already): the numbers are rolled back.
    new_item, new_place = ItemKey(GTIN, lot="LN"), Location.parse("Main/New")
    failing = Commit(
        expected_position=1,
        movements=chained(store.head(), [receipt("R-1", lot="LN", to="Main/New")]),
        balance_changes=(BalanceChange(new_item, new_place, AV, 5),),
    )
    with pytest.raises(ConcurrencyError):
        store.append(failing)
    # Another writer takes the next numbers for other values.
    with SqliteStore(path) as other:
        commit_receipts(other, receipt("R-2", lot="LO", to="Main/Other"))
    commit_receipts(store, receipt("R-3", lot="LN", to="Main/New"))
    with SqliteStore(path) as fresh:
        assert fresh.balances_of([new_item]) == {(new_item, new_place, AV): 5}
        assert fresh.movements_by_id(["R-3"])["R-3"].movement.item == new_item
        assert [p.location for p in fresh.positions(PositionQuery(lot="LN"))] == [new_place]


def test_a_refused_commit_leaves_no_trace(store: SqliteStore):
    item = ItemKey(GTIN, lot="L1")
    commit_receipts(store, receipt("R-1", qty=5))
    store.balances_of([item])
    stale = Commit(
        expected_position=0,
        movements=chained(LedgerHead.empty(), [receipt("R-X", lot="LX", qty=7)]),
        balance_changes=(BalanceChange(item, Location.parse("Main/Store/A1"), AV, 7),),
        lots=(LotRecord(GTIN, "LX", None),),
    )
    with pytest.raises(ConcurrencyError):
        store.append(stale)
    assert store.balances_of([item]) == {(item, Location.parse("Main/Store/A1"), AV): 5}
    assert store.lot_expiries([(GTIN, "LX")]) == {}


@pytest.mark.parametrize("seed", range(3))
def test_two_writers_on_one_file_always_read_what_a_fresh_connection_reads(path: Path, seed: int):
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    items = [ItemKey(GTIN, lot=f"L{n}") for n in range(4)] + [ItemKey(GTIN, serial="S1")]
    places = [Location.parse(p) for p in ("Main/A", "Main/B", "Ward/C")]
    at = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
    with SqliteStore(path) as first, SqliteStore(path) as second:
        ledgers = [Ledger(first), Ledger(second)]
        for step in range(60):
            ledger = rng.choice(ledgers)
            item = rng.choice(items)
            held = {k: q for k, q in ledger.store.balances_of([item]).items() if q > 0}
            if not held or rng.random() < 0.4:
                qty = 1 if item.serial else rng.randint(1, 9)
                movement = Movement.receipt(
                    f"M{step}", item=item, quantity=qty, to=rng.choice(places),
                    occurred_at=at, actor="t",
                )  # fmt: skip
            else:
                (_, source, _), have = rng.choice(sorted(held.items(), key=str))
                qty = rng.randint(1, have)
                if rng.random() < 0.5:
                    to = rng.choice([place for place in places if place != source])
                    movement = Movement.transfer(
                        f"M{step}", item=item, quantity=qty, source=source,
                        to=to, occurred_at=at, actor="t",
                    )  # fmt: skip
                else:
                    movement = Movement.issue(
                        f"M{step}", item=item, quantity=qty, source=source,
                        occurred_at=at, actor="t",
                    )  # fmt: skip
            with contextlib.suppress(StockError):  # e.g. a second serial receipt (refused)
                ledger.post([movement], retries=2)
            with SqliteStore(path) as fresh:
                truth = fresh.balances_of(items)
                for store in (first, second):
                    assert store.balances_of(items) == truth
        assert ledgers[0].verify().ok


# --------------------------------------------------------------------------- history periods


def test_history_queries_read_across_periods_of_the_history_index(tmp_path: Path):
    """Movements in several periods (16,384 positions each) and every kind of query."""
    lots = ["L1", "L2", "L3"]
    with SqliteStore(tmp_path / "periods.sqlite3") as store:
        total, size = 34_000, 8_500  # three periods; the probed lots are 1 receipt in 50
        for start in range(0, total, size):
            commit_receipts(
                store,
                *(receipt(f"R-{n:06d}", lot=lots[n % 3] if n % 50 == 0 else "FILL", qty=1)
                  for n in range(start, start + size)),
            )  # fmt: skip
        everything = [(r.position, r.movement.item.lot) for r in store.movements(MovementQuery())]
        assert len(everything) == total
        of_lot = {lot: [p for p, of in everything if str(of) == lot] for lot in lots}
        rng = random.Random(7)  # noqa: S311  (reproducible test data)
        bounds = [(0, None), (16_383, None), (16_384, 32_768), (1, 16_385), (33_999, None)]
        bounds += [
            (a, b)
            for a, b in sorted((rng.randrange(total), rng.randrange(total)) for _ in range(6))
        ]
        for after, up_to in bounds:

            def within(positions: list[int]) -> list[int]:
                return [p for p in positions if p > after and (up_to is None or p <= up_to)]  # noqa: B023

            if after > 30_000:
                assert [r.position for r in store.movements(
                    MovementQuery(gtin=GTIN, after_position=after, up_to_position=up_to)
                )] == within([p for p, _ in everything])  # fmt: skip
            for lot in lots:
                for query in (
                    MovementQuery(lot=lot, after_position=after, up_to_position=up_to),
                    MovementQuery(
                        item=ItemKey(GTIN, lot=lot), after_position=after, up_to_position=up_to
                    ),
                ):
                    got = [r.position for r in store.movements(query)]
                    want = within(of_lot[lot])
                    assert got == want, (query, len(got), len(want))


def test_balance_rows_are_upserted_in_item_number_order(store: SqliteStore) -> None:
    """A commit's balance rows walk the balance table's key once (a speed measure, same totals)."""
    from medinv.adapters.sqlite._store import _balance_rows  # noqa: PLC0415  (private helper)

    items = [ItemKey(GTIN, lot=f"L{i}") for i in range(5)]
    shelf, ward = Location.parse("S/A"), Location.parse("S/W")
    item_nos = {item: number for number, item in zip([40, 7, 19, 3, 25], items, strict=True)}
    location_nos = {shelf: 1, ward: 2}
    changes = [
        BalanceChange(item=item, location=place, status=status, delta=delta)
        for item, place, status, delta in zip(
            items * 2,
            [shelf] * 5 + [ward] * 5,
            [AV, StockStatus.HOLD] * 5,
            range(-5, 5),
            strict=True,
        )
    ]
    rows = _balance_rows(changes, item_nos, location_nos)
    assert [row[0] for row in rows] == sorted(item_nos[c.item] for c in changes)
    assert sorted(rows) == sorted(
        (item_nos[c.item], location_nos[c.location], STATUS_CODES[c.status], c.delta)
        for c in changes
    )
    # The upsert packs (item number, location number, status code) into the key, in
    # the key's order; the column repeats the location number.
    db = store._db
    db.executemany(UPSERT_BALANCE, rows)
    assert db.execute("SELECT balance_key, location_no, quantity FROM balances").fetchall() == [
        (item_no << 32 | location_no << 4 | code, location_no, delta)
        for item_no, location_no, code, delta in sorted(rows, key=lambda r: r[:3])
    ]


def test_movements_are_read_by_id_in_id_order(store: SqliteStore):
    """The ids of a read are bound in order, so each chunk probes one stretch of the id index."""
    commit_receipts(store, receipt("N-1"))  # after every id read: they are probed
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    ids = [f"M-{n:05d}" for n in random.Random(3).sample(range(2_000), 1_200)]  # noqa: S311
    assert store.movements_by_id(set(ids)) == {}
    reads = [s for s in statements if s.startswith("SELECT") and "IN (" in s]
    bound = [part.split("'")[1] for read in reads for part in read.split("IN (")[1].split(", ")]
    assert bound == sorted(ids)
