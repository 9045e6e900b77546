"""Low stock and replenishment proposals: what to order, counting only stock that will be used.

A product's **stock position** at a location is its usable stock (``AVAILABLE``,
minus the quantity at risk of expiry), minus what is reserved, plus what is on
order. An order is proposed when the position is at or below the reorder level,
for what brings it up to the target, rounded up to whole packages; stock already
on order counts, so it never proposes the same need twice.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from fractions import Fraction
from typing import Final

import attrs

from medinv.analytics._demand import (
    AmcMethod,
    DemandSeries,
    average_monthly_consumption,
    demand,
)
from medinv.analytics._expiry import ExpiryRisk, expiry_risk
from medinv.analytics._history import StockHistory
from medinv.catalogue import Product, ReorderPolicy
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError
from medinv.locations import Location
from medinv.ports import CatalogueStore

__all__ = [
    "DEFAULT_SERVICE_LEVEL",
    "ReorderPoint",
    "ReplenishmentLine",
    "combined_series",
    "reorder_point",
    "replenishment",
]

DEFAULT_SERVICE_LEVEL: Final = 0.95
"""The probability of not running out during a lead time that the safety stock aims at."""

StockKey = tuple[str, Location]
"""(primary DI text, location): what a replenishment line is about."""

StockQuantities = Mapping[tuple[str, Location], int] | Mapping[tuple[str, str], int]
"""Base units per (primary DI, location or its path), given by the caller."""


@attrs.frozen(kw_only=True)
class ReorderPoint:
    """A reorder point computed from demand and lead time, with its parts."""

    per_day: Fraction
    """Mean daily demand ``d``: the average consumption's daily rate."""
    sd_per_day: float
    """Standard deviation of daily demand ``sd_d`` over the days counted (sample, n - 1)."""
    lead_time_days: int
    """Lead time ``L`` in days."""
    lead_time_sd_days: float
    """Standard deviation of the lead time ``sd_L`` in days (0: fixed lead time)."""
    z: float
    """The service level's normal quantile."""
    safety_stock: float
    """``z * sd_d * sqrt(L)``; ``z * sqrt(sd_d^2 * L + d^2 * sd_L^2)`` when the lead time varies."""
    quantity: int
    """The reorder point: ``d * L + safety stock``, rounded up."""


def _check_number(name: str, value: object, *, low: float, high: float | None = None) -> None:
    """Refuse anything but a finite number in ``[low, high)`` (``(0, 1)`` for a probability)."""
    number = (
        float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    )
    probability = high is not None
    if (
        number is None
        or not math.isfinite(number)
        or number < low
        or (probability and (number <= low or number >= high))  # type: ignore[operator]
    ):
        bound = f"between {low} and {high}, both excluded" if probability else f"of at least {low}"
        msg = f"{name} must be a number {bound}, not {value!r:.40}"
        raise InvalidValueError(msg)


def reorder_point(
    series: DemandSeries,
    *,
    lead_time_days: int,
    service_level: float = DEFAULT_SERVICE_LEVEL,
    lead_time_sd_days: float = 0.0,
    window_days: int = 365,
    method: AmcMethod = AmcMethod.MSH,
) -> ReorderPoint:
    """The reorder point ``d * L + SS`` of a demand series.

    ``d`` is the average daily consumption (``method`` over ``window_days``); ``sd_d``
    the sample standard deviation of the daily consumption over the window's days
    that were not stock-out days (0 with fewer than two). The safety stock is
    ``z * sd_d * sqrt(L)`` for a fixed lead time, and
    ``z * sqrt(sd_d^2 * L + d^2 * sd_L^2)`` when the lead time varies with standard
    deviation ``sd_L``.

    Raises:
        InvalidValueError: a lead time that is not a whole number of at least 0, a
            service level outside (0, 1), or a negative lead-time deviation.
    """
    given: object = lead_time_days
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        msg = f"lead_time_days must be a whole number of days of at least 0, not {given!r:.40}"
        raise InvalidValueError(msg)
    _check_number("service_level", service_level, low=0, high=1)
    _check_number("lead_time_sd_days", lead_time_sd_days, low=0)
    average = average_monthly_consumption(series, window_days=window_days, method=method)
    count = average.window_days
    first = len(series.consumed) - count
    days = [
        q
        for q, out in zip(series.consumed[first:], series.stock_out[first:], strict=True)
        if not out
    ]
    sd = statistics.stdev(days) if len(days) > 1 else 0.0
    d = average.per_day
    z = statistics.NormalDist().inv_cdf(service_level)
    lead, sd_lead = lead_time_days, float(lead_time_sd_days)
    if sd_lead:
        safety = z * math.sqrt(sd * sd * lead + float(d) ** 2 * sd_lead**2)
    else:
        safety = z * sd * math.sqrt(lead)
    quantity = max(0, math.ceil(float(d * lead) + safety - 1e-9))
    return ReorderPoint(
        per_day=d,
        sd_per_day=sd,
        lead_time_days=lead,
        lead_time_sd_days=sd_lead,
        z=z,
        safety_stock=safety,
        quantity=quantity,
    )


