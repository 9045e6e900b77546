"""EPCIS documents written by medinv back into movements, idempotent by eventID."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import IO, Any, Final

import attrs

from medinv.catalogue import BusinessReference, BusinessTransactionType, PartyRef
from medinv.epcis._export import MEDINV_NAMESPACE
from medinv.epcis._hash import event_hash_id
from medinv.epcis._ids import item_of
from medinv.epcis._validate import EpcisEventError, check_event
from medinv.errors import InvalidValueError
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

__all__ = ["ImportResult", "import_document", "movements_from_document", "read_document"]

_HASH_PREFIX: Final = "ni:///sha-256;"


@attrs.frozen
class ImportResult:
    """What an import did."""

    posted: tuple[str, ...]
    """Ids of the movements posted (in document order)."""
    skipped: tuple[str, ...]
    """Ids of movements already in the ledger (the event was imported before)."""


def read_document(source: IO[str] | str | bytes) -> dict[str, Any]:
    """Parse an EPCIS JSON-LD document from a file object or its text.

    Raises:
        InvalidValueError: not JSON, or not an EPCISDocument with an event list.
    """
    try:
        loaded: Any = json.loads(source) if isinstance(source, (str, bytes)) else json.load(source)
    except ValueError as error:
        msg = f"not an EPCIS JSON document: {error}"
        raise InvalidValueError(msg) from error
    body = loaded.get("epcisBody") if isinstance(loaded, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("eventList"), list):
        msg = "not an EPCISDocument: no epcisBody.eventList"
        raise InvalidValueError(msg)
    document: dict[str, Any] = loaded
    return document


def _namespaces(document: Mapping[str, Any]) -> dict[str, str]:
    context = document.get("@context")
    entries = context if isinstance(context, list) else [context]
    found: dict[str, str] = {}
    for entry in entries:
        if isinstance(entry, Mapping):
            found.update({k: v for k, v in entry.items() if isinstance(v, str)})
    return found


def _movement_id(event_id: str, *, reversal: bool) -> str:
    digest = event_id.removeprefix(_HASH_PREFIX).partition("?")[0]
    return f"epcis:{digest}" + (":reversal" if reversal else "")


def _business_reference(entry: Mapping[str, Any]) -> BusinessReference:
    kind = BusinessTransactionType.parse(str(entry.get("type", "")))
    uri = str(entry.get("bizTransaction", ""))
    if uri.startswith("urn:epcglobal:cbv:bt:"):
        gln, _, number = uri.removeprefix("urn:epcglobal:cbv:bt:").partition(":")
        return BusinessReference(type=kind, id=urllib.parse.unquote(number), issuer_gln=gln)
    prefix = f"urn:medinv:bt:{kind.value}:"
    if not uri.startswith(prefix):
        msg = f"business transaction {uri!r} is neither a CBV nor a medinv reference"
        raise ValueError(msg)
    return BusinessReference(type=kind, id=urllib.parse.unquote(uri.removeprefix(prefix)))


class _Reader:
    def __init__(self, event: Mapping[str, Any], index: int, prefix: str) -> None:
        self.event, self.index, self.prefix = event, index, prefix

    def fail(self, field: str, reason: str) -> EpcisEventError:
        return EpcisEventError(self.index, field, reason)

    def ext(self, name: str) -> str | None:
        value = self.event.get(f"{self.prefix}:{name}")
        if value is not None and not isinstance(value, str):
            raise self.fail(f"{self.prefix}:{name}", f"expected text, not {value!r:.60}")
        return value

    def side(self, which: str) -> tuple[Location | None, StockStatus | None]:
        path, status = self.ext(f"{which}Location"), self.ext(f"{which}Status")
        if path is None and status is None:
            return None, None
        try:
            return Location.parse(path or ""), StockStatus(status)
        except ValueError as error:
            raise self.fail(f"{self.prefix}:{which}Location", str(error)) from error

    def movement(self, movement_id: str, actor: str) -> Movement:
        event = self.event
        kind_text = self.ext("kind")
        if kind_text is None:
            field = f"{self.prefix}:kind"
            raise self.fail(field, "no medinv movement data: only medinv's own exports import")
        try:
            kind = MovementKind(kind_text)
        except ValueError:
            raise self.fail(f"{self.prefix}:kind", f"unknown movement kind {kind_text!r}") from None
        lot = self.ext("lot")
        quantity: Any
        try:
            if event.get("epcList"):
                item, quantity = item_of(event["epcList"][0], instance=True, lot=lot), 1
            else:
                element = (event.get("quantityList") or [{}])[0]
                item = item_of(str(element.get("epcClass")), instance=False)
                quantity = element.get("quantity")
        except ValueError as error:
            raise self.fail("epcList/quantityList", str(error)) from error
        if isinstance(quantity, float) and quantity.is_integer():
            quantity = int(quantity)
        from_location, from_status = self.side("from")
        to_location, to_status = self.side("to")
        try:
            references = [_business_reference(e) for e in event.get("bizTransactionList") or ()]
        except ValueError as error:
            raise self.fail("bizTransactionList", str(error)) from error
        counterparty = self.ext("counterparty")
        reference = None
        if kind is MovementKind.CONSUMPTION and not references and counterparty is None:
            reference = str(event.get("eventID"))
        try:
            return Movement(
                id=movement_id,
                kind=kind,
                item=item,
                quantity=quantity,
                occurred_at=str(event.get("eventTime")),
                actor=actor,
                from_location=from_location,
                from_status=from_status,
                to_location=to_location,
                to_status=to_status,
                reason=self.ext("reason"),
                reference=reference,
                expiry=self.ext("expiry"),
                counterparty=None if counterparty is None else PartyRef.parse(counterparty),
                business_references=references,
            )
        except (InvalidValueError, ValueError) as error:
            raise self.fail("event", str(error)) from error


def movements_from_document(document: Mapping[str, Any], *, actor: str) -> list[Movement]:
    """The movements a medinv EPCIS document describes, in document order.

    Each event is checked (medinv's checks, and its ``eventID`` against its content);
    its movement id is ``epcis:<event hash>`` (``:reversal`` for an error declaration),
    so the same event always makes the same movement. ``actor`` is who imports.

    Raises:
        EpcisEventError: an event medinv cannot read, naming the event and field.
    """
    namespaces = _namespaces(document)
    prefixes = [p for p, ns in namespaces.items() if ns == MEDINV_NAMESPACE]
    prefix = prefixes[0] if prefixes else "medinv"
    out: list[Movement] = []
    originals: dict[str, Movement] = {}
    for index, event in enumerate(document["epcisBody"]["eventList"]):
        if not isinstance(event, Mapping):
            raise EpcisEventError(index, "event", "an event is a JSON object")
        check_event(event, index)
        expected = event_hash_id(event, namespaces)
        given = event.get("eventID")
        if given is not None and given != expected:
            raise EpcisEventError(index, "eventID", f"{given} is not the hash of the event")
        reader = _Reader(event, index, prefix)
        original = reader.movement(_movement_id(expected, reversal=False), actor)
        declaration = event.get("errorDeclaration")
        if not isinstance(declaration, Mapping):
            originals[original.id] = original
            out.append(original)
            continue
        try:
            out.append(
                Movement.reversal(
                    _movement_id(expected, reversal=True),
                    of=originals.get(original.id, original),
                    occurred_at=str(declaration.get("declarationTime")),
                    actor=actor,
                )
            )
        except (InvalidValueError, ValueError) as error:
            raise EpcisEventError(index, "errorDeclaration", str(error)) from error
    return out


def import_document(ledger: Ledger, document: Mapping[str, Any], *, actor: str) -> ImportResult:
    """Post the movements of a medinv EPCIS document: all of them, or none.

    Idempotent by eventID: events whose movement is already in the ledger are
    skipped, so importing a document twice posts nothing the second time.

    Raises:
        EpcisEventError: an event medinv cannot read.
        StockError: the ledger refuses the movements (nothing is posted).
    """
    movements = movements_from_document(document, actor=actor)
    stored = ledger.store.movements_by_id([m.id for m in movements])
    fresh = [m for m in movements if m.id not in stored]
    if fresh:
        ledger.post(fresh)
    return ImportResult(
        posted=tuple(m.id for m in fresh),
        skipped=tuple(m.id for m in movements if m.id in stored),
    )
