"""Random ledger histories of a few lots and serials, and a brute-force reading of them.

The brute force reads the whole ledger (``MovementQuery()``) and answers each trace
question by filtering and summing in the plainest way: what ``medinv.trace``
answers through indexes and windows must be the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pendulum
from hypothesis import strategies as st

from medinv.catalogue import PartyRef
from medinv.errors import StockError
from medinv.identifiers import ItemKey
from medinv.journal import RecordedMovement
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore, MovementQuery
from medinv.status import StockStatus
from medinv.trace import TraceSubject

G1 = "04006381333931"
G2 = "09501101530003"
HIBC = "HIBCC:A123BJC5D6E71"
ITEMS = (
    ItemKey(G1, lot="X1"),  # the lot X1 ...
    ItemKey(G1, lot="X1", serial="S2"),  # ... and a serialised unit of it
    ItemKey(G1, serial="X1"),  # a serial with the lot's text: another subject
    ItemKey(G1, lot="Y2"),
    ItemKey(G2, lot="X1"),  # the same lot text on another device
    ItemKey(HIBC, lot="X1"),  # and on another agency's device
)
SUBJECTS = (
    TraceSubject.of_lot(G1, "X1"),
    TraceSubject.of_serial(G1, "X1"),
    TraceSubject.of_serial(G1, "S2"),
    TraceSubject.of_lot(G1, "Y2"),
    TraceSubject.of_lot(G2, "X1"),
    TraceSubject.of_lot(HIBC, "X1"),
)
PLACES = tuple(
    Location.parse(p)
    for p in ("A/Store/Bin-1", "A/Store/Bin-2", "A/Store", "A/Ward/ICU", "B/Store", "C/OR/1")
)
STATUSES = (StockStatus.AVAILABLE, StockStatus.QUARANTINE, StockStatus.HOLD)
PARTIES = tuple(
    PartyRef.parse(p)
    for p in (
        "DEPARTMENT:ICU",
        "CUSTOMER:C-1",
        "PATIENT:P-00001",
        "PATIENT:P-00002",
        "SITE:B",
        "SUPPLIER:ACME",
    )
)
START = pendulum.datetime(2026, 3, 1, 8, tz="UTC")

Balances = dict[tuple[ItemKey, Location, StockStatus], int]


_ACTIONS = (
    *("receipt", "receipt", "transfer", "transfer", "issue", "consume"),
    *("return", "status", "scrap", "adjust", "reverse"),
)


def _candidates(  # noqa: PLR0911  (one return per kind of movement)
    draw: Callable[..., Any], n: int, held: list[tuple[ItemKey, Location, StockStatus]]
) -> Movement | None:
    """One movement the history may try next (the ledger may still refuse it)."""
    action = draw(st.sampled_from(_ACTIONS))
    item = draw(st.sampled_from(ITEMS))
    quantity = 1 if item.is_serialised else draw(st.integers(1, 6))
    backdated = draw(st.integers(0, 9)) == 0
    at = (
        START.add(hours=n)
        if not backdated
        else START.add(hours=n).subtract(hours=draw(st.integers(1, 40)))
    )
    party = draw(st.none() | st.sampled_from(PARTIES))
    common: dict[str, Any] = {"occurred_at": at, "actor": "tester"}
    mid = f"M{n}"
    if action in ("receipt", "return") or not held:
        maker = Movement.receipt if action != "return" else Movement.return_
        return maker(
            mid, item=item, quantity=quantity, to=draw(st.sampled_from(PLACES)),
            status=draw(st.sampled_from(STATUSES)), counterparty=party, **common,
        )  # fmt: skip
    if action == "reverse":
        return None  # chosen by the caller, which knows the stored movements
    item, place, status = draw(st.sampled_from(held))
    quantity = 1 if item.is_serialised else draw(st.integers(1, 4))
    if action == "transfer":
        target = draw(st.sampled_from([p for p in PLACES if p != place]))
        return Movement.transfer(
            mid, item=item, quantity=quantity, source=place, to=target, status=status,
            counterparty=party, **common,
        )  # fmt: skip
    if action == "issue":
        return Movement.issue(mid, item=item, quantity=quantity, source=place, counterparty=party,
                              **common)  # fmt: skip
    if action == "consume":
        patient = draw(st.sampled_from(PARTIES[2:4]))
        return Movement.consumption(mid, item=item, quantity=quantity, source=place,
                                    counterparty=patient, **common)  # fmt: skip
    if action == "status":
        target_status = draw(st.sampled_from([s for s in STATUSES if s is not status]))
        return Movement.status_change(mid, item=item, quantity=quantity, at=place,
                                      from_status=status, to_status=target_status, **common)  # fmt: skip
    if action == "scrap":
        return Movement.scrap(mid, item=item, quantity=quantity, source=place, status=status,
                              **common)  # fmt: skip
    change = quantity if draw(st.booleans()) else -quantity
    return Movement.adjustment(mid, item=item, change=change, at=place, status=status,
                               reason="count", **common)  # fmt: skip


@st.composite
def histories(draw: Callable[..., Any], max_steps: int = 40) -> list[Movement]:
    """A list of movements that posted one by one gives a history (refused ones skipped).

    The ledger is simulated here only to choose plausible movements; the real ledger
    decides what is stored.
    """
    steps = draw(st.integers(1, max_steps))
    balances: Balances = defaultdict(int)
    made: list[Movement] = []
    for n in range(steps):
        held = sorted((key for key, qty in balances.items() if qty > 0), key=str)
        movement = _candidates(draw, n, held)
        if movement is None:
            originals = [m for m in made if m.kind is not MovementKind.REVERSAL]
            if not originals:
                continue
            original = draw(st.sampled_from(originals))
            movement = Movement.reversal(
                f"M{n}", of=original, occurred_at=START.add(hours=n), actor="tester"
            )
        made.append(movement)
        for location, status, delta in movement.deltas():
            balances[movement.item, location, status] += delta
    return made


def post_each(store: LedgerStore, movements: list[Movement]) -> Ledger:
    """Post the movements one at a time; the ledger's refusals are skipped."""
    ledger = Ledger(store, clock=lambda: START.add(years=1))
    for movement in movements:
        try:
            ledger.post([movement])
        except StockError:
            continue
    return ledger


