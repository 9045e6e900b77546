"""FDA GUDID device records into products, pure and streaming.

Two shapes are read: the GUDID download's XML (``<device>`` elements of the
``http://www.fda.gov/cdrh/gudid`` namespace, under any enclosing element) and
openFDA's ``device/udi`` JSON (an object with a ``results`` array, a bare array of
records, or one record object per line). Both are read incrementally: memory stays
flat however many records a file holds.
"""

from __future__ import annotations

import codecs
import enum
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final, TypeGuard
from xml.etree import ElementTree as ET

import attrs

from medinv._text import text_validator
from medinv.catalogue._product import PackageLevel, PackagingError, Product
from medinv.catalogue._values import Controls, StorageCondition, TemperatureRange
from medinv.devices import DeviceIdentifier, InvalidDeviceIdentifierError, IssuingAgency
from medinv.errors import InvalidValueError
from medinv.quantity import MAX_QUANTITY

__all__ = [
    "FindingKind",
    "GudidFinding",
    "GudidFormatError",
    "GudidRecord",
    "iter_gudid_json",
    "iter_gudid_records",
    "iter_gudid_xml",
]

_CHUNK = 1 << 20  # characters (or bytes) read at a time
_MAX_DIGITS: Final = 19  # no quantity medinv holds has more
_NAME_LIMIT: Final = 500
_NAME_CHECK: Final = text_validator("product name", limit=_NAME_LIMIT)
_AGENCIES: Final = {"GS1": IssuingAgency.GS1, "HIBCC": IssuingAgency.HIBCC}
_TRUE: Final = frozenset({"true", "True", "TRUE", "1", "Y", "y", "yes"})
_TEMPERATURE_TYPES: Final = {
    "storage environment temperature": "temperature",
    "handling environment temperature": "handling_temperature",
}
_STORAGE_HUMIDITY: Final = "storage environment humidity"
_SPECIAL: Final = "special storage condition, specify"
_CELSIUS: Final = frozenset({"degrees celsius", "celsius", "°c", "c"})
_FAHRENHEIT: Final = frozenset({"degrees fahrenheit", "fahrenheit", "°f", "f"})
_KELVIN: Final = frozenset({"degrees kelvin", "kelvin", "k"})


class GudidFormatError(InvalidValueError):
    """A file that is not GUDID XML or openFDA JSON at all (malformed, truncated)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        """Which input (file name, or the kind of input)."""
        self.reason = reason
        """What is wrong, and where."""
        super().__init__(f"cannot read {source}: {reason}")


class FindingKind(enum.Enum):
    """What an import finding is about."""

    NO_PRIMARY_DI = "no primary DI"
    """The record has no (valid) primary DI: no product is built."""
    INVALID_DI = "invalid DI"
    """A DI that breaks its agency's rules (a wrong check digit ...)."""
    UNSUPPORTED_AGENCY = "unsupported agency"
    """A DI of an agency medinv does not handle (ICCBBA)."""
    UNKNOWN_CONTAINED_DI = "unknown contained DI"
    """A package contains a DI that is neither the primary DI nor another package DI of
    the record: the package is left out, never invented."""
    PACKAGE_CYCLE = "package cycle"
    """Packages containing each other: they are left out."""
    DUPLICATE_DI = "duplicate DI"
    """The same package DI twice: the first is kept."""
    INVALID_QUANTITY = "invalid quantity"
    """A package quantity that is not a whole number from 1."""
    INVALID_STORAGE = "invalid storage"
    """A storage or handling condition that cannot be read (unknown unit, low above high)."""
    INVALID_FIELD = "invalid field"
    """Another field that cannot be read (a flag that is neither true nor false ...)."""


@attrs.frozen(kw_only=True)
class GudidFinding:
    """Something in a record that was not imported as given, and why."""

    record: int
    """Zero-based position of the record in the input."""
    primary_di: str | None
    """The record's primary DI as given, for the reader to find it."""
    kind: FindingKind
    """What the finding is about."""
    message: str
    """What was found and what was done, in words."""


