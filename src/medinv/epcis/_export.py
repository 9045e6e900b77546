"""Movements to EPCIS 2.0 JSON-LD: one ObjectEvent per movement, documents streamed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO, Any, Final

import attrs
import pendulum

from medinv.catalogue import PartyKind
from medinv.epcis._hash import event_hash_id
from medinv.epcis._ids import class_uri, gln_uri, instance_uri, party_uri
from medinv.epcis._vocab import mapping_for
from medinv.errors import InvalidValueError
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
    "write_document",
]

MEDINV_NAMESPACE: Final = "urn:medinv:epcis:"
"""The namespace of medinv's extension fields (JSON-LD prefix ``medinv``)."""
CONTEXT: Final[list[Any]] = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    {"medinv": MEDINV_NAMESPACE},
]
"""The ``@context`` of every document medinv writes."""
_NAMESPACES: Final = {"medinv": MEDINV_NAMESPACE}
_GLN_EXTENSION_LIMIT: Final = 20
_BATCH: Final = 2_000


@attrs.frozen(kw_only=True)
class ExportOptions:
    """How identifiers are written.

    Args:
        catalogue: where location GLNs and party GLNs are looked up (as of each
            movement's time); without it, events carry no read point, business
            location, source or destination.
        company_prefix_lengths: GS1 Company Prefix length per GTIN-14 (or per
            GTIN-14 prefix: the longest matching prefix wins); for those GTINs the
            items are written as EPC URNs instead of GS1 Digital Link URIs.
    """

    catalogue: CatalogueStore | None = None
    company_prefix_lengths: Mapping[str, int] = attrs.field(factory=dict)

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
    return moment.isoformat(timespec=spec)


def _offset(moment: pendulum.DateTime) -> str:
    text = moment.isoformat()[-6:]
    return "+00:00" if text == "-00:00" else text


def _place(
    location: Location, options: ExportOptions, at: pendulum.DateTime
) -> dict[str, str] | None:
    catalogue = options.catalogue
    if catalogue is None:
        return None
    profile = catalogue.profile_for(location, as_of=at)
    if profile is None or profile.gln is None:
        return None
    own, path = str(profile.path), str(location)
    if own == path:
        return {"id": gln_uri(profile.gln)}
    extension = path[len(own) + 1 :]
    if len(extension) > _GLN_EXTENSION_LIMIT:
        return {"id": gln_uri(profile.gln)}
    return {"id": gln_uri(profile.gln, extension)}


def _party(movement: Movement, options: ExportOptions) -> str | None:
    ref = movement.counterparty
    if ref is None or ref.kind is PartyKind.PATIENT or options.catalogue is None:
        return None
    party = options.catalogue.party(ref.kind, ref.id, as_of=movement.occurred_at)
    return None if party is None or party.gln is None else party_uri(party.gln)


def _what(movement: Movement, options: ExportOptions) -> dict[str, Any]:
    item = movement.item
    prefix = options.prefix_length(item.device.gtin)
    if item.serial is not None:
        return {"epcList": [instance_uri(item, prefix_length=prefix)]}
    return {
        "quantityList": [
            {"epcClass": class_uri(item, prefix_length=prefix), "quantity": movement.quantity}
        ]
    }


def _extension(movement: Movement) -> dict[str, Any]:
    out: dict[str, Any] = {
        "medinv:movementID": movement.id,
        "medinv:kind": movement.kind.value,
    }
    if movement.from_location is not None and movement.from_status is not None:
        out["medinv:fromLocation"] = str(movement.from_location)
        out["medinv:fromStatus"] = movement.from_status.value
    if movement.to_location is not None and movement.to_status is not None:
        out["medinv:toLocation"] = str(movement.to_location)
        out["medinv:toStatus"] = movement.to_status.value
    if movement.item.serial is not None and movement.item.lot is not None:
        out["medinv:lot"] = str(movement.item.lot)
    if movement.expiry is not None:
        out["medinv:expiry"] = movement.expiry.isoformat()
    if movement.reason is not None and movement.kind is not MovementKind.CONSUMPTION:
        out["medinv:reason"] = movement.reason
    ref = movement.counterparty
    if ref is not None and ref.kind is not PartyKind.PATIENT:
        out["medinv:counterparty"] = str(ref)
    return out


def movement_event(movement: Movement, options: ExportOptions | None = None) -> dict[str, Any]:
    """The ObjectEvent of one (non-reversal) movement, with its hash-based ``eventID``.

    Never carries a patient: the movement's free-text ``reference`` is not exported,
    nor a patient counterparty, nor the reason of a consumption.

    Raises:
        InvalidValueError: ``movement`` is a REVERSAL (export it with the movement it
            undoes, see [`export_events`][medinv.epcis.export_events]).
    """
    if movement.kind is MovementKind.REVERSAL:
        msg = f"movement {movement.id!r} is a REVERSAL: it is exported as an error declaration"
        raise InvalidValueError(msg)
    opts = options or ExportOptions()
    at = movement.occurred_at
    mapping = mapping_for(movement)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _time(at),
        "eventTimeZoneOffset": _offset(at),
        **_what(movement, opts),
        "action": mapping.action,
        "bizStep": mapping.biz_step,
        "disposition": mapping.disposition,
    }
    observed = movement.to_location or movement.from_location
    assert observed is not None  # noqa: S101  (every movement has a side)
    read_point = _place(observed, opts, at)
    if read_point is not None:
        event["readPoint"] = read_point
    if movement.to_location is not None:
        biz_location = _place(movement.to_location, opts, at)
        if biz_location is not None:
            event["bizLocation"] = biz_location
    if movement.business_references:
        event["bizTransactionList"] = [
            {"type": ref.type.value if ref.type.is_cbv else ref.type.uri, "bizTransaction": ref.uri}
            for ref in movement.business_references
        ]
    party = _party(movement, opts)
    if party is not None:
        side = "sourceList" if movement.from_location is None else "destinationList"
        member = "source" if side == "sourceList" else "destination"
        event[side] = [{"type": "possessing_party", member: party}]
    event.update(_extension(movement))
    event["eventID"] = event_hash_id(event, _NAMESPACES)
    return event


def reversal_event(
    reversal: Movement, original: Movement, options: ExportOptions | None = None
) -> dict[str, Any]:
    """The error declaration a reversal is: the original's event declared wrong."""
    event = movement_event(original, options)
    event["errorDeclaration"] = {
        "declarationTime": _time(reversal.occurred_at),
        "reason": "incorrect_data",
        "medinv:reversalID": reversal.id,
    }
    return event


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
    for entry in recorded:
        movement = entry.movement
        if movement.kind is MovementKind.REVERSAL:
            assert movement.reverses is not None  # noqa: S101  (a reversal names its original)
            original = ledger.movement(movement.reverses)
            if original is None:  # pragma: no cover  (the ledger refuses such reversals)
                msg = f"reversal {movement.id!r} undoes {movement.reverses!r}, not in the ledger"
                raise InvalidValueError(msg)
            yield reversal_event(movement, original.movement, options)
        else:
            yield movement_event(movement, options)


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
