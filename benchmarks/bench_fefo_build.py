"""Building a FefoIndex from 1,000,000 lots, against the floor: a dict of heaps.

Usage: ``python benchmarks/bench_fefo_build.py [--quick] [--seed N]``

Both peers get the same list of ``StockPosition`` objects (what ``Ledger.positions()``
returns; built once, not timed) and build what they allocate from:

- **medinv**: ``FefoIndex.from_positions(positions)``.
- **floor**: per position, the row a hand-written allocator needs: its FEFO key
  (expiry ordinal, receipt time in microseconds, pick sequence, lot, serial, location
  path: what ``medinv.allocation.fefo_key`` orders by) and its quantity, as one
  plain list; the rows grouped in a dict by GTIN, then each group ``heapq.heapify``-ed.
  No validation, no duplicate check, no way to find a position again but by
  scanning, no other status than AVAILABLE.

Time: process CPU time of the build, garbage collector on (as a caller has it), best
of the rounds; the peers alternate round by round so that a change in the machine's
load hits both. Memory: bytes allocated by the build and still held once it returns
(``tracemalloc``, in a separate pass: tracing slows everything down), and the peak
during the build. Both peers must return the same stock in the same FEFO order
(compared by digest) before any figure is printed.
"""

from __future__ import annotations

import gc
import hashlib
import heapq
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import arguments, table

from medinv.allocation import FefoIndex
from medinv.allocation._order import expiry_ordinal, received_micros
from medinv.identifiers import Gtin, ItemKey, gs1_check_digit
from medinv.locations import Location
from medinv.movements import StockPosition
from medinv.status import StockStatus

USE = pendulum.date(2026, 11, 23)
T0 = pendulum.datetime(2025, 1, 1, tz="UTC")
BINS = [Location.parse(f"DC/A/{n:02d}", pick_sequence=n % 7) for n in range(12)]
TIME_LIMIT = 2.0
MEMORY_LIMIT = 2.0
"""The targets: medinv within 2x the floor's time and memory."""


def gtin(n: int) -> str:
    payload = f"0{n:012d}"
    return payload + str(gs1_check_digit(payload))


def make_positions(rng: random.Random, products: int, lots: int) -> list[StockPosition]:
    """``products x lots`` AVAILABLE lots; ~5% expired on USE, ~3% without expiry."""
    today = USE.toordinal()
    dates: dict[int, pendulum.Date] = {}
    positions = []
    for p in range(products):
        code = Gtin(gtin(p))
        for n in range(lots):
            roll = rng.random()
            if roll < 0.05:
                ordinal: int | None = today - rng.randint(1, 60)
            elif roll < 0.08:
                ordinal = None
            else:
                ordinal = today + rng.randint(0, 720)
            expiry = None
            if ordinal is not None:
                expiry = dates.get(ordinal) or dates.setdefault(
                    ordinal, pendulum.Date.fromordinal(ordinal)
                )
            positions.append(
                StockPosition(
                    item=ItemKey(code, lot=f"L{n:06d}"),
                    location=BINS[rng.randrange(len(BINS))],
                    status=StockStatus.AVAILABLE,
                    quantity=rng.randint(1, 120),
                    expiry=expiry,
                    received_at=T0.add(seconds=rng.randint(0, 86_400 * 400)),
                )
            )
    return positions


# ------------------------------------------------------------------ peers


def build_medinv(positions: list[StockPosition]) -> Any:
    return FefoIndex.from_positions(positions)


def build_floor(positions: list[StockPosition]) -> Any:
    heaps: dict[str, list[list[Any]]] = {}
    for stock in positions:
        item = stock.item
        location = stock.location
        row = [
            expiry_ordinal(stock.expiry),
            received_micros(stock.received_at),
            location.pick_sequence,
            "" if item.lot is None else item.lot.value,
            "" if item.serial is None else item.serial.value,
            location.path,
            stock.quantity,
        ]
        heap = heaps.get(item.gtin.value)
        if heap is None:
            heap = heaps[item.gtin.value] = []
        heap.append(row)
    for heap in heaps.values():
        heapq.heapify(heap)
    return heaps


