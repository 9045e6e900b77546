"""Any interleaving, duplication, reordering and delay of device streams gives the in-order result."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.sync import DeviceEvent, EventKind, ShortStock, SyncInbox, SyncPolicy
from medinv.testing.sync_contract import NOW, device_event

GTIN = "04006381333931"
_KINDS = st.sampled_from(
    [EventKind.CONSUMPTION, EventKind.CONSUMPTION, EventKind.RECEIPT, EventKind.COUNT]
)


def _item(device: int) -> ItemKey:
    return ItemKey(GTIN, lot=f"D{device}")


def _place(device: int) -> Location:
    return Location.parse(f"H/Ward/{device}")


@st.composite
def streams(draw: Any) -> list[list[DeviceEvent]]:
    """Two to four devices, each with its own stock, one to eight events each."""
    devices = draw(st.integers(2, 4))
    out = []
    for device in range(devices):
        events = []
        for seq in range(1, draw(st.integers(1, 8)) + 1):
            kind = draw(_KINDS)
            quantity = draw(st.integers(0 if kind is EventKind.COUNT else 1, 6))
            fields: dict[str, Any] = {}
            if kind is EventKind.RECEIPT:
                fields["expiry"] = "2027-06-30"
            events.append(
                device_event(
                    f"dev{device}",
                    seq,
                    kind,
                    item=_item(device),
                    quantity=quantity,
                    location=_place(device),
                    known_position=devices,  # after the opening stock
                    captured_at=NOW.add(minutes=seq),
                    **fields,
                )
            )
        out.append(events)
    return out


def _ledger(store: Any, devices: int) -> Ledger:
    ledger = Ledger(store, clock=lambda: NOW)
    for device in range(devices):
        ledger.post(
            [
                Movement.receipt(
                    f"opening-{device}",
                    item=_item(device),
                    quantity=3,
                    to=_place(device),
                    occurred_at=NOW.subtract(days=1),
                    actor="goods-in",
                    expiry="2027-06-30",
                )
            ]
        )
    return ledger


def _inbox(ledger: Ledger, partial: bool) -> SyncInbox:
    policy = SyncPolicy(
        hold_max=None, short_stock=ShortStock.PARTIAL if partial else ShortStock.REJECT
    )
    return SyncInbox(ledger, policy=policy, clock=lambda: NOW.add(hours=1))


def _state(ledger: Ledger, inbox: SyncInbox) -> tuple[Any, ...]:
    movements = {
        r.movement.id: (r.movement.kind, r.movement.item, r.movement.quantity)
        for r in ledger.history()
    }
    balances = sorted(
        (str(i), str(loc), s.value, q) for i, loc, s, q in ledger.store.balances_snapshot()
    )
    records = {
        r.event_id: (r.outcome, r.movement_id, r.applied_quantity, r.late)
        for r in inbox.store.events()
    }
    conflicts = sorted((c.id, c.kind, c.applied) for c in inbox.conflicts())
    return movements, balances, records, conflicts


def _in_order(streams_: list[list[DeviceEvent]], partial: bool) -> tuple[Any, ...]:
    ledger = _ledger(MemoryStore(), len(streams_))
    inbox = _inbox(ledger, partial)
    for events in streams_:
        inbox.ingest(events)
    return _state(ledger, inbox)


_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def deliveries(draw: Any) -> tuple[list[list[DeviceEvent]], list[list[DeviceEvent]], bool]:
    """The streams, and the same events delivered 1-3 times each, shuffled, in batches."""
    streams_ = draw(streams())
    copies = [e for events in streams_ for e in events for _ in range(draw(st.integers(1, 3)))]
    shuffled = draw(st.permutations(copies))
    cuts = sorted(draw(st.lists(st.integers(0, len(shuffled)), max_size=5)))
    batches = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    return streams_, batches, draw(st.booleans())


def _check(
    store: Any, streams_: list[list[DeviceEvent]], batches: list[list[DeviceEvent]], partial: bool
) -> None:
    ledger = _ledger(store, len(streams_))
    inbox = _inbox(ledger, partial)
    for batch in batches:
        inbox.ingest(batch)
    assert inbox.held() == []
    assert _state(ledger, inbox) == _in_order(streams_, partial)
    head = ledger.head()
    for _ in range(3):
        for batch in batches:
            inbox.ingest(batch)
    assert ledger.head() == head
    audit = inbox.audit()
    assert audit.ok, audit
    delivered = sum(len(b) for b in batches)
    assert sum(d.received for d in audit.devices) == 4 * delivered
    assert ledger.verify().ok


@_SETTINGS
@given(deliveries())
def test_any_delivery_order_gives_the_in_order_result_on_memory(case) -> None:
    streams_, batches, partial = case
    _check(MemoryStore(), streams_, batches, partial)


@settings(_SETTINGS, max_examples=15)
@given(deliveries())
def test_any_delivery_order_gives_the_in_order_result_on_sqlite(case) -> None:
    streams_, batches, partial = case
    with SqliteStore(":memory:") as store:
        _check(store, streams_, batches, partial)


def test_the_in_order_result_is_not_trivial() -> None:
    """The streams the properties draw do reach conflicts, counts and partial applies."""
    events = [
        device_event("dev0", 1, item=_item(0), location=_place(0), quantity=5, known_position=2),
        device_event(
            "dev0",
            2,
            EventKind.COUNT,
            item=_item(0),
            location=_place(0),
            quantity=7,
            known_position=2,
        ),
    ]
    movements, balances, records, conflicts = _in_order([events, []], partial=True)
    assert records["dev0-1"][2] == 3  # three of five applied
    assert records["dev0-2"][2] == 7  # the count found 7 where 0 were left
    assert len(conflicts) == 1
    assert movements and balances
