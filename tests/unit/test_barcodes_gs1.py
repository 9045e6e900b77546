"""GS1 intake through medinv.parse_scan: public examples, valid and invalid, every carrier.

Examples come from the GS1 General Specifications (the 9501101530003 / 9506000134352
example GTINs, section 7.12 century window, section 7.8.6 separators) and biip's
documented examples (README and module docstrings).
"""

from __future__ import annotations

import datetime as dt

import pendulum
import pytest

import medinv
from medinv.barcodes import Agency, Carrier, Scan, century_year, parse_scan
from medinv.dates import DatePrecision
from medinv.errors import InvalidBarcodeError

AS_OF = dt.date(2026, 11, 23)
GS = "\x1d"
GTIN = "09501101530003"


def scan(text: str, **kwargs) -> Scan:
    kwargs.setdefault("as_of", AS_OF)
    return parse_scan(text, **kwargs)


def refused(text: str, **kwargs) -> InvalidBarcodeError:
    kwargs.setdefault("as_of", AS_OF)
    with pytest.raises(InvalidBarcodeError) as info:
        parse_scan(text, **kwargs)
    return info.value


# --------------------------------------------------------------------------- public API


def test_public_names():
    assert medinv.parse_scan is parse_scan
    assert medinv.Scan is Scan


# --------------------------------------------------------------------------- element strings


@pytest.mark.parametrize("prefix", ["", "]d2", "]C1", "]Q3", "]e0", "]J1", "]d2" + GS])
def test_datamatrix_udi_with_and_without_symbology_identifier(prefix):
    s = scan(prefix + f"01{GTIN}17261231{GS}10AB-123{GS}21S0001\r\n")
    assert s.agency is Agency.GS1
    assert s.carrier is Carrier.GS1_ELEMENT_STRING
    assert (s.di, s.gtin, s.lot, s.serial) == (GTIN, GTIN, "AB-123", "S0001")
    assert s.expiry == pendulum.date(2026, 12, 31)
    assert s.expiry_precision is DatePrecision.DAY
    assert dict(s.ais) == {"01": GTIN, "17": "261231", "10": "AB-123", "21": "S0001"}
    assert s.symbology_identifier == (prefix[:3] or None)
    assert s.warnings == ()
    assert s.raw.endswith("\r\n")


def test_biip_readme_example():
    s = scan("010703206980498815210526100329")
    assert s.gtin == "07032069804988"
    assert s.best_before == pendulum.date(2021, 5, 26)
    assert s.lot == "0329"


def test_gs1_128_production_date_and_month_only_expiry():
    s = scan(f"]C101{GTIN}11250101172612001012345")
    assert s.production_date == pendulum.date(2025, 1, 1)
    assert s.expiry == pendulum.date(2026, 12, 31)
    assert s.expiry_precision is DatePrecision.MONTH
    assert s.lot == "12345"


def test_logistic_label_sscc_content_count():
    s = scan(f"]C100106141412345678908020950110153000337100{GS}10LOT1")
    assert s.sscc == "106141412345678908"
    assert s.gtin == GTIN  # content GTIN (AI 02) when there is no AI 01
    assert s.quantity == 100
    assert s.lot == "LOT1"


def test_variable_count_ai_30():
    assert scan(f"01{GTIN}3025{GS}10A").quantity == 25


def test_separator_after_fixed_length_ai_is_allowed():
    # General Specifications 7.8.6: FNC1 after a predefined-length AI is harmless.
    s = scan(f"01{GTIN}{GS}17261231{GS}10A")
    assert s.lot == "A"
    assert s.warnings == ()


@pytest.mark.parametrize("substitute", ["<GS>", "{GS}", "^", ["~", "<GS>"]])
def test_keyboard_wedge_fnc1_substitutes(substitute):
    sub = substitute if isinstance(substitute, str) else substitute[1]
    s = scan(f"01{GTIN}10AB-1{sub}21X9", fnc1=substitute)
    assert (s.lot, s.serial) == ("AB-1", "X9")


def test_offsets_point_into_the_raw_text_after_substitutes():
    text = f"]d201{GTIN}10AB<GS>17261331"
    err = refused(text, fnc1="<GS>")
    assert err.ai == "17"
    assert err.offset is not None
    assert text[err.offset : err.offset + 6] == "261331"
    assert "month 13" in str(err)


