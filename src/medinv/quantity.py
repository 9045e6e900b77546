"""Quantities with units of measure, and packaging hierarchies.

See [the rules](../explanation/rules.md#identifiers) for what it guarantees.

A quantity is a non-negative whole count of one unit of measure, optionally tied
to the GTIN of that packaging level. Arithmetic across units or products is
refused, never silently summed:

```pycon
>>> from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
>>> Quantity.of(3, "BX") + Quantity.of(2, "BX")
Quantity(amount=5, unit='BX', gtin=None)
>>> Quantity.of(3, "BX") + Quantity.of(2, "EA")
Traceback (most recent call last):
...
medinv.errors.IncompatibleUnitsError: cannot combine 3 BX and 2 EA: different units

```

A packaging hierarchy maps a case to boxes to eaches. Conversion is exact, and
refused when it does not come out whole:

```pycon
>>> h = PackagingHierarchy.chain(
...     PackagingLevel(unit="CS", gtin="10614141000415", contains=10),
...     PackagingLevel(unit="BX", gtin="00614141000418", contains=20),
...     PackagingLevel(unit="EA"),
... )
>>> h.convert(Quantity.of(2, "CS"), "EA").amount
400
>>> h.convert(Quantity.of(30, "EA"), "BX")
Traceback (most recent call last):
...
medinv.errors.IndivisibleQuantityError: 30 EA is not a whole number of BX (20 make one BX)

```
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Final

import attrs

from medinv.errors import (
    IncompatibleUnitsError,
    IndivisibleQuantityError,
    InvalidQuantityError,
    InvalidValueError,
)
from medinv.identifiers import Gtin

__all__ = ["MAX_QUANTITY", "PackagingHierarchy", "PackagingLevel", "Quantity"]

MAX_QUANTITY: Final = 2**63 - 1
"""The largest quantity medinv accepts, for one movement and for any balance.

It is the largest signed 64-bit integer, the largest whole number every store
(memory, SQLite ``INTEGER``, PostgreSQL ``bigint``) holds exactly: a quantity, a
conversion or a balance beyond it is refused with a clear error on every store
alike, never wrapped, rounded or stored as a floating-point number.
"""

_UNIT_RE: Final = re.compile(r"[A-Z0-9]{1,8}")


def _check_unit(_instance: object, _attribute: object, value: Any) -> None:
    if not isinstance(value, str) or _UNIT_RE.fullmatch(value) is None:
        raise InvalidQuantityError(
            f"invalid unit of measure {value!r}: expected 1-8 upper-case letters or digits "
            "(a UN/ECE Recommendation 20 code such as EA, BX, CS)"
        )


def _check_amount(_instance: object, _attribute: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantityError(
            f"invalid quantity {value!r}: expected a whole number, got {type(value).__name__}"
        )
    if value < 0:
        raise InvalidQuantityError(f"invalid quantity {value}: must not be negative")
    if value > MAX_QUANTITY:
        raise InvalidQuantityError(
            f"invalid quantity {value}: more than the largest quantity medinv holds "
            f"(MAX_QUANTITY = 2**63 - 1)"
        )


def _to_optional_gtin(value: Gtin | str | None) -> Gtin | None:
    if value is None or isinstance(value, Gtin):
        return value
    return Gtin(value)


@attrs.frozen(kw_only=True, order=False)
class Quantity:
    """A non-negative whole count of one unit of measure (and optionally one GTIN)."""

    amount: int = attrs.field(validator=_check_amount)
    """How many."""
    unit: str = attrs.field(default="EA", validator=_check_unit)
    """Unit of measure code (UN/ECE Recommendation 20: ``EA``, ``BX``, ``CS`` ...)."""
    gtin: Gtin | None = attrs.field(default=None, converter=_to_optional_gtin)
    """The packaging level's GTIN, when the quantity is of one product."""

    @classmethod
    def of(cls, amount: int, unit: str = "EA", *, gtin: Gtin | str | None = None) -> Quantity:
        """Build a quantity: ``Quantity.of(3, "BX")``."""
        return cls(amount=amount, unit=unit, gtin=_to_optional_gtin(gtin))

    def _compatible(self, other: object) -> Quantity:
        if not isinstance(other, Quantity):
            raise IncompatibleUnitsError(self, other, "not a Quantity")
        if self.unit != other.unit:
            raise IncompatibleUnitsError(self, other, "different units")
        if self.gtin is not None and other.gtin is not None and self.gtin != other.gtin:
            raise IncompatibleUnitsError(self, other, "different products (GTINs)")
        return other

    def _with(self, amount: int, other: Quantity) -> Quantity:
        return Quantity(amount=amount, unit=self.unit, gtin=self.gtin or other.gtin)

    def __add__(self, other: Quantity) -> Quantity:
        other = self._compatible(other)
        return self._with(self.amount + other.amount, other)

    def __sub__(self, other: Quantity) -> Quantity:
        other = self._compatible(other)
        if other.amount > self.amount:
            raise InvalidQuantityError(
                f"cannot subtract {other} from {self}: the result would be negative"
            )
        return self._with(self.amount - other.amount, other)

    def __mul__(self, factor: int) -> Quantity:
        if isinstance(factor, bool) or not isinstance(factor, int):
            return NotImplemented
        return Quantity(amount=self.amount * factor, unit=self.unit, gtin=self.gtin)

    __rmul__ = __mul__

    def __lt__(self, other: Quantity) -> bool:
        return self.amount < self._compatible(other).amount

    def __le__(self, other: Quantity) -> bool:
        return self.amount <= self._compatible(other).amount

    def __gt__(self, other: Quantity) -> bool:
        return self.amount > self._compatible(other).amount

    def __ge__(self, other: Quantity) -> bool:
        return self.amount >= self._compatible(other).amount

    def __bool__(self) -> bool:
        return self.amount != 0

    def __str__(self) -> str:
        text = f"{self.amount} {self.unit}"
        return f"{text} of {self.gtin}" if self.gtin is not None else text


