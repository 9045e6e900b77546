"""One name for a stored movement as the domain reads it: `medinv.journal.StoredMovement`."""

from __future__ import annotations

import importlib

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.allocation import FefoIndex
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.journal import RecordedMovement, StoredMovement
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.stocktake import TimedMovement, expected_quantities

ITEM = ItemKey("04006381333931", lot="L1")
BIN = Location.parse("Main/A1")
AT = pendulum.datetime(2026, 11, 23, 9, tz="UTC")


def receipt(movement_id: str = "r1", quantity: int = 5) -> Movement:
    return Movement.receipt(
        movement_id, item=ITEM, quantity=quantity, to=BIN, occurred_at=AT, actor="jm"
    )


def read(record: StoredMovement) -> tuple[str, int, pendulum.DateTime]:
    """What the domain reads of a stored movement (type-checked against the protocol)."""
    return record.movement.id, record.position, record.recorded_at


def test_a_recorded_movement_and_a_timed_movement_are_stored_movements() -> None:
    recorded: RecordedMovement = Ledger(MemoryStore(), clock=lambda: AT).post([receipt()]).new[0]
    assert read(recorded) == ("r1", 1, AT)
    assert read(TimedMovement(receipt(), AT)) == ("r1", 0, AT)
    assert read(TimedMovement(receipt(), AT, position=7)) == ("r1", 7, AT)


def test_the_stocktake_and_the_fefo_index_read_the_same_records() -> None:
    ledger = Ledger(MemoryStore(), clock=lambda: AT)
    records = ledger.post([receipt("r1", 5), receipt("r2", 3)]).new
    key = (ITEM, BIN, StockStatus.AVAILABLE)
    assert expected_quantities({}, records, {key: AT}, closed_at=AT)[key] == 8
    index = FefoIndex()
    index.apply(records)
    assert index.position == 2
    # A plain record carrying a position is applied like the ledger's own.
    plain = FefoIndex()
    plain.apply([TimedMovement(r.movement, r.recorded_at, position=r.position) for r in records])
    assert plain.position == 2
    assert plain.positions() == index.positions()


@pytest.mark.parametrize("position", [-1, True, 1.5, "3"])
def test_a_timed_movement_refuses_a_position_that_is_not_a_whole_number_from_0(
    position: object,
) -> None:
    with pytest.raises(InvalidValueError, match="position is a whole number from 0"):
        TimedMovement(receipt(), AT, position=position)  # type: ignore[arg-type]


def test_a_timed_movement_refuses_what_is_not_a_movement() -> None:
    with pytest.raises(InvalidValueError, match="needs a Movement, not str"):
        TimedMovement("r1", AT)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("old", "name"),
    [("medinv.allocation", "RecordedLike"), ("medinv.stocktake", "MovementRecord")],
)
def test_the_old_names_are_deprecated_aliases_of_the_one_protocol(old: str, name: str) -> None:
    module = importlib.import_module(old)
    assert name not in module.__all__
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to medinv\.journal\."):
        assert getattr(module, name) is StoredMovement