def test_7003_expiry_date_time_in_facility_zone():
    s = scan(f"01{GTIN}70032612311430{GS}10A", tz="Europe/Paris")
    assert s.expiry_datetime == pendulum.datetime(2026, 12, 31, 14, 30, tz="Europe/Paris")
    assert s.expiry == pendulum.date(2026, 12, 31)


def test_7003_refuses_day_00():
    err = refused(f"01{GTIN}70032612001430")
    assert err.ai == "7003"
    assert "day 00" in str(err)


def test_ai_17_refuses_impossible_dates():
    assert "month 13" in str(refused(f"01{GTIN}17261301"))
    assert "day 31" in str(refused(f"01{GTIN}17260431"))
    assert refused(f"01{GTIN}17270229").ai == "17"
    assert scan(f"01{GTIN}17280229").expiry == pendulum.date(2028, 2, 29)


@pytest.mark.parametrize(
    ("yy", "year"), [("26", 2026), ("76", 2076), ("77", 1977), ("99", 1999), ("00", 2000)]
)
def test_century_sliding_window(yy, year):
    assert scan(f"01{GTIN}17{yy}0115").expiry == pendulum.date(year, 1, 15)
    assert century_year(int(yy), 2026) == year


def test_century_window_follows_as_of():
    assert scan(f"01{GTIN}17770115", as_of=dt.date(2030, 1, 1)).expiry == pendulum.date(2077, 1, 15)


def test_as_of_none_reads_todays_year():
    today = pendulum.now("UTC").date()
    assert parse_scan(f"01{GTIN}17261231").expiry == scan(f"01{GTIN}17261231", as_of=today).expiry


def test_wrong_gtin_check_digit():
    err = refused(f"]d201{GTIN[:-1]}4")
    assert err.ai == "01"
    assert err.offset == 3 + 2 + 13
    assert "should be 3, not 4" in str(err)


def test_wrong_sscc_check_digit():
    assert refused("]C100106141412345678909").ai == "00"


def test_character_set_82_for_lot():
    err = refused(f"01{GTIN}10AB 1")
    assert err.ai == "10"
    assert "character set 82" in str(err)
    assert "é" in str(refused(f"01{GTIN}10ABé"))


def test_character_set_39_and_64():
    # AI 8010 (CPID) uses set 39 (upper case); AI 8030 (DIGSIG) base64url.
    assert refused("8010ab12345").ai == "8010"
    assert refused(f"00106141412345678908{GS}8030AB+C").ai == "8030"


def test_unicode_digits_are_not_digits():
    arabic_zero = "\u0660"
    assert refused(f"010950110153000{arabic_zero}3").ai == "01"


def test_fixed_length_truncated():
    err = refused(f"01{GTIN}1726123")
    assert err.ai == "17"
    assert "ends early" in str(err)


def test_unknown_ai():
    err = refused(f"01{GTIN}2399")
    assert err.offset == 16
    assert "unknown GS1 Application Identifier" in str(err)


def test_not_an_ai_at_all():
    assert "expected a GS1 Application Identifier" in str(refused("hello"))


def test_repeated_ai_same_value_is_one_element():
    s = scan(f"01{GTIN}10A{GS}01{GTIN}")
    assert dict(s.ais) == {"01": GTIN, "10": "A"}


def test_repeated_ai_different_values_refused():
    err = refused(f"01{GTIN}10A{GS}10B")
    assert err.ai == "10"
    assert "twice with different values" in str(err)


@pytest.mark.parametrize(
    ("text", "ai"),
    [
        (f"01{GTIN}02{GTIN}37{5}", "01"),  # 01 with 02
        (f"01{GTIN}371", "01"),  # 01 with 37
        (f"01{GTIN}31030001003102000100", "3103"),  # two decimals of net weight
        (f"01{GTIN}255{'0' * 12}0{GS}", "01"),  # 01 with GCN
    ],
)
def test_invalid_pairs_refused_even_in_lenient_mode(text, ai):
    for lenient in (False, True):
        err = refused(text, lenient=lenient)
        assert "must not appear together" in str(err)
        assert err.ai in {ai, "02", "37", "3102", "255"}


