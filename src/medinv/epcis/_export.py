"""Movements to EPCIS 2.0 JSON-LD: one ObjectEvent per movement, documents streamed."""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, Generic, NamedTuple, TypeVar

import attrs
import pendulum

from medinv._text import percent_encoded
from medinv.catalogue import (
    BusinessReference,
    Effective,
    LocationProfile,
    Party,
    PartyKind,
    PartyRef,
)
from medinv.epcis._hash import CBV_WEB, canonical_value, hash_id_of
from medinv.epcis._ids import class_uri, gln_uri, instance_uri, party_uri
from medinv.epcis._vocab import EventMapping, mapping_for
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.journal import RecordedMovement
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import CatalogueStore, MovementQuery

__all__ = [
    "CONTEXT",
    "MEDINV_NAMESPACE",
    "ExportOptions",
    "document_chunks",
    "export_chunks",
    "export_events",
    "movement_event",
    "reversal_event",
    "write_document",
]

MEDINV_NAMESPACE: Final = "urn:medinv:epcis:"
"""The namespace of medinv's extension fields (JSON-LD prefix ``medinv``)."""
CONTEXT: Final[list[Any]] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"medinv": MEDINV_NAMESPACE},
]
"""The ``@context`` of every document medinv writes."""
_GLN_EXTENSION_LIMIT: Final = 20
_CACHE_LIMIT: Final = 4_096  # per cache: memory stays flat however long the export
_MOVEMENT_URN: Final = "urn:medinv:movement:"
_BATCH: Final = 2_000


@attrs.frozen(kw_only=True)
class ExportOptions:
    """Where places and parties are looked up, and how identifiers are written."""

    catalogue: CatalogueStore | None = None
    """Where location and party GLNs are looked up (as of each movement's time);
    without it, events carry no read point, business location, source or destination."""
    company_prefix_lengths: Mapping[str, int] = attrs.field(factory=dict)
    """GS1 Company Prefix length per GTIN-14 or GTIN-14 prefix (the longest matching
    prefix wins): those GTINs are written as EPC URNs instead of GS1 Digital Link URIs."""

    def prefix_length(self, gtin: str | None) -> int | None:
        """The company prefix length known for ``gtin``, else ``None``."""
        if gtin is None or not self.company_prefix_lengths:
            return None
        for end in range(len(gtin), 0, -1):
            found = self.company_prefix_lengths.get(gtin[:end])
            if found is not None:
                if not 6 <= found <= 12:  # noqa: PLR2004  (GS1 Company Prefix lengths)
                    msg = f"a GS1 Company Prefix has 6 to 12 digits, not {found} (for {gtin})"
                    raise InvalidValueError(msg)
                return found
        return None


def _whole_minutes(moment: pendulum.DateTime) -> pendulum.DateTime:
    """``moment``, moved to UTC when its UTC offset has seconds.

    EPCIS writes offsets as ``+hh:mm``; a local mean time before standard zones
    (Paris until 1911 was +00:09:21) or a custom zone would otherwise give an
    offset the schema refuses. The instant is the same.
    """
    offset = moment.utcoffset()
    if offset is None or not offset % _MINUTE:
        return moment
    return moment.in_timezone("UTC")


def _time(moment: pendulum.DateTime) -> str:
    moment = _whole_minutes(moment)
    spec = "microseconds" if moment.microsecond % 1000 else "milliseconds"
    text = moment.isoformat(timespec=spec)
    return text[:-6] + "+00:00" if text.endswith("-00:00") else text


def _utc_minute(moment: pendulum.DateTime) -> str:
    """``YYYY-MM-DDTHH:MM`` of ``moment`` in UTC (the stdlib's arithmetic, not pendulum's)."""
    utc = dt.datetime(
        moment.year, moment.month, moment.day, moment.hour, moment.minute, tzinfo=dt.UTC
    ) - (moment.utcoffset() or _ZERO)
    return utc.isoformat()[:16]


_ZERO: Final = dt.timedelta(0)
_MINUTE: Final = dt.timedelta(minutes=1)
_EXT: Final = "{" + MEDINV_NAMESPACE + "}"


T = TypeVar("T")


D = TypeVar("D", bound=dict[Any, Any])


def _bounded(cache: D) -> D:
    """``cache``, emptied first when full: what repeats stays cached, memory stays flat."""
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    return cache


