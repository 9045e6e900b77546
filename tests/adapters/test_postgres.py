"""PostgresStore: the shipped contract suite and stateful comparison, then PostgreSQL specifics.

Every test works in a schema of its own (the ``postgres_schema`` fixture), on the
server of the ``postgres_dsn`` session fixture (tests/conftest.py).
"""

from __future__ import annotations

import multiprocessing
import uuid
import warnings
from collections.abc import Iterator

import pendulum
import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test
from psycopg import errors as pg_errors
from psycopg import sql

from medinv.adapters.postgres import SCHEMA_VERSION, PostgresStore, translate_error
from medinv.adapters.postgres import _sql as pg_sql
from medinv.chain import GENESIS_HASH, chain_hash
from medinv.errors import ConcurrencyError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, ProjectionMismatch
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
from medinv.testing.catalogue_stateful import catalogue_machine
from medinv.testing.contract import HOSTILE_ACTORS, LedgerStoreContract
from medinv.testing.stateful import ledger_machine

pytestmark = pytest.mark.postgres

ITEM = ItemKey("04006381333931", lot="L1")
AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
RECORDED = pendulum.datetime(2026, 11, 23, 8, 0, 0, 123456, tz="UTC")
STORE_A1 = Location.parse("Main/Store/A1")


@pytest.fixture
def store(postgres_dsn, postgres_schema) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
        yield opened


class TestPostgresStore(LedgerStoreContract):
    @pytest.fixture
    def store(self, postgres_dsn, postgres_schema):
        with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
            yield opened

    @pytest.fixture
    def reopen(self, postgres_dsn, postgres_schema):
        opened: list[PostgresStore] = []

        def reopen(store):
            store.close()
            opened.append(PostgresStore(postgres_dsn, schema=postgres_schema))
            return opened[-1]

        yield reopen
        for again in opened:
            again.close()


def _run_on_fresh_schemas(postgres_dsn, machine, prefix: str, steps: int) -> None:
    """Run a state machine made by ``machine(store_factory, name=...)``, a new schema a case."""
    schemas: list[str] = []

    def fresh_store() -> PostgresStore:
        schemas.append(f"{prefix}_{len(schemas)}_{uuid.uuid4().hex[:12]}")
        return PostgresStore(postgres_dsn, schema=schemas[-1])

    try:
        run_state_machine_as_test(
            machine(fresh_store, name=f"Postgres_{prefix}"),
            settings=settings(
                max_examples=10,
                stateful_step_count=steps,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
    finally:
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            for name in schemas:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    assert len(schemas) >= 5  # the machine ran on fresh PostgreSQL schemas


def test_postgres_store_agrees_with_the_memory_store(postgres_dsn):
    _run_on_fresh_schemas(postgres_dsn, ledger_machine, "machine", steps=20)


def test_postgres_catalogue_agrees_with_the_memory_catalogue(postgres_dsn):
    _run_on_fresh_schemas(postgres_dsn, catalogue_machine, "catalogue_machine", steps=15)


def receipt(movement_id: str, quantity: int = 5, item: ItemKey = ITEM, **kw) -> Movement:
    return Movement.receipt(
        movement_id, item=item, quantity=quantity, to=STORE_A1, occurred_at=AT, actor="x", **kw
    )


def commit_of(head: LedgerHead, *movements: Movement, first: bool = True) -> Commit:
    """A commit of receipts after ``head``, as the ledger would build it (no rule checks)."""
    recorded, prev, position = [], head.hash, head.position
    for m in movements:
        position += 1
        h = chain_hash(prev, m, position=position, recorded_at=RECORDED)
        recorded.append(
            RecordedMovement(
                movement=m, position=position, recorded_at=RECORDED, prev_hash=prev, hash=h
            )
        )
        prev = h
    totals: dict[tuple[ItemKey, Location, StockStatus], int] = {}
    for m in movements:
        for location, status, delta in m.deltas():
            key = (m.item, location, status)
            totals[key] = totals.get(key, 0) + delta
    changes = tuple(BalanceChange(i, loc, s, d) for (i, loc, s), d in totals.items() if d)
    items = {m.item for m in movements} if first else set()
    return Commit(
        expected_position=head.position,
        movements=tuple(recorded),
        balance_changes=changes,
        lots=tuple(
            {LotRecord(i.gtin.value, i.lot.value, None) for i in items if i.lot is not None}
        ),
        items=tuple(ItemRecord(item=i, first_received_at=AT) for i in items),
    )


# --------------------------------------------------------------------------- schema


def test_a_new_schema_is_created_at_the_current_version(store, postgres_dsn, postgres_schema):
    assert store.schema_version() == SCHEMA_VERSION
    assert store.head() == LedgerHead.empty()
    with psycopg.connect(postgres_dsn) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (postgres_schema,),
            )
        }
    assert tables == {
        "movements", "balances", "lots", "items", "head", "schema_version",
        "stocktakes", "stocktake_lines", "catalogue_versions", "catalogue_lookups",
        "movement_links", "catalogue_head", "reservations", "reservation_holds",
        "movement_tags", "feed_checkpoints", "recall_events",
        "sync_events", "sync_deliveries", "sync_conflicts", "sync_resolutions",
        "sync_gaps", "sync_cursors",
        "coldchain_excursions", "coldchain_decisions", "projections", "projection_rows",
    }  # fmt: skip


