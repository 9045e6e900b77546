"""GUDID import: the download's XML and openFDA's JSON, findings, streaming."""

from __future__ import annotations

import gc
import io
import json
import tracemalloc
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from medinv.catalogue import (
    FindingKind,
    GudidFormatError,
    GudidRecord,
    TemperatureRange,
    _gudid,
    iter_gudid_json,
    iter_gudid_records,
    iter_gudid_xml,
)
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError

DATA = Path(__file__).parent / "data"
XML = DATA / "gudid-sample.xml"
JSON = DATA / "gudid-sample.json"


def boxed(quantity: object) -> list[dict[str, object]]:
    """A primary DI and a box DI that holds ``quantity`` of it."""
    primary: dict[str, object] = {
        "id": "00614141000012",
        "type": "Primary",
        "issuing_agency": "GS1",
    }
    box = {"id": "10614141000019", "type": "Package", "issuing_agency": "GS1"}
    return [primary, {**box, "unit_of_use_id": "00614141000012", "quantity_per_package": quantity}]


def kinds(record: GudidRecord) -> list[FindingKind]:
    return [finding.kind for finding in record.findings]


@pytest.fixture(scope="module")
def from_xml() -> list[GudidRecord]:
    return list(iter_gudid_xml(XML))


def test_xml_and_json_give_the_same_products_and_findings(from_xml):
    from_json = list(iter_gudid_json(JSON))
    assert len(from_xml) == len(from_json) == 8
    for xml_record, json_record in zip(from_xml, from_json, strict=True):
        assert xml_record == json_record


def test_a_clean_record(from_xml):
    record = from_xml[0]
    assert record.record_key == "9d1f0c2e-0001-4a55-9f00-000000000001"
    assert record.findings == ()
    product = record.product
    assert product is not None
    assert product.primary_di == DeviceIdentifier.parse("00614141000012")
    assert product.base_units_per("10614141000019") == 10
    assert product.base_units_per("20614141000016") == 50
    assert product.controls.required() == ("lot", "expiry")
    assert not product.implantable
    assert product.name == "Sterile gauze swab 10x10"
    assert product.storage is not None
    assert product.storage.temperature == TemperatureRange(low=2, high=8)
    assert product.storage.notes == ("Keep dry. Protect from sunlight.",)


def test_hibc_record_with_fahrenheit_and_implantable(from_xml):
    product = from_xml[1].product
    assert product is not None
    assert str(product.primary_di) == "HIBCC:H123BS45400"  # the HIBC '+' flag is dropped
    assert product.base_units_per("H123BS45401") == 20
    assert product.controls.required() == ("lot", "serial", "production_date")
    assert product.implantable  # one of its GMDN terms is implantable
    assert product.storage is not None
    assert product.storage.temperature == TemperatureRange(low="2.23", high="7.77")


def test_a_package_pointing_at_an_unknown_di_is_reported_not_invented(from_xml):
    record = from_xml[2]
    assert kinds(record) == [FindingKind.UNKNOWN_CONTAINED_DI]
    assert "00844868017288" in record.findings[0].message
    assert record.findings[0].primary_di == "00844588018923"
    assert record.findings[0].record == 2
    assert record.product is not None
    assert record.product.packages == ()
    assert DeviceIdentifier.parse("00844868017288") not in record.product


def test_a_package_cycle_is_reported_and_the_rest_kept(from_xml):
    record = from_xml[3]
    assert kinds(record) == [FindingKind.PACKAGE_CYCLE]
    assert record.product is not None
    assert [str(di) for di in record.product.dis] == ["GS1:00614141000029", "GS1:30614141000020"]


def test_an_unsupported_agency_imports_no_product(from_xml):
    record = from_xml[4]
    assert record.product is None
    assert kinds(record) == [FindingKind.UNSUPPORTED_AGENCY, FindingKind.NO_PRIMARY_DI]
    assert "ICCBBA" in record.findings[0].message


