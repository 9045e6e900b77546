"""Stock analytics: medinv's full recompute against pandas, polars and DuckDB on the same data.

A ledger of ``products x locations`` over ``days`` days is posted into a
``MemoryStore`` (receipts when stock runs low, issues and consumptions most days,
some days with nothing left: stock-out days). Every contender computes, for every
product and location, over the last ``window`` days (never before the first
stocked day): the quantity consumed, the stock-out days (no stock at any moment
of the day) and the days in the window, from which the MSH average follows.

- medinv: ``StockHistory.read`` from the store, then ``averages`` (the figures of
  every product and location from the window's days; the time includes reading
  the store); "medinv, history read": ``averages`` alone on a ``StockHistory``
  read before timing (medinv's table already in memory, as the peers' in (a));
  and, for reference, "medinv, whole series": ``demand`` and
  ``average_monthly_consumption`` per product and location, which build each
  place's daily series from its first day;
- pandas, polars and DuckDB: the same figures from a flat movements table (one
  row per balance effect: key, facility day, position, delta, quantity issued)
  with group-bys and cumulative sums, without a calendar grid (the days between
  two active days of a place hold the earlier one's closing balance, so a gap
  after a day that closed at zero counts its length in stock-out days, clipped to
  the window). They are timed twice:
  (a) on a table already in memory (building it is not timed; medinv's own
  table is the ``StockHistory``), and (b) loading
  the same movements from the same store first (their own loop over
  ``LedgerStore.movements``, then building their table), as medinv does.

The script first checks that all agree on every figure, then runs them
interleaved (three rounds, one at the issue's size; best wall time kept, a
garbage collection before each) and prints times, ratios to the fastest of each
comparison, sizes, the load average and the process's peak memory.

Then the incremental report: a ``DemandProjection`` is built from the ledger and
saved in the store's ``projections``; three more days are posted one at a time,
and after each the catch-up (the day's movements only), the save of what changed
and the same figures from the projection are timed against a full recompute of
the same figures (which must be equal).

``--issue-size`` runs the issue's full size instead: 2,000 products x 50 locations
x 3 years, each product-location active on about one day in eighteen (over
5,000,000 movements), posted 30 days per batch; ``--no-peers`` leaves the peers
out.

Usage: ``python benchmarks/bench_analytics.py [--quick | --issue-size] [--no-peers]
[--rounds N] [--seed N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import math
import os
import random
import resource
import sys
import time
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pendulum
import polars as pl

from medinv.adapters.memory import MemoryStore
from medinv.analytics import (
    AmcMethod,
    DemandProjection,
    StockHistory,
    average_monthly_consumption,
    averages,
    demand,
)
from medinv.identifiers import ItemKey, gs1_check_digit
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore, MovementQuery

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import table

ZONE = "Europe/Paris"
START = pendulum.datetime(2024, 1, 1, 8, tz=ZONE)
EPOCH = START.date()

Figures = dict[tuple[str, str], tuple[int, int, int]]
"""(gtin, location) -> (consumed, stock-out days, window days)."""


def gtin(n: int) -> str:
    body = f"0400638{n:06d}"
    return body + str(gs1_check_digit(body))


def day_batches(
    products: int, locations: int, days: int, seed: int, activity: float = 1.0
) -> Iterator[list[Movement]]:
    """The movements of each day in turn.

    With ``activity`` below 1, each product-location is active on that share of the
    days (gaps drawn at random), and only active ones are visited: the issue's size
    has 110 million place-days, of which about 6 million are active.
    """
    rng = random.Random(seed)
    places = [Location.parse(f"H/Ward{n}") for n in range(locations)]
    items = [ItemKey(gtin(n), lot="L1") for n in range(products)]
    stock = {(i, p): 0 for i in range(products) for p in range(locations)}
    active = None if activity >= 1 else _active_days(list(stock), days, activity, rng)
    count = 0
    for day in range(days):
        batch = []
        acting = stock.items() if active is None else [(k, stock[k]) for k in active[day]]
        for (i, p), before in acting:
            held = before
            at = START.add(days=day, minutes=rng.randint(0, 600))
            if held < 5 and rng.random() < 0.7:
                qty = rng.randint(20, 60)
                batch.append(Movement.receipt(f"R{count}", item=items[i], quantity=qty,
                                              to=places[p], occurred_at=at, actor="b"))  # fmt: skip
                stock[(i, p)] = held = held + qty
                count += 1
            if held and rng.random() < 0.8:
                qty = rng.randint(1, min(held, 8))
                kind = Movement.issue if rng.random() < 0.7 else Movement.consumption
                extra: dict[str, Any] = {} if kind is Movement.issue else {"reference": "P"}
                batch.append(kind(f"I{count}", item=items[i], quantity=qty, source=places[p],
                                  occurred_at=at.add(hours=1), actor="b", **extra))  # fmt: skip
                stock[(i, p)] = held - qty
                count += 1
        yield batch


def _active_days(
    keys: list[tuple[int, int]], days: int, activity: float, rng: random.Random
) -> list[list[tuple[int, int]]]:
    """For each day, the places active on it: geometric gaps of mean ``1 / activity`` days."""
    plan: list[list[tuple[int, int]]] = [[] for _ in range(days)]
    scale = 1 / math.log(1 - activity)
    for key in keys:
        day = int(math.log(1 - rng.random()) * scale)
        while day < days:
            plan[day].append(key)
            day += 1 + int(math.log(1 - rng.random()) * scale)
    return plan


def build(batches: Iterator[list[Movement]], days: int, per_post: int = 1) -> tuple[Ledger, int]:
    """Post ``days`` days of ``batches``, ``per_post`` days a batch; the ledger, the count."""
    ledger = Ledger(MemoryStore(), clock=lambda: START, timezone=ZONE)
    count = 0
    pending: list[Movement] = []
    for n, batch in zip(range(days), batches, strict=False):
        pending += batch
        if (n + 1) % per_post == 0 or n + 1 == days:
            ledger.post(pending)
            count += len(pending)
            pending = []
    return ledger, count


def load_columns(store: LedgerStore) -> dict[str, list[Any]]:
    """A peer's read of the store: one row per balance effect (key, day, position, delta, issued).

    Written as a user would, with the store's public reading and the standard
    library's conversion of each movement's time to the facility's day.
    """
    zone = zoneinfo.ZoneInfo(ZONE)
    epoch = EPOCH.toordinal()
    gtins, locations, days, positions, deltas, issued = [], [], [], [], [], []
    for r in store.movements(MovementQuery()):
        m = r.movement
        day = dt.datetime.fromtimestamp(m.occurred_at.timestamp(), zone).toordinal() - epoch
        for location, _status, delta in m.deltas():
            gtins.append(m.item.gtin.value)
            locations.append(str(location))
            days.append(day)
            positions.append(r.position)
            deltas.append(delta)
            issued.append(m.quantity if m.is_issuing else 0)
    return {"gtin": gtins, "location": locations, "day": days, "pos": positions,
            "delta": deltas, "issued": issued}  # fmt: skip


def duckdb_of(frame: pd.DataFrame, *, copy: bool) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ``moves``: a table copied from ``frame``, or a view of it."""
    con = duckdb.connect()
    if copy:
        con.register("moves_view", frame)
        con.execute("CREATE TABLE moves AS SELECT * FROM moves_view")
    else:
        con.register("moves", frame)
    return con