def test_reopening_does_not_migrate_twice_and_keeps_data(store, postgres_dsn, postgres_schema):
    store.append(commit_of(store.head(), receipt("r1")))
    head = store.head()
    store.close()
    with PostgresStore(postgres_dsn, schema=postgres_schema) as again:
        assert again.head() == head
        assert again.schema_version() == SCHEMA_VERSION
        assert again.movements_by_id(["r1"])["r1"].movement == receipt("r1")


@pytest.mark.usefixtures("store")
def test_a_newer_schema_is_refused(postgres_dsn, postgres_schema):
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("INSERT INTO {}.schema_version (version, description) VALUES (%s, 'x')").format(
                sql.Identifier(postgres_schema)
            ),
            (SCHEMA_VERSION + 1,),
        )
    with pytest.raises(StorageError, match=f"version {SCHEMA_VERSION + 1}, newer than"):
        PostgresStore(postgres_dsn, schema=postgres_schema)


def _open_and_read_head(dsn: str, schema: str) -> int:
    with PostgresStore(dsn, schema=schema) as opened:
        return opened.head().position


def test_many_processes_may_create_the_same_schema_at_once(postgres_dsn, postgres_schema):
    context = multiprocessing.get_context("fork")
    with warnings.catch_warnings():  # Python 3.12+ warns about fork with threads; we have none
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = context.Pool(4)
    with pool:
        heads = pool.starmap(_open_and_read_head, [(postgres_dsn, postgres_schema)] * 4)
    assert heads == [0, 0, 0, 0]
    with PostgresStore(postgres_dsn, schema=postgres_schema) as opened:
        assert opened.schema_version() == SCHEMA_VERSION


@pytest.mark.parametrize("name", ["Public", "a-b", "x;drop", "", "1abc", "a" * 64])
def test_schema_names_are_checked(postgres_dsn, name):
    with pytest.raises(StorageError, match="invalid PostgreSQL schema name"):
        PostgresStore(postgres_dsn, schema=name)


# --------------------------------------------------------------------------- connections


def test_a_given_connection_is_used_and_stays_open(postgres_dsn, postgres_schema):
    conn = psycopg.connect(postgres_dsn)  # not autocommit, idle
    with PostgresStore(conn, schema=postgres_schema) as opened:
        opened.append(commit_of(opened.head(), receipt("r1")))
        assert conn.autocommit
    assert not conn.closed
    with psycopg.connect(postgres_dsn) as other:  # committed, visible to others
        count = other.execute(
            sql.SQL("SELECT count(*) FROM {}.movements").format(sql.Identifier(postgres_schema))
        ).fetchone()
    assert count == (1,)
    conn.close()


def test_a_connection_inside_a_transaction_is_refused(postgres_dsn, postgres_schema):
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("SELECT 1")  # opens a transaction
        with pytest.raises(StorageError, match="inside a transaction"):
            PostgresStore(conn, schema=postgres_schema)


def test_anything_else_is_refused():
    with pytest.raises(StorageError, match="not int"):
        PostgresStore(42, schema="x")  # type: ignore[arg-type]


def test_an_unreachable_server_is_a_storage_error(tmp_path):
    with pytest.raises(StorageError, match=r"PostgreSQL failed connecting: OperationalError"):
        PostgresStore(f"host={tmp_path} port=1 dbname=nothing connect_timeout=2")


def test_a_closed_store_refuses_work_and_closes_once(store):
    store.close()
    store.close()
    for call in (
        store.head,
        lambda: store.append(commit_of(LedgerHead.empty(), receipt("r1"))),
        lambda: list(store.movements(MovementQuery())),
        lambda: list(store.balances_snapshot()),
        lambda: store.positions(PositionQuery()),
        lambda: store.movements_by_id(["r1"]),
    ):
        with pytest.raises(StorageError, match="is closed"):
            call()


