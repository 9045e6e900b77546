"""Pick sequences in the FEFO index: given for locations and their subtrees, changed in place."""

from __future__ import annotations

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.allocation import AllocationRequest, FefoIndex
from medinv.catalogue import LocationKind, LocationProfile
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.ports import LedgerStore
from medinv.services import (
    index_from_ledger,
    pick_sequences_from,
    sync_index,
    sync_pick_sequences,
)
from medinv.status import StockStatus

GTIN = "04006381333931"
EXPIRY = pendulum.date(2027, 6, 30)
RECEIVED = pendulum.datetime(2026, 11, 1, 8, tz="UTC")
USE = pendulum.date(2026, 11, 23)
BINS = ("H/A/1", "H/A/2", "H/B/1")


def position(lot: str, path: str, quantity: int = 5, sequence: int = 0) -> StockPosition:
    return StockPosition(
        item=ItemKey(GTIN, lot=lot),
        location=Location.parse(path, pick_sequence=sequence),
        status=StockStatus.AVAILABLE,
        quantity=quantity,
        expiry=EXPIRY,
        received_at=RECEIVED,
    )


def walk(index: FefoIndex, quantity: int = 15) -> list[str]:
    """The bins a plan for ``quantity`` units walks, in order."""
    plan = index.allocate(AllocationRequest.of(GTIN, quantity, use_date=USE))
    return [str(pick.location) for pick in plan.picks]


def same_lot_everywhere() -> list[StockPosition]:
    """One lot in three bins: only the pick sequence (then the path) orders them."""
    return [position("L1", path) for path in BINS]


def test_without_pick_sequences_the_path_decides() -> None:
    assert walk(FefoIndex.from_positions(same_lot_everywhere())) == list(BINS)


def test_a_subtree_takes_its_nearest_ancestors_pick_sequence() -> None:
    index = FefoIndex.from_positions(
        same_lot_everywhere(), pick_sequences={"H/A": 20, "H/B": 10, "H/A/2": 5}
    )
    assert walk(index) == ["H/A/2", "H/B/1", "H/A/1"]
    assert index.pick_sequence_of("H/A/1") == 20
    assert index.pick_sequence_of(Location.parse("H/A/9")) == 20  # never seen: its ancestor's
    assert index.pick_sequence_of("Elsewhere") == 0
    index._check()


def test_a_catalogue_sequence_wins_over_the_locations_own() -> None:
    positions = [position("L1", "H/A/1", sequence=1), position("L1", "H/B/1", sequence=2)]
    assert walk(FefoIndex.from_positions(positions), 10) == ["H/A/1", "H/B/1"]
    index = FefoIndex.from_positions(positions, pick_sequences={"H/A": 9})
    assert walk(index, 10) == ["H/B/1", "H/A/1"]
    index.register_location(Location.parse("H/A/1", pick_sequence=0))
    assert index.pick_sequence_of("H/A/1") == 9  # the profile still applies


def test_changing_pick_sequences_refiles_held_stock_as_a_rebuild_would() -> None:
    positions = [*same_lot_everywhere(), position("L2", "H/B/1", 3)]
    index = FefoIndex.from_positions(positions)
    plan = index.allocate(AllocationRequest.of(GTIN, 2, use_date=USE))
    index.reserve(plan, reservation_id="R1")
    sequences = {"H/B": 1, "H/A/1": 7}
    assert index.set_pick_sequences(sequences) == 3  # the entry of H/A/1 and both of H/B/1
    index._check()
    rebuilt = FefoIndex.from_positions(positions, pick_sequences=sequences)
    rebuilt.reserve(plan, reservation_id="R1")
    request = AllocationRequest.of(GTIN, 16, use_date=USE)
    assert index.allocate(request, explain=True) == rebuilt.allocate(request, explain=True)
    assert index.set_pick_sequences(sequences) == 0  # nothing changed
    assert index.set_pick_sequences({}) == 3  # back to their own (0): the path decides
    index._check()
    assert walk(index, 18) == ["H/A/1", "H/A/2", "H/B/1", "H/B/1"]


def test_an_other_status_position_is_refiled_too() -> None:
    held = StockPosition(
        item=ItemKey(GTIN, lot="Q"),
        location=Location.parse("H/B/1"),
        status=StockStatus.QUARANTINE,
        quantity=2,
        expiry=EXPIRY,
        received_at=RECEIVED,
    )
    index = FefoIndex.from_positions([held, position("L1", "H/A/1")])
    assert index.set_pick_sequences({"H": 3}) == 2
    index._check()
    assert [str(p.location) for p in index.positions()] == ["H/A/1", "H/B/1"]


@pytest.mark.parametrize(
    "sequences",
    [
        {"H/A": -1},
        {"H/A": True},
        {"H/A": "1"},
        {7: 1},
        {"": 1},
        [("H/A", 1)],
    ],
)
def test_bad_pick_sequences_are_refused_and_nothing_changes(sequences: object) -> None:
    index = FefoIndex.from_positions(same_lot_everywhere(), pick_sequences={"H/A": 5})
    with pytest.raises(InvalidValueError):
        index.set_pick_sequences(sequences)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        FefoIndex.from_positions([], pick_sequences=sequences)  # type: ignore[arg-type]
    assert walk(index) == ["H/B/1", "H/A/1", "H/A/2"]
    with pytest.raises(InvalidValueError):
        index.pick_sequence_of(3)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- through the services


