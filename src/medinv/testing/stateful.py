"""Stateful comparison of any ledger store with the in-memory reference (Hypothesis).

[`ledger_machine`][medinv.testing.stateful.ledger_machine] builds a Hypothesis
`RuleBasedStateMachine` that drives two [`Ledger`][medinv.ledger.Ledger]s side by
side, one over the store under test and one over
[`MemoryStore`][medinv.adapters.memory.MemoryStore], through random receipts,
issues, consumptions, transfers, status changes, adjustments, scraps, reversals,
mixed batches, duplicate replays, conflicting ids and refused posts. After every
step it asserts that both gave the same outcome (the same recorded movements and
hashes, or the same error), and that heads, positions, balances (also as of a past
position), histories and a clean [`verify()`][medinv.ledger.Ledger.verify] agree.

```python
from hypothesis import settings
from medinv.testing.stateful import ledger_machine

TestMyStoreMachine = ledger_machine(lambda: MyStore(...)).TestCase
TestMyStoreMachine.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
```

Needs the ``testing`` extra (Hypothesis).
"""

# ruff: noqa: S101  (assertions are how a state machine checks its invariants)
from __future__ import annotations

from collections.abc import Callable

import pendulum
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from medinv.adapters.memory import MemoryStore
from medinv.catalogue import BusinessReference, PartyRef
from medinv.chain import format_instant, movement_content
from medinv.errors import MedinvError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, PostResult
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import LedgerStore, MovementQuery, RecordedMovement
from medinv.status import StockStatus

__all__ = ["LedgerComparison", "ledger_machine"]

_GTIN = "04006381333931"
_HIBC = "HIBCC:A123BJC5D6E71"
_MA = "MA:MA.156.M0.100350.01004YA10017"
ITEMS = (
    ItemKey(_GTIN, lot="A'1"),
    ItemKey(_GTIN, lot="B;2"),
    ItemKey("09501101530003"),
    ItemKey(_GTIN, lot="A'1", serial="S1"),
    ItemKey("09501101530003", serial="S2"),
    ItemKey(_HIBC, lot="A'1"),
    ItemKey(_MA, serial="S2"),
)
"""The items the machine moves: lots, a lot-less product, serialised units with and without
lot; an HIBC and an MA device sharing a GS1 item's lot text and serial text."""

PLACES = tuple(Location.parse(p) for p in ("H/Store/A", "H/Store/B", "H/Storeroom", "H/Ward ü"))
"""The locations: a subtree ``H/Store``, a sibling sharing its prefix, a unicode ward."""

SUBTREES = (None, Location.parse("H"), Location.parse("H/Store"), *PLACES)
STATUSES = tuple(StockStatus)
EXPIRIES = (None, pendulum.date(2026, 1, 10), pendulum.date(2026, 1, 20))
_DAY0 = pendulum.datetime(2026, 1, 1, 9, 0, tz="Europe/Paris")

_quantities = st.integers(1, 6)
_days = st.integers(0, 30)
_texts = st.sampled_from([None, "", 'O\'Brien; "x"', "réception ✓", "R" * 300])

COUNTERPARTIES: tuple[PartyRef | None, ...] = (
    PartyRef(kind="PATIENT", id="P-000001"),
    PartyRef(kind="DEPARTMENT", id="ICU ;'\""),
    PartyRef(kind="CUSTOMER", id="C:1"),
    None,
)
"""The parties the machine's structured movements are with (``None``: none)."""
BUSINESS_REFERENCES: tuple[BusinessReference, ...] = (
    BusinessReference(type="procedure", id="OP-1"),
    BusinessReference(type="po", id='PO "1"],['),
    BusinessReference(type="po", id='PO "1"],[', issuer_gln="0614141000012"),
)
"""The documents they are for: the same PO id once with an issuer GLN, once without."""


def _units(item: ItemKey, qty: int) -> int:
    """``qty``, or 1 for a serialised item (it moves one unit at a time)."""
    return 1 if item.is_serialised else qty


def _occurred(day: int) -> pendulum.DateTime:
    return _DAY0.add(days=day)