def test_mandatory_association_strict_vs_lenient():
    err = refused("21SERIAL")
    assert err.ai == "21"
    assert "requires AI (01) or (03) or (8006)" in str(err)
    assert "lenient" in str(err)
    s = scan("21SERIAL", lenient=True)
    assert s.serial == "SERIAL"
    assert s.gtin is None
    assert len(s.warnings) == 1
    assert "mandatory association" in s.warnings[0]


def test_superfluous_separators_are_lint():
    assert "superfluous" in str(refused(f"01{GTIN}10A{GS}{GS}21B"))
    assert "superfluous" in str(refused(f"01{GTIN}10A{GS}{GS}"))
    s = scan(f"01{GTIN}10A{GS}{GS}21B{GS}", lenient=True)
    assert (s.lot, s.serial) == ("A", "B")
    assert len(s.warnings) == 1


# gs1/gs1-syntax-engine src/c-lib/ai.c, test_ai_processAIdata: "^0112345678901231^"
# and "^242123456^" are accepted ("Tolerate superfluous FNC1"), "^011234567890123^"
# (short) and "^01123456789012345^" (long) refused.
@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("]d2\x1d0112345678901231\x1d", True),
        ("]d2\x1d0112345678901231\x1d991234", True),
        ("]d2\x1d0112345678901231991234", True),
        ("]d2\x1d0112345678901231\x1d242123456\x1d", True),
        ("]d2\x1d011234567890123\x1d", False),
        ("]d2\x1d01123456789012345\x1d", False),
        ("]d2\x1d01123456789012345\x1d991234", False),
    ],
)
def test_one_trailing_separator_is_tolerated_as_the_reference_does(text, ok):
    text = text.replace("\\x1d", GS)
    if ok:
        assert scan(text, lenient=False).warnings == ()
    else:
        refused(text)


def test_element_strings_in_a_non_gs1_symbol_are_lint():
    err = refused(f"]C001{GTIN}10A")
    assert "not a GS1 symbol" in str(err)
    s = scan(f"]C001{GTIN}10A", lenient=True)
    assert s.lot == "A"
    assert "not a GS1 symbol" in s.warnings[0]


# --------------------------------------------------------------------------- FNC1 recovery


def test_missing_separator_recovered_when_one_reading_is_valid():
    s = scan(f"01{GTIN}10ABCDEFGHIJKLMNOP17261231")
    assert s.lot == "ABCDEFGHIJKLMNOP"
    assert s.expiry == pendulum.date(2026, 12, 31)
    assert "recovered missing FNC1" in s.warnings[0]


def test_missing_separator_after_7003_recovered():
    s = scan(f"01{GTIN}7003261231123010ABC")
    assert s.lot == "ABC"
    assert s.expiry_datetime is not None
    assert s.expiry_datetime.hour == 12


def test_missing_separator_ambiguous_is_named():
    err = refused(f"01{GTIN}10ABCDEFG21HIJ21KLMNOPQ")
    message = str(err)
    assert "ambiguous" in message
    assert "(10)ABCDEFG(21)HIJ21KLMNOPQ" in message
    assert "(10)ABCDEFG21HIJ(21)KLMNOPQ" in message


def test_greedy_reading_kept_when_valid():
    # The standard's reading: a variable-length field runs to FNC1 or the end.
    assert scan(f"01{GTIN}10ABC12317261231").lot == "ABC12317261231"


def test_no_valid_reading_reports_the_original_problem():
    err = refused(f"01{GTIN}10ABCDEFGHIJKLMNOPQRSTUV")
    assert err.ai == "10"
    assert "1 to 20" in str(err)


# --------------------------------------------------------------------------- human-readable


def test_human_readable_form():
    s = scan(f"(01){GTIN}(17)260100(10)ABC")
    assert s.carrier is Carrier.GS1_HUMAN_READABLE
    assert (s.gtin, s.lot) == (GTIN, "ABC")
    assert s.expiry == pendulum.date(2026, 1, 31)
    assert s.expiry_precision is DatePrecision.MONTH


def test_human_readable_with_spaces():
    assert scan(f"(01) {GTIN} (21) 12345").serial == "12345"


def test_human_readable_errors():
    assert refused(f"(01){GTIN}(17)261232").ai == "17"
    assert "unknown GS1 Application Identifier (23)" in str(refused("(23)12"))
    assert "expected '(AI)data'" in str(refused("(x)12"))
    assert refused(f"(01){GTIN[:-1]}").ai == "01"


