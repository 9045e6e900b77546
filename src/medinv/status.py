"""Stock status (see [the rules](../explanation/rules.md#identifiers)).

Status is orthogonal to location. Only ``AVAILABLE`` stock can be allocated,
issued or consumed. Expired is derived from the date, never stored.

```pycon
>>> from medinv.status import StockStatus
>>> StockStatus.AVAILABLE.is_issuable, StockStatus.QUARANTINE.is_issuable
(True, False)
>>> StockStatus.parse("recalled")
<StockStatus.RECALLED: 'RECALLED'>

```
"""

from __future__ import annotations

import enum

from medinv.errors import InvalidValueError

__all__ = ["StockStatus"]


class StockStatus(enum.Enum):
    """Where stock stands with quality and safety, independent of where it is."""

    AVAILABLE = "AVAILABLE"
    """Released; may be allocated, issued and consumed."""
    QUARANTINE = "QUARANTINE"
    """Received but not yet released by quality."""
    HOLD = "HOLD"
    """Blocked, e.g. during an investigation."""
    RECALLED = "RECALLED"
    """Subject to a recall; awaiting return or destruction."""
    DAMAGED = "DAMAGED"
    """Physically damaged; awaiting return or scrap."""

    # Members are singletons compared by identity (Enum's __eq__): the identity hash
    # agrees with it and runs in C, where Enum's default hashes the name in Python.
    # Statuses key every balance, so this is on the ledger's hot path.
    __hash__ = object.__hash__

    @property
    def is_issuable(self) -> bool:
        """Whether stock in this status may be allocated, issued or consumed."""
        return self is StockStatus.AVAILABLE

    @classmethod
    def parse(cls, text: str) -> StockStatus:
        """Look a status up by name, case-insensitively.

        Raises:
            InvalidValueError: not one of the five statuses.
        """
        try:
            return cls[text.strip().upper()]
        except (KeyError, AttributeError):
            names = ", ".join(member.value for member in cls)
            msg = f"unknown stock status {text!r}: expected one of {names}"
            raise InvalidValueError(msg) from None