def run_medinv(ledger: Ledger, as_of: pendulum.DateTime, window: int) -> Figures:
    """The full recompute: read the store, then every place's figures from its window."""
    return figures_of(StockHistory.read(ledger, as_of=as_of), window)


def figures_of(history: StockHistory, window: int) -> Figures:
    """Every place's figures from a history already read (medinv's table in memory)."""
    every = averages(history, window_days=window, method=AmcMethod.MSH)
    return {
        (g, str(location)): (amc.consumed, amc.stock_out_days, amc.window_days)
        for (g, location), amc in every.items()
    }


def run_medinv_series(ledger: Ledger, as_of: pendulum.DateTime, window: int) -> Figures:
    """The same through each place's whole daily series (``demand``), as runs 1 to 12 did."""
    history = StockHistory.read(ledger, as_of=as_of)
    out: Figures = {}
    for g, location in history.places():
        amc = average_monthly_consumption(
            demand(history, g, location), window_days=window, method=AmcMethod.MSH
        )
        out[(g, str(location))] = (amc.consumed, amc.stock_out_days, amc.window_days)
    return out


def run_incremental(
    projection: DemandProjection, ledger: Ledger, as_of: pendulum.DateTime, window: int
) -> Figures:
    """Fold in what was posted since the last report, save what changed, the same figures."""
    projection.catch_up(ledger)
    projection.save(ledger.store.projections)  # type: ignore[attr-defined]
    out: Figures = {}
    averages = projection.averages(as_of=as_of, window_days=window, method=AmcMethod.MSH)
    for (g, location), amc in averages.items():
        out[(g, str(location))] = (amc.consumed, amc.stock_out_days, amc.window_days)
    return out