def test_faulty_fields_are_reported_and_left_out(from_xml):
    record = from_xml[5]
    assert kinds(record) == [
        FindingKind.INVALID_DI,
        FindingKind.INVALID_QUANTITY,
        FindingKind.INVALID_FIELD,
        FindingKind.INVALID_STORAGE,
        FindingKind.INVALID_STORAGE,
    ]
    assert "check digit should be 3, not 4" in record.findings[0].message
    assert record.product is not None
    assert [str(di) for di in record.product.dis] == ["GS1:00614141000036", "GS1:30614141000037"]
    assert record.product.controls.expiry is False
    assert record.product.storage is None


def test_kelvin_humidity_and_other_conditions(from_xml):
    product = from_xml[6].product
    assert product is not None and product.storage is not None
    assert product.storage.temperature == TemperatureRange(low=-200, high=-80)
    assert (product.storage.humidity_low, product.storage.humidity_high) == (10, 60)
    assert product.storage.notes == (
        "Storage Environment Atmospheric Pressure: 50 to 106 Kilo Pascal",
    )


def test_a_record_without_a_primary_di(from_xml):
    record = from_xml[7]
    assert record.product is None
    assert kinds(record) == [FindingKind.NO_PRIMARY_DI]
    assert record.findings[0].primary_di is None


# --------------------------------------------------------------------------- JSON shapes


def results() -> list[dict[str, object]]:
    document = json.loads(JSON.read_text(encoding="utf-8"))
    records: list[dict[str, object]] = document["results"]
    return records


def test_json_shapes(from_xml):
    records = results()
    bare = json.dumps(records).encode()
    lines = "\n".join(json.dumps(record) for record in records).encode()
    assert list(iter_gudid_json(io.BytesIO(bare))) == from_xml
    assert list(iter_gudid_json(io.BytesIO(lines))) == from_xml
    assert list(iter_gudid_json(io.StringIO(json.dumps({"results": records})))) == from_xml
    with_bom = b"\xef\xbb\xbf" + json.dumps({"meta": {}, "results": records}).encode()
    assert list(iter_gudid_json(io.BytesIO(with_bom))) == from_xml
    assert list(iter_gudid_records(records)) == from_xml
    assert list(iter_gudid_json(io.BytesIO(b"[]"))) == []
    assert list(iter_gudid_json(io.BytesIO(b'{"meta": {"total": 0}, "results": []}'))) == []
    assert list(iter_gudid_json(io.BytesIO(b" "))) == []


@settings(max_examples=25)
@given(st.integers(1, 64))
def test_json_is_read_the_same_in_any_chunk_size(chunk):
    text = JSON.read_text(encoding="utf-8").replace("Sterile gauze", "Stérile gaze ✓")
    original = _gudid._CHUNK
    _gudid._CHUNK = chunk
    try:
        records = list(iter_gudid_json(io.BytesIO(text.encode())))
    finally:
        _gudid._CHUNK = original
    assert len(records) == 8
    assert records[0].product is not None
    assert records[0].product.name == "Stérile gaze ✓ swab 10x10"


