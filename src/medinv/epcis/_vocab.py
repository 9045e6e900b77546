"""The one table from a movement to its EPCIS business step, disposition and action.

Every exported event takes its CBV 2.0 business step, disposition and action from
[`MAPPING`][medinv.epcis.MAPPING], keyed by the movement's kind and the status the
stock is in after it (before it, for stock that leaves). The explanation page renders
this table; a test keeps the two equal.
"""

from __future__ import annotations

from typing import Final

import attrs

from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

__all__ = ["MAPPING", "EventMapping", "mapping_for"]


@attrs.frozen
class EventMapping:
    """What an exported event says a movement did (CBV 2.0 bare terms)."""

    biz_step: str
    """The business step (``receiving``, ``shipping`` ...)."""
    disposition: str
    """The disposition of the stock after the event (``available``, ``in_transit`` ...)."""
    action: str
    """The EPCIS action: ``OBSERVE``, or ``DELETE`` for stock that ceases to exist."""


_A, _Q, _H, _R, _D = (
    StockStatus.AVAILABLE,
    StockStatus.QUARANTINE,
    StockStatus.HOLD,
    StockStatus.RECALLED,
    StockStatus.DAMAGED,
)
_STATUS_DISPOSITION: Final = {
    _A: "available",
    _Q: "unavailable",
    _H: "unavailable",
    _R: "recalled",
    _D: "damaged",
}


def _per_status(biz_step: str, action: str = "OBSERVE") -> dict[StockStatus, EventMapping]:
    return {s: EventMapping(biz_step, d, action) for s, d in _STATUS_DISPOSITION.items()}


def _status_change() -> dict[StockStatus, EventMapping]:
    return {
        _A: EventMapping("inspecting", "available", "OBSERVE"),
        _Q: EventMapping("holding", "unavailable", "OBSERVE"),
        _H: EventMapping("holding", "unavailable", "OBSERVE"),
        _R: EventMapping("holding", "recalled", "OBSERVE"),
        _D: EventMapping("inspecting", "damaged", "OBSERVE"),
    }


MAPPING: Final[dict[MovementKind, dict[StockStatus, EventMapping]]] = {
    MovementKind.RECEIPT: _per_status("receiving"),
    MovementKind.TRANSFER: _per_status("storing"),
    MovementKind.STATUS_CHANGE: _status_change(),
    MovementKind.ADJUSTMENT: _per_status("stock_taking"),
    MovementKind.RETURN: {s: EventMapping("receiving", "returned", "OBSERVE") for s in StockStatus},
    MovementKind.ISSUE: {s: EventMapping("shipping", "in_transit", "OBSERVE") for s in StockStatus},
    MovementKind.CONSUMPTION: {
        s: EventMapping("dispensing", "dispensed", "OBSERVE") for s in StockStatus
    },
    MovementKind.SCRAP: {s: EventMapping("destroying", "destroyed", "DELETE") for s in StockStatus},
}
"""Movement kind -> status -> (business step, disposition, action).

The status is the one the stock is in after the movement (its ``to_status``), or the
one it left when it leaves the ledger (``from_status``). A REVERSAL has no row: it is
exported as an error declaration of the event it undoes.
"""


def mapping_for(movement: Movement) -> EventMapping:
    """The business step, disposition and action of a (non-reversal) movement."""
    status = movement.to_status if movement.to_status is not None else movement.from_status
    assert status is not None  # noqa: S101  (every movement has a side)
    return MAPPING[movement.kind][status]
