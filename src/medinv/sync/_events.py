"""Device events: what a scanner captured offline, as values, and their JSON-lines form.

A device numbers its events 1, 2, 3 ... (``seq``, per device) and gives each a
globally unique ``event_id``; it also says which ledger position it last knew
(``known_position``), so that the inbox can tell what changed behind its back.
The ledger movement an event books has an id derived from the event id
([`movement_id_of`][medinv.sync.movement_id_of]), so the ledger's own idempotency
stands behind the inbox's.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs
import pendulum

from medinv._text import text_validator
from medinv.actors import actor_validator
from medinv.barcodes import parse_scan
from medinv.dates import to_date, to_datetime
from medinv.errors import InvalidValueError, MedinvError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus

__all__ = [
    "MOVEMENT_ID_PREFIX",
    "DeviceEvent",
    "EventKind",
    "SyncEventError",
    "event_from_json",
    "event_to_json",
    "movement_id_of",
    "parse_event_lines",
]

MOVEMENT_ID_PREFIX: Final = "sync:"
"""The prefix of every movement id the inbox books (reserved: post nothing else under it)."""
_MAX_EVENT_ID: Final = 190  # the movement id adds the prefix and stays within 200
_MAX_DEVICE_ID: Final = 100


class SyncEventError(InvalidValueError):
    """A device event, or a line of a JSON-lines file of them, is malformed.

    Attributes name where: ``line`` (1-based, ``None`` outside a file) and ``field``.
    """

    def __init__(self, reason: str, *, field: str | None = None, line: int | None = None) -> None:
        self.line = line
        """The line of the file (1-based), or ``None``."""
        self.field = field
        """The field that is wrong, or ``None`` when the line as a whole is."""
        self.reason = reason
        """What is wrong."""
        where = [] if line is None else [f"line {line}"]
        if field is not None:
            where.append(f"field {field!r}")
        prefix = f"device event ({', '.join(where)})" if where else "device event"
        super().__init__(f"{prefix}: {reason}")


class EventKind(enum.Enum):
    """What a device event does to stock."""

    RECEIPT = "receipt"
    """Stock received (typically from a scan): into ``location`` in ``status``."""
    ISSUE = "issue"
    """AVAILABLE stock leaves ``location`` for outside the ledger."""
    CONSUMPTION = "consumption"
    """AVAILABLE stock used on a patient or in a procedure at ``location``."""
    TRANSFER = "transfer"
    """Stock moves from ``location`` to ``to_location``."""
    COUNT = "count"
    """A count line: ``quantity`` units counted at ``location`` (0 allowed)."""
    STATUS_CHANGE = "status_change"
    """Stock at ``location`` changes from ``status`` to ``to_status``."""


def _whole(name: str, low: int) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value:
            raise SyncEventError(
                f"expected a whole number of at least {low}, not {value!r:.40}", field=name
            )

    return check


def _check_event_id(_instance: object, _attribute: object, value: Any) -> None:
    text_validator("event id", limit=_MAX_EVENT_ID)(None, None, value)
    assert isinstance(value, str)  # noqa: S101  (checked just above)
    if value != value.strip():
        raise SyncEventError("must not start or end with white space", field="event_id")


def _check_quantity(instance: DeviceEvent, _attribute: object, value: Any) -> None:
    low = 0 if instance.kind is EventKind.COUNT else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_QUANTITY:
        raise SyncEventError(
            f"expected a whole number from {low} to 2**63 - 1, not {value!r:.40}", field="quantity"
        )


def _optional(kind: type) -> Any:
    return attrs.validators.optional(attrs.validators.instance_of(kind))


@attrs.frozen(kw_only=True)
class DeviceEvent:
    """One event a device captured, as it sent it.

    Raises:
        SyncEventError: a field is missing, malformed or does not fit the kind.
        InvalidValueError: an identifier (item, location, actor) is malformed.
    """

    device_id: str = attrs.field(validator=text_validator("device id", limit=_MAX_DEVICE_ID))
    """The device (scanner, tablet) that captured the event."""
    seq: int = attrs.field(validator=_whole("seq", 1))
    """The device's sequence number: 1, 2, 3 ... with no gap when nothing is lost."""
    event_id: str = attrs.field(validator=_check_event_id)
    """Globally unique id of the event (a UUID, say); the idempotency key."""
    captured_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When the device captured it (the device's clock, aware)."""
    known_position: int = attrs.field(validator=_whole("known_position", 0))
    """The ledger position the device last synchronised to (0: it never did)."""
    kind: EventKind = attrs.field(validator=attrs.validators.instance_of(EventKind))
    """What it does."""
    item: ItemKey = attrs.field(validator=attrs.validators.instance_of(ItemKey))
    """The stock item."""
    quantity: int = attrs.field(validator=_check_quantity)
    """Units of the item moved, or counted (a count may be 0)."""
    location: Location = attrs.field(validator=attrs.validators.instance_of(Location))
    """Where: the receiving location of a receipt, the source of anything else."""
    actor: str = attrs.field(
        validator=[text_validator("actor", limit=200), actor_validator("actor")]
    )
    """Who used the device."""
    to_location: Location | None = attrs.field(default=None, validator=_optional(Location))
    """The destination of a transfer."""
    status: StockStatus | None = attrs.field(default=None, validator=_optional(StockStatus))
    """A receipt's status (default AVAILABLE); the status a status change starts from."""
    to_status: StockStatus | None = attrs.field(default=None, validator=_optional(StockStatus))
    """The status a status change goes to."""
    expiry: pendulum.Date | None = attrs.field(
        default=None, converter=attrs.converters.optional(to_date)
    )
    """The expiry the device read (a receipt's label, or the scan)."""
    reference: str | None = attrs.field(
        default=None, validator=text_validator("reference", optional=True, blank=True)
    )
    """Business reference (procedure, patient reference, delivery note)."""
    counterparty: str | None = attrs.field(
        default=None, validator=text_validator("counterparty", optional=True)
    )
    """The party, as ``KIND:id`` text (a patient only by a pseudonymous reference)."""
    reason: str | None = attrs.field(
        default=None, validator=text_validator("reason", optional=True, blank=True)
    )
    """Reason code or free text."""

    def __attrs_post_init__(self) -> None:
        kind = self.kind
        if (kind is EventKind.TRANSFER) != (self.to_location is not None):
            why = (
                "is required for a transfer"
                if kind is EventKind.TRANSFER
                else "is for transfers only"
            )
            raise SyncEventError(why, field="to_location")
        if (kind is EventKind.STATUS_CHANGE) != (self.to_status is not None):
            why = (
                "is required for a status change"
                if kind is EventKind.STATUS_CHANGE
                else "is for status changes only"
            )
            raise SyncEventError(why, field="to_status")
        if self.status is not None and kind not in {EventKind.RECEIPT, EventKind.STATUS_CHANGE}:
            raise SyncEventError("is for receipts and status changes only", field="status")

    @property
    def movement_id(self) -> str:
        """The id of the ledger movement this event books."""
        return movement_id_of(self.event_id)


def movement_id_of(event_id: str) -> str:
    """The ledger movement id of the event ``event_id``: ``"sync:" + event_id``.

    ```pycon
    >>> movement_id_of("7f3c")
    'sync:7f3c'

    ```
    """
    return MOVEMENT_ID_PREFIX + event_id


def to_movement(event: DeviceEvent, quantity: int | None = None) -> Movement:
    """The movement ``event`` books (``quantity`` overrides the event's: a partial apply).

    A count books nothing by itself (see the inbox); asking for one is an error.
    """
    mid = event.movement_id
    qty = event.quantity if quantity is None else quantity
    common: dict[str, Any] = {
        "item": event.item,
        "quantity": qty,
        "occurred_at": event.captured_at,
        "actor": event.actor,
        "reference": event.reference,
        "reason": event.reason,
        "counterparty": event.counterparty,
    }
    kind = event.kind
    if kind is EventKind.RECEIPT:
        status = event.status or StockStatus.AVAILABLE
        return Movement.receipt(
            mid, to=event.location, status=status, expiry=event.expiry, **common
        )
    if kind is EventKind.ISSUE:
        return Movement.issue(mid, source=event.location, **common)
    if kind is EventKind.CONSUMPTION:
        return Movement.consumption(mid, source=event.location, **common)
    if kind is EventKind.TRANSFER:
        assert event.to_location is not None  # noqa: S101  (checked by the event)
        return Movement.transfer(mid, source=event.location, to=event.to_location, **common)
    if kind is EventKind.STATUS_CHANGE:
        assert event.to_status is not None  # noqa: S101
        return Movement.status_change(
            mid,
            at=event.location,
            from_status=event.status or StockStatus.AVAILABLE,
            to_status=event.to_status,
            **common,
        )
    msg = f"a count books an adjustment computed at ingestion, not a movement of its own ({mid!r})"
    raise InvalidValueError(msg)


# --------------------------------------------------------------------------- JSON

_REQUIRED: Final = (
    "device_id",
    "seq",
    "event_id",
    "captured_at",
    "known_position",
    "kind",
    "quantity",
    "location",
    "actor",
)
_OPTIONAL_TEXT: Final = ("reference", "counterparty", "reason")
_KNOWN: Final = frozenset(
    (
        *_REQUIRED,
        *_OPTIONAL_TEXT,
        "scan",
        "di",
        "lot",
        "serial",
        "to_location",
        "status",
        "to_status",
        "expiry",
    )
)


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name not in data or data[name] is None:
        raise SyncEventError("is required", field=name)
    return data[name]


def _enum(kind: type[enum.Enum], name: str, value: object) -> Any:
    text = value.upper() if isinstance(value, str) and kind is StockStatus else value
    try:
        return kind(text)
    except ValueError:
        names = ", ".join(str(member.value) for member in kind)
        raise SyncEventError(
            f"unknown value {value!r:.40}; expected one of {names}", field=name
        ) from None


def _location(name: str, value: object) -> Location:
    if not isinstance(value, str):
        raise SyncEventError(
            f"expected a location path such as 'site/store/bin', not {value!r:.40}", field=name
        )
    try:
        return Location.parse(value)
    except InvalidValueError as e:
        raise SyncEventError(str(e), field=name) from None


def _item(data: Mapping[str, Any]) -> tuple[ItemKey, Any]:
    """The item and the expiry a scan carries (``None`` without a scan)."""
    if data.get("scan") is not None:
        if data.get("di") is not None:
            raise SyncEventError("give either 'scan' or 'di', not both", field="di")
        scan_text = data["scan"]
        if not isinstance(scan_text, str):
            raise SyncEventError(f"expected the scanned text, not {scan_text!r:.40}", field="scan")
        try:
            scan = parse_scan(scan_text, as_of=None)
            return scan.item_key(), scan.expiry
        except InvalidValueError as e:
            raise SyncEventError(str(e), field="scan") from None
    if data.get("di") is None:
        raise SyncEventError("is required (or 'scan')", field="di")
    try:
        return ItemKey(data["di"], lot=data.get("lot"), serial=data.get("serial")), None
    except InvalidValueError as e:
        raise SyncEventError(str(e), field="di") from None


def event_from_json(data: object) -> DeviceEvent:  # noqa: C901  (one check per field, in order)
    """A device event from its JSON object (a decoded one: a ``dict``).

    Fields: ``device_id``, ``seq``, ``event_id``, ``captured_at`` (ISO 8601 with
    offset), ``known_position``, ``kind`` (``receipt``, ``issue``, ``consumption``,
    ``transfer``, ``count``, ``status_change``), the item as ``scan`` (the scanned
    text) or ``di`` with ``lot`` and ``serial``, ``quantity``, ``location``,
    ``actor``; optional ``to_location``, ``status``, ``to_status``, ``expiry``
    (``YYYY-MM-DD``; a scan's own expiry otherwise), ``reference``,
    ``counterparty``, ``reason``.

    Raises:
        SyncEventError: naming the field that is missing, unknown or malformed.
    """
    if not isinstance(data, Mapping):
        raise SyncEventError(f"expected a JSON object, not {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _KNOWN)
    if unknown:
        raise SyncEventError("unknown field", field=unknown[0])
    item, scanned_expiry = _item(data)
    values: dict[str, Any] = {name: _field(data, name) for name in _REQUIRED}
    values["item"] = item
    values["kind"] = _enum(EventKind, "kind", values["kind"])
    values["location"] = _location("location", values["location"])
    if data.get("to_location") is not None:
        values["to_location"] = _location("to_location", data["to_location"])
    for name in ("status", "to_status"):
        if data.get(name) is not None:
            values[name] = _enum(StockStatus, name, data[name])
    expiry = data.get("expiry", None)
    values["expiry"] = scanned_expiry if expiry is None else expiry
    for name in _OPTIONAL_TEXT:
        values[name] = data.get(name)
    for name in ("captured_at", "expiry"):
        try:
            values[name] = (
                to_datetime if name == "captured_at" else attrs.converters.optional(to_date)
            )(values[name])
        except InvalidValueError as e:
            raise SyncEventError(str(e), field=name) from None
    try:
        return DeviceEvent(**values)
    except SyncEventError:
        raise
    except MedinvError as e:
        raise SyncEventError(str(e), field=_blamed(e)) from None


def _blamed(error: MedinvError) -> str | None:
    text = str(error)
    for name, words in (
        ("actor", "actor"),
        ("device_id", "device id"),
        ("event_id", "event id"),
        ("reference", "reference"),
        ("counterparty", "counterparty"),
        ("reason", "reason"),
    ):
        if words in text:
            return name
    return None


def event_to_json(event: DeviceEvent) -> dict[str, Any]:
    """The JSON object of ``event``: what [`event_from_json`][medinv.sync.event_from_json] reads."""
    item = event.item
    data: dict[str, Any] = {
        "device_id": event.device_id,
        "seq": event.seq,
        "event_id": event.event_id,
        "captured_at": event.captured_at.isoformat(),
        "known_position": event.known_position,
        "kind": event.kind.value,
        "di": item.device_text,
        "lot": None if item.lot is None else item.lot.value,
        "serial": None if item.serial is None else item.serial.value,
        "quantity": event.quantity,
        "location": str(event.location),
        "actor": event.actor,
        "to_location": None if event.to_location is None else str(event.to_location),
        "status": None if event.status is None else event.status.value,
        "to_status": None if event.to_status is None else event.to_status.value,
        "expiry": None if event.expiry is None else event.expiry.isoformat(),
        "reference": event.reference,
        "counterparty": event.counterparty,
        "reason": event.reason,
    }
    return {k: v for k, v in data.items() if v is not None}


def parse_event_lines(lines: Iterable[str]) -> Iterator[DeviceEvent]:
    """The device events of a JSON-lines text (one JSON object a line; blank lines skipped).

    Raises:
        SyncEventError: the first line that is not a valid event, by line number and field.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as e:
            raise SyncEventError(f"not valid JSON: {e}", line=number) from None
        try:
            yield event_from_json(data)
        except SyncEventError as e:
            raise SyncEventError(e.reason, field=e.field, line=number) from None