def _check_contains(_instance: object, _attribute: object, value: Any) -> None:
    if value is None:
        return
    if (
        isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_QUANTITY  # noqa: PLR2004
    ):
        raise InvalidQuantityError(
            f"invalid packaging level: 'contains' must be a whole number of at least 2 "
            f"(and at most MAX_QUANTITY), not {value!r}"
        )


@attrs.frozen(kw_only=True)
class PackagingLevel:
    """One level of a packaging hierarchy, given top-down.

    ``contains`` is how many units of the *next lower* level one unit of this level
    holds; the base (lowest) level has ``contains=None``.
    """

    unit: str = attrs.field(validator=_check_unit)
    """Unit of measure code of this level."""
    gtin: Gtin | None = attrs.field(default=None, converter=_to_optional_gtin)
    """The GTIN printed on this level, if it has one."""
    contains: int | None = attrs.field(default=None, validator=_check_contains)
    """How many of the next lower level one of this level holds (``None`` at the base)."""


@attrs.frozen
class _Resolved:
    level: PackagingLevel
    base_units: int


@attrs.frozen
class PackagingHierarchy:
    """A chain of packaging levels, e.g. case → 10 boxes → 20 eaches each.

    Build it with [`chain`][medinv.quantity.PackagingHierarchy.chain]. Levels are
    looked up by unit code or by GTIN; both must be unique within a hierarchy.
    """

    levels: tuple[PackagingLevel, ...]
    """The levels, top (largest) first, base (each) last."""
    _base_units: dict[str, int] = attrs.field(init=False, repr=False, eq=False)
    _by_gtin: dict[Gtin, str] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.levels, tuple) or not all(
            isinstance(level, PackagingLevel) for level in self.levels
        ):
            msg = (
                "a packaging hierarchy is a tuple of PackagingLevel, not "
                f"{type(self.levels).__name__} {self.levels!r:.80}"
            )
            raise InvalidQuantityError(msg)
        if not self.levels:
            msg = "a packaging hierarchy needs at least one level"
            raise InvalidQuantityError(msg)
        base_units: dict[str, int] = {}
        by_gtin: dict[Gtin, str] = {}
        per_unit = 1
        for position, level in enumerate(reversed(self.levels)):
            if position == 0 and level.contains is not None:
                msg = f"the base level {level.unit} must not contain another level"
                raise InvalidQuantityError(msg)
            if position > 0:
                if level.contains is None:
                    msg = f"level {level.unit} must say how many lower-level units it contains"
                    raise InvalidQuantityError(msg)
                per_unit *= level.contains
            if level.unit in base_units:
                msg = f"unit {level.unit} appears twice in the packaging hierarchy"
                raise InvalidQuantityError(msg)
            base_units[level.unit] = per_unit
            if level.gtin is not None:
                if level.gtin in by_gtin:
                    msg = f"GTIN {level.gtin} appears twice in the packaging hierarchy"
                    raise InvalidQuantityError(msg)
                by_gtin[level.gtin] = level.unit
        object.__setattr__(self, "_base_units", base_units)
        object.__setattr__(self, "_by_gtin", by_gtin)

    @classmethod
    def chain(cls, *levels: PackagingLevel) -> PackagingHierarchy:
        """Build a hierarchy from levels given top-down."""
        return cls(tuple(levels))

    @property
    def base(self) -> PackagingLevel:
        """The lowest level (the each)."""
        return self.levels[-1]

    def __iter__(self) -> Iterator[PackagingLevel]:
        return iter(self.levels)

    def unit_of(self, gtin: Gtin | str) -> str:
        """The unit code of the level with this GTIN.

        Raises:
            InvalidValueError: no level has that GTIN.
        """
        key = gtin if isinstance(gtin, Gtin) else Gtin(gtin)  # Gtin refuses non-text
        try:
            return self._by_gtin[key]
        except KeyError:
            msg = f"GTIN {key} is not part of this packaging hierarchy"
            raise InvalidValueError(msg) from None

    def level(self, unit_or_gtin: str | Gtin) -> PackagingLevel:
        """The level with this unit code or GTIN."""
        unit = self._unit(unit_or_gtin)
        return next(level for level in self.levels if level.unit == unit)

    def base_units_per(self, unit_or_gtin: str | Gtin) -> int:
        """How many base units one unit of this level holds."""
        return self._base_units[self._unit(unit_or_gtin)]

    def _unit(self, unit_or_gtin: str | Gtin) -> str:
        given: object = unit_or_gtin  # checked at run time, whatever the annotations say
        if not isinstance(given, (str, Gtin)):
            msg = f"expected a unit code or a GTIN, not {type(given).__name__}"
            raise InvalidValueError(msg)
        if isinstance(unit_or_gtin, Gtin):
            return self.unit_of(unit_or_gtin)
        if unit_or_gtin in self._base_units:
            return unit_or_gtin
        if len(unit_or_gtin) in (8, 12, 13, 14) and unit_or_gtin.isdigit():
            return self.unit_of(unit_or_gtin)
        msg = (
            f"unit {unit_or_gtin!r} is not part of this packaging hierarchy "
            f"(levels: {', '.join(self._base_units)})"
        )
        raise InvalidValueError(msg)

    def _source_unit(self, quantity: Quantity) -> str:
        given: object = quantity  # checked at run time, whatever the annotations say
        if not isinstance(given, Quantity):
            msg = f"expected a Quantity, not {type(given).__name__}"
            raise InvalidQuantityError(msg)
        unit = self._unit(quantity.unit)
        if quantity.gtin is not None and self.unit_of(quantity.gtin) != unit:
            raise IncompatibleUnitsError(
                quantity, self, f"GTIN {quantity.gtin} is not the {unit} level"
            )
        return unit

    def convert(self, quantity: Quantity, to: str | Gtin) -> Quantity:
        """Convert ``quantity`` to another level of this hierarchy, exactly.

        Raises:
            IndivisibleQuantityError: the result would not be a whole number.
            InvalidValueError: a unit or GTIN is not part of this hierarchy.
        """
        source = self._source_unit(quantity)
        target = self._unit(to)
        base = quantity.amount * self._base_units[source]
        per = self._base_units[target]
        whole, rest = divmod(base, per)
        if rest:
            raise IndivisibleQuantityError(quantity, target, per // self._base_units[source])
        return Quantity(amount=whole, unit=target, gtin=self.level(target).gtin)

    def to_base(self, quantity: Quantity) -> Quantity:
        """Convert ``quantity`` to base units (always exact)."""
        return self.convert(quantity, self.base.unit)
