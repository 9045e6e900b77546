"""HIBC Supplier Labeling Standard (ANSI/HIBC 2.6): primary, secondary and concatenated data.

Provider Applications Standard labels (ANSI/HIBC 1.3, ``+/...``: a hospital's own
label) are recognised and returned as such, with their data type and data.

The parser is table-driven: the character values of the mod-43 check, the date formats
of the secondary data and the supplemental data identifiers are module-level tables,
and every date text seen is converted once and cached. See
``docs/explanation/hibc-and-ma-codes.md`` for the structure and the rules enforced.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from typing import Final, NamedTuple

import pendulum

from medinv.barcodes._scan import MAX_SCAN_LENGTH, Agency, Carrier, Scan, too_long
from medinv.dates import DatePrecision, last_day_of_month
from medinv.errors import InvalidBarcodeError

__all__ = ["hibc_check_character", "link_hibc", "parse_hibc"]

HIBC_CHARACTERS: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
"""The 43 characters of HIBC data, in mod-43 value order (``"0"`` is 0, ``"%"`` is 42)."""

_HIBC_SET: Final = frozenset(HIBC_CHARACTERS)
# Byte -> mod-43 value, for bytes.translate (characters outside the set are refused earlier).
_VALUES: Final = bytes(max(HIBC_CHARACTERS.find(chr(code)), 0) for code in range(256))
_BAD_CHARACTER: Final = re.compile(r"[^0-9A-Z\-. $/+%]")
_NOT_ALNUM: Final = re.compile(r"[^0-9A-Z]")
_DIGITS_ONLY: Final = re.compile(r"[0-9]+")
# Lot and serial: the Code 39 data characters that are not HIBC structure ("$", "/",
# "+" and "%" are): letters, digits, "-", "." and space, at most 18 (20 in lenient mode).
_STRICT_TEXT: Final = re.compile(r"[0-9A-Z\-. ]{1,18}")
_LENIENT_TEXT: Final = re.compile(r"[0-9A-Z\-. ]{1,20}")
_PROVIDER_TYPES: Final = {
    "A": "labeler identification code",
    "B": "service identification",
    "C": "patient identification",
    "D": "specimen identification",
    "E": "personnel identification",
    "F": "administrable product identification",
    "G": "implantable product information",
    "H": "hospital item identification",
    "I": "medical procedure identification",
    "J": "reimbursement category",
    "K": "blood product identification",
    "L": "demographic data",
    "M": "date and time",
    "N": "asset identification",
    "O": "purchase order number",
    "P": "dietary item identification",
    "Q": "manufacturer serial number",
    "R": "library materials identification",
    "S": "business control number",
    "T": "episode of care identification",
    "U": "health industry number",
    "V": "patient visit identification",
    "X": "XML document",
    "Z": "user defined",
}
"""ANSI/HIBC 1.3 Provider Applications Standard: the data type after ``+/``."""

_LIC_LENGTH: Final = 4
_MAX_PRODUCT_LENGTH: Final = 18
_MIN_SECONDARY_SYMBOL: Final = 4  # "+", one data character, link, check
_MIN_PRIMARY_SYMBOL: Final = 8  # "+", LIC, one product character, unit, check
_SHOWN_LENGTH: Final = 60

# Secondary data date formats after "$$" / "$$+" (and after a quantity): flag -> (name, length).
# "0" and "1" are not flags: they are the first digit of an MMYY month.
_DATE_FORMATS: Final[dict[str, tuple[str, int]]] = {
    "0": ("MMYY", 4),
    "1": ("MMYY", 4),
    "2": ("MMDDYY", 6),
    "3": ("YYMMDD", 6),
    "4": ("YYMMDDHH", 8),
    "5": ("YYJJJ", 5),
    "6": ("YYJJJHH", 7),
}
_FLAG_LENGTH: Final[dict[str, int]] = {"0": 0, "1": 0, "2": 1, "3": 1, "4": 1, "5": 1, "6": 1}
_NO_DATE: Final = "7"
_QUANTITY_LENGTH: Final[dict[str, int]] = {"8": 2, "9": 5}
_MAX_QUANTITY_DIGITS: Final = 8
_JULIAN_LENGTH: Final = 5
# Supplemental data (ANSI MH10.8.2 data identifiers after "/"): prefix -> field.
_SUPPLEMENTAL_DATES: Final[dict[str, str]] = {"14D": "expiry", "16D": "production date"}
_LONG_DATE_LENGTH: Final = 8

_DateValue = tuple[pendulum.Date, DatePrecision, pendulum.DateTime | None]
_DATE_CACHE: dict[tuple[str, str], _DateValue | str] = {}
_DATE_CACHE_LIMIT: Final = 8192


def hibc_check_character(data: str) -> str:
    """The HIBC mod-43 check character of ``data`` (everything before the check character).

    Each character has a value (``0``-``9`` are 0-9, ``A``-``Z`` 10-35, then ``-`` ``.``
    space ``$`` ``/`` ``+`` ``%`` are 36-42); the check character is the one whose value
    is the sum of all values modulo 43. The leading ``+`` counts.

    ```pycon
    >>> hibc_check_character("+A123BJC5D6E71")
    'G'
    >>> hibc_check_character("+A99912345/$$52001510X3/16D20111212/S77DE1G45")
    '-'

    ```

    Raises:
        InvalidBarcodeError: ``data`` holds a character outside the 43 HIBC characters.
    """
    bad = _BAD_CHARACTER.search(data)
    if bad is not None:
        raise InvalidBarcodeError(
            f"{bad.group()!r} is not an HIBC character (offset {bad.start()})",
            text=data,
            offset=bad.start(),
        )
    return HIBC_CHARACTERS[sum(data.encode("ascii").translate(_VALUES)) % 43]


def _check_of(data: str, start: int, end: int) -> str:
    # Only called on text already restricted to the HIBC characters.
    return HIBC_CHARACTERS[sum(data[start:end].encode("ascii").translate(_VALUES)) % 43]


# --------------------------------------------------------------------------- dates


class _Layout(NamedTuple):
    """Where the parts of one date format sit (``None``: the format has no such part)."""

    year: slice
    month: slice | None
    day: slice | None
    julian: slice | None
    hour: slice | None


_LAYOUTS: Final[dict[str, _Layout]] = {
    "MMYY": _Layout(slice(2, 4), slice(0, 2), None, None, None),
    "MMDDYY": _Layout(slice(4, 6), slice(0, 2), slice(2, 4), None, None),
    "YYMMDD": _Layout(slice(0, 2), slice(2, 4), slice(4, 6), None, None),
    "YYMMDDHH": _Layout(slice(0, 2), slice(2, 4), slice(4, 6), None, slice(6, 8)),
    "YYJJJ": _Layout(slice(0, 2), None, None, slice(2, 5), None),
    "YYJJJHH": _Layout(slice(0, 2), None, None, slice(2, 5), slice(5, 7)),
    "YYYYMMDD": _Layout(slice(0, 4), slice(4, 6), slice(6, 8), None, None),
}


def _convert(fmt: str, text: str) -> _DateValue | str:  # noqa: PLR0911  (one exit per refusal)
    """Convert a date text; a ``str`` result is the reason it is not a date.

    Two-digit years are 2000-2099; HIBC hours are GMT (UTC).
    """
    if _DIGITS_ONLY.fullmatch(text) is None:
        return f"the {fmt} date {text!r} must be digits only"
    layout = _LAYOUTS[fmt]
    year_text = text[layout.year]
    year = int(year_text) + (2000 if len(year_text) == 2 else 0)  # noqa: PLR2004
    if layout.julian is not None:
        ordinal, last = int(text[layout.julian]), 366 if calendar.isleap(year) else 365
        if not 1 <= ordinal <= last:
            return f"the {fmt} date {text!r} has no day {ordinal:03d} in {year} (001-{last})"
        day = dt.date(year, 1, 1) + dt.timedelta(days=ordinal - 1)
    elif layout.day is None:
        month = int(text[layout.month or slice(0)])
        if not 1 <= month <= 12:  # noqa: PLR2004  (months)
            return f"the {fmt} expiry {text!r} has no month {month:02d}"
        return last_day_of_month(year, month), DatePrecision.MONTH, None
    else:
        try:
            day = dt.date(year, int(text[layout.month or slice(0)]), int(text[layout.day]))
        except ValueError:
            return f"the {fmt} date {text!r} is not a calendar date"
    date = pendulum.date(day.year, day.month, day.day)
    if layout.hour is None:
        return date, DatePrecision.DAY, None
    hour = int(text[layout.hour])
    if hour > 23:  # noqa: PLR2004  (hours of the day)
        return f"the {fmt} date {text!r} has hour {hour:02d} (00-23)"
    moment = pendulum.datetime(day.year, day.month, day.day, hour, tz=pendulum.UTC)
    return date, DatePrecision.DAY, moment


def _date(fmt: str, text: str) -> _DateValue | str:
    key = (fmt, text)
    value = _DATE_CACHE.get(key)
    if value is None:
        value = _convert(fmt, text)
        if len(_DATE_CACHE) >= _DATE_CACHE_LIMIT:
            _DATE_CACHE.clear()
        _DATE_CACHE[key] = value
    return value


# --------------------------------------------------------------------------- the reader


class _Reader:
    """The state of one parse: the text and the fields found so far."""

    __slots__ = (
        "data",
        "expiry",
        "expiry_datetime",
        "lenient",
        "lot",
        "precision",
        "production_date",
        "quantity",
        "raw",
        "serial",
        "warnings",
    )

    def __init__(self, data: str, raw: str, *, lenient: bool) -> None:
        self.data = data
        self.raw = raw
        self.lenient = lenient
        self.warnings: list[str] = []
        self.lot: str | None = None
        self.serial: str | None = None
        self.expiry: pendulum.Date | None = None
        self.precision: DatePrecision | None = None
        self.expiry_datetime: pendulum.DateTime | None = None
        self.production_date: pendulum.Date | None = None
        self.quantity: int | None = None

    def error(self, message: str, position: int) -> InvalidBarcodeError:
        """The error for ``message`` at ``position`` of ``data`` (offset counted in raw)."""
        base = self.raw.find(self.data) if self.data else -1
        offset = position + max(base, 0)
        shown = self.raw if len(self.raw) <= _SHOWN_LENGTH else self.raw[:_SHOWN_LENGTH] + "..."
        return InvalidBarcodeError(
            f"invalid HIBC code {shown!r}: {message} (offset {offset})",
            text=self.raw,
            offset=offset,
        )

    def verify(self, expected: str, position: int, what: str) -> None:
        """Refuse the data unless ``data[position]`` is the ``expected`` check character."""
        found = self.data[position]
        if found != expected:
            raise self.error(
                f"the {what} is {found!r} but the data calls for {expected!r}: the label is "
                "misprinted or was misread; scan it again",
                position,
            )

    # ----------------------------------------------------------------- fields

    def text_field(self, kind: str, start: int, end: int) -> str:
        """Validate a lot or serial ``data[start:end]``."""
        value = self.data[start:end]
        if _STRICT_TEXT.fullmatch(value) is not None:
            return value
        if not value:
            raise self.error(
                f"the {kind} is empty; expected 1 to 18 letters, digits, '-', '.' or spaces",
                start,
            )
        if self.lenient and _LENIENT_TEXT.fullmatch(value) is not None:
            self.warnings.append(f"HIBC {kind} {value!r} is longer than 18 characters")
            return value
        bad = next(
            (
                i
                for i, char in enumerate(value)
                if not ("0" <= char <= "9" or "A" <= char <= "Z" or char in "-. ")
            ),
            None,
        )
        if bad is None:
            raise self.error(
                f"the {kind} {value!r} is {len(value)} characters long; at most 18", start
            )
        raise self.error(
            f"{value[bad]!r} in the {kind} {value!r}; a {kind} holds only letters A-Z, digits, "
            "'-', '.' and spaces",
            start + bad,
        )

    def set_lot(self, value: str, position: int) -> None:
        if self.lot is not None and self.lot != value:
            raise self.error(f"a second lot {value!r} conflicts with lot {self.lot!r}", position)
        self.lot = value

    def set_serial(self, value: str, position: int) -> None:
        if self.serial is not None and self.serial != value:
            raise self.error(
                f"a second serial {value!r} conflicts with serial {self.serial!r}", position
            )
        self.serial = value

    def set_expiry(self, value: _DateValue, position: int) -> None:
        date, precision, moment = value
        if self.expiry is not None:
            if self.expiry != date:
                raise self.error(
                    f"a second expiry {date} conflicts with expiry {self.expiry}", position
                )
            if self.precision is DatePrecision.DAY:
                return
        self.expiry, self.precision = date, precision
        if moment is not None:
            self.expiry_datetime = moment

    def date_at(self, fmt: str, start: int, length: int, end: int) -> _DateValue:
        if start + length > end:
            raise self.error(
                f"the {fmt} date needs {length} digits but only {end - start} follow", start
            )
        value = _date(fmt, self.data[start : start + length])
        if isinstance(value, str):
            raise self.error(value, start)
        return value

    # ----------------------------------------------------------------- secondary data

    def flagged(self, start: int, end: int, *, quantity_allowed: bool = True) -> int:
        """Read the date field after ``$$``/``$$+`` (or after a quantity); return where it ends."""
        if start >= end:
            raise self.error("expected a date format digit 0-9 after '$$'", start)
        flag = self.data[start]
        fmt = _DATE_FORMATS.get(flag)
        if fmt is not None:
            name, length = fmt
            begin = start + _FLAG_LENGTH[flag]
            self.set_expiry(self.date_at(name, begin, length, end), begin)
            return begin + length
        if flag == _NO_DATE:
            return start + 1
        size = _QUANTITY_LENGTH.get(flag)
        if size is not None and quantity_allowed:
            digits = self.data[start + 1 : min(start + 1 + size, end)]
            if len(digits) < size or _DIGITS_ONLY.fullmatch(digits) is None:
                raise self.error(f"quantity format {flag} needs {size} digits after it", start + 1)
            if self.quantity is not None:
                raise self.error("a second quantity", start)
            quantity = int(digits)
            if quantity == 0:
                raise self.error("the quantity is 0; a package holds at least 1", start + 1)
            self.quantity = quantity
            after = start + 1 + size
            if after == end:  # a quantity with no date and no lot
                return after
            return self.flagged(after, end, quantity_allowed=False)
        expected = "a date format digit 0-7" if size is not None else "a date format digit 0-9"
        raise self.error(f"expected {expected}, found {flag!r}", start)

    def segment(self, start: int, end: int, *, first: bool) -> None:
        """Read one secondary data segment ``data[start:end]`` (between ``/`` separators)."""
        data = self.data
        if start >= end:
            raise self.error(
                "empty secondary data field (two '/' in a row or a trailing '/')", start
            )
        head = data[start]
        if head == "$":
            self.dollar_segment(start, end)
        elif data[start : start + 3] in _SUPPLEMENTAL_DATES:
            self.supplemental_date(start, end)
        elif head == "S":
            self.set_serial(self.text_field("serial", start + 1, end), start + 1)
        elif head == "Q":
            self.supplemental_quantity(start + 1, end)
        elif first and "0" <= head <= "9":
            # The oldest secondary format: a five-digit Julian expiry YYJJJ, then the lot.
            self.set_expiry(self.date_at("YYJJJ", start, _JULIAN_LENGTH, end), start)
            if start + _JULIAN_LENGTH < end:
                self.set_lot(self.text_field("lot", start + _JULIAN_LENGTH, end), start + 5)
        elif first:
            raise self.error(
                f"secondary data must start with '$', '$$', '$+', '$$+' or a Julian date "
                f"YYJJJ, not {head!r}",
                start,
            )
        else:
            raise self.error(
                f"unknown supplemental data field starting {data[start:end][:4]!r}; "
                "expected '14D' (expiry), '16D' (manufacture date), 'S' (serial) or 'Q' (quantity)",
                start,
            )

    def supplemental_date(self, start: int, end: int) -> None:
        """Read a ``/14D`` expiry or ``/16D`` manufacture date ``YYYYMMDD``."""
        value = self.date_at("YYYYMMDD", start + 3, _LONG_DATE_LENGTH, end)
        if start + 3 + _LONG_DATE_LENGTH != end:
            raise self.error(
                f"'/{self.data[start : start + 3]}' takes exactly 8 digits YYYYMMDD", start + 3
            )
        if self.data[start + 1] == "4":
            self.set_expiry(value, start + 3)
        else:
            self.production_date = value[0]

    def supplemental_quantity(self, start: int, end: int) -> None:
        """Read a ``/Q`` quantity: 1 to 8 digits, at least 1."""
        digits = self.data[start:end]
        if not 1 <= len(digits) <= _MAX_QUANTITY_DIGITS or _DIGITS_ONLY.fullmatch(digits) is None:
            raise self.error("'/Q' takes a quantity of 1 to 8 digits", start)
        if self.quantity is not None:
            raise self.error("a second quantity", start - 1)
        if int(digits) == 0:
            raise self.error("the quantity is 0; a package holds at least 1", start)
        self.quantity = int(digits)

    def dollar_segment(self, start: int, end: int) -> None:
        """Read a ``$`` lot, ``$+`` serial, ``$$`` dated lot or ``$$+`` dated serial field."""
        data = self.data
        if data.startswith("$$", start):
            serial = data.startswith("$$+", start)
            after = self.flagged(start + (3 if serial else 2), end)
            if serial:
                self.set_serial(self.text_field("serial", after, end), after)
            elif after < end:
                self.set_lot(self.text_field("lot", after, end), after)
        elif data.startswith("$+", start):
            self.set_serial(self.text_field("serial", start + 2, end), start + 2)
        else:
            self.set_lot(self.text_field("lot", start + 1, end), start + 1)

    def secondary(self, start: int, end: int) -> None:
        """Read the secondary data ``data[start:end]`` (no flag character, link or check)."""
        first = True
        slash = self.data.find("/", start, end)
        while slash >= 0:
            self.segment(start, slash, first=first)
            first = False
            start = slash + 1
            slash = self.data.find("/", start, end)
        self.segment(start, end, first=first)

    def secondary_symbol(self, start: int, link: str | None) -> str:
        """Read a secondary symbol ``+ data link check`` at ``start``; return its link char."""
        data = self.data
        end = len(data)
        if end - start < _MIN_SECONDARY_SYMBOL:
            raise self.error(
                "the secondary symbol is too short: expected '+', secondary data, "
                "link character and check character",
                start,
            )
        self.verify(_check_of(data, start, end - 1), end - 1, "secondary check character")
        found = data[end - 2]
        if link is not None and found != link:
            raise self.error(
                f"the secondary's link character {found!r} does not match the primary's check "
                f"character {link!r}: the two symbols belong to different products",
                end - 2,
            )
        # A secondary's data may not start with "+" (it would read as a second flag).
        if data[start + 1] == "+":
            raise self.error("secondary data cannot start with '+'", start + 1)
        self.secondary(start + 1, end - 2)
        return found

    def primary(self, body_end: int) -> tuple[str, str]:
        """Validate primary data ``data[1:body_end]``; return (device identifier, check)."""
        data = self.data
        size = body_end - 1
        if size < _LIC_LENGTH + 2:
            raise self.error(
                "the primary data is too short: expected '+', a 4-character labeler code "
                "(LIC), a product number of 1-18 letters or digits, a unit-of-measure digit "
                "and a check character",
                body_end if body_end < len(data) else len(data) - 1,
            )
        if size - _LIC_LENGTH - 1 > _MAX_PRODUCT_LENGTH:
            raise self.error(
                f"the product number is {size - _LIC_LENGTH - 1} characters long; at most 18",
                1 + _LIC_LENGTH,
            )
        unit = data[body_end - 1]
        if not "0" <= unit <= "9":
            raise self.error(
                f"the unit-of-measure indicator must be a digit 0-9, not {unit!r}", body_end - 1
            )
        return data[1:body_end], _check_of(data, 0, body_end)


def parse_hibc(data: str, *, raw: str, lenient: bool = False) -> Scan:
    """Parse HIBC Supplier Labeling data: primary, secondary, concatenated or two symbols.

    ``data`` is the scanner text after any symbology identifier and starts with ``+``;
    ``raw`` is the input as received (kept in `Scan.raw` and
    used for error offsets).

    ```pycon
    >>> scan = parse_hibc("+A99912345/$$3251231LOT427", raw="+A99912345/$$3251231LOT427")
    >>> scan.di, scan.lot, scan.expiry, scan.carrier.value
    ('A99912345', 'LOT42', Date(2025, 12, 31), 'HIBC concatenated')

    ```

    Args:
        data: The HIBC text, starting with ``+``.
        raw: The scanner input as received.
        lenient: Also accept lots and serials 19-20 characters long, reporting them in
            ``warnings``. Check and link characters are verified in both modes.

    Raises:
        InvalidBarcodeError: the text is not valid HIBC data; the message and ``offset``
            say what was expected where.
    """
    for text in (data, raw):
        reason = too_long(text, "HIBC scan")
        if reason is not None:
            raise InvalidBarcodeError(reason, text=text[:80], offset=MAX_SCAN_LENGTH)
    fast = _FAST.match(data)
    if fast is not None and data[-1] in _HIBC_SET:
        scan = _fast_concatenated(fast, data, raw)
        if scan is not None:
            return scan
    return _parse_general(data, raw, lenient=lenient)


def _parse_general(data: str, raw: str, *, lenient: bool) -> Scan:
    """Every form and every refusal (``parse_hibc`` tries a faster path first)."""
    reader = _Reader(data, raw, lenient=lenient)
    size = len(data)
    if size < 2 or data[0] != "+":  # noqa: PLR2004  (flag and one character)
        raise reader.error(
            "HIBC data starts with '+' followed by the data", 1 if data == "+" else 0
        )
    bad = _BAD_CHARACTER.search(data)
    if bad is not None:
        char = bad.group()
        hint = " (lower-case: is Caps Lock on at the scanner?)" if char.islower() else ""
        raise reader.error(
            f"{char!r} is not an HIBC character; HIBC uses A-Z, 0-9, space and - . $ / + %{hint}",
            bad.start(),
        )
    head = data[1]
    if "0" <= head <= "9" or head == "$":
        try:
            link = reader.secondary_symbol(0, None)
        except InvalidBarcodeError:
            scan = _secondary_then_primary(data, raw, lenient=lenient)
            if scan is None:
                raise
            return scan
        return _scan(reader, Carrier.HIBC_SECONDARY, None, link)
    if head == "/":
        return _provider(reader)
    if not "A" <= head <= "Z":
        raise reader.error(
            f"expected a labeler code starting with a letter or secondary data, not {head!r}", 1
        )
    return _primary_led(reader)


# The most common label, in one regular expression: concatenated primary and "$$" or "$$+"
# secondary data with a YYMMDD or MMYY expiry (or none), optional "/S" serial and "/16D"
# manufacture date. Anything else, and anything this path doubts, takes the general path.
_FAST: Final = re.compile(
    r"\+([A-Z][0-9A-Z]{5,22})/\$\$(\+?)(?:3([0-9]{6})|([01][0-9]{3})|7)([0-9A-Z]{1,18})"
    r"(?:/S([0-9A-Z]{1,18}))?(?:/16D([0-9]{8}))?.",
    re.DOTALL,
)


def _fast_concatenated(match: re.Match[str], data: str, raw: str) -> Scan | None:
    """The scan for a ``_FAST`` match, or ``None`` to leave the label to the general path."""
    if match.end() != len(data):
        return None
    di, plus, yymmdd, mmyy, text, serial, made = match.groups()
    if not "0" <= di[-1] <= "9" or (plus and serial is not None):
        return None
    values = data.encode("ascii").translate(_VALUES)
    primary_end = len(di) + 1
    primary_sum = sum(values[:primary_end])
    if HIBC_CHARACTERS[(primary_sum + sum(values[primary_end:-1])) % 43] != data[-1]:
        return None
    expiry = (
        None
        if yymmdd is None and mmyy is None
        else _date("YYMMDD" if mmyy is None else "MMYY", yymmdd or mmyy)
    )
    production = None if made is None else _date("YYYYMMDD", made)
    if isinstance(expiry, str) or isinstance(production, str):
        return None
    return Scan(
        agency=Agency.HIBCC,
        carrier=Carrier.HIBC_CONCATENATED,
        di=di,
        lot=None if plus else text,
        serial=text if plus else serial,
        expiry=None if expiry is None else expiry[0],
        expiry_precision=None if expiry is None else expiry[1],
        production_date=None if production is None else production[0],
        raw=raw,
        hibc_link=HIBC_CHARACTERS[primary_sum % 43],
    )


def _primary_after_secondary(data: str) -> Iterator[int]:
    """Where a primary symbol may start after a secondary read first: both checks agree."""
    size = len(data)
    start = data.find("+", _MIN_SECONDARY_SYMBOL)
    while 0 <= start <= size - _MIN_PRIMARY_SYMBOL:
        if (
            "A" <= data[start + 1] <= "Z"
            and data[start - 1] == _check_of(data, 0, start - 1)
            and data[-1] == _check_of(data, start, size - 1)
        ):
            yield start
        start = data.find("+", start + 1)


def _secondary_then_primary(data: str, raw: str, *, lenient: bool) -> Scan | None:
    """Two symbols read back to back in the other order: secondary, then its primary.

    Tried when the text starts like a secondary symbol but fails as one; every split whose
    two check characters agree is tried. ``None`` when there is no such split (the
    secondary's own error then stands); the first split's error when none reads.
    """
    first_error: InvalidBarcodeError | None = None
    for split in _primary_after_secondary(data):
        secondary = _Reader(data[:split], raw, lenient=lenient)
        try:
            primary = _parse_general(data[split:], raw, lenient=lenient)
            if primary.carrier is not Carrier.HIBC_PRIMARY or primary.hibc_link is None:
                raise secondary.error(
                    "a secondary symbol may be followed only by its primary symbol", split
                )
            secondary.secondary_symbol(0, primary.hibc_link)
        except InvalidBarcodeError as error:
            first_error = first_error or error
            continue
        return _scan(secondary, Carrier.HIBC_CONCATENATED, primary.di, primary.hibc_link)
    if first_error is not None:
        raise first_error
    return None


def _primary_led(reader: _Reader) -> Scan:
    """Primary data alone, concatenated with secondary data, or followed by a secondary."""
    data = reader.data
    size = len(data)
    run_end = _NOT_ALNUM.search(data, 1)
    stop = size if run_end is None else run_end.start()
    if stop >= size - 1:
        # Primary data alone: "+" LIC product unit check.
        di, check = reader.primary(size - 1)
        reader.verify(check, size - 1, "check character")
        return _scan(reader, Carrier.HIBC_PRIMARY, di, check)
    if data[stop] == "+" or data[stop + 1] == "+":
        # Two symbols read back to back: primary "+...C" then secondary "+...LC".
        if data[stop] == "+" and data[stop + 1] != "+":
            body_end, secondary_start = stop - 1, stop
        else:
            body_end, secondary_start = stop, stop + 1
        di, check = reader.primary(body_end)
        reader.verify(check, body_end, "primary check character")
        reader.secondary_symbol(secondary_start, check)
        return _scan(reader, Carrier.HIBC_CONCATENATED, di, check)
    if data[stop] != "/":
        raise reader.error(
            f"expected '/' and secondary data or the check character after the primary data, "
            f"found {data[stop]!r}",
            stop,
        )
    # Concatenated: "+" primary "/" secondary check.
    di, link = reader.primary(stop)
    reader.verify(_check_of(data, 0, size - 1), size - 1, "check character")
    reader.secondary(stop + 1, size - 1)
    return _scan(reader, Carrier.HIBC_CONCATENATED, di, link)


def _provider(reader: _Reader) -> Scan:
    """An HIBC Provider Applications Standard label: ``+/``, data type, data, check."""
    data = reader.data
    if len(data) < 5:  # noqa: PLR2004  ("+/", type, one data character, check)
        raise reader.error(
            "HIBC Provider Applications Standard data ('+/') needs a data type letter, "
            "data and a check character",
            len(data) - 1,
        )
    kind = data[2]
    if kind not in _PROVIDER_TYPES:
        raise reader.error(
            f"{kind!r} is not an HIBC Provider Applications Standard data type "
            f"(expected one of {''.join(_PROVIDER_TYPES)})",
            2,
        )
    reader.verify(_check_of(data, 0, len(data) - 1), len(data) - 1, "check character")
    return Scan(
        agency=Agency.HIBCC,
        carrier=Carrier.HIBC_PROVIDER,
        raw=reader.raw,
        hibc_provider_type=kind,
        hibc_provider_data=data[3:-1],
    )


def _scan(reader: _Reader, carrier: Carrier, di: str | None, link: str) -> Scan:
    return Scan(
        agency=Agency.HIBCC,
        carrier=carrier,
        di=di,
        lot=reader.lot,
        serial=reader.serial,
        expiry=reader.expiry,
        expiry_precision=reader.precision,
        expiry_datetime=reader.expiry_datetime,
        production_date=reader.production_date,
        quantity=reader.quantity,
        raw=reader.raw,
        warnings=tuple(reader.warnings),
        hibc_link=link,
    )


def link_hibc(primary: Scan, secondary: Scan) -> Scan:
    """Combine an HIBC primary and a secondary read as two separate scans into one scan.

    The secondary's link character must equal the primary's check character.

    ```pycon
    >>> p = parse_hibc("+A123BJC5D6E71G", raw="+A123BJC5D6E71G")
    >>> s = parse_hibc("+$$52001510X3GD", raw="+$$52001510X3GD")
    >>> both = link_hibc(p, s)
    >>> both.di, both.lot, both.expiry, both.raw
    ('A123BJC5D6E71', '10X3', Date(2020, 1, 15), '+A123BJC5D6E71G+$$52001510X3GD')

    ```

    Raises:
        InvalidBarcodeError: the scans are not an HIBC primary and secondary, or the link
            character does not match.
    """
    if primary.carrier is not Carrier.HIBC_PRIMARY or secondary.carrier is not (
        Carrier.HIBC_SECONDARY
    ):
        raise InvalidBarcodeError(
            f"expected an HIBC primary then an HIBC secondary scan, got "
            f"{primary.carrier.value} and {secondary.carrier.value}",
            text=primary.raw + secondary.raw,
        )
    if primary.hibc_link != secondary.hibc_link:
        raise InvalidBarcodeError(
            f"the secondary {secondary.raw!r} has link character {secondary.hibc_link!r} but "
            f"the primary {primary.raw!r} has check character {primary.hibc_link!r}: "
            "the two symbols belong to different products",
            text=primary.raw + secondary.raw,
            offset=len(primary.raw) + len(secondary.raw) - 2,
        )
    return Scan(
        agency=Agency.HIBCC,
        carrier=Carrier.HIBC_CONCATENATED,
        di=primary.di,
        lot=secondary.lot,
        serial=secondary.serial,
        expiry=secondary.expiry,
        expiry_precision=secondary.expiry_precision,
        expiry_datetime=secondary.expiry_datetime,
        production_date=secondary.production_date,
        quantity=secondary.quantity,
        raw=primary.raw + secondary.raw,
        warnings=primary.warnings + secondary.warnings,
        hibc_link=primary.hibc_link,
    )
