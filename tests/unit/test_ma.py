"""MA code (IDcode, China NMPA UDI) parser (issue 3): public examples and refusals."""

from __future__ import annotations

import pendulum
import pytest

from medinv.barcodes import Agency, Carrier, parse_ma
from medinv.dates import DatePrecision
from medinv.errors import InvalidBarcodeError

# A code printed by a registrant's labelling client (public source, 2021).
PRINTED = "MA.156.M0.100350.01004YA10017.SLMSAGAAAC.M210628.LAY21062803.E220628.V220627.C3"


def parse(text: str, *, lenient: bool = False, prefix: str = ""):
    return parse_ma(text, raw=prefix + text, lenient=lenient)


def test_printed_example():
    scan = parse(PRINTED, prefix="]Q1")
    assert scan.agency is Agency.MA
    assert scan.carrier is Carrier.MA_CODE
    assert scan.di == "MA.156.M0.100350.01004YA10017"
    assert scan.serial == "LMSAGAAAC"
    assert scan.production_date == pendulum.date(2021, 6, 28)
    assert scan.lot == "AY21062803"
    assert scan.valid_until == pendulum.date(2022, 6, 27)
    # Expiry 2022-06-28 and valid until 2022-06-27: the earlier date binds.
    assert scan.expiry == pendulum.date(2022, 6, 27)
    assert scan.expiry_precision is DatePrecision.DAY
    assert scan.raw == "]Q1" + PRINTED
    assert scan.gtin is None
    assert scan.warnings == ()


def test_device_identifier_alone():
    scan = parse("MA.156.M0.100472.11103316")
    assert scan.di == "MA.156.M0.100472.11103316"
    assert (scan.lot, scan.serial, scan.expiry, scan.expiry_precision) == (None,) * 4


def test_every_unit_and_eight_digit_dates():
    scan = parse(
        "MA.156.M0.100011.2cscp023.Ste002.M20200206.L343432.D555555.E20200228.V20200307.C9"
    )
    assert scan.di == "MA.156.M0.100011.2cscp023"
    assert scan.serial == "te002"
    assert scan.production_date == pendulum.date(2020, 2, 6)
    assert scan.lot == "343432"
    assert scan.sterilisation_lot == "555555"
    assert scan.expiry == pendulum.date(2020, 2, 28)
    assert scan.valid_until == pendulum.date(2020, 3, 7)


def test_units_in_any_order_and_only_v():
    scan = parse("MA.156.M0.100761.21234561.V220117.L20220117.Sx00008")
    assert scan.expiry == scan.valid_until == pendulum.date(2022, 1, 17)
    assert (scan.lot, scan.serial) == ("20220117", "x00008")


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ("MB.156.M0.100350.01004", 0, "starts with 'MA.'"),
        ("", 0, "starts with 'MA.'"),
        ("MA.156.M0.100350", 16, "found only 4 of its 5 parts"),
        ("MA.15.M0.100350.01004", 3, "country code must be 3 digits"),
        ("MA.840.M0.100350.01004", 3, "NMPA UDI codes use 156"),
        ("MA.156.M.100350.01004", 7, "industry code must be 2 characters"),
        ("MA.156.F0.100350.01004", 7, "medical-device UDI codes use M0"),
        ("MA.156.M0.10035.01004", 10, "registrant code must be 6 digits"),
        ("MA.156.M0.100350.A1004", 17, "product code must be a packaging digit"),
        ("MA.156.M0.100350.0", 17, "product code"),
        ("MA.156.M0.100350.01004.", 23, "empty production-identifier unit"),
        ("MA.156.M0.100350.01004..L1", 23, "empty production-identifier unit"),
        ("MA.156.M0.100350.01004.X12", 23, "unknown production-identifier unit '.X'"),
        ("MA.156.M0.100350.01004.L1.L2", 26, "lot unit '.L' appears twice"),
        ("MA.156.M0.100350.01004.C3.L1", 23, "'.C' must be the last unit"),
        ("MA.156.M0.100350.01004.C33", 24, "takes one letter or digit"),
        ("MA.156.M0.100350.01004.L", 24, "lot is empty"),
        ("MA.156.M0.100350.01004.LAB-1", 26, "'-' in the lot"),
        ("MA.156.M0.100350.01004.S" + "9" * 21, 24, "21 characters long; at most 20"),
        ("MA.156.M0.100350.01004.E2206", 24, "6 digits YYMMDD or 8 digits YYYYMMDD"),
        ("MA.156.M0.100350.01004.E220231", 24, "not a calendar date"),
        ("MA.156.M0.100350.01004.M2022063", 24, "6 digits YYMMDD"),
        ("MA.156.M0.100350.01004.V20221301", 24, "not a calendar date"),
        ("MA.156.M0.100350.01004.P210628", 23, "pre-2020 production-date unit"),
        ("MA.156.M0.100350.01004.D\u00e9", 24, "in the sterilisation lot"),
    ],
)
def test_refusals(text, offset, message):
    with pytest.raises(InvalidBarcodeError, match=message) as info:
        parse(text)
    assert info.value.offset == offset
    assert info.value.text == text


def test_offsets_count_in_the_raw_input():
    with pytest.raises(InvalidBarcodeError) as info:
        parse("MA.156.M0.10035.01004", prefix="]Q1")
    assert info.value.offset == 13


def test_lenient_accepts_lint_with_warnings():
    text = "MA.840.F0.100472.11103316.S1576130942.P190101.LABS-2019/12.E191201.C7"
    with pytest.raises(InvalidBarcodeError):
        parse(text)
    scan = parse(text, lenient=True)
    assert scan.production_date == pendulum.date(2019, 1, 1)
    assert scan.lot == "ABS-2019/12"
    assert scan.expiry == pendulum.date(2019, 12, 1)
    assert len(scan.warnings) == 4
    assert any("'.P'" in w for w in scan.warnings)
    with pytest.raises(InvalidBarcodeError, match="characters long"):
        parse("MA.156.M0.100472.11103316.L" + "A" * 21, lenient=True)
