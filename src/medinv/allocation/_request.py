"""What a caller asks the allocator for: an allocation request."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from typing import Any

import attrs
import pendulum

from medinv._slots import new_instance, slot_setters
from medinv.dates import to_date
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidQuantityError, InvalidValueError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial, device_of
from medinv.locations import Location
from medinv.quantity import PackagingHierarchy, Quantity

__all__ = ["AllocationRequest", "Policy"]


class Policy(enum.Enum):
    """How eligible stock is ordered for picking (see [the rules](../explanation/rules.md#fefo))."""

    FEFO = "FEFO"
    """First expiry, first out (the default), in [`fefo_key`][medinv.allocation.fefo_key] order."""
    FIFO = "FIFO"
    """First received, first out: received-at first, then the FEFO order."""
    MANUAL = "MANUAL"
    """Only the lots the caller names, in the caller's order; each lot in the FEFO order."""


def _to_use_date(value: Any) -> pendulum.Date:
    return value if type(value) is pendulum.Date else to_date(value)


def _to_lots(value: Any) -> tuple[Lot, ...]:
    if value is None or (isinstance(value, (str, tuple, list)) and not value):
        return ()
    if isinstance(value, (str, Lot)):
        value = (value,)
    return tuple(v if isinstance(v, Lot) else Lot(v) for v in _iterate("lots", value))


def _to_serials(value: Any) -> tuple[Serial, ...] | None:
    if value is None:
        return None
    if isinstance(value, (str, Serial)):
        value = (value,)
    return tuple(v if isinstance(v, Serial) else Serial(v) for v in _iterate("serials", value))


def _iterate(name: str, value: Any) -> tuple[Any, ...]:
    """The values of a collection the caller gave; `InvalidValueError` if it is none."""
    if isinstance(value, (bytes, dict)) or not isinstance(value, Iterable):
        msg = f"invalid {name} {value!r:.60}: expected a list of texts"
        raise InvalidValueError(msg)
    return tuple(value)


def _check_basics(quantity: Any, days: Any, location: Any) -> None:
    """The checks every request passes (the others depend on the options)."""
    if type(quantity) is not int or quantity < 1:
        raise InvalidQuantityError(
            f"invalid allocation quantity {quantity!r}: expected a whole number of at least 1"
        )
    if type(days) is not int or days < 0:
        raise InvalidValueError(
            f"invalid minimum shelf life {days!r}: expected a whole number of days, at least 0"
        )
    if location is not None and not isinstance(location, Location):
        raise InvalidValueError(
            f"invalid location {location!r}: expected a Location (a subtree to pick in)"
        )


@attrs.frozen(kw_only=True)
class AllocationRequest:
    """A request for stock of one product (its device identifier, any agency) on a use date.

    Build it with [`of`][medinv.allocation.AllocationRequest.of] (which converts a
    quantity through a packaging hierarchy), [`manual`][medinv.allocation.AllocationRequest.manual]
    or [`serials`][medinv.allocation.AllocationRequest.for_serials].

    ```pycon
    >>> from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
    >>> boxes = PackagingHierarchy.chain(
    ...     PackagingLevel(unit="BX", gtin="00614141000418", contains=20),
    ...     PackagingLevel(unit="EA", gtin="04006381333931"),
    ... )
    >>> r = AllocationRequest.of("04006381333931", Quantity.of(2, "BX"),
    ...                          use_date="2026-11-23", packaging=boxes)
    >>> r.quantity, r.policy.value, r.box_size
    (40, 'FEFO', 20)

    ```

    Raises:
        InvalidValueError: a field is malformed or the fields contradict each other.
    """

    device: DeviceIdentifier = attrs.field(converter=device_of, alias="gtin")
    """The product asked for (one packaging level), a DI of any agency; picks are of it.

    Given as ``gtin=`` (GTIN digits, a [`Gtin`][medinv.identifiers.Gtin], a
    [`DeviceIdentifier`][medinv.devices.DeviceIdentifier] or ``AGENCY:DI`` text such
    as ``"HIBCC:A123BJC5D6E71"``).
    """
    quantity: int
    """How many units of the device's packaging level."""
    use_date: pendulum.Date = attrs.field(converter=_to_use_date)
    """The day the stock will be used, in the facility's time zone; expiry is judged on it."""
    min_shelf_life_days: int = 0
    """Minimum remaining shelf life at ``use_date``, in days (0: usable on its expiry day)."""
    location: Location | None = None
    """Pick only within this location's subtree (``None``: anywhere)."""
    policy: Policy = Policy.FEFO
    """The picking order."""
    lots: tuple[Lot, ...] = attrs.field(default=(), converter=_to_lots)
    """For [`Policy.MANUAL`][medinv.allocation.Policy.MANUAL]: the lots to pick from, in order."""
    serials: tuple[Serial, ...] | None = attrs.field(default=None, converter=_to_serials)
    """For a serial-level request: exactly these serialised units (one each)."""
    box_size: int | None = attrs.field(default=None)
    """Units of ``gtin`` in one unit of the next packaging level up, when known.

    Used by ``opened_first``: a position whose quantity is not a whole number of
    boxes holds an opened box.
    """
    opened_first: bool = False
    """Within one expiry date, take opened boxes (loose units) before whole boxes."""
    is_plain_fefo: bool = attrs.field(default=False, init=False, eq=False, repr=False)
    """Whether this is a plain FEFO request (no serials, no opened-first): the fast path."""

    def __attrs_post_init__(self) -> None:
        # Checked here rather than by attrs validators: requests are built on the hot path.
        _check_basics(self.quantity, self.min_shelf_life_days, self.location)
        if (
            self.policy is not Policy.FEFO
            or self.lots
            or self.serials is not None
            or self.box_size is not None
            or self.opened_first
        ):
            self._check_options()
        if self.policy is Policy.FEFO and self.serials is None and not self.opened_first:
            object.__setattr__(self, "is_plain_fefo", True)

    def _check_options(self) -> None:  # noqa: C901  (one clause per rule)
        if type(self.policy) is not Policy:
            msg = f"invalid policy {self.policy!r}: expected a medinv.allocation.Policy"
            raise InvalidValueError(msg)
        if self.policy is Policy.MANUAL and not self.lots:
            msg = "a MANUAL allocation request must name at least one lot"
            raise InvalidValueError(msg)
        if self.policy is not Policy.MANUAL and self.lots:
            msg = f"lots are named only with the MANUAL policy, not {self.policy.value}"
            raise InvalidValueError(msg)
        if len(set(self.lots)) != len(self.lots):
            msg = "a lot is named twice in the allocation request"
            raise InvalidValueError(msg)
        if self.serials is not None:
            if not self.serials or len(set(self.serials)) != len(self.serials):
                msg = "a serial-level request names one or more distinct serials"
                raise InvalidValueError(msg)
            if self.quantity != len(self.serials):
                msg = (
                    f"a serial-level request asks for one unit per serial: "
                    f"{len(self.serials)} serial(s), not {self.quantity}"
                )
                raise InvalidValueError(msg)
            if self.policy is not Policy.FEFO:
                msg = "a serial-level request names its units; it takes no policy"
                raise InvalidValueError(msg)
        if self.box_size is not None and (
            isinstance(self.box_size, bool)
            or not isinstance(self.box_size, int)
            or self.box_size < 2  # noqa: PLR2004  (a box holds at least two units)
        ):
            msg = f"invalid box size {self.box_size!r}: expected a whole number of at least 2"
            raise InvalidValueError(msg)
        if self.opened_first and self.box_size is None:
            msg = (
                "opened_first needs to know the box size: pass a packaging hierarchy in "
                "which the requested GTIN has a level above it"
            )
            raise InvalidValueError(msg)

    @property
    def gtin(self) -> Gtin:
        """The GTIN asked for, when the device is a GS1 one.

        Raises:
            NotGs1Error: the device was issued by HIBCC or the MA code (read ``device``).
        """
        return ItemKey(self.device).gtin

    @property
    def min_expiry(self) -> pendulum.Date:
        """The earliest expiry date this request accepts: ``use_date + min_shelf_life_days``."""
        return self.use_date.add(days=self.min_shelf_life_days)

    @classmethod
    def of(
        cls,
        gtin: DeviceIdentifier | Gtin | str,
        quantity: int | Quantity,
        *,
        use_date: dt.date | str,
        min_shelf_life_days: int = 0,
        location: Location | None = None,
        policy: Policy = Policy.FEFO,
        lots: tuple[Lot | str, ...] = (),
        packaging: PackagingHierarchy | None = None,
        opened_first: bool = False,
    ) -> AllocationRequest:
        """A request for ``quantity`` of ``gtin``.

        ``quantity`` is a whole number of ``gtin``'s units, or a
        [`Quantity`][medinv.quantity.Quantity] in any unit of ``packaging``, converted
        exactly to ``gtin``'s level (``2 BX`` of a box of 20 asks for 40 eaches).

        Raises:
            InvalidValueError: the quantity does not convert, or the fields contradict.
        """
        product = gtin if type(gtin) is DeviceIdentifier else device_of(gtin)
        if (
            type(quantity) is int
            and quantity > 0
            and type(min_shelf_life_days) is int
            and min_shelf_life_days >= 0
            and policy is _FEFO
            and packaging is None
            and location is None
            and not lots
            and not opened_first
        ):
            # The common case (a plain FEFO request for a whole number of units, valid
            # as given): what the attrs constructor builds, without its keyword
            # plumbing; anything else, invalid values included, takes the general path.
            request: AllocationRequest = _new(cls)
            _set_device(request, product)
            _set_quantity(request, quantity)
            _set_use_date(
                request, use_date if type(use_date) is pendulum.Date else to_date(use_date)
            )
            _set_days(request, min_shelf_life_days)
            _set_location(request, None)
            _set_policy(request, _FEFO)
            _set_lots(request, ())
            _set_serials(request, None)
            _set_box_size(request, None)
            _set_opened_first(request, False)  # noqa: FBT003  (a field value)
            _set_is_plain_fefo(request, True)  # noqa: FBT003  (a field value)
            return request
        box_size: int | None = None
        if packaging is not None:
            unit = packaging.unit_of(_gtin_for_packaging(product))
            index = [level.unit for level in packaging.levels].index(unit)
            if index > 0:
                box_size = packaging.levels[index - 1].contains
        if isinstance(quantity, Quantity):
            if packaging is not None:
                amount = packaging.convert(quantity, unit).amount
            elif quantity.gtin is not None and device_of(quantity.gtin) == product:
                amount = quantity.amount
            else:
                msg = (
                    f"cannot allocate {quantity} of {product} without a packaging hierarchy "
                    "to convert it; pass packaging=, or a whole number of units"
                )
                raise InvalidQuantityError(msg)
        else:
            amount = quantity
        return cls(
            gtin=product,
            quantity=amount,
            use_date=use_date,
            min_shelf_life_days=min_shelf_life_days,
            location=location,
            policy=policy,
            lots=lots,
            box_size=box_size,
            opened_first=opened_first,
        )

    @classmethod
    def manual(
        cls,
        gtin: DeviceIdentifier | Gtin | str,
        quantity: int,
        *,
        lots: tuple[Lot | str, ...] | list[Lot | str],
        use_date: dt.date | str,
        min_shelf_life_days: int = 0,
        location: Location | None = None,
    ) -> AllocationRequest:
        """A manual request: only the named ``lots``, in the order given (still never expired)."""
        return cls(
            gtin=gtin,
            quantity=quantity,
            use_date=use_date,
            min_shelf_life_days=min_shelf_life_days,
            location=location,
            policy=Policy.MANUAL,
            lots=_to_lots(lots),
        )

    @classmethod
    def for_serials(
        cls,
        gtin: DeviceIdentifier | Gtin | str,
        serials: tuple[Serial | str, ...] | list[Serial | str],
        *,
        use_date: dt.date | str,
        min_shelf_life_days: int = 0,
        location: Location | None = None,
    ) -> AllocationRequest:
        """A serial-level request: exactly these serialised units, one each."""
        named = _to_serials(serials) or ()
        return cls(
            gtin=gtin,
            quantity=len(named),
            use_date=use_date,
            min_shelf_life_days=min_shelf_life_days,
            location=location,
            serials=named,
        )


def _gtin_for_packaging(device: DeviceIdentifier) -> Gtin:
    """The GTIN a `PackagingHierarchy` (whose levels are GTINs) knows ``device`` by."""
    if device.gtin is None:
        msg = (
            f"a PackagingHierarchy converts GTINs only, not the {device.agency.value} DI "
            f"{device}: convert with the catalogue's Product.to_base_units, or ask for a "
            "whole number of units"
        )
        raise InvalidQuantityError(msg)
    return Gtin(device.gtin)


_new = new_instance
_FEFO = Policy.FEFO
(
    _set_device,
    _set_quantity,
    _set_use_date,
    _set_days,
    _set_location,
    _set_policy,
    _set_lots,
    _set_serials,
    _set_box_size,
    _set_opened_first,
    _set_is_plain_fefo,
) = slot_setters(
    AllocationRequest,
    "device",
    "quantity",
    "use_date",
    "min_shelf_life_days",
    "location",
    "policy",
    "lots",
    "serials",
    "box_size",
    "opened_first",
    "is_plain_fefo",
)
"""Set an `AllocationRequest`'s slots directly (``of``'s common case).

attrs' generated ``__init__`` goes through keyword arguments, the converters and
``object.__setattr__`` once per field; setting the slots is about twice as fast,
and the request is indistinguishable from the constructor's (a test compares them).
"""
