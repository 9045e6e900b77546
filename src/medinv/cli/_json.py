"""JSON-ready values for the commands' ``--json`` output."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs

from medinv.identifiers import ItemKey
from medinv.journal import RecordedMovement
from medinv.locations import Location

__all__ = ["item_fields", "json_value", "movement_fields"]


def json_value(value: object) -> Any:  # noqa: PLR0911  (one return per kind of value)
    """``value`` as JSON data: text, numbers, ISO dates, lists and objects."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Location):
        return str(value)
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple, frozenset, set)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if attrs.has(type(value)):
        fields = attrs.fields(type(value))  # type: ignore[arg-type]
        if len(fields) == 1 and fields[0].name == "value":  # Gtin, Lot, Serial ...
            return json_value(getattr(value, "value"))  # noqa: B009
        return {f.name.lstrip("_"): json_value(getattr(value, f.name)) for f in fields}
    return str(value)


def item_fields(item: ItemKey) -> dict[str, Any]:
    """``gtin``, ``lot`` and ``serial`` of an item (``None`` when absent)."""
    return {
        "gtin": item.device_text,
        "lot": None if item.lot is None else item.lot.value,
        "serial": None if item.serial is None else item.serial.value,
    }


def movement_fields(recorded: RecordedMovement) -> dict[str, Any]:
    """A stored movement as one flat JSON object (see the "Command line" reference)."""
    m = recorded.movement
    return {
        "position": recorded.position,
        "id": m.id,
        "kind": m.kind.value,
        **item_fields(m.item),
        "quantity": m.quantity,
        "from_location": json_value(m.from_location),
        "from_status": json_value(m.from_status),
        "to_location": json_value(m.to_location),
        "to_status": json_value(m.to_status),
        "occurred_at": m.occurred_at.isoformat(),
        "recorded_at": recorded.recorded_at.isoformat(),
        "actor": m.actor,
        "reason": m.reason,
        "reference": m.reference,
        "expiry": json_value(m.expiry),
        "reverses": m.reverses,
        "hash": recorded.hash,
        "prev_hash": recorded.prev_hash,
        "counterparty": None if m.counterparty is None else str(m.counterparty),
        "business_references": [
            {"type": r.type.value, "id": r.id, "issuer_gln": r.issuer_gln}
            for r in m.business_references
        ],
    }
