"""Throughput of medinv's HIBC parser, with biip's GS1 parser on the same items as the peer.

No Python HIBC parser is published on PyPI (biip has none), so the peer is what a
user would run on the GS1 version of the same labels: ``biip.parse`` on GS1
DataMatrix element strings carrying the same product, expiry, lot and serial.

Usage: ``python benchmarks/bench_hibc.py [--quick] [--seed N]``.
``hibc_samples`` is reused by the combined barcode benchmark.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import random
import string
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import biip

from medinv.barcodes import hibc_check_character, parse_hibc
from medinv.identifiers import gs1_check_digit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, table

ALNUM = string.digits + string.ascii_uppercase
_START = dt.date(2026, 1, 1)


def _catalogue(rng: random.Random, size: int) -> list[str]:
    """Primary data ``+LIC product unit`` of ``size`` products (a few labelers, many items)."""
    labelers = [
        rng.choice(string.ascii_uppercase) + "".join(rng.choices(ALNUM, k=3)) for _ in range(20)
    ]
    return [
        "+"
        + rng.choice(labelers)
        + "".join(rng.choices(ALNUM, k=rng.randint(4, 12)))
        + rng.choice("0123")
        for _ in range(size)
    ]


def _items(n: int, seed: int) -> list[tuple[int, str, dt.date, str, str, dt.date]]:
    """(kind, primary, expiry, lot, serial, production) of ``n`` typical scans."""
    rng = random.Random(seed)
    catalogue = _catalogue(rng, 500)
    items = []
    for _ in range(n):
        expiry = _START + dt.timedelta(days=rng.randrange(5 * 365))
        production = expiry - dt.timedelta(days=rng.choice((365, 730, 1095)))
        lot = "".join(rng.choices(ALNUM, k=rng.randint(5, 10)))
        serial = "".join(rng.choices(ALNUM, k=rng.randint(8, 12)))
        kind = rng.choices((0, 1, 2), weights=(5, 3, 2))[0]
        items.append((kind, rng.choice(catalogue), expiry, lot, serial, production))
    return items


def _hibc(item: tuple[int, str, dt.date, str, str, dt.date]) -> str:
    kind, primary, expiry, lot, serial, made = item
    date = f"{expiry:%y%m%d}"
    if kind == 0:  # expiry and lot
        body = f"{primary}/$$3{date}{lot}"
    elif kind == 1:  # expiry and serial
        body = f"{primary}/$$+3{date}{serial}"
    else:  # expiry, lot, serial and manufacture date
        body = f"{primary}/$$3{date}{lot}/S{serial}/16D{made:%Y%m%d}"
    return body + hibc_check_character(body)


def hibc_samples(n: int, seed: int) -> list[str]:
    """``n`` typical HIBC scans: concatenated primary and secondary data.

    Half carry ``$$3`` expiry and lot, 30 % ``$$+3`` expiry and serial, 20 % expiry,
    lot, ``/S`` serial and ``/16D`` manufacture date; 500 products of 20 labelers,
    expiries spread over five years.
    """
    return [_hibc(item) for item in _items(n, seed)]


def _gtin(primary: str) -> str:
    payload = f"{zlib.crc32(primary.encode()) * 7919 % 10**13:013d}"
    return payload + str(gs1_check_digit(payload))


def gs1_equivalents(n: int, seed: int) -> list[str]:
    """The same items as GS1 DataMatrix element strings (``]d2`` 01 17 10/21)."""
    out = []
    for kind, primary, expiry, lot, serial, made in _items(n, seed):
        head = f"]d201{_gtin(primary)}17{expiry:%y%m%d}"
        if kind == 0:
            out.append(f"{head}10{lot}")
        elif kind == 1:
            out.append(f"{head}21{serial}")
        else:
            out.append(f"{head}11{made:%y%m%d}10{lot}\x1d21{serial}")
    return out


def _timed(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """Best wall time, best process CPU time (robust on a busy machine) and the result."""
    wall = cpu = float("inf")
    result = 0
    for _ in range(repeat):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu, result


def main() -> None:
    """Run the benchmark and print scans per second and the ratio."""
    args = arguments(__doc__ or "")
    n = 20_000 if args.quick else 100_000
    hibc = hibc_samples(n, args.seed)
    gs1 = gs1_equivalents(n, args.seed)
    repeat = 3

    def run_hibc() -> int:
        return sum(parse_hibc(text, raw=text).expiry is not None for text in hibc)

    def run_biip() -> int:
        return sum(biip.parse(text).gs1_message is not None for text in gs1)

    hibc_time, hibc_cpu, hibc_ok = _timed(run_hibc, repeat)
    biip_time, biip_cpu, biip_ok = _timed(run_biip, repeat)
    assert hibc_ok == n, "every HIBC sample must parse with an expiry"  # noqa: S101
    assert biip_ok == n, "every GS1 sample must parse"  # noqa: S101
    rows = [
        (
            "medinv parse_hibc (HIBC)",
            n,
            f"{hibc_time:.3f}",
            f"{n / hibc_time:,.0f}",
            f"{n / hibc_cpu:,.0f}",
            "1.00",
        ),
        (
            "biip.parse (same items as GS1)",
            n,
            f"{biip_time:.3f}",
            f"{n / biip_time:,.0f}",
            f"{n / biip_cpu:,.0f}",
            f"{biip_cpu / hibc_cpu:.2f}",
        ),
    ]
    print(f"HIBC parsing, {n:,} scans, best of {repeat}, Python {sys.version.split()[0]}")
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    headers = ["parser", "scans", "wall s", "scans/s (wall)", "scans/s (CPU)", "medinv speed-up"]
    print(table(headers, rows))
    print(f"sample: {hibc[0]!r}")


if __name__ == "__main__":
    main()
