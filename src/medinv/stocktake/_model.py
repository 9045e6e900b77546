"""The stocktake entity, its scope, its count lines, tolerances and lifecycle."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs
import pendulum

from medinv._text import text_validator
from medinv.actors import actor_key, actor_validator
from medinv.dates import to_date, to_datetime
from medinv.devices import DeviceIdentifier, IssuingAgency
from medinv.errors import (
    ApprovalRefusedError,
    CountLineError,
    FourEyesError,
    InvalidQuantityError,
    InvalidValueError,
    StocktakeStateError,
)
from medinv.identifiers import Gtin, ItemKey, device_of, device_text
from medinv.journal import BalanceKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.stocktake._report import VarianceReport

__all__ = [
    "CountLine",
    "CountSource",
    "PlannedAdjustment",
    "StockKey",
    "Stocktake",
    "StocktakeScope",
    "StocktakeState",
    "Tolerance",
    "TolerancePolicy",
    "effective_lines",
    "line_rounds",
]

_MAX_STOCKTAKE_ID: Final = 100
_MAX_TEXT: Final = 200

StockKey = BalanceKey
"""What a stocktake counts and compares: one item at one (location, status).

The ledger's own balance key ([`BalanceKey`][medinv.journal.BalanceKey]) under the
name stocktakes use for it.
"""


def _text(kind: str, limit: int = _MAX_TEXT) -> Callable[[Any, Any, Any], None]:
    return text_validator(kind, limit=limit)


def _optional_text(kind: str) -> Callable[[Any, Any, Any], None]:
    return text_validator(kind, optional=True, limit=_MAX_TEXT)


def _optional_actor(kind: str) -> Callable[[Any, Any, Any], None]:
    check = _text(kind)
    actor = actor_validator(kind)

    def optional(instance: object, attribute: object, value: Any) -> None:
        if value is not None:
            check(instance, attribute, value)
            actor(instance, attribute, value)

    return optional


def _optional_datetime(value: object) -> pendulum.DateTime | None:
    return None if value is None else to_datetime(value)


def _optional_date(value: object) -> pendulum.Date | None:
    return None if value is None else to_date(value)


def _non_negative_int(kind: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: object, _attribute: object, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidQuantityError(
                f"invalid {kind} {value!r}: expected a whole number, got {type(value).__name__}"
            )
        if value < 0:
            raise InvalidQuantityError(f"invalid {kind} {value}: must not be negative")

    return check


def _optional_position(_instance: object, _attribute: object, value: Any) -> None:
    if value is not None:
        _non_negative_int("ledger position")(_instance, _attribute, value)


# --------------------------------------------------------------------------- scope


def _locations(value: object) -> tuple[Location, ...]:
    if isinstance(value, (Location, str)):
        value = (value,)
    if not isinstance(value, Iterable):
        raise InvalidValueError(f"a stocktake scope needs locations, not {value!r}")
    locations = tuple(Location.parse(v) if isinstance(v, str) else v for v in value)
    for location in locations:
        if not isinstance(location, Location):
            raise InvalidValueError(
                f"a stocktake scope location must be a Location, not {location!r}"
            )
    if not locations:
        raise InvalidValueError("a stocktake scope needs at least one location")
    return tuple(sorted(set(locations), key=lambda loc: loc.path))


def _product(value: object) -> Gtin | DeviceIdentifier:
    """A GS1 product as its `Gtin` (as before device identities); HIBC and MA as their DI."""
    if isinstance(value, Gtin):
        return value
    device = device_of(value)
    return Gtin(device.value) if device.agency is IssuingAgency.GS1 else device


def product_text(product: Gtin | DeviceIdentifier) -> str:
    """A scope product's stored text: the ``device_text`` of the items it covers."""
    return product.value if isinstance(product, Gtin) else device_text(product)


def _products(value: object) -> tuple[Gtin | DeviceIdentifier, ...]:
    if value is None:
        return ()
    if isinstance(value, (Gtin, DeviceIdentifier, str)):
        value = (value,)
    if not isinstance(value, Iterable):
        msg = f"a stocktake scope's products must be GTINs or device identifiers, not {value!r}"
        raise InvalidValueError(msg)
    products = {_product(v) for v in value}
    return tuple(sorted(products, key=product_text))


