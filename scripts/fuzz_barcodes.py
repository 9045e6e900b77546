#!/usr/bin/env python3
"""Fuzz ``medinv.parse_scan``: only ``InvalidBarcodeError`` may ever escape.

Usage: ``python scripts/fuzz_barcodes.py [--count 1000000] [--seed N] [--large 200]``.

Feeds random text and mutated valid scans (GS1 element strings with and without
symbology identifiers, human-readable form, Digital Link URIs, plain GTINs, SSCCs,
and HIBC / MA look-alikes) in strict and lenient mode, with FNC1 substitutes
configured. Then ``--large`` inputs from 1 KB to 10 MB (repeated elements, separators,
digits, URIs, HIBC and MA data, ISO/IEC 15434 envelopes), through ``parse_scan``,
``parse_hibc`` and ``parse_ma``: each must be refused or parsed within 0.1 s per
kilobyte. Stops at the first other exception or slow input, printing it; exits 1.
"""

from __future__ import annotations

import argparse
import calendar
import random
import sys
import time
import traceback
from collections import Counter
from urllib.parse import quote

from stdnum import ean

from medinv.barcodes import parse_hibc, parse_ma, parse_scan
from medinv.errors import InvalidBarcodeError

GS = "\x1d"
SET_82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
NOISE = SET_82 + GS * 8 + "0123456789" * 4 + " \t\r\n^<>{}[]#/%?&=é\u0660\x00\U0001f600"
PREFIXES = ["", "", "]d2", "]C1", "]Q3", "]e0", "]J1", "]Q1", "]d1", "]C0", "]E0", "]I1", "]"]
AIS = ["10", "11", "15", "17", "21", "30", "37", "7003", "00", "02", "240", "3103", "8006"]


def _gtin(rng: random.Random) -> str:
    body = "".join(rng.choices("0123456789", k=13))
    return body + ean.calc_check_digit(body)


def _date(rng: random.Random) -> str:
    month = rng.randint(1, 12)
    day = rng.randint(0, calendar.monthrange(2001, month)[1])
    return f"{rng.randint(0, 99):02d}{month:02d}{day:02d}"


def _value(rng: random.Random, ai: str) -> str:  # noqa: PLR0911  (one return per AI kind)
    if ai in {"11", "15", "17"}:
        return _date(rng)
    if ai == "7003":
        return _date(rng) + f"{rng.randint(0, 23):02d}{rng.randint(0, 59):02d}"
    if ai in {"30", "37"}:
        return str(rng.randint(1, 99_999_999))
    if ai == "00":
        body = "".join(rng.choices("0123456789", k=17))
        return body + ean.calc_check_digit(body)
    if ai == "02":
        return _gtin(rng)
    if ai == "3103":
        return f"{rng.randint(0, 999_999):06d}"
    if ai == "8006":
        return _gtin(rng) + "0102"
    return "".join(rng.choices(SET_82, k=rng.randint(1, 20)))


def valid_scan(rng: random.Random) -> str:
    """A (mostly) valid scan in one of the carriers."""
    kind = rng.random()
    if kind < 0.08:  # noqa: PLR2004
        size = rng.choice([8, 12, 13, 14, 18])
        body = "".join(rng.choices("0123456789", k=size - 1))
        return rng.choice(["", "]E0", "]E4", "]I1", "]C0"]) + body + ean.calc_check_digit(body)
    if kind < 0.12:  # noqa: PLR2004
        return "+" + "".join(rng.choices(SET_82, k=rng.randint(4, 30)))
    if kind < 0.14:  # noqa: PLR2004
        return "MA.156.M0." + "".join(rng.choices("0123456789.LSE", k=20))
    elements = [("01", _gtin(rng))] + [
        (ai, _value(rng, ai)) for ai in rng.sample(AIS, rng.randint(0, 5))
    ]
    if kind < 0.6:  # noqa: PLR2004
        text = "".join(
            ai + value + (GS if rng.random() < 0.8 else "")  # noqa: PLR2004
            for ai, value in elements
        )
        return rng.choice(PREFIXES) + text.rstrip(GS)
    if kind < 0.75:  # noqa: PLR2004
        return "".join(f"({ai}){value}" for ai, value in elements)
    path = "/".join(f"{ai}/{quote(value, safe='')}" for ai, value in elements[:2])
    query = "&".join(f"{ai}={quote(value, safe='')}" for ai, value in elements[2:])
    host = rng.choice(["https://id.gs1.org", "HTTP://Example.COM/x", "https://a"])
    return f"{rng.choice(['', ']Q1', ']d1'])}{host}/{path}" + (f"?{query}" if query else "")