Peer = Callable[[list[StockPosition]], Any]
PEERS: dict[str, Peer] = {"medinv": build_medinv, "floor": build_floor}


def digest(name: str, built: Any) -> str:
    """The stock each peer holds, per GTIN in FEFO order, as one hash."""
    rows: list[tuple[Any, ...]] = []
    if name == "medinv":
        rows.extend(
            (stock.item.gtin.value, str(stock.item.lot), stock.quantity)
            for stock in built.positions()
        )
    else:
        for code in sorted(built):
            heap = list(built[code])
            while heap:
                row = heapq.heappop(heap)
                rows.append((code, row[3], row[6]))
    rows.sort(key=lambda row: row[0])  # stable: FEFO order within a GTIN is kept
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:12]


def timed(peer: Peer, positions: list[StockPosition]) -> float:
    gc.collect()
    start = time.process_time()
    built = peer(positions)
    elapsed = time.process_time() - start
    del built
    return elapsed


def traced(peer: Peer, positions: list[StockPosition]) -> tuple[int, int, Any]:
    """Bytes held by what ``peer`` built once it returns, its peak, and what it built."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        built = peer(positions)
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return held - base, peak - base, built


def main() -> int:
    args = arguments(__doc__ or "")
    rng = random.Random(args.seed)
    products, lots = (200, 500) if args.quick else (2_000, 500)
    rounds = 2 if args.quick else 3
    count = products * lots
    print(f"FefoIndex build: {count:,} lots ({products:,} products x {lots}), seed {args.seed}")
    positions = make_positions(rng, products, lots)

    memory: dict[str, tuple[int, int]] = {}
    digests: dict[str, str] = {}
    for name, peer in PEERS.items():
        held, peak, built = traced(peer, positions)
        memory[name] = (held, peak)
        digests[name] = digest(name, built)
        del built
    if len(set(digests.values())) != 1:
        msg = f"the peers hold different stock: {digests}"
        raise SystemExit(msg)

    cpu: dict[str, float] = {}
    for _ in range(rounds):
        for name, peer in PEERS.items():
            elapsed = timed(peer, positions)
            cpu[name] = min(elapsed, cpu.get(name, elapsed))

    rows = [
        [
            name,
            f"{cpu[name]:.2f}",
            f"{cpu[name] / count * 1e6:.2f}",
            f"{memory[name][0] / 1e6:.0f}",
            f"{memory[name][0] / count:.0f}",
            f"{memory[name][1] / 1e6:.0f}",
        ]
        for name in PEERS
    ]
    print(
        table(
            ["peer", "CPU s", "us per lot", "held MB", "bytes per lot", "peak MB"],
            rows,
        )
    )
    time_ratio = cpu["medinv"] / cpu["floor"]
    held_ratio = memory["medinv"][0] / memory["floor"][0]
    peak_ratio = memory["medinv"][1] / memory["floor"][1]
    print(f"both peers hold the same stock in the same order (digest {digests['floor']})")
    print(
        table(
            ["ratio medinv / floor", "measured", f"target <= {TIME_LIMIT:g}x", "met"],
            [
                [
                    "CPU time",
                    f"{time_ratio:.2f}x",
                    f"{TIME_LIMIT:g}x",
                    _met(time_ratio, TIME_LIMIT),
                ],
                [
                    "memory held",
                    f"{held_ratio:.2f}x",
                    f"{MEMORY_LIMIT:g}x",
                    _met(held_ratio, MEMORY_LIMIT),
                ],
                [
                    "peak memory",
                    f"{peak_ratio:.2f}x",
                    f"{MEMORY_LIMIT:g}x",
                    _met(peak_ratio, MEMORY_LIMIT),
                ],
            ],
        )
    )
    return 0


def _met(ratio: float, limit: float) -> str:
    return "yes" if ratio <= limit else "no"


if __name__ == "__main__":
    raise SystemExit(main())