def run_pandas(frame: pd.DataFrame, today: int, window: int) -> Figures:
    key = ["gtin", "location"]
    f = frame.sort_values([*key, "pos"])
    f = f.assign(bal=f.groupby(key)["delta"].cumsum())
    daily = f.groupby([*key, "day"], as_index=False).agg(
        day_max=("bal", "max"), closing=("bal", "last"), consumed=("issued", "sum")
    )
    starts = f[f["delta"] > 0].groupby(key, as_index=False).agg(start=("day", "min"))
    # No calendar grid: the active days of each place in order; the days between two
    # active days hold the earlier one's closing balance.
    d = daily.merge(starts, on=key)  # an inner merge keeps the left order: by key, day
    d = d[(d["day"] >= d["start"]) & (d["day"] <= today)]
    first = d["start"].clip(lower=today - window + 1)
    by_place = d.groupby(key)
    opening = by_place["closing"].shift(1, fill_value=0)
    following = by_place["day"].shift(-1, fill_value=today + 1)
    in_window = d["day"] >= first
    out_today = ~((opening > 0) | (d["day_max"] > 0)) & in_window
    gap = ((following - 1).clip(upper=today) - (d["day"] + 1).clip(lower=first) + 1).clip(lower=0)
    d = d.assign(
        first=first,
        outs=out_today.astype("int64") + gap.where(d["closing"] <= 0, 0),
        used=d["consumed"].where(in_window, 0),
    )
    result = d.groupby(key).agg(
        consumed=("used", "sum"), outs=("outs", "sum"), first=("first", "first")
    )
    return {
        (str(g), str(loc)): (int(c), int(s), int(today - w + 1))
        for (g, loc), c, s, w in zip(
            result.index, result["consumed"], result["outs"], result["first"], strict=True
        )
    }


def run_polars(frame: pl.DataFrame, today: int, window: int) -> Figures:
    key = ["gtin", "location"]
    f = frame.sort([*key, "pos"]).with_columns(pl.col("delta").cum_sum().over(key).alias("bal"))
    daily = f.group_by([*key, "day"]).agg(
        pl.col("bal").max().alias("day_max"),
        pl.col("bal").last().alias("closing"),
        pl.col("issued").sum().alias("consumed"),
    )
    starts = f.filter(pl.col("delta") > 0).group_by(key).agg(pl.col("day").min().alias("start"))
    # No calendar grid: the active days of each place in order; the days between two
    # active days hold the earlier one's closing balance.
    day, first = pl.col("day"), pl.col("first")
    d = (
        daily.join(starts, on=key)
        .filter((day >= pl.col("start")) & (day <= today))
        .sort([*key, "day"])
        .with_columns(
            pl.max_horizontal(pl.col("start"), pl.lit(today - window + 1)).alias("first"),
            pl.col("closing").shift(1).over(key).fill_null(0).alias("opening"),
            day.shift(-1).over(key).fill_null(today + 1).alias("following"),
        )
        .with_columns((day >= first).alias("in_window"))
    )
    gap = (
        pl.min_horizontal(pl.col("following") - 1, pl.lit(today))
        - pl.max_horizontal(day + 1, first)
        + 1
    ).clip(lower_bound=0)
    out_today = ~((pl.col("opening") > 0) | (pl.col("day_max") > 0)) & pl.col("in_window")
    result = d.group_by(key).agg(
        pl.col("consumed").filter(pl.col("in_window")).sum(),
        (out_today.cast(pl.Int64) + pl.when(pl.col("closing") <= 0).then(gap).otherwise(0))
        .sum()
        .alias("outs"),
        first.first(),
    )
    return {
        (g, loc): (int(c), int(s), int(today - w + 1))
        for g, loc, c, s, w in result.select(
            "gtin", "location", "consumed", "outs", "first"
        ).iter_rows()
    }


