"""Excursion detection: out of range for longer than allowed, consecutive or cumulative.

A sensor's readings, in time order, split into **runs**: a run starts at the
first reading above the range (or below it) and ends at the next reading that is
not, which is when the temperature was seen back (or on the other side). A run's
length is the time between the two; a run still going at the last reading is open
and its length so far reaches that reading.

- **Consecutive**: one run longer than the rule's ``max_consecutive``.
- **Cumulative**: the runs of one direction (too warm, too cold) add up to more
  than ``max_cumulative``; the excursion covers the runs counted and ends with the
  run that crossed the limit; the tally then starts again from zero.

An excursion is **open** while the run that made it is still going. The
[`ExcursionDetector`][medinv.coldchain.ExcursionDetector] keeps, per sensor, only
the current run and the runs of the cumulative tally, so it takes a stream in
chunks of any size and reports exactly what one pass over the whole series does
([`detect_excursions`][medinv.coldchain.detect_excursions]).

Where the speed lives: readings of a sensor go in as columns (times, °C); the
scan looks for the next reading out of range (or back in range) a block at a
time with the built-in ``min`` and ``max``, which run in C, and steps reading by
reading only inside a block where something changes. A year of 5-minute readings
is almost all in range, so almost all of it is passed over in blocks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import enum
import hashlib
import itertools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import attrs
import pendulum

from medinv.catalogue import TemperatureRange
from medinv.coldchain._readings import Reading
from medinv.errors import InvalidValueError
from medinv.locations import Location

__all__ = [
    "Direction",
    "Excursion",
    "ExcursionDetector",
    "ExcursionKind",
    "ExcursionRule",
    "Interval",
    "detect_excursions",
]

_RUNS: Final = re.compile(rb"\x00+|\x02+")
"""A run out of range in a string of side codes: readings below, or readings above."""
_HIGH_CODE: Final = 2
_INF: Final = math.inf
_STATE_VERSION: Final = 1


class Direction(enum.Enum):
    """Which side of the range a run is on."""

    HIGH = "HIGH"
    """Above the range (too warm)."""
    LOW = "LOW"
    """Below the range (too cold)."""

    __hash__ = object.__hash__


class ExcursionKind(enum.Enum):
    """How an excursion broke the rule."""

    CONSECUTIVE = "CONSECUTIVE"
    """One run longer than allowed."""
    CUMULATIVE = "CUMULATIVE"
    """Runs of one direction adding up to more than allowed."""

    __hash__ = object.__hash__


def of_type(expected: type, what: str) -> Callable[[object, object, Any], None]:
    """An ``attrs`` validator refusing a value of another type with an `InvalidValueError`."""

    def check(_instance: object, _attribute: object, value: Any) -> None:
        if not isinstance(value, expected):
            msg = f"{what} is a {expected.__name__}, not {type(value).__name__}"
            raise InvalidValueError(msg)

    return check


def _duration(value: object) -> dt.timedelta:
    if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
        raise InvalidValueError(f"an allowed time is a timedelta of at least 0, not {value!r:.60}")
    return value


def _optional_duration(value: object) -> dt.timedelta | None:
    return None if value is None else _duration(value)


@attrs.frozen(kw_only=True)
class ExcursionRule:
    """The range a sensor's readings must stay in, and for how long they may leave it.

    ```pycon
    >>> import datetime as dt
    >>> rule = ExcursionRule(temperature=TemperatureRange(low=2, high=8),
    ...                      max_consecutive=dt.timedelta(minutes=30),
    ...                      max_cumulative=dt.timedelta(hours=2))
    >>> rule.max_consecutive
    datetime.timedelta(seconds=1800)

    ```

    Raises:
        InvalidValueError: a negative allowed time.
    """

    temperature: TemperatureRange = attrs.field(
        validator=of_type(TemperatureRange, "an excursion rule's range")
    )
    """The range (a product's storage range, or the location's)."""
    max_consecutive: dt.timedelta = attrs.field(converter=_duration)
    """How long one run out of range may last (``timedelta(0)``: not at all)."""
    max_cumulative: dt.timedelta | None = attrs.field(default=None, converter=_optional_duration)
    """How long the runs of one direction may add up to; ``None``: no cumulative limit."""

    @property
    def bounds(self) -> tuple[float, float]:
        """The range as floats (an open side is infinite)."""
        low, high = self.temperature.low, self.temperature.high
        return (-_INF if low is None else float(low), _INF if high is None else float(high))


@attrs.frozen
class Interval:
    """A time span out of range: ``end`` is ``None`` while it is still going."""

    start: pendulum.DateTime
    end: pendulum.DateTime | None

    def overlaps(self, start: pendulum.DateTime, end: pendulum.DateTime | None) -> bool:
        """Whether ``[start, end)`` meets this ``[self.start, self.end)`` (``None``: no end)."""
        return (self.end is None or start < self.end) and (end is None or end > self.start)


@attrs.frozen(kw_only=True)
class Excursion:
    """A breach of an [`ExcursionRule`][medinv.coldchain.ExcursionRule] by one sensor."""

    id: str
    """Deterministic: the same readings always give the same id (``exc-`` and a digest)."""
    sensor: str
    location: Location
    """Where the sensor is."""
    kind: ExcursionKind
    direction: Direction
    spans: tuple[tuple[float, float | None], ...]
    """The runs out of range it covers as POSIX seconds ``(start, end)``, oldest first (one
    for a consecutive excursion); the last ``end`` is ``None`` while the run is going.
    [`intervals`][medinv.coldchain.Excursion.intervals] gives them as date-times."""
    last_reading: float
    """The last reading taken into account, in POSIX seconds (the end, once closed)."""
    out_of_range: dt.timedelta
    """How long the covered runs lasted (so far, while open)."""
    min_celsius: float
    """The lowest reading inside the covered runs."""
    max_celsius: float
    """The highest reading inside the covered runs."""
    limit: float
    """The bound it crossed (the range's high bound for HIGH, its low bound for LOW)."""

    @property
    def intervals(self) -> tuple[Interval, ...]:
        """The covered runs as UTC date-times."""
        return tuple(
            Interval(_moment(start), None if end is None else _moment(end))
            for start, end in self.spans
        )

    @property
    def start(self) -> pendulum.DateTime:
        """When the first covered run started."""
        return _moment(self.spans[0][0])

    @property
    def end(self) -> pendulum.DateTime | None:
        """When the last covered run ended; ``None`` while it is still going."""
        end = self.spans[-1][1]
        return None if end is None else _moment(end)

    @property
    def observed_to(self) -> pendulum.DateTime:
        """The last reading taken into account, as a UTC date-time."""
        return _moment(self.last_reading)

    @property
    def is_open(self) -> bool:
        """Whether the excursion is still in progress."""
        return self.spans[-1][1] is None


def _moment(seconds: float) -> pendulum.DateTime:
    # The class method of datetime, on pendulum's class: twice as fast as from_timestamp.
    return pendulum.DateTime.fromtimestamp(seconds, tz=pendulum.UTC)


def _excursion_id(sensor: str, kind: ExcursionKind, direction: Direction, start: float) -> str:
    text = "\x1f".join((sensor, kind.value, direction.value, repr(float(start))))
    return "exc-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _sides(temps: Sequence[float], lo: float, hi: float) -> bytearray:
    """Each reading's side as one byte: 0 below ``lo``, 1 in range, 2 above ``hi``.

    ``bisect_right([lo, next float above hi], t)`` counts the bounds at or below
    ``t``: exactly that code, for every reading, in one ``map`` that runs in C.
    """
    bounds = [lo, math.nextafter(hi, _INF)]
    return bytearray(map(bisect.bisect_right, itertools.repeat(bounds), temps))


class _Run:
    """A run out of range: [start, end), with the extreme readings inside it."""

    __slots__ = ("end", "high", "low", "start")

    def __init__(self, start: float, end: float | None, low: float, high: float) -> None:
        self.start, self.end, self.low, self.high = start, end, low, high


def _run_values(run: _Run) -> list[float | None]:
    return [run.start, run.end, run.low, run.high]


def _bad_state(sensor: str, field: str, value: object) -> InvalidValueError:
    return InvalidValueError(
        f"detector state of sensor {sensor!r}: {field} {value!r:.60} is malformed"
    )


def _run_of(sensor: str, values: object) -> _Run:
    if (
        not isinstance(values, list)
        or len(values) != 4  # noqa: PLR2004  (start, end, low, high)
        or not all(isinstance(v, (int, float)) for i, v in enumerate(values) if i != 1)
        or not (values[1] is None or isinstance(values[1], (int, float)))
    ):
        raise _bad_state(sensor, "run", values)
    start, end, low, high = values
    return _Run(float(start), None if end is None else float(end), float(low), float(high))


class _Sensor:
    """One sensor's detection state."""

    __slots__ = (
        "direction",
        "hi",
        "last",
        "lo",
        "location",
        "max_cons",
        "max_cum",
        "name",
        "run",
        "tally",
    )

    def __init__(self, name: str, location: Location, rule: ExcursionRule) -> None:
        self.name, self.location = name, location
        self.lo, self.hi = rule.bounds
        self.max_cons = rule.max_consecutive.total_seconds()
        self.max_cum = None if rule.max_cumulative is None else rule.max_cumulative.total_seconds()
        self.last: float | None = None
        self.direction: Direction | None = None
        self.run: _Run | None = None
        self.tally: dict[Direction, list[_Run]] = {Direction.HIGH: [], Direction.LOW: []}

    # ------------------------------------------------------------------ scanning

    def scan(self, times: Sequence[float], temps: Sequence[float], out: list[Excursion]) -> None:
        n = len(times)
        if n != len(temps):
            msg = f"sensor {self.name!r}: {len(times)} times but {len(temps)} temperatures"
            raise InvalidValueError(msg)
        if n == 0:
            return
        self._check_order(times)
        codes = _sides(temps, self.lo, self.hi)
        run = self.run  # a run still going at the end of the previous chunk
        for match in _RUNS.finditer(codes):
            i, j = match.span()
            side = Direction.HIGH if codes[i] == _HIGH_CODE else Direction.LOW
            part = temps[i:j]
            if run is not None and i == 0 and side is self.direction:
                low, high = min(part), max(part)
                run.low, run.high = min(run.low, low), max(run.high, high)
            else:
                if run is not None:  # it ended at this chunk's first reading
                    run.end = times[0]
                    self._close(run, out)
                run = _Run(times[i], None, min(part), max(part))
                self.direction = side
            if j < n:  # back in range (or on the other side) at reading j
                run.end = times[j]
                self._close(run, out)
                run = None
        if run is not None and run is self.run and codes[0] == 1:
            run.end = times[0]  # the run of the previous chunk ended at its first reading
            self._close(run, out)
            run = None
        self.run = run
        if run is None:
            self.direction = None
        self.last = times[n - 1]

    def _check_order(self, times: Sequence[float]) -> None:
        first = times[0]
        if self.last is not None and first < self.last:
            msg = (
                f"sensor {self.name!r}: reading at {_moment(first).isoformat()} comes before "
                f"the one already taken at {_moment(self.last).isoformat()} "
                "(readings go in time order)"
            )
            raise InvalidValueError(msg)
        listed = times if isinstance(times, list) else list(times)
        if listed != sorted(listed):
            k = next(k for k in range(1, len(listed)) if listed[k] < listed[k - 1])
            msg = (
                f"sensor {self.name!r}: reading at {_moment(listed[k]).isoformat()} comes after "
                f"one at {_moment(listed[k - 1]).isoformat()} (readings go in time order)"
            )
            raise InvalidValueError(msg)

    # ------------------------------------------------------------------ state

    def state(self) -> dict[str, Any]:
        """What the next readings depend on, as JSON values."""
        run = self.run
        return {
            "location": str(self.location),
            "last": self.last,
            "direction": None if self.direction is None else self.direction.name,
            "run": None if run is None else _run_values(run),
            "tally": {
                side.name: [_run_values(r) for r in runs] for side, runs in self.tally.items()
            },
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back a `state` (checked: a malformed one is an `InvalidValueError`)."""
        last, direction, run = state.get("last"), state.get("direction"), state.get("run")
        if last is not None and not isinstance(last, (int, float)):
            raise _bad_state(self.name, "last", last)
        if direction is not None and direction not in Direction.__members__:
            raise _bad_state(self.name, "direction", direction)
        tally = state.get("tally", {})
        if not isinstance(tally, Mapping) or not set(tally) <= set(Direction.__members__):
            raise _bad_state(self.name, "tally", tally)
        if (run is None) != (direction is None):
            raise _bad_state(self.name, "run", run)
        self.last = None if last is None else float(last)
        self.direction = None if direction is None else Direction[direction]
        self.run = None if run is None else _run_of(self.name, run)
        self.tally = {
            side: [_run_of(self.name, r) for r in tally.get(side.name, [])] for side in Direction
        }

    # ------------------------------------------------------------------ excursions

    def _close(self, run: _Run, out: list[Excursion]) -> None:
        direction = self.direction
        assert direction is not None  # noqa: S101  (a run has a side)
        assert run.end is not None  # noqa: S101  (closed by the caller)
        length = run.end - run.start
        if length > self.max_cons:
            out.append(self._excursion(ExcursionKind.CONSECUTIVE, direction, [run], run.end))
        if self.max_cum is None:
            return
        runs = self.tally[direction]
        runs.append(run)
        if sum(r.end - r.start for r in runs if r.end is not None) > self.max_cum:
            out.append(self._excursion(ExcursionKind.CUMULATIVE, direction, runs, run.end))
            self.tally[direction] = []

    def open(self) -> list[Excursion]:
        """The excursions of the run still going, as of the last reading."""
        run, direction, last = self.run, self.direction, self.last
        if run is None or direction is None or last is None:
            return []
        found = []
        if last - run.start > self.max_cons:
            found.append(self._excursion(ExcursionKind.CONSECUTIVE, direction, [run], last))
        if self.max_cum is not None:
            runs = [*self.tally[direction], run]
            closed = sum(r.end - r.start for r in runs if r.end is not None)
            if closed + (last - run.start) > self.max_cum:
                found.append(self._excursion(ExcursionKind.CUMULATIVE, direction, runs, last))
        return found

    def _excursion(
        self, kind: ExcursionKind, direction: Direction, runs: list[_Run], upto: float
    ) -> Excursion:
        total = sum((upto if r.end is None else r.end) - r.start for r in runs)
        return Excursion(
            id=_excursion_id(self.name, kind, direction, runs[0].start),
            sensor=self.name,
            location=self.location,
            kind=kind,
            direction=direction,
            spans=tuple((r.start, r.end) for r in runs),
            last_reading=upto,
            out_of_range=dt.timedelta(seconds=total),
            min_celsius=min(r.low for r in runs),
            max_celsius=max(r.high for r in runs),
            limit=self.hi if direction is Direction.HIGH else self.lo,
        )


RuleSource = ExcursionRule | Mapping[str, ExcursionRule] | Callable[[str, Location], ExcursionRule]
"""One rule for every sensor, a rule per sensor id, or a function of sensor and location."""


class ExcursionDetector:
    """Detects excursions over readings given in chunks, sensor by sensor.

    Feed it readings ([`feed`][medinv.coldchain.ExcursionDetector.feed]) or columns
    ([`feed_columns`][medinv.coldchain.ExcursionDetector.feed_columns]); each call
    returns the excursions that closed in it. [`open`][medinv.coldchain.ExcursionDetector.open]
    gives those still in progress. Chunks may cut the series anywhere: the result is
    the same as one pass over the whole series.

    ```pycon
    >>> import datetime as dt
    >>> rule = ExcursionRule(temperature=TemperatureRange(low=2, high=8),
    ...                      max_consecutive=dt.timedelta(minutes=10))
    >>> detector = ExcursionDetector(rule)
    >>> t0 = 1_790_000_000
    >>> detector.feed_columns("F1", "CHU/Fridge-1", [t0, t0 + 300, t0 + 1000], [5.0, 9.5, 9.0])
    []
    >>> [(e.kind.name, e.direction.name, e.is_open) for e in detector.open()]
    [('CONSECUTIVE', 'HIGH', True)]
    >>> [e.out_of_range for e in detector.feed_columns("F1", "CHU/Fridge-1", [t0 + 1200], [4.0])]
    [datetime.timedelta(seconds=900)]

    ```
    """

    __slots__ = ("_rules", "_sensors")

    def __init__(self, rules: RuleSource) -> None:
        given: object = rules
        if not isinstance(given, (ExcursionRule, Mapping)) and not callable(given):
            msg = f"rules are an ExcursionRule, a mapping or a function, not {type(given).__name__}"
            raise InvalidValueError(msg)
        self._rules = rules
        self._sensors: dict[str, _Sensor] = {}

    def _sensor(self, name: str, location: Location) -> _Sensor:
        state = self._sensors.get(name)
        if state is None:
            rules = self._rules
            if isinstance(rules, ExcursionRule):
                rule = rules
            elif isinstance(rules, Mapping):
                if name not in rules:
                    raise InvalidValueError(f"no excursion rule for sensor {name!r}")
                rule = rules[name]
            else:
                rule = rules(name, location)
            if not isinstance(rule, ExcursionRule):
                raise InvalidValueError(f"the rule of sensor {name!r} is not an ExcursionRule")
            state = self._sensors[name] = _Sensor(name, location, rule)
        elif state.location != location:
            msg = (
                f"sensor {name!r} is at {state.location}, not {location} "
                "(a sensor that moves starts again under a new id)"
            )
            raise InvalidValueError(msg)
        return state

    def feed_columns(
        self,
        sensor: str,
        location: Location | str,
        times: Sequence[float],
        celsius: Sequence[float],
    ) -> list[Excursion]:
        """Take one sensor's next readings as columns: POSIX times (seconds) and °C.

        The columns are lists or ``array('d')`` in time order, after every reading
        given before for this sensor.

        Returns:
            The excursions that closed among these readings, in the order they closed.

        Raises:
            InvalidValueError: columns of different lengths, times out of order, a
                sensor moved to another location, no rule for the sensor.
        """
        place = Location.parse(location) if isinstance(location, str) else location
        out: list[Excursion] = []
        self._sensor(sensor, place).scan(times, celsius, out)
        return out

    def feed(self, readings: Iterable[Reading]) -> list[Excursion]:
        """Take the next readings (of any sensors, each sensor's in time order).

        Returns:
            The excursions that closed among these readings, per sensor in the order
            they closed, sensors in the order they first appear.
        """
        columns: dict[str, tuple[Location, list[float], list[float]]] = {}
        for reading in readings:
            if not isinstance(reading, Reading):
                raise InvalidValueError(f"expected a Reading, not {type(reading).__name__}")
            entry = columns.get(reading.sensor)
            if entry is None:
                entry = columns[reading.sensor] = (reading.location, [], [])
            elif entry[0] != reading.location:
                msg = (
                    f"sensor {reading.sensor!r} is at {entry[0]}, not {reading.location} "
                    "(a sensor that moves starts again under a new id)"
                )
                raise InvalidValueError(msg)
            entry[1].append(reading.at.timestamp())
            entry[2].append(reading.celsius)
        out: list[Excursion] = []
        for name, (location, times, temps) in columns.items():
            out.extend(self.feed_columns(name, location, times, temps))
        return out

    def open(self) -> list[Excursion]:
        """The excursions still in progress at each sensor's last reading."""
        return [e for state in self._sensors.values() for e in state.open()]

    def state(self) -> str:
        """What the detector carries from one chunk to the next, as JSON text.

        Keep it between two runs of a process (a file, a row of your database) and
        [`resume`][medinv.coldchain.ExcursionDetector.resume] from it: a run out of
        range that goes on across the two, or cumulative time that adds up across
        them, is then found as if the readings had come in one call.
        """
        sensors = {name: sensor.state() for name, sensor in sorted(self._sensors.items())}
        return json.dumps({"version": _STATE_VERSION, "sensors": sensors}, sort_keys=True)

    @classmethod
    def resume(cls, rules: RuleSource, state: str) -> ExcursionDetector:
        """A detector that goes on from a [`state`][medinv.coldchain.ExcursionDetector.state] text.

        ```pycon
        >>> import datetime as dt
        >>> rule = ExcursionRule(temperature=TemperatureRange(low=2, high=8),
        ...                      max_consecutive=dt.timedelta(minutes=10))
        >>> t0 = 1_790_000_000
        >>> first = ExcursionDetector(rule)
        >>> first.feed_columns("F1", "CHU/Fridge-1", [t0, t0 + 300], [5.0, 9.5])
        []
        >>> later = ExcursionDetector.resume(rule, first.state())  # the next day's file
        >>> [e.out_of_range for e in later.feed_columns("F1", "CHU/Fridge-1", [t0 + 1200], [4.0])]
        [datetime.timedelta(seconds=900)]

        ```

        Raises:
            InvalidValueError: ``state`` is not a detector state this medinv wrote, or
                a sensor has no rule.
        """
        try:
            data = json.loads(state)
        except (TypeError, ValueError) as e:
            raise InvalidValueError(f"detector state is not JSON text: {e}") from None
        if not isinstance(data, dict) or data.get("version") != _STATE_VERSION:
            raise InvalidValueError(
                f"detector state is not a version {_STATE_VERSION} detector state: {state!r:.80}"
            )
        sensors = data.get("sensors")
        if not isinstance(sensors, dict):
            raise InvalidValueError(f"detector state has no sensors: {state!r:.80}")
        detector = cls(rules)
        for name, saved in sensors.items():
            if not isinstance(saved, dict) or not isinstance(saved.get("location"), str):
                raise _bad_state(name, "entry", saved)
            detector._sensor(name, Location.parse(saved["location"])).restore(saved)
        return detector


def _order(excursion: Excursion) -> tuple[str, float, str, str]:
    return (
        excursion.sensor,
        excursion.spans[0][0],
        excursion.kind.value,
        excursion.direction.value,
    )


def detect_excursions(readings: Iterable[Reading], rules: RuleSource) -> list[Excursion]:
    """Every excursion in a whole series, closed and open, by sensor then start.

    The same as feeding the series to an [`ExcursionDetector`][medinv.coldchain.ExcursionDetector]
    in any chunks and adding what is open at the end.
    """
    detector = ExcursionDetector(rules)
    found = detector.feed(readings) + detector.open()
    return sorted(found, key=_order)