def test_a_lost_connection_is_a_storage_error(store, postgres_dsn):
    pid = store._conn.info.backend_pid
    with psycopg.connect(postgres_dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(StorageError, match=r"PostgreSQL failed reading the ledger head") as info:
        store.head()
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    assert not isinstance(info.value, ConcurrencyError)
    assert store.head() == LedgerHead.empty()  # the next call connects again
    assert store._conn.info.backend_pid != pid


def test_a_given_broken_connection_is_not_replaced(postgres_dsn, postgres_schema):
    conn = psycopg.connect(postgres_dsn)
    with PostgresStore(conn, schema=postgres_schema) as store:
        conn.close()
        for _ in range(2):
            with pytest.raises(StorageError, match="reading the ledger head"):
                store.head()


# --------------------------------------------------------------------------- append


def test_a_stale_writer_gets_a_concurrency_error_and_writes_nothing(store):
    first = commit_of(store.head(), receipt("r1"))
    store.append(first)
    stale = commit_of(LedgerHead.empty(), receipt("r2"))
    with pytest.raises(ConcurrencyError) as info:
        store.append(stale)
    assert (info.value.expected, info.value.actual) == (0, 1)
    assert store.movements_by_id(["r2"]) == {}
    assert store.head().position == 1


def test_a_stored_id_is_a_concurrency_error_from_the_unique_index(store):
    store.append(commit_of(store.head(), receipt("r1")))
    again = commit_of(store.head(), receipt("r1", quantity=7), first=False)
    with pytest.raises(ConcurrencyError, match="a movement with this id is already stored") as info:
        store.append(again)
    assert isinstance(info.value.__cause__, pg_errors.UniqueViolation)
    assert store.head().position == 1
    assert [b[3] for b in store.balances_snapshot()] == [5]  # nothing of the batch applied


def test_a_second_reversal_is_a_concurrency_error(store):
    original = receipt("r1")
    store.append(commit_of(store.head(), original))
    rev = [Movement.reversal(f"x{n}", of=original, occurred_at=AT, actor="x") for n in (1, 2)]
    store.append(commit_of(store.head(), rev[0], first=False))
    with pytest.raises(ConcurrencyError, match="already reversed"):
        store.append(commit_of(store.head(), rev[1], first=False))
    assert store.reversals_of(["r1", "nope"]) == {"r1": "x1"}


def test_a_commit_not_chained_from_the_head_is_refused(store):
    store.append(commit_of(store.head(), receipt("r1")))
    wrong = commit_of(LedgerHead(1, "f" * 64), receipt("r2"), first=False)
    with pytest.raises(StorageError, match="malformed commit") as info:
        store.append(wrong)
    assert not isinstance(info.value, ConcurrencyError)
    assert store.head().position == 1


def test_an_empty_commit_is_a_no_op(store):
    store.append(Commit(expected_position=17, movements=()))
    assert store.head() == LedgerHead.empty()


def test_zero_balances_are_dropped_and_subtrees_are_exact(store):
    store.append(commit_of(store.head(), receipt("r1", quantity=3)))
    room = Location.parse("Main/Storeroom")
    moves = [
        Movement.transfer(
            "t1", item=ITEM, quantity=3, source=STORE_A1, to=room, occurred_at=AT, actor="x"
        ),
    ]
    store.append(commit_of(store.head(), *moves, first=False))
    assert [(str(b[1]), b[3]) for b in store.balances_snapshot()] == [("Main/Storeroom", 3)]
    assert store.positions(PositionQuery(location="Main/Store")) == []
    assert [p.quantity for p in store.positions(PositionQuery(location="Main/Storeroom"))] == [3]
    assert [p.quantity for p in store.positions(PositionQuery(location="Main"))] == [3]


def test_every_page_of_a_long_history_is_read(store, monkeypatch):
    monkeypatch.setattr(pg_sql, "PAGE", 3)
    store.append(commit_of(store.head(), *[receipt(f"r{n}", quantity=1) for n in range(8)]))
    other = ItemKey("04006381333931", lot="L2")
    store.append(commit_of(store.head(), *[receipt(f"o{n}", 1, other) for n in range(4)]))
    assert [r.position for r in store.movements(MovementQuery())] == list(range(1, 13))
    assert [r.position for r in store.movements(MovementQuery(lot="L2", after_position=9))] == [
        10,
        11,
        12,
    ]
    assert [r.position for r in store.movements(MovementQuery(up_to_position=4))] == [1, 2, 3, 4]
    snapshot = list(store.balances_snapshot())
    assert sorted(q for *_, q in snapshot) == [4, 8]


# --------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (pg_errors.UniqueViolation("dup"), ConcurrencyError),
        (pg_errors.SerializationFailure("ser"), ConcurrencyError),
        (pg_errors.DeadlockDetected("dead"), ConcurrencyError),
        (pg_errors.LockNotAvailable("lock"), ConcurrencyError),
        (psycopg.OperationalError("server closed the connection"), StorageError),
        (psycopg.InterfaceError("connection already closed"), StorageError),
        (pg_errors.CheckViolation("negative"), StorageError),
        (pg_errors.UndefinedTable("no table"), StorageError),
        (pg_errors.InsufficientPrivilege("denied"), StorageError),
        (pg_errors.DiskFull("full"), StorageError),
        (pg_errors.QueryCanceled("cancel"), StorageError),
        (psycopg.DataError("bad data"), StorageError),
    ],
)
def test_every_psycopg_error_becomes_a_storage_error(error, expected):
    translated = translate_error(error, "doing x", expected=3, actual=4)
    assert type(translated) is expected
    assert str(translated).startswith(
        "PostgreSQL refused doing x"
        if expected is ConcurrencyError
        else "PostgreSQL failed doing x"
    )
    assert type(error).__name__ in str(translated)


