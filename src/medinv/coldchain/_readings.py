"""Temperature readings: one value per sensor and moment, read from a logger's CSV or EPCIS.

Both readers are streams: they take the input in chunks (a file read block by
block, a list of EPCIS documents) and yield [`Reading`][medinv.coldchain.Reading]
values as they go, so a year of readings never sits in memory. Bad input stops
the stream with a [`ReadingError`][medinv.coldchain.ReadingError] naming the line
(or the JSON path) and the field.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

import attrs
import pendulum

from medinv.dates import to_datetime
from medinv.errors import InvalidValueError, MedinvError
from medinv.locations import Location

__all__ = ["CSV_COLUMNS", "Reading", "ReadingError", "read_epcis_sensor_events", "read_logger_csv"]

CSV_COLUMNS: Final = ("sensor", "location", "time", "temperature")
"""The columns a logger's CSV must have (in any order; ``unit`` is optional: C, F or K)."""

_LOWEST: Final = -273.15
_SENSOR_LIMIT: Final = 200


class ReadingError(InvalidValueError):
    """A reading that cannot be read: where (line or JSON path), which field, why."""

    def __init__(self, where: str, field: str, reason: str) -> None:
        self.where, self.field, self.reason = where, field, reason
        super().__init__(f"{where}, field {field!r}: {reason}")