# --------------------------------------------------------------------------- Digital Link


@pytest.mark.parametrize("prefix", ["", "]Q1", "]d1", "]Q3", "]d2"])
def test_digital_link_in_plain_and_gs1_symbols(prefix):
    s = scan(prefix + f"https://id.gs1.org/01/{GTIN}/10/AB1/21/XYZ?17=261231")
    assert s.carrier is Carrier.GS1_DIGITAL_LINK
    assert (s.gtin, s.lot, s.serial) == (GTIN, "AB1", "XYZ")
    assert s.expiry == pendulum.date(2026, 12, 31)


def test_digital_link_any_domain_prefix_and_upper_case_scheme():
    s = scan("HTTPS://Example.COM/some/prefix/01/09501101530003?17=261231&linkType=gs1:pip#x")
    assert s.gtin == GTIN
    assert dict(s.ais) == {"01": GTIN, "17": "261231"}


def test_digital_link_short_gtin_is_lint():
    # gs1/gs1-syntax-engine src/c-lib/dl.c test_dl_parseDLuri: "https://a/01/2112345678900"
    # is refused unless zero-suppressed GTINs are permitted (lenient mode here).
    text = "https://example.com/some/prefix/01/9501101530003?17=261231"
    assert "14-digit form" in str(refused(text))
    s = scan(text, lenient=True)
    assert s.gtin == GTIN
    assert "14-digit form" in s.warnings[0]


def test_biip_digital_link_examples():
    s = scan("https://id.gs1.org/00/106141412345678908?02=00614141123452&37=25&10=ABC123")
    assert (s.sscc, s.gtin, s.quantity, s.lot) == (
        "106141412345678908",
        "00614141123452",
        25,
        "ABC123",
    )
    s = scan("https://id.gs1.org/01/00614141123452?3103=000195")
    assert dict(s.ais) == {"01": "00614141123452", "3103": "000195"}


def test_digital_link_percent_encoding():
    assert scan(f"https://a.example/01/{GTIN}/10/A%2FB%2B1").lot == "A/B+1"
    # gs1/gs1-syntax-engine dl.c: "+" means "+" in the path, " " in the query.
    assert scan(f"https://a.example/01/{GTIN}/22/A+B").ais["22"] == "A+B"
    assert "not in GS1 character set 82" in str(refused(f"https://a.example/01/{GTIN}?240=A+B"))
    assert scan(f"https://a.example/01/{GTIN}?240=A%2BB").ais["240"] == "A+B"


def test_digital_link_qualifier_order_is_lint():
    text = f"https://id.gs1.org/01/{GTIN}/21/X/10/Y"
    assert "out of order" in str(refused(text))
    s = scan(text, lenient=True)
    assert (s.lot, s.serial) == ("Y", "X")
    assert "out of order" in s.warnings[0]


def test_digital_link_qualifier_in_query_is_lint():
    text = f"https://id.gs1.org/01/{GTIN}?10=ABC"
    assert "belongs in the URI path" in str(refused(text))
    assert scan(text, lenient=True).lot == "ABC"


def test_digital_link_repeated_ais():
    assert "twice with different" in str(
        refused(f"https://id.gs1.org/01/{GTIN}?17=261231&17=261230")
    )
    same = f"https://id.gs1.org/01/{GTIN}?17=261231&17=261231"
    assert "given twice" in str(refused(same))
    assert scan(same, lenient=True).expiry == pendulum.date(2026, 12, 31)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"https://id.gs1.org/01/{GTIN}/10", "without a value"),
        (f"https://id.gs1.org/01/{GTIN}/17/261231", "not a key qualifier"),
        ("https://id.gs1.org/products/123", "no GS1 primary key"),
        ("https://", "no valid host"),
        ("https://id.gs1.org", "has no path"),
        (f"https://id.gs1.org/01/{GTIN}?99999=1", "unknown GS1 Application Identifier"),
        (f"https://id.gs1.org/01/{GTIN}?17=", "has no value"),
        (f"https://id.gs1.org/01/{GTIN[:-1]}4", "check digit"),
        (f"https://id.gs1.org/01/{GTIN}?17=261301", "month 13"),
        (f"https://id.gs1.org/01/{GTIN}/10/%FF", "not valid UTF-8"),
    ],
)
def test_digital_link_refusals(text, fragment):
    assert fragment in str(refused(text))