@attrs.frozen(kw_only=True)
class GudidRecord:
    """One device record: the product built from it (if any) and the findings."""

    index: int
    """Zero-based position of the record in the input."""
    record_key: str | None
    """GUDID's public device record key (``publicDeviceRecordKey``)."""
    product: Product | None
    """The product; ``None`` when the record has no usable primary DI."""
    findings: tuple[GudidFinding, ...]
    """What was left out or could not be read; empty for a clean record."""


# --------------------------------------------------------------------------- building

# Values many records share are built once: a catalogue of 100,000 products then
# holds a few thousand storage conditions instead of 100,000 (less memory, and fewer
# objects for the garbage collector to walk). They are immutable, so sharing is safe.
_CONTROLS: Final = {
    (lot, serial, expiry, made): Controls(
        lot=lot, serial=serial, expiry=expiry, production_date=made
    )
    for lot in (False, True)
    for serial in (False, True)
    for expiry in (False, True)
    for made in (False, True)
}
_RANGES: dict[tuple[Decimal | None, Decimal | None], TemperatureRange] = {}
_CONDITIONS: dict[tuple[object, ...], StorageCondition] = {}
_SHARED_LIMIT: Final = 4096


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    # JSON decodes objects as dicts: skip the ABC check (a tenth of a record's time).
    return type(value) is dict or isinstance(value, Mapping)


def _remember(cache: dict[Any, Any], key: object, value: object) -> None:
    if len(cache) >= _SHARED_LIMIT:
        cache.clear()
    cache[key] = value