def mutate(rng: random.Random, text: str) -> str:
    """Insert, delete, replace or duplicate a few characters."""
    chars = list(text)
    for _ in range(rng.randint(1, 5)):
        position = rng.randint(0, len(chars))
        action = rng.random()
        if action < 0.35 or not chars:  # noqa: PLR2004
            chars.insert(position, rng.choice(NOISE))
        elif action < 0.6:  # noqa: PLR2004
            del chars[min(position, len(chars) - 1)]
        elif action < 0.85:  # noqa: PLR2004
            chars[min(position, len(chars) - 1)] = rng.choice(NOISE)
        else:
            chars[position:position] = chars[max(0, position - 8) : position]
    return "".join(chars)


def random_text(rng: random.Random) -> str:
    """Up to 60 characters of noise."""
    return "".join(rng.choices(NOISE, k=rng.randint(0, 60)))


_UNITS = [
    "1",
    GS,
    "10A" + GS,
    "(10)A",
    "0109501101530003",
    "11261231",
    "+A",
    "/$",
    "+$$8",
    "MA.",
    ".L",
    "%2",
    "/10/A",
    "&10=A",
    "[)>\x1e05" + GS,
    "\x1e",
    "|]e0",
    "\\(",
    "]d2",
    "é",
]
_HEADS = [
    "",
    "]d2",
    "]C1",
    "]E0",
    "]e00109501101530003|]e0",
    "(01)09501101530003",
    "https://a/01/09501101530003/10/",
    "+A123",
]


def large_input(rng: random.Random, size: int) -> str:
    """About ``size`` characters of repeated units after a plausible head."""
    head = rng.choice(_HEADS)
    units = rng.sample(_UNITS, rng.randint(1, 3))
    body = "".join(units) * (size // max(1, len("".join(units))) + 1)
    return (head + body)[:size]


def large_pass(rng: random.Random, count: int) -> int:
    """Inputs of 1 KB to 10 MB: refused or parsed within 0.1 s per kilobyte."""
    parsers = {
        "parse_scan": lambda t: parse_scan(t, fnc1="^"),
        "parse_hibc": lambda t: parse_hibc(t, raw=t),
        "parse_ma": lambda t: parse_ma(t, raw=t),
    }
    worst = 0.0
    for index in range(count):
        size = int(1024 * 10 ** rng.uniform(0, 4))  # 1 KB to 10 MB, log-spread
        if index % 4 == 0:
            size = rng.randint(1024, 8_192)  # what parse_scan reads in full
        text = large_input(rng, size)
        name = rng.choice(sorted(parsers))
        start = time.perf_counter()
        try:
            parsers[name](text)
        except InvalidBarcodeError:
            pass
        except Exception:  # noqa: BLE001  (this is what the fuzzer looks for)
            print(f"large input #{index} ({len(text):,} characters) to {name} raised:")
            print(repr(text[:200]))
            traceback.print_exc()
            return 1
        seconds = time.perf_counter() - start
        per_kb = seconds / (len(text) / 1024)
        worst = max(worst, per_kb)
        if per_kb > 0.1:  # noqa: PLR2004
            print(f"large input #{index} to {name}: {seconds:.3f} s for {len(text):,} characters")
            print(repr(text[:200]))
            return 1
    print(f"{count:,} large inputs (1 KB to 10 MB): slowest {worst * 1000:.3f} ms per KB")
    return 0


def main(argv: list[str]) -> int:
    """Run the fuzzer; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--large", type=int, default=200, help="inputs of 1 KB to 10 MB")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    outcomes: Counter[str] = Counter()
    start = time.perf_counter()
    for index in range(args.count):
        choice = rng.random()
        if choice < 0.2:  # noqa: PLR2004
            text, kind = random_text(rng), "random"
        elif choice < 0.35:  # noqa: PLR2004
            text, kind = valid_scan(rng), "valid"
        else:
            text, kind = mutate(rng, valid_scan(rng)), "mutated"
        lenient = rng.random() < 0.5  # noqa: PLR2004
        try:
            parse_scan(text, lenient=lenient, fnc1=("^", "<GS>"), tz="Europe/Paris")
        except InvalidBarcodeError:
            outcomes[f"{kind} refused"] += 1
        except Exception:  # noqa: BLE001  (this is what the fuzzer looks for)
            print(f"input #{index} ({kind}, lenient={lenient}) raised another exception:")
            print(repr(text))
            traceback.print_exc()
            return 1
        else:
            outcomes[f"{kind} parsed"] += 1
    seconds = time.perf_counter() - start
    rate = args.count / seconds
    print(f"{args.count:,} inputs in {seconds:.1f} s ({rate:,.0f}/s), seed {args.seed}")
    for name, count in sorted(outcomes.items()):
        print(f"  {name:<16} {count:>9,}")
    if large_pass(rng, args.large):
        return 1
    print("only InvalidBarcodeError escaped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
