"""Storage compatibility and the putaway check: does a product fit a location's conditions?

A location **fits** a product when the location's temperature range lies inside
the product's: a 2-8 °C product fits a 3-7 °C room (every temperature the room
keeps is one the product tolerates), not a 15-25 °C room. When either side says
nothing:

- the product has no temperature range: it fits anywhere (nothing to protect);
- the product has a range but the location has none (or no profile at all): the
  location is **unknown** and the putaway is refused like a misfit, since nothing
  shows the room keeps the product's range.

A refused putaway goes through only with a [`StorageOverride`][medinv.coldchain.StorageOverride]:
a reason and a second person who approves it (not the movement's actor). The
override is written on the movement's ``reason`` so the ledger keeps it
([`override_of`][medinv.coldchain.override_of] reads it back).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Final

import attrs

from medinv._text import text_validator
from medinv.actors import actor_validator, same_actor
from medinv.catalogue import StorageCondition, TemperatureRange
from medinv.errors import InvalidValueError, StockError
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import CatalogueStore

if TYPE_CHECKING:
    from medinv.ledger import Ledger, PostResult

__all__ = [
    "Fit",
    "PutawayCheck",
    "StorageConditionError",
    "StorageOverride",
    "check_putaway",
    "fit",
    "override_of",
    "putaway",
]

_PUTAWAY_KINDS: Final = frozenset(
    {MovementKind.RECEIPT, MovementKind.RETURN, MovementKind.TRANSFER}
)
_OVERRIDE_PREFIX: Final = "storage override approved by "
_OVERRIDE_RE: Final = re.compile(
    r"storage override approved by (?P<who>[^:]+): (?P<why>.*)\Z", re.DOTALL
)


class Fit(enum.Enum):
    """Whether a location's conditions fit a product's."""

    FITS = "FITS"
    """The location's range lies inside the product's."""
    NO_REQUIREMENT = "NO_REQUIREMENT"
    """The product has no temperature range: any location fits."""
    DOES_NOT_FIT = "DOES_NOT_FIT"
    """The location may be warmer or colder than the product tolerates."""
    LOCATION_UNKNOWN = "LOCATION_UNKNOWN"
    """The product has a range, the location states none."""

    __hash__ = object.__hash__

    @property
    def allowed(self) -> bool:
        """Whether a putaway with this fit goes through without an override."""
        return self in (Fit.FITS, Fit.NO_REQUIREMENT)


def _range(condition: StorageCondition | TemperatureRange | None) -> TemperatureRange | None:
    given: object = condition  # checked at run time, whatever the annotations say
    if given is None or isinstance(given, TemperatureRange):
        return given
    if isinstance(given, StorageCondition):
        return given.temperature
    msg = f"expected a StorageCondition or a TemperatureRange, not {type(given).__name__}"
    raise InvalidValueError(msg)


def fit(
    product: StorageCondition | TemperatureRange | None,
    location: StorageCondition | TemperatureRange | None,
) -> Fit:
    """How a location's conditions fit a product's (each a condition, a range or ``None``).

    ```pycon
    >>> from medinv.catalogue import TemperatureRange as T
    >>> fit(T(low=2, high=8), T(low=3, high=7)).name, fit(T(low=2, high=8), T(low=15, high=25)).name
    ('FITS', 'DOES_NOT_FIT')
    >>> fit(T(low=2, high=8), None).name, fit(None, T(low=15, high=25)).name
    ('LOCATION_UNKNOWN', 'NO_REQUIREMENT')

    ```
    """
    needed, kept = _range(product), _range(location)
    if needed is None:
        return Fit.NO_REQUIREMENT
    if kept is None:
        return Fit.LOCATION_UNKNOWN
    return Fit.FITS if kept.is_within(needed) else Fit.DOES_NOT_FIT


def _describe(rng: TemperatureRange | None) -> str:
    if rng is None:
        return "no stated range"
    low = "-inf" if rng.low is None else f"{rng.low}"
    high = "+inf" if rng.high is None else f"{rng.high}"
    return f"{low} to {high} °C"


@attrs.frozen(kw_only=True)
class PutawayCheck:
    """The storage check of one movement that puts stock into a location."""

    movement_id: str
    location: Location
    """Where the stock goes."""
    product_range: TemperatureRange | None
    location_range: TemperatureRange | None
    fit: Fit

    @property
    def allowed(self) -> bool:
        """Whether the putaway goes through without an override."""
        return self.fit.allowed

    def describe(self) -> str:
        """One line saying what was checked and how it came out."""
        return (
            f"movement {self.movement_id!r} puts a product kept at "
            f"{_describe(self.product_range)} into {self.location} "
            f"({_describe(self.location_range)}): {self.fit.value}"
        )


class StorageConditionError(StockError):
    """A putaway into a location whose conditions do not fit the product, without override."""

    def __init__(self, checks: Sequence[PutawayCheck]) -> None:
        self.checks = tuple(checks)
        lines = "; ".join(c.describe() for c in self.checks)
        super().__init__(
            f"refused putaway into incompatible storage: {lines} "
            "(a second person may override it with a reason)"
        )


@attrs.frozen(kw_only=True)
class StorageOverride:
    """A second person's approval to put stock where its conditions do not fit.

    Raises:
        InvalidValueError: a blank reason or a malformed approver name.
    """

    reason: str = attrs.field(validator=text_validator("override reason", limit=400))
    """Why the misfit is accepted (not blank)."""
    approved_by: str = attrs.field(validator=actor_validator("approver"))
    """Who approves it: never the movement's actor."""

    def __attrs_post_init__(self) -> None:
        if ":" in self.approved_by:
            raise InvalidValueError(f"an approver name holds no ':', not {self.approved_by!r}")

    def note(self, reason: str | None) -> str:
        """The movement reason recording this override (after the movement's own reason)."""
        mine = f"{_OVERRIDE_PREFIX}{self.approved_by}: {self.reason}"
        return mine if not reason else f"{reason}; {mine}"


