"""Expiry risk: how much of the stock on hand forecast consumption will not use in time.

The forecast consumes the lots of a product at a location in FEFO order (earliest
expiry first) at the product's daily rate there. What it will not have used by the
end of a lot's expiry day is **at risk of expiry**; the rest is usable. For every
product and location ``usable + at_risk == on_hand``.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction

import attrs
import pendulum

from medinv.analytics._demand import AmcMethod, _check_average, _window_average
from medinv.analytics._history import ProductKey, StockHistory
from medinv.catalogue import UnitValue
from medinv.dates import is_expired, remaining_shelf_life
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.ports import CatalogueStore
from medinv.status import StockStatus

__all__ = ["ExpiryRisk", "LotRisk", "RiskClass", "expiring_lots", "expiry_risk"]


class RiskClass(enum.Enum):
    """Why a lot's quantity is, or is not, at risk of expiry."""

    SAFE = "safe"
    """The forecast uses all of it before it expires (or it never expires)."""
    AT_RISK = "at-risk"
    """The product is consumed here, but not fast enough to use all of the lot in time."""
    NO_DEMAND = "no-demand"
    """Nothing was consumed here in the window: unused stock that will expire as it is.

    Kept apart from ``AT_RISK`` so that a report of lots at risk does not fill up with
    stock nobody uses, and never reported as safe."""
    EXPIRED = "expired"
    """Already expired at ``as_of``: none of it can be used."""


@attrs.frozen(kw_only=True)
class LotRisk:
    """One lot (or item) of usable status at one location, and what the forecast uses of it."""

    item: ItemKey
    """The stock item."""
    location: Location
    """Where it is."""
    expiry: pendulum.Date | None
    """Its expiry, ``None`` when it has none."""
    on_hand: int
    """``AVAILABLE`` quantity at ``as_of``."""
    usable: int
    """What the forecast consumes before it expires."""
    at_risk: int
    """``on_hand - usable``: what will expire unused at the forecast rate."""
    risk: RiskClass
    """Why."""
    value_at_risk: UnitValue | None
    """``at_risk`` times the catalogue's unit value; ``None`` without a unit value."""


@attrs.frozen(kw_only=True)
class ExpiryRisk:
    """The expiry risk of one product at one location: its lots, in FEFO order, and totals."""

    gtin: str
    """The product's GTIN-14 digits."""
    location: Location
    """The location."""
    per_day: Fraction
    """The forecast daily consumption the lots were consumed at."""
    lots: tuple[LotRisk, ...]
    """Each lot on hand, earliest expiry first (lots without expiry last)."""

    @property
    def on_hand(self) -> int:
        """``AVAILABLE`` quantity on hand."""
        return sum(lot.on_hand for lot in self.lots)

    @property
    def usable(self) -> int:
        """What the forecast uses before expiry."""
        return sum(lot.usable for lot in self.lots)

    @property
    def at_risk(self) -> int:
        """What will expire unused: ``on_hand - usable``."""
        return sum(lot.at_risk for lot in self.lots)

    @property
    def value_at_risk(self) -> UnitValue | None:
        """The value of ``at_risk``; ``None`` without a unit value in the catalogue."""
        values = [lot.value_at_risk for lot in self.lots]
        if not values or any(v is None for v in values):
            return None
        return UnitValue(
            amount=sum((v.amount for v in values if v is not None), Decimal(0)),
            currency=next(v.currency for v in values if v is not None),
        )