def test_numbers_and_booleans_in_json_are_read():
    record = {
        "identifiers": boxed(12),
        "has_serial_number": True,
        "storage": [
            {
                "type": "Storage Environment Temperature",
                "low": {"unit": "Degrees Celsius", "value": -20},
                "high": {"unit": "Degrees Celsius", "value": 25.5},
            }
        ],
        "gmdn_terms": [{"implantable": True}],
    }
    [result] = iter_gudid_json(io.BytesIO(json.dumps(record).encode()))
    assert result.findings == ()
    assert result.product is not None
    assert result.product.base_units_per("10614141000019") == 12
    assert result.product.controls.serial
    assert result.product.implantable
    assert result.product.storage is not None
    assert result.product.storage.temperature == TemperatureRange(low=-20, high=Decimal("25.5"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"results": [{"identifiers": []}, {"identifiers": ', "malformed or truncated JSON"),
        (b'{"results": [{"identifiers": []} {"x": 1}]}', "expected ',' or ']'"),
        (b"[1, 2] x", "unexpected content after the array"),
        (b"42", "expected an object or an array"),
        (b'{"a" 1}', "expected ':'"),
        (b"{1: 2}", "expected a member name"),
        (b'{"a": 1 "b": 2}', "expected ',' or '}' after member 'a'"),
        (b'{"a": 1,}', "a ',' after member 'a' ends the object"),
        (b'{"a": 1', "expected ',' or '}' after member 'a', found 'the end of the input'"),
    ],
)
def test_malformed_json_is_refused(text, message):
    with pytest.raises(GudidFormatError, match=message) as info:
        list(iter_gudid_json(io.BytesIO(text)))
    assert isinstance(info.value, InvalidValueError)


def test_records_before_a_fault_are_yielded():
    stream = iter_gudid_json(io.BytesIO(b'[{"identifiers": []}, {"identifiers": '))
    first = next(stream)
    assert kinds(first) == [FindingKind.NO_PRIMARY_DI]
    with pytest.raises(GudidFormatError):
        next(stream)


def test_non_object_records_are_reported():
    [record] = iter_gudid_json(io.BytesIO(b"[[1, 2]]"))
    assert record.product is None
    assert "not an object" in record.findings[0].message


def test_malformed_xml_is_refused_with_its_position(tmp_path):
    broken = tmp_path / "broken.xml"
    text = XML.read_text(encoding="utf-8")
    broken.write_text(
        text[: text.index("</device>") + 9] + "\n<device><identifiers>", encoding="utf-8"
    )
    stream = iter_gudid_xml(broken)
    assert next(stream).product is not None
    with pytest.raises(GudidFormatError, match=r"broken.xml: malformed XML at line \d+"):
        next(stream)


def test_xml_from_a_binary_stream_without_namespace():
    text = b"<data><device><identifiers><identifier><deviceId>00614141000012</deviceId><deviceIdType>Primary</deviceIdType><deviceIdIssuingAgency>GS1</deviceIdIssuingAgency></identifier></identifiers></device></data>"
    [record] = iter_gudid_xml(io.BytesIO(text))
    assert record.product is not None
    assert record.findings == ()


# --------------------------------------------------------------------------- memory


def _many(count: int, *, wrapped: bool = False) -> tuple[bytes, bytes]:
    template = results()[0]
    records = [dict(template, public_device_record_key=f"key-{n}") for n in range(count)]
    as_json = json.dumps({"meta": {"results": {"total": count}}, "results": records}).encode()
    xml = XML.read_text(encoding="utf-8")
    head, rest = xml.split("<device>", 1)
    device = "<device>" + rest.split("</device>", 1)[0] + "</device>\n"
    body = device * count
    if wrapped:  # devices one level deeper than the root
        body = f"<devices>{body}</devices><devices>{device}</devices>"
    as_xml = (head + body + "</gudid>\n").encode()
    return as_json, as_xml


def _peak(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("reader", "wrapped"),
    [(iter_gudid_json, False), (iter_gudid_xml, False), (iter_gudid_xml, True)],
)
def test_memory_stays_flat_as_the_file_grows(reader, wrapped, monkeypatch):
    monkeypatch.setattr(_gudid, "_CHUNK", 1 << 16)
    small_json, small_xml = _many(400, wrapped=wrapped)  # larger than one read (64 KiB here)
    large_json, large_xml = _many(1600, wrapped=wrapped)
    small = small_json if reader is iter_gudid_json else small_xml
    large = large_json if reader is iter_gudid_json else large_xml

    def consume(data: bytes) -> None:
        count = 0
        for record in reader(io.BytesIO(data)):
            assert record.product is not None
            count += 1
        assert count in (400, 1600) or (wrapped and count in (401, 1601))

    small_peak = _peak(lambda: consume(small))
    large_peak = _peak(lambda: consume(large))
    assert len(large) > 3.9 * len(small)
    assert large_peak < 1.5 * small_peak  # four times the records, not four times the memory


def test_a_messy_record_is_imported_as_far_as_it_goes():
    primary, box, case, pallet = (
        "00614141000012",
        "10614141000019",
        "20614141000016",
        "30614141000013",
    )
    record = {
        "identifiers": [
            {"id": primary, "type": "Primary"},  # no agency: told by its shape
            {
                "id": box,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": primary,
                "quantity_per_package": "4",
            },
            {
                "id": box,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": primary,
                "quantity_per_package": "5",
            },
            {
                "id": case,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": "40614141000010",
                "quantity_per_package": "2",
            },
            {
                "id": "50614141000017",
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": "",
                "quantity_per_package": "2",
            },
            {
                "id": pallet,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": case,
                "quantity_per_package": "2",
            },
            {"id": "  ", "type": "Package", "issuing_agency": "GS1"},
            "not an identifier",
        ],
        "brand_name": "  ",
        "device_description": "x " * 400,
        "gmdn_terms": "implantable",
        "storage": [
            "not a condition",
            {
                "type": "Storage Environment Temperature",
                "low": {"unit": "Degrees Celsius", "value": ""},
            },
            {
                "type": "Storage Environment Temperature",
                "low": {"unit": "Degrees Celsius", "value": 2.5},
                "high": {"unit": "Degrees Celsius", "value": "8"},
            },
            {"type": "Storage Environment Humidity", "low": {"value": "x"}},
            {"type": "Storage Environment Atmospheric Pressure", "low": None, "high": None},
        ],
    }
    [result] = iter_gudid_records([record])
    assert result.product is not None
    assert [str(di) for di in result.product.dis] == ["GS1:00614141000012", "GS1:10614141000019"]
    assert result.product.base_units_per(box) == 4  # the first of the two is kept
    assert result.product.name is not None and len(result.product.name) == 500
    assert result.product.name.endswith("...")
    assert result.product.implantable is False
    assert result.product.storage is None  # the humidity cannot be read: reported
    assert kinds(result) == [
        FindingKind.DUPLICATE_DI,  # the second box
        FindingKind.INVALID_DI,  # the empty contained DI ...
        FindingKind.UNKNOWN_CONTAINED_DI,  # ... leaves its package out
        FindingKind.INVALID_DI,  # the blank package DI
        FindingKind.INVALID_STORAGE,  # the humidity
        FindingKind.UNKNOWN_CONTAINED_DI,  # the case contains an unknown DI
        FindingKind.UNKNOWN_CONTAINED_DI,  # the pallet contains the case
    ]
    assert "40614141000010, which is neither the primary DI" in result.findings[5].message
    assert "leads to a package that was left out" in result.findings[6].message


def test_packaging_beyond_the_largest_quantity_is_reported():
    primary, box, case = "00614141000012", "10614141000019", "20614141000016"
    record = {
        "identifiers": [
            {"id": primary, "type": "Primary", "issuing_agency": "GS1"},
            {
                "id": box,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": primary,
                "quantity_per_package": str(2**40),
            },
            {
                "id": case,
                "type": "Package",
                "issuing_agency": "GS1",
                "unit_of_use_id": box,
                "quantity_per_package": str(2**40),
            },
        ]
    }
    [result] = iter_gudid_records([record])
    assert result.product is not None
    assert result.product.packages == ()
    assert kinds(result) == [FindingKind.INVALID_QUANTITY]
    assert "2**63 - 1" in result.findings[0].message


def test_text_no_store_could_keep_is_reported():
    record = {
        "identifiers": [{"id": "00614141000012", "type": "Primary", "issuing_agency": "GS1"}],
        "brand_name": "Swab\x00",
        "device_description": "Gauze swab \ud800",
        "storage": [
            {"type": "Special Storage Condition, Specify", "special_conditions": "dry\x00"}
        ],
    }
    [result] = iter_gudid_records([record])
    assert result.product is not None
    assert result.product.name is None
    assert result.product.storage is None
    assert kinds(result) == [
        FindingKind.INVALID_STORAGE,
        FindingKind.INVALID_FIELD,
        FindingKind.INVALID_FIELD,
    ]


@pytest.mark.parametrize("quantity", ["9" * 5000, str(2**63), 2**63, "0", -3, 1.5, "1e3", "\uff15"])
def test_impossible_package_quantities_are_reported(quantity):
    record = {"identifiers": boxed(quantity)}
    [result] = iter_gudid_records([record])
    assert result.product is not None
    assert result.product.packages == ()
    assert kinds(result) == [FindingKind.INVALID_QUANTITY]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'[{"identifiers": [], "n": ' + b"9" * 5000 + b"}]", "unreadable JSON value"),
        (b"[" * 100_000, "unreadable JSON value|malformed or truncated"),
    ],
)
def test_json_values_python_cannot_read_are_refused(text, message):
    with pytest.raises(GudidFormatError, match=message):
        list(iter_gudid_json(io.BytesIO(text)))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