DUCK_SQL = """
WITH f AS (
  SELECT *, sum(delta) OVER (PARTITION BY gtin, location ORDER BY pos) AS bal FROM moves
), daily AS (
  SELECT gtin, location, day, max(bal) AS day_max, arg_max(bal, pos) AS closing,
         sum(issued) AS consumed
  FROM f GROUP BY ALL
), starts AS (
  SELECT gtin, location, min(day) AS start FROM f WHERE delta > 0 GROUP BY ALL
), active AS (
  SELECT d.*, greatest(s.start, $first) AS wfirst,
         coalesce(lag(d.closing) OVER w, 0) AS opening,
         coalesce(lead(d.day) OVER w, $today + 1) AS following
  FROM daily d JOIN starts s USING (gtin, location)
  WHERE d.day >= s.start AND d.day <= $today
  WINDOW w AS (PARTITION BY d.gtin, d.location ORDER BY d.day)
)
SELECT gtin, location,
       coalesce(sum(consumed) FILTER (day >= wfirst), 0)::BIGINT,
       (count(*) FILTER (day >= wfirst AND NOT (opening > 0 OR day_max > 0))
        + coalesce(sum(CASE WHEN closing > 0 THEN 0 ELSE greatest(0,
            least(following - 1, $today) - greatest(day + 1, wfirst) + 1) END), 0))::BIGINT,
       ($today - any_value(wfirst) + 1)::BIGINT
FROM active GROUP BY ALL
"""


def run_duckdb(con: duckdb.DuckDBPyConnection, today: int, window: int) -> Figures:
    rows = con.execute(DUCK_SQL, {"today": today, "first": today - window + 1}).fetchall()
    return {(g, loc): (int(c), int(s), int(d)) for g, loc, c, s, d in rows}


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes (well under a minute)")
    size.add_argument("--issue-size", action="store_true", help="2,000 x 50 x 3 years")
    parser.add_argument("--no-peers", action="store_true", help="time medinv alone")
    parser.add_argument("--rounds", type=int, help="timed rounds (3; 1 at the issue's size)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed")
    return parser.parse_args()


