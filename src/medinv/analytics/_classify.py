"""Classification: ABC by consumption value, XYZ by demand variability, demand patterns.

Pure functions over numbers: give them the values or the per-period demand of
whatever you classify (products, products at a location). Every threshold is a
parameter with the documented default.
"""

from __future__ import annotations

import enum
import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from medinv.analytics._demand import DemandSeries
from medinv.errors import InvalidValueError

__all__ = [
    "DemandPattern",
    "classify_abc",
    "classify_demand_pattern",
    "classify_xyz",
    "period_totals",
]

K = TypeVar("K", bound=Hashable)


def _share(name: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, Fraction)):
        msg = f"{name} must be a number from 0 to 1, not {value!r:.40}"
        raise InvalidValueError(msg)
    share = Fraction(value)
    if not 0 <= share <= 1:
        msg = f"{name} must be a number from 0 to 1, not {value!r:.40}"
        raise InvalidValueError(msg)
    return share


def classify_abc(
    values: Mapping[K, int | Decimal | Fraction],
    *,
    a: float | Decimal | Fraction = Fraction(80, 100),
    b: float | Decimal | Fraction = Fraction(15, 100),
) -> dict[K, str]:
    """ABC classes by share of the total value (default 80 / 15 / 5).

    Sorted by value, highest first (ties in key order), a key is ``A`` while the
    share of the keys before it is below ``a``, ``B`` while below ``a + b``, else
    ``C``: the key that crosses a threshold belongs to the class it starts in. A
    key with no value is always ``C``.

    Raises:
        InvalidValueError: a negative value, or thresholds that are not shares
            from 0 to 1 with ``a + b <= 1``.
    """
    share_a, share_b = _share("a", a), _share("b", b)
    if share_a + share_b > 1:
        msg = f"a + b must be at most 1, not {a} + {b}"
        raise InvalidValueError(msg)
    amounts = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, Fraction)) or value < 0:
            msg = f"the value of {key!r:.60} must be a number of at least 0, not {value!r:.40}"
            raise InvalidValueError(msg)
        amounts[key] = Fraction(value)
    total = sum(amounts.values(), Fraction(0))
    ordered = sorted(amounts, key=lambda k: (-amounts[k], repr(k)))
    out: dict[K, str] = {}
    before = Fraction(0)
    for key in ordered:
        amount = amounts[key]
        if amount == 0:
            out[key] = "C"
            continue
        share = before / total
        out[key] = "A" if share < share_a else "B" if share < share_a + share_b else "C"
        before += amount
    return out


def period_totals(
    series: DemandSeries, *, period_days: int = 7, window_days: int = 364
) -> list[int]:
    """The consumption of each whole period of ``period_days`` days, latest period last.

    Periods end on ``as_of``'s date and go back over at most ``window_days`` days,
    never before the first stocked day; an incomplete oldest period is left out.

    Raises:
        InvalidValueError: a period or window that is not a whole number of at least 1.
    """
    for name, value in (("period_days", period_days), ("window_days", window_days)):
        given: object = value
        if isinstance(given, bool) or not isinstance(given, int) or given < 1:
            msg = f"{name} must be a whole number of days of at least 1, not {value!r:.40}"
            raise InvalidValueError(msg)
    days = series.consumed[-window_days:] if series.consumed else ()
    count = len(days) // period_days
    start = len(days) - count * period_days
    return [
        sum(days[start + i * period_days : start + (i + 1) * period_days]) for i in range(count)
    ]


def _cv(values: Sequence[int]) -> float:
    mean = statistics.fmean(values)
    return statistics.pstdev(values) / mean


def classify_xyz(
    demand: Mapping[K, Sequence[int]], *, x: float = 0.5, y: float = 1.0
) -> dict[K, str]:
    """XYZ classes by the coefficient of variation of per-period demand.

    ``CV = population standard deviation / mean`` of each key's periods: ``X`` when
    ``CV <= x`` (steady), ``Y`` when ``CV <= y``, else ``Z``; ``N`` when there was no
    demand at all (no periods, or every period 0). Thresholds differ between
    sources (0.1/0.25, 0.25/0.5, 0.5/1.0): the defaults are 0.5 and 1.0.

    Raises:
        InvalidValueError: thresholds that are not numbers with ``0 <= x <= y``, or
            a negative demand.
    """
    _thresholds("x", x, "y", y)
    out: dict[K, str] = {}
    for key, periods in demand.items():
        _check_demand(key, periods)
        if not periods or not any(periods):
            out[key] = "N"
            continue
        cv = _cv(periods)
        out[key] = "X" if cv <= x else "Y" if cv <= y else "Z"
    return out


class DemandPattern(enum.Enum):
    """Syntetos-Boylan demand patterns, by the average demand interval and CV²."""

    SMOOTH = "smooth"
    """Regular in time and in size (ADI below the cut-off, CV² below its cut-off)."""
    ERRATIC = "erratic"
    """Regular in time, irregular in size."""
    INTERMITTENT = "intermittent"
    """Irregular in time, regular in size."""
    LUMPY = "lumpy"
    """Irregular in time and in size."""
    NONE = "none"
    """No demand in any period."""


def classify_demand_pattern(
    demand: Mapping[K, Sequence[int]], *, adi: float = 1.32, cv2: float = 0.49
) -> dict[K, DemandPattern]:
    """The demand pattern of each key's per-period demand.

    ``ADI`` is the number of periods divided by the number of periods with
    demand; ``CV²`` the squared coefficient of variation (population) of the
    non-zero demand sizes. Cut-offs 1.32 and 0.49 by default: below both is
    smooth, ADI below and CV² at or above is erratic, ADI at or above and CV²
    below is intermittent, both at or above is lumpy.

    Raises:
        InvalidValueError: cut-offs that are not positive numbers, or a negative demand.
    """
    _thresholds("adi", adi, "cv2", cv2, ordered=False)
    out: dict[K, DemandPattern] = {}
    for key, periods in demand.items():
        _check_demand(key, periods)
        sizes = [q for q in periods if q]
        if not sizes:
            out[key] = DemandPattern.NONE
            continue
        interval = len(periods) / len(sizes)
        squared = _cv(sizes) ** 2
        if interval < adi:
            out[key] = DemandPattern.SMOOTH if squared < cv2 else DemandPattern.ERRATIC
        else:
            out[key] = DemandPattern.INTERMITTENT if squared < cv2 else DemandPattern.LUMPY
    return out


def _thresholds(
    first: str, low: object, second: str, high: object, *, ordered: bool = True
) -> None:
    for name, value in ((first, low), (second, high)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            msg = f"{name} must be a number of at least 0, not {value!r:.40}"
            raise InvalidValueError(msg)
    if ordered and low > high:  # type: ignore[operator]
        msg = f"{first} ({low}) must not be above {second} ({high})"
        raise InvalidValueError(msg)


def _check_demand(key: object, periods: Sequence[int]) -> None:
    for q in periods:
        if isinstance(q, bool) or not isinstance(q, int) or q < 0:
            msg = f"the demand of {key!r:.60} must be whole numbers of at least 0, not {q!r:.40}"
            raise InvalidValueError(msg)