# --------------------------------------------------------------------------- plain GTIN / SSCC


@pytest.mark.parametrize(
    ("text", "gtin"),
    [
        ("]E05901234123457", "05901234123457"),
        ("5901234123457", "05901234123457"),
        ("]E496385074", "00000096385074"),
        ("96385074", "00000096385074"),
        ("614141123452", "00614141123452"),
        ("]I198765432109213", "98765432109213"),
        ("98765432109213", "98765432109213"),
        ("]E3590123412345712", "05901234123457"),
    ],
)
def test_plain_gtins(text, gtin):
    s = scan(text)
    assert s.carrier is Carrier.PLAIN_GTIN
    assert (s.gtin, s.di) == (gtin, gtin)
    assert s.lot is None
    assert dict(s.ais) == {}


def test_plain_gtin_refusals():
    assert "should be 7" in str(refused("5901234123458"))
    assert "12 or 13 digits" in str(refused("]E059012341234"))
    assert "check digit" in str(refused("]E05901234123458"))


def test_plain_sscc():
    s = scan("106141412345678908")
    assert s.carrier is Carrier.PLAIN_SSCC
    assert (s.sscc, s.gtin, s.di) == ("106141412345678908", None, None)


# --------------------------------------------------------------------------- the input itself


@pytest.mark.parametrize("text", ["", "\r\n", "]", "]x", "]d2", f"]d2{GS}", "]!!01"])
def test_empty_or_malformed_input(text):
    assert isinstance(refused(text), ValueError)


def test_non_text_input():
    with pytest.raises(InvalidBarcodeError, match="as text"):
        parse_scan(b"0109501101530003")  # type: ignore[arg-type]


def test_bad_options():
    with pytest.raises(InvalidBarcodeError, match="fnc1"):
        parse_scan("x", fnc1="")
    with pytest.raises(InvalidBarcodeError, match="time zone"):
        parse_scan("x", tz="Mars/Olympus")
    with pytest.raises(InvalidBarcodeError, match="as_of"):
        parse_scan("x", as_of="2026-01-01")  # type: ignore[arg-type]


def test_hibc_and_ma_codes_are_routed_to_their_parsers():
    hibc = parse_scan("]C0+A123BJC5D6E71G\r\n")
    assert (hibc.agency, hibc.carrier, hibc.di) == (
        Agency.HIBCC,
        Carrier.HIBC_PRIMARY,
        "A123BJC5D6E71",
    )
    assert hibc.symbology_identifier == "]C0"
    assert hibc.raw == "]C0+A123BJC5D6E71G\r\n"
    ma = parse_scan("MA.156.M0.100001.0100001.L220101")
    assert (ma.agency, ma.carrier, ma.lot) == (Agency.MA, Carrier.MA_CODE, "220101")
    assert ma.symbology_identifier is None


def test_hibc_errors_count_offsets_in_the_raw_input():
    err = refused("]C0+A123BJC5D6E71X")
    assert err.offset == len("]C0+A123BJC5D6E71")


@pytest.mark.parametrize("text", ["+", "]C0+", "MA.", "]d1MA."])
def test_bare_other_agency_prefixes_are_refused(text):
    # Whatever parses HIBC and MA codes, a bare prefix is not a code.
    assert isinstance(refused(text), InvalidBarcodeError)


def test_error_attributes_and_message():
    text = f"]d201{GTIN}17261231{GS}10AB-123{GS}21S 1"
    err = refused(text)
    assert err.text == text
    assert err.ai == "21"
    assert "AI (21) SERIAL" in str(err)
    assert err.offset is not None
    assert text[err.offset :].startswith("S 1")


