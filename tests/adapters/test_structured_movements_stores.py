"""Counterparty and business references on each store: tampering, old files, indexed queries."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pendulum
import psycopg
import pytest
from psycopg import sql

from medinv import verification
from medinv.adapters.memory import MemoryStore
from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import BusinessReference, PartyRef
from medinv.identifiers import ItemKey
from medinv.ledger import HashMismatch, Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore, MovementQuery
from medinv.verification import ColumnMismatch

DATA = Path(__file__).parent.parent / "data"
ITEM = ItemKey("04006381333931", lot="L1")
STORE, WARD = Location.parse("CHU/Store/A1"), Location.parse("CHU/Ward")
AT = "2026-11-23T09:00:00+01:00"
CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
PATIENT = PartyRef(kind="PATIENT", id="P-000123")
PROCEDURE = BusinessReference(type="procedure", id="OP-2026-77")


def post_sample(store: LedgerStore) -> Ledger:
    ledger = Ledger(store, clock=lambda: CLOCK)
    ledger.post(
        [
            Movement.receipt(
                "R-1", item=ITEM, quantity=10, to=STORE, occurred_at=AT, actor="a",
                counterparty="SUPPLIER:ACME", business_references=["po:PO-1", "desadv:DN-1"],
            ),
            Movement.consumption(
                "C-1", item=ITEM, quantity=2, source=STORE, occurred_at=AT, actor="a",
                counterparty=PATIENT, business_references=[PROCEDURE],
            ),
            Movement.issue("I-1", item=ITEM, quantity=1, source=STORE, occurred_at=AT, actor="a"),
        ]
    )  # fmt: skip
    assert ledger.verify().ok
    return ledger


def mismatches(store: LedgerStore) -> list[int]:
    return [f.position for f in Ledger(store).verify().findings if isinstance(f, HashMismatch)]


# ---------------------------------------------------------------------- tampering


@pytest.mark.parametrize(
    "change",
    [
        {"counterparty": PartyRef(kind="PATIENT", id="P-000999")},
        {"counterparty": None},
        {"business_references": ()},
        {"business_references": (PROCEDURE, BusinessReference(type="po", id="PO-9"))},
    ],
)
def test_memory_tampered_counterparty_or_reference_is_found(change: dict[str, Any]) -> None:
    store = MemoryStore()
    post_sample(store)
    row = store._movements[1]
    store._movements[1] = attrs.evolve(row, movement=attrs.evolve(row.movement, **change))
    assert mismatches(store) == [2]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("PATIENT:P-000123", "PATIENT:P-000999"),
        ("OP-2026-77", "OP-2026-78"),
        ('["procedure","OP-2026-77"]', '["procedure","OP-2026-77"],["po","X"]'),
    ],
)
def test_sqlite_tampered_counterparty_or_reference_is_found(
    tmp_path: Path, old: str, new: str
) -> None:
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        post_sample(store)
        done = store._db.execute(
            "UPDATE movements SET content = replace(content, ?, ?) WHERE id = 'C-1'", (old, new)
        )
        assert done.rowcount == 1
        assert mismatches(store) == [2]


def test_sqlite_structure_added_to_an_old_movement_is_found(tmp_path: Path) -> None:
    """Two fields appended to a movement that had none change its hash too."""
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        post_sample(store)
        store._db.execute(
            "UPDATE movements SET content = content || char(0) || '+PATIENT:P-000123' "
            "|| char(0) || '-' WHERE id = 'I-1'"
        )
        assert mismatches(store) == [3]


@pytest.mark.parametrize(
    ("statement", "position"),
    [
        ("DELETE FROM movement_links WHERE link = 'party:PATIENT:P-000123'", 2),
        ("UPDATE movement_links SET position = 3 WHERE link = 'ref:procedure:OP-2026-77'", 2),
        ("INSERT INTO movement_links VALUES ('party:PATIENT:P-000999', 3)", 3),
    ],
)
def test_sqlite_an_edited_link_index_is_found(
    tmp_path: Path, statement: str, position: int
) -> None:
    """The index answers "what did this patient receive": verify() checks it against the content."""
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        post_sample(store)
        assert store._db.execute(statement).rowcount == 1
        findings = Ledger(store).verify().findings
        assert findings, "the edited index went unnoticed"
        assert {(type(f), f.position, f.column) for f in findings} >= {  # type: ignore[attr-defined]
            (ColumnMismatch, position, "movement links")
        }


@pytest.fixture
def pg_store(postgres_dsn: str, postgres_schema: str) -> Iterator[PostgresStore]:
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        post_sample(store)
        yield store


@pytest.mark.parametrize(
    "assignment",
    [
        "counterparty = 'PATIENT:P-000999'",
        "counterparty = NULL",
        'business_references = \'[["procedure","OP-2026-78"]]\'',
        "business_references = NULL",
    ],
)
def test_postgres_tampered_counterparty_or_reference_is_found(
    pg_store: PostgresStore, postgres_dsn: str, postgres_schema: str, assignment: str
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        done = conn.execute(
            sql.SQL("UPDATE {}.movements SET " + assignment + " WHERE id = 'C-1'").format(  # noqa: S608
                sql.Identifier(postgres_schema)
            )
        )
        assert done.rowcount == 1
    assert mismatches(pg_store) == [2]


# ---------------------------------------------------------------------- old ledgers


def test_a_ledger_file_of_the_previous_release_reads_back_and_verifies(tmp_path: Path) -> None:
    """Every stored hash is unchanged: movements without the new fields encode as before."""
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "ledger-schema4.sqlite3", path)
    with sqlite3.connect(path) as raw:
        before = raw.execute("SELECT position, content, hash FROM movements").fetchall()
    assert before
    with SqliteStore(path) as store:
        ledger = Ledger(store)
        assert ledger.verify().ok
        stored = list(store.movements(MovementQuery()))
        assert [(r.position, r.hash) for r in stored] == [(p, h) for p, _, h in before]
        assert all(r.movement.counterparty is None for r in stored)
        assert all(r.movement.business_references == () for r in stored)
        # ... and the migrated file takes movements with the new fields.
        first = stored[0].movement
        ledger.post(
            [
                Movement.issue(
                    "NEW-1", item=first.item, quantity=1, source=first.to_location or STORE,
                    occurred_at=first.occurred_at, actor="a", counterparty=PATIENT,
                )
            ]
        )  # fmt: skip
        assert ledger.verify().ok
        assert [r.movement.id for r in store.movements(MovementQuery(counterparty=PATIENT))] == [
            "NEW-1"
        ]


# ---------------------------------------------------------------------- query plans


def test_sqlite_queries_by_counterparty_and_reference_use_the_link_index(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        post_sample(store)
        statements: list[str] = []
        store._db.set_trace_callback(statements.append)
        for query in (
            MovementQuery(counterparty=PATIENT),
            MovementQuery(business_reference=PROCEDURE, lot="L1", up_to_position=5),
        ):
            statements.clear()
            assert [r.movement.id for r in store.movements(query)] == ["C-1"]
            [select] = [s for s in statements if s.startswith("SELECT")]
            store._db.set_trace_callback(None)
            plan = " | ".join(
                row[-1] for row in store._db.execute("EXPLAIN QUERY PLAN " + select).fetchall()
            )
            store._db.set_trace_callback(statements.append)
            assert "SEARCH movement_links USING PRIMARY KEY (link=?" in plan, plan
            assert "SEARCH movements USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
            assert "SCAN movements" not in plan, plan


def test_postgres_queries_by_counterparty_and_reference_use_the_link_index(
    pg_store: PostgresStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, list[object]]] = []
    pages = pg_store._pages

    def spy(text: str, after: int, params: list[object]) -> Any:
        seen.append((text, [after, *params, 5000]))
        return pages(text, after, params)

    monkeypatch.setattr(pg_store, "_pages", spy)
    for query in (
        MovementQuery(counterparty=PATIENT),
        MovementQuery(business_reference=PROCEDURE, lot="L1"),
    ):
        seen.clear()
        assert [r.movement.id for r in pg_store.movements(query)] == ["C-1"]
        [(text, params)] = seen
        conn = pg_store._conn
        with conn.transaction():
            conn.execute(
                "SET LOCAL enable_seqscan = off"
            )  # a tiny table: ask for the plan at scale
            plan = "\n".join(row[0] for row in conn.execute("EXPLAIN " + text, params).fetchall())
        assert "movement_links_key" in plan, plan
        assert "Seq Scan" not in plan, plan


def test_sqlite_link_index_is_merged_chunk_by_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Verification holds a few movements at a time; what it finds does not depend on it."""
    monkeypatch.setattr(verification, "_LINKS_CHUNK", 3)
    with SqliteStore(tmp_path / "l.sqlite3") as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        ledger.post(
            [Movement.receipt("R", item=ITEM, quantity=100, to=STORE, occurred_at=AT, actor="a")]
        )
        ledger.post(
            [
                Movement.issue(
                    f"I-{n}", item=ITEM, quantity=1, source=STORE, occurred_at=AT, actor="a",
                    counterparty=f"DEPARTMENT:D{n % 3}" if n % 4 else None,
                )
                for n in range(1, 21)
            ]
        )  # fmt: skip
        assert ledger.verify().ok
        db = store._db
        db.execute("DELETE FROM movement_links WHERE position = 3")  # first chunk
        db.execute("INSERT INTO movement_links VALUES ('party:DEPARTMENT:D9', 9)")  # no party
        db.execute("DELETE FROM movement_links WHERE position = 10")  # same chunk as 9
        db.execute("UPDATE movement_links SET link = 'party:SITE:X' WHERE position = 20")  # last
        db.execute("INSERT INTO movement_links VALUES ('party:SITE:Y', 'text')")  # nonsense
        findings = [f for f in Ledger(store).verify().findings if isinstance(f, ColumnMismatch)]
        assert [(f.position, f.stored, f.content) for f in findings] == [
            (3, "[]", "['party:DEPARTMENT:D2']"),
            (9, "['party:DEPARTMENT:D9']", "[]"),
            (10, "[]", "['party:DEPARTMENT:D0']"),
            (20, "['party:SITE:X']", "['party:DEPARTMENT:D1']"),
            (-1, "['party:SITE:Y']", "[]"),
        ]