identifier_entries = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values | st.sampled_from(["00614141000012", "10614141000019", "+H123BS45400"]),
        "type": json_values | st.sampled_from(["Primary", "Package", "Secondary"]),
        "issuing_agency": json_values | st.sampled_from(["GS1", "HIBCC", "ICCBBA"]),
        "unit_of_use_id": json_values | st.sampled_from(["00614141000012", "10614141000019"]),
        "quantity_per_package": json_values | st.sampled_from(["10", "0", "x"]),
    },
)
gudid_records = st.fixed_dictionaries(
    {},
    optional={
        "identifiers": st.lists(identifier_entries, max_size=4) | json_values,
        "has_lot_or_batch_number": json_values,
        "has_serial_number": json_values,
        "brand_name": json_values,
        "gmdn_terms": st.lists(st.fixed_dictionaries({}, optional={"implantable": json_values}))
        | json_values,
        "storage": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": json_values
                    | st.sampled_from(
                        ["Storage Environment Temperature", "Storage Environment Humidity"]
                    ),
                    "low": st.fixed_dictionaries(
                        {},
                        optional={
                            "unit": json_values | st.just("Degrees Celsius"),
                            "value": json_values,
                        },
                    )
                    | json_values,
                    "high": json_values,
                    "special_conditions": json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
    },
)