class _Dated(Generic[T]):
    """One master-data history, answered by bisecting its start times (no conversions)."""

    def __init__(self, path: str, versions: tuple[Effective[T], ...]) -> None:
        self.path = path
        self.versions = versions
        self.starts = [version.valid_from for version in versions]

    def as_of(self, at: pendulum.DateTime) -> T | None:
        index = bisect.bisect_right(self.starts, at)
        return self.versions[index - 1].value if index else None


def _place_uri(profile: LocationProfile, own: str, path: str) -> str | None:
    if profile.gln is None:
        return None
    extension = path[len(own) + 1 :]
    if not extension or len(extension) > _GLN_EXTENSION_LIMIT:
        return gln_uri(profile.gln)
    return gln_uri(profile.gln, extension)


class _Exporter:
    """Builds events, keeping what repeats (identifiers, places, parties) between movements.

    The pre-hash string is written alongside the event, field by field, in the
    canonical form [`prehash`][medinv.epcis.prehash] would give the finished event
    (a test holds the two equal): the one trick of the export's hot path.
    """

    def __init__(self, options: ExportOptions | None) -> None:
        self.options = options or ExportOptions()
        self._items: dict[ItemKey, tuple[str, str]] = {}
        self._places: dict[Location, list[_Dated[LocationProfile]]] = {}
        self._place_uris: dict[tuple[Location, LocationProfile], str | None] = {}
        self._parties: dict[PartyRef, _Dated[Party]] = {}
        self._references: dict[BusinessReference, tuple[dict[str, str], str]] = {}
        self._utc_minutes: dict[str, str] = {}
        self._paths: dict[Location, str] = {}
        self._canonical: dict[str, str] = {}
        self._steps: dict[EventMapping, str] = {}

    def _canon(self, text: str) -> str:
        found = self._canonical.get(text)
        if found is None:
            found = canonical_value(text)
            _bounded(self._canonical)[text] = found
        return found

    def _path(self, location: Location) -> str:
        text = self._paths.get(location)
        if text is None:
            text = _bounded(self._paths)[location] = str(location)
        return text

    def _item(self, item: ItemKey) -> tuple[str, str]:
        """(the identifier written, its Digital Link form for the hash)."""
        found = self._items.get(item)
        if found is None:
            prefix = self.options.prefix_length(item.device.gtin)
            make = instance_uri if item.serial is not None else class_uri
            canonical = make(item)
            written = canonical if prefix is None else make(item, prefix_length=prefix)
            found = _bounded(self._items)[item] = (written, canonical)
        return found

    def _place(self, location: Location, at: pendulum.DateTime) -> str | None:
        catalogue = self.options.catalogue
        if catalogue is None:
            return None
        candidates = self._places.get(location)
        if candidates is None:
            segments = location.path
            candidates = _bounded(self._places)[location] = [
                _Dated(path, catalogue.location_history(path).versions)
                for path in ("/".join(segments[:n]) for n in range(len(segments), 0, -1))
            ]
        for dated in candidates:
            profile = dated.as_of(at)
            if profile is None:
                continue
            # By the profile itself, not its id: a profile dropped with an emptied
            # cache may leave its id to another one.
            key = (location, profile)
            if key not in self._place_uris:
                uri = _place_uri(profile, dated.path, self._path(location))
                _bounded(self._place_uris)[key] = uri
                return uri
            return self._place_uris[key]
        return None

    def _party(self, movement: Movement) -> str | None:
        ref = movement.counterparty
        if ref is None or ref.kind is PartyKind.PATIENT or self.options.catalogue is None:
            return None
        return self._party_at(ref, movement.occurred_at)

    def _party_at(self, ref: PartyRef, at: pendulum.DateTime) -> str | None:
        dated = self._dated_party(ref)
        party = dated.as_of(at)
        return None if party is None or party.gln is None else party_uri(party.gln)

    def _dated_party(self, ref: PartyRef) -> _Dated[Party]:
        dated = self._parties.get(ref)
        if dated is None:
            catalogue = self.options.catalogue
            assert catalogue is not None  # noqa: S101  (asked only with a catalogue)
            versions = catalogue.party_history(ref.kind, ref.id).versions
            dated = _bounded(self._parties)[ref] = _Dated(str(ref), versions)
        return dated

    def _hash_time(self, moment: pendulum.DateTime, written: str) -> str:
        """``eventTime`` as the pre-hash string has it: UTC, milliseconds rounded half even."""
        micro = round(moment.microsecond, -3)
        if micro >= 1_000_000:  # noqa: PLR2004  (the reference keeps such a time as written)
            return written
        local = written[:16] + written[-6:]
        minute = self._utc_minutes.get(local)
        if minute is None:
            minute = _bounded(self._utc_minutes)[local] = _utc_minute(moment)
        return f"{minute}{written[16:19]}.{micro // 1000:03d}Z"

    def _reference(self, ref: BusinessReference) -> tuple[dict[str, str], str]:
        found = self._references.get(ref)
        if found is None:
            code = ref.type.value if ref.type.is_cbv else ref.type.uri
            kind = f"{CBV_WEB}BTT-{code}" if ref.type.is_cbv else canonical_value(code)
            uri = ref.uri
            member = f"type={kind}bizTransaction={canonical_value(uri)}"
            found = ({"type": code, "bizTransaction": uri}, member)
            _bounded(self._references)[ref] = found
        return found

    def event(self, movement: Movement) -> dict[str, Any]:
        if movement.kind is MovementKind.REVERSAL:
            msg = f"movement {movement.id!r} is a REVERSAL: it is exported as an error declaration"
            raise InvalidValueError(msg)
        at = _whole_minutes(movement.occurred_at)
        mapping = mapping_for(movement)
        written = _time(at)
        offset = written[-6:]
        event: dict[str, Any] = {
            "type": "ObjectEvent",
            "eventTime": written,
            "eventTimeZoneOffset": offset,
        }
        pre = [
            "eventType=ObjectEvent",
            "eventTime=",
            self._hash_time(at, written),
            "eventTimeZoneOffset=",
            offset,
        ]
        uri, canonical = self._item(movement.item)
        if movement.item.serial is not None:
            event["epcList"] = [uri]
            pre += ["epcListepc=", canonical]
        else:
            event["quantityList"] = [{"epcClass": uri, "quantity": movement.quantity}]
            quantity = canonical_value(str(movement.quantity))
            pre += ["quantityListquantityElementepcClass=", canonical, "quantity=", quantity]
        event["action"] = mapping.action
        event["bizStep"] = mapping.biz_step
        event["disposition"] = mapping.disposition
        pre.append(self._step_pre(mapping))
        observed = movement.to_location or movement.from_location
        assert observed is not None  # noqa: S101  (every movement has a side)
        # Seen where the stock lands (else where it left); it stays where it landed.
        read_point = self._place(observed, at)
        if read_point is not None:
            event["readPoint"] = {"id": read_point}
            pre += ["readPointid=", read_point]
            if movement.to_location is not None:
                event["bizLocation"] = {"id": read_point}
                pre += ["bizLocationid=", read_point]
        rest: list[str] = []
        if movement.business_references:
            entries, members = [], []
            for ref in movement.business_references:
                entry, member = self._reference(ref)
                entries.append(dict(entry))
                members.append(member)
            event["bizTransactionList"] = entries
            rest.append("bizTransactionList" + "".join(sorted(members)))
        party = self._party(movement)
        if party is not None:
            side = "sourceList" if movement.from_location is None else "destinationList"
            member = "source" if side == "sourceList" else "destination"
            event[side] = [{"type": "possessing_party", member: party}]
            rest.append(f"{side}type={CBV_WEB}SDT-possessing_party{member}={party}")
        for name, value in self._extension(movement):
            event["medinv:" + name] = value
            text = value if name == "movementID" else self._canon(value)
            rest.append(_EXT + name + ("=" + text if text else ""))
        rest.sort()
        event["eventID"] = hash_id_of("".join(pre) + "".join(rest))
        return event

    def _step_pre(self, mapping: EventMapping) -> str:
        step = self._steps.get(mapping)
        if step is None:
            step = self._steps[mapping] = (
                f"action={mapping.action}bizStep={CBV_WEB}BizStep-{mapping.biz_step}"
                f"disposition={CBV_WEB}Disp-{mapping.disposition}"
            )
        return step

    def _extension(self, movement: Movement) -> list[tuple[str, str]]:
        # As a URN, percent-encoded: the hash's canonical form leaves it as it is (a bare
        # id would be trimmed and read as a number: "007" and "7" would collide).
        movement_urn = _MOVEMENT_URN + percent_encoded(movement.id)
        out = [("movementID", movement_urn), ("kind", movement.kind.value)]
        if movement.from_location is not None and movement.from_status is not None:
            out.append(("fromLocation", self._path(movement.from_location)))
            out.append(("fromStatus", movement.from_status.value))
        if movement.to_location is not None and movement.to_status is not None:
            out.append(("toLocation", self._path(movement.to_location)))
            out.append(("toStatus", movement.to_status.value))
        if movement.item.serial is not None and movement.item.lot is not None:
            out.append(("lot", str(movement.item.lot)))
        if movement.expiry is not None:
            out.append(("expiry", movement.expiry.isoformat()))
        if movement.reason is not None and movement.kind is not MovementKind.CONSUMPTION:
            out.append(("reason", movement.reason))
        ref = movement.counterparty
        if ref is not None and ref.kind is not PartyKind.PATIENT:
            out.append(("counterparty", str(ref)))
        return out

    def reversal(self, reversal: Movement, original: Movement) -> dict[str, Any]:
        event = self.event(original)
        event["errorDeclaration"] = {
            "declarationTime": _time(reversal.occurred_at),
            "reason": "incorrect_data",
            "medinv:reversalID": reversal.id,
        }
        return event


