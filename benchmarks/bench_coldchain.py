"""Excursion detection: medinv's streaming detector against polars on the same readings.

``sensors`` fridge loggers read every 5 minutes for ``days`` days. A reading is
4 to 6 °C with noise; each sensor has door openings (about three a day: 5 to
20 minutes above 8 °C) and a few failures a year (1 to 8 hours above 8 °C, or a
freeze below 2 °C). The rule is 2 to 8 °C, 30 minutes consecutive, 2 hours
cumulative per direction.

- **medinv**: an [`ExcursionDetector`][medinv.coldchain.ExcursionDetector] fed each
  sensor's columns (POSIX seconds, °C, as Python lists), then ``open()``.
- **polars**: the same run-length detection on a DataFrame of the same columns
  (sensor, time, °C): the side of each reading, a run id where the side or the
  sensor changes, each run's start, end (the time of the next reading) and
  extremes by a group-by, consecutive excursions by a filter; the cumulative tally
  (a running sum that restarts after each excursion, not a vector operation) runs
  in Python over polars' run table, which is small. Building the DataFrame is not
  timed.

Readings are made and measured in batches of sensors (so a year of 200 sensors
never sits in memory at once); both contenders get the same batches, interleaved,
and their times are summed. The script first checks that both find the same
excursions (kind, side, start, end), then prints times, ratios and sizes.

Usage: ``python benchmarks/bench_coldchain.py [--quick] [--seed N]``.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from medinv.catalogue import TemperatureRange
from medinv.coldchain import ExcursionDetector, ExcursionRule
from medinv.locations import Location

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, table

STEP = 300.0
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
LOW, HIGH = 2.0, 8.0
RULE = ExcursionRule(
    temperature=TemperatureRange(low=2, high=8),
    max_consecutive=dt.timedelta(minutes=30),
    max_cumulative=dt.timedelta(hours=2),
)
Found = set[tuple[str, str, str, float, float | None]]
"""(sensor, kind, side, start, end) of every excursion."""


def readings(rng: random.Random, days: int) -> tuple[list[float], list[float]]:
    """One sensor's times and temperatures."""
    n = days * 288
    times = [T0 + STEP * i for i in range(n)]
    temps = [4.0 + 2.0 * rng.random() for _ in range(n)]
    for _ in range(days * 3):  # door openings
        at, length = rng.randrange(n), rng.randint(1, 4)
        temps[at : at + length] = [8.5 + rng.random() for _ in temps[at : at + length]]
    for _ in range(max(1, days // 90)):  # failures
        at, length = rng.randrange(n), rng.randint(12, 96)
        value = 12.0 if rng.random() < 0.7 else 0.5
        temps[at : at + length] = [value + rng.random() for _ in temps[at : at + length]]
    return times, temps


def with_medinv(batch: list[tuple[str, list[float], list[float]]]) -> Found:
    detector = ExcursionDetector(RULE)
    place = Location.parse("H/Cold-room")
    found = []
    for sensor, times, temps in batch:
        found.extend(detector.feed_columns(sensor, place, times, temps))
    found.extend(detector.open())
    return {
        (e.sensor, e.kind.value, e.direction.value, e.spans[0][0], e.spans[-1][1]) for e in found
    }


def frame(batch: list[tuple[str, list[float], list[float]]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sensor": [s for s, times, _ in batch for _ in times],
            "t": [t for _, times, _ in batch for t in times],
            "temp": [v for _, _, temps in batch for v in temps],
        },
        schema={"sensor": pl.Categorical, "t": pl.Float64, "temp": pl.Float64},
    )


def with_polars(df: pl.DataFrame) -> Found:
    side = (
        pl.when(pl.col("temp") > HIGH)
        .then(pl.lit("HIGH"))
        .when(pl.col("temp") < LOW)
        .then(pl.lit("LOW"))
        .otherwise(pl.lit(None))
    )
    runs = (
        df.lazy()
        .with_columns(
            side=side,
            next_t=pl.col("t").shift(-1).over("sensor"),
            last_t=pl.col("t").last().over("sensor"),
        )
        .with_columns(
            run=(
                (pl.col("side").ne_missing(pl.col("side").shift(1)))
                | (pl.col("sensor") != pl.col("sensor").shift(1))
            ).cum_sum()
        )
        .filter(pl.col("side").is_not_null())
        .group_by("run")
        .agg(
            pl.col("sensor").first(),
            pl.col("side").first(),
            start=pl.col("t").first(),
            end=pl.col("next_t").last(),
            last_t=pl.col("last_t").first(),
        )
        .with_columns(length=pl.coalesce("end", "last_t") - pl.col("start"))
        .sort("sensor", "start")
        .collect()
    )
    cons = RULE.max_consecutive.total_seconds()
    cum = RULE.max_cumulative.total_seconds() if RULE.max_cumulative is not None else None
    found: Found = {
        (str(r["sensor"]), "CONSECUTIVE", r["side"], r["start"], r["end"])
        for r in runs.filter(pl.col("length") > cons).iter_rows(named=True)
    }
    tally: dict[tuple[str, str], tuple[float, float]] = {}  # (sensor, side) -> (first start, sum)
    for sensor, side_, start, end, length in runs.select(
        "sensor", "side", "start", "end", "length"
    ).iter_rows():
        first, total = tally.get((sensor, side_), (start, 0.0))
        total += length
        if cum is not None and total > cum:
            found.add((str(sensor), "CUMULATIVE", side_, first, end))
            tally.pop((sensor, side_), None)
        else:
            tally[(sensor, side_)] = (first, total)
    return found


def measure(
    batch: list[tuple[str, list[float], list[float]]], times: dict[str, float]
) -> tuple[int, int]:
    """Check both agree on one batch, then time both (interleaved, best of 3) into ``times``."""
    df = frame(batch)
    mine, theirs = with_medinv(batch), with_polars(df)
    if mine != theirs:
        sys.exit(f"medinv and polars disagree: {sorted(mine ^ theirs, key=repr)[:5]}")
    contenders: dict[str, Callable[[], object]] = {
        "medinv": lambda: with_medinv(batch),
        "polars": lambda: with_polars(df),
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(3):
        for name, run in contenders.items():
            gc.collect()
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    for name, seconds in best.items():
        times[name] += seconds
    return df.height, len(mine)


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    sensors, days, per_batch = (20, 60, 10) if args.quick else (200, 365, 10)
    rng = random.Random(args.seed)
    times: dict[str, float] = {"medinv": 0.0, "polars": 0.0}
    total_readings = excursions = 0
    for first in range(0, sensors, per_batch):
        batch = [
            (f"S{n:03d}", *readings(rng, days))
            for n in range(first, min(first + per_batch, sensors))
        ]
        count, found = measure(batch, times)
        total_readings += count
        excursions += found
    fastest = min(times.values())
    print(f"{sensors} sensors x {days} days at 5-minute readings: {total_readings:,} readings, "
          f"{excursions} excursions")  # fmt: skip
    rows = [
        (
            name,
            f"{seconds:.2f}",
            f"{total_readings / seconds / 1e6:.1f}",
            f"{seconds / fastest:.2f}x",
        )
        for name, seconds in sorted(times.items(), key=lambda kv: kv[1])
    ]
    print(table(["contender", "seconds", "M readings/s", "vs fastest"], rows))


if __name__ == "__main__":
    main()
