"""Benchmark: ``medinv.parse_scan`` vs ``biip.parse`` on typical medical-device scans.

Usage: ``python benchmarks/bench_barcodes.py [--quick] [--seed N]``.

Scans (100,000; 10,000 with ``--quick``), split into families:

- GS1 DataMatrix UDI ``]d2`` 01 + 17 + 10 + 21 (FNC1 as GS),
- GS1-128 ``]C1`` 01 + 11 + 17 + 10,
- GS1 Digital Link in a QR code: /01/.../10/.../21/...?17=... (sent without a
  symbology identifier: biip does not read Digital Link behind a plain ``]Q1``).

The catalogue holds 2,000 GTINs and 500 lots per run; serial numbers are unique.
Both parsers run on the same scans in the same process; the script prints scans
per second, the ratio, and asserts that both report identical GTIN, lot, serial,
expiry and production date for every scan.

``families()`` returns the list of ``(name, scans, peer)`` triples to run; add a
family there. A family without a peer (e.g. HIBC, which biip does not parse) is
timed for medinv alone.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import biip
from stdnum import ean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import arguments, best_of, table
from benchmarks.bench_hibc import hibc_samples

from medinv.barcodes import Scan, parse_scan

GS = "\x1d"
LOT_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789-"
Family = tuple[str, list[str], Callable[[str], Any] | None]


def _gtin(rng: random.Random) -> str:
    body = rng.choice("0123") + "".join(rng.choices("0123456789", k=12))
    return body + ean.calc_check_digit(body)


def _date(rng: random.Random, years: range) -> str:
    return f"{rng.choice(years) % 100:02d}{rng.randint(1, 12):02d}{rng.randint(0, 28):02d}"


def gs1_families(rng: random.Random, total: int) -> list[Family]:
    """The three GS1 families, 40 / 30 / 30 per cent of ``total``."""
    gtins = [_gtin(rng) for _ in range(2_000)]
    lots = ["".join(rng.choices(LOT_CHARS, k=rng.randint(4, 10))) for _ in range(500)]
    serial = iter(range(10**9))

    def fields() -> tuple[str, str, str, str, str]:
        return (
            rng.choice(gtins),
            _date(rng, range(2026, 2031)),
            _date(rng, range(2022, 2026)),
            rng.choice(lots),
            f"S{next(serial):09d}",
        )

    datamatrix, gs1_128, digital_link = [], [], []
    for _ in range(total * 4 // 10):
        gtin, expiry, _, lot, sn = fields()
        datamatrix.append(f"]d201{gtin}17{expiry}10{lot}{GS}21{sn}")
    for _ in range(total * 3 // 10):
        gtin, expiry, produced, lot, _ = fields()
        gs1_128.append(f"]C101{gtin}11{produced}17{expiry}10{lot}")
    for _ in range(total - len(datamatrix) - len(gs1_128)):
        gtin, expiry, _, lot, sn = fields()
        digital_link.append(
            f"https://id.example.org/01/{gtin}/10/{quote(lot, safe='')}/21/{sn}?17={expiry}"
        )
    return [
        ("GS1 DataMatrix 01+17+10+21", datamatrix, biip.parse),
        ("GS1-128 01+11+17+10", gs1_128, biip.parse),
        ("GS1 Digital Link (QR)", digital_link, biip.parse),
    ]


HIBC_SHARE = 0.3
"""HIBC scans, relative to the GS1 share (timed for medinv alone: biip parses no HIBC)."""


def families(rng: random.Random, total: int) -> list[Family]:
    """Every family to time: ``(name, scans, peer)``; ``peer`` ``None`` for medinv alone."""
    hibc = hibc_samples(int(total * HIBC_SHARE), rng.randrange(2**32))
    return [*gs1_families(rng, total), ("HIBC concatenated (medinv only)", hibc, None)]


def _biip_fields(result: biip.ParseResult) -> tuple[object, ...]:
    message = result.gs1_message or result.gs1_digital_link_uri
    if message is None:
        msg = f"biip did not parse {result.value!r}"
        raise AssertionError(msg)
    values = {es.ai.ai: es for es in message.element_strings}

    def value(ai: str) -> str | None:
        return values[ai].value if ai in values else None

    def date(ai: str) -> dt.date | None:
        return values[ai].date if ai in values else None

    gtin = result.gtin.value if result.gtin is not None else None
    return gtin, value("10"), value("21"), date("17"), date("11")


def _medinv_fields(scan: Scan) -> tuple[object, ...]:
    return scan.gtin, scan.lot, scan.serial, scan.expiry, scan.production_date


def _run_medinv(scans: list[str], as_of: dt.date) -> list[Scan]:
    return [parse_scan(text, as_of=as_of) for text in scans]


def _run_peer(scans: list[str], peer: Callable[[str], Any]) -> list[Any]:
    return [peer(text) for text in scans]


def main() -> int:
    """Run the benchmark and print the results table."""
    args = arguments(__doc__.splitlines()[0])
    total = 10_000 if args.quick else 100_000
    rng = random.Random(args.seed)
    runs = families(rng, total)
    as_of = dt.datetime.now(tz=dt.UTC).date()  # the year biip's century window uses

    rows: list[Sequence[object]] = []
    ours_total = peer_total = 0.0
    gs1_scans = 0
    alone: list[tuple[str, int, float]] = []
    for name, scans, peer in runs:
        ours_time, ours = best_of(functools.partial(_run_medinv, scans, as_of), 1)
        if peer is None:
            alone.append((name, len(scans), ours_time))
            continue
        peer_time, theirs = best_of(functools.partial(_run_peer, scans, peer), 1)
        for scan, result in zip(ours, theirs, strict=True):
            if _medinv_fields(scan) != _biip_fields(result):
                msg = f"results differ on {scan.raw!r}: {scan} vs {result}"
                raise AssertionError(msg)
        ours_total += ours_time
        peer_total += peer_time
        gs1_scans += len(scans)
        rows.append(
            (
                name,
                len(scans),
                f"{len(scans) / ours_time:,.0f}",
                f"{len(scans) / peer_time:,.0f}",
                f"{peer_time / ours_time:.1f}x",
            )
        )
    rows.append(
        (
            "GS1 share, all families",
            gs1_scans,
            f"{gs1_scans / ours_total:,.0f}",
            f"{gs1_scans / peer_total:,.0f}",
            f"{peer_total / ours_total:.1f}x",
        )
    )
    gs1_rate = gs1_scans / ours_total
    for name, count, seconds in alone:
        rate = count / seconds
        rows.append((name, count, f"{rate:,.0f}", "n/a", f"{rate / gs1_rate:.1f}x GS1 path"))
    print(f"medinv.parse_scan vs biip.parse {biip.__version__}, {total:,} scans, seed {args.seed}")
    print("identical GTIN, lot, serial, expiry and production date on every scan: yes")
    print(table(["family", "scans", "medinv scans/s", "biip scans/s", "ratio"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
