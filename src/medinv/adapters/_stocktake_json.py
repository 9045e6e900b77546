"""JSON encoding of stocktakes and count lines, shared by the SQL stocktake stores."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from medinv.dates import to_date, to_datetime
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    CountSource,
    PlannedAdjustment,
    Stocktake,
    StocktakeScope,
    StocktakeState,
    Tolerance,
    TolerancePolicy,
)
from medinv.stocktake._model import product_text

__all__ = ["line_from_json", "line_to_json", "stocktake_from_json", "stocktake_to_json"]


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def _item_to_json(item: ItemKey) -> dict[str, Any]:
    return {"gtin": item.device_text, "lot": _opt(item.lot), "serial": _opt(item.serial)}


def _item_from_json(data: Mapping[str, Any]) -> ItemKey:
    return ItemKey(data["gtin"], lot=data["lot"], serial=data["serial"])


def _instant(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def _tolerance_to_json(tolerance: Tolerance) -> dict[str, Any]:
    return {"absolute": tolerance.absolute, "percent": str(tolerance.percent)}


def _tolerance_from_json(data: Mapping[str, Any]) -> Tolerance:
    return Tolerance(absolute=data["absolute"], percent=Decimal(data["percent"]))


def stocktake_to_json(stocktake: Stocktake) -> str:
    """Encode a stocktake as JSON text (every field, lossless)."""
    adjustments = [
        {
            "item": _item_to_json(a.item),
            "location": str(a.location),
            "status": a.status.value,
            "change": a.change,
            "reason": a.reason,
            "counted_at": _instant(a.counted_at),
            "expiry": _opt(a.expiry),
        }
        for a in stocktake.adjustments
    ]
    data = {
        "id": stocktake.id,
        "scope": {
            "locations": [str(loc) for loc in stocktake.scope.locations],
            "products": [product_text(p) for p in stocktake.scope.products],
        },
        "created_by": stocktake.created_by,
        "created_at": _instant(stocktake.created_at),
        "blind": stocktake.blind,
        "tolerances": {
            "default": _tolerance_to_json(stocktake.tolerances.default),
            "per_product": {
                gtin: _tolerance_to_json(t) for gtin, t in stocktake.tolerances.per_product.items()
            },
        },
        "state": stocktake.state.value,
        "version": stocktake.version,
        "start_position": stocktake.start_position,
        "started_at": _instant(stocktake.started_at),
        "closed_at": _instant(stocktake.closed_at),
        "approved_by": stocktake.approved_by,
        "approved_at": _instant(stocktake.approved_at),
        "adjustments": adjustments,
        "posted_at": _instant(stocktake.posted_at),
        "cancelled_by": stocktake.cancelled_by,
        "cancel_reason": stocktake.cancel_reason,
    }
    return json.dumps(data, sort_keys=True)


def stocktake_from_json(text: str) -> Stocktake:
    """Decode ``stocktake_to_json``'s text."""
    data = json.loads(text)
    tolerances = data["tolerances"]
    return Stocktake(
        id=data["id"],
        scope=StocktakeScope(
            [Location.parse(p) for p in data["scope"]["locations"]],
            products=data["scope"]["products"],
        ),
        created_by=data["created_by"],
        created_at=data["created_at"],
        blind=data["blind"],
        tolerances=TolerancePolicy(
            _tolerance_from_json(tolerances["default"]),
            {g: _tolerance_from_json(t) for g, t in tolerances["per_product"].items()},
        ),
        state=StocktakeState(data["state"]),
        version=data["version"],
        start_position=data["start_position"],
        started_at=data["started_at"],
        closed_at=data["closed_at"],
        approved_by=data["approved_by"],
        approved_at=data["approved_at"],
        adjustments=tuple(
            PlannedAdjustment(
                item=_item_from_json(a["item"]),
                location=Location.parse(a["location"]),
                status=StockStatus(a["status"]),
                change=a["change"],
                reason=a["reason"],
                counted_at=to_datetime(a["counted_at"]),
                expiry=a["expiry"],
            )
            for a in data["adjustments"]
        ),
        posted_at=data["posted_at"],
        cancelled_by=data["cancelled_by"],
        cancel_reason=data["cancel_reason"],
    )


def line_to_json(line: CountLine) -> str:
    """Encode a count line as JSON text (every field, lossless)."""
    return json.dumps(
        {
            "id": line.id,
            "counter": line.counter,
            "device": line.device,
            "counted_at": _instant(line.counted_at),
            "location": str(line.location),
            "item": _item_to_json(line.item),
            "quantity": line.quantity,
            "status": line.status.value,
            "expiry": _opt(line.expiry),
            "source": line.source.value,
            "recount_of": line.recount_of,
            "raw": line.raw,
        },
        sort_keys=True,
    )


def line_from_json(text: str) -> CountLine:
    """Decode ``line_to_json``'s text."""
    data = json.loads(text)
    return CountLine(
        id=data["id"],
        counter=data["counter"],
        device=data["device"],
        counted_at=data["counted_at"],
        location=Location.parse(data["location"]),
        item=_item_from_json(data["item"]),
        quantity=data["quantity"],
        status=StockStatus(data["status"]),
        expiry=None if data["expiry"] is None else to_date(data["expiry"]),
        source=CountSource(data["source"]),
        recount_of=data["recount_of"],
        raw=data["raw"],
    )
