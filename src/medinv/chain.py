"""The ledger's hash chain: canonical encoding of a stored movement and its hash.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

Every stored movement carries the hash of its predecessor and its own hash, computed
over the predecessor's hash and a canonical encoding of the movement, its ledger
position and the time it was recorded. Editing, deleting or reordering stored
history therefore breaks the chain, and
[`Ledger.verify`][medinv.ledger.Ledger.verify] reports where.

The encoding is a text of fields separated by NUL characters (no field can contain
one: movement text is validated NUL-free, locations are printable), UTF-8 encoded.
Optional fields are ``-`` when absent and ``+`` followed by the value when present,
so that "absent" and "empty" differ. Date-times are ISO 8601 with their UTC offset
(and microseconds when non-zero): a store must give back ``occurred_at`` and
``recorded_at`` with the same offset it was given, not merely the same instant.

```pycon
>>> import pendulum
>>> from medinv.chain import GENESIS_HASH, chain_hash, movement_content
>>> from medinv.identifiers import ItemKey
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> m = Movement.receipt(
...     "DN-1/1", item=ItemKey("04006381333931", lot="L1"), quantity=5,
...     to=Location.parse("Main/A1"), occurred_at="2026-11-23T09:00:00+01:00", actor="jm",
... )
>>> movement_content(m).split(chr(0))[:7]
['DN-1/1', 'RECEIPT', '04006381333931', '+L1', '-', '5', '2026-11-23T09:00:00+01:00']
>>> recorded = pendulum.datetime(2026, 11, 23, 8, 1, tz="UTC")
>>> h = chain_hash(GENESIS_HASH, m, position=1, recorded_at=recorded)
>>> len(h), h == chain_hash(GENESIS_HASH, m, position=2, recorded_at=recorded)
(64, False)

```

The encoding is versioned ([`ENCODING_VERSION`][medinv.chain.ENCODING_VERSION]);
changing it is a breaking change of the store contract.

This module is also the one mapper between a movement and what a store keeps of
it: [`movement_fields`][medinv.chain.movement_fields] gives the sixteen fields as
text (for stores that keep one column per field), and
[`MovementDecoder`][medinv.chain.MovementDecoder] turns stored content, or those
fields, back into a [`Movement`][medinv.movements.Movement]:

```pycon
>>> from medinv.chain import MovementDecoder
>>> MovementDecoder().content(movement_content(m)) == m
True

```
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Final

import pendulum

from medinv.errors import InvalidMovementError
from medinv.identifiers import ItemKey, device_from_text
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

__all__ = [
    "CONTENT_FIELDS",
    "ENCODING_VERSION",
    "GENESIS_HASH",
    "MovementDecoder",
    "chain_hash",
    "content_differences",
    "entry_hash",
    "entry_hashes",
    "format_instant",
    "movement_content",
    "movement_fields",
]

GENESIS_HASH: Final = "0" * 64
"""The hash the first movement chains from: the head hash of an empty ledger."""

ENCODING_VERSION: Final = "medinv-movement/1"
"""Prefix of every encoded entry; bumped if the encoding ever changes."""

CONTENT_FIELDS: Final = (
    "id",
    "kind",
    "gtin",
    "lot",
    "serial",
    "quantity",
    "occurred_at",
    "actor",
    "from_location",
    "from_status",
    "to_location",
    "to_status",
    "reason",
    "reference",
    "expiry",
    "reverses",
)
"""Names of the fields of [`movement_content`][medinv.chain.movement_content], in order."""

_SEP: Final = "\x00"
_sha256 = hashlib.sha256
_isoformat = dt.datetime.isoformat
_date_isoformat = dt.date.isoformat


def format_instant(value: dt.datetime) -> str:
    """The canonical text of a date-time: ISO 8601 with its UTC offset.

    ```pycon
    >>> import pendulum
    >>> format_instant(pendulum.datetime(2026, 1, 2, 3, 4, 5, 6, tz="UTC"))
    '2026-01-02T03:04:05.000006+00:00'

    ```
    """
    return _isoformat(value)


def movement_content(movement: Movement, *, occurred_at_text: str | None = None) -> str:
    """The canonical text of a movement's content: every field of [`CONTENT_FIELDS`][medinv.chain.CONTENT_FIELDS].

    Two movements with the same id are the same posting exactly when their contents
    are equal (this is how the ledger tells a replay from an
    [`IdempotencyConflictError`][medinv.errors.IdempotencyConflictError]). A location's
    ``pick_sequence`` is location master data, not movement content, and is not encoded.

    ``occurred_at_text``, if given, must be ``format_instant(movement.occurred_at)``
    (callers encoding many movements that share one date-time object pass it to
    save the formatting).
    """  # noqa: E501  (a cross-reference cannot be wrapped)
    m = movement
    item = m.item
    lot = item.lot
    serial = item.serial
    fl = m.from_location
    fs = m.from_status
    tl = m.to_location
    ts = m.to_status
    reason = m.reason
    reference = m.reference
    expiry = m.expiry
    reverses = m.reverses
    # One f-string and enum ``_value_`` (no descriptor): this runs once per posted movement.
    return (
        f"{m.id}\x00{m.kind._value_}\x00{item.device_text}\x00"
        f"{'-' if lot is None else '+' + lot.value}\x00"
        f"{'-' if serial is None else '+' + serial.value}\x00"
        f"{m.quantity}\x00"
        f"{_isoformat(m.occurred_at) if occurred_at_text is None else occurred_at_text}\x00"
        f"{m.actor}\x00"
        f"{'-' if fl is None else '+' + '/'.join(fl.path)}\x00"
        f"{'-' if fs is None else '+' + fs._value_}\x00"
        f"{'-' if tl is None else '+' + '/'.join(tl.path)}\x00"
        f"{'-' if ts is None else '+' + ts._value_}\x00"
        f"{'-' if reason is None else '+' + reason}\x00"
        f"{'-' if reference is None else '+' + reference}\x00"
        f"{'-' if expiry is None else '+' + _date_isoformat(expiry)}\x00"
        f"{'-' if reverses is None else '+' + reverses}"
    )


def content_differences(left: Movement, right: Movement) -> tuple[str, ...]:
    """Names of the content fields in which two movements differ (empty when they are equal).

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> a = Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=2,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T10:00:00+01:00", actor="x")
    >>> b = Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=3,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T09:00:00+00:00", actor="x")
    >>> content_differences(a, b)
    ('quantity', 'occurred_at')

    ```

    The same instant given with another UTC offset differs: the offset decides the
    movement's calendar date (its ``occurred_on``).
    """
    return _split_differences(movement_content(left), movement_content(right))


def _split_differences(left: str, right: str) -> tuple[str, ...]:
    if left == right:
        return ()
    return tuple(
        name
        for name, a, b in zip(CONTENT_FIELDS, left.split(_SEP), right.split(_SEP), strict=True)
        if a != b
    )


def entry_hash(prev_hash: str, position: int, recorded_at_text: str, content: str) -> str:
    """The hash of one chain entry from already encoded parts.

    ``sha256(prev_hash NUL version NUL position NUL recorded_at NUL content)`` as
    lower-case hex, the text UTF-8 encoded.

    Raises:
        InvalidMovementError: the content holds text that UTF-8 cannot encode (a lone
            surrogate), which no store could keep either.
    """
    return entry_hashes(prev_hash, position, recorded_at_text, (content,))[0]


def entry_hashes(
    prev_hash: str, first_position: int, recorded_at_text: str, contents: Iterable[str]
) -> list[str]:
    """The hashes of consecutive chain entries: the fast path of the ledger's posting.

    The first entry is at ``first_position`` after ``prev_hash``; each next one
    follows the one before. The entry format is written here only, for
    [`entry_hash`][medinv.chain.entry_hash] too.

    Raises:
        InvalidMovementError: see [`entry_hash`][medinv.chain.entry_hash].
    """
    hashes: list[str] = []
    append = hashes.append
    version, stamp = f"{_SEP}{ENCODING_VERSION}{_SEP}", f"{_SEP}{recorded_at_text}{_SEP}"
    prev, position, sha256 = prev_hash, first_position, _sha256
    for content in contents:
        text = f"{prev}{version}{position}{stamp}{content}"
        try:
            data = text.encode()
        except UnicodeEncodeError as e:
            movement_id = content.split(_SEP, 1)[0]
            raise InvalidMovementError(
                movement_id,
                f"text field holds a character UTF-8 cannot encode at offset {e.start}",
            ) from None
        prev = sha256(data).hexdigest()
        append(prev)
        position += 1
    return hashes


def chain_hash(
    prev_hash: str, movement: Movement, *, position: int, recorded_at: dt.datetime
) -> str:
    """The hash of ``movement`` stored at ``position``, recorded at ``recorded_at``, after ``prev_hash``.

    Stores that want to check entries on write, and
    [`Ledger.verify`][medinv.ledger.Ledger.verify], use this function; the ledger
    computes the same value through [`entry_hash`][medinv.chain.entry_hash].
    """  # noqa: E501  (a cross-reference cannot be wrapped)
    return entry_hash(prev_hash, position, _isoformat(recorded_at), movement_content(movement))


_Fields = tuple[
    str,
    str,
    str,
    str | None,
    str | None,
    str,
    str,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]
"""The fields of [`CONTENT_FIELDS`][medinv.chain.CONTENT_FIELDS] as text, ``None`` when absent."""


def movement_fields(movement: Movement) -> _Fields:
    """The fields of [`CONTENT_FIELDS`][medinv.chain.CONTENT_FIELDS] as text, ``None`` when absent.

    The same texts as [`movement_content`][medinv.chain.movement_content] encodes
    (without the ``-``/``+`` marks): for stores that keep one column per field.
    [`MovementDecoder.fields`][medinv.chain.MovementDecoder.fields] reads them back.

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> m = Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=2,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T10:00:00+01:00", actor="x")
    >>> movement_fields(m)[:6], movement_fields(m)[8:10]
    (('I-1', 'ISSUE', '04006381333931', None, None, '2'), ('S/A', 'AVAILABLE'))

    ```
    """
    m = movement
    item = m.item
    lot, serial = item.lot, item.serial
    fl, fs, tl, ts = m.from_location, m.from_status, m.to_location, m.to_status
    expiry = m.expiry
    return (
        m.id,
        m.kind._value_,
        item.device_text,
        None if lot is None else lot.value,
        None if serial is None else serial.value,
        str(m.quantity),
        _isoformat(m.occurred_at),
        m.actor,
        None if fl is None else "/".join(fl.path),
        None if fs is None else fs._value_,
        None if tl is None else "/".join(tl.path),
        None if ts is None else ts._value_,
        m.reason,
        m.reference,
        None if expiry is None else _date_isoformat(expiry),
        m.reverses,
    )


_KINDS: Final = {kind.value: kind for kind in MovementKind}
_STATUSES: Final = {status.value: status for status in StockStatus}
_CACHE_BOUND: Final = 50_000
"""Values a decoder remembers of each kind (locations, items, date-times); then it starts again."""
_fromisoformat = dt.datetime.fromisoformat
_DateTime = pendulum.DateTime
_ZONES: dict[dt.timedelta | None, dt.tzinfo | None] = {}
"""One time zone object per UTC offset seen (a handful): shared by every decoder."""


def _optional(field: str) -> str | None:
    """An optional field of content: ``-`` when absent, ``+`` and the value when present."""
    if field == "-":
        return None
    if field[:1] != "+":
        raise ValueError(f"an optional field must be '-' or start with '+', not {field!r}")
    return field[1:]


class MovementDecoder:
    """Turns stored movement content, or its fields, back into movements.

    The decoding counterpart of [`movement_content`][medinv.chain.movement_content]
    and [`movement_fields`][medinv.chain.movement_fields], for every store. A
    decoder remembers the small values that repeat from row to row (locations,
    items, date-times, dates; at most 50,000 of each, then it starts again), so a
    store keeps one and decodes many rows with it. Not thread-safe: one per store.

    Every method raises `ValueError` (an
    [`InvalidValueError`][medinv.errors.InvalidValueError] for an invalid value) for
    text that no movement encodes to, `TypeError` for a value of the wrong type;
    stores report either as corruption.

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> m = Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=2,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T10:00:00+01:00", actor="x")
    >>> decoder = MovementDecoder()
    >>> decoder.content(movement_content(m)) == m == decoder.fields(*movement_fields(m))
    True
    >>> decoder.content(chr(0).join(["I-1", "ISSUE"]))
    Traceback (most recent call last):
    ...
    ValueError: movement content has 2 fields, not 16

    ```
    """

    __slots__ = ("_dates", "_instants", "_items", "_locations")

    def __init__(self) -> None:
        self._locations: dict[str, Location] = {}
        self._items: dict[tuple[str, str | None, str | None], ItemKey] = {}
        self._instants: dict[str, pendulum.DateTime] = {}
        self._dates: dict[str, pendulum.Date] = {}

    def content(self, content: str) -> Movement:
        """The movement whose [`movement_content`][medinv.chain.movement_content] is ``content``."""
        fields = content.split(_SEP)
        if len(fields) != len(CONTENT_FIELDS):
            raise ValueError(
                f"movement content has {len(fields)} fields, not {len(CONTENT_FIELDS)}"
            )
        (
            id_,
            kind,
            gtin,
            lot,
            serial,
            quantity,
            occurred_at,
            actor,
            from_location,
            from_status,
            to_location,
            to_status,
            reason,
            reference,
            expiry,
            reverses,
        ) = fields
        return self.fields(
            id_,
            kind,
            gtin,
            _optional(lot),
            _optional(serial),
            quantity,
            occurred_at,
            actor,
            _optional(from_location),
            _optional(from_status),
            _optional(to_location),
            _optional(to_status),
            _optional(reason),
            _optional(reference),
            _optional(expiry),
            _optional(reverses),
        )

    def fields(  # noqa: PLR0917  (the sixteen fields of a movement, in order)
        self,
        id_: str,
        kind: str,
        gtin: str,
        lot: str | None,
        serial: str | None,
        quantity: str | int,
        occurred_at: str,
        actor: str,
        from_location: str | None,
        from_status: str | None,
        to_location: str | None,
        to_status: str | None,
        reason: str | None,
        reference: str | None,
        expiry: str | dt.date | None,
        reverses: str | None,
    ) -> Movement:
        """The movement of the given fields, as [`movement_fields`][medinv.chain.movement_fields] gives them.

        A lot or serial may also be ``''`` for absent (stores that key by them), the
        quantity an integer and the expiry a date (stores with typed columns).
        """  # noqa: E501  (a cross-reference cannot be wrapped)
        location = self.location
        return Movement(
            id=id_,
            kind=_KINDS[kind] if kind in _KINDS else MovementKind(kind),
            item=self.item(gtin, lot, serial),
            quantity=quantity if isinstance(quantity, int) else _quantity(quantity),
            occurred_at=self.instant(occurred_at),
            actor=actor,
            from_location=None if from_location is None else location(from_location),
            from_status=None if from_status is None else _status(from_status),
            to_location=None if to_location is None else location(to_location),
            to_status=None if to_status is None else _status(to_status),
            reason=reason,
            reference=reference,
            expiry=self.date(expiry),
            reverses=reverses,
        )

    def location(self, path: str) -> Location:
        """The location of a path joined with ``/``."""
        found = self._locations.get(path)
        if found is None:
            if len(self._locations) > _CACHE_BOUND:
                self._locations.clear()
            found = self._locations[path] = Location(tuple(path.split("/")))
        return found

    def item(self, gtin: str, lot: str | None, serial: str | None) -> ItemKey:
        """The item of a stored device text, lot and serial (absent: ``None`` or ``''``).

        The device text is a GS1 DI's fourteen digits or an ``AGENCY:DI``
        ([`device_text`][medinv.identifiers.device_text]).
        """
        key = (gtin, lot, serial)
        found = self._items.get(key)
        if found is None:
            if len(self._items) > _CACHE_BOUND:
                self._items.clear()
            found = self._items[key] = ItemKey(device_from_text(gtin), lot or None, serial or None)
        return found

    def instant(self, text: str) -> pendulum.DateTime:
        """A date-time of [`format_instant`][medinv.chain.format_instant], with its UTC offset.

        The same as ``pendulum.instance(datetime.fromisoformat(text))``, several
        times faster: one time zone object per offset, and texts seen before (a
        batch's ``recorded_at``, a delivery's ``occurred_at``) are remembered.
        """
        found = self._instants.get(text)
        if found is not None:
            return found
        parsed = _fromisoformat(text)
        offset = parsed.utcoffset()
        zone = _ZONES.get(offset, _MISSING)
        if zone is _MISSING:
            found = pendulum.instance(parsed)
            _ZONES[offset] = found.tzinfo
        else:
            found = _DateTime(
                parsed.year,
                parsed.month,
                parsed.day,
                parsed.hour,
                parsed.minute,
                parsed.second,
                parsed.microsecond,
                tzinfo=zone,
                fold=parsed.fold,
            )
        if len(self._instants) > _CACHE_BOUND:
            self._instants.clear()
        self._instants[text] = found
        return found

    def date(self, value: str | dt.date | None) -> pendulum.Date | None:
        """A date as ISO 8601 text (or a `datetime.date`); ``None`` stays ``None``."""
        if value is None:
            return None
        if not isinstance(value, str):
            if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
                raise TypeError(f"a stored date must be a date, not {value!r:.60}")
            return pendulum.Date(value.year, value.month, value.day)
        found = self._dates.get(value)
        if found is None:
            parsed = dt.date.fromisoformat(value)
            if len(self._dates) > _CACHE_BOUND:
                self._dates.clear()
            found = self._dates[value] = pendulum.Date(parsed.year, parsed.month, parsed.day)
        return found


_MISSING: Final = dt.timezone(dt.timedelta(hours=-23, minutes=-59), "missing")


def _quantity(text: str) -> int:
    """A quantity as text: canonical decimal digits, as ``str(int)`` writes them."""
    quantity = int(text)
    if str(quantity) != text:
        raise ValueError(f"a stored quantity must be canonical decimal, not {text!r}")
    return quantity


def _status(text: str) -> StockStatus:
    found = _STATUSES.get(text)
    return StockStatus(text) if found is None else found
