"""What the inbox records: outcomes, conflicts, resolutions, gaps, cursors, and the audit.

Every record is an immutable value with a JSON form (``to_json`` / ``from_json``)
that the SQL stores keep; the in-memory store keeps the values themselves.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Self

import attrs
import pendulum

from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.sync._events import DeviceEvent, event_from_json, event_to_json

__all__ = [
    "AuditReport",
    "Conflict",
    "ConflictKind",
    "DeviceAudit",
    "DeviceCursor",
    "EventRecord",
    "Gap",
    "Outcome",
    "Resolution",
    "ResolutionAction",
    "ShortStock",
    "SyncPolicy",
]


class Outcome(enum.Enum):
    """What became of one delivery of an event: exactly one of these."""

    APPLIED = "applied"
    """Its movement is in the ledger (a count that matched books none)."""
    DUPLICATE = "duplicate"
    """The event was delivered before; this delivery added nothing."""
    HELD = "held"
    """Waiting behind a gap in the device's sequence."""
    CONFLICT = "conflict"
    """Stopped (or cut short) by a conflict on record; see its resolution."""
    REJECTED = "rejected"
    """Refused: not a valid movement, or its event id is taken by other content."""


class ConflictKind(enum.Enum):
    """Why an event could not be applied as captured."""

    INSUFFICIENT_STOCK = "insufficient_stock"
    """Less stock than the event takes (the policy applies what is there, or nothing)."""
    SERIAL_ELSEWHERE = "serial_elsewhere"
    """The serial is elsewhere, already consumed, or already in stock."""
    STATUS_BLOCKED = "status_blocked"
    """The lot or serial went on hold, to quarantine or was recalled after the device's position."""
    EXPIRED_AT_USE = "expired_at_use"
    """The stock had expired on the day the device captured its use, or may not be issued."""
    LOT_MASTER_MISMATCH = "lot_master_mismatch"
    """A receipt states an expiry other than the one on record for the lot."""
    SEQUENCE_REUSE = "sequence_reuse"
    """The device reused a sequence number for another event (a reset)."""
    CLOCK_SKEW = "clock_skew"
    """The device's clock is off by more than the bound: applied, and flagged."""
    COUNT_STALE = "count_stale"
    """A count line of stock that moved after the device's known position."""


class ShortStock(enum.Enum):
    """What to do when an event takes more than the stock there."""

    PARTIAL = "partial"
    """Apply what is there (if any), record the conflict with the shortfall."""
    REJECT = "reject"
    """Apply nothing, record the conflict."""


class ResolutionAction(enum.Enum):
    """How a person resolved a conflict."""

    ACCEPT = "accept"
    """The outcome stands (nothing more is booked)."""
    FORCE = "force"
    """Book the event as captured after all (through the ledger's rules); needs a second person."""


def _duration(value: object) -> dt.timedelta | None:
    if value is None or isinstance(value, dt.timedelta):
        return value
    msg = f"expected a datetime.timedelta or None, not {value!r:.40}"
    raise InvalidValueError(msg)