def movement_event(movement: Movement, options: ExportOptions | None = None) -> dict[str, Any]:
    """The ObjectEvent of one (non-reversal) movement, with its hash-based ``eventID``.

    Never carries a patient: the movement's free-text ``reference`` is not exported,
    nor a patient counterparty, nor the reason of a consumption.

    Raises:
        InvalidValueError: ``movement`` is a REVERSAL (export it with the movement it
            undoes, see [`export_events`][medinv.epcis.export_events]).
    """
    return _Exporter(options).event(movement)


def reversal_event(
    reversal: Movement, original: Movement, options: ExportOptions | None = None
) -> dict[str, Any]:
    """The error declaration a reversal is: the original's event declared wrong.

    It is the original's event (with the same ``eventID``) plus an ``errorDeclaration``
    with the reversal's time, the reason ``incorrect_data`` and the reversal's id.
    """
    return _Exporter(options).reversal(reversal, original)


def export_events(
    ledger: Ledger,
    *,
    after_position: int = 0,
    up_to_position: int | None = None,
    options: ExportOptions | None = None,
) -> Iterator[dict[str, Any]]:
    """The EPCIS events of the ledger's movements in a range of positions, streamed.

    Movements are read lazily in position order. A REVERSAL becomes an error
    declaration of the event of the movement it undoes (read from the ledger, wherever
    it sits).
    """
    query = MovementQuery(after_position=after_position, up_to_position=up_to_position)
    recorded: Iterable[RecordedMovement] = ledger.store.movements(query)
    return _events(ledger, recorded, options)


