"""Device identifiers across agencies: validation, canonical text, round trips, scans."""

from __future__ import annotations

import datetime as dt
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean

from medinv import devices
from medinv.barcodes import hibc_check_character, parse_scan
from medinv.devices import DeviceIdentifier, InvalidDeviceIdentifierError, IssuingAgency
from medinv.errors import InvalidValueError
from medinv.identifiers import gs1_check_digit

UPPER_ALNUM = string.ascii_uppercase + string.digits


@st.composite
def gtins(draw):
    body = draw(st.text("0123456789", min_size=13, max_size=13))
    return body + str(gs1_check_digit(body))


@st.composite
def hibc_dis(draw):
    lic = draw(st.sampled_from(string.ascii_uppercase)) + draw(
        st.text(UPPER_ALNUM, min_size=3, max_size=3)
    )
    product = draw(st.text(UPPER_ALNUM, min_size=1, max_size=18))
    return lic + product + draw(st.sampled_from(string.digits))


@st.composite
def ma_dis(draw):
    registrant = draw(st.text(string.digits, min_size=6, max_size=6))
    product = draw(st.sampled_from(string.digits)) + draw(
        st.text(string.ascii_letters + string.digits, min_size=1, max_size=19)
    )
    return f"MA.156.M0.{registrant}.{product}"


def device_identifiers() -> st.SearchStrategy[DeviceIdentifier]:
    return st.one_of(
        gtins().map(DeviceIdentifier.gs1),
        hibc_dis().map(lambda text: DeviceIdentifier.of("HIBCC", text)),
        ma_dis().map(lambda text: DeviceIdentifier.of("MA", text)),
    )


# --------------------------------------------------------------------------- round trips


@given(device_identifiers())
def test_text_form_round_trips(di):
    assert DeviceIdentifier.parse(str(di)) == di
    assert DeviceIdentifier.parse(di.value) == di  # the agency is told by the shape
    assert DeviceIdentifier.of(di.agency, di.value) == di
    assert hash(DeviceIdentifier.parse(str(di))) == hash(di)
    assert str(di) == f"{di.agency.value}:{di.value}"


@given(gtins())
def test_gs1_scan_gives_the_same_identifier(gtin):
    scan = parse_scan(f"(01){gtin}", as_of=dt.date(2026, 1, 1))
    assert DeviceIdentifier.from_scan(scan) == DeviceIdentifier.gs1(gtin)
    assert DeviceIdentifier.from_scan(scan).gtin == gtin


@given(hibc_dis())
def test_hibc_scan_gives_the_same_identifier(text):
    data = "+" + text
    scan = parse_scan(data + hibc_check_character(data))
    di = DeviceIdentifier.from_scan(scan)
    assert di == DeviceIdentifier.of(IssuingAgency.HIBCC, text)
    assert di.lic == text[:4]
    assert di.product_code == text[4:-1]
    assert di.packaging_level == int(text[-1])
    assert f"{di.lic}{di.product_code}{text[-1]}" == di.value


@given(ma_dis())
def test_ma_scan_gives_the_same_identifier(text):
    scan = parse_scan(text + ".L1234")
    di = DeviceIdentifier.from_scan(scan)
    assert di == DeviceIdentifier.of(IssuingAgency.MA, text)
    assert di.registrant == text.split(".")[3]
    assert di.product_code == text.split(".")[4]


@given(device_identifiers(), device_identifiers())
def test_equality_is_agency_and_value(a, b):
    assert (a == b) == (a.agency is b.agency and a.value == b.value)
    assert (a == b) == (a.sort_key() == b.sort_key())


@given(st.text(max_size=80))
def test_any_text_is_an_identifier_or_a_medinv_error(text):
    try:
        di = DeviceIdentifier.parse(text)
    except InvalidDeviceIdentifierError as e:
        error: InvalidValueError = e
        message = str(error)
    else:
        assert DeviceIdentifier.parse(str(di)) == di
        return
    assert message.startswith("invalid ")