@attrs.frozen
class StocktakeScope:
    """What a stocktake covers: one or more location subtrees, optionally some products only.

    ```pycon
    >>> from medinv.identifiers import ItemKey
    >>> from medinv.locations import Location
    >>> scope = StocktakeScope(["Main/Store"], products=["04006381333931"])
    >>> scope.covers(ItemKey("04006381333931"), Location.parse("Main/Store/A1"))
    True
    >>> scope.covers(ItemKey("04006381333931"), Location.parse("Main/Ward"))
    False

    ```
    """

    locations: tuple[Location, ...] = attrs.field(converter=_locations)
    """The location subtrees counted (each location and everything below it)."""
    products: tuple[Gtin | DeviceIdentifier, ...] = attrs.field(
        default=(), converter=_products, kw_only=True
    )
    """The products counted; empty means every product found in the locations.

    Given as GTINs, device identifiers of any agency or their text
    (``"04006381333931"``, ``"HIBCC:A123PROD1"``); a GS1 product is kept as its
    [`Gtin`][medinv.identifiers.Gtin], an HIBC or MA one as its
    [`DeviceIdentifier`][medinv.devices.DeviceIdentifier]."""

    def covers_location(self, location: Location) -> bool:
        """Whether ``location`` lies in one of the scope's subtrees."""
        return any(location.is_within(root) for root in self.locations)

    def covers(self, item: ItemKey, location: Location) -> bool:
        """Whether the stocktake counts ``item`` at ``location``."""
        if self.products and item.device_text not in map(product_text, self.products):
            return False
        return self.covers_location(location)


# --------------------------------------------------------------------------- tolerances


def _percent(value: object) -> Decimal:
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise InvalidValueError(f"invalid tolerance percent {value!r}: expected a number") from None
    if isinstance(value, bool) or not result.is_finite() or result < 0:
        raise InvalidValueError(f"invalid tolerance percent {value!r}: expected a number >= 0")
    return result


@attrs.frozen
class Tolerance:
    """How far a count may differ from the book before a recount is required.

    A difference is within tolerance when it is at most ``absolute`` units **or** at
    most ``percent`` % of the expected quantity. The default (0, 0) requires a
    recount for every difference.

    ```pycon
    >>> Tolerance(absolute=2).allows(difference=-2, expected=100)
    True
    >>> Tolerance(percent=5).allows(difference=6, expected=100)
    False

    ```
    """

    absolute: int = attrs.field(default=0, validator=_non_negative_int("tolerance"), kw_only=True)
    """Units of difference accepted whatever the expected quantity."""
    percent: Decimal = attrs.field(default=Decimal(0), converter=_percent, kw_only=True)
    """Difference accepted, in percent of the expected quantity."""

    def allows(self, *, difference: int, expected: int) -> bool:
        """Whether a difference of ``difference`` against ``expected`` needs no recount."""
        size = abs(difference)
        return size <= self.absolute or size * 100 <= self.percent * expected


def _per_product(value: Mapping[Gtin | str, object]) -> Mapping[str, Tolerance]:
    result: dict[str, Tolerance] = {}
    for gtin, tolerance in value.items():
        if not isinstance(tolerance, Tolerance):
            msg = f"the tolerance for {gtin} must be a Tolerance, not {tolerance!r}"
            raise InvalidValueError(msg)
        result[device_text(device_of(gtin))] = tolerance
    return MappingProxyType(result)


@attrs.frozen
class TolerancePolicy:
    """A default tolerance and per-product overrides (keyed by GTIN)."""

    default: Tolerance = attrs.field(factory=Tolerance)
    """The tolerance for products without their own."""
    per_product: Mapping[str, Tolerance] = attrs.field(
        factory=dict, converter=_per_product, hash=False
    )
    """Device → tolerance for that product, keyed by the device's stored text (the GTIN-14,
    or ``AGENCY:DI`` for HIBC and MA devices; given as GTINs, DIs or either text)."""

    def for_item(self, item: ItemKey) -> Tolerance:
        """The tolerance that applies to ``item``'s product."""
        return self.per_product.get(item.device_text, self.default)


# --------------------------------------------------------------------------- count lines


class CountSource(enum.Enum):
    """How a count line was captured."""

    SCAN = "SCAN"
    """A barcode read on a scanner."""
    MANUAL = "MANUAL"
    """Typed in by the counter."""
    CSV = "CSV"
    """Imported from a count file."""


