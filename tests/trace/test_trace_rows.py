"""Light rows: a stored row no movement could have written is a StorageError naming its position."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from medinv import _windows
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery, MovementRow
from medinv.trace import Tracer, TraceSubject

from ._scenario import GTIN, build, day


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda fields: fields[:5], "has 5 fields"),
        (lambda fields: [*fields[:5], "07", *fields[6:]], "canonical decimal"),
        (lambda fields: [*fields[:10], "AVAILABLE", *fields[11:]], "must be '-' or start"),
        (lambda fields: [*fields[:6], "tuesday", *fields[7:]], "cannot be read back"),
    ],
)
def test_a_corrupt_row_is_refused_with_its_position(
    tmp_path: Path, edit: object, message: str
) -> None:
    path = tmp_path / "ledger.db"
    with SqliteStore(path) as store:
        build(store)
        subject = TraceSubject.of_lot(GTIN, "L-777")
        (first, *_) = store.movements(subject.query())
    with sqlite3.connect(path) as db:
        (content,) = db.execute(
            "SELECT content FROM movements WHERE position = ?", (first.position,)
        ).fetchone()
        fields = edit(content.split("\x00"))  # type: ignore[operator]
        db.execute(
            "UPDATE movements SET content = ? WHERE position = ?",
            ("\x00".join(fields), first.position),
        )
    with SqliteStore(path) as store:
        with pytest.raises(StorageError, match=message) as caught:
            Tracer(store).forward(subject)
        assert f"position {first.position}" in str(caught.value)
        with pytest.raises(StorageError):
            Tracer(store).where(subject, at=day(40))


def test_an_occurred_at_window_is_of_instants(tmp_path: Path) -> None:
    """The light rows of a window equal the movements of it, whatever the offsets."""
    with SqliteStore(tmp_path / "ledger.db") as store:
        build(store)
        for start, end in ((day(1), day(3)), (None, day(2)), (day(2), None)):
            query = MovementQuery(lot="L-777", occurred_from=start, occurred_to=end)
            assert [r.position for r in store.movement_rows(query)] == [
                r.position for r in store.movements(query)
            ]


@pytest.mark.postgres
def test_a_corrupt_postgres_instant_is_refused_with_its_position(
    postgres_dsn: str, postgres_schema: str
) -> None:
    """PostgreSQL's rows are read in pages; an instant no movement has names its row."""
    import psycopg  # noqa: PLC0415  (the postgres extra)
    from psycopg import sql  # noqa: PLC0415

    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415

    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        build(store)
        subject = TraceSubject.of_lot(GTIN, "L-777")
        (first, *_) = store.movements(subject.query())
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL(
                    "UPDATE {}.movements SET occurred_at = 'tuesday' WHERE position = %s"
                ).format(sql.Identifier(postgres_schema)),
                (first.position,),
            )
        where = f"position {first.position}"
        with pytest.raises(StorageError, match="cannot be read back") as caught:
            Tracer(store).forward(subject)
        assert where in str(caught.value)
        with pytest.raises(StorageError, match="cannot be read back") as caught:
            Tracer(store).where(subject, at=day(40))
        assert where in str(caught.value)
        with pytest.raises(StorageError, match="is corrupt") as caught:
            list(store.movement_rows(subject.query(occurred_to=day(40))))
        assert where in str(caught.value)


def test_window_pages_hand_on_whole_pages_and_grow_at_most_growth_times() -> None:
    """A store reading windows in pages: every page handed on whole, the windows sized
    from the rows of the last (at least the first window, at most ``growth`` times it)."""
    reads: list[tuple[int, int]] = []

    def read(after: int, last: int) -> Iterator[list[int]]:
        reads.append((after, last))
        found = [p for p in range(after + 1, last + 1) if p % 1000 == 0 or p > 90_000]
        yield found[:100]
        if found[100:]:
            yield found[100:]

    pages = list(_windows.window_pages(0, 100_000, read, growth=16))
    assert [p for page in pages for p in page] == [
        p for p in range(1, 100_001) if p % 1000 == 0 or p > 90_000
    ]
    assert reads[0] == (0, _windows.FIRST_WINDOW)
    assert reads[-1][1] == 100_000
    assert all(b[0] == a[1] for a, b in itertools.pairwise(reads))  # no gap, no overlap
    sizes = [last - after for after, last in reads]
    assert all(n <= 16 * m for m, n in itertools.pairwise(sizes))
    assert max(sizes[1:3]) > 4 * _windows.FIRST_WINDOW  # a sparse stretch: more than 4 times
    assert len(reads) < 10