class _Builder:
    """Builds one product from an openFDA-shaped record, collecting findings."""

    __slots__ = ("findings", "index", "primary_text")

    def __init__(self, index: int) -> None:
        self.index = index
        self.primary_text: str | None = None
        self.findings: list[GudidFinding] = []

    def note(self, kind: FindingKind, message: str) -> None:
        self.findings.append(
            GudidFinding(
                record=self.index, primary_di=self.primary_text, kind=kind, message=message
            )
        )

    def di(self, agency_text: object, text: object, what: str) -> DeviceIdentifier | None:
        if not isinstance(text, str) or not text.strip():
            self.note(FindingKind.INVALID_DI, f"{what} is empty")
            return None
        text = text.strip()
        agency = (
            _AGENCIES.get(agency_text.strip().upper()) if isinstance(agency_text, str) else None
        )
        if agency is None and agency_text not in (None, ""):
            self.note(
                FindingKind.UNSUPPORTED_AGENCY,
                f"{what} {text!r} is issued by {agency_text!r}, which medinv does not handle",
            )
            return None
        if agency is IssuingAgency.HIBCC and text.startswith("+"):
            text = text[1:]  # the HIBC flag character is not part of the DI
        try:
            if agency is None:
                return DeviceIdentifier.parse(text)
            return DeviceIdentifier.of(agency, text)
        except InvalidDeviceIdentifierError as e:
            self.note(FindingKind.INVALID_DI, f"{what}: {e}")
            return None

    def build(self, record: Mapping[str, Any]) -> GudidRecord:
        key = record.get("public_device_record_key")
        identifiers = record.get("identifiers")
        if not isinstance(identifiers, list):
            identifiers = []
        primary_entry = next(
            (i for i in identifiers if _is_map(i) and _text(i.get("type")) == "primary"),
            None,
        )
        if primary_entry is not None:
            raw_primary = primary_entry.get("id")
            self.primary_text = raw_primary if isinstance(raw_primary, str) else None
        primary = (
            None
            if primary_entry is None
            else self.di(
                primary_entry.get("issuing_agency"), primary_entry.get("id"), "the primary DI"
            )
        )
        if primary is None:
            self.note(FindingKind.NO_PRIMARY_DI, "no usable primary DI: no product imported")
            return GudidRecord(
                index=self.index,
                record_key=key if isinstance(key, str) else None,
                product=None,
                findings=tuple(self.findings),
            )
        levels = self.packages(primary, identifiers)
        fields: dict[str, Any] = {
            "primary_di": primary,
            "controls": self.controls(record),
            "implantable": self.implantable(record.get("gmdn_terms")),
            "storage": self.storage(record.get("storage")),
            "name": self.name(record),
        }
        try:
            product = Product(packages=levels.values(), **fields)
        except PackagingError:
            # Only now find out which packages do not lead down to the primary DI.
            try:
                product = Product(packages=self.linked(primary, levels), **fields)
            except PackagingError as e:
                self.note(FindingKind.INVALID_QUANTITY, f"{e}; packages left out")
                product = Product(**fields)
        return GudidRecord(
            index=self.index,
            record_key=key if isinstance(key, str) else None,
            product=product,
            findings=tuple(self.findings),
        )

    def packages(
        self, primary: DeviceIdentifier, identifiers: Iterable[Any]
    ) -> dict[DeviceIdentifier, PackageLevel]:
        levels: dict[DeviceIdentifier, PackageLevel] = {}
        for entry in identifiers:
            if not _is_map(entry) or _text(entry.get("type")) != "package":
                continue
            agency = entry.get("issuing_agency")
            di = self.di(agency, entry.get("id"), "a package DI")
            if di is None:
                continue
            contains = self.di(agency, entry.get("unit_of_use_id"), f"the DI contained in {di}")
            quantity = _whole(entry.get("quantity_per_package"))
            if quantity is None:
                self.note(
                    FindingKind.INVALID_QUANTITY,
                    f"package {di} has quantity {entry.get('quantity_per_package')!r}, not a "
                    "whole number from 1: package left out",
                )
                continue
            if contains is None:
                self.note(FindingKind.UNKNOWN_CONTAINED_DI, f"package {di} left out")
                continue
            if di == primary or di in levels:
                self.note(FindingKind.DUPLICATE_DI, f"package DI {di} appears twice; first kept")
                continue
            levels[di] = PackageLevel(di=di, contains=contains, quantity=quantity)
        return levels

    def linked(
        self, primary: DeviceIdentifier, levels: dict[DeviceIdentifier, PackageLevel]
    ) -> tuple[PackageLevel, ...]:
        """The packages that lead down to the primary DI; the others are reported."""
        good: set[DeviceIdentifier] = {primary}
        bad: set[DeviceIdentifier] = set()
        for start in levels:
            path: list[DeviceIdentifier] = []
            di = start
            while di not in good and di not in bad:
                if di in path:
                    cycle = " -> ".join(str(d) for d in [*path[path.index(di) :], di])
                    self.note(
                        FindingKind.PACKAGE_CYCLE, f"packages form a cycle ({cycle}): left out"
                    )
                    bad.update(path)
                    break
                level = levels.get(di)
                if level is None:
                    self.note(
                        FindingKind.UNKNOWN_CONTAINED_DI,
                        f"package {path[-1]} contains {di}, which is neither the primary DI "
                        f"{primary} nor a package DI of this record: left out, not invented",
                    )
                    bad.update(path)
                    break
                path.append(di)
                di = level.contains
            else:
                (good if di in good else bad).update(path)
                if di in bad and path:
                    self.note(
                        FindingKind.UNKNOWN_CONTAINED_DI,
                        f"package {path[0]} leads to a package that was left out: left out",
                    )
        return tuple(level for di, level in levels.items() if di in good)

    def controls(self, record: Mapping[str, Any]) -> Controls:
        key = (
            self.flag(record, "has_lot_or_batch_number"),
            self.flag(record, "has_serial_number"),
            self.flag(record, "has_expiration_date"),
            self.flag(record, "has_manufacturing_date"),
        )
        return _CONTROLS[key]

    def flag(self, record: Mapping[str, Any], name: str) -> bool:
        value = record.get(name)
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, str):
            if value in _TRUE:
                return True
            if value.strip().lower() in {"false", "0", "n", "no", ""}:
                return False
        self.note(
            FindingKind.INVALID_FIELD, f"{name} is {value!r}, neither true nor false: read as false"
        )
        return False

    def implantable(self, terms: object) -> bool:
        if not isinstance(terms, list):
            return False
        return any(
            _is_map(term)
            and (
                term.get("implantable") is True
                or (isinstance(term.get("implantable"), str) and term.get("implantable") in _TRUE)
            )
            for term in terms
        )

    def name(self, record: Mapping[str, Any]) -> str | None:
        for field in ("brand_name", "device_description"):
            value = record.get(field)
            if isinstance(value, str) and value.strip():
                text = " ".join(value.split())
                if len(text) > _NAME_LIMIT:
                    text = text[: _NAME_LIMIT - 3] + "..."
                try:
                    _NAME_CHECK(None, None, text)
                except InvalidValueError as e:
                    self.note(FindingKind.INVALID_FIELD, f"{field}: {e}; left out")
                    continue
                return text
        return None

    def storage(self, entries: object) -> StorageCondition | None:
        if not isinstance(entries, list) or not entries:
            return None
        ranges: dict[str, TemperatureRange] = {}
        humidity: tuple[Decimal | None, Decimal | None] = (None, None)
        notes: list[str] = []
        for entry in entries:
            if not _is_map(entry):
                continue
            kind = _text(entry.get("type"))
            special = entry.get("special_conditions")
            if isinstance(special, str) and special.strip():
                notes.append(" ".join(special.split())[:_NAME_LIMIT])
            if kind in _TEMPERATURE_TYPES:
                found = self.temperature(entry)
                field = _TEMPERATURE_TYPES[kind]
                if found is not None and field not in ranges:
                    ranges[field] = found
            elif kind == _STORAGE_HUMIDITY:
                humidity = (_number(entry.get("low")), _number(entry.get("high")))
            elif kind and kind != _SPECIAL:
                notes.extend(_other_condition(entry))
        return self.condition(ranges, humidity, notes)

    def condition(
        self,
        ranges: dict[str, TemperatureRange],
        humidity: tuple[Decimal | None, Decimal | None],
        notes: list[str],
    ) -> StorageCondition | None:
        if not ranges and humidity == (None, None) and not notes:
            return None
        key = (ranges.get("temperature"), ranges.get("handling_temperature"), humidity)
        shared = None if notes else _CONDITIONS.get(key)
        if shared is not None:
            return shared
        try:
            condition = StorageCondition(
                humidity_low=humidity[0], humidity_high=humidity[1], notes=tuple(notes), **ranges
            )
        except InvalidValueError as e:
            self.note(FindingKind.INVALID_STORAGE, f"storage conditions left out: {e}")
            return None
        if not notes:
            _remember(_CONDITIONS, key, condition)
        return condition

    def temperature(self, entry: Mapping[str, Any]) -> TemperatureRange | None:
        low, high = entry.get("low"), entry.get("high")
        low_value, high_value = _number(low), _number(high)
        if low_value is None and high_value is None:
            return None
        unit = (_unit(high) or _unit(low) or "").lower()
        try:
            if unit in _CELSIUS:
                key = (low_value, high_value)
                shared = _RANGES.get(key)
                if shared is None:
                    shared = TemperatureRange(low=low_value, high=high_value)
                    _remember(_RANGES, key, shared)
                return shared
            if unit in _FAHRENHEIT:
                return TemperatureRange.from_fahrenheit(low=low_value, high=high_value)
            if unit in _KELVIN:
                return TemperatureRange.from_kelvin(low=low_value, high=high_value)
        except InvalidValueError as e:
            self.note(FindingKind.INVALID_STORAGE, f"{entry.get('type')}: {e}; left out")
            return None
        self.note(
            FindingKind.INVALID_STORAGE,
            f"{entry.get('type')}: unknown temperature unit {unit!r}; left out",
        )
        return None


