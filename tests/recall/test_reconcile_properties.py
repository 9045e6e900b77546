"""Hypothesis: reconcile_lot balances on every prefix and equals a brute-force scan of the ledger;
the quarantine plan is idempotent."""

from __future__ import annotations

from typing import Any

import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv import ItemKey, Ledger, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.errors import InvalidValueError, StockError
from medinv.movements import MovementKind
from medinv.ports import MovementQuery
from medinv.recall import (
    NO_PATIENT,
    UNKNOWN_PARTY,
    RecallScope,
    open_campaign,
    quarantine,
    reconcile_lot,
)
from medinv.status import StockStatus

GTIN = "04006381333931"
LOT = ItemKey(GTIN, lot="L1")
ITEMS = [LOT, ItemKey(GTIN, lot="L1", serial="S1"), ItemKey(GTIN, lot="L1", serial="S2"),
         ItemKey(GTIN, lot="L2")]  # fmt: skip
PLACES = [Location.parse(p) for p in ("H/Store", "H/Store/A1", "H/Ward-3", "B/Site")]
PARTIES = [None, "CUSTOMER:C-1", "SITE:B", "DEPARTMENT:ICU"]
PATIENTS = [None, "PATIENT:P-001", "PATIENT:P-002"]
_AV = StockStatus.AVAILABLE
STATUSES = [_AV, _AV, _AV, StockStatus.QUARANTINE, StockStatus.HOLD, StockStatus.DAMAGED]
START = pendulum.datetime(2026, 1, 1, tz="UTC")

_step = st.tuples(
    st.sampled_from(
        ["receipt", "transfer", "issue", "consumption", "return", "scrap", "adjust",
         "status", "reversal"]
    ),
    st.sampled_from(ITEMS),
    st.integers(1, 6),
    st.sampled_from(PLACES),
    st.sampled_from(PLACES),
    st.sampled_from(PARTIES),
    st.sampled_from(PATIENTS),
    st.sampled_from(STATUSES),
    st.integers(-30, 30),
    st.booleans(),
)  # fmt: skip


def _movement(n: int, step: tuple[Any, ...], posted: list[str], ledger: Ledger) -> Movement | None:  # noqa: C901, PLR0911
    kind, item, q, a, b, party, patient, status, shift, raw_ref = step
    if item.serial is not None:
        q = 1
    when = START.add(hours=n + shift)  # backdated now and then
    common: dict[str, Any] = {"occurred_at": when, "actor": "a"}
    mid = f"m{n}"
    if kind == "receipt":
        return Movement.receipt(mid, item=item, quantity=q, to=a, status=status, **common)
    if kind == "transfer":
        return Movement.transfer(mid, item=item, quantity=q, source=a, to=b, status=status,
                                 counterparty=party, **common)  # fmt: skip
    if kind == "issue":
        return Movement.issue(mid, item=item, quantity=q, source=a, counterparty=party, **common)
    if kind == "consumption":
        reference = "Jane Doe 1970-01-01" if raw_ref else None
        if patient is None and reference is None:
            reference = "PROC-0001"
        return Movement.consumption(mid, item=item, quantity=q, source=a, counterparty=patient,
                                    reference=reference, **common)  # fmt: skip
    if kind == "return":
        return Movement.return_(mid, item=item, quantity=q, to=a, status=status,
                                counterparty=party, **common)  # fmt: skip
    if kind == "scrap":
        return Movement.scrap(mid, item=item, quantity=q, source=a, status=status, **common)
    if kind == "adjust":
        change = q if shift >= 0 else -q
        return Movement.adjustment(mid, item=item, change=change, at=a, status=status,
                                   reason="count", **common)  # fmt: skip
    if kind == "status":
        return Movement.status_change(mid, item=item, quantity=q, at=a, from_status=status,
                                      to_status=StockStatus.RECALLED, **common)  # fmt: skip
    if posted:
        original = ledger.movement(posted[(shift + 30) % len(posted)])
        assert original is not None
        return Movement.reversal(mid, of=original.movement, **common)
    return None


def _history(steps: list[tuple[Any, ...]]) -> Ledger:
    ledger = Ledger(MemoryStore())
    ledger.post(
        [
            Movement.receipt(f"open-{n}", item=item, quantity=q, to=place,
                             occurred_at=START, actor="dock")
            for n, (item, q, place) in enumerate(
                [(LOT, 20, PLACES[0]), (LOT, 10, PLACES[2]), (ITEMS[1], 1, PLACES[1]),
                 (ITEMS[3], 5, PLACES[0])]
            )
        ]
    )  # fmt: skip
    posted: list[str] = []
    for n, step in enumerate(steps):
        try:
            movement = _movement(n, step, posted, ledger)
            if movement is None:
                continue
            ledger.post([movement])
        except (StockError, InvalidValueError):  # a movement the rules refuse
            continue
        posted.append(movement.id)
    return ledger


