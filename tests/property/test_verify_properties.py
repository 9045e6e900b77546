"""Properties of verify(): any valid history is clean, in memory or through the partition files.

And an edit of any one stored balance is found exactly, whichever path the sums take.
"""

from __future__ import annotations

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv import ItemKey, Location, Movement, verification
from medinv.adapters.memory import MemoryStore
from medinv.errors import StockError
from medinv.ledger import Ledger, ProjectionMismatch

GTIN = "04006381333931"
AT = "2026-11-23T09:00:00+01:00"
CLOCK = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
PLACES = [Location.parse(f"H/B{n}") for n in range(3)]
ITEMS = [ItemKey(GTIN, lot=f"L{n}") for n in range(4)]

step = st.tuples(
    st.sampled_from(["receipt", "transfer", "issue"]),
    st.integers(0, len(ITEMS) - 1),
    st.integers(0, len(PLACES) - 1),
    st.integers(0, len(PLACES) - 1),
    st.integers(1, 7),
)


def build(steps: list[tuple[str, int, int, int, int]]) -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: CLOCK)
    for n, (kind, i, a, b, qty) in enumerate(steps):
        item, source, to = ITEMS[i], PLACES[a], PLACES[b]
        if kind == "receipt":
            m = Movement.receipt(
                f"M{n}",
                item=item,
                quantity=qty,
                to=to,
                occurred_at=AT,
                actor="a",
                expiry="2027-01-31",
            )
        elif kind == "transfer" and source != to:
            m = Movement.transfer(
                f"M{n}", item=item, quantity=qty, source=source, to=to, occurred_at=AT, actor="a"
            )
        else:
            m = Movement.issue(
                f"M{n}", item=item, quantity=qty, source=source, occurred_at=AT, actor="a"
            )
        try:
            ledger.post([m])
        except StockError:
            continue  # refused: the history stays valid
    return ledger


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(step, max_size=40), bump=st.integers(0, 50), spill=st.booleans())
def test_valid_histories_verify_clean_and_one_edited_balance_is_found(
    steps: list[tuple[str, int, int, int, int]], bump: int, spill: bool
):
    ledger = build(steps)
    with pytest.MonkeyPatch.context() as patch:
        if spill:
            patch.setattr(verification, "_SPILL_LIMIT", 2)
            patch.setattr(verification, "_CHECK_EVERY", 3)
        assert ledger.verify().ok
        store = ledger.store
        assert isinstance(store, MemoryStore)
        if not store._balances:
            return
        keys = sorted(store._balances, key=str)
        key = keys[bump % len(keys)]
        store._balances[key] += 1
        (finding,) = ledger.verify().findings
    assert isinstance(finding, ProjectionMismatch)
    assert (finding.item, finding.location, finding.status) == key
    assert finding.stored == finding.rebuilt + 1
