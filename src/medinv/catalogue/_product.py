"""Products: the primary DI, its packaging hierarchy and its master data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import attrs

from medinv._text import text_validator
from medinv.catalogue._checks import flag, whole_number
from medinv.catalogue._values import (
    Controls,
    CountTolerance,
    ReorderPolicy,
    StorageCondition,
    UnitValue,
)
from medinv.devices import DeviceIdentifier
from medinv.errors import IndivisibleQuantityError, InvalidValueError
from medinv.quantity import MAX_QUANTITY

__all__ = ["PackageLevel", "PackagingError", "Product"]

_NAME_LIMIT: Final = 500


class PackagingError(InvalidValueError):
    """A packaging hierarchy that cannot be: an unknown contained DI, a cycle, a DI twice."""

    def __init__(self, product: object, reason: str) -> None:
        self.product = product
        """The product's primary DI (as text)."""
        self.reason = reason
        """What is wrong."""
        super().__init__(f"invalid packaging of product {product}: {reason}")


def _di(kind: str) -> Any:
    def check(_instance: object, _attribute: object, value: object) -> None:
        if not isinstance(value, DeviceIdentifier):
            msg = f"{kind} must be a DeviceIdentifier, not {type(value).__name__} {value!r:.60}"
            raise InvalidValueError(msg)

    return check


def _to_di(value: object) -> object:
    return DeviceIdentifier.parse(value) if isinstance(value, str) else value


@attrs.frozen(kw_only=True)
class PackageLevel:
    """One package DI: how many units of the level below one package holds.

    ```pycon
    >>> PackageLevel(di="10614141000415", contains="00614141000418", quantity=10).quantity
    10

    ```
    """

    di: DeviceIdentifier = attrs.field(converter=_to_di, validator=_di("a package DI"))
    """The package's own DI (GUDID "Package DI")."""
    contains: DeviceIdentifier = attrs.field(converter=_to_di, validator=_di("a contained DI"))
    """The DI of the level directly inside (GUDID "Contains DI Package")."""
    quantity: int = attrs.field(validator=whole_number("package quantity", minimum=1))
    """How many units of ``contains`` one package holds (GUDID "Quantity per Package")."""