# ---------------------------------------------------------------------- brute force


def everything(store: LedgerStore) -> list[RecordedMovement]:
    """The whole ledger, in position order."""
    return list(store.movements(MovementQuery()))


def brute_holdings(
    rows: list[RecordedMovement], subject: TraceSubject, *, up_to: int, before: Any = None
) -> dict[tuple[ItemKey, Location, StockStatus], int]:
    """Non-zero balances of the subject from the movements up to a position (and an instant)."""
    totals: Balances = defaultdict(int)
    for r in rows:
        m = r.movement
        if r.position > up_to or not subject.covers(m.item):
            continue
        if before is not None and not m.occurred_at < before:
            continue
        for location, status, delta in m.deltas():
            totals[m.item, location, status] += delta
    return {key: qty for key, qty in totals.items() if qty}


def brute_balance(
    rows: list[RecordedMovement], subject: TraceSubject, *, up_to: int
) -> dict[str, int]:
    """The mass balance's figures by kind of the original movement, reversals negative."""
    by_id = {r.movement.id: r.movement for r in rows}
    out = dict.fromkeys(
        ("received", "returned", "adjusted", "consumed", "distributed", "scrapped"), 0
    )
    names = {
        MovementKind.RECEIPT: "received",
        MovementKind.RETURN: "returned",
        MovementKind.CONSUMPTION: "consumed",
        MovementKind.ISSUE: "distributed",
        MovementKind.SCRAP: "scrapped",
    }
    for r in rows:
        m = r.movement
        if r.position > up_to or not subject.covers(m.item):
            continue
        original, sign = (by_id[m.reverses], -1) if m.reverses else (m, 1)
        if original.kind is MovementKind.ADJUSTMENT:
            out["adjusted"] += sign * (m.quantity if original.to_location else -m.quantity)
        elif original.kind in names:
            out[names[original.kind]] += sign * m.quantity
    out["on_hand"] = sum(brute_holdings(rows, subject, up_to=up_to).values())
    return out


def brute_backward_location(
    rows: list[RecordedMovement], location: Location, *, up_to: int, start: Any, end: Any
) -> dict[ItemKey, tuple[int, int]]:
    """Per item, units into and out of the subtree (net of reversals) over the period."""
    out: dict[ItemKey, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        m = r.movement
        if r.position > up_to or not (start <= m.occurred_at < end):
            continue
        was_in = m.from_location is not None and m.from_location.is_within(location)
        now_in = m.to_location is not None and m.to_location.is_within(location)
        if was_in == now_in:
            continue
        if m.reverses:  # undoes a crossing the other way
            out[m.item][1 if now_in else 0] -= m.quantity
        else:
            out[m.item][0 if now_in else 1] += m.quantity
    return {item: (a, b) for item, (a, b) in out.items()}


def brute_backward_party(
    rows: list[RecordedMovement], party: PartyRef, *, up_to: int
) -> dict[ItemKey, tuple[int, int]]:
    """Per item, units sent to and received from the party (net of reversals)."""
    by_id = {r.movement.id: r.movement for r in rows}
    out: dict[ItemKey, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        m = r.movement
        if r.position > up_to or m.counterparty != party:
            continue
        original, sign = (by_id[m.reverses], -1) if m.reverses else (m, 1)
        if original.kind in (MovementKind.RECEIPT, MovementKind.RETURN):
            out[m.item][1] += sign * m.quantity
        elif original.kind in (
            MovementKind.ISSUE, MovementKind.CONSUMPTION, MovementKind.SCRAP, MovementKind.TRANSFER
        ):  # fmt: skip
            out[m.item][0] += sign * m.quantity
    return {item: (a, b) for item, (a, b) in out.items()}
