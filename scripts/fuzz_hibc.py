#!/usr/bin/env python3
"""Long fuzz run of the HIBC and MA code parsers: only InvalidBarcodeError may escape.

Usage: ``python scripts/fuzz_hibc.py [--count N] [--seed S]`` (default 1,000,000
inputs). Inputs are random texts over the HIBC alphabet and beyond, and valid labels
(from ``benchmarks/bench_hibc.py``) with characters inserted, deleted, replaced or
cut off. Each error must carry an offset inside the input. Exits non-zero on the
first other exception, printing the input that caused it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_hibc import hibc_samples

from medinv.barcodes import hibc_check_character, parse_hibc, parse_ma
from medinv.errors import InvalidBarcodeError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
EXTRA = "abcz\x00\x1d\t\n\u00e9\u4e2d\U0001f600"
MA_SAMPLES = [
    "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3",
    "MA.156.M0.100011.2cscp023.Ste002.M200206.L343432.D555555.E200228.V200307.C9",
    "MA.156.M0.100472.11103316",
]


def _mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(text))
        char = rng.choice(ALPHABET + EXTRA + ".")
        kind = rng.randrange(4)
        if kind == 0:
            text = text[:position] + char + text[position:]
        elif kind == 1:
            text = text[:position] + text[position + 1 :]
        elif kind == 2:  # noqa: PLR2004
            text = text[:position] + char + text[position + 1 :]
        else:
            text = text[:position]
    return text


def _random_text(rng: random.Random) -> str:
    size = rng.randint(0, 40)
    pool = ALPHABET if rng.random() < 0.8 else ALPHABET + EXTRA  # noqa: PLR2004
    return rng.choice(["+", "+$$", "+A99912345/", "MA.156.M0.", ""]) + "".join(
        rng.choices(pool, k=size)
    )


def _relabel(text: str) -> str:
    """Give a mutated HIBC text a correct check character, to reach the deeper checks."""
    body = text[:-1]
    try:
        return body + hibc_check_character(body)
    except InvalidBarcodeError:
        return text


def main() -> int:
    """Run the fuzz loop; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    samples = hibc_samples(2_000, args.seed)
    parsed = refused = 0
    start = time.perf_counter()
    for i in range(args.count):
        choice = i % 4
        if choice == 0:
            text = _random_text(rng)
        elif choice == 1:
            text = _mutate(rng, rng.choice(samples))
        elif choice == 2:  # noqa: PLR2004
            text = _relabel(_mutate(rng, rng.choice(samples)))
        else:
            text = _mutate(rng, rng.choice(MA_SAMPLES))
        parse = parse_ma if text.startswith("MA") else parse_hibc
        for lenient in (False, True):
            try:
                parse(text, raw=text, lenient=lenient)
                parsed += 1
            except InvalidBarcodeError as error:
                refused += 1
                if error.offset is None or not 0 <= error.offset <= len(text):
                    print(f"offset {error.offset} outside {text!r}")
                    return 1
            except Exception:  # noqa: BLE001  (the point: report anything else)
                print(f"unexpected exception for {text!r} (lenient={lenient}):")
                traceback.print_exc()
                return 1
    elapsed = time.perf_counter() - start
    print(
        f"{args.count:,} inputs (x2 modes) in {elapsed:.1f} s: {parsed:,} parsed, "
        f"{refused:,} refused with InvalidBarcodeError, nothing else raised"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
