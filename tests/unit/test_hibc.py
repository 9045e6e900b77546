"""HIBC Supplier Labeling Standard parser (issue 3): public examples, every format, refusals."""

from __future__ import annotations

import pendulum
import pytest

from medinv.barcodes import Agency, Carrier, hibc_check_character, link_hibc, parse_hibc, parse_scan
from medinv.dates import DatePrecision
from medinv.errors import InvalidBarcodeError


def parse(text: str, *, lenient: bool = False, prefix: str = ""):
    return parse_hibc(text, raw=prefix + text, lenient=lenient)


def label(body: str) -> str:
    """``body`` followed by its mod-43 check character."""
    return body + hibc_check_character(body)


# ----------------------------------------------------------------------------- check character


@pytest.mark.parametrize(
    ("data", "check"),
    [
        ("+A123BJC5D6E71", "G"),  # the classic HIBC LIC primary example
        ("+A99912345/$$52001510X3/16D20111212/S77DE1G45", "-"),
        ("+A123BJCMD6E79", "+"),
        (
            "+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202",
            "$",
        ),
        ("+$$52001510X3+", " "),
        ("+", "+"),
        ("", "0"),
    ],
)
def test_check_character(data, check):
    assert hibc_check_character(data) == check


def test_check_character_refuses_non_hibc_characters():
    with pytest.raises(InvalidBarcodeError, match="not an HIBC character") as info:
        hibc_check_character("+a123")
    assert info.value.offset == 1


# ----------------------------------------------------------------------------- primary


def test_primary_alone():
    scan = parse("+A123BJC5D6E71G")
    assert scan.agency is Agency.HIBCC
    assert scan.carrier is Carrier.HIBC_PRIMARY
    assert scan.di == "A123BJC5D6E71"  # LIC A123, product BJC5D6E7, unit of measure 1
    assert scan.hibc_link == "G"
    assert (scan.lot, scan.serial, scan.expiry, scan.quantity, scan.gtin) == (None,) * 5
    assert scan.raw == "+A123BJC5D6E71G"
    assert scan.warnings == ()


@pytest.mark.parametrize(
    "text",
    [
        "+A123BJCMD6E79+",  # check character '+'
        label("+A1231234567890123456780"),  # 18-character product number
        label("+Z9991A0"),  # 1-character product number
    ],
)
def test_primary_forms(text):
    scan = parse(text)
    assert scan.carrier is Carrier.HIBC_PRIMARY
    assert scan.di == text[1:-1]


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("+A123BJC5D6E71H", 14, "check character is 'H' but the data calls for 'G'"),
        ("+A12319", 6, "primary data is too short"),
        (label("+A12312345678901234567890"), 5, "product number is 19 characters long"),
        (label("+A123BJC5D6E7X"), 13, "unit-of-measure indicator must be a digit"),
        ("+1123BJC5D6E71G", 14, "check character"),  # digit first: read as secondary data
        ("+-123X1", 1, "expected a labeler code starting with a letter"),
        (label("+/WABC123456"), 2, "not an HIBC Provider Applications Standard data type"),
        ("+/C12345X", 8, "check character"),
        ("+/C", 2, "Provider Applications Standard data"),
        ("+A123BJC5D6E71G!", 15, "'!' is not an HIBC character"),
        ("+a123bjc5d6e71g", 1, "Caps Lock"),
        ("A123BJC5D6E71G", 0, "starts with '\\+'"),
        ("+", 1, "starts with '\\+'"),
        ("", 0, "starts with '\\+'"),
        ("+A123X1G$X", 8, "expected '/' and secondary data"),
    ],
)
def test_primary_refusals(text, offset, message):
    with pytest.raises(InvalidBarcodeError, match=message) as info:
        parse(text)
    assert info.value.offset == offset
    assert info.value.text == text
    assert isinstance(info.value, ValueError)


def test_offsets_count_in_the_raw_input():
    with pytest.raises(InvalidBarcodeError) as info:
        parse("+A123BJC5D6E71H", prefix="]C0")
    assert info.value.offset == 17
    assert "(offset 17)" in str(info.value)
    assert info.value.text == "]C0+A123BJC5D6E71H"


# ----------------------------------------------------------------------------- concatenated