def expiry_risk(
    history: StockHistory,
    *,
    catalogue: CatalogueStore | None = None,
    rates: Mapping[ProductKey, Fraction] | None = None,
    window_days: int = 365,
    method: AmcMethod = AmcMethod.MSH,
) -> list[ExpiryRisk]:
    """The expiry risk of every product at every location with ``AVAILABLE`` stock.

    Args:
        history: the ledger as read by
            [`StockHistory.read`][medinv.analytics.StockHistory.read].
        catalogue: where unit values come from (the product version in force at
            ``as_of``); without it, values are ``None``.
        rates: a forecast daily rate per (GTIN, location) to use instead of the
            average consumption (for a product and location missing here, the
            average is used).
        window_days: the average consumption's window, in days.
        method: the average consumption's method.

    Returns:
        One entry per (GTIN, location) with stock on hand, sorted by GTIN then location.

    Raises:
        InvalidValueError: ``window_days`` is not a whole number of at least 1,
            ``method`` is not an ``AmcMethod``, or a forecast rate is negative.
    """
    _check_average(window_days, method)
    out = []
    today = history.today.toordinal()
    for key in history.places():
        on_hand = _on_hand(history, key)
        if not on_hand:
            continue
        gtin, location = key
        rate = None if rates is None else rates.get(key)
        if rate is None:
            # The average of the window's days alone (the same figure as
            # average_monthly_consumption of the place's whole series).
            rate = _window_average(history, key, today, window_days, method).per_day
        if rate < 0:
            msg = f"the forecast daily rate of {gtin} at {location} is negative: {rate}"
            raise InvalidValueError(msg)
        value = _unit_value(catalogue, gtin, history.as_of)
        lots = tuple(_consume(history, location, on_hand, rate, value))
        out.append(ExpiryRisk(gtin=gtin, location=location, per_day=rate, lots=lots))
    return out


def expiring_lots(
    risks: list[ExpiryRisk], history: StockHistory, *, within_days: int
) -> list[LotRisk]:
    """The lots that expire within ``within_days`` days of ``as_of``'s date (expired ones too).

    Sorted by expiry, then GTIN, lot and location.

    Raises:
        InvalidValueError: ``within_days`` is not a whole number of at least 0.
    """
    given: object = within_days
    if isinstance(given, bool) or not isinstance(given, int) or given < 0:
        msg = f"within_days must be a whole number of days of at least 0, not {within_days!r:.40}"
        raise InvalidValueError(msg)
    last = history.today.add(days=within_days)
    found = [
        lot for risk in risks for lot in risk.lots if lot.expiry is not None and lot.expiry <= last
    ]
    found.sort(key=lambda lot: (lot.expiry, lot.item.sort_key(), lot.location.path))
    return found


def _on_hand(history: StockHistory, key: ProductKey) -> dict[ItemKey, int]:
    return {
        item: quantity
        for (item, status), quantity in history.balances(key).items()
        if status is StockStatus.AVAILABLE and quantity > 0
    }


def _unit_value(
    catalogue: CatalogueStore | None, gtin: str, as_of: pendulum.DateTime
) -> UnitValue | None:
    """The value of one unit of ``gtin`` (which may be a package level) at ``as_of``."""
    if catalogue is None:
        return None
    match = catalogue.product(gtin, as_of=as_of)
    if match is None or match.product.unit_value is None:
        return None
    return match.product.unit_value.times(match.base_units)


def _consume(
    history: StockHistory,
    location: Location,
    on_hand: dict[ItemKey, int],
    rate: Fraction,
    value: UnitValue | None,
) -> Iterator[LotRisk]:
    """Consume the lots in FEFO order at ``rate`` a day; yield what each keeps at risk."""
    today = history.today

    def fefo(item: ItemKey) -> tuple[bool, pendulum.Date, tuple[str, str, str]]:
        expiry = history.expiry(item)
        return (expiry is None, expiry or today, item.sort_key())

    used_before = 0
    for item in sorted(on_hand, key=fefo):
        quantity, expiry = on_hand[item], history.expiry(item)
        if expiry is None:
            used, risk = quantity, RiskClass.SAFE
        elif is_expired(expiry, today):
            used, risk = 0, RiskClass.EXPIRED
        else:
            # The forecast consumes every day from today to the expiry day, both included.
            days = (remaining_shelf_life(expiry, today) or 0) + 1
            by_expiry = math.floor(rate * days)
            used = min(quantity, max(0, by_expiry - used_before))
            used_before += used
            if used == quantity:
                risk = RiskClass.SAFE
            else:
                risk = RiskClass.AT_RISK if rate > 0 else RiskClass.NO_DEMAND
        at_risk = quantity - used
        yield LotRisk(
            item=item,
            location=location,
            expiry=expiry,
            on_hand=quantity,
            usable=used,
            at_risk=at_risk,
            risk=risk,
            value_at_risk=None if value is None else value.times(at_risk),
        )
