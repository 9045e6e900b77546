"""Product and item identifiers: GTIN, lot, serial and the stock item key.

A stock item is identified by ``(device, lot, serial)``, where the device is a UDI-DI
of any issuing agency ([`DeviceIdentifier`][medinv.devices.DeviceIdentifier]). GTINs are
kept as GTIN-14 with a verified check digit; GTIN-8, -12 and -13 input is
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

from medinv._slots import slot_setters
from medinv.devices import DeviceIdentifier, InvalidDeviceIdentifierError, IssuingAgency, gs1_mod10
from medinv.errors import InvalidGtinError, InvalidIdentifierError, InvalidValueError

__all__ = [
    "GS1_AI82_CHARACTERS",
    "LOT_SERIAL_CHARACTERS",
    "Gtin",
    "ItemKey",
    "Lot",
    "NotGs1Error",
    "Serial",
    "device_from_text",
    "device_of",
    "device_text",
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
    return gs1_mod10(payload)


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


def _to_lot(value: Lot | str | None) -> Lot | None:
    if value is None or isinstance(value, Lot):
        return value
    return Lot(value)


def _to_serial(value: Serial | str | None) -> Serial | None:
    if value is None or isinstance(value, Serial):
        return value
    return Serial(value)


_GS1: Final = IssuingAgency.GS1
_DEVICES: dict[str, DeviceIdentifier] = {}
"""What `device_of` has read: input text -> DI."""
_STORED: dict[str, DeviceIdentifier] = {}
"""What `device_from_text` has read: stored text -> DI (stricter than `device_of`)."""
_DEVICES_LIMIT: Final = 65_536
_GTINS: dict[str, Gtin] = {}


def device_text(device: DeviceIdentifier) -> str:
    """The text an item key's device identifier is stored and hashed under.

    A GS1 DI is its fourteen digits, exactly as GTINs have always been stored; an
    HIBC or MA DI is its canonical ``AGENCY:DI`` text, which can never be fourteen
    digits, so the two never collide.
    [`device_from_text`][medinv.identifiers.device_from_text] reads it back.

    ```pycon
    >>> from medinv.devices import DeviceIdentifier
    >>> device_text(DeviceIdentifier.parse("4006381333931"))
    '04006381333931'
    >>> device_text(DeviceIdentifier.parse("HIBCC:A123BJC5D6E71"))
    'HIBCC:A123BJC5D6E71'

    ```
    """
    return device.value if device.agency is _GS1 else f"{device.agency.value}:{device.value}"


def device_from_text(text: str) -> DeviceIdentifier:
    """The device identifier of an item key's stored text (the inverse of `device_text`).

    Fourteen digits are a GS1 DI; any other text must carry its agency
    (``HIBCC:...``, ``MA:...``).

    Raises:
        InvalidDeviceIdentifierError: the text is not the stored form of a DI.
    """
    found = _STORED.get(text)
    if found is not None:
        return found
    given: object = text
    if not isinstance(given, str):
        reason = f"expected the stored text of a device identifier, got {type(given).__name__}"
        raise InvalidDeviceIdentifierError(None, given, reason)
    if ":" in text:
        device = DeviceIdentifier.parse(text)
        if device_text(device) != text:
            reason = f"not in stored form; the stored text of this DI is {device_text(device)!r}"
            raise InvalidDeviceIdentifierError(device.agency, text, reason)
    elif len(text) == 14:  # noqa: PLR2004  (a GTIN-14)
        device = DeviceIdentifier.of(_GS1, text)
    else:
        reason = "the stored text of a DI is a GTIN-14 or AGENCY:DI (HIBCC:..., MA:...)"
        raise InvalidDeviceIdentifierError(None, text, reason)
    if len(_STORED) >= _DEVICES_LIMIT:
        _STORED.clear()
    _STORED[text] = device
    return device


def _remember(text: str, device: DeviceIdentifier) -> DeviceIdentifier:
    if len(_DEVICES) >= _DEVICES_LIMIT:
        _DEVICES.clear()
    _DEVICES[text] = device
    return device


def device_of(value: object) -> DeviceIdentifier:
    """The device identifier an item key would be built from.

    A [`DeviceIdentifier`][medinv.devices.DeviceIdentifier] as it is, a
    [`Gtin`][medinv.identifiers.Gtin] or bare GTIN digits as GS1, ``AGENCY:DI`` text
    (``HIBCC:A123BJC5D6E71``, ``MA:MA.156.M0.100350.01004YA10017``, ``GS1:...``) as
    its agency's.

    Raises:
        InvalidGtinError: bare text that is not a GTIN (an HIBC or MA DI needs its prefix).
        InvalidDeviceIdentifierError: ``AGENCY:DI`` text that breaks the agency's rules,
            or a value of another type.
    """
    if type(value) is Gtin:
        return _DEVICES.get(value.value) or _remember(
            value.value, DeviceIdentifier.of(_GS1, value.value)
        )
    if isinstance(value, str):
        found = _DEVICES.get(value)
        if found is not None:
            return found
        if ":" in value:
            return _remember(value, DeviceIdentifier.parse(value))
        # Bare text is a GTIN, as it always was (with the GTIN's own error): an HIBC
        # DI must name its agency, so that a GTIN mistyped with a letter is refused.
        return _remember(value, DeviceIdentifier.of(_GS1, Gtin(value).value))
    if isinstance(value, DeviceIdentifier):
        return value
    if isinstance(value, Gtin):
        return DeviceIdentifier.of(_GS1, value.value)
    reason = (
        "an item's device is a DeviceIdentifier, a Gtin, GTIN digits or AGENCY:DI text, "
        f"not {type(value).__name__}"
    )
    raise InvalidDeviceIdentifierError(None, value, reason)


class NotGs1Error(InvalidValueError):
    """An item key's GTIN was asked for, but its device identifier is not a GS1 one."""

    def __init__(self, item: ItemKey) -> None:
        self.item = item
        """The item key."""
        self.agency = item.device.agency
        """The agency that issued its device identifier."""
        super().__init__(
            f"item {item} has no GTIN: its device identifier was issued by "
            f"{self.agency.value}, not GS1 (read ItemKey.device instead)"
        )