class LedgerComparison(RuleBasedStateMachine):
    """Drives a ledger over a store and one over ``MemoryStore``; they must always agree.

    Subclasses set ``store_factory``; [`ledger_machine`][medinv.testing.stateful.ledger_machine]
    does that for you.
    """

    store_factory: Callable[[], LedgerStore] = MemoryStore
    """Makes the store under test: fresh and empty on every call."""

    def __init__(self) -> None:
        super().__init__()
        self.now = pendulum.datetime(2026, 1, 1, tz="UTC")
        self.subject_store = type(self).store_factory()
        self.subject = Ledger(self.subject_store, clock=self._clock)
        self.reference = Ledger(MemoryStore(), clock=self._clock)
        self.posted: list[Movement] = []
        self.counter = 0

    def _clock(self) -> pendulum.DateTime:
        return self.now

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    # ------------------------------------------------------------- posting both

    def _post(self, batch: list[Movement], *, expected_position: int | None = None) -> None:
        self.now = self.now.add(seconds=1, microseconds=7)
        outcomes: list[PostResult | MedinvError] = []
        for ledger in (self.subject, self.reference):
            try:
                outcomes.append(ledger.post(batch, expected_position=expected_position))
            except MedinvError as e:
                outcomes.append(e)
        got, want = outcomes
        if isinstance(want, MedinvError):
            assert isinstance(got, MedinvError), (
                f"the store accepted what the reference refused: {want}"
            )
            assert type(got) is type(want), (got, want)
            assert str(got) == str(want), (got, want)
            return
        assert isinstance(got, PostResult), f"the store refused what the reference accepted: {got}"
        assert _summary(got) == _summary(want)
        assert got.replayed == want.replayed
        self.posted.extend(r.movement for r in want.new)

    # ------------------------------------------------------------- rules

    @initialize(item=st.sampled_from(ITEMS[:3]), place=st.sampled_from(PLACES))
    def opening_stock(self, item: ItemKey, place: Location) -> None:
        """Start with some AVAILABLE stock of a lot with an expiry."""
        self._post(
            [
                Movement.receipt(
                    self._id("OPEN"),
                    item=item,
                    quantity=20,
                    to=place,
                    occurred_at=_occurred(0),
                    actor="init",
                    expiry=EXPIRIES[2],
                )
            ]
        )

    @rule(
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        place=st.sampled_from(PLACES),
        status=st.sampled_from(STATUSES),
        expiry=st.sampled_from(EXPIRIES),
        day=_days,
        text=_texts,
    )
    def receive(
        self,
        *,
        item: ItemKey,
        qty: int,
        place: Location,
        status: StockStatus,
        expiry: pendulum.Date | None,
        day: int,
        text: str | None,
    ) -> None:
        """Receive an item in any status, with or without expiry and free text."""
        quantity = _units(item, qty)
        self._post(
            [
                Movement.receipt(
                    self._id("R"),
                    item=item,
                    quantity=quantity,
                    to=place,
                    status=status,
                    occurred_at=_occurred(day),
                    actor="rx",
                    expiry=expiry,
                    reason=text,
                    reference=text,
                )
            ]
        )

    @rule(data=st.data(), count=st.integers(1, 4))
    def batch(self, data: st.DataObject, count: int) -> None:
        """Post a mixed batch of receipts, issues, transfers and returns."""
        self._post([data.draw(_movement_strategy(self._id("B"), n)) for n in range(count)])

    @rule(
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        place=st.sampled_from(PLACES),
        day=_days,
        consume=st.booleans(),
    )
    def issue(self, item: ItemKey, qty: int, place: Location, day: int, consume: bool) -> None:  # noqa: FBT001
        """Issue or consume an item (refused unless AVAILABLE, in stock, not expired)."""
        quantity = _units(item, qty)
        if consume:
            m = Movement.consumption(
                self._id("C"),
                item=item,
                quantity=quantity,
                source=place,
                occurred_at=_occurred(day),
                actor="dr",
                reference="PROC-1",
            )
        else:
            m = Movement.issue(
                self._id("I"),
                item=item,
                quantity=quantity,
                source=place,
                occurred_at=_occurred(day),
                actor="nurse",
            )
        self._post([m])

    @rule(
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        source=st.sampled_from(PLACES),
        to=st.sampled_from(PLACES),
        status=st.sampled_from(STATUSES),
    )
    def transfer(
        self, item: ItemKey, qty: int, source: Location, to: Location, status: StockStatus
    ) -> None:
        """Move stock between two locations in one status."""
        if source == to:
            return
        quantity = _units(item, qty)
        self._post(
            [
                Movement.transfer(
                    self._id("T"),
                    item=item,
                    quantity=quantity,
                    source=source,
                    to=to,
                    status=status,
                    occurred_at=_occurred(3),
                    actor="porter",
                )
            ]
        )

    @rule(
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        place=st.sampled_from(PLACES),
        statuses=st.lists(st.sampled_from(STATUSES), min_size=2, max_size=2, unique=True),
    )
    def change_status(
        self, item: ItemKey, qty: int, place: Location, statuses: list[StockStatus]
    ) -> None:
        """Change the status of stock in place."""
        quantity = _units(item, qty)
        self._post(
            [
                Movement.status_change(
                    self._id("S"),
                    item=item,
                    quantity=quantity,
                    at=place,
                    from_status=statuses[0],
                    to_status=statuses[1],
                    occurred_at=_occurred(2),
                    actor="qa",
                )
            ]
        )

    @rule(
        item=st.sampled_from(ITEMS),
        change=st.integers(-4, 4).filter(bool),
        place=st.sampled_from(PLACES),
        scrap=st.booleans(),
    )
    def adjust_or_scrap(self, item: ItemKey, change: int, place: Location, scrap: bool) -> None:  # noqa: FBT001
        """Adjust a balance up or down, or scrap stock."""
        if item.is_serialised:
            change = 1 if change > 0 else -1
        if scrap:
            m = Movement.scrap(
                self._id("X"),
                item=item,
                quantity=abs(change),
                source=place,
                occurred_at=_occurred(4),
                actor="x",
                reason="broken",
            )
        else:
            m = Movement.adjustment(
                self._id("ADJ"),
                item=item,
                change=change,
                at=place,
                occurred_at=_occurred(4),
                actor="x",
                reason="stocktake; variance",
            )
        self._post([m])

    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        """Reverse a stored movement (refused the second time, and for reversals)."""
        if not self.posted:
            return
        original = data.draw(st.sampled_from(self.posted))
        self._post(
            [Movement.reversal(self._id("REV"), of=original, occurred_at=_occurred(5), actor="x")]
        )

    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """Post stored movements again: replays that store nothing."""
        if not self.posted:
            return
        originals = data.draw(st.lists(st.sampled_from(self.posted), min_size=1, max_size=3))
        self._post(originals)

    @rule(data=st.data(), qty=_quantities)
    def conflicting_id(self, data: st.DataObject, qty: int) -> None:
        """Reuse a stored id for other content: an idempotency conflict."""
        if not self.posted:
            return
        original = data.draw(st.sampled_from(self.posted))
        other = Movement.receipt(
            original.id,
            item=ITEMS[2],
            quantity=qty,
            to=PLACES[0],
            occurred_at=_occurred(1),
            actor="someone",
        )
        self._post([other])

    @rule(stale=st.booleans())
    def expected_position(self, stale: bool) -> None:  # noqa: FBT001
        """Post at the current head position, or at a stale one (refused)."""
        position = self.reference.head().position - (1 if stale else 0)
        self._post(
            [
                Movement.receipt(
                    self._id("EP"),
                    item=ITEMS[0],
                    quantity=1,
                    to=PLACES[1],
                    occurred_at=_occurred(1),
                    actor="plan",
                )
            ],
            expected_position=position,
        )

    # ------------------------------------------------------------- invariants

    @invariant()
    def same_head_and_history(self) -> None:
        """Both ledgers have the same head and the same stored history."""
        assert self.subject.head() == self.reference.head()
        assert [_entry(r) for r in self.subject.history()] == [
            _entry(r) for r in self.reference.history()
        ]

    @invariant()
    def same_positions_and_balances(self) -> None:
        """Positions and balances agree, by subtree, status, item, now and in the past."""
        assert self.subject.positions() == self.reference.positions()
        head = self.reference.head().position
        for location in SUBTREES:
            for status in (None, StockStatus.AVAILABLE):
                want = self.reference.balance(location=location, status=status)
                assert self.subject.balance(location=location, status=status) == want
        for item in ITEMS:
            assert self.subject.positions(item) == self.reference.positions(item)
            past = head // 2
            assert self.subject.balance(item, as_of_position=past) == self.reference.balance(
                item, as_of_position=past
            )
        past = head // 2
        assert self.subject.positions(location="H", as_of_position=past) == (
            self.reference.positions(location="H", as_of_position=past)
        )
        assert [_entry(r) for r in self.subject.history(lot="B;2", after_position=past)] == [
            _entry(r) for r in self.reference.history(lot="B;2", after_position=past)
        ]
        assert self.subject.positions(lot="A'1") == self.reference.positions(lot="A'1")
        assert self.subject.positions(serial="S2") == self.reference.positions(serial="S2")
        assert self.subject.positions(gtin=_GTIN, location="H/Store") == (
            self.reference.positions(gtin=_GTIN, location="H/Store")
        )
        assert self.subject.positions(device=_HIBC) == self.reference.positions(device=_HIBC)
        assert [_entry(r) for r in self.subject.history(device=_MA)] == [
            _entry(r) for r in self.reference.history(device=_MA)
        ]

    @invariant()
    def verifies_clean(self) -> None:
        """Both ledgers verify clean."""
        report = self.subject.verify()
        assert report.ok, report.findings
        assert self.reference.verify().ok

    def teardown(self) -> None:
        """Close the store under test."""
        self.subject_store.close()

    # ------------------------------------------------------------- counterparty, references

    @rule(
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        place=st.sampled_from(PLACES),
        day=_days,
        kind=st.sampled_from(
            [
                MovementKind.CONSUMPTION,
                MovementKind.ISSUE,
                MovementKind.RETURN,
                MovementKind.RECEIPT,
            ]
        ),
        party=st.sampled_from(COUNTERPARTIES),
        references=st.lists(st.sampled_from(BUSINESS_REFERENCES), max_size=3),
    )
    def with_counterparty(
        self,
        *,
        item: ItemKey,
        qty: int,
        place: Location,
        day: int,
        kind: MovementKind,
        party: PartyRef | None,
        references: list[BusinessReference],
    ) -> None:
        """Move stock with a party, for documents (any order, duplicates given)."""
        quantity = _units(item, qty)
        common = {
            "item": item,
            "quantity": quantity,
            "occurred_at": _occurred(day),
            "actor": "or",
            "counterparty": party,
            "business_references": references,
        }
        if kind is MovementKind.CONSUMPTION:
            m = Movement.consumption(self._id("PC"), source=place, reference="OP", **common)  # type: ignore[arg-type]
        elif kind is MovementKind.ISSUE:
            m = Movement.issue(self._id("PI"), source=place, **common)  # type: ignore[arg-type]
        elif kind is MovementKind.RETURN:
            m = Movement.return_(self._id("PB"), to=place, **common)  # type: ignore[arg-type]
        else:
            m = Movement.receipt(self._id("PR"), to=place, **common)  # type: ignore[arg-type]
        self._post([m])

    @invariant()
    def same_movements_by_counterparty_and_reference(self) -> None:
        """Both stores answer the same to every counterparty and business reference query."""
        past = self.reference.head().position // 2
        queries = [
            *(MovementQuery(counterparty=p) for p in COUNTERPARTIES if p is not None),
            *(MovementQuery(business_reference=r) for r in BUSINESS_REFERENCES),
            MovementQuery(counterparty=COUNTERPARTIES[0], lot="A'1", after_position=past),
            MovementQuery(business_reference=BUSINESS_REFERENCES[0], up_to_position=past),
        ]
        for query in queries:
            got = [_entry(r) for r in self.subject_store.movements(query)]
            want = [_entry(r) for r in self.reference.store.movements(query)]
            assert got == want, query


