"""Movements to EPCIS 2.0 JSON-LD: one ObjectEvent per movement, documents streamed."""

from __future__ import annotations

import bisect
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final, Generic, TypeVar

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


def _time(moment: pendulum.DateTime) -> str:
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
        self._place_uris: dict[tuple[Location, int], str | None] = {}
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
            found = _bounded(self._items)[item] = (make(item, prefix_length=prefix), make(item))
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
            key = (location, id(profile))
            if key not in self._place_uris:
                uri = _place_uri(profile, dated.path, self._path(location))
                _bounded(self._place_uris)[key] = uri
                return uri
            return self._place_uris[key]
        return None

    def _party(self, movement: Movement) -> str | None:
        ref = movement.counterparty
        catalogue = self.options.catalogue
        if ref is None or ref.kind is PartyKind.PATIENT or catalogue is None:
            return None
        dated = self._parties.get(ref)
        if dated is None:
            versions = catalogue.party_history(ref.kind, ref.id).versions
            dated = _bounded(self._parties)[ref] = _Dated(str(ref), versions)
        party = dated.as_of(movement.occurred_at)
        return None if party is None or party.gln is None else party_uri(party.gln)

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

    def event(self, movement: Movement) -> dict[str, Any]:  # noqa: PLR0915  (field by field)
        if movement.kind is MovementKind.REVERSAL:
            msg = f"movement {movement.id!r} is a REVERSAL: it is exported as an error declaration"
            raise InvalidValueError(msg)
        at = movement.occurred_at
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
        step = self._steps.get(mapping)
        if step is None:
            step = self._steps[mapping] = (
                f"action={mapping.action}bizStep={CBV_WEB}BizStep-{mapping.biz_step}"
                f"disposition={CBV_WEB}Disp-{mapping.disposition}"
            )
        pre.append(step)
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
    for entry in recorded:
        movement = entry.movement
        if movement.kind is MovementKind.REVERSAL:
            assert movement.reverses is not None  # noqa: S101  (a reversal names its original)
            original = ledger.movement(movement.reverses)
            if original is None:  # pragma: no cover  (the ledger refuses such reversals)
                msg = f"reversal {movement.id!r} undoes {movement.reverses!r}, not in the ledger"
                raise InvalidValueError(msg)
            yield exporter.reversal(movement, original.movement)
        else:
            yield exporter.event(movement)


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
    header = {
        "@context": context if context is not None else CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(creation_date),
    }
    opening = json.dumps(header, ensure_ascii=False)[:-1]
    yield opening + ', "epcisBody": {"eventList": ['
    encode: Callable[[object], str] = json.JSONEncoder(ensure_ascii=False).encode
    batch: list[str] = []
    first = True
    for event in events:
        batch.append(encode(event))
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
    """The ledger's movements in a range of positions as an EPCISDocument, in text chunks."""
    events = export_events(
        ledger, after_position=after_position, up_to_position=up_to_position, options=options
    )
    return document_chunks(events, creation_date=creation_date)


def write_document(chunks: Iterable[str], out: IO[str]) -> int:
    """Write document chunks to a text file; returns the number of characters written."""
    written = 0
    for chunk in chunks:
        written += out.write(chunk)
    return written