def _other_condition(entry: Mapping[str, Any]) -> list[str]:
    """Another condition (pressure, handling humidity ...) as a note: type, range and unit."""
    low, high = _number(entry.get("low")), _number(entry.get("high"))
    if low is None and high is None:
        return []
    unit = _unit(entry.get("high")) or _unit(entry.get("low")) or ""
    return [f"{entry.get('type')}: {low} to {high} {unit}".strip()]


def _text(value: object) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 1 <= value <= MAX_QUANTITY else None
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit() and text.isascii() and len(text) <= _MAX_DIGITS:
            number = int(text)
            return number if 1 <= number <= MAX_QUANTITY else None
    return None


def _unit(bound: object) -> str | None:
    if _is_map(bound):
        unit = bound.get("unit")
        if isinstance(unit, str) and unit.strip():
            return unit.strip()
    return None


def _number(bound: object) -> Decimal | None:
    if not _is_map(bound):
        return None
    value = bound.get("value")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and value.strip():
        try:
            return Decimal(value.strip())
        except ArithmeticError:
            return Decimal("NaN")  # refused by the range, reported as a finding
    return None


def iter_gudid_records(records: Iterable[Any]) -> Iterator[GudidRecord]:
    """Products from openFDA ``device/udi`` records already parsed into dicts.

    ```pycon
    >>> record = {
    ...     "identifiers": [
    ...         {"id": "00844588018923", "type": "Primary", "issuing_agency": "GS1"},
    ...         {"id": "10844588018920", "type": "Package", "issuing_agency": "GS1",
    ...          "unit_of_use_id": "00844588018923", "quantity_per_package": "25"},
    ...     ],
    ...     "has_lot_or_batch_number": "true",
    ... }
    >>> [result] = iter_gudid_records([record])
    >>> result.product.base_units_per("10844588018920"), result.product.controls.lot
    (25, True)

    ```
    """
    for index, record in enumerate(records):
        if not _is_map(record):
            builder = _Builder(index)
            builder.note(FindingKind.NO_PRIMARY_DI, f"the record is not an object: {record!r:.60}")
            yield GudidRecord(
                index=index, record_key=None, product=None, findings=tuple(builder.findings)
            )
            continue
        yield _Builder(index).build(record)