def _line_quantity(instance: CountLine, _attribute: object, value: Any) -> None:
    _non_negative_int("counted quantity")(instance, _attribute, value)
    if instance.item.is_serialised and value > 1:
        raise InvalidQuantityError(
            f"invalid counted quantity {value} for serialised {instance.item}: a serial is 0 or 1"
        )


@attrs.frozen(kw_only=True)
class CountLine:
    """One counted quantity: what a counter saw of one item at one place and time.

    Lines are never edited: a correction is a recount line (``recount_of``), which
    supersedes the earlier lines for its key.

    ```pycon
    >>> line = CountLine(
    ...     id="c1", counter="ana", device="scanner-7", counted_at="2026-11-23T10:05:00+01:00",
    ...     location=Location.parse("Main/Store/A1"), item=ItemKey("04006381333931", lot="L1"),
    ...     quantity=12,
    ... )
    >>> str(line.key[1]), line.source.value
    ('Main/Store/A1', 'MANUAL')

    ```
    """

    id: str = attrs.field(validator=_text("count line id"))
    """Unique within the stocktake; a device re-sending a line sends the same id."""
    counter: str = attrs.field(validator=[_text("counter"), actor_validator("counter")])
    """Who counted (user id), stored as given; compared as a person (see `medinv.actors`)."""
    device: str = attrs.field(validator=_text("device"))
    """Which device captured the line (scanner id, ``"csv"``, ``"web"`` ...)."""
    counted_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When the counter counted (aware date-time); decides the expected quantity."""
    location: Location = attrs.field(validator=attrs.validators.instance_of(Location))
    """Where the stock was counted."""
    item: ItemKey = attrs.field(validator=attrs.validators.instance_of(ItemKey))
    """What was counted."""
    quantity: int = attrs.field(validator=_line_quantity)
    """How many units were found (0 is a valid count: the place is empty)."""
    status: StockStatus = attrs.field(
        default=StockStatus.AVAILABLE, validator=attrs.validators.instance_of(StockStatus)
    )
    """The stock status counted (quarantine shelves are counted as QUARANTINE)."""
    expiry: pendulum.Date | None = attrs.field(default=None, converter=_optional_date)
    """The expiry date read on the label, if any (checked against lot master data)."""
    source: CountSource = attrs.field(
        default=CountSource.MANUAL, validator=attrs.validators.instance_of(CountSource)
    )
    """How the line was captured."""
    recount_of: str | None = attrs.field(default=None, validator=_optional_text("count line id"))
    """The id of the line this line recounts; the recount supersedes it and its peers.

    To recount a key nobody counted in a bin that was counted (reported as a
    shortage at the bin's count time), name any first-count line of that bin: its
    counters count as having counted the key 0.
    """
    raw: str | None = attrs.field(default=None, eq=True)
    """The scanner input or CSV row the line came from, kept for audit."""

    @property
    def key(self) -> StockKey:
        """``(item, location, status)``: what the line is compared on."""
        return (self.item, self.location, self.status)


# --------------------------------------------------------------------------- stocktake


class StocktakeState(enum.Enum):
    """The lifecycle: PLANNED → COUNTING → REVIEW → APPROVED → POSTING → POSTED, or CANCELLED.

    Cancelling is possible up to APPROVED; from POSTING on, the stocktake can only
    be completed.
    """

    PLANNED = "PLANNED"
    """Created; counting has not started."""
    COUNTING = "COUNTING"
    """Counters are counting; the start point is fixed."""
    REVIEW = "REVIEW"
    """Counting closed; variances are reviewed, recounts may still be added."""
    APPROVED = "APPROVED"
    """A second person approved the adjustments, each with a reason code."""
    POSTING = "POSTING"
    """Posting has begun: the adjustments are being (or may have been) written to the ledger.

    Reached before the ledger write and stored, so a cancellation is refused from
    here on; a post interrupted in this state is completed by posting again
    ([`StocktakeService.post`][medinv.services.StocktakeService.post] or
    [`StocktakeService.resume_post`][medinv.services.StocktakeService.resume_post]).
    """
    POSTED = "POSTED"
    """The adjustments are in the ledger."""
    CANCELLED = "CANCELLED"
    """Abandoned; nothing is posted."""


_TRANSITIONS: Final[Mapping[StocktakeState, frozenset[StocktakeState]]] = {
    StocktakeState.PLANNED: frozenset({StocktakeState.COUNTING, StocktakeState.CANCELLED}),
    StocktakeState.COUNTING: frozenset({StocktakeState.REVIEW, StocktakeState.CANCELLED}),
    StocktakeState.REVIEW: frozenset(
        {StocktakeState.COUNTING, StocktakeState.APPROVED, StocktakeState.CANCELLED}
    ),
    StocktakeState.APPROVED: frozenset(
        {StocktakeState.POSTING, StocktakeState.POSTED, StocktakeState.CANCELLED}
    ),
    StocktakeState.POSTING: frozenset({StocktakeState.POSTED, StocktakeState.APPROVED}),
    StocktakeState.POSTED: frozenset(),
    StocktakeState.CANCELLED: frozenset(),
}

_ACCEPTS_LINES: Final = frozenset({StocktakeState.COUNTING, StocktakeState.REVIEW})
_HAS_ADJUSTMENTS: Final = frozenset(
    {StocktakeState.APPROVED, StocktakeState.POSTING, StocktakeState.POSTED}
)


@attrs.frozen(kw_only=True)
class PlannedAdjustment:
    """One approved variance, as the ADJUSTMENT movement it becomes when posted."""

    item: ItemKey
    """The stock item."""
    location: Location
    """Where the balance is corrected."""
    status: StockStatus
    """In which status."""
    change: int
    """Counted minus expected at the count time (positive: found, negative: missing)."""
    reason: str = attrs.field(validator=_text("reason code"))
    """The approver's reason code for this variance."""
    counted_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """The count time of the key; the adjustment's ``occurred_at``."""
    expiry: pendulum.Date | None = attrs.field(default=None, converter=_optional_date)
    """The counted expiry, stated on a found lot that has no master data yet."""

    @property
    def key(self) -> StockKey:
        """``(item, location, status)``."""
        return (self.item, self.location, self.status)

    def movement_id(self, stocktake_id: str) -> str:
        """The deterministic movement id: posting twice is a no-op in the ledger."""
        text = f"{self.item}|{self.location}|{self.status.value}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:20]
        return f"{stocktake_id}/adj/{digest}"

    def to_movement(self, stocktake_id: str, *, actor: str) -> Movement:
        """The ADJUSTMENT movement, referencing the stocktake."""
        return Movement.adjustment(
            self.movement_id(stocktake_id),
            item=self.item,
            change=self.change,
            at=self.location,
            status=self.status,
            occurred_at=self.counted_at,
            actor=actor,
            reason=self.reason,
            reference=stocktake_id,
            expiry=self.expiry,
        )


@attrs.frozen(kw_only=True)
class Stocktake:
    """A physical inventory: scope, start point, lifecycle and, once approved, its adjustments.

    Every transition returns a new value with ``version`` incremented (stores use it
    for optimistic concurrency). Transitions not allowed from the current state raise
    [`StocktakeStateError`][medinv.errors.StocktakeStateError].

    ```pycon
    >>> import pendulum
    >>> at = pendulum.datetime(2026, 11, 23, 8, tz="Europe/Paris")
    >>> st = Stocktake.plan("ST-1", scope=StocktakeScope(["Main/Store"]), created_by="lea",
    ...                     created_at=at)
    >>> st = st.begin(start_position=42, at=at)
    >>> st.state.value, st.start_position, st.version
    ('COUNTING', 42, 2)
    >>> st.begin(start_position=43, at=at)
    Traceback (most recent call last):
    ...
    medinv.errors.StocktakeStateError: stocktake 'ST-1' is COUNTING: cannot begin counting

    ```
    """

    id: str = attrs.field(validator=_text("stocktake id", _MAX_STOCKTAKE_ID))
    """Unique id; the ``reference`` of every adjustment posted."""
    scope: StocktakeScope = attrs.field(validator=attrs.validators.instance_of(StocktakeScope))
    """What is counted."""
    created_by: str = attrs.field(validator=[_text("creator"), actor_validator("creator")])
    """Who planned it (may not approve it); compared as a person (see `medinv.actors`)."""
    created_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When it was planned."""
    blind: bool = True
    """Blind counting: counters see no book quantity before counting closes."""
    tolerances: TolerancePolicy = attrs.field(factory=TolerancePolicy)
    """Which differences need a recount by a different counter."""
    state: StocktakeState = StocktakeState.PLANNED
    """Where it stands in its lifecycle."""
    version: int = 1
    """Incremented by every transition (optimistic concurrency in stores)."""
    start_position: int | None = attrs.field(default=None, validator=_optional_position)
    """The ledger position the count starts from (its book); set when counting begins."""
    started_at: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_datetime)
    """When counting began."""
    closed_at: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_datetime)
    """When counting closed; book positions nobody counted are expected as of this time."""
    approved_by: str | None = attrs.field(default=None, validator=_optional_actor("approver"))
    """Who approved."""
    approved_at: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_datetime)
    """When it was approved."""
    adjustments: tuple[PlannedAdjustment, ...] = ()
    """The approved adjustments, in key order (empty until approved)."""
    posted_at: pendulum.DateTime | None = attrs.field(default=None, converter=_optional_datetime)
    """When the adjustments were posted."""
    cancelled_by: str | None = attrs.field(default=None, validator=_optional_actor("canceller"))
    """Who cancelled it, if cancelled."""
    cancel_reason: str | None = attrs.field(
        default=None, validator=_optional_text("cancellation reason")
    )
    """Why it was cancelled."""

    @classmethod
    def plan(
        cls,
        id: str,  # noqa: A002  (the domain's name for it)
        *,
        scope: StocktakeScope,
        created_by: str,
        created_at: dt.datetime | str,
        blind: bool = True,
        tolerances: TolerancePolicy | None = None,
    ) -> Stocktake:
        """A new stocktake in state PLANNED."""
        return cls(
            id=id,
            scope=scope,
            created_by=created_by,
            created_at=created_at,
            blind=blind,
            tolerances=tolerances if tolerances is not None else TolerancePolicy(),
        )

    # ------------------------------------------------------------------ transitions

    def _to(self, state: StocktakeState, action: str, **changes: Any) -> Stocktake:
        if state not in _TRANSITIONS[self.state]:
            raise StocktakeStateError(self.id, self.state.value, action)
        return attrs.evolve(self, state=state, version=self.version + 1, **changes)

    def begin(self, *, start_position: int, at: dt.datetime | str) -> Stocktake:
        """PLANNED → COUNTING, fixing the start point (the ledger head when counting starts)."""
        if self.state is not StocktakeState.PLANNED:
            raise StocktakeStateError(self.id, self.state.value, "begin counting")
        return self._to(
            StocktakeState.COUNTING, "begin counting", start_position=start_position, started_at=at
        )

    def close_counting(self, *, at: dt.datetime | str) -> Stocktake:
        """COUNTING → REVIEW: counters are done; variances can be reviewed."""
        if self.state is not StocktakeState.COUNTING:
            raise StocktakeStateError(self.id, self.state.value, "close counting")
        return self._to(StocktakeState.REVIEW, "close counting", closed_at=at)

    def reopen(self) -> Stocktake:
        """REVIEW → COUNTING (e.g. a whole zone must be counted again)."""
        if self.state is not StocktakeState.REVIEW:
            raise StocktakeStateError(self.id, self.state.value, "reopen counting")
        return self._to(StocktakeState.COUNTING, "reopen counting", closed_at=None)

    def cancel(self, *, by: str, reason: str) -> Stocktake:
        """Any state before POSTING → CANCELLED.

        Raises:
            StocktakeStateError: posting has begun (POSTING), or it is POSTED or CANCELLED.
            InvalidValueError: ``by`` is not a valid actor name or ``reason`` is blank.
        """
        if StocktakeState.CANCELLED not in _TRANSITIONS[self.state]:
            raise StocktakeStateError(self.id, self.state.value, "cancel")
        _text("canceller")(self, None, by)
        actor_validator("canceller")(self, None, by)
        _text("cancellation reason")(self, None, reason)
        return self._to(StocktakeState.CANCELLED, "cancel", cancelled_by=by, cancel_reason=reason)

    def approve(
        self,
        report: VarianceReport,
        *,
        approver: str,
        at: dt.datetime | str,
        reasons: Mapping[StockKey, str] | None = None,
        default_reason: str | None = None,
    ) -> Stocktake:
        """REVIEW → APPROVED, under four eyes.

        Args:
            report: the variance report of this stocktake, built from its current lines.
            approver: who approves; neither the creator nor a counter of a line approved.
            at: when.
            reasons: a reason code per stock key with a difference to post.
            default_reason: the reason code for differences not in ``reasons``.

        Raises:
            StocktakeStateError: not in REVIEW.
            FourEyesError: the approver created the stocktake or counted an approved line.
            ApprovalRefusedError: recounts are pending, the report belongs to another
                stocktake, or a difference has no reason code.
        """
        if self.state is not StocktakeState.REVIEW:
            raise StocktakeStateError(self.id, self.state.value, "approve")
        if report.stocktake_id != self.id:
            raise ApprovalRefusedError(
                self.id, f"the report is for stocktake {report.stocktake_id!r}"
            )
        _text("approver")(self, None, approver)
        person = actor_key(approver, field="approver")
        if person == actor_key(self.created_by, field="creator"):
            raise FourEyesError(self.id, approver, "they created the stocktake")
        if person in {actor_key(c, field="counter") for c in report.counters}:
            raise FourEyesError(self.id, approver, "they counted lines being approved")
        pending = report.pending_recounts
        if pending:
            raise ApprovalRefusedError(
                self.id,
                f"{len(pending)} variance(s) need a recount by a different counter",
                tuple(v.key for v in pending),
            )
        reasons = reasons or {}
        adjustments: list[PlannedAdjustment] = []
        missing: list[StockKey] = []
        for variance in report.adjustable:
            reason = reasons.get(variance.key, default_reason)
            if reason is None:
                missing.append(variance.key)
                continue
            adjustments.append(
                PlannedAdjustment(
                    item=variance.item,
                    location=variance.location,
                    status=variance.status,
                    change=variance.difference,
                    reason=reason,
                    counted_at=variance.counted_at,
                    expiry=variance.found_expiry,
                )
            )
        if missing:
            raise ApprovalRefusedError(
                self.id, "every posted variance needs a reason code", tuple(missing)
            )
        return self._to(
            StocktakeState.APPROVED,
            "approve",
            approved_by=approver,
            approved_at=at,
            adjustments=tuple(adjustments),
        )

    def movements(self) -> tuple[Movement, ...]:
        """The ADJUSTMENT movements to post (deterministic ids; the approver is the actor).

        Decreases come before increases, so that a serial found in another place than
        booked is taken out of the first before it is put into the second.

        Raises:
            StocktakeStateError: not APPROVED, POSTING or POSTED.
        """
        if self.state not in _HAS_ADJUSTMENTS:
            raise StocktakeStateError(self.id, self.state.value, "build its adjustments")
        actor = self.approved_by or self.created_by
        ordered = sorted(self.adjustments, key=lambda a: a.change > 0)
        return tuple(a.to_movement(self.id, actor=actor) for a in ordered)

    def begin_posting(self) -> Stocktake:
        """APPROVED → POSTING: the decision to post, stored before the ledger is written.

        From here on [`cancel`][medinv.stocktake.Stocktake.cancel] is refused.
        """
        if self.state is not StocktakeState.APPROVED:
            raise StocktakeStateError(self.id, self.state.value, "begin posting")
        return self._to(StocktakeState.POSTING, "begin posting")

    def posting_refused(self) -> Stocktake:
        """POSTING → APPROVED: the ledger refused the whole batch, so nothing was posted."""
        if self.state is not StocktakeState.POSTING:
            raise StocktakeStateError(self.id, self.state.value, "undo posting")
        return self._to(StocktakeState.APPROVED, "undo posting")

    def mark_posted(self, *, at: dt.datetime | str) -> Stocktake:
        """POSTING (or APPROVED) → POSTED, once the ledger has the adjustments."""
        if self.state not in {StocktakeState.APPROVED, StocktakeState.POSTING}:
            raise StocktakeStateError(self.id, self.state.value, "mark posted")
        return self._to(StocktakeState.POSTED, "mark posted", posted_at=at)

    # ------------------------------------------------------------------ lines

    @property
    def accepts_lines(self) -> bool:
        """Whether count lines may be added (COUNTING; recount lines in REVIEW as well)."""
        return self.state in _ACCEPTS_LINES

    def check_lines(
        self, existing: Iterable[CountLine], new: Iterable[CountLine]
    ) -> list[CountLine]:
        """Validate ``new`` lines against the stocktake and the lines it already has.

        Returns the lines to store: new ones, without exact re-sends of stored lines
        (a device sending a line twice is a no-op).

        Raises:
            StocktakeStateError: the stocktake does not accept lines now.
            CountLineError: a line is outside the scope, reuses an id with other content,
                recounts a line that does not exist or has another key, is a recount by a
                counter of a line it supersedes, or is not a recount while in REVIEW.
        """
        new = list(new)
        if not self.accepts_lines:
            raise StocktakeStateError(self.id, self.state.value, "add count lines")
        by_id: dict[str, CountLine] = {line.id: line for line in existing}
        accepted: list[CountLine] = []
        for line in new:
            known = by_id.get(line.id)
            if known is not None:
                if known != line:
                    raise CountLineError(line.id, "the id was already used for another count")
                continue
            if not self.scope.covers(line.item, line.location):
                raise CountLineError(
                    line.id, f"{line.item} at {line.location} is outside the stocktake's scope"
                )
            if self.state is StocktakeState.REVIEW and line.recount_of is None:
                raise CountLineError(line.id, "counting is closed: only recount lines are accepted")
            if line.recount_of is not None:
                self._check_recount(line, by_id)
            by_id[line.id] = line
            accepted.append(line)
        return accepted

    @staticmethod
    def _check_recount(line: CountLine, by_id: Mapping[str, CountLine]) -> None:
        target = by_id.get(line.recount_of or "")
        if target is None:
            raise CountLineError(
                line.id, f"it recounts line {line.recount_of!r}, which does not exist"
            )
        rounds = line_rounds(by_id.values())
        previous = rounds[target.id]
        if target.key == line.key:
            peers = [o for o in by_id.values() if o.key == line.key and rounds[o.id] == previous]
        elif target.location == line.location and not any(
            o.key == line.key for o in by_id.values()
        ):
            # A key nobody counted in a counted bin: the bin's counters counted it 0.
            peers = [
                o
                for o in by_id.values()
                if o.location == line.location and rounds[o.id] == previous
            ]
        else:
            raise CountLineError(
                line.id,
                f"it recounts line {target.id!r}, which counted {target.item} at "
                f"{target.location} [{target.status.value}], not the same stock",
            )
        person = actor_key(line.counter, field="counter")
        if any(actor_key(o.counter, field="counter") == person for o in peers):
            counters = sorted({o.counter for o in peers})
            raise CountLineError(
                line.id,
                f"a recount must be made by a different counter than {', '.join(counters)}",
            )


def line_rounds(lines: Iterable[CountLine]) -> dict[str, int]:
    """Line id → recount round: 0 for a first count, one more than the line it recounts.

    A recount of a line that is not among ``lines`` counts as round 1.
    """
    by_id = {line.id: line for line in lines}
    rounds: dict[str, int] = {}
    for line in by_id.values():
        chain: list[str] = []
        current: CountLine | None = line
        while current is not None and current.id not in rounds and current.id not in chain:
            chain.append(current.id)
            current = by_id.get(current.recount_of) if current.recount_of is not None else None
        if current is not None and current.id in rounds:
            base = rounds[current.id]
        elif current is None and by_id[chain[-1]].recount_of is not None:
            base = 0  # recounts a line not given: one round above the unknown original
        else:
            base = -1
        for offset, line_id in enumerate(reversed(chain)):
            rounds[line_id] = base + 1 + offset
    return rounds


def effective_lines(lines: Iterable[CountLine]) -> dict[StockKey, tuple[int, list[CountLine]]]:
    """Key → (round, lines): the lines of the latest recount round supersede the earlier ones."""
    lines = list(lines)
    rounds = line_rounds(lines)
    result: dict[StockKey, tuple[int, list[CountLine]]] = {}
    for line in lines:
        round_ = rounds[line.id]
        held = result.get(line.key)
        if held is None or round_ > held[0]:
            result[line.key] = (round_, [line])
        elif round_ == held[0]:
            held[1].append(line)
    return result
