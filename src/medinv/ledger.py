"""The movement ledger service: it orchestrates posting, keeps its cache and answers queries.

The rules themselves live in [`medinv.posting`][medinv.posting] (pure), the checks of
[`verify`][medinv.ledger.Ledger.verify] in [`medinv.verification`][medinv.verification],
the hash format in [`medinv.chain`][medinv.chain]; [`retry`][medinv.ledger.retry] is
published here.

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

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Final

import attrs
import pendulum

from medinv._cache import PostingCache, read_state
from medinv._moved import moved_names
from medinv._retry import retry, retry_lost_races
from medinv.dates import facility_timezone, to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import (
    ConcurrencyError,
    InvalidMovementError,
    InvalidValueError,
    StockError,
    StorageError,
)
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.ports import (
    BalanceKey,
    Commit,
    LedgerHead,
    LedgerStore,
    MovementQuery,
    PositionQuery,
    RecordedMovement,
)
from medinv.posting import Chained, apply_rules
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus
from medinv.verification import (
    ChainBreak,
    ColumnMismatch,
    CorruptRecord,
    DuplicateMovementId,
    Finding,
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
    "DuplicateMovementId",
    "Finding",
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

_MAX_BALANCE: Final = MAX_QUANTITY  # every store holds a balance up to it exactly
_MAX_PAGE: Final = 100_000  # the most changes one call returns


def _utc_now() -> pendulum.DateTime:
    return pendulum.now("UTC")


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
        self._known = PostingCache()
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
        lock_head: bool = False,
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
                ``expected_position`` a retry fails the same way). Before retry
                ``n`` (from 0) the post waits a random time from 0 to
                ``min(50 ms, 1 ms * 2**n)``, so writers that lost one race do not
                race again at once.
            lock_head: serialise writers instead of racing them: take the store's
                head lock (``store.lock_head()``: SQLite's write lock, PostgreSQL's
                ``head`` row) before reading the head, hold it through the checks
                and the append. Another writer waits instead of losing a race; the
                result is the same. For many processes posting small batches; a
                store without ``lock_head`` posts optimistically.

        Returns:
            The recorded movements in the order given, the replayed ids and the new head.

        Raises:
            StockError: a rule refused the batch; nothing was stored.
            ConcurrencyError: another writer moved the head (after ``retries`` retries).
            InvalidMovementError: something other than a `Movement` was given.
            InvalidValueError: ``retries`` or ``expected_position`` is not a whole
                number of at least 0, or ``lock_head`` is not a bool.
        """
        _check_whole("retries", retries, allow_none=False)
        if not isinstance(lock_head, bool):
            raise InvalidValueError(f"lock_head must be True or False, not {lock_head!r:.60}")
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
        once = self._post_locked if lock_head else self._post_once
        with self._posting:
            return retry_lost_races(lambda: once(batch, expected_position), retries)

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
        chained = Chained.of(batch, stored, head, recorded_at, all_new=all_new)
        if not chained.fresh:
            return PostResult(
                movements=tuple(s for s in chained.slots if isinstance(s, RecordedMovement)),
                new=(),
                replayed=tuple(chained.replayed),
                head=head,
            )

        known = self._known
        state = read_state(store, chained.fresh, stored, known)
        try:
            apply_rules(chained.fresh, state, self._zone)
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
        device: DeviceIdentifier | Gtin | str | None = None,
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
            device: items of this device identifier, of any agency (GTIN digits,
                ``"HIBCC:A123BJC5D6E71"``, a `DeviceIdentifier`); ``gtin`` for GS1 only.

        Raises:
            InvalidValueError: a filter is malformed, or ``as_of_position`` is not
                between 0 and the head position.
        """
        query = _position_query(item, gtin, lot, serial, location, status, device)
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
        device: DeviceIdentifier | Gtin | str | None = None,
        expires_from: pendulum.Date | str | None = None,
        expires_before: pendulum.Date | str | None = None,
        has_expiry: bool | None = None,
    ) -> list[StockPosition]:
        """Non-zero stock positions matching every filter, with expiry and first-received time.

        Sorted by item ([`ItemKey.sort_key`][medinv.identifiers.ItemKey.sort_key]), then
        location path, then status. Filters as for [`balance`][medinv.ledger.Ledger.balance],
        and the expiry filters of [`PositionQuery`][medinv.ports.PositionQuery]
        (``expires_from`` inclusive, ``expires_before`` exclusive, ``has_expiry``), read
        through the stores' expiry indexes. With ``as_of_position`` the quantities are
        those right after that position (expiry and received-at come from the master
        data as it is now, and the expiry filters apply to that expiry).

        Raises:
            InvalidValueError: a filter is not a valid value, or the expiry window is empty.
        """
        query = _position_query(item, gtin, lot, serial, location, status, device)
        dated = attrs.evolve(
            query, expires_from=expires_from, expires_before=expires_before, has_expiry=has_expiry
        )
        if as_of_position is None:
            found = list(self._store.positions(dated))
        else:
            balances = self._balances_as_of(query, as_of_position)
            found = [p for p in self._with_master_data(balances) if dated.matches_expiry(p.expiry)]
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
        device: DeviceIdentifier | Gtin | str | None = None,
        kind: object = None,
        actor: str | None = None,
        occurred_from: object = None,
        occurred_to: object = None,
        location: Location | str | None = None,
        reference: str | None = None,
        counterparty: object = None,
        business_reference: object = None,
    ) -> list[RecordedMovement]:
        """The stored movements matching every filter given, in position order.

        The filters are those of [`MovementQuery`][medinv.ports.MovementQuery], each
        answered through the store's indexes: the item filters, ``kind`` (one kind, its
        name, or several), ``actor`` (compared as people are), the occurred-at window
        ``occurred_from`` (inclusive) to ``occurred_to`` (exclusive), ``location`` (movements
        from or to it or anything below it), ``reference``, ``counterparty``
        (``"KIND:id"`` or a party) and ``business_reference`` (``"type:id"``).

        Raises:
            InvalidValueError: a filter is malformed or can match nothing (an empty
                window, an empty set of kinds).
        """
        query = MovementQuery(
            item=item,
            gtin=gtin,
            lot=lot,
            serial=serial,
            after_position=after_position,
            up_to_position=up_to_position,
            device=device,
            kind=kind,
            actor=actor,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            location=location,
            reference=reference,
            counterparty=counterparty,
            business_reference=business_reference,
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
            device=query.device,
        )
        for recorded in self._store.movements(history):
            m = recorded.movement
            for location, status, delta in m.deltas():
                if query.matches(m.item, location, status):
                    totals[(m.item, location, status)] += sign * delta

    def _with_master_data(self, balances: dict[BalanceKey, int]) -> list[StockPosition]:
        items = {item for item, _, _ in balances}
        records = self._store.item_records(items)
        lot_keys = {(i.device_text, i.lot.value) for i in items if i.lot is not None}
        lots = self._store.lot_expiries(lot_keys) if lot_keys else {}
        out = []
        for (item, location, status), quantity in balances.items():
            record = records.get(item)
            expiry = record.expiry if record is not None else None
            if item.lot is not None:
                expiry = lots.get((item.device_text, item.lot.value), expiry)
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

    # ----------------------------------------------------------------- change feed

    def changes(self, *, after: int = 0, limit: int = 1000) -> list[RecordedMovement]:
        """The stored movements after position ``after``, in position order: at most ``limit``.

        Each entry is an envelope of the change feed: its position, the movement (and
        so its id), when it was recorded, its hash and the previous movement's hash.
        The answer is always the positions ``after + 1``, ``after + 2`` ... with no gap
        and no skip, whatever other writers do meanwhile: a movement gets its position
        when it is committed, under the store's write lock, from the head it checked,
        so position ``n + 1`` is never visible before position ``n``. Fewer than
        ``limit`` entries (none at the head) means the reader has caught up.
        Follow the ledger with [`medinv.feed.Follower`][medinv.feed.Follower].

        Raises:
            InvalidValueError: ``after`` is not a position from 0, or ``limit`` is not
                a whole number from 1 to 100,000.
            StorageError: the store failed, or answered with a gap (a broken store).
        """
        _check_whole("after", after, allow_none=False)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _MAX_PAGE:
            raise InvalidValueError(
                f"limit must be a whole number from 1 to {_MAX_PAGE:,}, not {limit!r:.60}"
            )
        query = MovementQuery(after_position=after, up_to_position=min(after + limit, _MAX_BALANCE))
        found = list(self._store.movements(query))
        for expected, recorded in enumerate(found, start=after + 1):
            if recorded.position != expected:
                raise StorageError(
                    f"the store answered the changes after position {after} with position "
                    f"{recorded.position} where {expected} was due: it lost or reordered "
                    "movements (run verify)"
                )
        return found

    def _post_locked(self, batch: list[Movement], expected_position: int | None) -> PostResult:
        """``_post_once`` inside the store's head lock (``post(..., lock_head=True)``).

        Measured in ``benchmarks/bench_feed.py``: 8 processes posting one movement
        at a time lose most optimistic races; holding the lock they queue instead.
        """
        lock = getattr(self._store, "lock_head", None)
        if lock is None:
            return self._post_once(batch, expected_position)
        try:
            with lock():
                return self._post_once(batch, expected_position)
        except StockError:
            raise  # refused before anything was appended: the cache was undone
        except BaseException:
            self._known.forget()  # the append may be rolled back after _post_once
            raise


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


# Renamed: a verification reports findings; "discrepancy" is a stocktake's word.
__getattr__ = moved_names("medinv.ledger", {"Discrepancy": "medinv.verification:Finding"})


def _position_query(  # noqa: PLR0917  (the filters of balance and positions, in order)
    item: ItemKey | None,
    gtin: Gtin | str | None,
    lot: Lot | str | None,
    serial: Serial | str | None,
    location: Location | str | None,
    status: StockStatus | str | None,
    device: DeviceIdentifier | Gtin | str | None,
) -> PositionQuery:
    return PositionQuery(
        item=item,
        gtin=gtin,
        lot=lot,
        serial=serial,
        location=location,
        status=status,
        device=device,
    )
