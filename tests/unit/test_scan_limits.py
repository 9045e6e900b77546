"""Bounded time and memory on any input, option validation, ISO/IEC 15434 envelopes."""

from __future__ import annotations

import datetime as dt
import sys
import time

import pytest

from medinv.barcodes import parse_scan
from medinv.barcodes._gs1 import search_splits
from medinv.barcodes._parse import MAX_SCAN_LENGTH
from medinv.errors import InvalidBarcodeError, InvalidValueError

AS_OF = dt.date(2026, 11, 23)
GS = "\x1d"
GTIN = "09501101530003"


def refused(text: str, **kwargs) -> InvalidBarcodeError:
    kwargs.setdefault("as_of", AS_OF)
    with pytest.raises(InvalidBarcodeError) as info:
        parse_scan(text, **kwargs)
    return info.value


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("options", "word"),
    [
        ({"tz": ["UTC"]}, "tz="),
        ({"tz": 5}, "tz="),
        ({"tz": None}, "tz="),
        ({"fnc1": 5}, "fnc1="),
        ({"fnc1": [["^"]]}, "fnc1="),
        ({"fnc1": []}, "fnc1="),
        ({"fnc1": b"^"}, "fnc1="),
        ({"as_of": "2026-01-01"}, "as_of="),
        ({"lenient": "yes"}, "lenient="),
    ],
)
def test_options_of_the_wrong_type_are_refused_with_a_medinv_error(options, word):
    with pytest.raises(InvalidValueError, match=word):
        parse_scan(f"01{GTIN}", **options)


def test_a_number_is_not_a_time_zone():
    # Before: tz=5 was taken as a 5-second offset.
    assert "time zone" in str(refused(f"01{GTIN}7003261231143010A", tz=5))


def test_fnc1_accepts_any_collection_of_texts():
    for given in (["^"], ("^",)):
        assert parse_scan(f"01{GTIN}10A^21B", fnc1=given, as_of=AS_OF).serial == "B"


# --------------------------------------------------------------------------- size and time


def test_input_longer_than_any_symbol_is_refused_before_parsing():
    err = refused("1" * (MAX_SCAN_LENGTH + 1))
    assert "no barcode symbol carries more" in str(err)
    assert err.offset == MAX_SCAN_LENGTH
    refused("1" * MAX_SCAN_LENGTH)  # at the limit: parsed (and refused for what it says)


def test_two_million_separators_are_refused_quickly():
    start = time.process_time()
    refused(GS * 2_000_000 + f"01{GTIN}")
    assert time.process_time() - start < 0.5


def test_many_leading_separators_within_the_limit_are_stripped_in_linear_time():
    start = time.process_time()
    scan = parse_scan(GS * (MAX_SCAN_LENGTH - 20) + f"01{GTIN}", as_of=AS_OF)
    assert scan.gtin == GTIN
    assert time.process_time() - start < 0.5


def _deep(depth: int, fn):
    if depth:
        return _deep(depth - 1, fn)
    return fn()


@pytest.mark.parametrize("length", [3_116, 7_888, MAX_SCAN_LENGTH])
def test_long_digit_runs_do_not_recurse(length):
    # Before: RecursionError on 7,888 digits (1,488 under a deep caller).
    text = "1" * length
    limit = sys.getrecursionlimit()
    with pytest.raises(InvalidBarcodeError):
        _deep(limit - 200, lambda: parse_scan(text, as_of=AS_OF))


def test_split_search_is_iterative_and_finds_the_only_reading():
    readings = search_splits(f"01{GTIN}10ABC17261231")
    assert [[(e.info.code, e.value) for e in r] for r in readings] == [
        [("01", GTIN), ("10", "ABC"), ("17", "261231")],
        [("01", GTIN), ("10", "ABC17261231")],
    ]
    assert len(search_splits(f"01{GTIN}10ABC17261231", limit=1)) == 1
    deep = f"01{GTIN}" + "11261231" * 1_000  # a thousand elements deep, one reading
    found = _deep(sys.getrecursionlimit() - 100, lambda: search_splits(deep))
    assert len(found) == 1
    assert len(found[0]) == 1_001


# --------------------------------------------------------------------------- ISO/IEC 15434


def test_format_05_envelope_is_read_as_gs1():
    scan = parse_scan(f"[)>\x1e05{GS}01{GTIN}{GS}10AB\x1e\x04", as_of=AS_OF)
    assert (scan.gtin, scan.lot, scan.warnings) == (GTIN, "AB", ())


def test_format_05_envelope_in_a_plain_datamatrix_is_not_lint():
    scan = parse_scan(f"]d1[)>\x1e05{GS}01{GTIN}10AB\x1e\x04\r\n", as_of=AS_OF)
    assert (scan.lot, scan.symbology_identifier, scan.warnings) == ("AB", "]d1", ())


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"[)>\x1e06{GS}1PABC123{GS}1TLOT1{GS}SSER1\x1e\x04", ("15434", "format 06")),
        (f"[)>\x1e12{GS}ABC\x1e\x04", ("15434", "format 12")),
        ("[)>\x1e5", ("15434", "malformed")),
        (f"[)>\x1e05{GS}01{GTIN}", ("15434", "RS EOT")),
        (f"[)>\x1e05{GS}\x1e\x04", ("15434", "no data")),
    ],
)
def test_other_envelopes_are_refused_naming_the_envelope_and_format(text, words):
    message = str(refused(text))
    assert all(word in message for word in words)
    assert "expected a GS1 Application Identifier" not in message


@pytest.mark.parametrize("parser", ["hibc", "ma"])
def test_hibc_and_ma_parsers_refuse_oversized_input_before_parsing(parser):
    from medinv.barcodes import parse_hibc, parse_ma  # noqa: PLC0415

    text = ("+$$8+A" if parser == "hibc" else "MA.156.M0.") * 2_000_000
    start = time.process_time()
    with pytest.raises(InvalidBarcodeError, match="no barcode symbol carries more"):
        (parse_hibc if parser == "hibc" else parse_ma)(text, raw=text)
    assert time.process_time() - start < 1.0


def test_back_to_back_hibc_split_search_stays_fast_at_the_limit():
    # Before the length limit, 96,000 characters of "+$$8+A" took 10 s (quadratic).
    text = ("+$$8+A" * 2_000)[:MAX_SCAN_LENGTH]
    start = time.process_time()
    refused(text)
    assert time.process_time() - start < 0.1 * MAX_SCAN_LENGTH / 1024


@pytest.mark.parametrize(
    "text",
    [
        # Pathological for a plain split search (thousands of readings that fail only
        # at the message level): pruned, since a repeat with another value or an
        # invalid pair stays invalid whatever follows.
        "]e010A0109501101530003010950110153000310A0109501101530003(0109501101530003|]e017261231",
        "]e0\x1d2131030109501101530003010950110153000321010950110153000321\x1d21A",
        "10A01010950110153000301095011015300030109501101530003(01",
    ],
)
def test_short_pathological_scans_are_decided_quickly(text):
    # CPU time of this process, so that other work on a shared machine does not count;
    # the unpruned search took seconds, the bound leaves room for a slow machine.
    start = time.process_time()
    with pytest.raises(InvalidBarcodeError):
        parse_scan(text, as_of=AS_OF)
    assert time.process_time() - start < 0.5