class _CachedHash:
    """The slot an item key keeps its hash in (not a field: not compared, not pickled)."""

    __slots__ = ("_hash",)
    _hash: int


_SET_HASH: Final = _CachedHash.__dict__["_hash"].__set__


@attrs.frozen(init=False, eq=False)
class ItemKey(_CachedHash):
    """The identity of a stock item: ``(device, lot, serial)``; lot and serial may be ``None``.

    The device is a UDI-DI of any issuing agency (GS1, HIBCC, MA code); every rule
    applies alike to all three. Build a key from a
    [`DeviceIdentifier`][medinv.devices.DeviceIdentifier], a [`Gtin`][medinv.identifiers.Gtin],
    GTIN digits (always GS1) or the DI's ``AGENCY:DI`` text; ``gtin=`` is accepted as
    the device's keyword. Keys of different agencies never compare equal.

    A serialised item (``serial`` not ``None``) has quantity 0 or 1 across the whole
    ledger at any time (see [the rules](../explanation/rules.md#identifiers)).

    ```pycon
    >>> a = ItemKey("04006381333931", lot="L1", serial="S1")
    >>> a.is_serialised, a.lot, a.gtin
    (True, Lot(value='L1'), Gtin(value='04006381333931'))
    >>> b = ItemKey("HIBCC:A123BJC5D6E71", lot="L1")
    >>> str(b), b.device.agency.value
    ('HIBCC:A123BJC5D6E71 [lot L1]', 'HIBCC')

    ```

    Raises:
        InvalidGtinError: bare text that is not a GTIN.
        InvalidDeviceIdentifierError: ``AGENCY:DI`` text that breaks the agency's rules.
        InvalidIdentifierError: a lot or serial outside its character set or length.
    """

    device: DeviceIdentifier
    """The device identifier (one packaging level of one product), of any agency."""
    lot: Lot | None
    """The lot, or ``None`` for products not managed by lot."""
    serial: Serial | None
    """The serial, or ``None`` for products not managed by serial."""

    def __init__(
        self,
        device: DeviceIdentifier | Gtin | str | None = None,
        lot: Lot | str | None = None,
        serial: Serial | str | None = None,
        *,
        gtin: Gtin | str | None = None,
    ) -> None:
        if gtin is not None:
            if device is not None:
                msg = "give an item key's device once: either device or gtin, not both"
                raise InvalidValueError(msg)
            device = gtin
        _SET_DEVICE(self, device if type(device) is DeviceIdentifier else device_of(device))
        _SET_LOT(self, lot if lot is None or type(lot) is Lot else _to_lot(lot))
        _SET_SERIAL(
            self, serial if serial is None or type(serial) is Serial else _to_serial(serial)
        )

    @property
    def gtin(self) -> Gtin:
        """The GTIN of a GS1 key.

        Raises:
            NotGs1Error: the key's device identifier was issued by HIBCC or the MA code
                (read [`device`][medinv.identifiers.ItemKey.device]).
        """
        device = self.device
        if device.agency is not _GS1:
            raise NotGs1Error(self)
        found = _GTINS.get(device.value)
        if found is None:
            if len(_GTINS) >= _DEVICES_LIMIT:
                _GTINS.clear()
            found = _GTINS[device.value] = Gtin(device.value)
        return found

    @property
    def device_text(self) -> str:
        """The device's stored text: the GTIN-14 for GS1, ``AGENCY:DI`` otherwise."""
        device = self.device
        return device.value if device.agency is _GS1 else f"{device.agency.value}:{device.value}"

    @property
    def is_serialised(self) -> bool:
        """Whether this key names one serialised unit."""
        return self.serial is not None

    def sort_key(self) -> tuple[str, str, str]:
        """A total order: device (its stored text), then lot, then serial (``None`` first).

        GS1 keys order by GTIN as they always did; HIBC and MA keys (whose stored text
        starts with a letter) sort after them.
        """
        return (
            self.device_text,
            "" if self.lot is None else "\x01" + self.lot.value,
            "" if self.serial is None else "\x01" + self.serial.value,
        )

    # The DI's text alone tells its agency (the shapes never overlap), so the hash is
    # that of the texts; equality still compares the agencies.
    def __eq__(self, other: object) -> bool:
        if type(other) is not ItemKey:
            return NotImplemented
        return self.device == other.device and self.lot == other.lot and self.serial == other.serial

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:  # first use, or unpickled in another process
            value = hash((self.device.value, self.lot, self.serial))
            _SET_HASH(self, value)
            return value

    def __str__(self) -> str:
        """GS1 keys in GS1 element-string form; others as ``AGENCY:DI [lot L] [serial S]``.

        Brackets are in neither a lot's nor a serial's character set, so the text is
        unambiguous.
        """
        device, lot, serial = self.device, self.lot, self.serial
        gs1 = device.agency is _GS1
        text = f"(01){device.value}" if gs1 else f"{device.agency.value}:{device.value}"
        if lot is not None:
            text += f"(10){lot.value}" if gs1 else f" [lot {lot.value}]"
        if serial is not None:
            text += f"(21){serial.value}" if gs1 else f" [serial {serial.value}]"
        return text


_SET_DEVICE, _SET_LOT, _SET_SERIAL = slot_setters(ItemKey, "device", "lot", "serial")
