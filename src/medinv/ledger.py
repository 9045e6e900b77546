"""The movement ledger service: posting rules, queries and verification.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

[`Ledger`][medinv.ledger.Ledger] enforces every rule of the ledger once, over any
[`LedgerStore`][medinv.ports.LedgerStore]: stores only persist what it computed.

```pycon
>>> import pendulum
>>> from medinv import ItemKey, Location, Movement, StockStatus
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.ledger import Ledger
>>> clock = lambda: pendulum.datetime(2026, 11, 23, 8, 0, tz="UTC")
>>> ledger = Ledger(MemoryStore(), clock=clock)
>>> item = ItemKey("04006381333931", lot="L2026A")
>>> store_a1, ward = Location.parse("CHU/Pharmacy/A1"), Location.parse("CHU/Ward-3")
>>> at = "2026-11-23T09:00:00+01:00"
>>> result = ledger.post([
...     Movement.receipt("DN-7/1", item=item, quantity=40, to=store_a1, occurred_at=at,
...                      actor="jm", expiry="2027-06-30", reference="DN-7"),
...     Movement.transfer("TR-1", item=item, quantity=15, source=store_a1, to=ward,
...                       occurred_at=at, actor="jm"),
... ])
>>> [r.position for r in result.movements], ledger.head().position
([1, 2], 2)
>>> ledger.balance(item, location=Location.parse("CHU"))
40
>>> ledger.balance(gtin="04006381333931", location=ward, status=StockStatus.AVAILABLE)
15
>>> ledger.post([Movement.issue("IS-1", item=item, quantity=20, source=ward,
...                             occurred_at=at, actor="nurse")])
Traceback (most recent call last):
...
medinv.errors.InsufficientStockError: insufficient stock of ... requested 20, available 15
>>> ledger.post(result.movements[0].movement for _ in range(1)).replayed
('DN-7/1',)
>>> ledger.verify().ok
True

```

Posting reads the head and, once per batch, everything the rules need; checks the
rules in batch order (a receipt and an issue of it in one batch work); then appends
one [`Commit`][medinv.ports.Commit]. If another writer moved the head meanwhile,
the store raises [`ConcurrencyError`][medinv.errors.ConcurrencyError];
``post(..., retries=n)`` or [`retry`][medinv.ledger.retry] runs the whole
read-check-append again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Final, NoReturn, TypeVar

import attrs
import pendulum

from medinv.chain import (
    ENCODING_VERSION,
    content_differences,
    entry_hash,
    format_instant,
    movement_content,
)
from medinv.dates import facility_timezone, is_expired, to_datetime
from medinv.errors import (
    BalanceLimitError,
    ConcurrencyError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidMovementError,
    InvalidValueError,
    LotMasterDataConflictError,
    ReversalError,
    SerialConflictError,
    StockError,
    StockNotIssuableError,
)
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.ports import (
    BalanceChange,
    BalanceKey,
    Commit,
    ItemRecord,
    LedgerHead,
    LedgerStore,
    LotKey,
    LotRecord,
    MovementQuery,
    PositionQuery,
    RecordedMovement,
)
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus
from medinv.verification import (
    ChainBreak,
    ColumnMismatch,
    CorruptRecord,
    Discrepancy,
    DuplicateMovementId,
    HashMismatch,
    HeadMismatch,
    MasterDataMismatch,
    NegativeBalance,
    PositionGap,
    PositionOrder,
    ProjectionMismatch,
    RecordedAtDecrease,
    ReversalMismatch,
    SerialInTwoPlaces,
    VerifyReport,
    verify_store,
)

__all__ = [
    "ChainBreak",
    "ColumnMismatch",
    "CorruptRecord",
    "Discrepancy",
    "DuplicateMovementId",
    "HashMismatch",
    "HeadMismatch",
    "Ledger",
    "MasterDataMismatch",
    "NegativeBalance",
    "PositionGap",
    "PositionOrder",
    "PostResult",
    "ProjectionMismatch",
    "RecordedAtDecrease",
    "ReversalMismatch",
    "SerialInTwoPlaces",
    "VerifyReport",
    "retry",
]

T = TypeVar("T")

_AVAILABLE: Final = StockStatus.AVAILABLE
_REVERSAL: Final = MovementKind.REVERSAL
_ISSUING: Final = frozenset({MovementKind.ISSUE, MovementKind.CONSUMPTION})
_MISSING: Final = object()
_date_of = dt.datetime.date  # the C method: pendulum's date() costs three times as much
_MAX_BALANCE: Final = MAX_QUANTITY  # every store holds a balance up to it exactly
_MAX_WAIT: Final = 86_400.0  # seconds: a retry's base wait beyond a day is a mistake
_CACHE_LIMIT: Final = 200_000  # balances, items or lots cached before the cache starts again


def _utc_now() -> pendulum.DateTime:
    return pendulum.now("UTC")


def retry(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    wait: float = 0.0,
    sleep: Callable[[float], object] = time.sleep,
) -> T:
    """Call ``fn`` until it does not raise [`ConcurrencyError`][medinv.errors.ConcurrencyError].

    Optimistic concurrency: a writer that lost the race re-reads and re-checks
    everything (``fn`` must be the whole read-check-write, e.g. a ``Ledger.post``
    call) and tries again. Waits ``wait * 2**n`` seconds before the ``n``-th retry
    (no wait by default). Any other exception propagates at once.

    ```pycon
    >>> from medinv.errors import ConcurrencyError
    >>> calls = []
    >>> def flaky():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConcurrencyError("head moved", expected=1, actual=2)
    ...     return "posted"
    >>> retry(flaky), len(calls)
    ('posted', 3)

    ```

    Args:
        fn: the operation to run.
        attempts: how many times to call ``fn`` in all (at least 1).
        wait: base of the exponential back-off, in seconds.
        sleep: the function that waits (injectable for tests).

    Raises:
        ConcurrencyError: the last attempt lost the race too.
        InvalidValueError: ``attempts`` is less than 1.
    """
    if not callable(fn):
        raise InvalidValueError(f"retry needs a function to call, not {type(fn).__name__}")
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise InvalidValueError(
            f"retry needs a whole number of at least 1 attempt, not {attempts!r}"
        )
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait < _MAX_WAIT:
        raise InvalidValueError(f"retry's wait must be a number of seconds from 0, not {wait!r}")
    if not callable(sleep):
        raise InvalidValueError(f"retry's sleep must be a function, not {type(sleep).__name__}")
    for attempt in range(attempts):
        try:
            return fn()
        except ConcurrencyError:
            if attempt == attempts - 1:
                raise
            if wait > 0:
                sleep(wait * 2**attempt)
    raise AssertionError("unreachable")  # pragma: no cover


# --------------------------------------------------------------------------- results


@attrs.frozen(kw_only=True)
class PostResult:
    """What a post did: the recorded movements, in the order they were given."""

    movements: tuple[RecordedMovement, ...]
    """One entry per movement given, in order; a replay gets the originally recorded movement."""
    new: tuple[RecordedMovement, ...]
    """The movements this post stored, in position order (empty when everything was a replay)."""
    replayed: tuple[str, ...]
    """Ids of the given movements that stored nothing: already stored, or repeated in the batch."""
    head: LedgerHead
    """The ledger head right after the post."""


# --------------------------------------------------------------------------- the service


@attrs.define(eq=False)
class _Known:
    """What a ledger knows of its store as of one head: the cache of posting's reads.

    Valid at ``head`` only: a post that finds the store at another head (another
    writer committed) starts again from nothing. A batch works on the cache
    directly and keeps the values it overwrites (`_Batch`): a refused batch puts
    them back, a committed one moves the cache to the new head, and any other
    failure empties it.
    """

    head: LedgerHead | None = None
    """The head the cache describes, or ``None`` when empty."""
    balances: dict[BalanceKey, int] = attrs.Factory(dict)
    """Every non-zero balance of the items in ``complete``."""
    complete: set[ItemKey] = attrs.Factory(set)
    """Items whose balances (all of them, at every location and status) are known."""
    serial_totals: dict[ItemKey, int] = attrs.Factory(dict)
    """Quantity in stock of each serialised item in ``complete`` (absent: 0)."""
    items: dict[ItemKey, ItemRecord] = attrs.Factory(dict)
    """Item master data read or written."""
    lots: dict[LotKey, pendulum.Date | None] = attrs.Factory(dict)
    """Lot master data read or written."""
    recorded_at: pendulum.DateTime | None = None
    """``recorded_at`` of the movement at ``head`` (``None``: not read yet)."""

    def at(self, head: LedgerHead) -> None:
        """Keep the cache if it describes ``head`` (and is not too large); else empty it."""
        largest = max(len(self.balances), len(self.complete), len(self.items), len(self.lots))
        if head != self.head or largest > _CACHE_LIMIT:
            self.forget()
            self.head = head

    def forget(self) -> None:
        """Empty the cache."""
        self.head = None
        self.balances = {}
        self.complete = set()
        self.serial_totals = {}
        self.items = {}
        self.lots = {}
        self.recorded_at = None

    def read_balances(self, store: LedgerStore, items: set[ItemKey]) -> None:
        """Read every balance of ``items`` (none of them complete yet) into the cache."""
        read = store.balances_of(items)
        self.balances.update(read)
        self.complete.update(items)
        totals = self.serial_totals
        for (item, _, _), quantity in read.items():
            if item.serial is not None:
                totals[item] = totals.get(item, 0) + quantity

    def undo(self, state: _Batch) -> None:
        """Put back what a refused batch changed."""
        _put_back(self.balances, state.undo)
        _put_back(self.serial_totals, state.serial_undo)
        for record in state.new_items:
            self.items.pop(record.item, None)
        for lot in state.new_lots:
            self.lots.pop((lot.gtin, lot.lot), None)


K = TypeVar("K")


def _put_back(quantities: dict[K, int], before: dict[K, int]) -> None:
    """Set each quantity of ``before`` again in ``quantities`` (a 0 is no entry)."""
    for key, quantity in before.items():
        if quantity:
            quantities[key] = quantity
        else:
            quantities.pop(key, None)


@attrs.define(eq=False)
class _Batch:
    """One post's view of the ledger's cache, which its movements update in place.

    Every item of the batch is complete in the cache (its balances all known).
    The first change to a balance or serial total records the value before the
    batch, so that a refusal can undo the batch and a commit can tell its net
    changes.
    """

    balances: dict[BalanceKey, int]
    """The cache's balances, as the batch's movements so far leave them."""
    items: dict[ItemKey, ItemRecord]
    lots: dict[LotKey, pendulum.Date | None]
    stored: dict[str, RecordedMovement]
    reversed_by: dict[str, str]
    serial_totals: dict[ItemKey, int]
    undo: dict[BalanceKey, int] = attrs.Factory(dict)
    """The balances the batch touched, as they were before it."""
    serial_undo: dict[ItemKey, int] = attrs.Factory(dict)
    """The serial totals the batch touched, as they were before it."""
    new_by_id: dict[str, Movement] = attrs.Factory(dict)
    new_items: list[ItemRecord] = attrs.Factory(list)
    new_lots: list[LotRecord] = attrs.Factory(list)

    def changes(self) -> tuple[BalanceChange, ...]:
        """The net balance changes of the batch (none that are zero); drops zero balances."""
        balances = self.balances
        out: list[BalanceChange] = []
        append = out.append
        new, set_item, set_location, set_status, set_delta = _new, *_CHANGE_SLOTS
        for key, old in self.undo.items():
            now = balances[key]
            if not now:
                del balances[key]
            delta = now - old
            if delta:
                change = new(BalanceChange)
                set_item(change, key[0])
                set_location(change, key[1])
                set_status(change, key[2])
                set_delta(change, delta)
                append(change)
        return tuple(out)


# The ledger builds a RecordedMovement per posted movement and a BalanceChange per
# touched balance from values it has just checked. attrs' generated ``__init__``
# (keyword-only, a per-instance ``object.__setattr__``) costs about twice as much as
# setting the slots directly; the objects are the same (a test compares them).
_new = object.__new__
_CHANGE_SLOTS: Final = tuple(
    BalanceChange.__dict__[name].__set__ for name in ("item", "location", "status", "delta")
)
_RECORDED_SLOTS: Final = tuple(
    RecordedMovement.__dict__[name].__set__
    for name in ("movement", "position", "recorded_at", "prev_hash", "hash")
)


class Ledger:
    """The stock ledger over a store: posts movements under the rules and answers queries.

    Args:
        store: where the ledger keeps its data (any [`LedgerStore`][medinv.ports.LedgerStore]).
        clock: returns the current aware date-time, used only to stamp ``recorded_at``
            (once per batch). Defaults to UTC now.
        timezone: the facility's time zone, an IANA name such as ``"Europe/Paris"``.
            Whether stock is expired is judged on the calendar date of the movement's
            ``occurred_at`` in this zone, whatever UTC offset the caller gave it. By
            default (``None``) it is the date in the offset ``occurred_at`` carries;
            give the zone whenever callers may send instants in UTC or in other
            offsets.

    Raises:
        InvalidValueError: ``store`` is not a store, ``clock`` not callable, or
            ``timezone`` not a known IANA time zone.

    The ledger remembers what posting read from the store (balances of the items
    it posted, lot and item master data) as of the head it read them at: a post
    that finds another head (another writer committed) starts from nothing, its
    own commits move the cache along, and a refused batch is undone in it. At
    most 200,000 balances, items or lots are kept. Posts through one ``Ledger`` are
    serialised; give each thread or process its own.
    """

    def __init__(
        self,
        store: LedgerStore,
        *,
        clock: Callable[[], pendulum.DateTime] | None = None,
        timezone: str | None = None,
    ) -> None:
        given: object = store  # checked at run time, whatever the annotations say
        if not isinstance(given, LedgerStore):
            msg = f"a Ledger needs a LedgerStore, not {type(given).__name__}"
            raise InvalidValueError(msg)
        given_clock: object = clock
        if given_clock is not None and not callable(given_clock):
            msg = f"clock must be a function returning an aware date-time, not {clock!r:.60}"
            raise InvalidValueError(msg)
        self._store = store
        self._clock = clock or _utc_now
        self._timezone = timezone
        self._zone = None if timezone is None else facility_timezone(timezone)
        self._known = _Known()
        self._posting = threading.Lock()

    @property
    def store(self) -> LedgerStore:
        """The store the ledger reads and writes."""
        return self._store

    @property
    def timezone(self) -> str | None:
        """The facility's time zone (IANA name), or ``None``: each movement's own offset."""
        return self._timezone

    def head(self) -> LedgerHead:
        """The current ledger position and hash (position 0 when empty)."""
        return self._store.head()

    # ----------------------------------------------------------------- posting

    def post(
        self,
        movements: Iterable[Movement],
        *,
        expected_position: int | None = None,
        retries: int = 0,
    ) -> PostResult:
        """Post a batch of movements: all of them, or none.

        [Rules](../explanation/rules.md#ledger), checked in batch order against the stock as left by
        the movements before in the batch:

        - a movement id already stored (or given earlier in the batch) with the same
          content is a replay: nothing is stored, the original is returned; with other
          content it is an [`IdempotencyConflictError`][medinv.errors.IdempotencyConflictError]
          naming the fields that differ;
        - no balance of (item, location, status) goes below 0
          ([`InsufficientStockError`][medinv.errors.InsufficientStockError]);
        - a serialised item is in stock at most once
          ([`SerialConflictError`][medinv.errors.SerialConflictError]);
        - issues and consumptions take ``AVAILABLE`` stock that is not expired on the
          movement's ``occurred_on`` date
          ([`StockNotIssuableError`][medinv.errors.StockNotIssuableError]);
        - a lot's (or lot-less item's) expiry is fixed by its first inbound movement;
          another stated expiry is a
          [`LotMasterDataConflictError`][medinv.errors.LotMasterDataConflictError];
        - a reversal is the exact mirror of a stored (or earlier in the batch),
          non-reversal movement not reversed yet ([`ReversalError`][medinv.errors.ReversalError]).

        Args:
            movements: the batch, in the order to post it.
            expected_position: refuse the batch unless the ledger head is at this
                position (e.g. a plan computed at that position).
            retries: how many times (0 or more) to re-run the whole post after a
                [`ConcurrencyError`][medinv.errors.ConcurrencyError] (with
                ``expected_position`` a retry fails the same way).

        Returns:
            The recorded movements in the order given, the replayed ids and the new head.

        Raises:
            StockError: a rule refused the batch; nothing was stored.
            ConcurrencyError: another writer moved the head (after ``retries`` retries).
            InvalidMovementError: something other than a `Movement` was given.
            InvalidValueError: ``retries`` or ``expected_position`` is not a whole
                number of at least 0.
        """
        _check_whole("retries", retries, allow_none=False)
        _check_whole("expected_position", expected_position, allow_none=True)
        try:
            given = iter(movements)
        except TypeError:
            msg = f"expected an iterable of movements, not {type(movements).__name__}"
            raise InvalidMovementError(None, msg) from None
        batch = list(given)
        for movement in batch:
            if not isinstance(movement, Movement):
                raise InvalidMovementError(
                    None, f"expected a Movement, got {type(movement).__name__}"
                )
        with self._posting:
            return retry(lambda: self._post_once(batch, expected_position), attempts=retries + 1)

    def _post_once(self, batch: list[Movement], expected_position: int | None) -> PostResult:
        store = self._store
        head = store.head()
        known = self._known
        known.at(head)
        try:
            return self._post_at(head, batch, expected_position)
        except StockError:
            # Refused at ``head`` (a head that moved meanwhile is a ConcurrencyError):
            # what was read for the batch was read at ``head`` and stays valid.
            raise
        except BaseException:
            known.forget()
            raise

    def _post_at(
        self, head: LedgerHead, batch: list[Movement], expected_position: int | None
    ) -> PostResult:
        store = self._store
        if expected_position is not None and head.position != expected_position:
            raise ConcurrencyError(
                f"the ledger is at position {head.position}, not the expected {expected_position}",
                expected=expected_position,
                actual=head.position,
            )
        if not batch:
            return PostResult(movements=(), new=(), replayed=(), head=head)
        ids = {m.id for m in batch}
        reversed_ids = {m.reverses for m in batch if m.reverses is not None}
        stored = dict(store.movements_by_id(ids | reversed_ids))
        recorded_at = self._recorded_at(head)
        all_new = len(ids) == len(batch) and ids.isdisjoint(stored)
        chained = _Chained.of(batch, stored, head, recorded_at, all_new=all_new)
        if not chained.fresh:
            return PostResult(
                movements=tuple(s for s in chained.slots if isinstance(s, RecordedMovement)),
                new=(),
                replayed=tuple(chained.replayed),
                head=head,
            )

        known = self._known
        state = _read_state(store, chained.fresh, stored, known)
        try:
            self._apply(chained.fresh, state)
        except StockError as refusal:
            known.undo(state)
            _refuse_only_if_unchanged(store, head, refusal)
            raise
        recorded = chained.recorded
        commit = Commit(
            expected_position=head.position,
            movements=tuple(recorded),
            balance_changes=state.changes(),
            lots=tuple(state.new_lots),
            items=tuple(state.new_items),
            contents=tuple(chained.contents),
        )
        store.append(commit)
        last = recorded[-1]
        new_head = known.head = LedgerHead(last.position, last.hash)
        known.recorded_at = recorded_at
        new_records = commit.movements
        slots = chained.slots
        return PostResult(
            movements=new_records
            if not chained.replayed
            else tuple(s if isinstance(s, RecordedMovement) else recorded[s] for s in slots),
            new=new_records,
            replayed=tuple(chained.replayed),
            head=new_head,
        )

    def _recorded_at(self, head: LedgerHead) -> pendulum.DateTime:
        """The clock's time, or the head movement's ``recorded_at`` if the clock is behind it.

        ``recorded_at`` never decreases along the ledger (``verify()`` checks it),
        even when the clock steps back.
        """
        now = to_datetime(self._clock())
        known = self._known
        if head.position == 0:
            return now
        if known.recorded_at is None:
            query = MovementQuery(after_position=head.position - 1, up_to_position=head.position)
            for recorded in self._store.movements(query):
                known.recorded_at = recorded.recorded_at
        before = known.recorded_at
        return before if before is not None and now < before else now

    def _apply(self, movements: list[Movement], state: _Batch) -> None:  # noqa: C901  (one loop, kept flat for speed)
        """Check the batch's new movements in order against the state, applying each to it."""
        balances, new_by_id = state.balances, state.new_by_id
        keep = state.undo.setdefault
        master_data = self._master_data
        for m in movements:
            item = m.item
            kind = m.kind
            source, to = m.from_location, m.to_location
            if kind is _REVERSAL:
                self._check_reversal(m, state)
            # Master data matters to movements entering the ledger (first receipt of
            # a lot or item?), those stating an expiry (conflict?) and issuing ones
            # (expired?): not to transfers and status changes.
            issuing = kind in _ISSUING
            if source is None or m.expiry is not None or issuing:
                expiry = master_data(m, state)
                if issuing:
                    _check_issuable(m, expiry, self._zone)
            quantity = m.quantity
            if source is not None and m.from_status is not None:
                key = (item, source, m.from_status)
                have = balances.get(key, 0)
                if have < quantity:
                    raise InsufficientStockError(
                        item=item,
                        location=source,
                        status=m.from_status.value,
                        requested=quantity,
                        available=have,
                        movement_id=m.id,
                    )
                keep(key, have)
                balances[key] = have - quantity
                if item.serial is not None and to is None:
                    self._count_serial(item, -quantity, state)
            if to is not None and m.to_status is not None:
                if item.serial is not None and source is None:
                    if state.serial_totals.get(item, 0) > 0:
                        self._serial_conflict(m, state)
                    self._count_serial(item, quantity, state)
                key = (item, to, m.to_status)
                have = balances.get(key, 0)
                if have > _MAX_BALANCE - quantity:
                    raise BalanceLimitError(
                        item=item,
                        location=to,
                        status=m.to_status.value,
                        balance=have,
                        adding=quantity,
                        movement_id=m.id,
                    )
                keep(key, have)
                balances[key] = have + quantity
            new_by_id[m.id] = m

    @staticmethod
    def _count_serial(item: ItemKey, delta: int, state: _Batch) -> None:
        totals = state.serial_totals
        total = totals.get(item, 0)
        state.serial_undo.setdefault(item, total)
        totals[item] = total + delta

    @staticmethod
    def _master_data(m: Movement, state: _Batch) -> pendulum.Date | None:
        """Check the movement's stated expiry against master data; record new lots and items.

        Returns the item's expiry. A lot's expiry, or a lot-less item's, is fixed by
        its first inbound movement.
        """
        item = m.item
        stated = m.expiry
        # Entering the ledger (receipt, return, adjustment in, reversal of an outbound
        # movement): the only movements that can be an item's or a lot's first.
        enters = m.from_location is None
        lot = item.lot
        # A lot item's expiry is its lot's: its own record matters only to create it.
        record = state.items.get(item) if enters or lot is None else None
        if lot is not None:
            key = (item.gtin.value, lot.value)
            known = state.lots.get(key, _MISSING)
            if known is _MISSING:
                expiry = stated
                if enters:
                    state.lots[key] = stated
                    state.new_lots.append(LotRecord(key[0], key[1], stated))
            else:
                expiry = known  # type: ignore[assignment]
                if stated is not None and stated != known:
                    raise LotMasterDataConflictError(
                        item=item, movement_id=m.id, known=known, given=stated
                    )
        elif record is not None:
            expiry = record.expiry
            if stated is not None and stated != expiry:
                raise LotMasterDataConflictError(
                    item=item, movement_id=m.id, known=expiry, given=stated
                )
        else:
            expiry = stated
        if record is None and enters:
            record = ItemRecord(item=item, first_received_at=m.occurred_at, expiry=expiry)
            state.items[item] = record
            state.new_items.append(record)

        return expiry

    @staticmethod
    def _serial_conflict(m: Movement, state: _Batch) -> NoReturn:
        """A serialised unit entering the ledger is in stock already: say where."""
        item = m.item
        where = [
            f"{location} [{status.value}]"
            for (other, location, status), qty in state.balances.items()
            if qty > 0 and other == item
        ]
        raise SerialConflictError(
            item=item, movement_id=m.id, reason=f"already in stock at {', '.join(where)}"
        )

    @staticmethod
    def _check_reversal(m: Movement, state: _Batch) -> None:
        target = m.reverses
        assert target is not None  # noqa: S101  (Movement guarantees it for REVERSAL)
        original_record = state.stored.get(target)
        original = (
            original_record.movement if original_record is not None else state.new_by_id.get(target)
        )
        if original is None:
            raise ReversalError(m.id, target, "no such movement in the ledger")
        if original.kind is _REVERSAL:
            raise ReversalError(
                m.id, target, "a reversal cannot be reversed; post the movement again"
            )
        by = state.reversed_by.get(target)
        if by is not None:
            raise ReversalError(m.id, target, f"already reversed by {by!r}")
        if not m.mirrors(original):
            raise ReversalError(m.id, target, "not the exact inverse of the movement")
        state.reversed_by[target] = m.id

    # ----------------------------------------------------------------- queries

    def movement(self, movement_id: str) -> RecordedMovement | None:
        """The stored movement with this id, or ``None``.

        Raises:
            InvalidValueError: ``movement_id`` is not text.
        """
        given: object = movement_id  # checked at run time, whatever the annotations say
        if not isinstance(given, str):
            msg = f"a movement id is text, not {type(given).__name__}"
            raise InvalidValueError(msg)
        return self._store.movements_by_id([movement_id]).get(movement_id)

    def balance(
        self,
        item: ItemKey | None = None,
        *,
        gtin: Gtin | str | None = None,
        lot: Lot | str | None = None,
        serial: Serial | str | None = None,
        location: Location | str | None = None,
        status: StockStatus | str | None = None,
        as_of_position: int | None = None,
    ) -> int:
        """The quantity in stock matching every given filter (``None``: any).

        Args:
            item: exactly this item.
            gtin: items of this GTIN (any lot and serial unless given).
            lot: items of this lot.
            serial: items with this serial.
            location: this location and its whole subtree.
            status: only this status (default: every status).
            as_of_position: the balance right after the movement at this position
                (``0``: before any); default the current balance. Computed from the
                movements of the matching items on the shorter side: the current
                balances minus the movements after that position when it is nearer
                the head, else the movements up to it. Give an item, GTIN, lot or
                serial to keep it to indexed reads (a location alone reads every
                movement on that side).

        Raises:
            InvalidValueError: a filter is malformed, or ``as_of_position`` is not
                between 0 and the head position.
        """
        query = PositionQuery(
            item=item, gtin=gtin, lot=lot, serial=serial, location=location, status=status
        )
        if as_of_position is None:
            return sum(p.quantity for p in self._store.positions(query))
        return sum(self._balances_as_of(query, as_of_position).values())

    def positions(
        self,
        item: ItemKey | None = None,
        *,
        gtin: Gtin | str | None = None,
        lot: Lot | str | None = None,
        serial: Serial | str | None = None,
        location: Location | str | None = None,
        status: StockStatus | str | None = None,
        as_of_position: int | None = None,
    ) -> list[StockPosition]:
        """Non-zero stock positions matching every filter, with expiry and first-received time.

        Sorted by item ([`ItemKey.sort_key`][medinv.identifiers.ItemKey.sort_key]), then
        location path, then status. Filters as for [`balance`][medinv.ledger.Ledger.balance];
        with ``as_of_position`` the quantities are those right after that position
        (expiry and received-at come from the master data as it is now).
        """
        query = PositionQuery(
            item=item, gtin=gtin, lot=lot, serial=serial, location=location, status=status
        )
        if as_of_position is None:
            found = list(self._store.positions(query))
        else:
            balances = self._balances_as_of(query, as_of_position)
            found = self._with_master_data(balances)
        found.sort(key=lambda p: (p.item.sort_key(), p.location.path, p.status.value))
        return found

    def history(
        self,
        item: ItemKey | None = None,
        *,
        gtin: Gtin | str | None = None,
        lot: Lot | str | None = None,
        serial: Serial | str | None = None,
        after_position: int = 0,
        up_to_position: int | None = None,
    ) -> list[RecordedMovement]:
        """The stored movements of the matching items, in position order."""
        query = MovementQuery(
            item=item,
            gtin=gtin,
            lot=lot,
            serial=serial,
            after_position=after_position,
            up_to_position=up_to_position,
        )
        return list(self._store.movements(query))

    def _balances_as_of(self, query: PositionQuery, position: int) -> dict[BalanceKey, int]:
        head = self._store.head()
        if isinstance(position, bool) or not isinstance(position, int):
            raise InvalidValueError(f"as_of_position must be a whole number, not {position!r}")
        if not 0 <= position <= head.position:
            raise InvalidValueError(
                f"as_of_position {position} is outside the ledger (0..{head.position})"
            )
        if head.position - position < position:
            # Nearer the head than the start: today's balances minus what came after.
            back = self._balances_back_from(query, position, head)
            if back is not None:
                return back
        totals: dict[BalanceKey, int] = defaultdict(int)
        self._add_movements(totals, query, after=0, up_to=position, sign=1)
        return {key: qty for key, qty in totals.items() if qty}

    def _balances_back_from(
        self, query: PositionQuery, position: int, head: LedgerHead
    ) -> dict[BalanceKey, int] | None:
        """The balances after ``position``: those at ``head`` minus the later movements.

        ``None`` if the ledger moved while the current balances were read (they
        would not be those at ``head``); the caller then replays from the start.
        """
        store = self._store
        totals: dict[BalanceKey, int] = defaultdict(int)
        for p in store.positions(query):
            totals[(p.item, p.location, p.status)] += p.quantity
        if store.head() != head:
            return None
        self._add_movements(totals, query, after=position, up_to=head.position, sign=-1)
        return {key: qty for key, qty in totals.items() if qty}

    def _add_movements(
        self,
        totals: dict[BalanceKey, int],
        query: PositionQuery,
        *,
        after: int,
        up_to: int,
        sign: int,
    ) -> None:
        """Add (``sign`` 1) or take away (-1) what the movements in ``(after, up_to]`` did.

        Only their effects on balances that match ``query`` count.
        """
        history = MovementQuery(
            item=query.item,
            gtin=query.gtin,
            lot=query.lot,
            serial=query.serial,
            after_position=after,
            up_to_position=up_to,
        )
        for recorded in self._store.movements(history):
            m = recorded.movement
            for location, status, delta in m.deltas():
                if query.matches(m.item, location, status):
                    totals[(m.item, location, status)] += sign * delta

    def _with_master_data(self, balances: dict[BalanceKey, int]) -> list[StockPosition]:
        items = {item for item, _, _ in balances}
        records = self._store.item_records(items)
        lot_keys = {(i.gtin.value, i.lot.value) for i in items if i.lot is not None}
        lots = self._store.lot_expiries(lot_keys) if lot_keys else {}
        out = []
        for (item, location, status), quantity in balances.items():
            record = records.get(item)
            expiry = record.expiry if record is not None else None
            if item.lot is not None:
                expiry = lots.get((item.gtin.value, item.lot.value), expiry)
            out.append(
                StockPosition(
                    item=item,
                    location=location,
                    status=status,
                    quantity=quantity,
                    expiry=expiry,
                    received_at=record.first_received_at if record is not None else None,
                )
            )
        return out

    # ----------------------------------------------------------------- verify

    def verify(self, *, anchor: LedgerHead | None = None) -> VerifyReport:
        """Check everything the store keeps; report every difference as data.

        Reads every movement in position order and checks positions (1, 2, 3 ...
        gap-free), the hash chain (each ``prev_hash`` is the previous hash, each hash
        matches its content), unique ids, and that the columns a store looks
        movements up by say what the hashed content says; compares the store's head
        with the last movement; re-checks the posting rules over the history (no
        balance below zero at any position, a serialised unit in stock at most once,
        each reversal undoing an earlier movement exactly and only once,
        ``recorded_at`` never going back); rebuilds every balance and the lot and
        item master data from the movements and compares them with what the store
        keeps. A stored row that cannot be read is reported
        ([`CorruptRecord`][medinv.verification.CorruptRecord]) and skipped: this
        method raises only when the store itself fails, never on what it stores.
        Memory stays bounded on ledgers of any size (see
        [`medinv.verification`][medinv.verification]).

        A tamperer who rewrites the whole chain from some point on is caught only
        against an external record of an earlier head: pass it as ``anchor`` and the
        movement at ``anchor.position`` must still have ``anchor.hash``.
        """
        _check_anchor(anchor)
        return verify_store(self._store, anchor=anchor)