# --------------------------------------------------------------------------- more date rules


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"01{GTIN}70032612312430", "time 24:30 does not exist"),
        (f"01{GTIN}70032612311260", "time 12:60 does not exist"),
        (f"01{GTIN}7006261200", "day 00"),
        (f"01{GTIN}7007261201261300", "month 13"),
        (f"01{GTIN}7011261231{GS}10A", None),
        (f"01{GTIN}70112612312500", "time 25:00"),
        (f"01{GTIN}800826123123", None),
        (f"01{GTIN}800826023000", "day 30 does not exist in month 02"),
        (f"00106141412345678908{GS}43242612009999", None),
        (f"00106141412345678908{GS}43242612002460", "time 24:60"),
        (f"00106141412345678908{GS}4326261200", "day 00"),
    ],
)
def test_date_rules_of_other_date_ais(text, fragment):
    if fragment is None:
        assert scan(text).ais
    else:
        assert fragment in str(refused(text))


def test_other_dates_are_resolved_too():
    err = refused(f"01{GTIN}13000229", as_of=dt.date(2080, 1, 1))  # 2100 is not a leap year
    assert err.ai == "13"
    assert scan(f"01{GTIN}13000229").ais["13"] == "000229"  # 2000 is


def test_century_window_next_century():
    assert century_year(30, 2090) == 2130
    assert scan(f"01{GTIN}17300101", as_of=dt.date(2090, 6, 1)).expiry == pendulum.date(2130, 1, 1)


def test_ai_17_wins_over_7003_for_the_expiry_date():
    s = scan(f"01{GTIN}17261130{GS}70032612311430{GS}10A")
    assert s.expiry == pendulum.date(2026, 11, 30)
    assert s.expiry_datetime is not None
    assert s.expiry_datetime.day == 31


def test_multi_component_format_mismatch():
    err = refused(f"8006{GTIN}01AB")
    assert err.ai == "8006"
    assert "format N14+N4" in str(err)  # the Syntax Dictionary's 8006: N14,csum N4,pieceoftotal


def test_grai_check_digit_after_the_zero_digit():
    assert "check digit" in str(refused("8003095011015300040ABC"))
    assert scan("8003095011015300030ABC").ais["8003"] == "095011015300030ABC"


def test_recovered_scan_with_separator_lint():
    text = f"01{GTIN}10ABCDEFGHIJKLMNOP17261231{GS}{GS}"
    assert "superfluous" in str(refused(text))
    s = scan(text, lenient=True)
    assert s.lot == "ABCDEFGHIJKLMNOP"
    assert len(s.warnings) == 2


def test_recovery_prefers_a_clean_reading_over_a_missing_association():
    # Greedy: 21 swallows "1712..." (valid serial), but then 21 has no 01: lint.
    # Split: (01) comes out of the serial's data only if it is all there.
    s = scan(f"21ABC01{GTIN}", lenient=True)
    assert (s.serial, s.gtin) == ("ABC", GTIN)
    assert "recovered" in s.warnings[0]


def test_pathological_input_is_refused_not_searched_forever():
    text = "90" + "91" * 300
    err = refused(text)
    assert isinstance(err, InvalidBarcodeError)


def test_empty_query_parameters_are_ignored():
    assert scan(f"https://id.gs1.org/01/{GTIN}?&17=261231&&").expiry == pendulum.date(2026, 12, 31)


def test_offsets_at_the_end_of_substituted_text():
    err = refused(f"01{GTIN}10A^^", fnc1="^")
    assert err.offset is not None
    assert err.offset <= len(f"01{GTIN}10A^^")


def test_fnc1_substitute_in_first_position():
    s = scan(f"^01{GTIN}10AB^21C", fnc1="^")
    assert (s.gtin, s.lot, s.serial) == (GTIN, "AB", "C")
    err = refused(f"{{GS}}01{GTIN[:-1]}4", fnc1="{GS}")
    assert err.offset == 4 + 15


def test_biip_sscc_example():
    s = scan("]C100376130321109103420")
    assert s.sscc == "376130321109103420"
    assert s.gtin is None


def test_biip_documented_convenience_alpha_example_is_refused_clearly():
    err = refused("https://id.gs1.org/01/00614141123452/lot/ABC1/ser/12345?exp=180426")
    assert "'lot' is a deprecated Digital Link convenience name for AI (10)" in str(err)
    assert err.offset == len("https://id.gs1.org/01/00614141123452/")
    s = scan("https://id.gs1.org/gtin/00614141123452/lot/ABC1/ser/12345?exp=180426", lenient=True)
    assert (s.gtin, s.lot, s.serial) == ("00614141123452", "ABC1", "12345")
    assert len(s.warnings) == 3
