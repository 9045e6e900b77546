"""Device identifiers (UDI-DI) of every issuing agency: GS1, HIBCC and the MA code.

A device identifier belongs to the agency that issued it. The same text never
names two devices: a GS1 DI is fourteen digits, an HIBC DI starts with a letter, an
MA DI with ``MA.``, so the agency can always be told from the text. Identifiers of
different agencies never compare equal.

The canonical text form is ``AGENCY:DI``; [`DeviceIdentifier.parse`][medinv.devices.DeviceIdentifier.parse]
reads it back, and also reads a bare DI (GTIN-8/12/13/14, HIBC or MA):

```pycon
>>> from medinv.devices import DeviceIdentifier
>>> di = DeviceIdentifier.parse("4006381333931")
>>> str(di), di.agency.value, di.packaging_level
('GS1:04006381333931', 'GS1', 0)
>>> hibc = DeviceIdentifier.parse("HIBCC:A123BJC5D6E71")
>>> hibc.lic, hibc.product_code, hibc.packaging_level
('A123', 'BJC5D6E7', 1)
>>> DeviceIdentifier.parse("MA.156.M0.100350.01004YA10017").registrant
'100350'
>>> DeviceIdentifier.parse("GS1:04006381333932")
Traceback (most recent call last):
...
medinv.devices.InvalidDeviceIdentifierError: invalid GS1 device identifier '04006381333932': the check digit should be 1, not 2

```
"""  # noqa: E501  (doctest output is one line)

from __future__ import annotations

import enum
import re
from typing import Any, Final, Protocol

import attrs

from medinv._slots import new_instance, slot_setters
from medinv.errors import InvalidValueError

__all__ = [
    "DeviceIdentifier",
    "InvalidDeviceIdentifierError",
    "IssuingAgency",
    "ScanWithDevice",
]


class IssuingAgency(enum.Enum):
    """The agency that issued a device identifier (an FDA-accredited or NMPA-accepted one).

    The values are those of [`medinv.barcodes.Agency`][medinv.barcodes.Agency], so a
    scan's agency converts by value.
    """

    GS1 = "GS1"
    """GS1: the DI is a GTIN, kept as GTIN-14."""
    HIBCC = "HIBCC"
    """Health Industry Business Communications Council: LIC + product code + unit of measure."""
    MA = "MA"
    """China's MA code (IDcode): ``MA.<country>.<industry>.<registrant>.<product>``."""

    __hash__ = object.__hash__


class InvalidDeviceIdentifierError(InvalidValueError):
    """A device identifier that does not follow its issuing agency's rules."""

    def __init__(
        self, agency: IssuingAgency | None, value: object, reason: str, *, offset: int | None = None
    ) -> None:
        self.agency = agency
        """The agency whose rules were applied (``None`` when it could not be told)."""
        self.value = value
        """The input as given."""
        self.reason = reason
        """What is wrong with it."""
        self.offset = offset
        """Zero-based position of the offending character in the DI, where there is one."""
        who = f"{agency.value} " if agency is not None else ""
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"invalid {who}device identifier {value!r}{where}: {reason}")


_GTIN_LENGTHS: Final = (8, 12, 13, 14)
_DIGITS: Final = re.compile(r"[0-9]+")
_HIBC_LIC: Final = re.compile(r"[A-Z][A-Z0-9]{3}")
_HIBC_ALNUM: Final = re.compile(r"[A-Z0-9]+")
_HIBC_MAX_PRODUCT: Final = 18
_LIC_LENGTH: Final = 4
_MA_PARTS: Final = 5
_MA_COUNTRY: Final = re.compile(r"[0-9]{3}")
_MA_INDUSTRY: Final = re.compile(r"[0-9A-Z]{2}")
_MA_REGISTRANT: Final = re.compile(r"[0-9]{6}")
_MA_PRODUCT: Final = re.compile(r"[0-9][0-9A-Za-z]{1,19}")
_MAX_TEXT: Final = 64


def gs1_mod10(payload: str) -> int:
    """The GS1 mod-10 check digit of ``payload`` (digits, without the check digit).

    The one implementation, here at the bottom of the layers; published as
    [`medinv.identifiers.gs1_check_digit`][medinv.identifiers.gs1_check_digit].
    Weights 3 and 1 from the right.
    """
    return -(3 * sum(map(int, payload[-1::-2])) + sum(map(int, payload[-2::-2]))) % 10