def ledger_machine(
    store_factory: Callable[[], LedgerStore], *, name: str = "LedgerStoreComparison"
) -> type[LedgerComparison]:
    """A state machine class comparing stores made by ``store_factory`` with ``MemoryStore``.

    ``store_factory`` is called once per test case and must return a fresh, empty
    store; the machine closes it at the end of the case. Use the class's
    ``TestCase`` attribute as a test class and set its ``settings``.
    """
    return type(name, (LedgerComparison,), {"store_factory": staticmethod(store_factory)})


def _movement_strategy(prefix: str, n: int) -> st.SearchStrategy[Movement]:
    """One movement of a mixed batch (its id is ``prefix.n``)."""
    mid = f"{prefix}.{n}"

    def build(
        *, kind: MovementKind, item: ItemKey, qty: int, a: Location, b: Location, day: int
    ) -> Movement:
        quantity = _units(item, qty)
        at = _occurred(day)
        if kind is MovementKind.RECEIPT:
            return Movement.receipt(
                mid, item=item, quantity=quantity, to=a, occurred_at=at, actor="b"
            )
        if kind is MovementKind.ISSUE:
            return Movement.issue(
                mid, item=item, quantity=quantity, source=a, occurred_at=at, actor="b"
            )
        if kind is MovementKind.TRANSFER and a != b:
            return Movement.transfer(
                mid, item=item, quantity=quantity, source=a, to=b, occurred_at=at, actor="b"
            )
        return Movement.return_(mid, item=item, quantity=quantity, to=b, occurred_at=at, actor="b")

    kinds = [MovementKind.RECEIPT, MovementKind.ISSUE, MovementKind.TRANSFER, MovementKind.RETURN]
    return st.builds(
        build,
        kind=st.sampled_from(kinds),
        item=st.sampled_from(ITEMS),
        qty=_quantities,
        a=st.sampled_from(PLACES),
        b=st.sampled_from(PLACES),
        day=_days,
    )


def _entry(recorded: RecordedMovement) -> tuple[object, ...]:
    return (
        recorded.position,
        recorded.hash,
        recorded.prev_hash,
        format_instant(recorded.recorded_at),
        movement_content(recorded.movement),
    )


def _summary(result: PostResult) -> list[tuple[object, ...]]:
    return [_entry(r) for r in result.movements]
