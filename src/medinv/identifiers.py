"""Product and item identifiers: GTIN, lot, serial and the stock item key.

A stock item is identified by ``(gtin, lot, serial)``. GTINs are
stored as GTIN-14 with a verified check digit; GTIN-8, -12 and -13 input is
accepted and padded:

```pycon
>>> from medinv.identifiers import Gtin, ItemKey, Lot
>>> gtin = Gtin("4006381333931")
>>> gtin.value
'04006381333931'
>>> gtin.packaging_indicator
0
>>> str(ItemKey(gtin, lot="A1/2"))
'(01)04006381333931(10)A1/2'

```

Lots and serials are kept verbatim (no trimming, no upper-casing):

```pycon
>>> Lot("ab 1").value
'ab 1'
>>> Lot("")
Traceback (most recent call last):
...
medinv.errors.InvalidIdentifierError: invalid lot '': must be 1 to 20 characters long, not 0

```
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs

from medinv.errors import InvalidGtinError, InvalidIdentifierError

__all__ = [
    "GS1_AI82_CHARACTERS",
    "LOT_SERIAL_CHARACTERS",
    "Gtin",
    "ItemKey",
    "Lot",
    "Serial",
    "gs1_check_digit",
]

GS1_AI82_CHARACTERS: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
"""The 82 characters of GS1 character set 82 (General Specifications figure 7.11-1)."""

LOT_SERIAL_CHARACTERS: Final = GS1_AI82_CHARACTERS | {" "}
"""What a lot or serial may contain: set 82, plus the space that HIBC data may carry.

