"""Properties of device identity: the stored text round-trips for every agency, keys never mix."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.sqlite import SqliteStore
from medinv.devices import IssuingAgency
from medinv.identifiers import ItemKey, device_from_text, device_text
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery, PositionQuery
from medinv.testing import strategies as mst

CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")


@given(mst.device_identifiers())
def test_the_stored_text_of_every_device_reads_back_to_it(device):
    text = device_text(device)
    assert device_from_text(text) == device
    # GS1: the fourteen digits as always; the others: their agency-prefixed text,
    # which always holds a colon, so it never equals a GS1 text.
    if device.agency is IssuingAgency.GS1:
        assert text == device.value and len(text) == 14 and text.isdigit()
    else:
        assert text == str(device) and ":" in text


@given(mst.item_keys(), mst.item_keys())
def test_equality_hash_text_and_order_agree(a, b):
    same_parts = (a.device_text, a.lot, a.serial) == (b.device_text, b.lot, b.serial)
    assert (a == b) is same_parts
    assert (a.sort_key() == b.sort_key()) is same_parts
    gs1 = IssuingAgency.GS1
    if a.device.agency is not gs1 or b.device.agency is not gs1:
        # The bracketed form of HIBC and MA keys is unambiguous (brackets are in no lot
        # or serial); GS1's element-string text is what it always was.
        assert (str(a) == str(b)) is same_parts
    if a == b:
        assert hash(a) == hash(b)
    assert ItemKey(a.device_text, a.lot, a.serial) == a


@settings(max_examples=40)
@given(st.lists(mst.item_keys(), min_size=1, max_size=6, unique=True))
def test_keys_of_every_agency_round_trip_through_sqlite(items):
    place = Location.parse("H/Store")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        with SqliteStore(path) as store:
            Ledger(store, clock=lambda: CLOCK).post(
                [
                    Movement.receipt(
                        f"R-{n}",
                        item=item,
                        quantity=1,
                        to=place,
                        occurred_at="2026-11-23T09:00:00+01:00",
                        actor="x",
                    )
                    for n, item in enumerate(items)
                ]
            )
        with SqliteStore(path) as store:
            assert {p.item for p in store.positions(PositionQuery())} == set(items)
            for item in items:
                [found] = store.movements(MovementQuery(item=item))
                assert found.movement.item == item
                devices = {p.item for p in store.positions(PositionQuery(device=item.device))}
                assert devices == {i for i in items if i.device == item.device}
            assert Ledger(store).verify().ok