def _gs1(text: str) -> str:
    agency = IssuingAgency.GS1
    if len(text) not in _GTIN_LENGTHS:
        reason = f"a GTIN has 8, 12, 13 or 14 digits, not {len(text)}"
        raise InvalidDeviceIdentifierError(agency, text, reason)
    if _DIGITS.fullmatch(text) is None:
        offset = next(i for i, char in enumerate(text) if not "0" <= char <= "9")
        raise InvalidDeviceIdentifierError(agency, text, "a GTIN holds digits only", offset=offset)
    expected = str(gs1_mod10(text[:-1]))
    if text[-1] != expected:
        reason = f"the check digit should be {expected}, not {text[-1]}"
        raise InvalidDeviceIdentifierError(agency, text, reason)
    return text.rjust(14, "0")


def _hibc(text: str) -> str:
    agency = IssuingAgency.HIBCC
    if len(text) < _LIC_LENGTH + 2 or len(text) > _LIC_LENGTH + _HIBC_MAX_PRODUCT + 1:
        reason = (
            "an HIBC DI is a 4-character labeler code (LIC), a product code of 1 to 18 "
            f"letters or digits and a unit-of-measure digit: 6 to 23 characters, not {len(text)}"
        )
        raise InvalidDeviceIdentifierError(agency, text, reason)
    if text.startswith("+"):
        reason = "the HIBC flag character '+' is part of the barcode, not of the DI"
        raise InvalidDeviceIdentifierError(agency, text, reason, offset=0)
    if _HIBC_LIC.fullmatch(text[:_LIC_LENGTH]) is None:
        reason = (
            f"the labeler code (LIC) {text[:_LIC_LENGTH]!r} must be a letter followed by "
            "3 upper-case letters or digits"
        )
        raise InvalidDeviceIdentifierError(agency, text, reason, offset=0)
    if _HIBC_ALNUM.fullmatch(text) is None:
        offset = next(
            i for i, char in enumerate(text) if not ("A" <= char <= "Z" or char.isdigit())
        )
        reason = f"{text[offset]!r}: the product code holds upper-case letters and digits only"
        raise InvalidDeviceIdentifierError(agency, text, reason, offset=offset)
    if not "0" <= text[-1] <= "9":
        reason = f"the unit-of-measure indicator (last character) must be a digit, not {text[-1]!r}"
        raise InvalidDeviceIdentifierError(agency, text, reason, offset=len(text) - 1)
    return text


def _ma(text: str) -> str:
    agency = IssuingAgency.MA
    parts = text.split(".")
    if len(parts) != _MA_PARTS or parts[0] != "MA":
        reason = (
            "an MA DI has the 5 parts MA.<country>.<industry>.<registrant>.<product> "
            "(production identifiers such as .L lot are not part of it)"
        )
        raise InvalidDeviceIdentifierError(agency, text, reason)
    checks = (
        (_MA_COUNTRY, "the country code must be 3 digits (156 for China)"),
        (_MA_INDUSTRY, "the industry code must be 2 upper-case letters or digits (M0)"),
        (_MA_REGISTRANT, "the registrant code must be 6 digits"),
        (_MA_PRODUCT, "the product code must be a packaging digit and 1 to 19 letters or digits"),
    )
    offset = 3
    for part, (pattern, reason) in zip(parts[1:], checks, strict=True):
        if pattern.fullmatch(part) is None:
            raise InvalidDeviceIdentifierError(
                agency, text, f"{reason}, not {part!r}", offset=offset
            )
        offset += len(part) + 1
    return text


_CANONICAL: Final = {
    IssuingAgency.GS1: _gs1,
    IssuingAgency.HIBCC: _hibc,
    IssuingAgency.MA: _ma,
}
_SEEN: dict[tuple[IssuingAgency, str], DeviceIdentifier] = {}
_SEEN_LIMIT: Final = 65_536
"""How many identifiers are remembered by the text they were built from (an import
names each DI several times: as a package, then as the DI another package contains)."""


def _agency_of(text: str) -> IssuingAgency:
    """The agency a bare DI belongs to: digits are GS1, ``MA.`` the MA code, a letter HIBC."""
    if text[:1].isdigit():
        return IssuingAgency.GS1
    if text.startswith("MA."):
        return IssuingAgency.MA
    if "A" <= text[:1] <= "Z":
        return IssuingAgency.HIBCC
    reason = (
        "cannot tell the issuing agency: a GS1 DI is digits, an HIBC DI starts with an "
        "upper-case letter, an MA DI with 'MA.'"
    )
    raise InvalidDeviceIdentifierError(None, text, reason, offset=0)


class ScanWithDevice(Protocol):
    """What [`DeviceIdentifier.from_scan`][medinv.devices.DeviceIdentifier.from_scan] reads.

    A [`medinv.barcodes.Scan`][medinv.barcodes.Scan] is one.
    """

    @property
    def agency(self) -> enum.Enum:
        """The issuing agency (its value is ``"GS1"``, ``"HIBCC"`` or ``"MA"``)."""

    @property
    def di(self) -> str | None:
        """The device identifier the scan names, if any."""

    @property
    def raw(self) -> str:
        """The scanner input as received."""


