"""HIBC and MA code properties (issue 3): generated labels round-trip; only InvalidBarcodeError escapes.

Heavy fuzzing (millions of inputs) runs in ``scripts/fuzz_hibc.py``, not here.
"""

from __future__ import annotations

import datetime as dt
import string

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medinv.barcodes import Carrier, Scan, hibc_check_character, parse_hibc, parse_ma
from medinv.dates import DatePrecision, last_day_of_month
from medinv.errors import InvalidBarcodeError

ALNUM = string.digits + string.ascii_uppercase
HIBC = ALNUM + "-. $/+%"
FORMS = ("primary", "concatenated", "back to back", "secondary")
DATE_FORMATS = ("MMYY", "MMDDYY", "YYMMDD", "YYMMDDHH", "YYJJJ", "YYJJJHH", "14D", None)


@attrs.frozen
class Label:
    """A generated HIBC label: its text and the fields it encodes."""

    text: str
    form: str
    di: str
    lot: str | None
    serial: str | None
    expiry: pendulum.Date | None
    precision: DatePrecision | None
    hour: int | None
    quantity: int | None
    production: pendulum.Date | None


def _date_field(fmt: str | None, day: dt.date, hour: int) -> str:
    yy, julian = day.year % 100, day.timetuple().tm_yday
    return {
        "MMYY": f"{day.month:02d}{yy:02d}",
        "MMDDYY": f"2{day.month:02d}{day.day:02d}{yy:02d}",
        "YYMMDD": f"3{yy:02d}{day.month:02d}{day.day:02d}",
        "YYMMDDHH": f"4{yy:02d}{day.month:02d}{day.day:02d}{hour:02d}",
        "YYJJJ": f"5{yy:02d}{julian:03d}",
        "YYJJJHH": f"6{yy:02d}{julian:03d}{hour:02d}",
    }.get(fmt or "", "7")


@st.composite
def labels(draw: st.DrawFn) -> Label:
    """Valid HIBC labels built from parts, with correct check and link characters."""
    text = st.text(ALNUM, min_size=1, max_size=18)
    lic = draw(st.sampled_from(string.ascii_uppercase)) + draw(
        st.text(ALNUM, min_size=3, max_size=3)
    )
    product, unit = draw(text), draw(st.sampled_from(string.digits))
    form = draw(st.sampled_from(FORMS))
    lot, serial = draw(st.none() | text), draw(st.none() | text)
    fmt = draw(st.sampled_from(DATE_FORMATS))
    day = draw(st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31)))
    hour = draw(st.integers(0, 23))
    quantity = draw(st.none() | st.integers(1, 99_999))
    production = draw(st.none() | st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31)))
    if lot is None and serial is None:
        lot = draw(text)
    qty = "" if quantity is None else (f"8{quantity:02d}" if quantity < 100 else f"9{quantity:05d}")
    dates = _date_field(fmt, day, hour)
    if lot is not None:
        secondary = f"$${qty}{dates}{lot}" + ("" if serial is None else f"/S{serial}")
    else:
        secondary = f"$$+{qty}{dates}{serial}"
    if fmt == "14D":
        secondary += f"/14D{day:%Y%m%d}"
    if production is not None:
        secondary += f"/16D{production:%Y%m%d}"
    primary = f"+{lic}{product}{unit}"
    link = hibc_check_character(primary)
    symbol = f"+{secondary}{link}"
    symbol += hibc_check_character(symbol)
    if form == "primary":
        label = primary + link
    elif form == "concatenated":
        body = f"{primary}/{secondary}"
        label = body + hibc_check_character(body)
    elif form == "back to back":
        label = primary + link + symbol
    else:
        label = symbol
    expiry: pendulum.Date | None = None
    precision = None
    if fmt == "MMYY":
        expiry, precision = last_day_of_month(day.year, day.month), DatePrecision.MONTH
    elif fmt is not None:
        expiry, precision = pendulum.date(day.year, day.month, day.day), DatePrecision.DAY
    has_secondary = form != "primary"
    return Label(
        text=label,
        form=form,
        di=primary[1:],
        lot=lot if has_secondary else None,
        serial=serial if has_secondary else None,
        expiry=expiry if has_secondary else None,
        precision=precision if has_secondary else None,
        hour=hour if has_secondary and fmt in {"YYMMDDHH", "YYJJJHH"} else None,
        quantity=quantity if has_secondary else None,
        production=(
            pendulum.date(production.year, production.month, production.day)
            if has_secondary and production is not None
            else None
        ),
    )