def main() -> None:
    args = options()
    products, locations, days, activity, per_post = (
        (20, 5, 120, 1.0, 1) if args.quick
        else (2000, 50, 3 * 365, 0.055, 30) if args.issue_size
        else (200, 10, 365, 1.0, 1)
    )  # fmt: skip
    window = 90
    extra = 3
    print(f"load average at the start {os.getloadavg()}", flush=True)
    t0 = time.perf_counter()
    batches = day_batches(products, locations, days + extra, args.seed, activity)
    ledger, movements = build(batches, days, per_post)
    built = time.perf_counter() - t0
    as_of = START.add(days=days - 1, hours=16)
    today = (as_of.date() - EPOCH).days
    store = ledger.store
    history = StockHistory.read(ledger, as_of=as_of)  # medinv's table in memory, not timed
    contenders: dict[str, Callable[[], Figures]] = {
        "medinv": lambda: run_medinv(ledger, as_of, window),
        "medinv, whole series": lambda: run_medinv_series(ledger, as_of, window),
        "medinv, history read": lambda: figures_of(history, window),
    }
    rows = 0
    if not args.no_peers:
        columns = load_columns(store)
        rows = len(columns["day"])
        frame = pd.DataFrame(columns)
        polars_frame = pl.DataFrame(columns)
        con = duckdb_of(frame, copy=True)
        del columns
        contenders |= {
            "pandas": lambda: run_pandas(frame, today, window),
            "polars": lambda: run_polars(polars_frame, today, window),
            "duckdb": lambda: run_duckdb(con, today, window),
            "pandas, loading": lambda: run_pandas(pd.DataFrame(load_columns(store)), today, window),
            "polars, loading": lambda: run_polars(pl.DataFrame(load_columns(store)), today, window),
            "duckdb, loading": lambda: run_duckdb(
                duckdb_of(pd.DataFrame(load_columns(store)), copy=False), today, window
            ),
        }
    results = {name: fn() for name, fn in contenders.items()}
    reference = results["medinv"]
    for name, got in results.items():
        if got != reference:
            diff = {k: (reference.get(k), got.get(k)) for k in set(reference) | set(got)
                    if reference.get(k) != got.get(k)}  # fmt: skip
            msg = f"{name} disagrees with medinv on {len(diff)} keys, e.g. {list(diff.items())[:3]}"
            raise SystemExit(msg)
    del results
    rounds = args.rounds or (1 if args.issue_size else 3)
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, fn in contenders.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    print(
        f"{products} products x {locations} locations x {days} days: {movements:,} movements "
        f"({f'{rows:,} balance rows; ' if rows else ''}posting took {built:.1f} s); "
        f"window {window} days; "
        f"{len(reference):,} product-locations" + f"; all {len(contenders)} agree on every figure"
    )
    comparisons = {
        "(a) on a table already in memory": [
            "medinv, history read", "pandas", "polars", "duckdb", "medinv", "medinv, whole series"
        ],
        "(b) peers loading the same store first": [
            "medinv", "medinv, whole series", "pandas, loading", "polars, loading",
            "duckdb, loading"
        ],
    }  # fmt: skip
    for title, names in comparisons.items() if len(contenders) > 3 else ():
        timed = [n for n in names if n in best]
        fastest = min(best[n] for n in timed)
        lines = [(n, f"{best[n] * 1000:.1f}", f"{best[n] / fastest:.1f}x") for n in timed]
        print(f"\n{title}")
        print(table(["contender", f"best of {rounds} (ms)", "vs fastest"], lines))
    if len(contenders) == 3:
        print(
            f"medinv's full recompute: best of {rounds} {best['medinv'] * 1000:.1f} ms "
            f"(through whole series: {best['medinv, whole series'] * 1000:.1f} ms; "
            f"on a history already read: {best['medinv, history read'] * 1000:.1f} ms)"
        )
    incremental(ledger, batches, as_of, window, extra)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"\nload average at the end {os.getloadavg()}; peak memory {peak:.1f} GB")


def incremental(
    ledger: Ledger,
    batches: Iterator[list[Movement]],
    as_of: pendulum.DateTime,
    window: int,
    days: int,
) -> None:
    """Post one more day at a time: catch-up and report against a full recompute."""
    t0 = time.perf_counter()
    projection = DemandProjection.build(ledger)
    projection.save(ledger.store.projections)  # type: ignore[attr-defined]
    first = time.perf_counter() - t0
    best = {"full recompute": float("inf"), "catch-up + save + report": float("inf")}
    posted = []
    for day in range(1, days + 1):
        batch = next(batches)
        ledger.post(batch)
        posted.append(len(batch))
        at = as_of.add(days=day)
        gc.collect()  # as the harness does: no collection of the whole ledger in the timing
        start = time.perf_counter()
        fresh = run_incremental(projection, ledger, at, window)
        took = time.perf_counter() - start
        best["catch-up + save + report"] = min(best["catch-up + save + report"], took)
        gc.collect()
        start = time.perf_counter()
        full = run_medinv(ledger, at, window)
        best["full recompute"] = min(best["full recompute"], time.perf_counter() - start)
        if fresh != full:
            msg = f"the projection disagrees with the full recompute on day {day}"
            raise SystemExit(msg)
    print(
        f"\nOne more day at a time ({days} days of {min(posted):,} to {max(posted):,} movements; "
        f"building and saving the projection from the whole ledger took {first:.1f} s); "
        "equal figures every day"
    )
    slowest = max(best.values())
    rows = [(name, f"{t * 1000:.1f}", f"{slowest / t:.0f}x") for name, t in best.items()]
    print(table(["after one more day", f"best of {days} (ms)", "speed-up"], rows))


if __name__ == "__main__":
    main()
