"""The stocktake service: the domain rules over a stocktake store and the ledger."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Final

from medinv.barcodes import Scan
from medinv.errors import ConcurrencyError, StockError, StocktakeStateError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.status import StockStatus
from medinv.stocktake import (
    CounterView,
    CountLine,
    CountTiming,
    StockKey,
    Stocktake,
    StocktakeScope,
    StocktakeState,
    TolerancePolicy,
    VarianceReport,
    count_line_from_scan,
    counter_view,
    import_counts_csv,
    variance_report,
)

if TYPE_CHECKING:
    from medinv.ledger import Ledger, PostResult
    from medinv.movements import Movement
    from medinv.ports import RecordedMovement
    from medinv.ports_stocktake import StocktakeStore

__all__ = ["BookAtStart", "StocktakeService"]

_READ_ATTEMPTS: Final = 10


class BookAtStart:
    """The book of a scope at a start point, and the movements since, read consistently."""

    def __init__(
        self, start: dict[StockKey, int], movements: list[RecordedMovement], head: int
    ) -> None:
        self.start = start
        """``(item, location, status) → quantity`` at the start point (non-zero only)."""
        self.movements = movements
        """The movements after the start point, up to ``head``, in ledger order."""
        self.head = head
        """The ledger position the read went up to."""


class StocktakeService:
    """Run stocktakes against a ledger, persisting them in a stocktake store.

    Every method reads the stocktake from the store, applies a domain transition and
    writes it back with optimistic concurrency (a concurrent change raises
    [`ConcurrencyError`][medinv.errors.ConcurrencyError]; re-run the call).

    Args:
        ledger: the stock ledger counted against and posted to.
        store: where stocktakes and their lines persist.
    """

    def __init__(self, ledger: Ledger, store: StocktakeStore) -> None:
        self._ledger = ledger
        self._store = store

    @property
    def store(self) -> StocktakeStore:
        """The stocktake store."""
        return self._store

    # ------------------------------------------------------------------ lifecycle

    def plan(
        self,
        stocktake_id: str,
        *,
        scope: StocktakeScope,
        created_by: str,
        at: dt.datetime,
        blind: bool = True,
        tolerances: TolerancePolicy | None = None,
    ) -> Stocktake:
        """Create a PLANNED stocktake."""
        stocktake = Stocktake.plan(
            stocktake_id,
            scope=scope,
            created_by=created_by,
            created_at=at,
            blind=blind,
            tolerances=tolerances,
        )
        self._store.create(stocktake)
        return stocktake

    def begin(self, stocktake_id: str, *, at: dt.datetime) -> Stocktake:
        """PLANNED → COUNTING at the ledger head: the start point of the count."""
        stocktake = self._store.get(stocktake_id)
        begun = stocktake.begin(start_position=self._ledger.head().position, at=at)
        self._store.update(begun)
        return begun

    def close_counting(self, stocktake_id: str, *, at: dt.datetime) -> Stocktake:
        """COUNTING → REVIEW."""
        return self._transition(stocktake_id, lambda s: s.close_counting(at=at))

    def reopen(self, stocktake_id: str) -> Stocktake:
        """REVIEW → COUNTING."""
        return self._transition(stocktake_id, lambda s: s.reopen())

    def cancel(self, stocktake_id: str, *, by: str, reason: str) -> Stocktake:
        """Cancel a stocktake whose posting has not begun.

        Raises:
            StocktakeStateError: it is POSTING (posting has begun: complete it with
                [`resume_post`][medinv.services.StocktakeService.resume_post]),
                POSTED or CANCELLED, or its adjustments are in the ledger already
                (complete it with [`post`][medinv.services.StocktakeService.post]).
            InvalidValueError: ``by`` is not a valid actor name, or ``reason`` is blank.
            ConcurrencyError: it changed meanwhile (e.g. a concurrent post began); nothing
                changed.
        """
        stocktake = self._store.get(stocktake_id)
        cancelled = stocktake.cancel(by=by, reason=reason)
        if stocktake.state is StocktakeState.APPROVED and self._posted_any(stocktake):
            raise StocktakeStateError(
                stocktake.id, "APPROVED with its adjustments in the ledger", "cancel"
            )
        self._store.update(cancelled)
        return cancelled

    def _posted_any(self, stocktake: Stocktake) -> bool:
        ids = [m.id for m in stocktake.movements()]
        return bool(ids) and bool(self._ledger.store.movements_by_id(ids))

    def _transition(self, stocktake_id: str, change: Callable[[Stocktake], Stocktake]) -> Stocktake:
        changed = change(self._store.get(stocktake_id))
        self._store.update(changed)
        return changed

    # ------------------------------------------------------------------ lines

    def add_lines(self, stocktake_id: str, lines: Iterable[CountLine]) -> list[CountLine]:
        """Validate and store count lines; returns the lines stored (re-sent ones skipped).

        Plain count lines cost the same whatever the number of lines stored (only
        the stored lines with the same ids are read, on a store with
        [`LineLookup`][medinv.ports_stocktake.LineLookup]); a batch with recount
        lines reads the stocktake's lines to check the recount rounds.

        Raises:
            StocktakeStateError: the stocktake does not take lines now.
            CountLineError: a line is refused (see
                [`Stocktake.check_lines`][medinv.stocktake.Stocktake.check_lines]).
            ConcurrencyError: the stocktake changed state meanwhile.
        """
        lines = list(lines)
        stocktake = self._store.get(stocktake_id)
        accepted = stocktake.check_lines(self._lines_for(stocktake_id, lines), lines)
        if accepted:
            self._store.add_lines(stocktake_id, accepted, expected_version=stocktake.version)
        return accepted

    def _lines_for(self, stocktake_id: str, lines: Sequence[CountLine]) -> Iterable[CountLine]:
        """The stored lines ``check_lines`` needs to judge ``lines``."""
        if any(line.recount_of is not None for line in lines):
            return self._store.lines(stocktake_id)
        lookup: Callable[[str, set[str]], Mapping[str, CountLine]] | None = getattr(
            self._store, "lines_by_id", None
        )  # the optional LineLookup capability (ports_stocktake imports this package)
        if lookup is None:
            return self._store.lines(stocktake_id)
        return lookup(stocktake_id, {line.id for line in lines}).values()

    def import_csv(
        self,
        stocktake_id: str,
        source: str | IO[str],
        *,
        counter: str | None = None,
        device: str = "csv",
        counted_at: dt.datetime | None = None,
        delimiter: str = ",",
    ) -> list[CountLine]:
        """Import a count file (all or nothing) into the stocktake.

        See [`import_counts_csv`][medinv.stocktake.import_counts_csv] for the format.
        """
        lines = import_counts_csv(
            source, counter=counter, device=device, counted_at=counted_at, delimiter=delimiter
        )
        return self.add_lines(stocktake_id, lines)

    def scan(
        self,
        stocktake_id: str,
        scan: Scan | str,
        *,
        line_id: str,
        counter: str,
        device: str,
        counted_at: dt.datetime,
        location: Location,
        quantity: int | None = None,
        status: StockStatus = StockStatus.AVAILABLE,
        recount_of: str | None = None,
        parse: Callable[[str], Scan] | None = None,
    ) -> CountLine:
        """Add the count line of one scanner read (see `count_line_from_scan`)."""
        line = count_line_from_scan(
            scan,
            line_id=line_id,
            counter=counter,
            device=device,
            counted_at=counted_at,
            location=location,
            quantity=quantity,
            status=status,
            recount_of=recount_of,
            parse=parse,
        )
        self.add_lines(stocktake_id, [line])
        return line

    def view(self, stocktake_id: str, *, counter: str) -> CounterView:
        """The counter's view: book quantities only once a blind count is over."""
        stocktake = self._store.get(stocktake_id)
        lines = self._store.lines(stocktake_id)
        probe = counter_view(stocktake, counter=counter, lines=(), book={})
        book = {} if probe.book is None else self._book(stocktake).start
        return counter_view(stocktake, counter=counter, lines=lines, book=book)

    # ------------------------------------------------------------------ review

    def book_at_start(self, stocktake: Stocktake) -> BookAtStart:
        """The scope's book at the start point and the movements since, at one ledger head.

        Raises:
            StocktakeStateError: the stocktake has no start point yet.
            ConcurrencyError: the ledger kept moving during every attempt to read.
        """
        return self._book(stocktake)

    def _book(self, stocktake: Stocktake) -> BookAtStart:
        if stocktake.start_position is None:
            raise StocktakeStateError(stocktake.id, stocktake.state.value, "read its book")
        start_position = stocktake.start_position
        scope = stocktake.scope
        for _attempt in range(_READ_ATTEMPTS):
            head = self._ledger.head().position
            now: dict[StockKey, int] = {}
            for root in scope.locations:
                for p in self._ledger.positions(location=root):
                    if scope.covers(p.item, p.location):
                        now[(p.item, p.location, p.status)] = p.quantity
            movements = self._ledger.history(after_position=start_position, up_to_position=head)
            if self._ledger.head().position != head:
                continue  # a post landed between the reads: read again
            for recorded in movements:
                movement = recorded.movement
                for location, status, delta in movement.deltas():
                    if scope.covers(movement.item, location):
                        key = (movement.item, location, status)
                        now[key] = now.get(key, 0) - delta
            start = {key: qty for key, qty in now.items() if qty}
            return BookAtStart(start, movements, head)
        msg = f"the ledger kept moving while reading the book of stocktake {stocktake.id!r}"
        raise ConcurrencyError(msg)

    def report(
        self,
        stocktake_id: str,
        *,
        as_of: dt.datetime | None = None,
        unit_costs: Mapping[str, Decimal] | None = None,
        timing: CountTiming = CountTiming.OCCURRED_AT,
    ) -> VarianceReport:
        """The variance report, from the stored lines and the ledger.

        Args:
            stocktake_id: the stocktake.
            as_of: the count time of uncounted keys while counting is still open
                (default: when counting closed).
            unit_costs: device → unit cost, keyed by the stored text (GTIN-14, or ``AGENCY:DI``).
            timing: which movement time stamp decides "before the count".
        """
        stocktake = self._store.get(stocktake_id)
        return self._report(stocktake, self._store.lines(stocktake_id), as_of, unit_costs, timing)

    def _report(
        self,
        stocktake: Stocktake,
        lines: Sequence[CountLine],
        as_of: dt.datetime | None,
        unit_costs: Mapping[str, Decimal] | None,
        timing: CountTiming,
    ) -> VarianceReport:
        book = self._book(stocktake)
        items = {key[0] for key in book.start} | {line.item for line in lines}
        items |= {r.movement.item for r in book.movements}
        store = self._ledger.store
        lots = {(i.device_text, i.lot.value) for i in items if i.lot is not None}
        expiries = store.lot_expiries(lots) if lots else {}
        known = set(store.item_records({line.item for line in lines}))
        return variance_report(
            stocktake,
            lines,
            start=book.start,
            movements=book.movements,
            closed_at=as_of,
            lot_expiries=expiries,
            unit_costs=unit_costs,
            known_items=known,
            timing=timing,
            as_of_position=book.head,
        )

    def approve(
        self,
        stocktake_id: str,
        *,
        approver: str,
        at: dt.datetime,
        reasons: Mapping[tuple[ItemKey, Location, StockStatus], str] | None = None,
        default_reason: str | None = None,
        unit_costs: Mapping[str, Decimal] | None = None,
    ) -> Stocktake:
        """REVIEW → APPROVED under four eyes, from a report built now.

        Raises:
            FourEyesError: the approver created the stocktake or counted an approved line.
            ApprovalRefusedError: recounts pending or reason codes missing.
            ConcurrencyError: a line or a transition landed meanwhile; nothing changed.
        """
        stocktake = self._store.get(stocktake_id)
        lines = self._store.lines(stocktake_id)
        report = self._report(stocktake, lines, None, unit_costs, CountTiming.OCCURRED_AT)
        approved = stocktake.approve(
            report, approver=approver, at=at, reasons=reasons, default_reason=default_reason
        )
        self._store.update(approved, lines_seen=len(lines))
        return approved

    def post(self, stocktake_id: str, *, at: dt.datetime) -> PostResult:
        """Post the approved adjustments to the ledger (one batch) and mark it POSTED.

        Posting is one decision even when the stocktake store and the ledger are
        different databases:

        1. the stocktake moves APPROVED → POSTING in its store (optimistic
           concurrency: of a concurrent ``cancel`` and ``post``, exactly one wins);
           from here on ``cancel`` is refused;
        2. the adjustments go to the ledger with deterministic movement ids, so
           writing them again is a no-op;
        3. the stocktake moves POSTING → POSTED.

        A crash between the steps leaves it POSTING: calling ``post`` (or
        [`resume_post`][medinv.services.StocktakeService.resume_post]) again
        completes it. Posting a POSTED stocktake replays the batch (a no-op).

        Raises:
            StocktakeStateError: not APPROVED, POSTING or POSTED (e.g. CANCELLED).
            StockError: the ledger refused the batch (e.g. stock moved out since the
                count so that a shortage no longer fits); nothing was posted and the
                stocktake is APPROVED again (it may be cancelled).
            ConcurrencyError: the stocktake changed meanwhile and is not being posted.
        """
        stocktake = self._store.get(stocktake_id)
        if stocktake.state is StocktakeState.APPROVED:
            stocktake = self._begin_posting(stocktake)
        return self._complete_post(stocktake, at)

    def resume_post(self, stocktake_id: str, *, at: dt.datetime) -> PostResult:
        """Complete a post that was interrupted (the stocktake is POSTING).

        Safe to call any number of times, from any process: the ledger keeps each
        adjustment once. List the stocktakes to resume with
        ``store.stocktakes(state=StocktakeState.POSTING)`` at start-up.

        Raises:
            StocktakeStateError: not POSTING or POSTED.
            StockError: see [`post`][medinv.services.StocktakeService.post].
        """
        stocktake = self._store.get(stocktake_id)
        if stocktake.state not in {StocktakeState.POSTING, StocktakeState.POSTED}:
            raise StocktakeStateError(stocktake.id, stocktake.state.value, "resume posting")
        return self._complete_post(stocktake, at)

    def _begin_posting(self, stocktake: Stocktake) -> Stocktake:
        posting = stocktake.begin_posting()
        try:
            self._store.update(posting)
        except ConcurrencyError:
            current = self._store.get(stocktake.id)
            if current.state not in {StocktakeState.POSTING, StocktakeState.POSTED}:
                raise  # a cancel (or another change) won: nothing was posted
            return current  # a concurrent post began it: completing it is idempotent
        return posting

    def _complete_post(self, stocktake: Stocktake, at: dt.datetime) -> PostResult:
        if stocktake.state not in {StocktakeState.POSTING, StocktakeState.POSTED}:
            raise StocktakeStateError(stocktake.id, stocktake.state.value, "post")
        movements = stocktake.movements()
        try:
            result = self._ledger.post(movements, retries=3)
        except StockError:
            if stocktake.state is StocktakeState.POSTING:
                self._undo_posting(stocktake, movements)
            raise
        if stocktake.state is StocktakeState.POSTING:
            try:
                self._store.update(stocktake.mark_posted(at=at))
            except ConcurrencyError:
                current = self._store.get(stocktake.id)
                if current.state is StocktakeState.APPROVED:
                    # A concurrent post was refused and undid POSTING while ours went
                    # through: the adjustments are in the ledger, so finish the job.
                    posting = current.begin_posting()
                    self._store.update(posting)
                    self._store.update(posting.mark_posted(at=at))
                elif current.state is not StocktakeState.POSTED:
                    raise
        return result

    def _undo_posting(self, stocktake: Stocktake, movements: Sequence[Movement]) -> None:
        """The ledger refused the whole batch: back to APPROVED, unless any of it is stored."""
        if movements and self._ledger.store.movements_by_id([m.id for m in movements]):
            return  # posted by someone else meanwhile: stays POSTING, to be completed
        with contextlib.suppress(ConcurrencyError):  # someone else completed it meanwhile
            self._store.update(stocktake.posting_refused())
