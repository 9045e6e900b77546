"""Properties of the ledger service that hold for any sequence of movements."""

from __future__ import annotations

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.errors import StockError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

ITEMS = [
    ItemKey("04006381333931", lot="L1"),
    ItemKey("09501101530003"),
    ItemKey("04006381333931", lot="L1", serial="S1"),
]
PLACES = [Location.parse("H/A"), Location.parse("H/B"), Location.parse("W")]
NOW = pendulum.datetime(2026, 11, 23, tz="UTC")


@st.composite
def movement_lists(draw: st.DrawFn) -> list[Movement]:
    out: list[Movement] = []
    for n in range(draw(st.integers(1, 25))):
        item = draw(st.sampled_from(ITEMS))
        qty = 1 if item.is_serialised else draw(st.integers(1, 5))
        a, b = draw(st.sampled_from(PLACES)), draw(st.sampled_from(PLACES))
        at = pendulum.datetime(2026, 1, 1 + draw(st.integers(0, 20)), 9, tz="Europe/Paris")
        kind = draw(st.sampled_from(["receipt", "issue", "transfer"]))
        if kind == "receipt":
            m = Movement.receipt(
                f"M{n}",
                item=item,
                quantity=qty,
                to=a,
                occurred_at=at,
                actor="p",
                expiry="2026-01-15",
            )
        elif kind == "issue":
            m = Movement.issue(
                f"M{n}", item=item, quantity=qty, source=a, occurred_at=at, actor="p"
            )
        elif a != b:
            m = Movement.transfer(
                f"M{n}", item=item, quantity=qty, source=a, to=b, occurred_at=at, actor="p"
            )
        else:
            continue
        out.append(m)
    return out


def snapshot(ledger: Ledger) -> list[tuple[object, ...]]:
    return [(p.item, str(p.location), p.status, p.quantity, p.expiry) for p in ledger.positions()]


@settings(max_examples=60, deadline=None)
@given(movement_lists(), st.integers(1, 7))
def test_accepted_movements_post_the_same_one_by_one_or_in_any_batches(movements, chunk):
    one_by_one = Ledger(MemoryStore(), clock=lambda: NOW)
    accepted = []
    for m in movements:
        try:
            one_by_one.post([m])
        except StockError:
            continue
        accepted.append(m)
    batched = Ledger(MemoryStore(), clock=lambda: NOW)
    for start in range(0, len(accepted), chunk):
        batched.post(accepted[start : start + chunk])
    assert snapshot(batched) == snapshot(one_by_one)
    # Same positions, same content, same recorded_at: the very same hash chain.
    assert batched.head() == one_by_one.head()
    assert batched.verify().ok and one_by_one.verify().ok
    # Replaying everything, in any chunking, stores nothing and returns the originals.
    history = one_by_one.history()
    for start in range(0, len(accepted), chunk):
        result = one_by_one.post(accepted[start : start + chunk])
        assert result.new == ()
        assert result.movements == tuple(history[start : start + chunk])
    assert one_by_one.head() == batched.head()


@settings(max_examples=60, deadline=None)
@given(movement_lists())
def test_a_refused_batch_changes_nothing_and_balances_never_go_negative(movements):
    ledger = Ledger(MemoryStore(), clock=lambda: NOW)
    for start in range(0, len(movements), 3):
        before = (ledger.head(), snapshot(ledger))
        try:
            ledger.post(movements[start : start + 3])
        except StockError:
            assert (ledger.head(), snapshot(ledger)) == before
        assert all(p.quantity > 0 for p in ledger.positions())
        assert ledger.balance(ITEMS[2]) <= 1
    assert ledger.verify().ok
