"""The GS1 tables medinv derives from biip, and the association table kept as data."""

from __future__ import annotations

import pytest

from medinv.barcodes import parse_scan
from medinv.barcodes._tables import AI_TABLE, ASSOCIATIONS, DL_KEYS, DateRule, _lengths
from medinv.errors import InvalidBarcodeError


def test_ai_table_comes_from_biip_and_is_prefix_free():
    assert len(AI_TABLE) > 500
    codes = list(AI_TABLE)
    assert all(not b.startswith(a) for a in codes for b in codes if a != b)
    assert {len(code) for code in codes} == {2, 3, 4}


@pytest.mark.parametrize(
    ("ai", "fixed", "low", "high"),
    [
        ("00", True, 18, 18),
        ("01", True, 14, 14),
        ("10", False, 1, 20),
        ("17", True, 6, 6),
        ("30", False, 1, 8),
        ("7003", False, 10, 10),
        ("253", False, 13, 30),
        ("8010", False, 5, 30),
    ],
)
def test_lengths_and_separator_rule(ai, fixed, low, high):
    info = AI_TABLE[ai]
    assert (info.fixed, info.min_len, info.max_len) == (fixed, low, high)


def test_format_lengths_parser():
    assert _lengths("N13[+X..17]") == (13, 30)
    assert _lengths("N6+[-]") == (6, 7)
    assert _lengths("N3+N..15") == (4, 18)


def test_empty_variable_count_is_refused_even_though_biip_pattern_allows_it():
    with pytest.raises(InvalidBarcodeError, match=r"AI \(30\)"):
        parse_scan("30")


def test_date_rules():
    assert AI_TABLE["17"].date_rule is DateRule.YYMMD0
    assert AI_TABLE["7003"].date_rule is DateRule.YYMMDD_HHMI
    assert AI_TABLE["10"].date_rule is None


def test_check_digit_spans():
    assert AI_TABLE["01"].check == (0, 14)
    assert AI_TABLE["8003"].check == (1, 14)
    assert AI_TABLE["10"].check is None


def test_associations_are_data():
    assert ASSOCIATIONS["21"].requires == ((("01",), ("03",), ("8006",)),)
    assert ASSOCIATIONS["21"].excludes == ("235",)
    assert set(ASSOCIATIONS["01"].excludes) == {"255", "37"}
    assert ASSOCIATIONS["250"].requires == ((("01", "21"), ("03", "21"), ("8006", "21")),)
    assert ASSOCIATIONS["3103"].excludes == ("310n",)
    assert all(ai in AI_TABLE for ai in ASSOCIATIONS)


def test_digital_link_keys_from_biip():
    assert DL_KEYS["01"].qualifiers == ("22", "10", "21", "235")
    assert DL_KEYS["01"].pad_to == 14
    assert DL_KEYS["00"].qualifiers == ()