def _non_negative(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and value < dt.timedelta(0):  # type: ignore[operator]
        msg = f"{attribute.name} must not be negative, not {value}"
        raise InvalidValueError(msg)


@attrs.frozen(kw_only=True)
class SyncPolicy:
    """How the inbox decides: short stock, how long to hold behind a gap, the clock bound.

    Raises:
        InvalidValueError: a duration is negative or not a ``timedelta``.
    """

    short_stock: ShortStock = attrs.field(
        default=ShortStock.REJECT, validator=attrs.validators.instance_of(ShortStock)
    )
    """Insufficient stock: apply what is there, or nothing."""
    hold_max: dt.timedelta | None = attrs.field(
        default=dt.timedelta(days=5), converter=_duration, validator=_non_negative
    )
    """How long events wait behind a gap before they are released with the gap
    recorded (``None``: until the gap fills or someone releases it)."""
    max_skew: dt.timedelta = attrs.field(
        default=dt.timedelta(hours=1), converter=_duration, validator=_non_negative
    )
    """How far ahead of the inbox's clock a capture time may be before it is flagged."""


def _moment(value: pendulum.DateTime) -> str:
    return value.isoformat()


class _Json:
    """``to_json`` / ``from_json`` for a flat record: enums by value, instants in ISO 8601."""

    __slots__ = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the record."""
        fields = attrs.fields(type(self))  # type: ignore[arg-type]
        return {f.name: _encoded(getattr(self, f.name)) for f in fields}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """The record of a JSON object written by ``to_json``."""
        enums = _ENUM_FIELDS
        return cls(**{k: enums[k](v) if k in enums else v for k, v in data.items()})


def _encoded(value: object) -> object:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, pendulum.DateTime):
        return value.isoformat()
    return value


@attrs.frozen(kw_only=True)
class EventRecord:
    """An event as the inbox keeps it, with where it stands."""

    event: DeviceEvent
    """The event as first delivered."""
    outcome: Outcome
    """Where it stands: applied, held, conflict or rejected (never duplicate)."""
    received_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When it was first delivered (the inbox's clock)."""
    decided_at: pendulum.DateTime | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_datetime)
    )
    """When it left HELD (``None`` while held)."""
    movement_id: str | None = None
    """The ledger movement it booked, if any."""
    applied_quantity: int = 0
    """Units booked (an adjustment's change for a count)."""
    detail: str = ""
    """Why it was rejected, or what the conflict was."""
    late: bool = False
    """It arrived after the gap it belonged to had been released."""

    @property
    def device_id(self) -> str:
        """The device."""
        return self.event.device_id

    @property
    def event_id(self) -> str:
        """The event id."""
        return self.event.event_id

    @property
    def seq(self) -> int:
        """The device's sequence number."""
        return self.event.seq

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the record."""
        return {
            "event": event_to_json(self.event),
            "outcome": self.outcome.value,
            "received_at": _moment(self.received_at),
            "decided_at": None if self.decided_at is None else _moment(self.decided_at),
            "movement_id": self.movement_id,
            "applied_quantity": self.applied_quantity,
            "detail": self.detail,
            "late": self.late,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EventRecord:
        """The record of a JSON object written by ``to_json``."""
        return cls(
            event=event_from_json(data["event"]),
            outcome=Outcome(data["outcome"]),
            received_at=data["received_at"],
            decided_at=data["decided_at"],
            movement_id=data["movement_id"],
            applied_quantity=int(data["applied_quantity"]),
            detail=str(data["detail"]),
            late=bool(data["late"]),
        )


@attrs.frozen(kw_only=True)
class Conflict(_Json):
    """A conflict on record: never edited; resolutions are appended beside it."""

    id: str
    """``<event id>#<kind>``: one conflict of a kind per event."""
    kind: ConflictKind
    """What went wrong."""
    device_id: str
    """The device."""
    event_id: str
    """The event."""
    seq: int
    """The device's sequence number of the event."""
    detail: str
    """What the ledger or the inbox found, in words."""
    requested: int
    """Units the event asked for."""
    applied: int
    """Units booked anyway (partial apply, or a flag such as clock skew: all of them)."""
    recorded_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When the inbox recorded it."""

    @property
    def blocking(self) -> bool:
        """Whether it stopped the event (a clock-skew flag did not)."""
        return self.kind is not ConflictKind.CLOCK_SKEW


@attrs.frozen(kw_only=True)
class Resolution(_Json):
    """A person's decision on a conflict, appended (the conflict itself is never edited)."""

    conflict_id: str
    """The conflict resolved."""
    action: ResolutionAction
    """Accept the outcome, or force the event through."""
    by: str
    """Who decided."""
    approved_by: str | None
    """The second person (required to force)."""
    note: str
    """Why."""
    at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When."""
    movement_id: str | None = None
    """The movement a forced resolution booked."""


@attrs.frozen(kw_only=True)
class Gap(_Json):
    """Sequence numbers of a device released over without their events (they may come later)."""

    device_id: str
    """The device."""
    first_seq: int
    """The first missing sequence number."""
    last_seq: int
    """The last missing sequence number."""
    released_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When the held events were released past it."""
    reason: str
    """Why: the hold time passed, or someone released it."""


@attrs.frozen(kw_only=True)
class DeviceCursor:
    """Where a device's sequence stands: the next number the inbox expects."""

    device_id: str
    """The device."""
    next_seq: int
    """Every sequence number below it was decided (or released over as a gap)."""


@attrs.frozen(kw_only=True)
class DeviceAudit:
    """One device's deliveries, counted by outcome, and what does not add up."""

    device_id: str
    received: int
    """Deliveries received (every one, duplicates included)."""
    applied: int
    duplicate: int
    held: int
    conflict: int
    rejected: int
    problems: tuple[str, ...] = ()
    """Each thing found wrong (empty when the device's books balance)."""

    @property
    def balanced(self) -> bool:
        """``received == applied + duplicate + held + conflict + rejected`` and no problem."""
        total = self.applied + self.duplicate + self.held + self.conflict + self.rejected
        return self.received == total and not self.problems


@attrs.frozen(kw_only=True)
class AuditReport:
    """The inbox's books, device by device."""

    devices: tuple[DeviceAudit, ...]
    """One entry per device, by device id."""

    @property
    def ok(self) -> bool:
        """Every device balances and nothing is wrong."""
        return all(device.balanced for device in self.devices)


_ENUM_FIELDS: dict[str, Any] = {"kind": ConflictKind, "action": ResolutionAction}
"""The enum-valued fields of the flat records, by name (each name means one enum)."""