@example([{"identifiers": True}])  # once raised a TypeError
@example(  # once raised a TypeError (an unhashable implantable flag)
    [
        {
            "identifiers": [{"id": "00614141000012", "type": "Primary"}],
            "gmdn_terms": [{"implantable": []}],
        }
    ]
)
@given(st.lists(gudid_records | json_values, max_size=4))
def test_any_json_records_give_records_never_an_exception(records):
    results = list(iter_gudid_records(records))
    assert [r.index for r in results] == list(range(len(records)))
    for result in results:
        assert (result.product is None) == (FindingKind.NO_PRIMARY_DI in kinds(result))


@example(b"\x80")  # once raised UnicodeDecodeError
@example(b'<?xml version="1.0" encoding="f"?><a/>')  # once raised LookupError
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_give_records_or_a_format_error(data):
    for reader in (iter_gudid_xml, iter_gudid_json):
        message = ""
        try:
            records = list(reader(io.BytesIO(data)))
        except GudidFormatError as e:
            message = str(e)
        else:
            assert all(isinstance(record, GudidRecord) for record in records)
            continue
        assert message.startswith("cannot read the GUDID input: ")


def test_external_entities_are_not_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("00614141000012", encoding="utf-8")
    text = (
        f'<!DOCTYPE a [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'
        "<a><device><identifiers><identifier><deviceId>&x;</deviceId>"
        "<deviceIdType>Primary</deviceIdType></identifier></identifiers></device></a>"
    )
    with pytest.raises(GudidFormatError, match="undefined entity"):
        list(iter_gudid_xml(io.BytesIO(text.encode())))


@pytest.mark.parametrize("wrapped", [False, True])
def test_read_devices_are_forgotten(wrapped):
    _, data = _many(1600, wrapped=wrapped)

    def elements() -> int:
        gc.collect()
        return sum(isinstance(o, ET.Element) for o in gc.get_objects())

    counts = {}
    for record in iter_gudid_xml(io.BytesIO(data)):
        if record.index in (100, 1500):
            counts[record.index] = elements()
    assert counts[1500] <= counts[100] + 5