def test_concatenated_yymmdd_expiry_and_lot():
    scan = parse("+A99912345/$$3251231LOT427", prefix="]d1")
    assert scan.carrier is Carrier.HIBC_CONCATENATED
    assert scan.di == "A99912345"
    assert scan.lot == "LOT42"
    assert scan.expiry == pendulum.date(2025, 12, 31)
    assert scan.expiry_precision is DatePrecision.DAY
    assert scan.expiry_datetime is None
    assert scan.raw == "]d1+A99912345/$$3251231LOT427"
    assert scan.hibc_link == hibc_check_character("+A99912345")


# Every secondary format, concatenated after the primary "+A99912345" (check chars computed).
_DAY = DatePrecision.DAY
_MONTH = DatePrecision.MONTH


@pytest.mark.parametrize(
    ("secondary", "lot", "serial", "expiry", "precision", "hour", "quantity"),
    [
        ("25123LOT1", "LOT1", None, pendulum.date(2025, 5, 3), _DAY, None, None),  # YYJJJ
        ("25123", None, None, pendulum.date(2025, 5, 3), _DAY, None, None),
        ("$LOT1", "LOT1", None, None, None, None, None),
        ("$$0326LOT1", "LOT1", None, pendulum.date(2026, 3, 31), _MONTH, None, None),  # MMYY
        ("$$1228LOT1", "LOT1", None, pendulum.date(2028, 12, 31), _MONTH, None, None),
        ("$$0228LOT1", "LOT1", None, pendulum.date(2028, 2, 29), _MONTH, None, None),  # leap
        ("$$2123125LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, None, None),  # MMDDYY
        ("$$3251231LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, None, None),  # YYMMDD
        ("$$42512310714", "14", None, pendulum.date(2025, 12, 31), _DAY, 7, None),  # YYMMDDHH
        ("$$525365LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, None, None),  # YYJJJ
        ("$$524366LOT1", "LOT1", None, pendulum.date(2024, 12, 31), _DAY, None, None),  # leap
        ("$$62536523LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, 23, None),  # YYJJJHH
        ("$$7LOT1", "LOT1", None, None, None, None, None),  # no expiry
        ("$$3251231", None, None, pendulum.date(2025, 12, 31), _DAY, None, None),  # no lot
        ("$+SER1", None, "SER1", None, None, None, None),
        ("$$+0326SER1", None, "SER1", pendulum.date(2026, 3, 31), _MONTH, None, None),
        ("$$+2123125SER1", None, "SER1", pendulum.date(2025, 12, 31), _DAY, None, None),
        ("$$+3251231SER1", None, "SER1", pendulum.date(2025, 12, 31), _DAY, None, None),
        ("$$+42512310100", None, "00", pendulum.date(2025, 12, 31), _DAY, 1, None),
        ("$$+525365SER1", None, "SER1", pendulum.date(2025, 12, 31), _DAY, None, None),
        ("$$+62536500SER1", None, "SER1", pendulum.date(2025, 12, 31), _DAY, 0, None),
        ("$$+7SER1", None, "SER1", None, None, None, None),
        ("$$8243251231LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, None, 24),
        ("$$8240326LOT1", "LOT1", None, pendulum.date(2026, 3, 31), _MONTH, None, 24),
        ("$$8247LOT1", "LOT1", None, None, None, None, 24),
        ("$$9001003251231LOT1", "LOT1", None, pendulum.date(2025, 12, 31), _DAY, None, 100),
        ("$$9999997", None, None, None, None, None, 99999),
        ("$$+8027SER1", None, "SER1", None, None, None, 2),
        ("$$7LOT1/S77DE1G45", "LOT1", "77DE1G45", None, None, None, None),
        ("$$7LOT1/14D20261130", "LOT1", None, pendulum.date(2026, 11, 30), _DAY, None, None),
        ("$$0326LOT1/14D20260331", "LOT1", None, pendulum.date(2026, 3, 31), _DAY, None, None),
        ("$$3260331LOT1/14D20260331", "LOT1", None, pendulum.date(2026, 3, 31), _DAY, None, None),
        ("S77DE1G45", None, "77DE1G45", None, None, None, None),
        ("$$7LOT1/Q500", "LOT1", None, None, None, None, 500),  # supplemental quantity
        ("$LOT1/Q12345678", "LOT1", None, None, None, None, 12345678),
        ("$+SER1/$+SER1", None, "SER1", None, None, None, None),  # a repeat that agrees
    ],
)
def test_every_secondary_format(  # noqa: PLR0917  (one parametrised column per field)
    secondary, lot, serial, expiry, precision, hour, quantity
):
    text = label(f"+A99912345/{secondary}")
    scan = parse(text)
    assert scan.carrier is Carrier.HIBC_CONCATENATED
    assert scan.di == "A99912345"
    assert (scan.lot, scan.serial, scan.quantity) == (lot, serial, quantity)
    assert (scan.expiry, scan.expiry_precision) == (expiry, precision)
    if hour is None:
        assert scan.expiry_datetime is None
    else:
        assert scan.expiry_datetime == pendulum.datetime(
            expiry.year, expiry.month, expiry.day, hour, tz="UTC"
        )
    # The same data as a secondary symbol alone (with link character) parses the same.
    link = hibc_check_character("+A99912345")
    alone = parse(label(f"+{secondary}{link}"))
    if secondary[0] in "$0123456789":
        assert alone.carrier is Carrier.HIBC_SECONDARY
        assert alone.di is None
        assert alone.hibc_link == link
        assert (alone.lot, alone.serial, alone.expiry, alone.quantity) == (
            lot,
            serial,
            expiry,
            quantity,
        )


def test_idautomation_example():
    # IDAutomation's HIBC example data, with the check character its generators append.
    text = "+A123BJC5D6E71/$$52001510X3" + hibc_check_character("+A123BJC5D6E71/$$52001510X3")
    scan = parse(text)
    assert (scan.di, scan.lot, scan.expiry) == ("A123BJC5D6E71", "10X3", pendulum.date(2020, 1, 15))


def test_production_date_and_month_expiry_from_hibc_example():
    # The example of the HIBC standard's supplemental data (and of the `hibc` package).
    scan = parse("+A99912345/$$52001510X3/16D20111212/S77DE1G45-")
    assert scan.di == "A99912345"
    assert scan.lot == "10X3"
    assert scan.serial == "77DE1G45"
    assert scan.expiry == pendulum.date(2020, 1, 15)
    assert scan.production_date == pendulum.date(2011, 12, 12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Public examples from BarcodeParserBuilder's HIBC test fixture (MIT licence).
        ("+J123AQ3451/25330BC34567/S4012X", ("J123AQ3451", "BC34567", "4012", (2025, 11, 26))),
        ("+J123AQ3451/$$1125BC34567/S4012L", ("J123AQ3451", "BC34567", "4012", (2025, 11, 30))),
        ("+J123AQ3451/$$0125BC34567/S4012K", ("J123AQ3451", "BC34567", "4012", (2025, 1, 31))),
        ("+J123AQ3451/$$3231231BC34567/S4012R", ("J123AQ3451", "BC34567", "4012", (2023, 12, 31))),
        (
            "+A99912345/$$52025010X3/16D20111212/S77DEFG458",
            ("A99912345", "10X3", "77DEFG45", (2020, 9, 6)),
        ),
        (
            "+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202$",
            ("A123ABCDEFGHI1234567891", "LOT123456789012345", "XYZ456789012345678", (2020, 2, 2)),
        ),
    ],
)
def test_public_concatenated_examples(text, expected):
    di, lot, serial, (year, month, day) = expected
    scan = parse(text)
    assert (scan.di, scan.lot, scan.serial) == (di, lot, serial)
    assert scan.expiry == pendulum.date(year, month, day)


def test_hour_expiry_fills_expiry_datetime_in_utc():
    text = "+A123ABCDEFGHI1234567891/$$420020216LOT123456789012345/SXYZ456789012345678/16D20130202$"
    scan = parse(text)
    assert scan.expiry_datetime == pendulum.datetime(2020, 2, 2, 16, tz="UTC")
    assert scan.production_date == pendulum.date(2013, 2, 2)


# ----------------------------------------------------------------------------- two symbols


@pytest.mark.parametrize(
    ("text", "lot", "serial", "expiry"),
    [
        ("+A123BJC5D6E71G+$$52001510X3GD", "10X3", None, pendulum.date(2020, 1, 15)),
        ("+A123BJC5D6E71G+2001510X3GG", "10X3", None, pendulum.date(2020, 1, 15)),  # Julian
        ("+A123BJC5D6E71G+$$710X3G7", "10X3", None, None),
        ("+A123BJC5D6E71G+$$+52001510X3GB", None, "10X3", pendulum.date(2020, 1, 15)),
        ("+A123BJCMD6E79++$$52001510X3+ ", "10X3", None, pendulum.date(2020, 1, 15)),
    ],
)
def test_two_symbols_read_back_to_back(text, lot, serial, expiry):
    scan = parse(text)
    assert scan.carrier is Carrier.HIBC_CONCATENATED
    assert scan.di in {"A123BJC5D6E71", "A123BJCMD6E79"}
    assert (scan.lot, scan.serial, scan.expiry) == (lot, serial, expiry)


@pytest.mark.parametrize("check", ["/", "-", ".", " ", "$", "%"])
def test_back_to_back_with_punctuation_check_character(check):
    # Find a primary whose check character is ``check``, then append a linked secondary.
    primary = next(p for n in range(10_000) if hibc_check_character(p := f"+B777{n}0") == check)
    text = primary + check + label(f"+$$3300101LOTX{check}")
    scan = parse(text)
    assert scan.di == primary[1:]
    assert scan.lot == "LOTX"
    assert scan.hibc_link == check
    assert parse(primary + check).carrier is Carrier.HIBC_PRIMARY


def test_link_character_must_match_primary_check():
    with pytest.raises(InvalidBarcodeError, match="link character '\\+' does not match") as info:
        parse("+A123BJC5D6E71G+$$52001510X3+ ")
    assert info.value.offset == 28


def test_wrong_primary_check_in_back_to_back():
    with pytest.raises(InvalidBarcodeError, match="primary check character is '\\+'"):
        parse("+A123BJC5D6E71++$$52001510X3+D")


def test_wrong_secondary_check():
    with pytest.raises(InvalidBarcodeError, match="secondary check character is 'H'"):
        parse("+A123BJC5D6E71G+$$52001510X3GH")


def test_link_hibc_combines_separate_scans():
    primary = parse("+A123BJC5D6E71G")
    secondary = parse("+$$52001510X3GD")
    both = link_hibc(primary, secondary)
    assert both.carrier is Carrier.HIBC_CONCATENATED
    assert (both.di, both.lot, both.expiry) == ("A123BJC5D6E71", "10X3", pendulum.date(2020, 1, 15))
    assert both == parse("+A123BJC5D6E71G+$$52001510X3GD")
    other = parse(label("+B1231231"))
    with pytest.raises(InvalidBarcodeError, match="belong to different products"):
        link_hibc(other, secondary)
    with pytest.raises(InvalidBarcodeError, match="expected an HIBC primary then"):
        link_hibc(secondary, primary)


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("secondary", "message"),
    [
        ("$$1325LOT1", "has no month 13"),
        ("$$0025LOT1", "has no month 00"),
        ("$$2023125LOT1", "not a calendar date"),  # February 31st
        ("$$3250230LOT1", "not a calendar date"),
        ("$$3250100LOT1", "not a calendar date"),  # day 00 is not HIBC
        ("$$42512312400", "hour 24"),
        ("$$525366LOT1", "no day 366 in 2025"),
        ("$$525000LOT1", "no day 000"),
        ("$$62536524LOT1", "hour 24"),
        ("25366LOT1", "no day 366"),
        ("$$3", "needs 6 digits"),
        ("$$3AB1231LOT", "digits only"),
        ("$$", "expected a date format digit 0-9 after '\\$\\$'"),
        ("$$ALOT", "expected a date format digit 0-9, found 'A'"),
        ("$$8", "quantity format 8 needs 2 digits"),
        ("$$81", "quantity format 8 needs 2 digits"),
        ("$$91234", "quantity format 9 needs 5 digits"),
        ("$$8007LOT", "quantity is 0"),
        ("$$8128127LOT", "expected a date format digit 0-7, found '8'"),
        ("$$81210X3", "MMYY date '10X3' must be digits only"),
        ("$", "lot is empty"),
        ("$+", "serial is empty"),
        ("$$+3251231", "serial is empty"),
        ("$LOT%1", "'%' in the lot"),
        ("$LOT+1", "'\\+' in the lot"),
        ("$LOT$1", "'\\$' in the lot"),
        ("$1234567890123456789", "19 characters long; at most 18"),
        ("S", "serial is empty"),
        ("$LOT1/", "empty secondary data field"),
        ("$LOT1//S1", "empty secondary data field"),
        ("$LOT1/X12", "unknown supplemental data field starting 'X12'"),
        ("$LOT1/Q", "'/Q' takes a quantity of 1 to 8 digits"),
        ("$LOT1/Q123456789", "'/Q' takes a quantity of 1 to 8 digits"),
        ("$LOT1/Q12A", "'/Q' takes a quantity"),
        ("$LOT1/Q0", "quantity is 0"),
        ("$$8127LOT1/Q12", "a second quantity"),
        ("$LOT1/21S", "unknown supplemental data field"),
        ("X123", "secondary data must start with"),
        ("$LOT1/16D2011121", "needs 8 digits"),
        ("$LOT1/16D201112120", "exactly 8 digits"),
        ("$LOT1/16D20111232", "not a calendar date"),
        ("$LOT1/$LOT2", "second lot 'LOT2' conflicts with lot 'LOT1'"),
        ("$+S1/S2", "second serial '2' conflicts with serial 'S1'"),
        ("$$3251231LOT1/14D20251130", "second expiry 2025-11-30 conflicts"),
        ("$$8123251231/$$8123251231", "second quantity"),
    ],
)
def test_secondary_refusals(secondary, message):
    text = label(f"+A99912345/{secondary}")
    with pytest.raises(InvalidBarcodeError, match=message) as info:
        parse(text)
    assert info.value.offset is not None
    assert 11 <= info.value.offset < len(text)  # inside the secondary data


def test_secondary_symbol_refusals():
    with pytest.raises(InvalidBarcodeError, match="secondary symbol is too short"):
        parse("+$X")
    with pytest.raises(InvalidBarcodeError, match="cannot start with"):
        parse("+A123BJCMD6E79+" + label("++$$7LOT+"))


def test_lenient_accepts_lint_in_lots_with_warnings():
    text = label("+A99912345/$$3251231LOT-1 A.B/S12345678901234567890")
    with pytest.raises(InvalidBarcodeError, match="20 characters long"):
        parse(text)
    scan = parse(text, lenient=True)
    assert scan.lot == "LOT-1 A.B"
    assert scan.serial == "12345678901234567890"
    assert len(scan.warnings) == 1
    assert "12345678901234567890" in scan.warnings[0]
    # Check characters and dates stay strict in lenient mode.
    with pytest.raises(InvalidBarcodeError, match="check character"):
        parse(text[:-1] + ("A" if text[-1] != "A" else "B"), lenient=True)
    with pytest.raises(InvalidBarcodeError, match="'\\$' in the lot"):
        parse(label("+A99912345/$LOT$"), lenient=True)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("+A1231/$$3251231LOT1", "primary data is too short"),
        ("+A12312345678901234567890/$$3251231LOT1", "19 characters long"),
        ("+A99912345/$$3251331LOT1", "not a calendar date"),
        ("+A99912345/$$1325LOT1", "no month 13"),
        ("+A99912345/$$3251231LOT4567890123456789", "19 characters long"),
        ("+A99912345/$$+3251231SER1/SSER2", "second serial 'SER2' conflicts"),
        ("+A99912345/$$3251231LOT1/16D20251301", "not a calendar date"),
    ],
)
def test_common_forms_are_validated_like_every_other(body, message):
    with pytest.raises(InvalidBarcodeError, match=message):
        parse(label(body))
    with pytest.raises(InvalidBarcodeError):
        parse(body + ("A" if hibc_check_character(body) != "A" else "B"))


def test_date_cache_is_bounded():
    from medinv.barcodes import _hibc  # noqa: PLC0415  (private cache, for this test)

    _hibc._DATE_CACHE.update({("X", str(i)): "x" for i in range(_hibc._DATE_CACHE_LIMIT)})
    scan = parse(label("+A99912345/$$3991231LOT1"))
    assert scan.expiry == pendulum.date(2099, 12, 31)
    assert len(_hibc._DATE_CACHE) == 1


def test_a_space_check_character_is_data():
    text = "+A123BJCMD6E79++$$52001510X3+ "
    assert parse(text).lot == "10X3"
    with pytest.raises(InvalidBarcodeError, match="secondary check character"):
        parse(text.rstrip())


@pytest.mark.parametrize(
    ("text", "expiry"),
    [
        ("+$$52001510X3GD+A123BJC5D6E71G", pendulum.date(2020, 1, 15)),
        ("+2001510X3GG+A123BJC5D6E71G", pendulum.date(2020, 1, 15)),
        ("+$$710X3G7+A123BJC5D6E71G", None),
    ],
)
def test_secondary_read_before_its_primary(text, expiry):
    scan = parse(text, prefix="]C0")
    assert scan.carrier is Carrier.HIBC_CONCATENATED
    assert (scan.di, scan.lot, scan.expiry, scan.hibc_link) == (
        "A123BJC5D6E71",
        "10X3",
        expiry,
        "G",
    )
    assert scan.raw == "]C0" + text


def test_secondary_before_another_products_primary():
    with pytest.raises(InvalidBarcodeError, match="belong to different products") as info:
        parse("+$$52001510X3GD" + label("+B1231231"), prefix="]C0")
    assert info.value.offset == 16  # the secondary's link character, counted in the raw input


def test_secondary_followed_by_a_concatenated_label():
    secondary = label("+$$7LOT1" + hibc_check_character("+A123451"))
    with pytest.raises(InvalidBarcodeError, match="followed only by its primary"):
        parse(secondary + label("+A123451/$$7LOT2"))


def test_secondary_first_when_the_whole_text_happens_to_check():
    # Found by Hypothesis: the final check character also checks the whole text, so the
    # text first reads as one secondary symbol (and fails on its '+'); the split is tried.
    text = "+$$01000/S2259AHIIPQSSTU 0+A4KW67JN5 "
    assert hibc_check_character(text[:-1]) == text[-1]
    scan = parse(text)
    assert (scan.di, scan.lot, scan.serial) == ("A4KW67JN5", "0", "2259AHIIPQSSTU")
    assert scan.expiry == pendulum.date(2000, 1, 31)


# ----------------------------------------------------------------------------- issue 13


@pytest.mark.parametrize(
    ("lot", "serial"),
    [("LOT-1", None), ("A.B 7", None), ("10-X3.2", "S-1.2 3"), ("-.- ", None)],
)
def test_lot_and_serial_take_the_code_39_data_characters(lot, serial):
    # ANSI/HIBC 2.6: lot and serial are Code 39 data; "-", "." and space are allowed
    # (only "$", "/", "+" and "%" have a structural meaning in HIBC data).
    text = label(f"+A99912345/$$3251231{lot}" + (f"/S{serial}" if serial else ""))
    scan = parse(text)
    assert (scan.lot, scan.serial, scan.warnings) == (lot, serial, ())


@pytest.mark.parametrize(
    ("secondary", "quantity"),
    [("$$805", 5), ("$$900100", 100), ("$$8247", 24), ("$$3251231/Q12", 12)],
)
def test_secondary_with_a_quantity_and_no_lot(secondary, quantity):
    concatenated = parse(label(f"+A99912345/{secondary}"))
    assert (concatenated.quantity, concatenated.lot) == (quantity, None)
    alone = parse(label(f"+{secondary}L"))
    assert (alone.carrier, alone.quantity, alone.lot) == (Carrier.HIBC_SECONDARY, quantity, None)


@pytest.mark.parametrize(
    ("body", "kind", "data"),
    [
        ("+/CP123456789", "C", "P123456789"),  # patient identification
        ("+/N000ASSET-42", "N", "000ASSET-42"),  # asset identification
        ("+/DSPEC 12.3", "D", "SPEC 12.3"),  # specimen identification
    ],
)
def test_provider_applications_standard_labels_are_their_own_kind(body, kind, data):
    text = label(body)
    scan = parse(text)
    assert scan.agency is Agency.HIBCC
    assert scan.carrier is Carrier.HIBC_PROVIDER
    assert (scan.hibc_provider_type, scan.hibc_provider_data) == (kind, data)
    assert (scan.di, scan.gtin, scan.lot) == (None, None, None)
    routed = parse_scan("]C0" + text)
    assert (routed.carrier, routed.symbology_identifier) == (Carrier.HIBC_PROVIDER, "]C0")