def combined_series(
    parts: list[tuple[DemandSeries, int]], *, gtin: str, location: Location
) -> DemandSeries:
    """One series from the series of a product's GTINs at a location, in base units.

    Each part is a series and the base units one of its units holds. A day is a
    stock-out day when no GTIN of the product had usable stock (a GTIN not stocked
    yet has none).
    """
    started = [(s, units) for s, units in parts if s.start is not None]
    if not started:
        return DemandSeries(
            gtin=gtin, location=location, start=None, consumed=(), stock_out=(), closing=()
        )
    start = min(s.start for s, _ in started if s.start is not None)
    length = max(len(s.consumed) + (s.start - start).days for s, _ in started if s.start)
    consumed, closing, stocked = [0] * length, [0] * length, [False] * length
    for s, units in started:
        offset = (s.start - start).days if s.start is not None else 0
        for i, (q, out, c) in enumerate(zip(s.consumed, s.stock_out, s.closing, strict=True)):
            consumed[offset + i] += q * units
            closing[offset + i] += c * units
            stocked[offset + i] = stocked[offset + i] or not out
    return DemandSeries(
        gtin=gtin,
        location=location,
        start=start,
        consumed=tuple(consumed),
        stock_out=tuple(not s for s in stocked),
        closing=tuple(closing),
    )


@attrs.frozen(kw_only=True)
class ReplenishmentLine:
    """One product at one location: its stock position against its reorder level.

    Every quantity is in the product's base units.
    """

    product: str
    """The product's primary DI."""
    location: Location
    """The location."""
    usable: int
    """``AVAILABLE`` stock that forecast consumption will use before it expires."""
    at_risk: int
    """``AVAILABLE`` stock at risk of expiry (not counted)."""
    reserved: int
    """Reserved for orders (as given)."""
    on_order: int
    """Ordered and not received yet (as given)."""
    position: int
    """``usable - reserved + on_order``."""
    reorder_level: int
    """The position at or below which an order is proposed."""
    target: int
    """The position an order brings the stock up to."""
    computed: ReorderPoint | None
    """The reorder point computed from demand, when the level came from one."""
    quantity: int
    """The proposal, rounded up to whole ``order_di`` packages; 0: nothing to order."""
    order_di: str
    """The DI the proposal is ordered in (the smallest package level, else the base unit)."""
    packages: int
    """``quantity`` in ``order_di`` units."""

    @property
    def low(self) -> bool:
        """Whether the stock at hand (without what is on order) is at or below the level."""
        return self.usable - self.reserved <= self.reorder_level