def receipt(number: int, lot: str, path: str) -> Movement:
    return Movement.receipt(
        f"r{number}",
        item=ItemKey(GTIN, lot=lot),
        quantity=5,
        to=Location.parse(path),
        occurred_at=RECEIVED,
        actor="goods-in",
        expiry=EXPIRY,
    )


def profile(path: str, sequence: int) -> LocationProfile:
    return LocationProfile(path=path, kind=LocationKind.STORE, pick_sequence=sequence)


def test_an_index_from_the_ledger_walks_in_the_catalogues_pick_sequence() -> None:
    store = MemoryStore()
    store.catalogue.put_location(profile("H/A", 30), valid_from="2026-01-01T00:00:00+00:00")
    store.catalogue.put_location(profile("H/B", 10), valid_from="2026-01-01T00:00:00+00:00")
    ledger = Ledger(store)
    ledger.post([receipt(n, "L1", path) for n, path in enumerate(BINS)])
    index = index_from_ledger(ledger)
    assert walk(index) == ["H/B/1", "H/A/1", "H/A/2"]
    # A later version changes the walk; the long-running index learns it when synced.
    store.catalogue.put_location(profile("H/A/2", 1), valid_from="2026-02-01T00:00:00+00:00")
    assert walk(index) == ["H/B/1", "H/A/1", "H/A/2"]
    assert sync_pick_sequences(index, ledger) == 1
    assert walk(index) == ["H/A/2", "H/B/1", "H/A/1"]
    assert walk(index_from_ledger(ledger)) == ["H/A/2", "H/B/1", "H/A/1"]
    # as_of: the profiles in force then.
    january = index_from_ledger(ledger, as_of="2026-01-15T00:00:00+00:00")
    assert walk(january) == ["H/B/1", "H/A/1", "H/A/2"]
    assert sync_pick_sequences(index, store.catalogue, as_of="2026-01-15T00:00:00+00:00") == 1
    assert walk(index) == ["H/B/1", "H/A/1", "H/A/2"]
    # New stock in a bin never seen takes its ancestor's sequence.
    ledger.post([receipt(9, "L1", "H/B/7")])
    sync_index(index, ledger)
    assert walk(index, 20) == ["H/B/1", "H/B/7", "H/A/1", "H/A/2"]


def test_a_given_catalogue_is_used_instead_of_the_stores() -> None:
    store, other = MemoryStore(), MemoryStore()
    other.catalogue.put_location(profile("H/A", 5), valid_from="2026-01-01T00:00:00+00:00")
    ledger = Ledger(store)
    ledger.post([receipt(1, "L1", "H/A/1"), receipt(2, "L1", "H/B/1")])
    assert pick_sequences_from(other.catalogue) == {Location.parse("H/A"): 5}
    assert walk(index_from_ledger(ledger), 10) == ["H/A/1", "H/B/1"]
    assert walk(index_from_ledger(ledger, catalogue=other.catalogue), 10) == ["H/B/1", "H/A/1"]


def test_a_store_without_a_catalogue_keeps_the_locations_own_sequences(store_without) -> None:
    bare = store_without("catalogue")
    assert isinstance(bare, LedgerStore)
    ledger = Ledger(bare)
    ledger.post([receipt(1, "L1", "H/B/1"), receipt(2, "L1", "H/A/1")])
    assert walk(index_from_ledger(ledger), 10) == ["H/A/1", "H/B/1"]
    with pytest.raises(InvalidValueError, match="no catalogue"):
        sync_pick_sequences(index_from_ledger(ledger), ledger)


def test_moving_a_products_last_units_to_another_status_keeps_their_expiry() -> None:
    """Found by the restart property: the index forgot the lot's expiry on the way."""
    index = FefoIndex.from_positions([position("L1", "H/A/1", 1)])
    index.apply(
        [
            Movement.status_change(
                "h1",
                item=ItemKey(GTIN, lot="L1"),
                quantity=1,
                at=Location.parse("H/A/1"),
                from_status=StockStatus.AVAILABLE,
                to_status=StockStatus.HOLD,
                occurred_at=RECEIVED,
                actor="quality",
            )
        ]
    )
    [held] = index.positions()
    assert (held.status, held.expiry, held.received_at) == (StockStatus.HOLD, EXPIRY, RECEIVED)
    index._check()


def test_a_location_goes_back_to_its_own_sequence_when_its_profile_goes() -> None:
    index = FefoIndex.from_positions([position("L1", "H/A/1", sequence=5)])
    index.apply([receipt(1, "L1", "H/B/1")])  # seen later, through a movement (own: 0)
    assert (index.pick_sequence_of("H/A/1"), index.pick_sequence_of("H/B/1")) == (5, 0)
    assert index.set_pick_sequences({"H": 2}) == 2
    assert (index.pick_sequence_of("H/A/1"), index.pick_sequence_of("H/B/1")) == (2, 2)
    assert walk(index, 10) == ["H/A/1", "H/B/1"]
    assert index.set_pick_sequences({}) == 2
    assert (index.pick_sequence_of("H/A/1"), index.pick_sequence_of("H/B/1")) == (5, 0)
    assert walk(index, 10) == ["H/B/1", "H/A/1"]
    index._check()