def test_the_check_constraint_guards_the_projection(store):
    store.append(commit_of(store.head(), receipt("r1", quantity=2)))
    m = Movement.issue("i1", item=ITEM, quantity=5, source=STORE_A1, occurred_at=AT, actor="x")
    with pytest.raises(StorageError, match=r"CheckViolation \[23514\]") as info:
        store.append(commit_of(store.head(), m, first=False))  # the ledger would refuse it first
    assert not isinstance(info.value, ConcurrencyError)
    assert store.head().position == 1


def test_a_tampered_unreadable_row_is_reported_with_its_position(
    store, postgres_dsn, postgres_schema
):
    store.append(commit_of(store.head(), receipt("r1")))
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("UPDATE {}.movements SET kind = 'TELEPORT'").format(
                sql.Identifier(postgres_schema)
            )
        )
    with pytest.raises(StorageError, match="position 1 is corrupt"):
        store.movements_by_id(["r1"])


def test_genesis_is_the_empty_head():
    assert LedgerHead.empty().hash == GENESIS_HASH


# --------------------------------------------------------------------------- through the ledger

CLOCK = lambda: RECORDED  # noqa: E731  (a fixed clock)


def _seed(ledger: Ledger) -> None:
    room = Location.parse("Main/Storeroom")
    ledger.post([receipt(f"r{n}", quantity=10, expiry="2027-06-30") for n in range(3)])
    ledger.post(
        [
            Movement.transfer(
                "t1", item=ITEM, quantity=4, source=STORE_A1, to=room, occurred_at=AT, actor="x"
            ),
            Movement.issue("i1", item=ITEM, quantity=3, source=room, occurred_at=AT, actor="y"),
        ]
    )
    issued = ledger.movement("i1")
    assert issued is not None
    ledger.post([Movement.reversal("i1-R", of=issued.movement, occurred_at=AT, actor="z")])


TAMPERING = {
    "edit quantity": "UPDATE {t} SET quantity = quantity + 1 WHERE position = %(p)s",
    "edit actor": "UPDATE {t} SET actor = actor || ' ' WHERE position = %(p)s",
    "edit reason": "UPDATE {t} SET reason = 'changed' WHERE position = %(p)s",
    "edit location": "UPDATE {t} SET to_location = CASE WHEN to_location IS NULL THEN NULL"
    " ELSE 'Main/Elsewhere' END, from_location = CASE WHEN from_location IS NULL THEN NULL"
    " ELSE 'Main/Other' END WHERE position = %(p)s",
    "edit occurred_at offset": "UPDATE {t} SET occurred_at = replace(occurred_at, '+01:00', '+00:00')"
    " WHERE position = %(p)s",
    "edit recorded_at": "UPDATE {t} SET recorded_at = '2026-11-23T08:00:01+00:00' WHERE position = %(p)s",
    "delete": "DELETE FROM {t} WHERE position = %(p)s",
    "reorder": "UPDATE {t} SET position = CASE WHEN position = %(p)s THEN -1 ELSE %(p)s END"
    " WHERE position IN (%(p)s, %(p)s + 1); UPDATE {t} SET position = %(p)s + 1 WHERE position = -1",
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_tampering_with_any_stored_movement_row_is_detected(
    store, postgres_dsn, postgres_schema, tampering
):
    ledger = Ledger(store, clock=CLOCK)
    _seed(ledger)
    head = ledger.head()
    assert ledger.verify().ok
    table = sql.Identifier(postgres_schema, "movements")
    backup = sql.Identifier(postgres_schema, "pristine")
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE TABLE {} AS SELECT * FROM {}").format(backup, table))
        last = head.position - 1 if tampering == "reorder" else head.position
        for position in range(1, last + 1):
            with conn.transaction():
                for statement in TAMPERING[tampering].split("; "):
                    done = conn.execute(sql.SQL(statement).format(t=table), {"p": position})
                    assert done.rowcount >= 1, (tampering, position)
            report = ledger.verify()
            assert not report.ok, (tampering, position)
            with conn.transaction():
                conn.execute(sql.SQL("TRUNCATE {}").format(table))
                conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(table, backup))
            assert ledger.verify().ok