def _check_value(instance: DeviceIdentifier, _attribute: object, value: Any) -> None:
    agency: object = instance.agency
    if not isinstance(agency, IssuingAgency):
        reason = f"the agency must be an IssuingAgency, not {agency!r}"
        raise InvalidDeviceIdentifierError(None, value, reason)
    if not isinstance(value, str):
        reason = f"expected text, got {type(value).__name__}"
        raise InvalidDeviceIdentifierError(agency, value, reason)
    if _CANONICAL[agency](value) != value:
        reason = "not in canonical form; build it with DeviceIdentifier.of() or .parse()"
        raise InvalidDeviceIdentifierError(agency, value, reason)


@attrs.frozen(eq=False)
class DeviceIdentifier:
    """A device identifier (UDI-DI) and the agency that issued it.

    Each packaging level has its own DI (a box and its eaches are different DIs),
    whatever the agency. Build one with [`of`][medinv.devices.DeviceIdentifier.of],
    [`parse`][medinv.devices.DeviceIdentifier.parse] or
    [`from_scan`][medinv.devices.DeviceIdentifier.from_scan]; the constructor takes
    the canonical value only.

    Raises:
        InvalidDeviceIdentifierError: the value breaks the agency's rules.
    """

    agency: IssuingAgency
    """Who issued the identifier."""
    value: str = attrs.field(validator=_check_value)
    """The DI in canonical form: the GTIN-14 (GS1); LIC, product code and unit-of-measure
    digit (HIBCC); ``MA.<country>.<industry>.<registrant>.<product>`` (MA)."""

    @classmethod
    def of(cls, agency: IssuingAgency | str, value: str) -> DeviceIdentifier:
        """The DI ``value`` of ``agency``, normalised (a GTIN-13 becomes a GTIN-14).

        ```pycon
        >>> DeviceIdentifier.of("GS1", "96385074").value
        '00000096385074'

        ```

        Raises:
            InvalidDeviceIdentifierError: an unknown agency, or a value that breaks its rules.
        """
        if not isinstance(agency, IssuingAgency):
            try:
                agency = IssuingAgency(agency)
            except ValueError:
                known = ", ".join(member.value for member in IssuingAgency)
                reason = f"unknown issuing agency {agency!r}: expected one of {known}"
                raise InvalidDeviceIdentifierError(None, value, reason) from None
        given: object = value
        if not isinstance(given, str):
            reason = f"expected text, got {type(given).__name__}"
            raise InvalidDeviceIdentifierError(agency, given, reason)
        seen = _SEEN.get((agency, value))
        if seen is not None:
            return seen
        # The value has just been checked: set the slots without the constructor's
        # second check (the one trick of medinv's hot paths, see medinv._slots).
        made = new_instance(cls)
        _SET_AGENCY(made, agency)
        _SET_VALUE(made, _CANONICAL[agency](value))
        if len(_SEEN) >= _SEEN_LIMIT:
            _SEEN.clear()
        _SEEN[agency, value] = made
        return made

    @classmethod
    def gs1(cls, gtin: str) -> DeviceIdentifier:
        """A GS1 DI from a GTIN-8, -12, -13 or -14 (a [`Gtin`][medinv.identifiers.Gtin]'s value)."""
        return cls.of(IssuingAgency.GS1, gtin)

    @classmethod
    def hibc(cls, lic: str, product_code: str, unit_of_measure: int) -> DeviceIdentifier:
        """An HIBC DI from its three parts.

        ```pycon
        >>> str(DeviceIdentifier.hibc("A123", "BJC5D6E7", 1))
        'HIBCC:A123BJC5D6E71'

        ```
        """
        if isinstance(unit_of_measure, bool) or not isinstance(unit_of_measure, int):
            reason = f"the unit of measure is a digit 0-9, not {unit_of_measure!r}"
            raise InvalidDeviceIdentifierError(IssuingAgency.HIBCC, unit_of_measure, reason)
        if not isinstance(lic, str) or len(lic) != _LIC_LENGTH:
            reason = f"the labeler code (LIC) has 4 characters, not {lic!r}"
            raise InvalidDeviceIdentifierError(IssuingAgency.HIBCC, lic, reason)
        if not isinstance(product_code, str) or not product_code:
            reason = f"the product code is 1 to 18 letters or digits, not {product_code!r}"
            raise InvalidDeviceIdentifierError(IssuingAgency.HIBCC, product_code, reason)
        if not 0 <= unit_of_measure <= 9:  # noqa: PLR2004  (one digit)
            reason = f"the unit of measure is a digit 0-9, not {unit_of_measure}"
            raise InvalidDeviceIdentifierError(IssuingAgency.HIBCC, unit_of_measure, reason)
        return cls.of(IssuingAgency.HIBCC, f"{lic}{product_code}{unit_of_measure}")

    @classmethod
    def parse(cls, text: str) -> DeviceIdentifier:
        """Read the text form ``AGENCY:DI``, or a bare DI whose agency is told by its shape.

        Surrounding blanks are ignored. A bare DI of digits is GS1, one starting with
        ``MA.`` is an MA code, one starting with an upper-case letter is HIBC.

        Raises:
            InvalidDeviceIdentifierError: unknown agency prefix, or the DI breaks its rules.
        """
        given: object = text
        if not isinstance(given, str):
            reason = f"expected text, got {type(given).__name__}"
            raise InvalidDeviceIdentifierError(None, given, reason)
        text = text.strip()
        if len(text) > _MAX_TEXT:
            reason = f"longer than {_MAX_TEXT} characters; no device identifier is"
            raise InvalidDeviceIdentifierError(None, text[:_MAX_TEXT] + "...", reason)
        prefix, colon, rest = text.partition(":")
        if colon:
            return cls.of(prefix, rest)
        if not text:
            raise InvalidDeviceIdentifierError(None, text, "empty")
        return cls.of(_agency_of(text), text)

    @classmethod
    def from_scan(cls, scan: ScanWithDevice) -> DeviceIdentifier:
        """The DI a parsed scan names ([`medinv.barcodes.Scan`][medinv.barcodes.Scan]).

        ```pycon
        >>> from medinv.barcodes import parse_scan
        >>> str(DeviceIdentifier.from_scan(parse_scan("+A123BJC5D6E71G")))
        'HIBCC:A123BJC5D6E71'

        ```

        Raises:
            InvalidDeviceIdentifierError: the scan names no device (an SSCC alone, an HIBC
                secondary or provider label alone), or an agency medinv does not know.
        """
        if scan.di is None:
            reason = "the scan names no device identifier (an SSCC or a secondary label alone?)"
            raise InvalidDeviceIdentifierError(None, scan.raw, reason)
        return cls.of(str(scan.agency.value), scan.di)

    @property
    def gtin(self) -> str | None:
        """The GTIN-14 of a GS1 DI; ``None`` for the other agencies."""
        return self.value if self.agency is IssuingAgency.GS1 else None

    @property
    def packaging_level(self) -> int:
        """The packaging digit the DI carries.

        That is the GTIN's indicator digit, the HIBC unit-of-measure digit, or the MA
        product code's packaging digit. 0 is the base unit for GS1 and HIBC; higher
        digits are packaging levels (GS1 9 and HIBC 9 mark variable measures).
        Conversions between levels never use this digit: they use the packaging
        hierarchy of the product.
        """
        if self.agency is IssuingAgency.GS1:
            return ord(self.value[0]) - 48
        if self.agency is IssuingAgency.HIBCC:
            return ord(self.value[-1]) - 48
        return ord(self.value.rsplit(".", 1)[1][0]) - 48

    @property
    def lic(self) -> str | None:
        """The HIBC labeler identification code; ``None`` for the other agencies."""
        return self.value[:_LIC_LENGTH] if self.agency is IssuingAgency.HIBCC else None

    @property
    def product_code(self) -> str | None:
        """The HIBC product (catalogue) code, or the MA product code; ``None`` for GS1."""
        if self.agency is IssuingAgency.HIBCC:
            return self.value[_LIC_LENGTH:-1]
        if self.agency is IssuingAgency.MA:
            return self.value.rsplit(".", 1)[1]
        return None

    @property
    def registrant(self) -> str | None:
        """The MA registrant code (6 digits); ``None`` for the other agencies."""
        return self.value.split(".")[3] if self.agency is IssuingAgency.MA else None

    # The DI text alone decides the agency (their shapes never overlap), so hashing the
    # text is enough; CPython caches a string's hash, which keeps dict lookups cheap.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is not DeviceIdentifier:
            return NotImplemented
        return self.value == other.value and self.agency is other.agency

    def __hash__(self) -> int:
        return hash(self.value)

    def sort_key(self) -> tuple[str, str]:
        """A total order: agency, then DI text."""
        return (self.agency.value, self.value)

    def __str__(self) -> str:
        return f"{self.agency.value}:{self.value}"


_SET_AGENCY, _SET_VALUE = slot_setters(DeviceIdentifier, "agency", "value")