# --------------------------------------------------------------------------- XML


_LOCAL: dict[str, str] = {}
_LOCAL_LIMIT: Final = 4096


def _local(tag: str) -> str:
    """The tag without its namespace (remembered: a file uses a few dozen tags)."""
    name = _LOCAL.get(tag)
    if name is None:
        if len(_LOCAL) >= _LOCAL_LIMIT:
            _LOCAL.clear()
        name = _LOCAL[tag] = tag.rpartition("}")[2]
    return name


def _is_device(tag: str) -> bool:
    return tag.endswith("device") and (len(tag) == 6 or tag[-7] == "}")  # noqa: PLR2004


def _child_text(element: ET.Element) -> dict[str, str]:
    result: dict[str, str] = {}
    for child in element:
        text = child.text
        if text is not None and text.strip():
            result[_local(child.tag)] = text.strip()
    return result


def _bound(element: ET.Element | None) -> dict[str, str] | None:
    return None if element is None else _child_text(element)


_XML_FLAGS: Final = {
    "lotBatch": "has_lot_or_batch_number",
    "serialNumber": "has_serial_number",
    "expirationDate": "has_expiration_date",
    "manufacturingDate": "has_manufacturing_date",
    "brandName": "brand_name",
    "deviceDescription": "device_description",
    "publicDeviceRecordKey": "public_device_record_key",
}
_XML_IDENTIFIER: Final = {
    "deviceId": "id",
    "deviceIdType": "type",
    "deviceIdIssuingAgency": "issuing_agency",
    "containsDINumber": "unit_of_use_id",
    "pkgQuantity": "quantity_per_package",
}


