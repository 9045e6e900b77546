"""A trace reads the subject's movements through an index on SQLite and PostgreSQL, never a scan.

SQLite: every statement the store runs for a trace (caught with the connection's
trace callback) is planned with ``EXPLAIN QUERY PLAN``: none scans ``movements``.
PostgreSQL: the store's movement query with the item filters of a lot and of a
serial (built by the function the store builds them with) is planned with
sequential scans disabled: it must find an index for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medinv.adapters._codec import item_filters
from medinv.adapters.sqlite import SqliteStore
from medinv.trace import Tracer, TraceSubject

from ._scenario import GTIN, build, day

SUBJECTS = (TraceSubject.of_lot(GTIN, "L-777"), TraceSubject.of_serial(GTIN, "L-777"))


def test_sqlite_reads_a_trace_through_indexes(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "ledger.db") as store:
        build(store)
        db: Any = store._db  # the test watches the store's own statements
        statements: list[str] = []
        db.set_trace_callback(statements.append)
        try:
            tracer = Tracer(store)
            for subject in SUBJECTS:
                tracer.forward(subject)
                tracer.where(subject, at=day(4), known_at=10)
        finally:
            db.set_trace_callback(None)
        reads = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
        movement_reads = [s for s in reads if "item_keys" in s]
        assert len(movement_reads) >= 4
        for statement in reads:
            plan = " / ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + statement))
            assert "SCAN movements" not in plan, (statement, plan)
        for statement in movement_reads:
            plan = " / ".join(row[-1] for row in db.execute("EXPLAIN QUERY PLAN " + statement))
            assert "USING INDEX movements_by_period_item" in plan, plan


@pytest.mark.postgres
def test_postgresql_has_an_index_for_a_trace(postgres_dsn: str, postgres_schema: str) -> None:
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs the driver)

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        build(store)
        conn: Any = store._open()  # the store's own connection and SQL
        base = store._sql["movements"]
        with conn.transaction():
            conn.execute("SET LOCAL enable_seqscan = off")
            for subject in SUBJECTS:
                conditions, params = item_filters(subject.query(up_to_position=20), "%s")
                text = base + "".join(f" AND {c}" for c in conditions)
                text += " AND position <= %s ORDER BY position LIMIT %s"
                rows = conn.execute("EXPLAIN " + text, [0, *params, 20, 1000]).fetchall()
                plan = " / ".join(row[0] for row in rows)
                assert "Index" in plan and "Seq Scan" not in plan, plan