GS1 lots never contain a space; HIBC lots and serials may (HIBC's character set
includes it). Both are kept verbatim, inner spaces included.
"""

_DIGITS: Final = frozenset("0123456789")
_GTIN_LENGTHS: Final = (8, 12, 13, 14)


def gs1_check_digit(payload: str) -> int:
    """Return the GS1 mod-10 check digit for ``payload`` (all digits but the check digit).

    ```pycon
    >>> gs1_check_digit("400638133393")
    1

    ```
    """
    total = 0
    for position, char in enumerate(reversed(payload)):
        digit = ord(char) - 48
        total += digit * 3 if position % 2 == 0 else digit
    return (10 - total % 10) % 10


def _to_gtin14(value: object) -> str:
    if isinstance(value, Gtin):
        return value.value
    if not isinstance(value, str):
        raise InvalidGtinError(value, f"expected a string of digits, got {type(value).__name__}")
    if len(value) not in _GTIN_LENGTHS:
        raise InvalidGtinError(value, f"must have 8, 12, 13 or 14 digits, not {len(value)}")
    for offset, char in enumerate(value):
        if char not in _DIGITS:
            raise InvalidGtinError(value, f"non-digit {char!r} at offset {offset}")
    expected = gs1_check_digit(value[:-1])
    if ord(value[-1]) - 48 != expected:
        raise InvalidGtinError(value, f"the check digit should be {expected}, not {value[-1]}")
    return value.rjust(14, "0")


@attrs.frozen(order=True, cache_hash=True)
class Gtin:
    """A Global Trade Item Number, normalised to 14 digits.

    Each GTIN is one packaging level of one product; a box GTIN and its each GTIN
    are different products linked by a packaging hierarchy
    ([`PackagingHierarchy`][medinv.quantity.PackagingHierarchy]).

    Raises:
        InvalidGtinError: the input is not 8, 12, 13 or 14 digits with a valid check digit.
    """

    value: str = attrs.field(converter=_to_gtin14)
    """The GTIN-14: fourteen digits, leading zeros kept, check digit last."""

    @classmethod
    def parse(cls, text: str) -> Gtin:
        """Parse a GTIN-8, -12, -13 or -14 given as digits (surrounding blanks ignored).

        ```pycon
        >>> Gtin.parse(" 96385074 ").value
        '00000096385074'

        ```
        """
        return cls(text.strip() if isinstance(text, str) else text)

    @property
    def packaging_indicator(self) -> int:
        """The first digit of the GTIN-14 (0 for the base unit, 1-8 for packaging levels)."""
        return ord(self.value[0]) - 48

    @property
    def check_digit(self) -> int:
        """The last digit."""
        return ord(self.value[-1]) - 48

    def as_gtin13(self) -> str | None:
        """The GTIN-13 form, or ``None`` when the GTIN-14 has a non-zero first digit."""
        return self.value[1:] if self.value[0] == "0" else None

    def __str__(self) -> str:
        return self.value


def _ai82_validator(kind: str) -> Callable[[Any, Any, str], None]:
    def check(_instance: object, _attribute: object, value: str) -> None:
        if not isinstance(value, str):
            raise InvalidIdentifierError(
                kind, value, f"expected a string, got {type(value).__name__}"
            )
        if not 1 <= len(value) <= 20:  # noqa: PLR2004  (GS1 AI 10 / AI 21 length)
            raise InvalidIdentifierError(
                kind, value, f"must be 1 to 20 characters long, not {len(value)}"
            )
        for offset, char in enumerate(value):
            if char not in LOT_SERIAL_CHARACTERS:
                raise InvalidIdentifierError(
                    kind,
                    value,
                    f"character {char!r} is not in GS1 character set 82 (or a space)",
                    offset=offset,
                )

    return check


@attrs.frozen(order=True, cache_hash=True)
class Lot:
    """A lot (batch) number: 1-20 characters of GS1 character set 82 or space, kept verbatim."""

    value: str = attrs.field(validator=_ai82_validator("lot"))
    """The lot number exactly as printed."""

    def __str__(self) -> str:
        return self.value


@attrs.frozen(order=True, cache_hash=True)
class Serial:
    """A serial number: 1-20 characters of GS1 character set 82 or space, kept verbatim."""

    value: str = attrs.field(validator=_ai82_validator("serial"))
    """The serial number exactly as printed."""

    def __str__(self) -> str:
        return self.value


def _to_gtin(value: Gtin | str) -> Gtin:
    return value if isinstance(value, Gtin) else Gtin(value)


def _to_lot(value: Lot | str | None) -> Lot | None:
    if value is None or isinstance(value, Lot):
        return value
    return Lot(value)


def _to_serial(value: Serial | str | None) -> Serial | None:
    if value is None or isinstance(value, Serial):
        return value
    return Serial(value)


@attrs.frozen(cache_hash=True)
class ItemKey:
    """The identity of a stock item: ``(gtin, lot, serial)``; lot and serial may be ``None``.

    A serialised item (``serial`` not ``None``) has quantity 0 or 1 across the whole
    ledger at any time (see [the rules](../explanation/rules.md#identifiers)).

    ```pycon
    >>> a = ItemKey("04006381333931", lot="L1", serial="S1")
    >>> a.is_serialised, a.lot
    (True, Lot(value='L1'))

    ```
    """

    gtin: Gtin = attrs.field(converter=_to_gtin)
    """The product (one packaging level)."""
    lot: Lot | None = attrs.field(default=None, converter=_to_lot)
    """The lot, or ``None`` for products not managed by lot."""
    serial: Serial | None = attrs.field(default=None, converter=_to_serial)
    """The serial, or ``None`` for products not managed by serial."""

    @property
    def is_serialised(self) -> bool:
        """Whether this key names one serialised unit."""
        return self.serial is not None

    def sort_key(self) -> tuple[str, str, str]:
        """A total order: GTIN, then lot, then serial (``None`` before any value)."""
        return (
            self.gtin.value,
            "" if self.lot is None else "\x01" + self.lot.value,
            "" if self.serial is None else "\x01" + self.serial.value,
        )

    def __str__(self) -> str:
        text = f"(01){self.gtin.value}"
        if self.lot is not None:
            text += f"(10){self.lot.value}"
        if self.serial is not None:
            text += f"(21){self.serial.value}"
        return text