@pytest.mark.postgres
def test_a_burst_after_a_sparse_stretch_is_read_whole_in_short_ranges(
    postgres_dsn: str, postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A window grown over a sparse stretch that meets a burst: every row once, in order,
    and after a full page each query spans about the positions that page did."""
    from medinv.adapters.postgres import PostgresStore  # noqa: PLC0415  (needs the driver)

    monkeypatch.setattr("medinv.adapters.postgres._store._ROW_PAGE", 4)
    lot, other = ItemKey(GTIN, lot="BURST"), ItemKey(GTIN, lot="FILLER")
    bin_ = Location.parse("North/Store/Bin-1")
    with PostgresStore(postgres_dsn, schema=postgres_schema) as store:
        ledger = Ledger(store)
        n = 0

        def receipt(item: ItemKey) -> Movement:
            nonlocal n
            n += 1
            return Movement.receipt(
                f"M-{n}", item=item, quantity=1, to=bin_, occurred_at=day(1), actor="t"
            )

        ledger.post([receipt(lot)])
        ledger.post([receipt(other) for _ in range(5_000)])  # the windows grow over it
        ledger.post([receipt(lot) for _ in range(40)])  # then a burst
        ledger.post([receipt(other) for _ in range(10)] + [receipt(lot)])
        ranges: list[tuple[int, int, int]] = []
        conn = store._open()  # counting the store's own queries
        execute = conn.execute

        def counted(query: Any, params: Any = None, **kwargs: Any) -> Any:
            cursor = execute(query, params, **kwargs)
            if "LIMIT" in str(query):
                ranges.append((params[0], params[-2], cursor.rowcount))
            return cursor

        monkeypatch.setattr(conn, "execute", counted)
        query = TraceSubject.of_lot(GTIN, "BURST").query()
        rows = list(store.movement_rows(query))
        monkeypatch.undo()
        assert rows == [MovementRow.of(r) for r in store.movements(query)]
        assert len(rows) == 42
        full = [(start, end) for start, end, found in ranges if found == 4]
        assert full  # the burst took several pages
        for (start, _, found), (next_start, next_end, _) in itertools.pairwise(ranges):
            if found == 4:  # after a full page: a range of about the positions it spanned
                assert next_end - next_start <= next_start - start


def test_where_reads_the_subject_once_and_the_head_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As known at an earlier position, the point in time reads the subject's rows up to
    the head in one pass (the late ones are those after the position) and the head once:
    each call is a series of round trips on PostgreSQL."""
    with SqliteStore(tmp_path / "ledger.db") as store:
        build(store)
        subject = TraceSubject.of_lot(GTIN, "L-777")
        head = store.head().position
        expected = Tracer(store).where(subject, at=day(4), known_at=head // 2)
        calls: list[str] = []
        read, head_of = store.movement_rows, store.head

        def movement_rows(query: MovementQuery) -> Iterator[MovementRow]:
            calls.append("rows")
            return read(query)

        def counted_head() -> Any:
            calls.append("head")
            return head_of()

        monkeypatch.setattr(store, "movement_rows", movement_rows)
        monkeypatch.setattr(store, "head", counted_head)
        found = Tracer(store).where(subject, at=day(4), known_at=head // 2)
        assert found == expected
        assert found.late  # the scenario's backdated consumption, recorded last
        assert calls == ["head", "rows"]