# --------------------------------------------------------------------------- GS1


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("96385074", "00000096385074"),
        ("036000291452", "00036000291452"),
        ("4006381333931", "04006381333931"),
        ("10614141000415", "10614141000415"),
        (" GS1:4006381333931 ", "04006381333931"),
    ],
)
def test_gtins_are_normalised_to_14_digits(text, value):
    di = DeviceIdentifier.parse(text)
    assert di.agency is IssuingAgency.GS1
    assert di.value == value
    assert di.gtin == value


def test_gs1_packaging_level_is_the_indicator_digit():
    assert DeviceIdentifier.parse("10614141000415").packaging_level == 1
    assert DeviceIdentifier.parse("00614141000418").packaging_level == 0


GS1, HIBCC, MA = IssuingAgency.GS1, IssuingAgency.HIBCC, IssuingAgency.MA


@pytest.mark.parametrize(
    ("text", "agency", "reason", "offset"),
    [
        ("4006381333932", GS1, "the check digit should be 1, not 2", None),
        ("400638133393", GS1, "the check digit should be", None),
        ("40063813339", GS1, "8, 12, 13 or 14 digits, not 11", None),
        ("GS1:400638133393100", GS1, "8, 12, 13 or 14 digits, not 15", None),
        ("GS1:400638133393A", GS1, "digits only", 12),
        ("HIBCC:1123ABC1", HIBCC, "labeler code .* must be a letter", 0),
        ("HIBCC:+A123BJC5D6E71", HIBCC, "flag character '\\+' is part of the barcode", 0),
        ("HIBCC:A12", HIBCC, "6 to 23 characters, not 3", None),
        ("HIBCC:A123" + "X" * 19 + "1", HIBCC, "6 to 23 characters, not 24", None),
        ("A123bjc1", HIBCC, "upper-case letters and digits only", 4),
        ("A123BJC-1", HIBCC, "upper-case letters and digits only", 7),
        ("A123BJCX", HIBCC, "unit-of-measure indicator .* must be a digit", 7),
        ("MA.156.M0.100350", MA, "has the 5 parts", None),
        ("MA.156.M0.100350.01004YA10017.L123", MA, "has the 5 parts", None),
        ("MA:XX.156.M0.100350.01004", MA, "has the 5 parts", None),
        ("MA.15.M0.100350.01004", MA, "country code must be 3 digits", 3),
        ("MA.156.m0.100350.01004", MA, "industry code", 7),
        ("MA.156.M0.10035.01004", MA, "registrant code must be 6 digits", 10),
        ("MA.156.M0.100350.X1004", MA, "product code must be a packaging digit", 17),
    ],
)
def test_agency_rules(text, agency, reason, offset):
    with pytest.raises(InvalidDeviceIdentifierError, match=reason) as info:
        DeviceIdentifier.parse(text)
    assert info.value.agency is agency
    assert info.value.offset == offset


def test_a_non_digit_is_located():
    with pytest.raises(InvalidDeviceIdentifierError) as info:
        DeviceIdentifier.of("GS1", "40063813x3931")
    assert info.value.offset == 8


# --------------------------------------------------------------------------- HIBC


def test_hibc_parts():
    di = DeviceIdentifier.hibc("A123", "BJC5D6E7", 1)
    assert str(di) == "HIBCC:A123BJC5D6E71"
    assert (di.lic, di.product_code, di.packaging_level, di.gtin) == ("A123", "BJC5D6E7", 1, None)
    assert di.registrant is None


@pytest.mark.parametrize(
    ("lic", "product", "unit", "reason"),
    [
        ("A12", "X", 1, "4 characters"),
        ("A123", "", 1, "1 to 18"),
        ("A123", "X", 10, "digit 0-9"),
        ("A123", "X", True, "digit 0-9"),
        ("A123", "X", "1", "digit 0-9"),
    ],
)
def test_hibc_constructor_refuses_bad_parts(lic, product, unit, reason):
    with pytest.raises(InvalidDeviceIdentifierError, match=reason):
        DeviceIdentifier.hibc(lic, product, unit)


