"""The tracer: forward, backward and point-in-time questions over a ledger's stored movements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pendulum

from medinv.catalogue import PartyRef
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import MovementKind
from medinv.ports import LedgerStore, MovementQuery, MovementRow
from medinv.trace._account import (
    Account,
    Decoding,
    Shapes,
    balances_and_late,
    holdings_of,
    occurred,
)
from medinv.trace._model import (
    BackwardTrace,
    ForwardTrace,
    MassBalance,
    PointInTime,
    Reached,
    TraceStep,
)
from medinv.trace._read import Kinded, chunks, kinded, rows, steps, steps_of
from medinv.trace._subject import TraceSubject

__all__ = ["Tracer"]

_FROM_PARTY = frozenset({MovementKind.RECEIPT.value, MovementKind.RETURN.value})
_NO_PARTY_FLOW = frozenset({MovementKind.ADJUSTMENT.value, MovementKind.STATUS_CHANGE.value})


def _subject(value: object) -> TraceSubject:
    if isinstance(value, TraceSubject):
        return value
    if isinstance(value, ItemKey):
        return TraceSubject.of_item(value)
    msg = f"a trace follows a TraceSubject or an ItemKey, not {type(value).__name__} {value!r:.60}"
    raise InvalidValueError(msg)


def _optional_moment(value: object, what: str) -> pendulum.DateTime | None:
    if value is None:
        return None
    try:
        return to_datetime(value)
    except InvalidValueError as e:
        raise InvalidValueError(f"invalid {what} {value!r:.60}: {e}") from e


class Tracer:
    """Trace lots and serials through a ledger: forward, backward and at a point in time.

    Every answer reads the stored movements through the store's indexes (the
    subject's device and lot or serial, a party, a location subtree), in windows of
    positions, so its cost grows with the subject's movements and its memory with
    the places and parties it touched, not with the ledger. Nothing is written.

    Each question takes ``known_at``, a ledger position: the answer is the one the
    ledger gave when that position was its head (movements recorded later are left
    out). By default it is the head when the question is asked.

    Args:
        source: a [`Ledger`][medinv.ledger.Ledger] or its
            [`LedgerStore`][medinv.ports.LedgerStore].

    Raises:
        InvalidValueError: ``source`` is neither.
    """

    def __init__(self, source: Ledger | LedgerStore) -> None:
        given: object = source  # checked at run time, whatever the annotations say
        if isinstance(given, Ledger):
            self._store: LedgerStore = given.store
        elif isinstance(given, LedgerStore):
            self._store = given
        else:
            msg = f"a Tracer reads a Ledger or a LedgerStore, not {type(source).__name__}"
            raise InvalidValueError(msg)

    def _position(self, known_at: int | None, head: int | None = None) -> int:
        head = self._store.head().position if head is None else head
        if known_at is None:
            return head
        if isinstance(known_at, bool) or not isinstance(known_at, int):
            msg = f"known_at must be a ledger position (a whole number), not {known_at!r:.60}"
            raise InvalidValueError(msg)
        if not 0 <= known_at <= head:
            msg = f"known_at {known_at} is outside the ledger (0..{head})"
            raise InvalidValueError(msg)
        return known_at

    def _steps(self, query: MovementQuery, up_to: int) -> Iterator[TraceStep]:
        return steps(self._store, query, up_to=up_to)

    def _kinded(self, query: MovementQuery, up_to: int) -> Iterator[Kinded]:
        return kinded(self._store, query, up_to=up_to)

    # ------------------------------------------------------------------ forward

    def steps(
        self, subject: TraceSubject | ItemKey, *, known_at: int | None = None
    ) -> Iterator[TraceStep]:
        """Every movement of ``subject`` recorded up to ``known_at``, in ledger order (streamed).

        An [`ItemKey`][medinv.identifiers.ItemKey] stands for its serial, or else its lot.

        Raises:
            InvalidValueError: a malformed subject or position.
        """
        followed = _subject(subject)
        return self._steps(followed.query(), self._position(known_at))

    def forward(
        self, subject: TraceSubject | ItemKey, *, known_at: int | None = None
    ) -> ForwardTrace:
        """Where ``subject`` is now and where it went, as known at ``known_at``.

        Raises:
            InvalidValueError: a malformed subject or position.
        """
        followed = _subject(subject)
        position = self._position(known_at)
        shapes = Shapes()
        for chunk, originals in chunks(self._store, followed.query(), up_to=position):
            shapes.add(chunk, originals)
        account = shapes.account()
        return ForwardTrace(
            subject=followed,
            known_at=position,
            movements=account.count,
            first_at=account.first(),
            last_at=account.last(),
            holdings=account.holdings(),
            locations=account.locations(),
            sites=account.sites(),
            parties=account.parties(),
            balance=account.balance(),
        )

    def balances(
        self, subject: TraceSubject | ItemKey, *, known_at: int | None = None
    ) -> Iterator[tuple[int, MassBalance]]:
        """The subject's mass balance after each of its movements: (position, balance), streamed.

        Raises:
            InvalidValueError: a malformed subject or position.
        """
        followed = _subject(subject)
        position = self._position(known_at)

        def walk() -> Iterator[tuple[int, MassBalance]]:
            account = Account()
            for row, kind in self._kinded(followed.query(), position):
                account.add(row, kind)
                yield row.position, account.balance()

        return walk()

    # ------------------------------------------------------------------ point in time

    def where(
        self,
        subject: TraceSubject | ItemKey,
        *,
        at: object = None,
        known_at: int | None = None,
    ) -> PointInTime:
        """Where ``subject`` was at instant ``at`` (business time), as known at ``known_at``.

        Movements that occurred before ``at`` and were recorded up to ``known_at``
        count. Those that occurred before ``at`` but were recorded after ``known_at``
        (backdated, as seen from ``known_at``) are listed in ``late``. Stock in a
        sub-location (``Site/Store/Bin-3``) is inside every location above it: ask
        [`quantity_within`][medinv.trace.PointInTime.quantity_within].

        Args:
            subject: what to trace.
            at: an aware date-time or ISO 8601 text with offset; ``None``: every
                movement, whenever it occurred.
            known_at: a ledger position; default the head.

        Raises:
            InvalidValueError: a malformed subject, instant or position.
        """
        followed = _subject(subject)
        moment = _optional_moment(at, "instant")
        head = self._store.head().position  # read once: one round trip on PostgreSQL
        position = self._position(known_at, head)
        # Only the balances: no reversal is looked up, no row decoded but the late ones.
        stream = rows(self._store, followed.query(), up_to=head)
        balances, later = balances_and_late(stream, moment, position)
        late = tuple(steps_of(self._store, later))
        return PointInTime(
            subject=followed,
            at=moment,
            known_at=position,
            holdings=holdings_of(balances, Decoding()),
            late=late,
        )

    # ------------------------------------------------------------------ backward

    def backward(
        self,
        *,
        party: PartyRef | str | None = None,
        location: Location | str | None = None,
        occurred_from: object = None,
        occurred_to: object = None,
        known_at: int | None = None,
    ) -> BackwardTrace:
        """Which lots and serials reached ``party`` or the ``location`` subtree in a period.

        For a location, a unit reaches it when it moves into the subtree from outside
        it (received, returned, transferred in, found), and leaves it when it moves
        out (transferred out, issued, consumed, scrapped, missing); moves inside the
        subtree do not count. For a party, a unit reaches it when it is issued,
        consumed, scrapped or transferred with that counterparty, and leaves it when
        it is received or returned from it. Reversals count against what they undo.

        Args:
            party: a [`PartyRef`][medinv.catalogue.PartyRef] or ``"KIND:id"``.
            location: a location (its whole subtree), or its path.
            occurred_from: start of the period (inclusive), or ``None``.
            occurred_to: end of the period (exclusive), or ``None``.
            known_at: a ledger position; default the head.

        Raises:
            InvalidValueError: neither or both of party and location, a malformed
                one, an empty period or a position outside the ledger.
        """
        if (party is None) == (location is None):
            msg = "a backward trace starts from a party or a location: give exactly one of them"
            raise InvalidValueError(msg)
        query = MovementQuery(
            counterparty=party,
            location=location,
            occurred_from=_optional_moment(occurred_from, "start of the period"),
            occurred_to=_optional_moment(occurred_to, "end of the period"),
        )
        position = self._position(known_at)
        tallies: dict[tuple[str, str | None, str | None], list[int]] = {}
        dates: dict[tuple[str, str | None, str | None], list[dt.datetime]] = {}
        decoding = Decoding()
        for row, kind in self._kinded(query, position):
            into, out = _crossing(row, kind, query, decoding)
            if not (into or out):
                continue
            key = (row.device, row.lot, row.serial)
            tally = tallies.setdefault(key, [0, 0])
            tally[0] += into
            tally[1] += out
            at = occurred(row)
            seen = dates.setdefault(key, [at, at])
            seen[0] = min(seen[0], at)
            seen[1] = max(seen[1], at)
        reached = [
            Reached(
                item=decoding.item(*key),
                reached=tally[0],
                left=tally[1],
                first_at=decoding.instant(dates[key][0]),
                last_at=decoding.instant(dates[key][1]),
            )
            for key, tally in tallies.items()
        ]
        items = tuple(sorted(reached, key=lambda found: found.item.sort_key()))
        return BackwardTrace(
            party=query.counterparty,
            location=query.location,
            occurred_from=query.occurred_from,
            occurred_to=query.occurred_to,
            known_at=position,
            items=items,
        )


def _crossing(
    row: MovementRow, kind: str, query: MovementQuery, decoding: Decoding
) -> tuple[int, int]:
    """(reached, left) of one row for a backward trace of a party or a location subtree."""
    undoes = row.reverses is not None
    quantity = -row.quantity if undoes else row.quantity
    if query.counterparty is not None:
        if kind in _FROM_PARTY:
            return 0, quantity
        if kind in _NO_PARTY_FLOW:
            return 0, 0
        return quantity, 0
    assert query.location is not None  # noqa: S101  (one of them, checked by the caller)
    source, target = row.from_location, row.to_location
    if undoes:  # in the direction of the movement it undoes
        source, target = target, source
    inside_source = source is not None and decoding.location(source).is_within(query.location)
    inside_target = target is not None and decoding.location(target).is_within(query.location)
    if inside_target and not inside_source:
        return quantity, 0
    if inside_source and not inside_target:
        return 0, quantity
    return 0, 0