def replenishment(
    history: StockHistory,
    catalogue: CatalogueStore,
    *,
    on_order: StockQuantities | None = None,
    reserved: StockQuantities | None = None,
    service_level: float = DEFAULT_SERVICE_LEVEL,
    lead_time_sd_days: float = 0.0,
    window_days: int = 365,
    method: AmcMethod = AmcMethod.MSH,
    risks: list[ExpiryRisk] | None = None,
) -> list[ReplenishmentLine]:
    """Evaluate every product with a reorder policy at every location it was stocked at.

    The reorder level is the policy's ``reorder_point`` when it has one; else the
    reorder point computed from demand and the policy's ``lead_time_days``
    (raised to the policy's ``minimum``); else its ``minimum``. The target is the
    policy's ``maximum``; without one, the level plus the demand of one lead time.
    When ``position <= reorder_level`` the proposal is ``target - position`` rounded
    up to whole packages of the product's smallest package level; otherwise 0.

    Args:
        history: the ledger as read by
            [`StockHistory.read`][medinv.analytics.StockHistory.read].
        catalogue: products and their reorder policies, packaging and lead times
            (versions in force at ``as_of``); products without a reorder policy are
            left out.
        on_order: base units on order per (primary DI, location).
        reserved: base units reserved per (primary DI, location).
        service_level: for the safety stock (0 to 1, default 0.95).
        lead_time_sd_days: lead-time standard deviation, in days.
        window_days: the demand window.
        method: the average consumption's method.
        risks: the expiry risk already computed for ``history`` (else computed here
            with the same window and method).

    Returns:
        One line per (product, location), sorted by primary DI then location;
        ``[line for line in lines if line.quantity]`` are the proposals.

    Raises:
        InvalidValueError: a negative or non-whole quantity in ``on_order`` or
            ``reserved``, or a parameter out of range.
    """
    orders, reservations = _quantities("on_order", on_order), _quantities("reserved", reserved)
    risk_list = (
        risks if risks is not None else expiry_risk(history, window_days=window_days, method=method)
    )
    by_key = {(r.gtin, r.location): r for r in risk_list}
    grouped: dict[StockKey, list[tuple[str, int]]] = {}
    products: dict[str, Product] = {}
    policies: dict[str, ReorderPolicy] = {}
    for gtin, location in history.places():
        match = catalogue.product(gtin, as_of=history.as_of)
        if match is None or match.product.reorder is None:
            continue
        primary = match.product.primary_di.value
        products[primary] = match.product
        policies[primary] = match.product.reorder
        grouped.setdefault((primary, location), []).append((gtin, match.base_units))
    lines = []
    for (primary, location), gtins in sorted(
        grouped.items(), key=lambda kv: (kv[0][0], kv[0][1].path)
    ):
        product = products[primary]
        usable = at_risk = 0
        for gtin, units in gtins:
            risk = by_key.get((gtin, location))
            if risk is not None:
                usable += risk.usable * units
                at_risk += risk.at_risk * units
        series = combined_series(
            [(demand(history, g, location), units) for g, units in gtins],
            gtin=primary,
            location=location,
        )
        level, target, computed = _levels(
            policies[primary], series,
            service_level=service_level, lead_time_sd_days=lead_time_sd_days,
            window_days=window_days, method=method,
        )  # fmt: skip
        held = reservations.get((primary, location), 0)
        ordered = orders.get((primary, location), 0)
        position = usable - held + ordered
        needed = target - position if position <= level else 0
        order_di, per = _order_level(product)
        packages = -(-needed // per) if needed > 0 else 0
        lines.append(
            ReplenishmentLine(
                product=primary,
                location=location,
                usable=usable,
                at_risk=at_risk,
                reserved=held,
                on_order=ordered,
                position=position,
                reorder_level=level,
                target=target,
                computed=computed,
                quantity=packages * per,
                order_di=order_di,
                packages=packages,
            )
        )
    return lines


def _levels(
    policy: ReorderPolicy,
    series: DemandSeries,
    *,
    service_level: float,
    lead_time_sd_days: float,
    window_days: int,
    method: AmcMethod,
) -> tuple[int, int, ReorderPoint | None]:
    computed = None
    if policy.lead_time_days is not None:
        computed = reorder_point(
            series,
            lead_time_days=policy.lead_time_days,
            service_level=service_level,
            lead_time_sd_days=lead_time_sd_days,
            window_days=window_days,
            method=method,
        )
    if policy.reorder_point is not None:
        level = policy.reorder_point
    elif computed is not None:
        level = max(computed.quantity, policy.minimum or 0)
    else:
        level = policy.minimum or 0
    if policy.maximum is not None:
        target = max(policy.maximum, level)
    else:
        cover = computed.per_day * computed.lead_time_days if computed is not None else 0
        target = level + math.ceil(cover)
    used = computed if policy.reorder_point is None and computed is not None else None
    return level, target, used


def _order_level(product: Product) -> tuple[str, int]:
    """The smallest package level (DI and base units), else the base unit."""
    levels = sorted(
        ((product.base_units_per(p.di), p.di.value) for p in product.packages), key=lambda x: x
    )
    if levels:
        units, di = levels[0]
        return di, units
    return product.primary_di.value, 1


def _quantities(name: str, given: StockQuantities | None) -> dict[StockKey, int]:
    out: dict[StockKey, int] = {}
    pairs: list[tuple[tuple[str, Location | str], int]] = list((given or {}).items())
    for (di, place), quantity in pairs:
        location = Location.parse(place) if isinstance(place, str) else place
        di = DeviceIdentifier.parse(di).value  # noqa: PLW2901  (normalised)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            msg = (
                f"{name} for {di} at {location} must be a whole number of at least 0, "
                f"not {quantity!r:.40}"
            )
            raise InvalidValueError(msg)
        out[(str(di), location)] = out.get((str(di), location), 0) + quantity
    return out
