"""Item keys of every agency: construction, the GTIN of a non-GS1 key, text, order, equality."""

from __future__ import annotations

import pickle

import attrs
import pytest

from medinv.allocation import AllocationRequest
from medinv.barcodes import parse_scan
from medinv.chain import MovementDecoder, movement_content, movement_fields
from medinv.devices import DeviceIdentifier, InvalidDeviceIdentifierError, IssuingAgency
from medinv.errors import InvalidGtinError, InvalidQuantityError, InvalidValueError
from medinv.identifiers import (
    Gtin,
    ItemKey,
    Lot,
    NotGs1Error,
    device_from_text,
    device_of,
    device_text,
)
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery, PositionQuery
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
from medinv.stocktake import StocktakeScope, TolerancePolicy

GTIN = "04006381333931"
HIBC = "HIBCC:A123BJC5D6E71"
MA = "MA:MA.156.M0.100350.01004YA10017"


def test_gs1_keys_are_built_as_before_and_mean_the_same_device():
    by_text = ItemKey(GTIN, lot="L1")
    assert by_text == ItemKey(Gtin(GTIN), "L1") == ItemKey(gtin=GTIN, lot="L1")
    assert by_text == ItemKey("4006381333931", lot=Lot("L1")) == ItemKey(f"GS1:{GTIN}", "L1")
    assert by_text == ItemKey(DeviceIdentifier.parse(GTIN), "L1")
    assert by_text.device.agency is IssuingAgency.GS1
    assert by_text.gtin == Gtin(GTIN)
    assert by_text.device_text == GTIN
    assert str(by_text) == f"(01){GTIN}(10)L1"


def test_hibc_and_ma_keys_from_a_device_identifier_or_its_text():
    hibc = ItemKey(DeviceIdentifier.parse(HIBC), lot="L1", serial="S 1")
    assert hibc == ItemKey(HIBC, "L1", "S 1")
    assert hibc.device.lic == "A123"
    assert str(hibc) == "HIBCC:A123BJC5D6E71 [lot L1] [serial S 1]"
    assert hibc.device_text == HIBC
    ma = ItemKey(MA)
    assert ma.device.agency is IssuingAgency.MA and str(ma) == MA
    assert ma.device_text == MA


def test_a_bare_hibc_text_is_refused_as_a_gtin():
    """Bare text is a GTIN: a GTIN mistyped with a letter never becomes an HIBC key."""
    with pytest.raises(InvalidGtinError):
        ItemKey("O4006381333931")  # letter O: a valid HIBC DI in shape
    with pytest.raises(InvalidDeviceIdentifierError, match="HIBCC"):
        ItemKey("HIBCC:a123BJC5D6E71")
    with pytest.raises(InvalidDeviceIdentifierError, match="not float"):
        ItemKey(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="either device or gtin"):
        ItemKey(GTIN, gtin=GTIN)


def test_the_gtin_of_a_non_gs1_key_is_a_clear_error_naming_the_agency():
    with pytest.raises(NotGs1Error, match="issued by HIBCC, not GS1") as caught:
        _ = ItemKey(HIBC).gtin
    assert caught.value.agency is IssuingAgency.HIBCC
    assert isinstance(caught.value, InvalidValueError)
    with pytest.raises(NotGs1Error, match="issued by MA"):
        _ = ItemKey(MA, lot="L").gtin


def test_keys_of_different_agencies_never_compare_equal_even_when_their_texts_look_alike():
    gs1 = ItemKey(GTIN, lot="L1")
    hibc = ItemKey("HIBCC:A04006381333931", lot="L1")  # "A" + the GTIN-14
    assert gs1 != hibc and hibc != gs1
    assert len({gs1, hibc}) == 2
    assert gs1.device_text != hibc.device_text
    assert gs1.sort_key() < hibc.sort_key() < ItemKey(MA, lot="L1").sort_key()
    assert ItemKey(GTIN) != GTIN  # not equal to its text either
    assert (ItemKey(GTIN) == object()) is False


def test_hash_is_cached_and_recomputed_after_pickling():
    key = ItemKey(HIBC, lot="L1")
    assert hash(key) == hash(key) == hash(ItemKey(HIBC, lot="L1"))
    copy = pickle.loads(pickle.dumps(key))  # noqa: S301  (our own data)
    assert copy == key and hash(copy) == hash(key)
    assert {key: 1}[copy] == 1
    assert attrs.evolve(key, lot="L2") == ItemKey(HIBC, lot="L2")