def _packages(value: Any) -> tuple[PackageLevel, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidValueError(f"packages are a tuple of PackageLevel, not {value!r:.80}")
    result = tuple(value)
    for level in result:
        if not isinstance(level, PackageLevel):
            raise InvalidValueError(f"packages are PackageLevel values, not {level!r:.80}")
    return result


def _optional(cls: type) -> Any:
    return attrs.validators.optional(attrs.validators.instance_of(cls))


@attrs.frozen(kw_only=True)
class Product:
    """A device in the catalogue: its DIs, what its label carries and how it is kept.

    The **base unit** is the primary DI's level: quantities in the ledger, the unit
    value, the reorder policy and the count tolerance are in base units. Each package
    DI says how many units of the level below it holds; converting between levels is
    exact (whole numbers only, never above the largest quantity medinv holds).

    ```pycon
    >>> each, box, case = "00614141000418", "10614141000415", "20614141000412"
    >>> p = Product(
    ...     primary_di=each,
    ...     packages=(
    ...         PackageLevel(di=case, contains=box, quantity=10),
    ...         PackageLevel(di=box, contains=each, quantity=20),
    ...     ),
    ... )
    >>> p.base_units_per(case)
    200
    >>> p.convert(3, case, to=box)
    30

    ```

    Raises:
        PackagingError: a package contains a DI that is neither the primary DI nor
            another package of the product, the packages form a cycle, or a DI
            appears twice.
        InvalidValueError: any other field is invalid.
    """

    primary_di: DeviceIdentifier = attrs.field(converter=_to_di, validator=_di("the primary DI"))
    """The DI of the base unit (GUDID "Primary DI")."""
    packages: tuple[PackageLevel, ...] = attrs.field(default=(), converter=_packages)
    """The package DIs, each with the level it contains, in any order."""
    name: str | None = attrs.field(
        default=None, validator=text_validator("product name", optional=True, limit=_NAME_LIMIT)
    )
    """Display name or description (GUDID brand name / device description)."""
    controls: Controls = attrs.field(
        factory=Controls, validator=attrs.validators.instance_of(Controls)
    )
    """Which production identifiers the label carries."""
    storage: StorageCondition | None = attrs.field(
        default=None, validator=_optional(StorageCondition)
    )
    """How the product must be kept."""
    implantable: bool = attrs.field(default=False, validator=flag("implantable flag"))
    """The device is implantable (its serials and lots are recorded per patient)."""
    min_shelf_life_at_receipt: int | None = attrs.field(
        default=None, validator=whole_number("minimum shelf life at receipt", optional=True)
    )
    """Days of remaining shelf life a receipt needs to be AVAILABLE; below, it lands in
    QUARANTINE. ``None``: no minimum."""
    min_shelf_life_at_issue: int | None = attrs.field(
        default=None, validator=whole_number("minimum shelf life at issue", optional=True)
    )
    """Days of remaining shelf life stock needs to be issued (the FEFO minimum)."""
    unit_value: UnitValue | None = attrs.field(default=None, validator=_optional(UnitValue))
    """Value of one base unit."""
    reorder: ReorderPolicy | None = attrs.field(default=None, validator=_optional(ReorderPolicy))
    """Replenishment parameters."""
    count_tolerance: CountTolerance | None = attrs.field(
        default=None, validator=_optional(CountTolerance)
    )
    """Stocktake tolerance; ``None``: the stocktake's default."""
    # Base units per DI, keyed by the DI's text (the text alone tells the agency): a
    # dict of text and numbers only, which the garbage collector need not track.
    _per_level: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        per = {di.value: units for di, units in _resolve(self).items()}
        object.__setattr__(self, "_per_level", per)

    @property
    def dis(self) -> tuple[DeviceIdentifier, ...]:
        """Every DI of the product: the primary DI first, then the packages as given."""
        return (self.primary_di, *(level.di for level in self.packages))

    def __contains__(self, di: object) -> bool:
        return isinstance(di, DeviceIdentifier) and di.value in self._per_level

    def base_units_per(self, di: DeviceIdentifier | str) -> int:
        """How many base units one unit of ``di`` holds (1 for the primary DI).

        Raises:
            InvalidValueError: ``di`` is not one of the product's DIs.
        """
        key = _to_di(di)
        units = self._per_level.get(key.value) if isinstance(key, DeviceIdentifier) else None
        if units is None:
            msg = f"{key} is not a DI of product {self.primary_di} (its DIs: {self._shown()})"
            raise InvalidValueError(msg)
        return units

    def to_base_units(self, quantity: int, di: DeviceIdentifier | str) -> int:
        """``quantity`` units of ``di`` in base units, exactly.

        Raises:
            InvalidValueError: ``di`` is not the product's, or the result is above
                the largest quantity medinv holds.
        """
        whole_number("quantity")(None, None, quantity)
        result = quantity * self.base_units_per(di)
        if result > MAX_QUANTITY:
            msg = (
                f"{quantity} x {di} is {result} base units of {self.primary_di}, more than "
                "the largest quantity medinv holds (2**63 - 1)"
            )
            raise InvalidValueError(msg)
        return result

    def convert(
        self, quantity: int, di: DeviceIdentifier | str, *, to: DeviceIdentifier | str
    ) -> int:
        """``quantity`` units of ``di`` as units of ``to``, exactly.

        Raises:
            IndivisibleQuantityError: the result is not a whole number.
            InvalidValueError: a DI is not the product's.
        """
        base = self.to_base_units(quantity, di)
        per = self.base_units_per(to)
        whole, rest = divmod(base, per)
        if rest:
            source, target = _to_di(di), _to_di(to)
            raise IndivisibleQuantityError(
                f"{base} base units ({quantity} x {source})", str(target), per
            )
        return whole

    def _shown(self) -> str:
        return ", ".join(str(di) for di in self.dis)


def _resolve(product: Product) -> dict[DeviceIdentifier, int]:
    """Base units per DI, checking that every package leads down to the primary DI."""
    primary = product.primary_di
    contains: dict[DeviceIdentifier, PackageLevel] = {}
    for level in product.packages:
        if level.di == primary or level.di in contains:
            raise PackagingError(primary, f"{level.di} appears twice")
        contains[level.di] = level
    per: dict[DeviceIdentifier, int] = {primary: 1}
    for start in contains:
        path: list[DeviceIdentifier] = []
        di = start
        while di not in per:
            if di in path:
                cycle = " -> ".join(str(d) for d in [*path[path.index(di) :], di])
                raise PackagingError(primary, f"the packages form a cycle: {cycle}")
            inner = contains.get(di)
            if inner is None:
                raise PackagingError(
                    primary,
                    f"{path[-1]} contains {di}, which is neither the primary DI nor a package "
                    "DI of this product",
                )
            path.append(di)
            di = inner.contains
        units = per[di]
        for done in reversed(path):
            units *= contains[done].quantity
            if units > MAX_QUANTITY:
                raise PackagingError(primary, f"{done} would hold more than 2**63 - 1 base units")
            per[done] = units
    return per
