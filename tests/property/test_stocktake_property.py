"""Property: posting the approved adjustments makes the book equal the physical truth.

Random books, random hidden discrepancies (unrecorded losses and finds), random
movements before, during and after the count (some recorded late), random count
order with recounts: after posting, every key in scope has book == truth.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import pendulum
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_stocktake import MemoryStocktakes
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.services import StocktakeService
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    Stocktake,
    StocktakeScope,
    TimedMovement,
    Tolerance,
    TolerancePolicy,
    diff_counts,
    variance_report,
)

ITEMS = [
    ItemKey("04006381333931", lot="L1"),
    ItemKey("04006381333931", lot="L2"),
    ItemKey("96385074"),
]
PLACES = [Location.parse("Main/Store/A1"), Location.parse("Main/Store/A2"), Location.parse("Out/X")]
AV = StockStatus.AVAILABLE
SCOPE = StocktakeScope(["Main/Store"])
T0 = pendulum.datetime(2026, 11, 23, 8, tz="Europe/Paris")
Key = tuple[ItemKey, Location, StockStatus]


def operations(*kinds: str) -> st.SearchStrategy[list[tuple[str, int, int, int, int, int]]]:
    return st.lists(
        st.tuples(
            st.sampled_from(kinds),
            st.integers(0, len(ITEMS) - 1),
            st.integers(0, len(PLACES) - 1),
            st.integers(0, len(PLACES) - 1),
            st.integers(1, 6),
            st.integers(0, 30),  # recording delay in minutes
        ),
        max_size=40,
    )


@attrs.define
class World:
    """The physical truth and the book, side by side; movements change both."""

    book: Counter[Key] = attrs.Factory(Counter)
    truth: Counter[Key] = attrs.Factory(Counter)
    movements: list[TimedMovement] = attrs.Factory(list)
    lines: list[CountLine] = attrs.Factory(list)
    last_line: dict[Key, CountLine] = attrs.Factory(dict)
    minute: int = 0
    ledger: Ledger | None = None
    clock: list[pendulum.DateTime] = attrs.Factory(lambda: [T0])

    def now(self) -> pendulum.DateTime:
        return T0.add(hours=1, minutes=self.minute)

    def run(self, ops: list[tuple[str, int, int, int, int, int]]) -> None:
        for op, i, p, q, wanted, delay in ops:
            self.minute += 1
            key = (ITEMS[i], PLACES[p], AV)
            if op in {"lose", "find"}:
                if key not in self.last_line:  # unrecorded, before the key's count
                    change = -min(wanted, self.truth[key]) if op == "lose" else wanted
                    self.truth[key] += change
            elif op == "count":
                self.count(key)
            else:
                self.move(op, key, PLACES[q], wanted, delay)

    def move(self, op: str, key: Key, there: Location, wanted: int, delay: int) -> None:
        item, here, _status = key
        common: dict[str, Any] = {"item": item, "occurred_at": self.now(), "actor": "x"}
        available = min(wanted, self.book[key], self.truth[key])
        name = f"m{self.minute}"
        if op == "receive":
            movement = Movement.receipt(name, quantity=wanted, to=here, **common)
        elif op == "issue" and available:
            movement = Movement.issue(name, quantity=available, source=here, **common)
        elif op == "transfer" and available and here != there:
            movement = Movement.transfer(name, quantity=available, source=here, to=there, **common)
        else:
            return
        for location, status, delta in movement.deltas():
            self.book[(item, location, status)] += delta
            self.truth[(item, location, status)] += delta
        recorded = self.now().add(minutes=delay)
        self.movements.append(TimedMovement(movement, recorded))
        if self.ledger is not None:
            self.clock[0] = recorded
            self.ledger.post([movement])

    def count(self, key: Key, counter: str | None = None) -> None:
        """A counter counts a whole bin: every item there, 0 for what is not on the shelf."""
        if not SCOPE.covers(key[0], key[1]):
            return
        for item in ITEMS:
            self.count_key((item, key[1], key[2]), counter)

    def count_key(self, key: Key, counter: str | None) -> None:
        previous = self.last_line.get(key)
        line = CountLine(
            id=f"c{self.minute}-{len(self.lines)}",
            counter=counter
            or (f"counter-{len(self.lines) % 3}" if previous is None else f"re-{self.minute}"),
            device="d1",
            counted_at=self.now(),
            location=key[1],
            item=key[0],
            quantity=self.truth[key],
            recount_of=previous.id if previous is not None else None,
        )
        self.lines.append(line)
        self.last_line[key] = line


@settings(max_examples=100)
@given(
    opening=st.lists(st.integers(0, 8), min_size=6, max_size=6),
    # during the count: recorded movements, counts, and unrecorded losses and finds
    during=operations("receive", "issue", "transfer", "count", "lose", "find"),
    # after it: recorded movements only (an unrecorded loss after the count is for the next one)
    after=operations("receive", "issue", "transfer"),
)
def test_posting_approved_adjustments_makes_book_equal_truth(opening, during, after):
    world = World()
    for index, quantity in enumerate(opening):  # opening stock, before the start point
        key = (ITEMS[index // 3], PLACES[index % 3], AV)
        world.book[key] += quantity
        world.truth[key] += quantity
    start = {k: q for k, q in world.book.items() if q}
    stocktake = Stocktake.plan(
        "ST-P",
        scope=SCOPE,
        created_by="lea",
        created_at=T0,
        tolerances=TolerancePolicy(Tolerance(absolute=10**6)),
    ).begin(start_position=len(start), at=T0)
    world.run(during)
    # Whatever nobody counted yet is counted now, at the end of the count.
    world.minute += 1
    for key in sorted(
        set(world.book) | set(world.truth), key=lambda k: (k[0].sort_key(), k[1].path)
    ):
        if key not in world.last_line and (world.book[key] or world.truth[key]):
            world.count(key, counter="sweeper")
    world.minute += 1
    stocktake = stocktake.close_counting(at=world.now())
    world.minute += 1  # movements after closing happen after the closing instant
    world.run(after)  # stock keeps moving before the report is run

    report = variance_report(stocktake, world.lines, start=start, movements=world.movements)
    approved = stocktake.approve(report, approver="boss", at=world.now(), default_reason="COUNT")
    book = world.book
    for movement in approved.movements():
        for location, status, delta in movement.deltas():
            book[(movement.item, location, status)] += delta
    for key in set(book) | set(world.truth):
        if SCOPE.covers(key[0], key[1]):
            assert book[key] == world.truth[key], (key, book[key], world.truth[key])
            assert book[key] >= 0


rows = st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(0, 4)), max_size=25)


@settings(max_examples=200)
@given(book_rows=rows, count_rows=rows, known=st.sets(st.integers(0, 6)))
def test_diff_counts_agrees_with_a_naive_diff(book_rows, count_rows, known):
    book = list({(i, p): q for i, p, q in book_rows}.items())
    book_triples = [(i, p, q) for (i, p), q in book]
    diff = diff_counts(book_triples, count_rows, known_items=known)
    booked = dict(book)
    counted: Counter[tuple[int, int]] = Counter()
    for i, p, q in count_rows:
        counted[(i, p)] += q
    expected_rows = {}
    matches = 0
    for key in booked.keys() | counted.keys():
        e, c = booked.get(key, 0), counted.get(key, 0)
        if e == c:
            matches += 1
        elif key in booked:
            expected_rows[key] = "shortage" if c < e else "surplus"
        elif any(i == key[0] and q > 0 for (i, _p), q in book):
            expected_rows[key] = "elsewhere"
        elif any(i == key[0] for (i, _p), _q in book) or key[0] in known:
            expected_rows[key] = "surplus"
        else:
            expected_rows[key] = "unknown"
    got = {}
    for name, found in (
        ("shortage", diff.shortages),
        ("surplus", diff.surpluses),
        ("elsewhere", diff.found_elsewhere),
        ("unknown", diff.unknown),
    ):
        for i, p, e, c in found:
            got[(i, p)] = name
            assert (e, c) == (booked.get((i, p), 0), counted.get((i, p), 0))
    assert got == expected_rows
    assert diff.matches == matches


@settings(max_examples=25)
@given(
    opening=st.lists(st.integers(0, 8), min_size=6, max_size=6),
    during=operations("receive", "issue", "transfer", "count", "lose", "find"),
    after=operations("receive", "issue", "transfer"),
)
def test_through_the_ledger_posting_makes_book_equal_truth(opening, during, after):
    world = World()
    ledger = Ledger(MemoryStore(), clock=lambda: world.clock[0])
    world.ledger = ledger
    for index, quantity in enumerate(opening):
        key = (ITEMS[index // 3], PLACES[index % 3], AV)
        if quantity:
            world.minute += 1
            world.move("receive", key, key[1], quantity, 0)
    service = StocktakeService(ledger, MemoryStocktakes())
    service.plan(
        "ST-L",
        scope=SCOPE,
        created_by="lea",
        at=T0,
        tolerances=TolerancePolicy(Tolerance(absolute=10**6)),
    )
    service.begin("ST-L", at=world.now())
    world.run(during)
    world.minute += 1
    for key in sorted(
        set(world.book) | set(world.truth), key=lambda k: (k[0].sort_key(), k[1].path)
    ):
        if key not in world.last_line and (world.book[key] or world.truth[key]):
            world.count(key, counter="sweeper")
    service.add_lines("ST-L", world.lines)
    world.minute += 1
    service.close_counting("ST-L", at=world.now())
    world.minute += 1
    world.run(after)
    service.approve("ST-L", approver="boss", at=world.now(), default_reason="COUNT")
    service.post("ST-L", at=world.now())
    for key in set(world.book) | set(world.truth):
        if SCOPE.covers(key[0], key[1]):
            assert ledger.balance(key[0], location=key[1], status=key[2]) == world.truth[key]
    assert ledger.verify().ok