CARRIERS = {
    "primary": Carrier.HIBC_PRIMARY,
    "concatenated": Carrier.HIBC_CONCATENATED,
    "back to back": Carrier.HIBC_CONCATENATED,
    "secondary": Carrier.HIBC_SECONDARY,
}


def _parse(text: str) -> Scan:
    return parse_hibc(text, raw="]d1" + text)


@settings(max_examples=200)
@given(labels())
def test_generated_labels_round_trip(label):
    scan = _parse(label.text)
    assert scan.carrier is CARRIERS[label.form]
    assert scan.di == (None if label.form == "secondary" else label.di)
    assert (scan.lot, scan.serial, scan.quantity) == (label.lot, label.serial, label.quantity)
    assert (scan.expiry, scan.expiry_precision) == (label.expiry, label.precision)
    assert scan.production_date == label.production
    if label.hour is None:
        assert scan.expiry_datetime is None
    else:
        assert label.expiry is not None
        assert scan.expiry_datetime == pendulum.datetime(
            label.expiry.year, label.expiry.month, label.expiry.day, label.hour, tz="UTC"
        )
    assert scan.raw == "]d1" + label.text
    assert scan.hibc_link == hibc_check_character("+" + label.di)
    assert scan.warnings == ()


@settings(max_examples=120)
@given(labels().filter(lambda label: label.form in {"primary", "concatenated"}), st.data())
def test_every_single_substitution_is_caught(label, data):
    """Mod 43 catches any one changed character (letters and digits keep the structure)."""
    text = label.text
    positions = [i for i, char in enumerate(text) if char in ALNUM or i == len(text) - 1]
    position = data.draw(st.sampled_from(positions), label="position")
    replacement = data.draw(st.sampled_from([c for c in ALNUM if c != text[position]]))
    with pytest.raises(InvalidBarcodeError):
        _parse(text[:position] + replacement + text[position + 1 :])


def _only_invalid_barcode_error(parser, text: str) -> None:
    error: InvalidBarcodeError | None = None
    try:
        parser(text, raw=text)
    except InvalidBarcodeError as raised:
        error = raised
    if error is not None:
        assert error.offset is not None
        assert 0 <= error.offset <= len(text)
        assert error.text == text


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_arbitrary_text_only_raises_invalid_barcode_error(text):
    _only_invalid_barcode_error(parse_hibc, "+" + text)
    _only_invalid_barcode_error(parse_hibc, text)
    _only_invalid_barcode_error(parse_ma, "MA." + text)
    _only_invalid_barcode_error(parse_ma, text)


@settings(max_examples=300)
@given(st.text(HIBC, max_size=50))
def test_hibc_alphabet_fuzz(text):
    _only_invalid_barcode_error(parse_hibc, "+" + text)
    _only_invalid_barcode_error(parse_hibc, "+$$" + text)
    _only_invalid_barcode_error(parse_hibc, "+A99912345/" + text)


@settings(max_examples=150)
@given(labels(), st.data())
def test_mutated_labels_only_raise_invalid_barcode_error(label, data):
    text = label.text
    position = data.draw(st.integers(0, len(text)), label="position")
    char = data.draw(st.sampled_from(HIBC + "a\x1d\u00e9"), label="char")
    for mutated in (
        text[:position] + char + text[position:],
        text[:position] + text[position + 1 :],
        text[:position] + char + text[position + 1 :],
        text[:position],
    ):
        _only_invalid_barcode_error(parse_hibc, mutated)


@settings(max_examples=200)
@given(
    st.lists(st.sampled_from(["L", "S", "M", "D", "E", "V", "C", "P", "X", ""]), max_size=8),
    st.lists(
        st.text(string.ascii_letters + string.digits + "-./", max_size=10), min_size=8, max_size=8
    ),
    st.booleans(),
)
def test_ma_unit_fuzz(keys, values, lenient):
    text = "MA.156.M0.100350.01004YA10017" + "".join(
        f".{key}{value}" for key, value in zip(keys, values, strict=False)
    )
    try:
        scan = parse_ma(text, raw=text, lenient=lenient)
    except InvalidBarcodeError:
        return
    assert scan.di == "MA.156.M0.100350.01004YA10017"
    if scan.expiry is not None:
        assert scan.valid_until is None or scan.expiry <= scan.valid_until


@settings(max_examples=200)
@given(labels())
def test_fast_path_agrees_with_the_general_parser(label):
    from medinv.barcodes._hibc import _parse_general  # noqa: PLC0415  (private, for this test)

    assert _parse("+" + label.text[1:]) == _parse_general(
        label.text, "]d1" + label.text, lenient=False
    )
