"""Stocktake diff: count lines against book positions, medinv vs pandas vs a dict floor.

Usage: ``python benchmarks/bench_stocktake.py [--quick] [--seed N]``

The data is one list of book tuples ``(item, place, quantity)`` and one list of
count tuples of the same shape (1,000,000 each; 100,000 with ``--quick``): about
5 % of the positions are counted with a different quantity, about 1 % of the
count lines name an item the book does not know, some items are found in
another place, and some positions are counted in two lines (two devices). Every
contender starts from the same tuples and produces the same classification:

- **medinv**: `medinv.stocktake.diff_counts` (what `variance_report` runs underneath);
- **pandas**: ``DataFrame`` from the tuples, ``groupby`` the counts, outer ``merge``
  with ``indicator``, then masks for shortage / surplus / found elsewhere / unknown;
- **dict floor**: the least work any pure-Python diff can do: sum the counts in a
  dict, pop each book key from it, keep the rows that differ (no classification).

The script checks that medinv and pandas agree on every class, then prints the
best-of-3 times, the peak traced memory (tracemalloc, which sees Python objects
and NumPy buffers) and the ratios against the targets: >= 1.5x faster than pandas,
within 1.5x of the floor, peak memory <= pandas'.
"""

from __future__ import annotations

import functools
import random
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd
from benchmarks._harness import arguments, best_of, peak_memory, table

from medinv.stocktake import diff_counts

Row = tuple[str, str, int]


def make_data(size: int, seed: int) -> tuple[list[Row], list[Row]]:
    """Book positions and count lines with ~5 % variances and ~1 % unknown items."""
    rng = random.Random(seed)
    n_items = max(size // 4, 1)
    items = [f"0{4006381000000 + i:013d}|L{i % 97:03d}" for i in range(n_items)]
    places = [f"Site/Z{z:02d}/B{b:04d}" for z in range(40) for b in range(500)]
    book: list[Row] = []
    seen: set[tuple[str, str]] = set()
    while len(book) < size:
        key = (rng.choice(items), rng.choice(places))
        if key not in seen:
            seen.add(key)
            book.append((key[0], key[1], rng.randint(1, 200)))
    counts: list[Row] = []
    for item, place, quantity in book:
        roll = rng.random()
        if roll < 0.05:  # a variance: counted more or less
            counts.append((item, place, max(0, quantity + rng.choice((-3, -1, 1, 2, 5)))))
        elif roll < 0.06:  # counted in two lines (two devices)
            half = quantity // 2
            counts.append((item, place, half))
            counts.append((item, place, quantity - half))
        elif roll < 0.065:  # not counted at all: shortage to zero
            continue
        elif roll < 0.07:  # found in another place instead
            counts.append((item, rng.choice(places), quantity))
        else:
            counts.append((item, place, quantity))
    counts.extend(  # ~1 % unknown items
        (f"9{n:013d}|X", rng.choice(places), rng.randint(1, 20)) for n in range(size // 100)
    )
    rng.shuffle(counts)
    return book, counts


def run_medinv(book: list[Row], counts: list[Row]) -> dict[str, int]:
    diff = diff_counts(book, counts)
    return {
        "match": diff.matches,
        "shortage": len(diff.shortages),
        "surplus": len(diff.surpluses),
        "elsewhere": len(diff.found_elsewhere),
        "unknown": len(diff.unknown),
    }


def run_pandas(book: list[Row], counts: list[Row]) -> dict[str, int]:
    booked = pd.DataFrame(book, columns=["item", "place", "expected"])
    counted = (
        pd.DataFrame(counts, columns=["item", "place", "counted"])
        .groupby(["item", "place"], as_index=False, sort=False)["counted"]
        .sum()
    )
    merged = booked.merge(counted, on=["item", "place"], how="outer", indicator=True)
    expected = merged["expected"].fillna(0)
    found = merged["counted"].fillna(0)
    in_book = merged["_merge"] != "right_only"
    off_book = ~in_book & (found > 0)
    with_stock = merged["item"].isin(booked.loc[booked["expected"] > 0, "item"])
    return {
        "match": int((expected == found).sum()),
        "shortage": int((in_book & (found < expected)).sum()),
        "surplus": int((in_book & (found > expected)).sum()),
        "elsewhere": int((off_book & with_stock).sum()),
        "unknown": int((off_book & ~with_stock).sum()),
    }


def run_floor(book: list[Row], counts: list[Row]) -> dict[str, int]:
    counted: dict[tuple[str, str], int] = {}
    get = counted.get
    for item, place, quantity in counts:
        key = (item, place)
        counted[key] = get(key, 0) + quantity
    pop = counted.pop
    rows: list[tuple[str, str, int, int]] = []
    for item, place, expected in book:
        found = pop((item, place), 0)
        if found != expected:
            rows.append((item, place, expected, found))
    rows.extend((item, place, 0, found) for (item, place), found in counted.items() if found)
    return {"differ": len(rows)}


def main() -> int:
    args = arguments(__doc__ or "")
    size = 100_000 if args.quick else 1_000_000
    book, counts = make_data(size, args.seed)
    print(f"book positions: {len(book):,}   count lines: {len(counts):,}   seed {args.seed}")
    contenders: dict[str, Callable[[list[Row], list[Row]], dict[str, int]]] = {
        "medinv diff_counts": run_medinv,
        "pandas outer merge": run_pandas,
        "dict floor": run_floor,
    }
    results: dict[str, tuple[float, int, dict[str, int]]] = {}
    for name, fn in contenders.items():
        call = functools.partial(fn, book, counts)
        seconds, outcome = best_of(call, repeat=3)
        peak, _ = peak_memory(call)
        results[name] = (seconds, peak, outcome)
    ours, theirs = results["medinv diff_counts"][2], results["pandas outer merge"][2]
    if ours != theirs:
        print(f"DISAGREEMENT: medinv {ours} vs pandas {theirs}")
        return 1
    differ = sum(v for k, v in ours.items() if k != "match")
    if differ != results["dict floor"][2]["differ"]:
        print(f"DISAGREEMENT: medinv {differ} differing keys vs floor {results['dict floor'][2]}")
        return 1
    print("classes (medinv == pandas): " + ", ".join(f"{k} {v:,}" for k, v in ours.items()))
    base_time, base_peak, _ = results["medinv diff_counts"]
    rows = [
        (
            name,
            f"{seconds:.3f} s",
            f"{peak / 2**20:.1f} MiB",
            f"{seconds / base_time:.2f}x",
            f"{peak / base_peak:.2f}x",
        )
        for name, (seconds, peak, _) in results.items()
    ]
    print(
        table(["contender", "best of 3", "peak memory", "time / medinv", "memory / medinv"], rows)
    )
    pandas_time, pandas_peak, _ = results["pandas outer merge"]
    floor_time = results["dict floor"][0]
    speedup, floor_ratio = pandas_time / base_time, base_time / floor_time
    print(
        f"medinv vs pandas: {speedup:.2f}x faster (target >= 1.5x) "
        f"{'OK' if speedup >= 1.5 else 'MISSED'}"
    )
    print(
        f"medinv vs floor: {floor_ratio:.2f}x the floor's time (target <= 1.5x) "
        f"{'OK' if floor_ratio <= 1.5 else 'MISSED'}"
    )
    verdict = "OK" if base_peak <= pandas_peak else "MISSED"
    print(
        f"peak memory: medinv {base_peak / 2**20:.1f} MiB vs pandas "
        f"{pandas_peak / 2**20:.1f} MiB (target <=) {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