def _sensor(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _SENSOR_LIMIT:
        msg = (
            f"a sensor id is non-blank text of at most {_SENSOR_LIMIT} characters, "
            f" not {value!r:.60}"
        )
        raise InvalidValueError(msg)
    return value


def _celsius(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValueError(f"a temperature is a number, not {value!r:.60}")
    result = float(value)
    if not math.isfinite(result) or result < _LOWEST:
        msg = f"a temperature is a finite number of at least -273.15 °C, not {value!r}"
        raise InvalidValueError(msg)
    return result


def _location(value: Any) -> Location:
    # Location.parse refuses anything but text with a clear InvalidLocationError.
    return value if isinstance(value, Location) else Location.parse(value)


@attrs.frozen(kw_only=True)
class Reading:
    """One temperature reading of a sensor at a location.

    Raises:
        InvalidValueError: a blank sensor, a naive time, a temperature that is not a
            finite number of at least absolute zero.
    """

    sensor: str = attrs.field(converter=_sensor)
    """The sensor (logger, probe) id."""
    location: Location = attrs.field(converter=_location)
    """Where the sensor is."""
    at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When it was read (aware)."""
    celsius: float = attrs.field(converter=_celsius)
    """The temperature in °C."""


_UNITS: Final[Mapping[str, Callable[[float], float]]] = {
    "C": lambda v: v,
    "CEL": lambda v: v,
    "F": lambda v: (v - 32.0) * 5.0 / 9.0,
    "FAR": lambda v: (v - 32.0) * 5.0 / 9.0,
    "K": lambda v: v - 273.15,
    "KEL": lambda v: v - 273.15,
}


def _lines(chunks: Iterable[str]) -> Iterator[str]:
    """Whole lines from text given in chunks split anywhere."""
    rest = ""
    for chunk in chunks:
        if not isinstance(chunk, str):
            raise InvalidValueError(f"CSV chunks are text, not {type(chunk).__name__}")
        rest += chunk
        *whole, rest = rest.split("\n")
        for line in whole:
            yield line + "\n"
    if rest:
        yield rest


def read_logger_csv(chunks: Iterable[str], *, source: str = "CSV") -> Iterator[Reading]:
    r"""The readings of a logger's CSV export, given as text chunks split anywhere.

    The header names the columns ``sensor``, ``location``, ``time`` (ISO 8601 with
    offset), ``temperature`` and optionally ``unit`` (``C``, ``F`` or ``K``; default
    ``C``), in any order; other columns are ignored. Blank lines are skipped.

    ```pycon
    >>> text = "sensor,location,time,temperature\nF1,CHU/Fridge-1,2026-11-23T09:00:00+00:00,4.5\n"
    >>> [(r.sensor, str(r.location), r.celsius) for r in read_logger_csv([text[:20], text[20:]])]
    [('F1', 'CHU/Fridge-1', 4.5)]

    ```

    Raises:
        ReadingError: a missing column, or a line whose field cannot be read (the
            message names ``source``, the line number and the field).
    """
    reader = csv.reader(_lines(chunks))
    header = next(reader, None)
    if header is None:
        raise ReadingError(f"{source} line 1", "header", "the file is empty")
    names = [h.strip().lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        what = f"missing column(s) {', '.join(missing)}"
        raise ReadingError(f"{source} line 1", missing[0], what)
    at: dict[str, int] = {
        name: names.index(name) for name in (*CSV_COLUMNS, "unit") if name in names
    }
    for row in reader:
        if not row or all(not cell.strip() for cell in row):
            continue
        yield _row(row, at, f"{source} line {reader.line_num}")


def _row(row: list[str], at: Mapping[str, int], where: str) -> Reading:
    if len(row) < len(at) or any(i >= len(row) for i in at.values()):
        raise ReadingError(where, "row", f"expected {len(at)} fields or more, found {len(row)}")
    field = "unit"
    try:
        unit = row[at["unit"]].strip().upper() if "unit" in at else "C"
        if unit not in _UNITS:
            raise InvalidValueError(f"unknown unit {unit!r} (C, F or K)")
        field = "temperature"
        text = row[at["temperature"]].strip()
        try:
            value = float(text)
        except ValueError:
            raise InvalidValueError(f"not a number: {text!r:.40}") from None
        celsius = _UNITS[unit](value)
        field = "sensor"
        sensor = _sensor(row[at["sensor"]].strip())
        field = "location"
        location = Location.parse(row[at["location"]].strip())
        field = "time"
        moment = to_datetime(row[at["time"]].strip())
        field = "temperature"
        return Reading(sensor=sensor, location=location, at=moment, celsius=celsius)
    except MedinvError as e:
        raise ReadingError(where, field, str(e)) from e


_TEMPERATURE_TYPES: Final = frozenset({"Temperature", "gs1:Temperature"})


def read_epcis_sensor_events(
    documents: Iterable[Mapping[str, Any]],
    *,
    locations: Mapping[str, Location | str] | Callable[[str], Location | None],
) -> Iterator[Reading]:
    """The temperature readings of EPCIS 2.0 events carrying a ``sensorElementList``.

    Each ``sensorReport`` of type ``Temperature`` (``gs1:Temperature``) with a
    ``value`` in ``CEL``, ``FAR`` or ``KEL`` is a reading: its time is the report's
    ``time``, else the element's ``sensorMetadata.time``, else the event's
    ``eventTime``; its sensor the report's ``deviceID``, else the metadata's; its
    location the event's ``readPoint.id`` mapped through ``locations`` (a mapping or
    a function). Other reports (humidity, reports with only ``minValue`` /
    ``maxValue``) are skipped. ``documents`` are EPCIS documents or bare events.

    Raises:
        ReadingError: a malformed event, an unmapped read point, an unknown unit
            (the message gives the JSON path).
    """
    look = locations if callable(locations) else locations.get
    for d, document in enumerate(documents):
        if not isinstance(document, Mapping):
            raise ReadingError(f"document {d}", "document", "not a JSON object")
        if "epcisBody" in document:
            events = document["epcisBody"].get("eventList", [])
            base = f"document {d} epcisBody.eventList"
        else:
            events, base = [document], f"document {d}"
        for e, event in enumerate(events):
            yield from _event(event, base if event is document else f"{base}[{e}]", look)


def _event(
    event: Any, where: str, look: Callable[[str], Location | str | None]
) -> Iterator[Reading]:
    if not isinstance(event, Mapping):
        raise ReadingError(where, "event", "not a JSON object")
    elements = event.get("sensorElementList")
    if not elements:
        return
    read_point = event.get("readPoint")
    point = read_point.get("id") if isinstance(read_point, Mapping) else None
    if not isinstance(point, str):
        raise ReadingError(where, "readPoint.id", "a sensor event needs a read point to place it")
    location = look(point)
    if location is None:
        raise ReadingError(where, "readPoint.id", f"no location is mapped to {point!r}")
    for s, element in enumerate(elements):
        here = f"{where}.sensorElementList[{s}]"
        meta = element.get("sensorMetadata", {}) if isinstance(element, Mapping) else None
        if not isinstance(meta, Mapping):
            raise ReadingError(here, "sensorMetadata", "not a JSON object")
        for r, report in enumerate(element.get("sensorReport", [])):
            spot = f"{here}.sensorReport[{r}]"
            if report.get("type") not in _TEMPERATURE_TYPES or "value" not in report:
                continue
            yield _report(report, meta, event, location, spot)


def _report(
    report: Mapping[str, Any],
    meta: Mapping[str, Any],
    event: Mapping[str, Any],
    location: Location | str,
    where: str,
) -> Reading:
    field = "uom"
    try:
        unit = report.get("uom", "CEL")
        if unit not in _UNITS:
            raise InvalidValueError(f"unknown temperature unit {unit!r} (CEL, FAR or KEL)")
        field = "value"
        celsius = _UNITS[unit](_celsius(report["value"])) if unit != "CEL" else report["value"]
        field = "time"
        moment = report.get("time") or meta.get("time") or event.get("eventTime")
        field = "deviceID"
        sensor = report.get("deviceID") or meta.get("deviceID")
        if sensor is None:
            raise InvalidValueError("no deviceID on the report or its sensorMetadata")
        field = "time"
        moment = to_datetime(moment)
        field = "value"
        return Reading(sensor=sensor, location=location, at=moment, celsius=celsius)
    except MedinvError as e:
        raise ReadingError(where, field, str(e)) from e