def _check_whole(name: str, value: object, *, allow_none: bool) -> None:
    """Refuse an option that is not a whole number from 0 (or ``None`` where allowed)."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_BALANCE:
        msg = f"{name} must be a whole number of at least 0, not {value!r:.60}"
        raise InvalidValueError(msg)


def _check_anchor(anchor: object) -> None:
    """Refuse a verification anchor that is not a `LedgerHead` of a position and a hash."""
    if anchor is None:
        return
    if (
        not isinstance(anchor, LedgerHead)
        or isinstance(anchor.position, bool)
        or not isinstance(anchor.position, int)
        or not isinstance(anchor.hash, str)
    ):
        msg = f"anchor must be a LedgerHead (a position and a hash), not {anchor!r:.80}"
        raise InvalidValueError(msg)


def _check_issuable(
    m: Movement, expiry: pendulum.Date | None, zone: pendulum.Timezone | None
) -> None:
    """An issue or consumption takes AVAILABLE stock not expired on the movement's date.

    The date is the one of ``occurred_at`` in the facility's ``zone`` (``None``: in the
    offset ``occurred_at`` carries).
    """
    if m.from_status is not _AVAILABLE:
        status = m.from_status.value if m.from_status else None
        raise StockNotIssuableError(
            item=m.item, movement_id=m.id, reason=f"stock in status {status} is not issuable"
        )
    if expiry is None:
        return
    occurred_at = m.occurred_at
    day = _date_of(occurred_at if zone is None else occurred_at.astimezone(zone))
    if is_expired(expiry, day):
        reason = f"expired on {expiry.isoformat()} (movement date {day.isoformat()}"
        reason += ")" if zone is None else f" in {zone.name})"
        raise StockNotIssuableError(item=m.item, movement_id=m.id, reason=reason)


@attrs.define(eq=False)
class _Chained:
    """A batch split into replays and new movements, the new ones encoded and chained.

    The chain is computed before the rules are checked: a refused batch wastes
    it, an accepted one (the common case) is encoded in one pass.
    """

    slots: list[RecordedMovement | int]
    """Per given movement: the stored original, or the index of the new movement it repeats."""
    replayed: list[str]
    """Ids of the given movements that replay a stored or earlier one."""
    fresh: list[Movement]
    """The new movements, in order."""
    contents: list[str]
    """Their canonical contents."""
    recorded: list[RecordedMovement]
    """Their records: positions after the head, chained from its hash."""

    @classmethod
    def of(
        cls,
        batch: list[Movement],
        stored: dict[str, RecordedMovement],
        head: LedgerHead,
        recorded_at: pendulum.DateTime,
        *,
        all_new: bool,
    ) -> _Chained:
        """Split, encode and chain ``batch``; ``all_new``: no id is stored or repeated in it."""
        contents = _contents(batch)
        if all_new:
            chained = cls([], [], batch, contents, [])
        else:
            chained = cls._classify(batch, stored, contents)
        chained.chain(head, recorded_at)
        return chained

    @classmethod
    def _classify(
        cls, batch: list[Movement], stored: dict[str, RecordedMovement], contents: list[str]
    ) -> _Chained:
        slots: list[RecordedMovement | int] = []
        replayed: list[str] = []
        fresh: list[Movement] = []
        fresh_contents: list[str] = []
        seen: dict[str, int] = {}
        for m, content in zip(batch, contents, strict=True):
            mid = m.id
            original = stored.get(mid)
            if original is not None:
                _check_replay(m, content, original.movement)
                slots.append(original)
                replayed.append(mid)
                continue
            index = seen.get(mid)
            if index is not None:
                _check_replay(m, content, fresh[index])
                slots.append(index)
                replayed.append(mid)
                continue
            seen[mid] = index = len(fresh)
            slots.append(index)
            fresh.append(m)
            fresh_contents.append(content)
        return cls(slots, replayed, fresh, fresh_contents, [])

    def chain(self, head: LedgerHead, recorded_at: pendulum.DateTime) -> None:
        """The records of the new movements: positions after ``head``, chained from its hash."""
        recorded = self.recorded
        append = recorded.append
        recorded_text = format_instant(recorded_at)
        prev, position = head.hash, head.position
        sha256 = hashlib.sha256
        make, set_movement, set_position, set_recorded_at, set_prev, set_hash = (
            _new,
            *_RECORDED_SLOTS,
        )
        # entry_hash() inlined (verify() recomputes every hash through it):
        # prev NUL version NUL position NUL recorded_at NUL content.
        version, stamp = f"\x00{ENCODING_VERSION}\x00", f"\x00{recorded_text}\x00"
        for m, content in zip(self.fresh, self.contents, strict=True):
            position += 1
            text = f"{prev}{version}{position}{stamp}{content}"
            try:
                digest = sha256(text.encode()).hexdigest()
            except UnicodeEncodeError:
                digest = entry_hash(prev, position, recorded_text, content)  # raises, clearly
            entry = make(RecordedMovement)
            set_movement(entry, m)
            set_position(entry, position)
            set_recorded_at(entry, recorded_at)
            set_prev(entry, prev)
            set_hash(entry, digest)
            append(entry)
            prev = digest


def _contents(batch: list[Movement]) -> list[str]:
    """The canonical content of each movement."""
    out: list[str] = []
    append = out.append
    # Movements of a batch often share one occurred_at object; format it once.
    # Keyed by id(): every object stays referenced by the batch meanwhile.
    instants: dict[int, str] = {}
    for m in batch:
        occurred_at = m.occurred_at
        text = instants.get(id(occurred_at))
        if text is None:
            text = instants[id(occurred_at)] = format_instant(occurred_at)
        append(movement_content(m, occurred_at_text=text))
    return out


def _read_state(
    store: LedgerStore,
    new_movements: list[Movement],
    stored: dict[str, RecordedMovement],
    known: _Known,
) -> _Batch:
    """Make the cache hold what the rules need for the batch, asking the store for the rest.

    That is every balance of every item of the batch, and master data for the
    movements entering the ledger (first receipt?), issuing ones (expiry) and
    those stating an expiry (conflict?); a transfer needs none. The store is
    asked once per kind, for what the cache lacks.
    """
    complete, known_items, known_lots = known.complete, known.items, known.lots
    unread: set[ItemKey] = set()
    need_items: set[ItemKey] = set()
    need_lots: set[LotKey] = set()
    for m in new_movements:
        item = m.item
        if item not in complete:
            unread.add(item)
        source = m.from_location
        if source is None or m.expiry is not None or m.kind in _ISSUING:
            lot = item.lot
            if (lot is None or source is None) and item not in known_items:
                need_items.add(item)
            if lot is not None:
                key = (item.gtin.value, lot.value)
                if key not in known_lots:
                    need_lots.add(key)
    if unread:
        known.read_balances(store, unread)
    if need_items:
        known_items.update(store.item_records(need_items))
    if need_lots:
        known_lots.update(store.lot_expiries(need_lots))
    new_reversed = {m.reverses for m in new_movements if m.reverses is not None}
    return _Batch(
        balances=known.balances,
        serial_totals=known.serial_totals,
        items=known_items,
        lots=known_lots,
        stored=stored,
        reversed_by=dict(store.reversals_of(new_reversed)) if new_reversed else {},
    )


def _refuse_only_if_unchanged(store: LedgerStore, head: LedgerHead, refusal: StockError) -> None:
    """Turn a refusal into a `ConcurrencyError` if the ledger moved while it was read.

    The store's reads (ids, balances, master data) are separate queries; another
    writer committing between them can leave the rules looking at a mix of two
    states, e.g. a movement id still absent but the stock it took already gone. A
    refusal is reported only when the head is unchanged, so that it reflects one
    state; otherwise the post is retried like any other lost race.
    """
    now = store.head()
    if now != head:
        raise ConcurrencyError(
            f"the ledger moved from position {head.position} to {now.position} while the "
            f"batch was checked (the check had refused it: {refusal})",
            expected=head.position,
            actual=now.position,
        ) from refusal


def _check_replay(m: Movement, content: str, original: Movement) -> None:
    if content != movement_content(original):
        raise IdempotencyConflictError(m.id, content_differences(m, original))