def _xml_record(device: ET.Element) -> dict[str, Any]:
    """The fields medinv reads from one ``<device>``, in openFDA's names."""
    record: dict[str, Any] = {}
    for child in device:
        name = _local(child.tag)
        if name in _XML_FLAGS:
            if child.text is not None:
                record[_XML_FLAGS[name]] = child.text.strip()
        elif name == "identifiers":
            record["identifiers"] = [
                {_XML_IDENTIFIER[k]: v for k, v in _child_text(i).items() if k in _XML_IDENTIFIER}
                for i in child
            ]
        elif name == "gmdnTerms":
            record["gmdn_terms"] = [_child_text(term) for term in child]
        elif name == "environmentalConditions":
            storage = []
            for entry in child:
                parts = {_local(part.tag): part for part in entry}
                special = parts.get("storageHandlingSpecialConditionText")
                storage.append(
                    {
                        "type": _text_of(parts.get("storageHandlingType")),
                        "high": _bound(parts.get("storageHandlingHigh")),
                        "low": _bound(parts.get("storageHandlingLow")),
                        "special_conditions": _text_of(special),
                    }
                )
            record["storage"] = storage
    return record


def _text_of(element: ET.Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _open_binary(source: str | os.PathLike[str] | IO[bytes] | IO[str]) -> tuple[IO[Any], bool, str]:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).open("rb"), True, os.fspath(source)
    name = getattr(source, "name", None)
    return source, False, name if isinstance(name, str) else "the GUDID input"


def iter_gudid_xml(source: str | os.PathLike[str] | IO[bytes]) -> Iterator[GudidRecord]:
    """Products from GUDID XML, one ``<device>`` at a time (``iterparse``; flat memory).

    Args:
        source: A file name or a binary file object.

    Raises:
        GudidFormatError: the XML is malformed or truncated (records before the
            fault have been yielded).
    """
    stream, owned, name = _open_binary(source)
    try:
        index = 0
        open_elements: list[ET.Element] = []  # from the root down to the current element
        try:
            # expat fetches no external entity and (2.4.1+) refuses entity expansion
            # bombs; the standard library is all a domain module imports.
            for event, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
                if event == "start":
                    open_elements.append(element)
                    continue
                open_elements.pop()
                if not _is_device(element.tag):
                    continue
                record = _xml_record(element)
                yield _Builder(index).build(record)
                index += 1
                # Forget the device: the element that holds it keeps nothing read so far.
                if open_elements:
                    del open_elements[-1][:]
                else:
                    element.clear()
        except ET.ParseError as e:
            line, column = e.position
            raise GudidFormatError(
                name, f"malformed XML at line {line}, column {column}: {e}"
            ) from None
        except LookupError as e:  # an encoding declaration Python does not know
            raise GudidFormatError(name, f"unreadable XML: {e}") from None
    finally:
        if owned:
            stream.close()


# --------------------------------------------------------------------------- JSON


