"""Light rows: a stored row no movement could have written is a StorageError naming its position."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.errors import StorageError
from medinv.ports import MovementQuery
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
