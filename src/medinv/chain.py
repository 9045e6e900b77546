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
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Final

from medinv.errors import InvalidMovementError
from medinv.movements import Movement

__all__ = [
    "CONTENT_FIELDS",
    "ENCODING_VERSION",
    "GENESIS_HASH",
    "chain_hash",
    "content_differences",
    "entry_hash",
    "entry_hashes",
    "format_instant",
    "movement_content",
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
        f"{m.id}\x00{m.kind._value_}\x00{item.gtin.value}\x00"
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