# --------------------------------------------------------------------------- MA


def test_ma_parts():
    di = DeviceIdentifier.parse("MA.156.M0.100350.01004YA10017")
    assert di.agency is IssuingAgency.MA
    assert (di.registrant, di.product_code, di.packaging_level) == ("100350", "01004YA10017", 0)
    assert di.lic is None
    assert di.gtin is None


# --------------------------------------------------------------------------- agencies and input


def test_identifiers_of_different_agencies_never_compare_equal():
    gs1 = DeviceIdentifier.parse("04006381333931")
    assert gs1 != DeviceIdentifier.parse("HIBCC:A123BJC5D6E71")
    assert len({gs1, DeviceIdentifier.parse("GS1:4006381333931")}) == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ICCBBA:A9999", "unknown issuing agency 'ICCBBA'"),
        ("gs1:04006381333931", "unknown issuing agency 'gs1'"),
        ("+A123BJC5D6E71", "cannot tell the issuing agency"),
        ("a123BJC5D6E71", "cannot tell the issuing agency"),
        ("9" * 65, "longer than 64"),
    ],
)
def test_unreadable_text_is_refused(text, reason):
    with pytest.raises(InvalidDeviceIdentifierError, match=reason):
        DeviceIdentifier.parse(text)


@pytest.mark.parametrize("value", [None, 4006381333931, b"04006381333931"])
def test_non_text_is_refused(value):
    with pytest.raises(InvalidDeviceIdentifierError, match="expected text"):
        DeviceIdentifier.parse(value)
    with pytest.raises(InvalidDeviceIdentifierError, match="expected text"):
        DeviceIdentifier.of("GS1", value)
    with pytest.raises(InvalidDeviceIdentifierError, match="expected text"):
        DeviceIdentifier(IssuingAgency.GS1, value)


def test_constructor_takes_the_canonical_form_only():
    with pytest.raises(InvalidDeviceIdentifierError, match="not in canonical form"):
        DeviceIdentifier(IssuingAgency.GS1, "4006381333931")
    with pytest.raises(InvalidDeviceIdentifierError, match="must be an IssuingAgency"):
        DeviceIdentifier("GS1", "04006381333931")  # type: ignore[arg-type]
    assert DeviceIdentifier(IssuingAgency.GS1, "04006381333931").value == "04006381333931"


def test_a_scan_without_a_device_is_refused():
    sscc = parse_scan("(00)106141411234567897")
    with pytest.raises(InvalidDeviceIdentifierError, match="names no device identifier"):
        DeviceIdentifier.from_scan(sscc)


def test_the_remembered_forms_do_not_grow_without_bound():
    devices._SEEN.clear()
    for number in range(devices._SEEN_LIMIT + 10):
        body = f"{number:013d}"
        DeviceIdentifier.gs1(body + str(gs1_check_digit(body)))
    assert len(devices._SEEN) <= devices._SEEN_LIMIT


@given(device_identifiers())
def test_named_constructors_build_what_the_constructor_builds(di):
    built = DeviceIdentifier(di.agency, di.value)
    assert built == di
    assert hash(built) == hash(di)
    assert repr(built) == repr(di)
    assert DeviceIdentifier.of(di.agency, di.value) is DeviceIdentifier.of(di.agency, di.value)
    assert di != di.value
    assert (di == di.value) is False


@given(
    st.sampled_from((8, 12, 13, 14)).flatmap(
        lambda n: st.text(alphabet=string.digits, min_size=n, max_size=n)
    )
)
def test_gs1_check_digit_agrees_with_python_stdnum(text):
    """The inline mod-10 accepts exactly the GTINs python-stdnum's EAN check accepts."""
    if ean.is_valid(text):
        assert DeviceIdentifier.of(IssuingAgency.GS1, text).value == text.rjust(14, "0")
    else:
        with pytest.raises(InvalidDeviceIdentifierError):
            DeviceIdentifier.of(IssuingAgency.GS1, text)
