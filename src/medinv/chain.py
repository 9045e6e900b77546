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

A movement with a counterparty or business references has two more fields,
[`STRUCTURED_FIELDS`][medinv.chain.STRUCTURED_FIELDS], after the sixteen; a
movement without either has exactly the sixteen, so the content, and the hash, of
every movement stored before these fields existed is unchanged.

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
import json
from collections.abc import Iterable
from typing import Final

import pendulum

from medinv.catalogue import BusinessReference, BusinessTransactionType, PartyRef
from medinv.errors import InvalidMovementError
from medinv.identifiers import ItemKey, device_from_text
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

__all__ = [
    "CONTENT_FIELDS",
    "ENCODING_VERSION",
    "GENESIS_HASH",
    "STRUCTURED_FIELDS",
    "LightFields",
    "MovementDecoder",
    "chain_hash",
    "content_differences",
    "content_link_keys",
    "entry_hash",
    "entry_hashes",
    "format_instant",
    "keys_of_links",
    "light_fields",
    "link_keys",
    "movement_content",
    "movement_fields",
    "structured_fields",
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

STRUCTURED_FIELDS: Final = ("counterparty", "business_references")
"""The two fields after [`CONTENT_FIELDS`][medinv.chain.CONTENT_FIELDS], present only
when a movement has a counterparty or business references (see
[`structured_fields`][medinv.chain.structured_fields])."""

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
    content = (
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
    if m.counterparty is None and not m.business_references:
        return content
    party, references = structured_fields(m)
    return (
        f"{content}\x00{'-' if party is None else '+' + party}"
        f"\x00{'-' if references is None else '+' + references}"
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
    absent = ["-"] * len(STRUCTURED_FIELDS)
    names = CONTENT_FIELDS + STRUCTURED_FIELDS
    a_fields, b_fields = left.split(_SEP), right.split(_SEP)
    if len(a_fields) == len(CONTENT_FIELDS):
        a_fields += absent
    if len(b_fields) == len(CONTENT_FIELDS):
        b_fields += absent
    return tuple(name for name, a, b in zip(names, a_fields, b_fields, strict=True) if a != b)


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


def structured_fields(movement: Movement) -> tuple[str | None, str | None]:
    """A movement's counterparty and business references as text, ``None`` when absent.

    The counterparty is ``KIND:id``; the business references are a compact JSON
    array of ``[type, id]`` (``[type, id, issuer GLN]`` with an issuer), in the
    movement's canonical order. The texts of [`STRUCTURED_FIELDS`][medinv.chain.STRUCTURED_FIELDS]
    in [`movement_content`][medinv.chain.movement_content]; stores that keep one column
    per field keep these two next to [`movement_fields`][medinv.chain.movement_fields]
    and give them back to [`MovementDecoder.fields`][medinv.chain.MovementDecoder.fields].

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> m = Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=2,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T10:00:00+01:00", actor="x",
    ...     counterparty="DEPARTMENT:ICU", business_references=["requisition:R-7", "po:4711"])
    >>> structured_fields(m)
    ('DEPARTMENT:ICU', '[["po","4711"],["requisition","R-7"]]')

    ```
    """
    party = movement.counterparty
    references = movement.business_references
    return (
        None if party is None else f"{party.kind._value_}:{party.id}",
        _encode_references(references) if references else None,
    )


def link_keys(movement: Movement) -> list[str]:
    """The keys a store indexes a movement by for its counterparty and business references.

    ``party:KIND:id`` for the counterparty, ``ref:type:id`` for each business
    reference (the issuer GLN is left out: a query by type and id finds every
    issuer's, and [`MovementQuery.matches_structure`][medinv.ports.MovementQuery.matches_structure]
    narrows them). Kinds and types hold no ``:``, so a key names one party or one
    document. Empty for a movement with neither (most of them).

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> link_keys(Movement.issue("I-1", item=ItemKey("04006381333931"), quantity=2,
    ...     source=Location.parse("S/A"), occurred_at="2026-01-05T10:00:00+01:00", actor="x",
    ...     counterparty="DEPARTMENT:ICU", business_references=["po:4711"]))
    ['party:DEPARTMENT:ICU', 'ref:po:4711']

    ```
    """
    party, references = movement.counterparty, movement.business_references
    if party is None and not references:  # most movements: no work on the posting path
        return []
    return keys_of_links(party, references)


def content_link_keys(content: str) -> list[str]:
    """The [`link_keys`][medinv.chain.link_keys] of a movement's stored content.

    Read from the text alone, without building the movement (verification calls it
    for every movement with a counterparty or references): for content a movement
    encodes to, the same keys as ``link_keys`` of that movement; content that is not
    is found by its hash.

    Raises:
        ValueError: structured fields that are not even well-formed.
    """
    if content.count(_SEP) != len(CONTENT_FIELDS) + len(STRUCTURED_FIELDS) - 1:
        return []
    _, party, references = content.rsplit(_SEP, 2)
    keys = [] if party == "-" else [f"party:{_optional(party)}"]
    if references != "-":
        entries = json.loads(references[1:])
        if not isinstance(entries, list) or not all(
            isinstance(entry, list) and entry[1:] for entry in entries
        ):
            raise ValueError(
                f"stored business references are not [type, id] lists: {references!r:.60}"
            )
        keys += dict.fromkeys(f"ref:{entry[0]}:{entry[1]}" for entry in entries)
    return keys


def keys_of_links(party: PartyRef | None, references: Iterable[BusinessReference]) -> list[str]:
    """The link keys of a counterparty and business references (their format, written once)."""
    keys = [] if party is None else [f"party:{party.kind.value}:{party.id}"]
    keys += dict.fromkeys(f"ref:{r.type.value}:{r.id}" for r in references)
    return keys


def _encode_references(references: tuple[BusinessReference, ...]) -> str:
    return json.dumps(
        [
            [r.type.value, r.id] if r.issuer_gln is None else [r.type.value, r.id, r.issuer_gln]
            for r in references
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode_party(text: str) -> PartyRef:
    kind, sep, party_id = text.partition(":")
    if not sep:
        raise ValueError(f"a stored counterparty must be 'KIND:id', not {text!r:.60}")
    return PartyRef(kind=kind, id=party_id)


def _decode_references(text: str) -> tuple[BusinessReference, ...]:
    """Stored business references; only the canonical text a movement encodes to is read."""
    entries = json.loads(text)
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"stored business references must be a non-empty list: {text!r:.60}")
    references: list[BusinessReference] = []
    for entry in entries:
        if (
            not isinstance(entry, list)
            or len(entry) not in {2, 3}
            or not all(isinstance(part, str) for part in entry)
        ):
            raise ValueError(f"a stored business reference is [type, id(, GLN)], not {entry!r:.60}")
        references.append(
            BusinessReference(
                type=BusinessTransactionType.parse(entry[0]),
                id=entry[1],
                issuer_gln=entry[2] if len(entry) == 3 else None,  # noqa: PLR2004  (with issuer)
            )
        )
    result = tuple(references)
    canonical = sorted(set(result), key=lambda r: (r.type.value, r.id, r.issuer_gln or ""))
    if _encode_references(tuple(canonical)) != text:
        raise ValueError(f"stored business references are not in canonical form: {text!r:.60}")
    return result


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


LightFields = tuple[
    int, str, str, str, str | None, str | None, int, str, str,
    str | None, str | None, str | None, str | None, str | None, str | None,
]  # fmt: skip
"""position, id, kind, device text, lot, serial, quantity, occurred-at text, recorded-at
text, source path and status, destination path and status, the id reversed, the
counterparty ``KIND:id``: the order of [`MovementRow`][medinv.ports.MovementRow]."""


def light_fields(position: int, content: str, recorded_at: str) -> LightFields:
    """The fields a light movement row reads of a stored movement, without building it.

    Those of [`MovementRow`][medinv.ports.MovementRow], in its order (optional
    ones ``None`` when absent), each checked as
    [`MovementDecoder.content`][medinv.chain.MovementDecoder.content] checks it;
    the fields it does not return are not read. Written out field by field, in
    one call: a trace calls it for every row of a lot (benchmarks/bench_trace.py).

    Raises:
        ValueError: content that no movement encodes to.
    """
    f = content.split(_SEP)
    count = len(f)
    plain = len(CONTENT_FIELDS)
    if count not in {plain, plain + len(STRUCTURED_FIELDS)}:
        raise ValueError(f"movement content has {count} fields, not {plain}")
    quantity = int(f[5])
    if str(quantity) != f[5]:
        raise ValueError(f"a stored quantity must be canonical decimal, not {f[5]!r:.60}")
    lot, serial, source, source_status, target, target_status, reverses = (
        f[3], f[4], f[8], f[9], f[10], f[11], f[15],
    )  # fmt: skip
    party = f[plain] if count > plain else "-"
    for optional in (lot, serial, source, source_status, target, target_status, reverses, party):
        if optional != "-" and optional[:1] != "+":
            raise ValueError(
                f"an optional field must be '-' or start with '+', not {optional!r:.60}"
            )
    return (
        position, f[0], f[1], f[2], None if lot == "-" else lot[1:],
        None if serial == "-" else serial[1:], quantity, f[6], recorded_at,
        None if source == "-" else source[1:], None if source_status == "-" else source_status[1:],
        None if target == "-" else target[1:], None if target_status == "-" else target_status[1:],
        None if reverses == "-" else reverses[1:], None if party == "-" else party[1:],
    )  # fmt: skip


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
        structured: list[str | None] = [None, None]
        if len(fields) == len(CONTENT_FIELDS) + len(STRUCTURED_FIELDS):
            structured = [_optional(field) for field in fields[len(CONTENT_FIELDS) :]]
            if structured == [None, None]:
                raise ValueError("movement content has two empty structured fields")
            del fields[len(CONTENT_FIELDS) :]
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
            *structured,
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
        counterparty: str | None = None,
        business_references: str | None = None,
    ) -> Movement:
        """The movement of the given fields, as [`movement_fields`][medinv.chain.movement_fields] gives them.

        A lot or serial may also be ``''`` for absent (stores that key by them), the
        quantity an integer and the expiry a date (stores with typed columns). The
        counterparty and business references, when the movement has them, follow as
        [`structured_fields`][medinv.chain.structured_fields] gives them.
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
            counterparty=None if counterparty is None else _decode_party(counterparty),
            business_references=(
                () if business_references is None else _decode_references(business_references)
            ),
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
