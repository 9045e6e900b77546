"""The GS1 tables medinv derives from the GS1 Barcode Syntax Dictionary (package data).

Vectors cite gs1/gs1-syntax-engine: src/c-lib/gs1-syntax-dictionary.txt (the entries)
and src/c-lib/syntax/lint_*.c (each linter's UNIT_TEST_PASS / UNIT_TEST_FAIL cases).
"""

from __future__ import annotations

import importlib.resources

import pytest

from medinv.barcodes import parse_scan
from medinv.barcodes._syntax import ENTRIES, LINTERS, NOT_CHECKED
from medinv.barcodes._tables import AI_TABLE, ASSOCIATIONS, DL_KEYS, DateRule
from medinv.errors import InvalidBarcodeError


def test_ai_table_comes_from_the_dictionary_and_is_prefix_free():
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
        ("8010", False, 1, 30),  # Y..30 in the dictionary
    ],
)
def test_lengths_and_separator_rule(ai, fixed, low, high):
    info = AI_TABLE[ai]
    assert (info.fixed, info.min_len, info.max_len) == (fixed, low, high)


def test_formats_and_patterns_from_components():
    assert AI_TABLE["253"].fmt == "N13+[X..17]"
    assert AI_TABLE["8006"].fmt == "N14+N4"
    assert AI_TABLE["253"].pattern.fullmatch("1231231231232TEST5678901234567")
    assert not AI_TABLE["253"].pattern.fullmatch("1231231231232TEST56789012345678")
    assert not AI_TABLE["10"].pattern.fullmatch("A B")


def test_data_file_is_package_data_with_attribution():
    text = importlib.resources.files("medinv.barcodes").joinpath("gs1_syntax.txt").read_text()
    assert "Apache License, Version 2.0" in text
    assert "GS1 AISBL" in text
    assert len(ENTRIES) == len(AI_TABLE)


def test_every_linter_named_is_applied_or_listed_as_not_checked():
    named = {name for e in ENTRIES.values() for c in e.components for name in c.linters}
    assert named <= set(LINTERS) | NOT_CHECKED
    assert AI_TABLE["422"].lints == ((0, 3, "iso3166"),)
    assert AI_TABLE["8013"].lints == ((0, -1, "csumalpha"),)


# Linter vectors: gs1/gs1-syntax-engine src/c-lib/syntax/lint_<name>.c unit tests.
@pytest.mark.parametrize(
    ("name", "value", "ok"),
    [
        ("csumalpha", "22", True),
        ("csumalpha", "33", False),
        ("csumalpha", "!22", True),
        ("csumalpha", "1987654Ad4X4bL5ttr2310c2K", True),
        ("csumalpha", "1987654Ad4X4bL5ttr2310cXK", False),
        ("csumalpha", "12345_!\"%&'()*+,-./LC", True),
        ("csumalpha", "00000!HV", True),
        ("csumalpha", "2", False),
        ("pieceoftotal", "11", True),
        ("pieceoftotal", "23", True),
        ("pieceoftotal", "32", False),
        ("pieceoftotal", "0002", False),
        ("pieceoftotal", "0102", True),
        ("pieceoftotal", "123", False),
        ("iso3166", "000", False),
        ("iso3166", "999", False),
        ("iso3166", "250", True),
        ("iso3166999", "999", True),
        ("iso3166alpha2", "FR", True),
        ("iso3166alpha2", "ZZ", False),
        ("iso4217", "978", True),
        ("iso4217", "000", False),
        ("pcenc", "ABC%2Fdef", True),
        ("pcenc", "ABC%ZZ", False),
        ("pcenc", "ABC%2", False),
        ("nonzero", "000", False),
        ("nonzero", "010", True),
        ("zero", "0", True),
        ("zero", "01", False),
        ("nozeroprefix", "10", True),
        ("nozeroprefix", "01", False),
        ("hasnondigit", "/", True),
        ("hasnondigit", "1", False),
        ("yesno", "1", True),
        ("yesno", "2", False),
        ("winding", "9", True),
        ("winding", "2", False),
        ("iso5218", "2", True),
        ("iso5218", "3", False),
        ("latitude", "1800000000", True),
        ("latitude", "1800000001", False),
        ("posinseqslash", "9/10", True),
        ("posinseqslash", "3/2", False),
        ("posinseqslash", "0/2", False),
    ],
)
def test_linters_match_the_reference_unit_tests(name, value, ok):
    assert (LINTERS[name](value) is None) is ok


