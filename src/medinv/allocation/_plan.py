"""What the allocator answers: a [`Plan`][medinv.allocation.Plan] of picks.

See [the rules](../explanation/rules.md#fefo) for what it guarantees.
"""

from __future__ import annotations

import enum

import attrs
import pendulum

from medinv._slots import new_instance, slot_setters
from medinv.allocation._request import AllocationRequest
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.status import StockStatus

__all__ = ["Pick", "Plan", "Reservation", "SkipReason", "Skipped"]


class SkipReason(enum.Enum):
    """Why a candidate position was not picked."""

    NOT_AVAILABLE_STATUS = "NOT_AVAILABLE_STATUS"
    """In a status other than AVAILABLE (quarantine, hold, recalled, damaged)."""
    EXPIRED = "EXPIRED"
    """Expired on the use date (its expiry day is before the use date)."""
    SHORT_SHELF_LIFE = "SHORT_SHELF_LIFE"
    """Usable on the use date, but with less remaining shelf life than asked for."""
    OUTSIDE_LOCATION = "OUTSIDE_LOCATION"
    """Outside the location subtree the request is limited to."""
    NOT_NAMED = "NOT_NAMED"
    """Not one of the lots (manual policy) or serials (serial-level request) the caller named."""
    RESERVED = "RESERVED"
    """Eligible, but all of it is reserved by other plans."""


@attrs.frozen(kw_only=True)
class Pick:
    """Take ``quantity`` of ``item`` from ``location`` (status AVAILABLE)."""

    item: ItemKey
    """The stock item to take."""
    location: Location
    """Where to take it from."""
    quantity: int
    """How many units of the item's GTIN."""
    expiry: pendulum.Date | None
    """The lot's expiry date (``None``: no expiry), shown on pick lists."""


@attrs.frozen(kw_only=True)
class Skipped:
    """A candidate position that was not picked, and why."""

    item: ItemKey
    """The stock item."""
    location: Location
    """Where it is."""
    status: StockStatus
    """Its status."""
    quantity: int
    """How many units the position holds."""
    expiry: pendulum.Date | None
    """The lot's expiry date, if any."""
    reason: SkipReason
    """Why it was not picked (the first reason that applies, in the order of the enum)."""


@attrs.frozen(kw_only=True)
class Plan:
    """The answer to an [`AllocationRequest`][medinv.allocation.AllocationRequest].

    Making a plan never changes stock; posting it to the ledger
    ([`post_plan`][medinv.services.post_plan]) does. A plan may be
    [reserved][medinv.allocation.FefoIndex.reserve] so that later plans do not
    count the same units.
    """

    request: AllocationRequest
    """What was asked for."""
    picks: tuple[Pick, ...]
    """The picks, in picking order."""
    shortfall: int
    """How many units could not be found (0 when the plan is complete)."""
    skipped: tuple[Skipped, ...] = ()
    """Candidates not picked, with the reason.

    With ``explain=True`` every position of the product that was not picked and is
    not eligible is listed (in FEFO order); without it, only the candidates the
    allocator stepped over while picking, which keeps planning logarithmic.
    """
    explained: bool = False
    """Whether ``skipped`` is the complete list (``explain=True``)."""
    position: int = 0
    """The ledger position the stock was at when the plan was made."""

    @property
    def quantity(self) -> int:
        """How many units the picks add up to."""
        return sum(pick.quantity for pick in self.picks)

    @property
    def is_complete(self) -> bool:
        """Whether the picks cover the whole request."""
        return self.shortfall == 0


@attrs.frozen(kw_only=True)
class Reservation:
    """A plan held so that later plans see less stock, until released, posted or expired."""

    id: str
    """The caller's reservation id (e.g. the order line)."""
    plan: Plan
    """The plan it holds."""
    expires_at: pendulum.DateTime | None = None
    """When the reservation lapses by itself (``None``: only on release or posting)."""


# ---------------------------------------------------------------------- fast constructors
#
# The allocator builds a Plan and its Picks on every request from parts it has already
# validated (they come out of the index). attrs' generated ``__init__`` takes keyword
# arguments and sets each slot through a per-instance ``object.__setattr__``; these
# helpers set the same slots directly, which is about twice as fast. The objects are
# indistinguishable from those the public constructors build (the tests compare them).

_new = new_instance
PICK_SETTERS = slot_setters(Pick, "item", "location", "quantity", "expiry")
"""The setters of a `Pick`'s slots, in field order (the index's hot loop inlines them)."""
PLAN_SETTERS = slot_setters(
    Plan, "request", "picks", "shortfall", "skipped", "explained", "position"
)
"""The setters of a `Plan`'s slots, in field order (the index's hot loop inlines them)."""


def make_pick(
    item: ItemKey,
    location: Location,
    quantity: int,
    expiry: pendulum.Date | None,
    _new: object = _new,
    _slots: tuple[object, ...] = PICK_SETTERS,
) -> Pick:
    """A [`Pick`][medinv.allocation.Pick] from parts the index has validated (hot path)."""
    pick: Pick = _new(Pick)  # type: ignore[operator]
    set_item, set_location, set_quantity, set_expiry = _slots
    set_item(pick, item)  # type: ignore[operator]
    set_location(pick, location)  # type: ignore[operator]
    set_quantity(pick, quantity)  # type: ignore[operator]
    set_expiry(pick, expiry)  # type: ignore[operator]
    return pick
