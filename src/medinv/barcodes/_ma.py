"""The MA code (IDcode, issued by ZIIOT) that China's NMPA accepts for UDI.

Structure (MA(IDcode) coding manual for medical-device UDI, as summarised by the
issuing agency's registration service; see ``docs/explanation/hibc-and-ma-codes.md``)::

    MA.156.M0.<registrant>.<product>[.L<lot>][.S<serial>][.M<date>][.D<lot>]
                                     [.E<date>][.V<date>][.C<check>]

The first five dot-separated parts are the device identifier (issuing agency ``MA``,
country ``156``, industry ``M0`` for medical devices, 6-digit registrant code, product
code); the production-identifier units follow in any order, each once, with the
``.C`` check unit last.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

import pendulum

from medinv.barcodes._scan import MAX_SCAN_LENGTH, Agency, Carrier, Scan, too_long
from medinv.dates import DatePrecision
from medinv.errors import InvalidBarcodeError
from medinv.identifiers import LOT_SERIAL_CHARACTERS

__all__ = ["parse_ma"]

_COUNTRY_CHINA: Final = "156"
_INDUSTRY_MEDICAL: Final = "M0"
_COUNTRY: Final = re.compile(r"[0-9]{3}")
_INDUSTRY: Final = re.compile(r"[0-9A-Z]{2}")
_REGISTRANT: Final = re.compile(r"[0-9]{6}")
_PRODUCT: Final = re.compile(r"[0-9][0-9A-Za-z]{1,19}")
_TEXT: Final = re.compile(r"[0-9A-Za-z]{1,20}")
_DATE: Final = re.compile(r"[0-9]{6}(?:[0-9]{2})?")
_CHECK: Final = re.compile(r"[0-9A-Za-z]")
_LENIENT_TEXT_CHARACTERS: Final = LOT_SERIAL_CHARACTERS - {"."}
_MAX_TEXT: Final = 20
_SHOWN_LENGTH: Final = 80

_UNITS: Final[dict[str, str]] = {
    "L": "lot",
    "S": "serial",
    "M": "production date",
    "D": "sterilisation lot",
    "E": "expiry date",
    "V": "valid-until date",
    "C": "check",
}
_OLD_PRODUCTION_DATE: Final = "P"
_KNOWN: Final = ", ".join(f"'.{key}' ({name})" for key, name in _UNITS.items())


class _Reader:
    __slots__ = ("data", "lenient", "raw", "warnings")

    def __init__(self, data: str, raw: str, *, lenient: bool) -> None:
        self.data = data
        self.raw = raw
        self.lenient = lenient
        self.warnings: list[str] = []

    def error(self, message: str, position: int) -> InvalidBarcodeError:
        base = self.raw.find(self.data) if self.data else -1
        offset = position + max(base, 0)
        shown = self.raw if len(self.raw) <= _SHOWN_LENGTH else self.raw[:_SHOWN_LENGTH] + "..."
        return InvalidBarcodeError(
            f"invalid MA code {shown!r}: {message} (offset {offset})",
            text=self.raw,
            offset=offset,
        )

    def lint(self, message: str, position: int) -> None:
        """Refuse in strict mode; in lenient mode, record ``message`` as a warning."""
        if not self.lenient:
            raise self.error(message, position)
        self.warnings.append(f"MA code: {message}")

    def text(self, name: str, value: str, position: int) -> str:
        if _TEXT.fullmatch(value) is not None:
            return value
        if not value:
            raise self.error(f"the {name} is empty", position)
        if (
            self.lenient
            and len(value) <= _MAX_TEXT
            and all(char in _LENIENT_TEXT_CHARACTERS for char in value)
        ):
            self.warnings.append(f"MA {name} {value!r} is not 1 to 20 letters and digits")
            return value
        if len(value) > _MAX_TEXT:
            raise self.error(
                f"the {name} {value!r} is {len(value)} characters long; at most 20", position
            )
        bad = next(i for i, char in enumerate(value) if not char.isascii() or not char.isalnum())
        raise self.error(
            f"{value[bad]!r} in the {name} {value!r}; a {name} holds only letters and digits",
            position + bad,
        )

    def date(self, name: str, value: str, position: int) -> pendulum.Date:
        if _DATE.fullmatch(value) is None:
            raise self.error(
                f"the {name} {value!r} must be 6 digits YYMMDD or 8 digits YYYYMMDD", position
            )
        if len(value) == 6:  # noqa: PLR2004  (YYMMDD)
            year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:6])
        else:
            year, month, day = int(value[:4]), int(value[4:6]), int(value[6:8])
        try:
            dt.date(year, month, day)
        except ValueError:
            raise self.error(f"the {name} {value!r} is not a calendar date", position) from None
        return pendulum.date(year, month, day)


def parse_ma(data: str, *, raw: str, lenient: bool = False) -> Scan:
    """Parse an MA code (IDcode) as used for China NMPA UDI.

    ```pycon
    >>> code = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"
    >>> scan = parse_ma(code, raw=code)
    >>> scan.di, scan.lot, scan.serial, scan.production_date
    ('MA.156.M0.100350.01004YA10017', 'AY21062803', 'LMSAGAAAC', Date(2021, 6, 28))
    >>> scan.expiry, scan.valid_until
    (Date(2022, 6, 27), Date(2022, 6, 27))

    ```

    ``expiry`` is the earlier of the ``.E`` expiry date and the ``.V`` valid-until date,
    so that neither printed limit is overstepped; ``valid_until`` keeps ``.V`` as printed.
    The registrant's product check character and the ``.C`` check are read but not
    verified: their algorithm is not published (codes are issued by ZIIOT's service).

    Args:
        data: The MA code text (after any symbology identifier), starting with ``MA.``.
        raw: The scanner input as received.
        lenient: Also accept a country other than 156 or an industry other than M0, the
            pre-2020 ``.P`` production-date unit, and lots or serials with punctuation,
            reporting them in ``warnings``.

    Raises:
        InvalidBarcodeError: the text is not a valid MA code; the message and ``offset``
            say what was expected where.
    """
    for text in (data, raw):
        reason = too_long(text, "MA scan")
        if reason is not None:
            raise InvalidBarcodeError(reason, text=text[:80], offset=MAX_SCAN_LENGTH)
    reader = _Reader(data, raw, lenient=lenient)
    parts, starts = _device_identifier(reader)
    values = _units(reader, parts, starts)
    lot = serial = sterilisation_lot = None
    if "L" in values:
        lot = reader.text("lot", *values["L"])
    if "S" in values:
        serial = reader.text("serial", *values["S"])
    if "D" in values:
        sterilisation_lot = reader.text("sterilisation lot", *values["D"])
    production = expiry = valid_until = None
    if "M" in values:
        production = reader.date("production date", *values["M"])
    if "E" in values:
        expiry = reader.date("expiry date", *values["E"])
    if "V" in values:
        valid_until = reader.date("valid-until date", *values["V"])
        expiry = valid_until if expiry is None else min(expiry, valid_until)
    return Scan(
        agency=Agency.MA,
        carrier=Carrier.MA_CODE,
        di=".".join(parts[:5]),
        lot=lot,
        serial=serial,
        expiry=expiry,
        expiry_precision=None if expiry is None else DatePrecision.DAY,
        production_date=production,
        raw=raw,
        warnings=tuple(reader.warnings),
        valid_until=valid_until,
        sterilisation_lot=sterilisation_lot,
    )


def _device_identifier(reader: _Reader) -> tuple[list[str], list[int]]:
    """Split the code at the dots and validate the five device-identifier parts."""
    data = reader.data
    if not data.startswith("MA."):
        raise reader.error("an MA code starts with 'MA.'", 0)
    parts = data.split(".")
    starts = [0]
    for part in parts[:-1]:
        starts.append(starts[-1] + len(part) + 1)
    if len(parts) < 5:  # noqa: PLR2004  (the five device-identifier parts)
        raise reader.error(
            "expected the device identifier MA.<country>.<industry>.<registrant>.<product>, "
            f"found only {len(parts)} of its 5 parts",
            len(data),
        )
    country, industry, registrant, product = parts[1:5]
    if _COUNTRY.fullmatch(country) is None:
        raise reader.error(f"the country code must be 3 digits (156 for China), not {country!r}", 3)
    if country != _COUNTRY_CHINA:
        reader.lint(f"the country code is {country!r}; NMPA UDI codes use 156", starts[1])
    if _INDUSTRY.fullmatch(industry) is None:
        raise reader.error(
            f"the industry code must be 2 characters (M0), not {industry!r}", starts[2]
        )
    if industry != _INDUSTRY_MEDICAL:
        reader.lint(
            f"the industry code is {industry!r}; medical-device UDI codes use M0", starts[2]
        )
    if _REGISTRANT.fullmatch(registrant) is None:
        raise reader.error(f"the registrant code must be 6 digits, not {registrant!r}", starts[3])
    if _PRODUCT.fullmatch(product) is None:
        raise reader.error(
            "the product code must be a packaging digit followed by 1-19 letters or digits "
            f"(item code and check character), not {product!r}",
            starts[4],
        )
    return parts, starts


def _units(reader: _Reader, parts: list[str], starts: list[int]) -> dict[str, tuple[str, int]]:
    """The production-identifier units: identifier letter -> (value, offset of the value)."""
    values: dict[str, tuple[str, int]] = {}
    for index in range(5, len(parts)):
        part, start = parts[index], starts[index]
        if not part:
            raise reader.error(
                "empty production-identifier unit (two '.' in a row or a trailing '.')", start
            )
        key, value = part[0], part[1:]
        if key == _OLD_PRODUCTION_DATE:
            reader.lint("'.P' is the pre-2020 production-date unit; expected '.M'", start)
            key = "M"
        if key not in _UNITS:
            raise reader.error(
                f"unknown production-identifier unit '.{key}'; expected {_KNOWN}", start
            )
        if key in values:
            raise reader.error(f"the {_UNITS[key]} unit '.{key}' appears twice", start)
        if "C" in values:
            raise reader.error("the check unit '.C' must be the last unit", starts[index - 1])
        if key == "C" and _CHECK.fullmatch(value) is None:
            raise reader.error(
                f"the check unit '.C' takes one letter or digit, not {value!r}", start + 1
            )
        values[key] = (value, start + 1)
    return values