def test_device_text_round_trips_and_refuses_what_no_store_holds():
    for text in (GTIN, HIBC, MA):
        assert device_text(device_from_text(text)) == text
    for bad in (f"GS1:{GTIN}", "4006381333931", "HIBCC: A123BJC5D6E71", "A123BJC5D6E71", ""):
        with pytest.raises(InvalidDeviceIdentifierError):
            device_from_text(bad)
    with pytest.raises(InvalidDeviceIdentifierError, match="expected the stored text"):
        device_from_text(14)  # type: ignore[arg-type]
    assert device_of(Gtin(GTIN)) == device_of(GTIN) == DeviceIdentifier.parse(GTIN)


def test_the_chain_encodes_a_gs1_key_as_before_and_other_agencies_with_their_prefix():
    def receipt(item: ItemKey) -> Movement:
        return Movement.receipt(
            "R-1",
            item=item,
            quantity=1,
            to=Location.parse("S/A"),
            occurred_at="2026-11-23T09:00:00+01:00",
            actor="x",
        )

    gs1 = receipt(ItemKey(GTIN, lot="L1"))
    assert movement_content(gs1).startswith(f"R-1\x00RECEIPT\x00{GTIN}\x00+L1\x00")
    hibc = receipt(ItemKey(HIBC, lot="L1"))
    assert movement_content(hibc).startswith(f"R-1\x00RECEIPT\x00{HIBC}\x00+L1\x00")
    decoder = MovementDecoder()
    for movement in (gs1, hibc, receipt(ItemKey(MA, serial="S1"))):
        assert decoder.content(movement_content(movement)) == movement
        assert decoder.fields(*movement_fields(movement)) == movement


def test_scans_of_every_agency_give_item_keys():
    assert parse_scan("+A123BJC5D6E71/$$3270630L2026X7B").item_key() == ItemKey(HIBC, lot="L2026X7")
    ma = parse_scan("MA.156.M0.100350.01004YA10017.SSN0417.E290131").item_key()
    assert ma == ItemKey(MA, serial="SN0417")
    assert parse_scan(f"(01){GTIN}(10)L1").item_key() == ItemKey(GTIN, lot="L1")
    with pytest.raises(InvalidValueError, match="names no GTIN nor any other device"):
        parse_scan("(00)106141411234567897").item_key()


def test_queries_filter_by_a_device_of_any_agency():
    item = ItemKey(HIBC, lot="L1")
    assert PositionQuery(device=HIBC).matches_item(item)
    assert PositionQuery(device=DeviceIdentifier.parse(HIBC), lot="L1").matches_item(item)
    assert not PositionQuery(device=MA).matches_item(item)
    assert not PositionQuery(gtin=GTIN).matches_item(item)
    assert MovementQuery(device=GTIN).matches_item(ItemKey(GTIN))
    assert MovementQuery(device=GTIN, gtin=GTIN).matches_item(ItemKey(GTIN))
    with pytest.raises(InvalidDeviceIdentifierError, match="MA"):
        PositionQuery(device="MA:MA.156")
    with pytest.raises(InvalidGtinError):
        MovementQuery(device="12345")


def test_an_allocation_request_names_a_device_of_any_agency():
    request = AllocationRequest.of(HIBC, 5, use_date="2026-11-23")
    assert request.device == DeviceIdentifier.parse(HIBC)
    with pytest.raises(NotGs1Error):
        _ = request.gtin
    assert AllocationRequest.of(GTIN, 5, use_date="2026-11-23").gtin == Gtin(GTIN)
    assert AllocationRequest(gtin=MA, quantity=1, use_date="2026-11-23").device.agency.value == "MA"
    boxes = PackagingHierarchy.chain(
        PackagingLevel(unit="BX", gtin="00614141000418", contains=20),
        PackagingLevel(unit="EA", gtin=GTIN),
    )
    with pytest.raises(InvalidQuantityError, match="converts GTINs only, not the HIBCC DI"):
        AllocationRequest.of(HIBC, Quantity.of(2, "BX"), use_date="2026-11-23", packaging=boxes)


def test_stocktake_scope_and_tolerances_with_non_gs1_items():
    scope = StocktakeScope(["Main"], products=[GTIN])
    here = Location.parse("Main/A1")
    assert scope.covers(ItemKey(GTIN), here)
    assert not scope.covers(ItemKey(HIBC), here)  # not a crash: a GTIN scope leaves it out
    by_device = StocktakeScope(["Main"], products=[HIBC, DeviceIdentifier.parse(MA), GTIN])
    assert by_device.covers(ItemKey(HIBC, lot="L1"), here)
    assert by_device.covers(ItemKey(MA), here) and by_device.covers(ItemKey(GTIN), here)
    assert not by_device.covers(ItemKey("HIBCC:A123BJC5D6E70"), here)
    assert Gtin(GTIN) in by_device.products  # GS1 products stay GTINs
    with pytest.raises(InvalidValueError):
        StocktakeScope(["Main"], products=["HIBCC:A1"])
    policy = TolerancePolicy(per_product={HIBC: TolerancePolicy().default})
    assert list(policy.per_product) == [HIBC]