def _events(
    ledger: Ledger, recorded: Iterable[RecordedMovement], options: ExportOptions | None
) -> Iterator[dict[str, Any]]:
    exporter = _Exporter(options)
    return _rendered(ledger, recorded, exporter.event, exporter.reversal)


def _rendered(
    ledger: Ledger,
    recorded: Iterable[RecordedMovement],
    event: Callable[[Movement], T],
    reversal: Callable[[Movement, Movement], T],
) -> Iterator[T]:
    """Each movement through ``event``, a reversal through ``reversal`` with its original."""
    for entry in recorded:
        movement = entry.movement
        if movement.kind is MovementKind.REVERSAL:
            assert movement.reverses is not None  # noqa: S101  (a reversal names its original)
            original = ledger.movement(movement.reverses)
            if original is None:  # pragma: no cover  (the ledger refuses such reversals)
                msg = f"reversal {movement.id!r} undoes {movement.reverses!r}, not in the ledger"
                raise InvalidValueError(msg)
            yield reversal(movement, original.movement)
        else:
            yield event(movement)


def document_chunks(
    events: Iterable[Mapping[str, Any]],
    *,
    creation_date: pendulum.DateTime,
    context: list[Any] | None = None,
) -> Iterator[str]:
    """An EPCISDocument wrapping ``events``, as text chunks (write them in order).

    Any event dicts are accepted (object, sensor ...): this is the one writer of
    EPCIS documents. ``creation_date`` is given, not read from the clock, so the
    same events always make the same document.
    """
    yield from _document(map(_ENCODE, events), creation_date=creation_date, context=context)