def _brute_force(ledger: Ledger) -> dict[str, object]:  # noqa: C901  (one branch per kind)
    """Every figure by scanning the whole ledger, each on its own."""
    every = list(ledger.store.movements(MovementQuery()))
    by_id = {r.movement.id: r.movement for r in every}
    mine = [r.movement for r in every if r.movement.item.device == LOT.device
            and r.movement.item.lot == LOT.lot]  # fmt: skip

    def signed(m: Movement) -> tuple[Movement, int]:
        if m.kind is MovementKind.REVERSAL:
            return by_id[m.reverses], -1  # type: ignore[index]
        return m, 1

    out: dict[str, dict[str, int]] = {k: {} for k in
        ("received", "returned", "distributed", "consumed", "scrapped", "written_off")}  # fmt: skip
    for m in mine:
        original, sign = signed(m)
        k, q = original.kind, sign * original.quantity
        party = UNKNOWN_PARTY if original.counterparty is None else str(original.counterparty)
        if k is MovementKind.RECEIPT:
            out["received"][""] = out["received"].get("", 0) + q
        elif k is MovementKind.RETURN:
            out["returned"][party] = out["returned"].get(party, 0) + q
        elif k is MovementKind.ISSUE:
            out["distributed"][party] = out["distributed"].get(party, 0) + q
        elif k is MovementKind.CONSUMPTION:
            who = original.counterparty.id if original.counterparty is not None else NO_PATIENT
            if original.counterparty is None and original.reference == "PROC-0001":
                who = "PROC-0001"  # a reference that reads as a pseudonym
            out["consumed"][who] = out["consumed"].get(who, 0) + q
        elif k is MovementKind.SCRAP:
            out["scrapped"][""] = out["scrapped"].get("", 0) + q
        elif k is MovementKind.ADJUSTMENT:
            change = -q if original.to_location is not None else q
            out["written_off"][""] = out["written_off"].get("", 0) + change
    on_hand: dict[StockStatus, int] = {}
    for position in ledger.positions(device=LOT.device, lot=LOT.lot):
        on_hand[position.status] = on_hand.get(position.status, 0) + position.quantity
    return {
        "received": sum(out["received"].values()),
        "returned_by": tuple(sorted((k, v) for k, v in out["returned"].items() if v)),
        "distributed": tuple(sorted((k, v) for k, v in out["distributed"].items() if v)),
        "consumed": tuple(sorted((k, v) for k, v in out["consumed"].items() if v)),
        "scrapped": sum(out["scrapped"].values()),
        "written_off": sum(out["written_off"].values()),
        "on_hand": tuple(sorted(((s, n) for s, n in on_hand.items() if n), key=lambda p: p[0].value)),
    }  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(_step, min_size=5, max_size=40))
def test_reconcile_equals_a_brute_force_scan_and_balances_on_every_prefix(steps):
    ledger = _history(steps)
    history = ledger.history(device=LOT.device, lot=LOT.lot)
    for end in range(len(history) + 1):
        lot = reconcile_lot(LOT, history[:end])
        assert lot.received == (
            lot.on_hand_total + lot.consumed_total + lot.distributed_total + lot.scrapped
            - lot.returned + lot.written_off
        )  # fmt: skip
        assert lot.unaccounted >= 0
        assert lot.effectiveness is None or 0 <= lot.effectiveness <= 1
    lot = reconcile_lot(LOT, history)
    expected = _brute_force(ledger)
    assert {name: getattr(lot, name) for name in expected} == expected
    outstanding = sum(n for _, n in lot.outstanding)
    assert lot.unaccounted == max(lot.written_off, 0) + outstanding
    assert "Jane Doe" not in repr(lot)


@settings(max_examples=60, deadline=None)
@given(st.lists(_step, min_size=1, max_size=30))
def test_the_quarantine_plan_is_idempotent(steps):
    ledger = _history(steps)
    store: Any = ledger.store
    open_campaign(
        store.recalls, "R", scope=RecallScope.of_lots(GTIN, ["L1"]), recall_class="II",
        depth="retail", opened_at=START.add(days=10), opened_by="qa", reason="r",
    )  # fmt: skip
    before = sum(p.quantity for p in ledger.positions(device=LOT.device, lot=LOT.lot))
    first = quarantine(ledger, store.recalls, "R", actor="qa", occurred_at=START.add(days=10))
    head = ledger.head()
    second = quarantine(ledger, store.recalls, "R", actor="qb", occurred_at=START.add(days=11))
    assert (second.quantity, ledger.head()) == (0, head)
    positions = ledger.positions(device=LOT.device, lot=LOT.lot)
    assert all(p.status is StockStatus.RECALLED for p in positions)
    assert sum(p.quantity for p in positions) == before
    moved_before = before - sum(p.quantity for r in first.runs for p in r.already)
    assert first.quantity == moved_before
    other = [r.movement.id for r in ledger.history(device=LOT.device, lot="L2")]
    assert not [mid for mid in other if mid.startswith("recall/")]  # out of scope: untouched
