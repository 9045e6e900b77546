"""Stocktake: blind, time-aware counting with recounts, four-eyes approval and adjustments.

A stocktake counts a scope of locations (and optionally products) from a
start point in the ledger. Each count line says when it was counted; its expected
quantity is the book at the start point plus the movements that happened between
the start point and that time, so stock moving during the count makes no false
variance. The variance report is data; approval needs a second person; posting
turns the approved variances into ADJUSTMENT movements with deterministic ids.

```pycon
>>> import pendulum
>>> from medinv.identifiers import ItemKey
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> from medinv.status import StockStatus
>>> t = lambda h, m=0: pendulum.datetime(2026, 11, 23, h, m, tz="Europe/Paris")
>>> gloves, a1 = ItemKey("04006381333931", lot="L1"), Location.parse("Main/Store/A1")
>>> st = Stocktake.plan("ST-1", scope=StocktakeScope(["Main/Store"]), created_by="lea",
...                     created_at=t(8)).begin(start_position=10, at=t(8))
>>> line = CountLine(id="c1", counter="ana", device="s1", counted_at=t(10, 30),
...                  location=a1, item=gloves, quantity=7)
>>> issue = Movement.issue("m11", item=gloves, quantity=2, source=a1, occurred_at=t(10),
...                        actor="ward")
>>> st = st.close_counting(at=t(11))
>>> report = variance_report(st, [line], start={(gloves, a1, StockStatus.AVAILABLE): 10},
...                          movements=[TimedMovement(issue, t(10, 1))])
>>> v = report.entry(gloves, a1)
>>> v.kind.value, v.expected, v.counted, v.difference, v.requires_recount
('SHORTAGE', 8, 7, -1, True)

```
"""

from __future__ import annotations

from medinv._moved import moved_names
from medinv.stocktake._diff import CountDiff, diff_counts
from medinv.stocktake._intake import (
    CSV_COLUMNS,
    count_line_from_scan,
    duplicate_serials,
    import_counts,
    import_counts_csv,
    merge_lines,
)
from medinv.stocktake._model import (
    CountLine,
    CountSource,
    PlannedAdjustment,
    StockKey,
    Stocktake,
    StocktakeScope,
    StocktakeState,
    Tolerance,
    TolerancePolicy,
    effective_lines,
    line_rounds,
)
from medinv.stocktake._report import (
    Variance,
    VarianceKind,
    VarianceReport,
    bin_count_times,
    variance_report,
)
from medinv.stocktake._timing import (
    CountTiming,
    TimedMovement,
    expected_quantities,
)
from medinv.stocktake._view import CounterView, counter_view

__all__ = [
    "CSV_COLUMNS",
    "CountDiff",
    "CountLine",
    "CountSource",
    "CountTiming",
    "CounterView",
    "PlannedAdjustment",
    "StockKey",
    "Stocktake",
    "StocktakeScope",
    "StocktakeState",
    "TimedMovement",
    "Tolerance",
    "TolerancePolicy",
    "Variance",
    "VarianceKind",
    "VarianceReport",
    "bin_count_times",
    "count_line_from_scan",
    "counter_view",
    "diff_counts",
    "duplicate_serials",
    "effective_lines",
    "expected_quantities",
    "import_counts",
    "import_counts_csv",
    "line_rounds",
    "merge_lines",
    "variance_report",
]

# Moved to medinv.services (the layer that posts through the ledger); a stored
# movement has one name, medinv.journal.StoredMovement.
__getattr__ = moved_names(
    "medinv.stocktake",
    {
        **dict.fromkeys(("BookAtStart", "StocktakeService"), "medinv.services"),
        "MovementRecord": "medinv.journal:StoredMovement",
    },
)
