"""Validators and converters shared by the catalogue values (private)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from medinv.errors import InvalidValueError
from medinv.quantity import MAX_QUANTITY

__all__ = ["as_decimal", "flag", "whole_number"]


def flag(kind: str) -> Callable[[Any, Any, Any], None]:
    """An ``attrs`` validator: ``True`` or ``False``, nothing else (no 0/1, no ``"yes"``)."""

    def check(_instance: object, _attribute: object, value: Any) -> None:
        if not isinstance(value, bool):
            raise InvalidValueError(f"invalid {kind} {value!r}: expected True or False")

    return check


def whole_number(
    kind: str, *, optional: bool = False, minimum: int = 0
) -> Callable[[Any, Any, Any], None]:
    """An ``attrs`` validator: a whole number from ``minimum`` to ``MAX_QUANTITY``."""

    def check(_instance: object, _attribute: object, value: Any) -> None:
        if value is None and optional:
            return
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValueError(
                f"invalid {kind} {value!r}: expected a whole number, got {type(value).__name__}"
            )
        if not minimum <= value <= MAX_QUANTITY:
            raise InvalidValueError(
                f"invalid {kind} {value}: must be from {minimum} to 2**63 - 1 (MAX_QUANTITY)"
            )

    return check


def as_decimal(kind: str, value: object, *, places: int, digits: int) -> Decimal:
    """``value`` (an int, a Decimal or decimal text) as a finite Decimal.

    Floats are refused (a binary fraction is not the number the user wrote); so are
    more than ``places`` decimal places and more than ``digits`` digits before the point.
    """
    if isinstance(value, (bool, float)):
        raise InvalidValueError(
            f"invalid {kind} {value!r}: give a Decimal, an int or decimal text, not a "
            f"{type(value).__name__} (a binary fraction is not exact)"
        )
    try:
        result = value if isinstance(value, Decimal) else Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        raise InvalidValueError(f"invalid {kind} {value!r}: expected a decimal number") from None
    if not result.is_finite():
        raise InvalidValueError(f"invalid {kind} {value!r}: must be a finite number")
    exponent = result.as_tuple().exponent
    assert isinstance(exponent, int)  # noqa: S101  (finite numbers have an int exponent)
    if exponent < -places:
        normal = result.normalize()
        normal_exponent = normal.as_tuple().exponent
        assert isinstance(normal_exponent, int)  # noqa: S101
        if normal_exponent < -places:
            raise InvalidValueError(f"invalid {kind} {value!r}: at most {places} decimal places")
        result = normal
    if abs(result) >= Decimal(10) ** digits:
        raise InvalidValueError(
            f"invalid {kind} {value!r}: at most {digits} digits before the point"
        )
    return result + 0 if result == 0 else result  # -0 becomes 0
