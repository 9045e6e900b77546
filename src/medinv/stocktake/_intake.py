"""Count line intake: scans, CSV files, and lines from several devices merged."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterable, Mapping
from typing import IO, Final

from medinv.barcodes import Scan, parse_scan
from medinv.dates import to_date, to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import (
    CountImportError,
    CountLineError,
    InvalidDateError,
    InvalidValueError,
    MedinvError,
)
from medinv.identifiers import ItemKey, Lot, Serial, device_of
from medinv.locations import Location
from medinv.status import StockStatus
from medinv.stocktake._model import CountLine, CountSource

__all__ = [
    "CSV_COLUMNS",
    "count_line_from_scan",
    "duplicate_serials",
    "import_counts",
    "import_counts_csv",
    "merge_lines",
]

CSV_COLUMNS: Final = (
    "location",
    "gtin",
    "lot",
    "serial",
    "quantity",
    "counted_at",
    "counter",
    "device",
    "status",
    "expiry",
    "line_id",
    "recount_of",
)
"""The columns a count file may have (header row, any order, case-insensitive).

Required: ``location``, ``gtin``, ``quantity``; ``counted_at`` and ``counter`` unless
given as defaults to [`import_counts_csv`][medinv.stocktake.import_counts_csv]. The
``gtin`` column names the device: GTIN digits, or another agency's DI with its prefix
(``HIBCC:A123BJC5D6E71``, ``MA:MA.156.M0.100350.01004YA10017``).
"""

_REQUIRED: Final = ("location", "gtin", "quantity")
_VERBATIM: Final = frozenset({"lot", "serial"})  # lots and serials are verbatim: no trimming


def count_line_from_scan(
    scan: Scan | str,
    *,
    line_id: str,
    counter: str,
    device: str,
    counted_at: dt.datetime | str,
    location: Location,
    quantity: int | None = None,
    status: StockStatus = StockStatus.AVAILABLE,
    recount_of: str | None = None,
    parse: Callable[[str], Scan] | None = None,
) -> CountLine:
    """A count line from one scanner read.

    Args:
        scan: the read, parsed (a [`Scan`][medinv.barcodes.Scan]) or as scanned text.
        line_id: the line's id (a device re-sending it sends the same id).
        counter: who scanned.
        device: which scanner.
        counted_at: when.
        location: the place being counted.
        quantity: units counted; default: the scan's own quantity (AI 30), else 1.
        status: the status counted.
        recount_of: the line this one recounts.
        parse: turns scanned text into a ``Scan``; default
            [`medinv.parse_scan`][medinv.barcodes.parse_scan] with its defaults (strict;
            pass ``functools.partial(parse_scan, tz=..., as_of=...)`` to set them).

    Raises:
        InvalidValueError: the text is not a valid barcode, or names no device (GTIN, HIBC
            or MA DI).
    """
    if isinstance(scan, str):
        scan = (parse or parse_scan)(scan)
    item = scan.item_key()
    if quantity is None:
        quantity = scan.quantity if scan.quantity is not None else 1
    return CountLine(
        id=line_id,
        counter=counter,
        device=device,
        counted_at=counted_at,
        location=location,
        item=item,
        quantity=quantity,
        status=status,
        expiry=scan.expiry,
        source=CountSource.SCAN,
        recount_of=recount_of,
        raw=scan.raw,
    )


def import_counts_csv(
    source: str | IO[str],
    *,
    counter: str | None = None,
    device: str = "csv",
    counted_at: dt.datetime | str | None = None,
    delimiter: str = ",",
) -> list[CountLine]:
    """Count lines from a CSV count file, all or nothing.

    The first row names the columns (see [`CSV_COLUMNS`][medinv.stocktake.CSV_COLUMNS]).
    Without a ``line_id`` column, line ids are derived from the file's content and the
    row number, so importing the same file twice adds nothing the second time.

    Args:
        source: the file's text, or an open text file.
        counter: who counted, for rows without a ``counter`` value.
        device: the device, for rows without a ``device`` value.
        counted_at: when, for rows without a ``counted_at`` value.
        delimiter: the field separator.

    Raises:
        CountImportError: the file has bad rows; ``problems`` names each row (the
            file's line number, header = 1) and column. No line is returned. Also
            raised, naming row 1 and column ``*``, for a source that is not text
            (bytes: decode them first), a file that cannot be read as text, and a
            delimiter that is not one character other than a quote or a line break;
            a cell holding a lone surrogate (text that is not valid Unicode) is
            named by its row and column.
    """
    _check_delimiter(delimiter)
    text = _read_text(source)
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    problems: list[tuple[int, str, str]] = []
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise CountImportError(((1, "*", f"unreadable CSV: {e}"),)) from e
    if header is None:
        raise CountImportError(((1, "*", "the file is empty: a header row is required"),))
    columns = [name.strip().lower().lstrip("\ufeff") for name in header]
    surrogates = [
        (1, name, _surrogate_problem(name)) for name in columns if _surrogate_problem(name)
    ]
    if surrogates:
        raise CountImportError(tuple(surrogates))
    _check_header(columns, counter=counter, counted_at=counted_at)
    defaults = {"counter": counter, "device": device, "counted_at": counted_at}
    lines: list[CountLine] = []
    row_number = 1
    try:
        for row_number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                problems.append(
                    (row_number, "*", f"expected {len(columns)} fields, found {len(row)}")
                )
                continue
            cells = {
                name: cell if name in _VERBATIM else cell.strip()
                for name, cell in zip(columns, row, strict=True)
            }
            line = _row_to_line(cells, defaults, row_number, digest, problems)
            if line is not None:
                lines.append(line)
    except csv.Error as e:
        problems.append((row_number + 1, "*", f"unreadable CSV: {e}"))
    if problems:
        raise CountImportError(tuple(problems))
    return lines


def import_counts(
    records: Iterable[Mapping[str, object]],
    *,
    counter: str | None = None,
    device: str = "api",
    counted_at: dt.datetime | str | None = None,
    source: CountSource = CountSource.MANUAL,
) -> list[CountLine]:
    """Count lines from structured records (a JSON API, a form), all or nothing.

    Each record is a mapping with the keys of [`CSV_COLUMNS`][medinv.stocktake.CSV_COLUMNS];
    values may be text or the matching value (``Location``, ``Gtin``, ``int``, an aware
    ``datetime``, a ``date``, a ``StockStatus``). Missing ``counter``, ``device`` and
    ``counted_at`` take the defaults given here. Without ``line_id``, ids are derived
    from the records' content and position (sending the same records twice adds
    nothing the second time).

    ```pycon
    >>> lines = import_counts([{"location": "Main/A1", "gtin": "4006381333931", "quantity": 4,
    ...                         "counter": "ana", "counted_at": "2026-11-23T10:00:00+01:00"}])
    >>> lines[0].quantity, lines[0].source.value
    (4, 'MANUAL')

    ```

    Raises:
        CountImportError: bad records; ``problems`` name each record (1-based) and key.
    """
    problems: list[tuple[int, str, str]] = []
    rows: list[dict[str, str]] = []
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        problem = f"expected an iterable of records, got {type(records).__name__}"
        raise CountImportError(((1, "*", problem),), source="count records")
    entries: list[object] = list(records)  # untyped callers may send anything
    for number, record in enumerate(entries, start=1):
        if not isinstance(record, Mapping):
            problems.append((number, "*", f"expected a mapping, got {type(record).__name__}"))
            continue
        cells: dict[str, str] = {}
        for key, value in record.items():
            if not isinstance(key, str) or key not in CSV_COLUMNS:
                problems.append((number, str(key), "unknown field"))
                continue
            try:
                cells[key] = _as_text(value)
            except InvalidValueError as e:
                problems.append((number, key, str(e)))
        rows.append(cells)
    if problems:
        raise CountImportError(tuple(problems), source="count records")
    digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:12]
    defaults = {"counter": counter, "device": device, "counted_at": counted_at}
    lines = [
        _row_to_line(cells, defaults, number, digest, problems, source)
        for number, cells in enumerate(rows, start=1)
    ]
    if problems:
        raise CountImportError(tuple(problems), source="count records")
    return [line for line in lines if line is not None]


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        msg = f"expected text or a number, not {value!r}"
        raise InvalidValueError(msg)
    if isinstance(value, str):
        return value
    if isinstance(value, int | Location):
        return str(value)
    if isinstance(value, dt.date):  # dates and aware date-times: ISO 8601
        return value.isoformat()
    text = getattr(value, "value", None)  # Gtin, Lot, Serial, StockStatus
    if isinstance(text, str):
        return text
    msg = f"cannot read a count from {type(value).__name__} {value!r}"
    raise InvalidValueError(msg)


def _check_delimiter(delimiter: object) -> None:
    if (
        not isinstance(delimiter, str)
        or len(delimiter) != 1
        or delimiter in {'"', "\r", "\n", "\x00"}
        or _surrogate_problem(delimiter)
    ):
        problem = (
            f"invalid delimiter {delimiter!r}: expected one character other than a quote, "
            "a line break or NUL (e.g. ',' or ';')"
        )
        raise CountImportError(((1, "*", problem),))


def _read_text(source: object) -> str:
    if isinstance(source, str):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise CountImportError(
            ((1, "*", "expected text, got bytes: decode the file first (e.g. as UTF-8)"),)
        )
    read = getattr(source, "read", None)
    if not callable(read):
        problem = f"expected the file's text or an open text file, got {type(source).__name__}"
        raise CountImportError(((1, "*", problem),))
    try:
        text = read()
    except UnicodeDecodeError as e:
        problem = f"the file is not text in its encoding ({e.encoding}): {e.reason}"
        raise CountImportError(((1, "*", problem),)) from e
    except (OSError, ValueError) as e:
        raise CountImportError(((1, "*", f"the file cannot be read: {e}"),)) from e
    if not isinstance(text, str):
        problem = (
            f"expected text, got {type(text).__name__}: open the file in text mode "
            "(e.g. open(path, encoding='utf-8', newline=''))"
        )
        raise CountImportError(((1, "*", problem),))
    return text


def _surrogate_problem(text: str) -> str:
    """A description of the first lone surrogate in ``text``, or ``""``."""
    for offset, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            return (
                f"contains a lone surrogate (U+{ord(char):04X}) at offset {offset}: "
                "not valid Unicode text"
            )
    return ""


def _check_header(columns: list[str], *, counter: object, counted_at: object) -> None:
    problems: list[tuple[int, str, str]] = []
    expected = ", ".join(CSV_COLUMNS)
    problems.extend(
        (1, name, f"unknown column (expected {expected})")
        for name in columns
        if name not in CSV_COLUMNS
    )
    needed = [*_REQUIRED]
    if counter is None:
        needed.append("counter")
    if counted_at is None:
        needed.append("counted_at")
    problems.extend(
        (1, name, "required column is missing") for name in needed if name not in columns
    )
    duplicated = sorted({name for name in columns if columns.count(name) > 1})
    problems.extend((1, name, "column appears more than once") for name in duplicated)
    if problems:
        raise CountImportError(tuple(problems))


def _row_to_line(  # noqa: PLR0917  (private: one call site per intake)
    cells: Mapping[str, str],
    defaults: Mapping[str, object],
    row: int,
    digest: str,
    problems: list[tuple[int, str, str]],
    source: CountSource = CountSource.CSV,
) -> CountLine | None:
    before = len(problems)
    for name, value in cells.items():
        problem = _surrogate_problem(value)
        if problem:
            problems.append((row, name, problem))
    if len(problems) > before:
        return None

    def field(name: str, convert: Callable[[str], object], *, required: bool = False) -> object:
        value = cells.get(name, "")
        if not value:
            default = defaults.get(name)
            if default is None and required:
                problems.append((row, name, "a value is required"))
            return default
        try:
            return convert(value)
        except MedinvError as e:
            problems.append((row, name, str(e)))
        return None

    location = field("location", Location.parse, required=True)
    item = _item(cells, row, problems)
    quantity = field("quantity", _whole_number, required=True)
    when = field("counted_at", _instant, required=True)
    counter = field("counter", str, required=True)
    device = field("device", str, required=True)
    status = field("status", StockStatus.parse) or StockStatus.AVAILABLE
    expiry = field("expiry", to_date)
    line_id = cells.get("line_id") or f"{source.value.lower()}-{digest}-{row}"
    recount_of = cells.get("recount_of") or None
    if len(problems) > before or item is None:
        return None
    try:
        return CountLine(
            id=line_id,
            counter=counter,  # type: ignore[arg-type]
            device=device,  # type: ignore[arg-type]
            counted_at=when,
            location=location,  # type: ignore[arg-type]
            item=item,
            quantity=quantity,  # type: ignore[arg-type]
            status=status,  # type: ignore[arg-type]
            expiry=expiry,
            source=source,
            recount_of=recount_of,
            raw=",".join(cells.values()),
        )
    except MedinvError as e:
        problems.append((row, "*", str(e)))
        return None


def _item(
    cells: Mapping[str, str], row: int, problems: list[tuple[int, str, str]]
) -> ItemKey | None:
    parts: dict[str, DeviceIdentifier | Lot | Serial | None] = {}
    good = True
    kinds: tuple[tuple[str, Callable[[str], DeviceIdentifier | Lot | Serial]], ...] = (
        ("gtin", device_of),
        ("lot", Lot),
        ("serial", Serial),
    )
    for name, kind in kinds:
        value = cells.get(name, "")
        parts[name] = None
        if not value.strip():
            if name == "gtin":
                problems.append((row, name, "a value is required"))
                good = False
            continue
        try:
            parts[name] = kind(value.strip() if name == "gtin" else value)
        except MedinvError as e:
            problems.append((row, name, str(e)))
            good = False
    if not good:
        return None
    return ItemKey(parts["gtin"], lot=parts["lot"], serial=parts["serial"])  # type: ignore[arg-type]


def _instant(text: str) -> object:
    try:
        return to_datetime(text)
    except InvalidDateError as e:
        raise InvalidDateError(text, e.reason) from None  # name the cell's text, not a parse


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"expected a whole number of units, not {text!r}"
        raise InvalidValueError(msg) from None
    if value < 0:
        msg = f"a counted quantity cannot be negative ({value})"
        raise InvalidValueError(msg)
    return value


def merge_lines(*batches: Iterable[CountLine]) -> list[CountLine]:
    """Merge count lines from several devices into one list, in counting order.

    A line sent twice (same id, same content) is kept once; lines are ordered by
    ``counted_at``, then device, then id, so every device order gives the same result.

    Raises:
        CountLineError: one id carries two different lines.
    """
    by_id: dict[str, CountLine] = {}
    for batch in batches:
        for line in batch:
            known = by_id.setdefault(line.id, line)
            if known != line:
                raise CountLineError(line.id, "two devices sent different lines with this id")
    return sorted(by_id.values(), key=lambda line: (line.counted_at, line.device, line.id))


def duplicate_serials(lines: Iterable[CountLine]) -> dict[ItemKey, list[CountLine]]:
    """Serialised items counted (quantity 1) by more than one line, with those lines.

    ```pycon
    >>> import pendulum
    >>> at = pendulum.datetime(2026, 11, 23, 10, tz="UTC")
    >>> probe = ItemKey("04006381333931", serial="SN1")
    >>> lines = [CountLine(id=str(n), counter="ana", device="d1", counted_at=at,
    ...                    location=Location.parse(loc), item=probe, quantity=1)
    ...          for n, loc in enumerate(["OR/1", "OR/2"])]
    >>> for item, found in duplicate_serials(lines).items():
    ...     print(item, [str(x.location) for x in found])
    (01)04006381333931(21)SN1 ['OR/1', 'OR/2']

    ```
    """
    seen: dict[ItemKey, list[CountLine]] = {}
    for line in lines:
        if line.item.is_serialised and line.quantity:
            seen.setdefault(line.item, []).append(line)
    return {item: found for item, found in seen.items() if len(found) > 1}
