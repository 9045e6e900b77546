from __future__ import annotations

import pytest

from medinv.errors import InvalidGtinError, InvalidIdentifierError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial, gs1_check_digit


@pytest.mark.parametrize(
    ("text", "gtin14"),
    [
        ("96385074", "00000096385074"),  # GTIN-8 (GS1 General Specifications example)
        ("614141000036", "00614141000036"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13
        ("10614141000415", "10614141000415"),  # GTIN-14 with packaging indicator 1
    ],
)
def test_gtin_lengths_normalise_to_gtin14(text, gtin14):
    assert Gtin(text).value == gtin14
    assert Gtin(gtin14) == Gtin(text)
    assert str(Gtin(text)) == gtin14


def test_gtin_packaging_indicator_and_forms():
    case = Gtin("10614141000415")
    assert case.packaging_indicator == 1
    assert case.as_gtin13() is None
    assert case.check_digit == 5
    each = Gtin("4006381333931")
    assert each.packaging_indicator == 0
    assert each.as_gtin13() == "4006381333931"
    assert case != Gtin("00614141000418")  # a box and its each are different products


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("4006381333932", "check digit should be 1, not 2"),
        ("40063813339", "must have 8, 12, 13 or 14 digits, not 11"),
        ("40063813339A1", "non-digit 'A' at offset 11"),
        ("", "not 0"),
    ],
)
def test_gtin_refusals_say_what_and_where(text, fragment):
    with pytest.raises(InvalidGtinError, match=fragment) as info:
        Gtin(text)
    assert info.value.value == text
    assert isinstance(info.value, ValueError)


def test_gtin_refuses_non_text():
    with pytest.raises(InvalidGtinError, match="expected a string of digits, got int"):
        Gtin(4006381333931)


def test_gtin_parse_strips_blanks_and_is_idempotent():
    gtin = Gtin.parse("  4006381333931\n")
    assert Gtin(gtin) == gtin


def test_check_digit_known_values():
    assert gs1_check_digit("400638133393") == 1
    assert gs1_check_digit("1061414100041") == 5
    assert gs1_check_digit("9638507") == 4


def test_lot_and_serial_are_verbatim_and_case_sensitive():
    assert Lot("ab 1").value != "AB 1"
    assert Lot("a") != Lot("A")
    assert Serial("0001").value == "0001"
    assert str(Lot("L/1")) == "L/1"


@pytest.mark.parametrize(
    ("text", "fragment", "offset"),
    [
        ("", "1 to 20 characters long, not 0", None),
        ("x" * 21, "not 21", None),
        ("AB#1", "'#' is not in GS1 character set 82", 2),
        ("é", "'é'", 0),
        ("A\tB", "'\\\\t'", 1),
    ],
)
def test_lot_refusals(text, fragment, offset):
    with pytest.raises(InvalidIdentifierError, match=fragment) as info:
        Lot(text)
    assert info.value.kind == "lot"
    assert info.value.offset == offset


def test_serial_refusal_names_serial():
    with pytest.raises(InvalidIdentifierError, match="invalid serial"):
        Serial("")
    with pytest.raises(InvalidIdentifierError, match="expected a string, got int"):
        Serial(12)  # type: ignore[arg-type]


def test_item_key_converts_and_orders():
    plain = ItemKey("4006381333931")
    lot = ItemKey("4006381333931", lot="A")
    serial = ItemKey("4006381333931", lot="A", serial="1")
    assert plain.lot is None and plain.serial is None and not plain.is_serialised
    assert serial.is_serialised
    assert sorted([serial, lot, plain], key=ItemKey.sort_key) == [plain, lot, serial]
    assert str(serial) == "(01)04006381333931(10)A(21)1"
    assert ItemKey(Gtin("4006381333931"), lot=Lot("A")) == lot
    assert hash(ItemKey("04006381333931", lot="A")) == hash(lot)
