"""Stock analytics computed from the ledger: demand, expiry risk, replenishment, classes.

Nothing here is typed in and nothing reads the clock: every figure is computed
from the stored movements that occurred up to an explicit ``as_of``, with days
counted in the facility's time zone. Read the ledger once with
[`StockHistory.read`][medinv.analytics.StockHistory.read], then ask for figures:

```pycon
>>> import pendulum
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.identifiers import ItemKey
>>> from medinv.ledger import Ledger
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> from medinv.analytics import AmcMethod, StockHistory, average_monthly_consumption, demand
>>> ledger = Ledger(MemoryStore(), timezone="Europe/Paris")
>>> item, store = ItemKey("04006381333931", lot="A"), Location.parse("Main/Store")
>>> at = pendulum.datetime(2026, 3, 1, 9, tz="Europe/Paris")
>>> _ = ledger.post([
...     Movement.receipt("r1", item=item, quantity=30, to=store, occurred_at=at, actor="ann"),
...     Movement.issue("i1", item=item, quantity=10, source=store, occurred_at=at.add(days=1), actor="ann"),
... ])
>>> history = StockHistory.read(ledger, as_of=at.add(days=9))
>>> series = demand(history, item.device_text, "Main/Store")
>>> series.start, sum(series.consumed), len(series.consumed)
(Date(2026, 3, 1), 10, 10)
>>> average_monthly_consumption(series, window_days=90, method=AmcMethod.CALENDAR).per_month
Fraction(61, 2)

```

The window of 90 days starts before the product was first stocked, so the
average is taken over the 10 days since.
"""  # noqa: E501  (doctest lines)

from __future__ import annotations

from medinv.analytics._ageing import (
    LotAge,
    MovementClass,
    StockCover,
    consumption_values,
    stock_ageing,
    stock_cover,
)
from medinv.analytics._classify import (
    DemandPattern,
    classify_abc,
    classify_demand_pattern,
    classify_xyz,
    period_totals,
)
from medinv.analytics._demand import (
    DAYS_PER_MONTH,
    AmcMethod,
    AverageConsumption,
    DemandSeries,
    average_monthly_consumption,
    averages,
    demand,
)
from medinv.analytics._expiry import (
    ExpiryRisk,
    LotRisk,
    RiskClass,
    expiring_lots,
    expiry_risk,
)
from medinv.analytics._history import ProductKey, StockHistory
from medinv.analytics._projection import DemandProjection, ProjectionMismatch
from medinv.analytics._replenish import (
    DEFAULT_SERVICE_LEVEL,
    ReorderPoint,
    ReplenishmentLine,
    combined_series,
    reorder_point,
    replenishment,
)
from medinv.analytics._stocktakes import StocktakeVariance, stocktake_variances

__all__ = [
    "DAYS_PER_MONTH",
    "DEFAULT_SERVICE_LEVEL",
    "AmcMethod",
    "AverageConsumption",
    "DemandPattern",
    "DemandProjection",
    "DemandSeries",
    "ExpiryRisk",
    "LotAge",
    "LotRisk",
    "MovementClass",
    "ProductKey",
    "ProjectionMismatch",
    "ReorderPoint",
    "ReplenishmentLine",
    "RiskClass",
    "StockCover",
    "StockHistory",
    "StocktakeVariance",
    "average_monthly_consumption",
    "averages",
    "classify_abc",
    "classify_demand_pattern",
    "classify_xyz",
    "combined_series",
    "consumption_values",
    "demand",
    "expiring_lots",
    "expiry_risk",
    "period_totals",
    "reorder_point",
    "replenishment",
    "stock_ageing",
    "stock_cover",
    "stocktake_variances",
]
