"""`Ledger.positions` takes the expiry filters of `PositionQuery`, now and as of a position."""

from __future__ import annotations

from pathlib import Path

import pendulum
import pytest

from medinv import ItemKey, Ledger, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import InvalidValueError
from medinv.ports import LedgerStore

AT = "2026-11-23T09:00:00+01:00"
STORE = Location.parse("CHU/Store/A1")
LOTS = {"L26": "2026-12-31", "L27": "2027-06-30", "L28": "2028-01-31"}


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LedgerStore:
    if request.param == "memory":
        return MemoryStore()
    return SqliteStore(tmp_path / "ledger.db")


def _ledger(store: LedgerStore) -> Ledger:
    ledger = Ledger(store)
    ledger.post(
        [
            Movement.receipt(
                f"r-{lot}",
                item=ItemKey("04006381333931", lot=lot),
                quantity=10,
                to=STORE,
                occurred_at=AT,
                actor="dock",
                expiry=expiry,
            )
            for lot, expiry in LOTS.items()
        ]
        + [
            Movement.receipt(
                "r-plain",
                item=ItemKey("09501101530003"),
                quantity=4,
                to=STORE,
                occurred_at=AT,
                actor="dock",
            )
        ]
    )
    ledger.post(
        [
            Movement.issue(
                "i-L27",
                item=ItemKey("04006381333931", lot="L27"),
                quantity=10,
                source=STORE,
                occurred_at=AT,
                actor="ward",
            )
        ]
    )
    return ledger


def _lots(found: list[object]) -> list[str | None]:
    return [p.item.lot.value if p.item.lot else None for p in found]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("filters", "now", "before_issue"),
    [
        ({}, ["L26", "L28", None], ["L26", "L27", "L28", None]),
        ({"expires_before": "2027-07-01"}, ["L26"], ["L26", "L27"]),
        ({"expires_from": "2027-06-30"}, ["L28"], ["L27", "L28"]),
        (
            {"expires_from": pendulum.date(2027, 1, 1), "expires_before": "2028-02-01"},
            ["L28"],
            ["L27", "L28"],
        ),
        ({"has_expiry": True}, ["L26", "L28"], ["L26", "L27", "L28"]),
        ({"has_expiry": False}, [None], [None]),
    ],
)
def test_expiry_filters_now_and_as_of_a_position(
    store: LedgerStore,
    filters: dict[str, object],
    now: list[str | None],
    before_issue: list[str | None],
) -> None:
    ledger = _ledger(store)
    assert _lots(ledger.positions(**filters)) == now  # type: ignore[arg-type]
    assert _lots(ledger.positions(as_of_position=4, **filters)) == before_issue  # type: ignore[arg-type]
    head = ledger.head().position
    # As of the head, the replayed answer is the stored one.
    assert ledger.positions(as_of_position=head, **filters) == ledger.positions(**filters)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"expires_before": "soon"}, "ISO date"),
        ({"expires_from": "2027-01-01", "expires_before": "2027-01-01"}, "empty expiry window"),
        ({"has_expiry": False, "expires_before": "2027-01-01"}, "has_expiry=False"),
    ],
)
def test_bad_expiry_filters_are_refused(
    store: LedgerStore, filters: dict[str, object], message: str
) -> None:
    ledger = _ledger(store)
    with pytest.raises(InvalidValueError, match=message):
        ledger.positions(**filters)  # type: ignore[arg-type]