def _document(
    texts: Iterable[str], *, creation_date: pendulum.DateTime, context: list[Any] | None
) -> Iterator[str]:
    """The document around events already written as JSON text, ``_BATCH`` events a chunk."""
    header = {
        "@context": context if context is not None else CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(creation_date),
    }
    opening = json.dumps(header, ensure_ascii=False)[:-1]
    yield opening + ', "epcisBody": {"eventList": ['
    batch: list[str] = []
    first = True
    for text in texts:
        batch.append(text)
        if len(batch) >= _BATCH:
            yield ("" if first else ",\n") + ",\n".join(batch)
            first, batch = False, []
    if batch:
        yield ("" if first else ",\n") + ",\n".join(batch)
    yield "]}}\n"


def export_chunks(
    ledger: Ledger,
    *,
    creation_date: pendulum.DateTime,
    after_position: int = 0,
    up_to_position: int | None = None,
    options: ExportOptions | None = None,
) -> Iterator[str]:
    """The ledger's movements in a range of positions as an EPCISDocument, in text chunks.

    The text is the JSON of the events [`export_events`][medinv.epcis.export_events]
    gives, character for character, written without building them.
    """
    query = MovementQuery(after_position=after_position, up_to_position=up_to_position)
    recorded: Iterable[RecordedMovement] = ledger.store.movements(query)
    exporter = _TextExporter(options)
    texts = _rendered(ledger, recorded, exporter.event_text, exporter.reversal_text)
    return _document(texts, creation_date=creation_date, context=None)


def write_document(chunks: Iterable[str], out: IO[str]) -> int:
    """Write document chunks to a text file; returns the number of characters written."""
    written = 0
    for chunk in chunks:
        written += out.write(chunk)
    return written


# ----------------------------------------------------------------------------- text fast path
# benchmarks/bench_epcis.py: building an event dict and its pre-hash per movement, then
# json-encoding it, ran at a quarter of the rate of json-encoding alone. export_chunks
# instead writes each event's text (and its pre-hash string) from fragments cached per
# time, item, kind + locations + statuses, place, business references and party, each
# fragment the JSON of the same values `_Exporter.event` puts in the event dict. That
# dict path stays the reference: a Hypothesis test holds the text equal to its JSON, and
# a test pins the whole document.

_ENCODE: Final[Callable[[object], str]] = json.JSONEncoder(ensure_ascii=False).encode
_NOTHING: Final = ("", "")  # a field the event does not have: no JSON, no pre-hash


@attrs.define
class _Where:
    """What a movement's kind, locations and statuses fix in its event."""

    mapping: EventMapping
    timeline: tuple[list[int], list[str | None]]
    """The read points (and instants they start) where the stock is seen: where it
    lands, else where it left."""
    landing: bool
    """Whether the stock stays there (then it is the business location too)."""
    text: str
    """The JSON of the extension fields kind, from and to location and status."""
    pre_from: str
    """The pre-hash members of from location and status, and kind."""
    pre_to: str
    """The pre-hash members of to location and status."""
    steps: dict[str | None, tuple[str, str]] = attrs.field(factory=dict)
    """(JSON, pre-hash) of action, business step, disposition and places per read point."""


class _Minute(NamedTuple):
    """What a minute of wall time at one UTC offset fixes in an event's time."""

    json: str
    """The event's JSON up to the seconds of ``eventTime``."""
    json_end: str
    """The event's JSON from the offset of ``eventTime`` to the end of its offset field."""
    written: str
    """``eventTime`` up to its seconds: ``YYYY-MM-DDTHH:MM:``."""
    suffix: str
    """``eventTime`` after its fraction of a second: the offset."""
    utc: str
    """The minute in UTC as the pre-hash writes it: ``YYYY-MM-DDTHH:MM:``."""
    pre_end: str
    """The pre-hash of the offset field."""
    instant: int
    """The minute's start in microseconds since 1970 UTC."""


# The extension members a _Where writes, and the order of their pre-hash members (sorted
# by name, which is the order the pre-hash string's sort gives them).
_WHERE_NAMES: Final = frozenset({"kind", "fromLocation", "fromStatus", "toLocation", "toStatus"})
_FROM_NAMES: Final = ("fromLocation", "fromStatus", "kind")
_TO_NAMES: Final = ("toLocation", "toStatus")