def test_tampering_with_the_projection_is_detected(store, postgres_dsn, postgres_schema):
    ledger = Ledger(store, clock=CLOCK)
    _seed(ledger)
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "UPDATE {} SET quantity = quantity + 2 WHERE location = 'Main/Storeroom'"
            ).format(sql.Identifier(postgres_schema, "balances"))
        )
    (found,) = ledger.verify().findings
    assert isinstance(found, ProjectionMismatch)
    assert (found.stored, found.rebuilt) == (6, 4)


HOSTILE = [
    'it\'s "quoted"; DROP TABLE movements; --',
    "back\\slash \\N \\. tab\there\nnew line\r\n",
    "ünïcödé \u2013 日本語 \u2013 עברית \u2013 🧪💉 \u2013 e\u0301 \u2013 \u200b\ufeff",
    "%_ LIKE wildcards %% __",
    "x" * 200_000,
]


def test_hostile_text_is_stored_and_returned_verbatim(store, postgres_dsn, postgres_schema):
    ledger = Ledger(store, clock=CLOCK)
    odd = Location(("Main", "Shelf 'A'; %_\\", 'Bin "1" ü'))
    sibling = Location(("Main", "Shelf 'A'; %_\\x"))
    item = ItemKey("04006381333931", lot="L'%;_\"&", serial="S/1*+")
    moves = []
    for n, text in enumerate(HOSTILE):
        moves.append(
            Movement.receipt(
                f"id {text[:150]} {n}",
                item=ItemKey("04006381333931", lot=f"L{n}"),
                quantity=1,
                to=odd,
                occurred_at=AT,
                actor=HOSTILE_ACTORS[n % len(HOSTILE_ACTORS)],
                reason=text,
                reference=text,
            )
        )
    moves.append(
        Movement.receipt("serial", item=item, quantity=1, to=odd, occurred_at=AT, actor="a")
    )
    moves.append(
        Movement.receipt(
            "sib",
            item=ItemKey("04006381333931", lot="L0"),
            quantity=7,
            to=sibling,
            occurred_at=AT,
            actor="a",
        )
    )
    ledger.post(moves)
    store.close()
    with PostgresStore(postgres_dsn, schema=postgres_schema) as again:
        reread = Ledger(again, clock=CLOCK)
        back = again.movements_by_id([m.id for m in moves])
        for m in moves:
            assert back[m.id].movement == m
            assert (back[m.id].movement.reason, back[m.id].movement.actor) == (m.reason, m.actor)
        assert reread.balance(location=odd) == len(HOSTILE) + 1  # not the sibling's 7
        assert reread.balance(location=Location(("Main", "Shelf 'A'; %_\\"))) == len(HOSTILE) + 1
        assert reread.balance(lot="L'%;_\"&") == 1
        assert reread.balance(serial="S/1*+") == 1
        assert [r.movement.id for r in reread.history(serial="S/1*+")] == ["serial"]
        assert reread.verify().ok


def test_a_writer_that_waits_too_long_for_the_head_lock_gets_a_concurrency_error(
    postgres_dsn, postgres_schema
):
    timed = f"{postgres_dsn} options='-c lock_timeout=100ms'"
    with PostgresStore(timed, schema=postgres_schema) as store:
        commit = commit_of(store.head(), receipt("r1"))
        with psycopg.connect(postgres_dsn) as holder:
            holder.execute(
                sql.SQL("SELECT * FROM {} FOR UPDATE").format(
                    sql.Identifier(postgres_schema, "head")
                )
            )  # another writer's transaction holds the head
            with pytest.raises(ConcurrencyError, match=r"LockNotAvailable \[55P03\]") as info:
                store.append(commit)
            assert isinstance(info.value.__cause__, pg_errors.LockNotAvailable)
            holder.rollback()
        store.append(commit)  # once the lock is free, the same commit goes through
        assert store.head().position == 1
