"""The FEFO total order, as one key function used by every allocation path.

See [the rules](../explanation/rules.md#fefo) for what it guarantees.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.movements import StockPosition

__all__ = ["NO_EXPIRY", "OrderKey", "fefo_key", "fifo_key"]

NO_EXPIRY: Final = 10**9
"""Sort value of "no expiry": after every real date (date ordinals stay below 4 million)."""

_NO_RECEIPT: Final = 2**62
"""Sort value of an unknown receipt time: after every real one."""


OrderKey = tuple[int, int, int, str, str, tuple[str, ...]]
"""A candidate's place in the FEFO order: ``(expiry, received, pick sequence, lot, serial, path)``.

Plain integers and strings, so that comparing two keys is a native tuple comparison.
"""


def expiry_ordinal(expiry: dt.date | None) -> int:
    """The expiry's sort value: its proleptic ordinal, or [`NO_EXPIRY`][] when there is none."""
    return NO_EXPIRY if expiry is None else expiry.toordinal()


_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_MICROSECOND: Final = dt.timedelta(microseconds=1)


_FIXED_OFFSETS: dict[dt.tzinfo, int | None] = {}
"""UTC offset in microseconds of each time zone seen that has only one (``None``: it varies)."""

_FIXED_NAMES: Final = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "+00:00"})


def _fixed_offset(tz: dt.tzinfo) -> int | None:
    """The one offset of ``tz`` in microseconds, or ``None`` when its offset varies."""
    try:
        return _FIXED_OFFSETS[tz]
    except KeyError:
        pass
    except TypeError:  # an unhashable tzinfo: ask it every time
        return None
    fixed = isinstance(tz, dt.timezone) or type(tz).__name__ == "FixedTimezone"
    if not fixed:
        fixed = str(getattr(tz, "key", None) or getattr(tz, "name", None)) in _FIXED_NAMES
    offset: int | None = None
    if fixed:
        delta = tz.utcoffset(None)
        offset = None if delta is None else delta // _MICROSECOND
    if len(_FIXED_OFFSETS) >= _MEMO_LIMIT:
        _FIXED_OFFSETS.clear()
    _FIXED_OFFSETS[tz] = offset
    return offset


_MEMO_LIMIT: Final = 1_024


def received_micros(received_at: dt.datetime | None) -> int:
    """Microseconds since the Unix epoch (exact, time-zone independent); unknown sorts last.

    A naive date-time counts as UTC. Integer arithmetic on the fields, with the
    offset of a fixed-offset zone (UTC, ``+01:00`` ...) remembered per zone and
    ``utcoffset()`` asked otherwise: what ``calendar.timegm(received_at.utctimetuple())``
    gives (a test compares them), several times faster.
    """
    if received_at is None:
        return _NO_RECEIPT
    tz = received_at.tzinfo
    fixed = None if tz is None else _fixed_offset(tz)
    seconds = (
        (received_at.toordinal() - _EPOCH_ORDINAL) * 86_400
        + received_at.hour * 3_600
        + received_at.minute * 60
        + received_at.second
    )
    micros = seconds * 1_000_000 + received_at.microsecond
    if fixed is not None:
        return micros - fixed
    offset = received_at.utcoffset()
    return micros if offset is None else micros - offset // _MICROSECOND


def make_key(
    expiry: dt.date | None,
    received_at: dt.datetime | None,
    pick_sequence: int,
    item: ItemKey,
    path: tuple[str, ...],
) -> OrderKey:
    """Build the FEFO key from its parts (see [`fefo_key`][medinv.allocation.fefo_key]).

    The lot and serial parts are their text, ``""`` when there is none: a lot or
    serial is never empty, so no lot sorts before every lot (and no text is built).
    """
    lot, serial = item.lot, item.serial
    return (
        expiry_ordinal(expiry),
        received_micros(received_at),
        pick_sequence,
        "" if lot is None else lot.value,
        "" if serial is None else serial.value,
        path,
    )


def fefo_key(position: StockPosition) -> OrderKey:
    """The FEFO order (see [the rules](../explanation/rules.md#fefo)) for one stock position.

    Expiry ascending, positions without an expiry last; then received-at ascending
    (an unknown receipt time last); then the location's pick sequence; then lot
    (no lot first); then serial (no serial first); finally the location path, so
    that two positions of one item in two locations with the same pick sequence
    still have a fixed order. The key is total: equal keys mean the same item at
    the same location.

    ```pycon
    >>> import pendulum
    >>> from medinv import ItemKey, Location, StockPosition, StockStatus
    >>> def pos(lot, expiry, seq=0):
    ...     return StockPosition(
    ...         item=ItemKey("04006381333931", lot=lot), status=StockStatus.AVAILABLE,
    ...         location=Location.parse("H/Store", pick_sequence=seq), quantity=1, expiry=expiry)
    >>> stock = [pos("NOEXP", None), pos("LATE", pendulum.date(2027, 1, 1)),
    ...          pos("EARLY", pendulum.date(2026, 12, 1))]
    >>> [str(p.item.lot) for p in sorted(stock, key=fefo_key)]
    ['EARLY', 'LATE', 'NOEXP']

    ```

    Raises:
        InvalidValueError: ``position`` is not a `StockPosition`.
    """
    given: object = position  # checked at run time, whatever the annotations say
    if not isinstance(given, StockPosition):
        msg = f"expected a StockPosition, not {type(given).__name__}"
        raise InvalidValueError(msg)
    return make_key(
        position.expiry,
        position.received_at,
        position.location.pick_sequence,
        position.item,
        position.location.path,
    )


def fifo_key(position: StockPosition) -> tuple[int, OrderKey]:
    """The FIFO order: received-at ascending first, then the FEFO order."""
    key = fefo_key(position)
    return (key[1], key)