def override_of(movement: Movement) -> StorageOverride | None:
    """The storage override recorded on a movement's reason, if any."""
    reason = movement.reason or ""
    at = reason.find(_OVERRIDE_PREFIX)
    if at < 0:
        return None
    match = _OVERRIDE_RE.match(reason, at)
    if match is None:  # pragma: no cover  (written by StorageOverride.note only)
        return None
    return StorageOverride(reason=match["why"], approved_by=match["who"])


def check_putaway(
    catalogue: CatalogueStore, movement: Movement, *, as_of: object = None
) -> PutawayCheck | None:
    """The storage check of ``movement``, or ``None`` when it puts nothing away.

    Receipts, returns and transfers put stock into their destination; the product
    comes from the catalogue by the item's device identifier (an unknown product
    has no requirement) and the location's conditions from its profile or its
    nearest ancestor's. ``as_of`` (default: the movement's time) picks the master
    data version.
    """
    if movement.kind not in _PUTAWAY_KINDS or movement.to_location is None:
        return None
    moment = movement.occurred_at if as_of is None else as_of
    match = catalogue.product(movement.item.device, as_of=moment)
    storage = None if match is None else match.product.storage
    profile = catalogue.profile_for(movement.to_location, as_of=moment)
    product_range = _range(storage)
    location_range = None if profile is None else _range(profile.storage)
    return PutawayCheck(
        movement_id=movement.id,
        location=movement.to_location,
        product_range=product_range,
        location_range=location_range,
        fit=fit(product_range, location_range),
    )


def putaway(
    ledger: Ledger,
    catalogue: CatalogueStore,
    movements: Iterable[Movement],
    *,
    override: StorageOverride | None = None,
    expected_position: int | None = None,
) -> PostResult:
    """Post ``movements`` after checking every putaway among them against the catalogue.

    An ERP routes its receipts and transfers through this instead of
    [`Ledger.post`][medinv.ledger.Ledger.post]: a batch with a putaway that does not
    fit is refused whole, unless ``override`` names a second person; then every
    misfit movement carries the override in its ``reason`` and the batch is posted.
    Movements that fit are posted unchanged. ``expected_position`` is ``Ledger.post``'s.

    Raises:
        StorageConditionError: a misfit putaway and no override; nothing was posted.
        InvalidValueError: the approver is the actor of a movement they approve.
        StockError: the ledger refused the batch.
    """
    batch = list(movements)
    checks = {
        c.movement_id: c
        for c in (check_putaway(catalogue, m) for m in batch)
        if c is not None and not c.allowed
    }
    if checks and override is None:
        raise StorageConditionError(list(checks.values()))
    if override is not None:
        for movement in batch:
            if movement.id in checks and same_actor(movement.actor, override.approved_by):
                msg = (
                    f"movement {movement.id!r}: its actor {movement.actor!r} cannot approve "
                    "their own storage override (a second person must)"
                )
                raise InvalidValueError(msg)
        batch = [
            attrs.evolve(m, reason=override.note(m.reason)) if m.id in checks else m for m in batch
        ]
    return ledger.post(batch, expected_position=expected_position)