class _JsonStream:
    """Reads JSON values one at a time from a text stream (``raw_decode`` over a buffer)."""

    __slots__ = ("buffer", "decoder", "ended", "name", "position", "read")

    def __init__(self, stream: IO[Any], name: str) -> None:
        self.name = name
        self.decoder = json.JSONDecoder(parse_float=Decimal)
        self.buffer = ""
        self.position = 0
        self.ended = False
        probe = stream.read(0)
        if isinstance(probe, bytes):
            incremental = codecs.getincrementaldecoder("utf-8-sig")()

            def read_bytes() -> str:
                while True:
                    data = stream.read(_CHUNK)
                    text = incremental.decode(data, final=not data)
                    if text or not data:  # a chunk may end inside one character
                        return text

            self.read: Callable[[], str] = read_bytes
        else:
            self.read = lambda: stream.read(_CHUNK)

    def fail(self, reason: str) -> GudidFormatError:
        return GudidFormatError(self.name, reason)

    def fill(self) -> bool:
        """Read more; ``False`` at the end of the input."""
        if self.ended:
            return False
        try:
            more = self.read()
        except UnicodeDecodeError as e:
            raise self.fail(
                f"not UTF-8 text: {e.reason} in a read ending at byte {e.end}"
            ) from None
        if not more:
            self.ended = True
            return False
        self.buffer = self.buffer[self.position :] + more
        self.position = 0
        return True

    def peek(self) -> str:
        """The next non-blank character (not consumed), or ``""`` at the end."""
        while True:
            buffer, position = self.buffer, self.position
            while position < len(buffer) and buffer[position] in " \t\r\n":
                position += 1
            self.position = position
            if position < len(buffer):
                return buffer[position]
            if not self.fill():
                return ""

    def take(self, char: str) -> None:
        if self.peek() != char:
            found = self.peek() or "the end of the input"
            raise self.fail(f"expected {char!r}, found {found!r}")
        self.position += 1

    def value(self) -> Any:
        """Decode the next value whole."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.position)
            except json.JSONDecodeError as e:
                if self.fill():
                    continue
                raise self.fail(f"malformed or truncated JSON: {e.msg}") from None
            except (ValueError, RecursionError) as e:  # a 5,000-digit number, deep nesting
                raise self.fail(f"unreadable JSON value: {e}") from None
            if end == len(self.buffer) and not self.ended and self.fill():
                continue  # a number may go on in the next chunk
            self.position = end
            return value

    def array(self) -> Iterator[Any]:
        """The elements of the array that starts here, one at a time."""
        self.take("[")
        if self.peek() == "]":
            self.position += 1
            return
        while True:
            yield self.value()
            char = self.peek()
            self.position += 1
            if char == "]":
                return
            if char != ",":
                raise self.fail(f"expected ',' or ']' in the array, found {char or 'the end'!r}")


def _json_object(reader: _JsonStream) -> Iterator[Any]:
    """Read one top-level object member by member.

    An openFDA file's ``results`` array is streamed record by record; any other
    object is one record (one per line in JSON Lines).
    """
    reader.take("{")
    record: dict[str, Any] = {}
    streamed = False
    while reader.peek() != "}":
        key = reader.value()
        if not isinstance(key, str):
            raise reader.fail("expected a member name")
        reader.take(":")
        if key == "results" and reader.peek() == "[":
            yield from reader.array()
            streamed = True
        else:
            record[key] = reader.value()
        after = reader.peek()
        if after == ",":
            reader.position += 1
            if reader.peek() == "}":
                raise reader.fail(f"a ',' after member {key!r} ends the object")
        elif after != "}":
            shown = after or "the end of the input"
            raise reader.fail(f"expected ',' or '}}' after member {key!r}, found {shown!r}")
    reader.take("}")
    if not streamed:
        yield record


def _json_records(reader: _JsonStream) -> Iterator[Any]:
    first = reader.peek()
    if first == "[":
        yield from reader.array()
        if reader.peek():
            raise reader.fail("unexpected content after the array")
        return
    while first == "{":
        yield from _json_object(reader)
        first = reader.peek()
    if first:
        raise reader.fail(f"expected an object or an array, found {first!r}")


def iter_gudid_json(source: str | os.PathLike[str] | IO[bytes] | IO[str]) -> Iterator[GudidRecord]:
    """Products from openFDA ``device/udi`` JSON, one record at a time (flat memory).

    Reads the openFDA download (an object whose ``results`` array holds the
    records), a bare array of records, or JSON Lines (one record per line).

    Args:
        source: A file name or a file object (binary, UTF-8; or text).

    Raises:
        GudidFormatError: the JSON is malformed or truncated (records before the
            fault have been yielded).
    """
    stream, owned, name = _open_binary(source)
    try:
        yield from iter_gudid_records(_json_records(_JsonStream(stream, name)))
    finally:
        if owned:
            stream.close()
