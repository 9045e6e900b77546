"""Catalogue values: products and packaging, storage, value, policies, places, parties, references."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.catalogue import (
    BusinessReference,
    BusinessTransactionType,
    Controls,
    CountTolerance,
    Effective,
    EffectiveHistory,
    LocationKind,
    LocationProfile,
    PackageLevel,
    PackagingError,
    Party,
    PartyKind,
    Product,
    ReorderPolicy,
    StorageCondition,
    TemperatureRange,
    UnitValue,
    check_gln,
    pseudonymise,
)
from medinv.devices import DeviceIdentifier
from medinv.errors import IndivisibleQuantityError, InvalidDateError, InvalidValueError
from medinv.identifiers import gs1_check_digit
from medinv.locations import Location
from medinv.quantity import MAX_QUANTITY
from medinv.stocktake import Tolerance

EACH, BOX, CASE, PALLET = "00614141000418", "10614141000415", "20614141000412", "30614141000419"


def gtin(number: int, indicator: int = 0) -> str:
    body = f"{indicator}{number:012d}"
    return body + str(gs1_check_digit(body))


# --------------------------------------------------------------------------- products


def test_two_packaging_levels_convert_exactly():
    product = Product(
        primary_di=EACH,
        packages=(
            PackageLevel(di=CASE, contains=BOX, quantity=10),
            PackageLevel(di=BOX, contains=EACH, quantity=20),
        ),
    )
    assert product.base_units_per(EACH) == 1
    assert product.base_units_per(BOX) == 20
    assert product.base_units_per(DeviceIdentifier.parse(CASE)) == 200
    assert product.to_base_units(3, CASE) == 600
    assert product.convert(3, CASE, to=BOX) == 30
    assert product.convert(40, EACH, to=BOX) == 2
    with pytest.raises(
        IndivisibleQuantityError,
        match=r"^30 base units \(30 x GS1:00614141000418\) is not a whole number of GS1:10614141000415 \(20 make one",
    ):
        product.convert(30, EACH, to=BOX)
    assert product.dis == tuple(DeviceIdentifier.parse(d) for d in (EACH, CASE, BOX))
    assert DeviceIdentifier.parse(CASE) in product
    assert DeviceIdentifier.parse(PALLET) not in product


def test_packaging_across_agencies():
    product = Product(
        primary_di="HIBCC:A123BJC5D6E70",
        packages=(PackageLevel(di=BOX, contains="A123BJC5D6E70", quantity=5),),
    )
    assert product.base_units_per(BOX) == 5


def test_an_unknown_contained_di_is_refused():
    with pytest.raises(PackagingError, match="neither the primary DI nor a package DI") as info:
        Product(primary_di=EACH, packages=(PackageLevel(di=CASE, contains=BOX, quantity=10),))
    assert info.value.product == DeviceIdentifier.parse(EACH)


def test_a_packaging_cycle_is_refused():
    with pytest.raises(PackagingError, match="cycle"):
        Product(
            primary_di=EACH,
            packages=(
                PackageLevel(di=CASE, contains=BOX, quantity=10),
                PackageLevel(di=BOX, contains=CASE, quantity=2),
            ),
        )


@pytest.mark.parametrize(
    "packages",
    [
        (PackageLevel(di=EACH, contains=EACH, quantity=2),),
        (
            PackageLevel(di=BOX, contains=EACH, quantity=2),
            PackageLevel(di=BOX, contains=EACH, quantity=3),
        ),
    ],
)
def test_a_di_twice_is_refused(packages):
    with pytest.raises(PackagingError, match="appears twice"):
        Product(primary_di=EACH, packages=packages)


def test_packaging_beyond_the_largest_quantity_is_refused():
    with pytest.raises(PackagingError, match="more than 2\\*\\*63 - 1"):
        Product(
            primary_di=EACH,
            packages=(
                PackageLevel(di=CASE, contains=BOX, quantity=2**40),
                PackageLevel(di=BOX, contains=EACH, quantity=2**30),
            ),
        )
    product = Product(
        primary_di=EACH, packages=(PackageLevel(di=BOX, contains=EACH, quantity=2**40),)
    )
    with pytest.raises(InvalidValueError, match="more than the largest quantity"):
        product.to_base_units(2**30, BOX)


def test_a_foreign_di_is_refused():
    product = Product(primary_di=EACH)
    with pytest.raises(InvalidValueError, match="is not a DI of product GS1:00614141000418"):
        product.base_units_per(BOX)
    with pytest.raises(InvalidValueError, match="is not a DI of product"):
        product.base_units_per(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="invalid quantity -1: must be from 0"):
        product.to_base_units(-1, EACH)


@st.composite
def hierarchies(draw):
    """A random packaging tree over distinct GTINs: (primary, levels, expected base units)."""
    count = draw(st.integers(0, 6))
    dis = [
        gtin(n, indicator=i % 9)
        for i, n in enumerate(
            draw(
                st.lists(
                    st.integers(1, 10**11), min_size=count + 1, max_size=count + 1, unique=True
                )
            )
        )
    ]
    primary, packages = dis[0], dis[1:]
    per = {primary: 1}
    levels = []
    for index, di in enumerate(packages):
        inner = draw(st.sampled_from([primary, *packages[:index]]))
        quantity = draw(st.integers(1, 1000))
        per[di] = per[inner] * quantity
        levels.append(PackageLevel(di=di, contains=inner, quantity=quantity))
    order = draw(st.permutations(levels))
    return primary, tuple(order), per


@given(hierarchies(), st.integers(0, 1000))
def test_conversion_is_exact_on_any_hierarchy(hierarchy, amount):
    primary, levels, per = hierarchy
    product = Product(primary_di=primary, packages=levels)
    for di, units in per.items():
        assert product.base_units_per(di) == units
        assert product.to_base_units(amount, di) == amount * units
        for other, other_units in per.items():
            if amount * units % other_units == 0:
                assert product.convert(amount, di, to=other) == amount * units // other_units
            else:
                with pytest.raises(IndivisibleQuantityError):
                    product.convert(amount, di, to=other)


@given(hierarchies(), st.data())
def test_removing_a_level_others_rely_on_is_refused(hierarchy, data):
    primary, levels, _ = hierarchy
    needed = [level for level in levels if any(other.contains == level.di for other in levels)]
    if not needed:
        return
    dropped = data.draw(st.sampled_from(needed))
    with pytest.raises(PackagingError, match="neither the primary DI"):
        Product(
            primary_di=primary, packages=tuple(level for level in levels if level is not dropped)
        )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"primary_di": 4006381333931}, "the primary DI must be a DeviceIdentifier"),
        ({"primary_di": EACH, "packages": "x"}, "packages are a tuple"),
        ({"primary_di": EACH, "packages": ("x",)}, "packages are PackageLevel"),
        ({"primary_di": EACH, "implantable": 1}, "implantable flag"),
        ({"primary_di": EACH, "min_shelf_life_at_receipt": -1}, "minimum shelf life at receipt"),
        ({"primary_di": EACH, "min_shelf_life_at_issue": 1.5}, "minimum shelf life at issue"),
        ({"primary_di": EACH, "name": "  "}, "product name"),
        ({"primary_di": EACH, "controls": {"lot": True}}, "controls"),
        ({"primary_di": EACH, "unit_value": "1.00 EUR"}, "unit_value"),
    ],
)
def test_product_fields_are_validated(fields, message):
    with pytest.raises((InvalidValueError, TypeError), match=message):
        Product(**fields)


def test_package_quantity_must_be_positive():
    with pytest.raises(InvalidValueError, match="package quantity"):
        PackageLevel(di=BOX, contains=EACH, quantity=0)
    with pytest.raises(InvalidValueError, match="contained DI must be a DeviceIdentifier"):
        PackageLevel(di=BOX, contains=None, quantity=2)


# --------------------------------------------------------------------------- controls, storage


def test_controls():
    assert Controls().required() == ()
    assert Controls(serial=True, production_date=True).required() == ("serial", "production_date")
    with pytest.raises(InvalidValueError, match="invalid lot control 'yes'"):
        Controls(lot="yes")  # type: ignore[arg-type]


def test_temperature_ranges():
    fridge = TemperatureRange(low="2", high="8")
    assert fridge.admits(Decimal(2)) and fridge.admits(Decimal("8.00"))
    assert not fridge.admits(Decimal("1.99")) and not fridge.admits(Decimal("8.01"))
    assert TemperatureRange(low="3", high="7").is_within(fridge)
    assert not TemperatureRange(low="15", high="25").is_within(fridge)
    assert not TemperatureRange(high="8").is_within(fridge)
    assert TemperatureRange(low="-20", high="-10").is_within(TemperatureRange(high="0"))
    assert TemperatureRange(low="-30").admits(Decimal(1000))
    assert TemperatureRange(low=-30, high=Decimal("8.5")).high == Decimal("8.5")


def test_fahrenheit_rounds_inwards_and_kelvin_is_exact():
    converted = TemperatureRange.from_fahrenheit(low="36", high="46")
    assert converted == TemperatureRange(low="2.23", high="7.77")  # 2.22.. up, 7.77.. down
    assert TemperatureRange.from_fahrenheit(low="32", high="212") == TemperatureRange(
        low=0, high=100
    )
    assert TemperatureRange.from_fahrenheit(high="46").low is None
    assert TemperatureRange.from_kelvin(low="275.15", high="281.15") == TemperatureRange(
        low=2, high=8
    )
    assert TemperatureRange.from_kelvin(high="281.15").low is None


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        (None, None, "needs a low or a high bound"),
        ("9", "8", "low 9 °C is above high 8 °C"),
        ("-300", None, "below absolute zero"),
        (2.5, None, "not a float"),
        ("2.555", None, "at most 2 decimal places"),
        ("NaN", None, "finite"),
        ("abc", None, "expected a decimal number"),
        ("12345", None, "at most 4 digits"),
    ],
)
def test_bad_temperature_ranges(low, high, message):
    with pytest.raises(InvalidValueError, match=message):
        TemperatureRange(low=low, high=high)


def test_temperature_comparisons_refuse_other_types():
    with pytest.raises(InvalidValueError, match="expected a TemperatureRange"):
        TemperatureRange(low=2).is_within((2, 8))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="not a float"):
        TemperatureRange(low=2).admits(2.5)  # type: ignore[arg-type]


def test_storage_condition():
    condition = StorageCondition(
        temperature=TemperatureRange(low=2, high=8),
        humidity_low="10",
        humidity_high=Decimal("80.5"),
        notes=["keep dry"],
    )
    assert condition.notes == ("keep dry",)
    with pytest.raises(InvalidValueError, match="humidity range"):
        StorageCondition(humidity_low=90, humidity_high=10)
    with pytest.raises(InvalidValueError, match="0 to 100"):
        StorageCondition(humidity_high=101)
    with pytest.raises(InvalidValueError, match="tuple of texts"):
        StorageCondition(notes="keep dry")
    with pytest.raises(InvalidValueError, match="storage note"):
        StorageCondition(notes=("ok", ""))
    with pytest.raises(TypeError):
        StorageCondition(temperature=(2, 8))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- value and policies


def test_unit_value_is_exact():
    value = UnitValue(amount="0.1", currency="EUR")
    assert value.times(3) == UnitValue(amount="0.3", currency="EUR")
    assert UnitValue(amount=Decimal("-0"), currency="USD").amount == 0
    assert UnitValue(amount="1.500000", currency="JPY").amount == Decimal("1.5")
    with pytest.raises(InvalidValueError, match="whole number"):
        value.times(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        (0.1, "EUR", "not a float"),
        (True, "EUR", "not a bool"),
        ("-1", "EUR", "must not be negative"),
        ("0.0000001", "EUR", "at most 6 decimal places"),
        ("1" * 16, "EUR", "at most 15 digits"),
        ("1", "eur", "not an ISO 4217 code \\(codes are upper case\\)"),
        ("1", "XXX", "not an ISO 4217 code"),
        ("1", 978, "not an ISO 4217 code"),
        ("Infinity", "EUR", "finite"),
    ],
)
def test_bad_unit_values(amount, currency, message):
    with pytest.raises(InvalidValueError, match=message):
        UnitValue(amount=amount, currency=currency)


def test_reorder_policy():
    policy = ReorderPolicy(minimum=10, reorder_point=10, maximum=10, lead_time_days=0)
    assert policy.maximum == 10
    assert ReorderPolicy().minimum is None
    with pytest.raises(InvalidValueError, match="minimum 50 is above maximum 10"):
        ReorderPolicy(minimum=50, maximum=10)
    with pytest.raises(InvalidValueError, match="reorder point 11 is above maximum 10"):
        ReorderPolicy(reorder_point=11, maximum=10)
    with pytest.raises(InvalidValueError, match="reorder point 4 is below minimum 5"):
        ReorderPolicy(minimum=5, reorder_point=4)
    with pytest.raises(InvalidValueError, match="lead time"):
        ReorderPolicy(lead_time_days=-1)
    with pytest.raises(InvalidValueError, match="from 0 to 2\\*\\*63 - 1"):
        ReorderPolicy(maximum=MAX_QUANTITY + 1)


def test_count_tolerance():
    assert CountTolerance(absolute=2, percent="2.5").percent == Decimal("2.5")
    with pytest.raises(InvalidValueError, match="0 to 100"):
        CountTolerance(percent=101)
    with pytest.raises(InvalidValueError, match="count tolerance"):
        CountTolerance(absolute=-1)


def test_count_tolerance_feeds_the_stocktake_tolerance():
    tolerance = CountTolerance(absolute=2, percent=5)
    rule = Tolerance(absolute=tolerance.absolute, percent=tolerance.percent)
    assert rule.allows(difference=5, expected=100)
    assert not rule.allows(difference=6, expected=100)


# --------------------------------------------------------------------------- places and parties


def test_location_profile():
    profile = LocationProfile(
        path="CHU/Pharmacy/A/03",
        kind=LocationKind.STORE,
        pick_sequence=30,
        storage=StorageCondition(temperature=TemperatureRange(low=15, high=25)),
        gln="0614141000012",
    )
    assert profile.location == Location.parse("CHU/Pharmacy/A/03")
    assert profile.location.pick_sequence == 30
    assert profile != LocationProfile(
        path="CHU/Pharmacy/A/03", kind=LocationKind.STORE, pick_sequence=31
    )
    same = LocationProfile(
        path=Location.parse("CHU/Pharmacy/A/03", pick_sequence=99), kind=LocationKind.STORE
    )
    assert same.pick_sequence == 0
    assert same.location.pick_sequence == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"path": "", "kind": LocationKind.STORE}, "segment 1 is empty"),
        ({"path": 3, "kind": LocationKind.STORE}, "needs a location path"),
        ({"path": "A", "kind": "STORE"}, "kind"),
        ({"path": "A", "kind": LocationKind.STORE, "pick_sequence": -1}, "pick sequence"),
        (
            {"path": "A", "kind": LocationKind.STORE, "gln": "0614141000013"},
            "GLN .* check digit should be 2",
        ),
        ({"path": "A", "kind": LocationKind.STORE, "gln": "614141000012"}, "a GLN is 13 digits"),
    ],
)
def test_bad_location_profiles(fields, message):
    with pytest.raises((InvalidValueError, TypeError), match=message):
        LocationProfile(**fields)


def test_check_gln():
    assert check_gln("0614141000012") == "0614141000012"
    for bad in ("061414100001\uff12", 614141000012, "061414100001A"):
        with pytest.raises(InvalidValueError, match="13 digits"):
            check_gln(bad)


def test_parties():
    supplier = Party(kind=PartyKind.SUPPLIER, id="ACME", name="Acme Medical", gln="0614141000012")
    department = Party(kind=PartyKind.DEPARTMENT, id="ACME")
    assert supplier.key == "SUPPLIER:ACME"
    assert supplier.key != department.key
    patient = Party(kind=PartyKind.PATIENT, id="P-000123")
    assert patient.key == "PATIENT:P-000123"


@pytest.mark.parametrize(
    "reference",
    [
        "Jane Doe",
        "JaneDoe",
        "Müller-1",
        "Doe, Jane 1",
        "12345",
        "Jean-Pierre",
        " P-000123",
        "Иван-123",
    ],
)
def test_a_patient_is_never_named(reference):
    with pytest.raises(InvalidValueError, match="patient reference"):
        Party(kind=PartyKind.PATIENT, id=reference)


def test_a_patient_has_no_name_and_no_gln():
    with pytest.raises(InvalidValueError, match="no name, no GLN"):
        Party(kind=PartyKind.PATIENT, id="P-000123", name="Jane")
    with pytest.raises(InvalidValueError, match="no name, no GLN"):
        Party(kind=PartyKind.PATIENT, id="P-000123", gln="0614141000012")


def test_pseudonyms_are_stable_keyed_and_accepted():
    key = bytes(range(32))
    first = pseudonymise("MRN 0012345", key=key)
    assert first == pseudonymise("MRN 0012345", key=key)
    assert first != pseudonymise("MRN 0012346", key=key)
    assert first != pseudonymise("MRN 0012345", key=bytes(range(1, 33)))
    assert Party(kind=PartyKind.PATIENT, id=first).id == first
    assert pseudonymise("x", key=key, prefix="H1").startswith("H1-")
    with pytest.raises(InvalidValueError, match="at least 16 bytes"):
        pseudonymise("x", key=b"short")
    with pytest.raises(InvalidValueError, match="prefix"):
        pseudonymise("x", key=key, prefix="P-")
    with pytest.raises(InvalidValueError, match="patient identifier"):
        pseudonymise("", key=key)


@given(st.text(min_size=1, max_size=40).filter(str.strip))
def test_any_patient_id_pseudonymises_to_an_accepted_reference(patient_id):
    if "\x00" in patient_id or any(0xD800 <= ord(c) <= 0xDFFF for c in patient_id):
        return
    reference = pseudonymise(patient_id, key=b"k" * 32)
    assert Party(kind=PartyKind.PATIENT, id=reference).id == reference
    assert patient_id not in reference or patient_id.isdigit() or patient_id in "P-"


# --------------------------------------------------------------------------- business references


def test_business_transaction_types():
    assert BusinessTransactionType.PO.uri == "https://ref.gs1.org/cbv/BTT-po"
    assert BusinessTransactionType.PROCEDURE.uri == "urn:medinv:btt:procedure"
    assert sum(t.is_cbv for t in BusinessTransactionType) == 13
    for member in BusinessTransactionType:
        assert BusinessTransactionType.parse(member.uri) is member
        assert BusinessTransactionType.parse(member.value.upper()) is member
    assert BusinessTransactionType.parse("urn:epcglobal:cbv:btt:rma") is BusinessTransactionType.RMA
    for bad in (
        "https://ref.gs1.org/cbv/BTT-procedure",
        "urn:epcglobal:cbv:btt:stocktake",
        "delivery",
        3,
    ):
        with pytest.raises(InvalidValueError, match="unknown business transaction type"):
            BusinessTransactionType.parse(bad)  # type: ignore[arg-type]


def test_business_references():
    ref = BusinessReference.parse("po:PO:4711/A")
    assert (ref.type, ref.id) == (BusinessTransactionType.PO, "PO:4711/A")
    assert BusinessReference.parse(str(ref)) == ref
    assert ref.uri == "urn:medinv:bt:po:PO%3A4711%2FA"
    issued = BusinessReference(type="desadv", id="DN 1", issuer_gln="0614141000012")
    assert issued.uri == "urn:epcglobal:cbv:bt:0614141000012:DN%201"
    assert issued != BusinessReference(type="desadv", id="DN 1")
    with pytest.raises(InvalidValueError, match="expected '<type>:<id>'"):
        BusinessReference.parse("4711")
    with pytest.raises(InvalidValueError, match="business reference"):
        BusinessReference.parse("po:")
    with pytest.raises(InvalidValueError, match="issuer GLN"):
        BusinessReference(type="po", id="1", issuer_gln="123")


@given(
    st.sampled_from(list(BusinessTransactionType)),
    st.text(min_size=1, max_size=100).filter(str.strip),
)
def test_business_reference_text_round_trips(kind, number):
    if "\x00" in number or any(0xD800 <= ord(c) <= 0xDFFF for c in number):
        return
    ref = BusinessReference(type=kind, id=number)
    assert BusinessReference.parse(str(ref)) == ref


# --------------------------------------------------------------------------- effective dating

UTC = pendulum.UTC


def test_effective_history():
    history = EffectiveHistory[int]()
    assert history.as_of("2026-01-01T00:00:00Z") is None
    history = history.changed(1, valid_from="2026-01-01T00:00:00+00:00")
    history = history.changed(2, valid_from=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    assert history.changed(2, valid_from="2026-06-01T02:00:00+02:00") is history
    with pytest.raises(InvalidValueError, match="another version is valid from"):
        history.changed(3, valid_from="2026-06-01T00:00:00+00:00")
    assert history.as_of("2026-05-31T23:59:59+00:00") == 1
    assert history.as_of("2026-06-01T01:59:59+02:00") == 1
    assert history.as_of("2026-06-01T00:00:00+00:00") == 2
    with pytest.raises(InvalidDateError):
        history.as_of("2026-06-01")
    with pytest.raises(InvalidDateError):
        history.as_of(dt.datetime(2026, 6, 1))  # noqa: DTZ001  (naive on purpose)


def test_effective_history_refuses_bad_versions():
    moment = pendulum.datetime(2026, 1, 1, tz=UTC)
    with pytest.raises(InvalidValueError, match="same moment"):
        EffectiveHistory(
            (Effective(value=1, valid_from=moment), Effective(value=2, valid_from=moment))
        )
    with pytest.raises(InvalidValueError, match="Effective values"):
        EffectiveHistory((1, 2))
    with pytest.raises(InvalidValueError, match="Effective values"):
        EffectiveHistory("abc")


@given(
    st.dictionaries(st.integers(0, 10_000), st.integers(), max_size=20),
    st.lists(st.integers(-10, 10_010), max_size=30),
)
def test_as_of_is_the_latest_version_not_after_the_moment(versions, probes):
    base = pendulum.datetime(2026, 1, 1, tz=UTC)
    history = EffectiveHistory[int]()
    for minute, value in reversed(list(versions.items())):
        history = history.changed(value, valid_from=base.add(minutes=minute))
    for probe in probes:
        started = [m for m in versions if m <= probe]
        expected = versions[max(started)] if started else None
        assert history.as_of(base.add(minutes=probe)) == expected
    assert [v.valid_from for v in history.versions] == sorted(
        v.valid_from for v in history.versions
    )
    assert math.isfinite(len(history.versions))