class _TextExporter(_Exporter):
    """Writes each event's JSON text from cached fragments (export_chunks' hot path)."""

    def __init__(self, options: ExportOptions | None) -> None:
        super().__init__(options)
        self._heads: dict[tuple[pendulum.DateTime, int, int], tuple[str, str, int]] = {}
        self._minutes: dict[tuple[Any, ...], _Minute] = {}
        self._suffixes: dict[dt.timedelta | None, str] = {}
        self._item_texts: dict[ItemKey, tuple[str, str, bool, str, str]] = {}
        self._quantities: dict[int, tuple[str, str]] = {}
        self._wheres: dict[tuple[object, ...], _Where] = {}
        self._timelines: dict[Location, tuple[list[int], list[str | None]]] = {}
        self._ref_texts: dict[tuple[BusinessReference, ...], tuple[str, str]] = {}
        self._ref_types: dict[object, tuple[str, str]] = {}
        self._sides: dict[tuple[str, bool], tuple[str, str]] = {}
        self._party_lines: dict[PartyRef, tuple[list[int], list[str | None]]] = {}
        self._members: dict[tuple[str, object], tuple[str, str]] = {}

    def _member(self, name: str, value: str) -> str:
        """The pre-hash member of the extension field ``name``."""
        text = value if name == "movementID" else self._canon(value)
        return _EXT + name + ("=" + text if text else "")

    def _extra(self, name: str, key: object, value: str) -> tuple[str, str]:
        """(the JSON, the pre-hash member) of the extension field ``name``, cached per key."""
        found = self._members.get((name, key))
        if found is None:
            text = f', "medinv:{name}": {_ENCODE(value)}'
            found = _bounded(self._members)[name, key] = (text, self._member(name, value))
        return found

    def _head(self, at: pendulum.DateTime) -> tuple[str, str, int]:
        """(JSON, pre-hash, instant) of the event's time."""
        # Keyed by the time, its zone and fold: equal keys are the same wall time and offset.
        key = (at, id(at.tzinfo), at.fold)
        found = self._heads.get(key)
        if found is None:
            at = _whole_minutes(at)
            offset = at.utcoffset()
            minute_key = (at.year, at.month, at.day, at.hour, at.minute, offset)
            minute = self._minutes.get(minute_key) or self._minute(at, minute_key)
            second, micro = at.second, at.microsecond
            # As _time writes it: milliseconds, or microseconds when there are some.
            fraction = (
                f"{second:02d}.{micro // 1000:03d}"
                if micro % 1000 == 0
                else (f"{second:02d}.{micro:06d}")
            )
            rounded = round(micro, -3)  # the pre-hash's milliseconds, rounded half even
            if rounded >= 1_000_000:  # noqa: PLR2004  (as _hash_time: the time as written)
                hash_time = minute.written + fraction + minute.suffix
            else:
                hash_time = f"{minute.utc}{second:02d}.{rounded // 1000:03d}Z"
            found = _bounded(self._heads)[key] = (
                minute.json + fraction + minute.json_end,
                f"eventType=ObjectEventeventTime={hash_time}{minute.pre_end}",
                minute.instant + second * 1_000_000 + micro,
            )
        return found

    def _minute(self, at: pendulum.DateTime, key: tuple[Any, ...]) -> _Minute:
        """What a minute of wall time at one UTC offset fixes in an event's time."""
        year, month, day, hour, minute, offset = key
        suffix = self._suffixes.get(offset)
        if suffix is None:  # the offset as _time writes it, after the fraction of a second
            written = _time(at)
            suffix = written[23:] if at.microsecond % 1000 == 0 else written[26:]
            self._suffixes[offset] = suffix  # as many as there are offsets: a handful
        local = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:"
        utc = dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC) - (offset or _ZERO)
        found = _bounded(self._minutes)[key] = _Minute(
            json='{"type": "ObjectEvent", "eventTime": "' + local,
            json_end=f'{suffix}", "eventTimeZoneOffset": {_ENCODE(suffix[-6:])}',
            written=local,
            suffix=suffix,
            utc=utc.isoformat()[:17],
            pre_end="eventTimeZoneOffset=" + suffix[-6:],
            instant=(utc - _EPOCH) // _MICROSECOND,
        )
        return found

    def _item_text(self, item: ItemKey) -> tuple[str, str, bool, str, str]:
        """(JSON, pre-hash, is a class, the lot's JSON, its pre-hash) of an item."""
        found = self._item_texts.get(item)
        if found is None:
            uri, canonical = self._item(item)
            if item.serial is None:
                json_text = f', "quantityList": [{{"epcClass": {_ENCODE(uri)}, '
                pre = f"quantityListquantityElementepcClass={canonical}quantity="
                found = (json_text, pre, True, "", "")
            else:
                lot = ("", "") if item.lot is None else self._extra("lot", item, str(item.lot))
                text = f', "epcList": [{_ENCODE(uri)}]'
                found = (text, "epcListepc=" + canonical, False, *lot)
            _bounded(self._item_texts)[item] = found
        return found

    def _quantity(self, quantity: int) -> tuple[str, str]:
        found = self._quantities.get(quantity)
        if found is None:
            written = _ENCODE(quantity)
            found = _bounded(self._quantities)[quantity] = (
                f'"quantity": {written}}}]',
                canonical_value(str(quantity)),
            )
        return found

    def _timeline(
        self, location: Location, at: pendulum.DateTime
    ) -> tuple[list[int], list[str | None]]:
        """Where the read point of ``location`` changes (instants) and what it is from each."""
        timeline = self._timelines.get(location)
        if timeline is None:
            starts: list[pendulum.DateTime] = []
            if self.options.catalogue is not None:
                self._place(location, at)  # reads the histories of the location's paths
                found = {v.valid_from for d in self._places[location] for v in d.versions}
                starts = sorted(found)
            uris = [self._place(location, start) for start in starts]
            timeline = _bounded(self._timelines)[location] = ([_instant(s) for s in starts], uris)
        return timeline

    def _counterparty(self, ref: PartyRef, instant: int) -> str | None:
        """The party's URI at ``instant``: one bisect of where its answer changes."""
        timeline = self._party_lines.get(ref)
        if timeline is None:
            starts = [version.valid_from for version in self._dated_party(ref).versions]
            uris = [self._party_at(ref, start) for start in starts]
            timeline = _bounded(self._party_lines)[ref] = ([_instant(s) for s in starts], uris)
        return _as_of(timeline, instant)

    def _where(self, movement: Movement) -> _Where:
        key = (
            movement.kind,
            movement.from_location,
            movement.from_status,
            movement.to_location,
            movement.to_status,
        )
        found = self._wheres.get(key)
        if found is None:
            observed = movement.to_location or movement.from_location
            assert observed is not None  # noqa: S101  (every movement has a side)
            pairs = [pair for pair in self._extension(movement) if pair[0] in _WHERE_NAMES]
            members = {name: self._member(name, value) for name, value in pairs}
            found = _bounded(self._wheres)[key] = _Where(
                mapping_for(movement),
                self._timeline(observed, movement.occurred_at),
                movement.to_location is not None,
                _ENCODE({"medinv:" + name: value for name, value in pairs})[1:-1],
                "".join(members.get(name, "") for name in _FROM_NAMES),
                "".join(members.get(name, "") for name in _TO_NAMES),
            )
        return found

    def _step(self, where: _Where, read_point: str | None) -> tuple[str, str]:
        """(the JSON, the pre-hash) of action, business step, disposition and places."""
        found = where.steps.get(read_point)
        if found is None:
            mapping = where.mapping
            fields: dict[str, Any] = {
                "action": mapping.action,
                "bizStep": mapping.biz_step,
                "disposition": mapping.disposition,
            }
            pre = [self._step_pre(mapping)]
            if read_point is not None:
                fields["readPoint"] = {"id": read_point}
                pre += ["readPointid=", read_point]
                if where.landing:
                    fields["bizLocation"] = {"id": read_point}
                    pre += ["bizLocationid=", read_point]
            found = where.steps[read_point] = (", " + _ENCODE(fields)[1:-1], "".join(pre))
        return found

    def _references_text(self, refs: tuple[BusinessReference, ...]) -> tuple[str, str]:
        found = self._ref_texts.get(refs)
        if found is None:
            entries, members = [], []
            for ref in refs:
                uri = ref.uri
                kind = self._ref_types.get(ref.type)
                if kind is None:  # what the type fixes: all of the JSON and pre-hash but the URI
                    entry, member = self._reference(ref)
                    head = f'{{"type": {_ENCODE(entry["type"])}, "bizTransaction": '
                    cut = len(member) - len(canonical_value(uri))
                    kind = self._ref_types[ref.type] = (head, member[:cut])
                entries.append(f"{kind[0]}{_ENCODE(uri)}}}")
                members.append(kind[1] + canonical_value(uri))
            found = _bounded(self._ref_texts)[refs] = (
                f', "bizTransactionList": [{", ".join(entries)}]',
                "bizTransactionList" + "".join(sorted(members)),
            )
        return found

    def _side(self, party: str, *, source: bool) -> tuple[str, str]:
        found = self._sides.get((party, source))
        if found is None:
            side, member = (
                ("sourceList", "source") if source else ("destinationList", "destination")
            )
            entry = [{"type": "possessing_party", member: party}]
            found = _bounded(self._sides)[party, source] = (
                f", {_ENCODE(side)}: {_ENCODE(entry)}",
                f"{side}type={CBV_WEB}SDT-possessing_party{member}={party}",
            )
        return found

    def event_text(self, movement: Movement) -> str:
        """The JSON text of ``self.event(movement)``, written without building the dict."""
        if movement.kind is MovementKind.REVERSAL:
            self.event(movement)  # refuses it
        at = movement.occurred_at
        # Cache hits looked up here, misses computed by the methods (per-call cost counts).
        head, head_pre, instant = self._heads.get((at, id(at.tzinfo), at.fold)) or self._head(at)
        item = movement.item
        item_text, item_pre, is_class, lot, lot_pre = self._item_texts.get(item) or self._item_text(
            item
        )
        quantity = _NOTHING
        if is_class:
            amount = movement.quantity
            quantity = self._quantities.get(amount) or self._quantity(amount)
        where = self._where(movement)
        starts, read_points = where.timeline
        index = bisect.bisect_right(starts, instant)
        read_point = read_points[index - 1] if index else None
        step, step_pre = where.steps.get(read_point) or self._step(where, read_point)
        refs = _NOTHING
        if movement.business_references:
            refs = self._references_text(movement.business_references)
        ref = movement.counterparty
        side = counterparty = _NOTHING
        if ref is not None and ref.kind is not PartyKind.PATIENT:
            party = None if self.options.catalogue is None else self._counterparty(ref, instant)
            if party is not None:
                side = self._side(party, source=movement.from_location is None)
            counterparty = self._members.get(("counterparty", ref)) or self._extra(
                "counterparty", ref, str(ref)
            )
        expiry = _NOTHING
        if movement.expiry is not None:
            day = movement.expiry
            expiry = self._members.get(("expiry", day)) or self._extra(
                "expiry", day, day.isoformat()
            )
        reason = _NOTHING
        if movement.reason is not None and movement.kind is not MovementKind.CONSUMPTION:
            why = movement.reason
            reason = self._members.get(("reason", why)) or self._extra("reason", why, why)
        # The movement id is percent-encoded: nothing in it needs escaping in JSON.
        urn = _MOVEMENT_URN + percent_encoded(movement.id)
        # The pre-hash's members after the ordered fields, in the order its sort gives.
        pre = (
            f"{head_pre}{item_pre}{quantity[1]}{step_pre}{refs[1]}{side[1]}{counterparty[1]}"
            f"{expiry[1]}{where.pre_from}{lot_pre}{_EXT}movementID={urn}{reason[1]}{where.pre_to}"
        )
        return (
            f"{head}{item_text}{quantity[0]}{step}{refs[0]}{side[0]}"
            f', "medinv:movementID": "{urn}", {where.text}{lot}{expiry[0]}{reason[0]}'
            f'{counterparty[0]}, "eventID": "{hash_id_of(pre)}"}}'
        )

    def reversal_text(self, reversal: Movement, original: Movement) -> str:
        """The JSON text of ``self.reversal(reversal, original)``."""
        declaration = {
            "declarationTime": _time(reversal.occurred_at),
            "reason": "incorrect_data",
            "medinv:reversalID": reversal.id,
        }
        return f'{self.event_text(original)[:-1]}, "errorDeclaration": {_ENCODE(declaration)}}}'


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def _instant(moment: dt.datetime) -> int:
    """Microseconds since 1970 UTC: compared without asking a time zone its offset again."""
    return (dt.datetime.__sub__(moment, _EPOCH)) // _MICROSECOND


def _as_of(timeline: tuple[list[int], list[str | None]], instant: int) -> str | None:
    """The answer of a timeline (where an answer starts, the answers) at ``instant``."""
    index = bisect.bisect_right(timeline[0], instant)
    return timeline[1][index - 1] if index else None