# gs1/gs1-syntax-engine src/c-lib/gs1-syntax-dictionary.txt: 422 N3,iso3166;
# 7030 N3,iso3166999 X..27; 8013 X..25,csumalpha; 8026 N14,csum N4,pieceoftotal.
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("(01)09501101530003(422)250", True),
        ("(01)09501101530003(422)999", False),
        ("(01)09501101530003(426)040", True),
        ("(01)09501101530003(426)000", False),
        ("(8013)1987654Ad4X4bL5ttr2310c2K", True),
        ("(8013)1987654Ad4X4bL5ttr2310cXK", False),
        ("(00)095011010000000018(37)1(8026)095011015300030102", True),
        ("(00)095011010000000018(37)1(8026)095011015300030302", False),
        ("(00)095011010000000018(37)1(8026)095011015300030002", False),
    ],
)
def test_dictionary_lint_in_parse_scan(text, ok):
    if ok:
        parse_scan(text)
    else:
        with pytest.raises(InvalidBarcodeError, match="GS1 Syntax Dictionary"):
            parse_scan(text)


def test_empty_variable_count_is_refused():
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
    # 250: "req=01,8006 req=21", two attributes, both must hold.
    assert ASSOCIATIONS["250"].requires == ((("01",), ("8006",)), (("21",),))
    assert ASSOCIATIONS["3103"].excludes == ("310n",)
    assert all(ai in AI_TABLE for ai in ASSOCIATIONS)


def test_digital_link_keys_from_the_dictionary():
    assert DL_KEYS["01"].qualifiers == ("22", "10", "21", "235")
    assert DL_KEYS["01"].sequences == (("22", "10", "21"), ("235",))
    assert DL_KEYS["01"].pad_to == 14
    assert DL_KEYS["00"].qualifiers == ()


# gs1/gs1-syntax-engine src/c-lib/ai.c, test_ai_linters: each vector triggers one
# linter error with a real AI (the GCP and coupon linters, which medinv does not
# apply, are left out; see docs/explanation/barcode-validation.md). Lenient mode, so
# that a missing mandatory association is not what refuses the scan.
@pytest.mark.parametrize(
    "text",
    [
        "(00)A23456789012345675",
        "(10) ",
        "(8010)123456_",
        "(8030)ABC:123",
        "(8030)123=",
        "(00)123456789012345670",
        "(8013)123456ABXX",
        "(8013)A",
        "(7040)1AB=",
        "(8001)12340000012311",
        "(8003)112345678901281234567890123456",
        "(8011)023456789012",
        "(4321)2",
        "(8001)12341234512321",
        "(426)987",
        "(7030)987ABC",
        "(4307)AA",
        "(3910)9870",
        "(8007)FR1234",
        "(8007)FR12_45678901234",
        "(8007)AB12345678901234",
        "(8007)FR12345678901234",
        "(4326)201300",
        "(4326)201200",
        "(4324)2012252400",
        "(4324)2012252360",
        "(8008)201225230060",
        "(8026)123456789012310099",
        "(8026)123456789012310100",
        "(8026)123456789012310302",
        "(4300)ABC%0g",
    ],
)
def test_reference_linter_vectors_are_refused(text):
    with pytest.raises(InvalidBarcodeError) as info:
        parse_scan(text, lenient=True)
    assert "mandatory association" not in str(info.value)


def test_reference_linter_ok_vector():
    assert parse_scan("(00)123456789012345675").sscc == "123456789012345675"


def test_medinv_parses_without_biip_installed():
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys; sys.modules['biip'] = None\n"
        "import medinv\n"
        "print(medinv.parse_scan('(01)09501101530003(17)261231').gtin)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == "09501101530003", done.stderr
