"""EPCIS 2.0 export, import, validation and event hash IDs."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pendulum
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.catalogue import BusinessReference, LocationKind, LocationProfile, Party, PartyKind
from medinv.epcis import (
    MAPPING,
    EpcisEventError,
    ExportOptions,
    SchemaValidator,
    check_event,
    document_chunks,
    event_hash_id,
    export_chunks,
    export_events,
    import_document,
    movement_event,
    read_document,
    reversal_event,
    write_document,
)
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.status import StockStatus

# GS1's schema and examples are test data kept beside the repository (``../shared``),
# or where MEDINV_EPCIS_DIR says; under CI=true they must be there.
_REPO = Path(__file__).resolve().parents[2]
SHARED = next(
    (
        Path(candidate)
        for candidate in (
            os.environ.get("MEDINV_EPCIS_DIR"),
            _REPO.parent / "shared" / "epcis",
            _REPO.parent.parent / "shared" / "epcis",
        )
        if candidate and (Path(candidate) / "EPCIS-JSON-Schema.json").is_file()
    ),
    _REPO.parent / "shared" / "epcis",
)
SCHEMA = SHARED / "EPCIS-JSON-Schema.json"
if os.environ.get("CI") == "true" and not SCHEMA.is_file():  # pragma: no cover
    raise RuntimeError(f"CI=true: the GS1 EPCIS test data is missing ({SHARED})")
needs_schema = pytest.mark.skipif(not SCHEMA.is_file(), reason="GS1 EPCIS schema not found")

AT = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
LOT = ItemKey("04006381333931", lot="L2026A")
SER = ItemKey("04006381333931", lot="L7", serial="SN-001")
HIBC = ItemKey("HIBCC:A123BJC5D6E71", lot="H1")
STORE, WARD = Location.parse("CHU/Store/A1"), Location.parse("CHU/Ward/B2")
PATIENT = "PATIENT:P-00042"


@pytest.fixture(scope="module")
def validator() -> SchemaValidator:
    if not SCHEMA.is_file():
        pytest.skip("GS1 EPCIS schema not found")
    return SchemaValidator(SCHEMA)


def _every_kind() -> list[Movement]:
    """A history using every movement kind, every status and all three identifier kinds."""
    rec = Movement.receipt(
        "m1",
        item=LOT,
        quantity=40,
        to=STORE,
        occurred_at=AT,
        actor="ana",
        expiry="2027-06-30",
        reference="DN-1",
        counterparty="SUPPLIER:ACME",
        business_references=["desadv:DN 1", "po:4711"],
    )
    ser = Movement.receipt("m2", item=SER, quantity=1, to=STORE, occurred_at=AT, actor="ana")
    hibc = Movement.receipt(
        "m3",
        item=HIBC,
        quantity=5,
        to=STORE,
        occurred_at=AT,
        actor="ana",
        status=StockStatus.QUARANTINE,
    )
    later = AT.add(hours=1)
    return [
        rec,
        ser,
        hibc,
        Movement.transfer(
            "m4", item=LOT, quantity=10, source=STORE, to=WARD, occurred_at=later, actor="ana"
        ),
        Movement.status_change(
            "m5",
            item=HIBC,
            quantity=5,
            at=STORE,
            from_status=StockStatus.QUARANTINE,
            to_status=StockStatus.AVAILABLE,
            occurred_at=later,
            actor="bo",
        ),
        Movement.status_change(
            "m6",
            item=LOT,
            quantity=2,
            at=STORE,
            from_status=StockStatus.AVAILABLE,
            to_status=StockStatus.HOLD,
            occurred_at=later,
            actor="bo",
            reason="investigation",
        ),
        Movement.status_change(
            "m7",
            item=LOT,
            quantity=1,
            at=STORE,
            from_status=StockStatus.HOLD,
            to_status=StockStatus.RECALLED,
            occurred_at=later,
            actor="bo",
            business_references=["recall:FSN-9"],
        ),
        Movement.status_change(
            "m8",
            item=LOT,
            quantity=1,
            at=STORE,
            from_status=StockStatus.HOLD,
            to_status=StockStatus.DAMAGED,
            occurred_at=later,
            actor="bo",
        ),
        Movement.issue(
            "m9",
            item=LOT,
            quantity=3,
            source=STORE,
            occurred_at=later,
            actor="ana",
            counterparty="CUSTOMER:CLINIC-2",
        ),
        Movement.consumption(
            "m10",
            item=SER,
            quantity=1,
            source=STORE,
            occurred_at=later,
            actor="ana",
            reference="PAT-REF-99817",
            counterparty=PATIENT,
            reason="implanted in P-00042",
        ),
        Movement.return_(
            "m11",
            item=SER,
            quantity=1,
            to=STORE,
            occurred_at=later.add(hours=1),
            actor="ana",
            reference="P-00042 returned",
        ),
        Movement.adjustment(
            "m12",
            item=LOT,
            change=-2,
            at=WARD,
            occurred_at=later,
            actor="ana",
            reason="count variance",
            business_references=["stocktake:ST-1"],
        ),
        Movement.scrap(
            "m13",
            item=LOT,
            quantity=1,
            source=STORE,
            status=StockStatus.DAMAGED,
            occurred_at=later,
            actor="ana",
            reason="broken",
        ),
        Movement.consumption(
            "m14",
            item=LOT,
            quantity=1,
            source=WARD,
            occurred_at=later,
            actor="ana",
            business_references=["procedure:OP-77"],
        ),
    ]


def _ledger(catalogue: bool = True) -> Ledger:
    store = MemoryStore()
    if catalogue:
        cat = store.catalogue
        cat.put_location(
            LocationProfile(path="CHU", kind=LocationKind.STORE, gln="4012345000009"),
            valid_from=AT.subtract(days=1),
        )
        cat.put_party(
            Party(kind=PartyKind.SUPPLIER, id="ACME", gln="0614141000012"),
            valid_from=AT.subtract(days=1),
        )
        cat.put_party(
            Party(kind=PartyKind.CUSTOMER, id="CLINIC-2", gln="4000001000005"),
            valid_from=AT.subtract(days=1),
        )
    ledger = Ledger(store)
    movements = _every_kind()
    ledger.post(movements)
    ledger.post(
        [Movement.reversal("m15", of=movements[8], occurred_at=AT.add(hours=3), actor="bo")]
    )
    return ledger


def _document(ledger: Ledger, options: ExportOptions | None = None) -> dict[str, Any]:
    text = "".join(export_chunks(ledger, creation_date=AT, options=options))
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _options(ledger: Ledger) -> ExportOptions:
    return ExportOptions(catalogue=ledger.store.catalogue)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- export


@needs_schema
def test_every_kind_exports_to_a_valid_document(validator: SchemaValidator) -> None:
    ledger = _ledger()
    document = _document(ledger, _options(ledger))
    validator.validate(document)
    events = document["epcisBody"]["eventList"]
    assert len(events) == 15
    for event in events:  # the exporter's own pre-hash equals the general algorithm's
        assert event_hash_id(event, {"medinv": "urn:medinv:epcis:"}) == event["eventID"]
    by_kind = {e["medinv:kind"]: e for e in events if "errorDeclaration" not in e}
    assert set(by_kind) == {k.value for k in MovementKind} - {"REVERSAL"}
    assert by_kind["RECEIPT"]["bizStep"] == "receiving"
    assert by_kind["ISSUE"]["disposition"] == "in_transit"
    assert by_kind["SCRAP"]["action"] == "DELETE"
    receipt = events[0]
    assert receipt["readPoint"] == {"id": "https://id.gs1.org/414/4012345000009/254/Store%2FA1"}
    assert receipt["sourceList"] == [
        {"type": "possessing_party", "source": "https://id.gs1.org/417/0614141000012"}
    ]
    assert {"type": "po", "bizTransaction": "urn:medinv:bt:po:4711"} in receipt[
        "bizTransactionList"
    ]
    assert events[1]["epcList"] == ["https://id.gs1.org/01/04006381333931/21/SN-001"]
    assert events[2]["quantityList"][0]["epcClass"] == "urn:medinv:udi:HIBCC:A123BJC5D6E71:lot:H1"
    declared = events[-1]
    assert declared["errorDeclaration"]["medinv:reversalID"] == "m15"
    assert declared["eventID"] == events[8]["eventID"]


def test_mapping_table_covers_every_kind_and_status() -> None:
    for kind in MovementKind:
        if kind is not MovementKind.REVERSAL:
            assert set(MAPPING[kind]) == set(StockStatus)


def test_mapping_table_is_the_one_in_the_docs() -> None:
    page = Path(__file__).resolve().parents[2] / "docs" / "explanation" / "epcis-mapping.md"
    rows = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in MovementKind.__members__:
            rows.add(tuple(cells))
    expected = {
        (kind.value, status.value, m.biz_step, m.disposition, m.action)
        for kind, per in MAPPING.items()
        for status, m in per.items()
    }
    assert rows == expected


def test_no_patient_reference_in_an_export() -> None:
    ledger = _ledger()
    text = "".join(export_chunks(ledger, creation_date=AT, options=_options(ledger)))
    for secret in ("P-00042", "PAT-REF-99817", "PATIENT", "implanted"):
        assert secret not in text


def test_epc_urns_only_with_a_company_prefix_length() -> None:
    ledger = _ledger(catalogue=False)
    options = ExportOptions(company_prefix_lengths={"0400638": 7})
    events = list(export_events(ledger, options=options))
    assert events[0]["quantityList"][0]["epcClass"] == "urn:epc:class:lgtin:4006381.033393.L2026A"
    assert events[1]["epcList"] == ["urn:epc:id:sgtin:4006381.033393.SN-001"]
    assert "readPoint" not in events[0]
    # the hash normalises EPC URNs to Digital Link: the same eventID either way
    plain = list(export_events(ledger))
    assert [e["eventID"] for e in events] == [e["eventID"] for e in plain]
    with pytest.raises(InvalidValueError, match="6 to 12 digits"):
        ExportOptions(company_prefix_lengths={"04": 3}).prefix_length("04006381333931")


def test_range_of_positions_and_streamed_chunks() -> None:
    ledger = _ledger()
    events = list(export_events(ledger, after_position=3, up_to_position=5))
    ids = [e["medinv:movementID"] for e in events]
    assert ids == ["urn:medinv:movement:m4", "urn:medinv:movement:m5"]
    out = io.StringIO()
    chunks = document_chunks(iter([]), creation_date=AT)
    assert write_document(chunks, out) == len(out.getvalue())
    assert json.loads(out.getvalue())["epcisBody"]["eventList"] == []


def test_a_reversal_alone_is_refused_by_movement_event() -> None:
    ledger = _ledger()
    reversal = ledger.movement("m15")
    assert reversal is not None
    with pytest.raises(InvalidValueError, match="error declaration"):
        movement_event(reversal.movement)


# ----------------------------------------------------------------------------- event hash


def _published(event: dict[str, Any]) -> dict[str, Any]:
    return {"@context": None, **event}


# Test vectors of the CBV 2.0 event hash, from the published examples of GS1's EPCIS
# Event Hash Generator (tests/examples: epcisDocWithShippingAndTransportingEvent and
# ReferenceEventHashAlgorithm), restated as Python objects.
VECTORS: list[tuple[dict[str, Any], dict[str, str], str]] = [
    (
        {
            "type": "ObjectEvent",
            "eventTime": "2022-02-16T12:50:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": ["urn:epc:id:sscc:4012345.1112223334"],
            "action": "OBSERVE",
            "bizStep": "departing",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00022.0"},
            "bizTransactionList": [
                {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:ASN1099"}
            ],
            "sourceList": [{"type": "possessing_party", "source": "urn:epc:id:pgln:4012345.00000"}],
            "destinationList": [
                {"type": "possessing_party", "destination": "urn:epc:id:pgln:4023333.00000"}
            ],
        },
        {},
        "ni:///sha-256;7a82a68b0f9c78bebb1c729d950edbf1fd40c56f3351906020d2d67d5dffbc72?ver=CBV2.0",
    ),
    (
        {
            "type": "ObjectEvent",
            "eventTime": "2022-02-16T16:50:00.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": ["urn:epc:id:sscc:4012345.1112223334"],
            "action": "OBSERVE",
            "bizStep": "transporting",
            "readPoint": {"id": "geo:47.506694,11.104301"},
        },
        {},
        "ni:///sha-256;1d2ec4174d8f0b5988a44795b31a636e8bc7f88ebc4bdc0d35c14f215a842e80?ver=CBV2.0",
    ),
    (
        {
            "type": "ObjectEvent",
            "eventTime": "2020-03-04T11:00:30.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "recordTime": "2020-03-04T11:00:30.999+01:00",
            "epcList": [
                "urn:epc:id:sscc:4012345.0000000333",
                "urn:epc:id:sscc:4012345.0000000111",
                "urn:epc:id:sscc:4012345.0000000222",
            ],
            "action": "OBSERVE",
            "bizStep": "departing",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
            "example:myField1": {"example:mySubField1": "2", "example:mySubField2": "5"},
            "example:myField2": "0",
            "example:myField3": {"example:mySubField3": ["3", "1"]},
        },
        {"example": "https://ns.example.com/epcis/"},
        "ni:///sha-256;6ae96341e0acc6d7a261364751f60e68278a81cdf51da0abb6b4e617014e39d7?ver=CBV2.0",
    ),
]


@pytest.mark.parametrize(("event", "namespaces", "expected"), VECTORS)
def test_event_hash_matches_the_published_examples(
    event: dict[str, Any], namespaces: dict[str, str], expected: str
) -> None:
    assert event_hash_id(event, namespaces) == expected


def test_event_hash_ignores_order_id_and_record_time() -> None:
    event, namespaces, expected = VECTORS[2]
    shuffled = dict(reversed(list(event.items())))
    shuffled["eventID"] = "urn:uuid:whatever"
    shuffled["errorDeclaration"] = {"declarationTime": "2021-01-01T00:00:00Z"}
    assert event_hash_id(shuffled, namespaces) == expected
    changed = {**event, "action": "ADD"}
    assert event_hash_id(changed, namespaces) != expected


@st.composite
def _movements(draw: st.DrawFn) -> Movement:
    kind = draw(st.sampled_from(["receipt", "issue", "transfer", "scrap", "adjustment"]))
    lot = draw(st.text(alphabet="ABCXYZ0123-/:%! ", min_size=1, max_size=20).filter(str.strip))
    serial = draw(st.none() | st.text(alphabet="abc123!*+", min_size=1, max_size=20))
    device = draw(st.sampled_from(["04006381333931", "HIBCC:A123BJC5D6E71"]))
    item = ItemKey(device, lot=lot, serial=serial)
    quantity = 1 if serial else draw(st.integers(1, 2**62))
    zone = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata"]))
    at = pendulum.datetime(2026, 3, 29, 0, 59, tz=zone).add(
        microseconds=draw(st.integers(0, 10**10) | st.sampled_from([499_500, 999_500, 1_500]))
    )
    common: dict[str, Any] = {"item": item, "quantity": quantity, "occurred_at": at, "actor": "a"}
    common["reason"] = draw(st.none() | st.text(alphabet=" 0123.eEinfa-_", max_size=8))
    common["business_references"] = draw(
        st.lists(st.sampled_from(["po:4711", "desadv:DN 1/2", "procedure:OP-7", "recall:F"]))
    )
    mid = draw(
        st.sampled_from(["7", "007", "7.0", " 7", "1e3", "1000"])
        | st.text(alphabet="abc-0123456789. ", min_size=1, max_size=30).filter(str.strip)
    )
    if kind == "receipt":
        return Movement.receipt(mid, to=STORE, counterparty="SUPPLIER:ACME", **common)
    if kind == "issue":
        return Movement.issue(mid, source=STORE, counterparty="CUSTOMER:CLINIC-2", **common)
    if kind == "transfer":
        return Movement.transfer(mid, source=STORE, to=WARD, **common)
    if kind == "adjustment":
        common["reason"] = (common["reason"] or "").strip() or "x"
        return Movement.adjustment(
            mid, at=WARD, change=-quantity, **{k: v for k, v in common.items() if k != "quantity"}
        )
    return Movement.scrap(mid, source=STORE, **common)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_movements(), _movements())
def test_event_ids_are_stable_and_tell_movements_apart(first: Movement, second: Movement) -> None:
    options = _options(_ledger())
    one, again = movement_event(first, options), movement_event(first, options)
    assert one["eventID"] == again["eventID"]
    # the exporter's own pre-hash equals the general algorithm's on the finished event
    assert event_hash_id(one, {"medinv": "urn:medinv:epcis:"}) == one["eventID"]
    if first.id != second.id:  # one ledger holds each id once: ids tell events apart
        assert movement_event(second, options)["eventID"] != one["eventID"]


def test_event_ids_are_the_same_from_another_store(tmp_path: Path) -> None:
    from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415

    memory = Ledger(MemoryStore())
    with SqliteStore(tmp_path / "l.db") as store:
        sqlite = Ledger(store)
        for ledger in (memory, sqlite):
            ledger.post(_every_kind())
        ids = [[e["eventID"] for e in export_events(led)] for led in (memory, sqlite)]
    assert ids[0] == ids[1]


# ----------------------------------------------------------------------------- validation


@needs_schema
@pytest.mark.parametrize("path", sorted(SHARED.glob("examples/*.jsonld")), ids=lambda p: p.name)
def test_official_examples_validate(validator: SchemaValidator, path: Path) -> None:
    validator.schema_only(json.loads(path.read_text(encoding="utf-8")))


def _good_event() -> dict[str, Any]:
    return movement_event(_every_kind()[0])


BAD = [
    ("bizStep", "assemble", "bizStep"),
    ("readPoint", {"id": "Main store"}, "readPoint"),
    (
        "quantityList",
        [{"epcClass": "https://id.gs1.org/01/04006381333931/10/L1", "quantity": -5}],
        "quantity",
    ),
    ("epcList", ["https://id.gs1.org/01/400638133393/21/S1"], "epcList[0]"),
    ("epcList", ["https://id.gs1.org/01/04006381333931/10/L1"], "epcList[0]"),
    ("epcList", ["urn:epc:class:lgtin:4006381.033393.L1"], "epcList[0]"),
    ("epcList", ["https://id.gs1.org/01/04006381333932/21/S1"], "epcList[0]"),
    ("epcList", ["https://id.gs1.org/01/04006381333931/21/S1/10/L1"], "epcList[0]"),
    (
        "quantityList",
        [{"epcClass": "https://id.gs1.org/01/04006381333931/21/S1"}],
        "quantityList[0].epcClass",
    ),
    ("bizLocation", {"id": "https://id.gs1.org/414/4012345000008"}, "bizLocation.id"),
]


@needs_schema
@pytest.mark.parametrize(
    ("field", "value", "where"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_hand_built_invalid_events_are_refused(
    validator: SchemaValidator, field: str, value: object, where: str
) -> None:
    event = _good_event()
    validator.validate_event(event)
    event[field] = value
    with pytest.raises(EpcisEventError) as refused:
        validator.validate_event(event)
    assert where in str(refused.value)


def test_medinv_checks_name_the_event_and_field() -> None:
    event = _good_event()
    event["quantityList"] = [{"epcClass": "https://id.gs1.org/01/04006381333931", "quantity": 0}]
    with pytest.raises(
        EpcisEventError, match=r"quantityList\[0\]\.quantity: a quantity is above 0"
    ):
        check_event(event)


def test_a_schema_that_cannot_be_read_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="cannot read"):
        SchemaValidator(tmp_path / "missing.json")
    with pytest.raises(InvalidValueError, match="does not compile"):
        SchemaValidator({"type": 12})


# ----------------------------------------------------------------------------- import


def test_round_trip_reproduces_balances_and_positions() -> None:
    source = _ledger()
    text = "".join(export_chunks(source, creation_date=AT, options=_options(source)))
    target = Ledger(MemoryStore())
    result = import_document(target, read_document(text), actor="importer")
    assert len(result.posted) == 15
    assert not result.skipped

    def positions(ledger: Ledger) -> list[tuple[object, ...]]:
        return [
            (p.item, p.location, p.status, p.quantity, p.expiry, p.received_at)
            for p in ledger.positions()
        ]

    assert positions(target) == positions(source)
    assert target.verify().ok
    again = import_document(target, read_document(io.StringIO(text)), actor="someone else")
    assert not again.posted
    assert len(again.skipped) == 15
    # the same export from the imported ledger carries the same events (but its own ids)
    consumption = [
        m for m in (r.movement for r in target.history()) if m.kind.value == "CONSUMPTION"
    ]
    assert all(m.counterparty is None for m in consumption)


def test_import_refuses_tampered_and_foreign_events() -> None:
    ledger = _ledger()
    document = _document(ledger)
    document["epcisBody"]["eventList"][0]["quantityList"][0]["quantity"] = 41
    with pytest.raises(EpcisEventError, match="event 0, field eventID"):
        import_document(Ledger(MemoryStore()), document, actor="x")
    foreign = {
        "@context": [],
        "type": "EPCISDocument",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-01-01T00:00:00Z",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "OBSERVE",
                    "epcList": ["https://id.gs1.org/01/04006381333931/21/S1"],
                }
            ]
        },
    }
    with pytest.raises(EpcisEventError, match="only medinv's own exports import"):
        import_document(Ledger(MemoryStore()), foreign, actor="x")
    with pytest.raises(InvalidValueError, match="not an EPCISDocument"):
        read_document("{}")
    with pytest.raises(InvalidValueError, match="not an EPCIS JSON document"):
        read_document("{")


# ----------------------------------------------------------------------------- command line


@needs_schema
def test_cli_export_then_import(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from medinv.adapters.sqlite import SqliteStore  # noqa: PLC0415
    from medinv.cli import main  # noqa: PLC0415

    source, target, out = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "out.jsonld"
    with SqliteStore(source) as store:
        Ledger(store).post(_every_kind())
    with SqliteStore(target):
        pass
    common = ["--db", str(source), "--creation-date", "2026-12-04T10:00:00Z"]
    assert (
        main(
            [
                "export",
                "epcis",
                *common,
                "--output",
                str(out),
                "--schema-file",
                str(SCHEMA),
                "--prefix-length",
                "0400638=7",
            ]
        )
        == 0
    )
    assert main(["export", "epcis", *common, "--after", "2", "--up-to", "3"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert [e["medinv:movementID"] for e in one["epcisBody"]["eventList"]] == [
        "urn:medinv:movement:m3"
    ]
    assert (
        main(
            [
                "import",
                "epcis",
                str(out),
                "--db",
                str(target),
                "--actor",
                "bo",
                "--schema-file",
                str(SCHEMA),
                "--json",
            ]
        )
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)["posted"]) == 14
    assert main(["import", "epcis", str(out), "--db", str(target), "--actor", "bo"]) == 0
    assert "posted 0 movements, skipped 14" in capsys.readouterr().out
    with SqliteStore(source) as a, SqliteStore(target) as b:
        assert [(p.item, p.quantity) for p in Ledger(a).positions()] == [
            (p.item, p.quantity) for p in Ledger(b).positions()
        ]
    assert (
        main(["import", "epcis", str(tmp_path / "none.json"), "--db", str(target), "--actor", "bo"])
        == 2
    )
    assert "cannot read" in capsys.readouterr().err
    assert main(["export", "epcis", *common, "--creation-date", "yesterday"]) == 2


# ----------------------------------------------------------------------------- edges

MORE_BAD = [
    ("epcList", ["https://id.gs1.org/01/04006381333931/21"], "pairs of AI and value"),
    ("epcList", ["https://id.gs1.org/00/040123450000001112"], "starts with /01/"),
    ("epcList", ["https://id.gs1.org/01/04006381333931/17/270630/21/S"], "only AIs 22, 10"),
    ("epcList", ["https://id.gs1.org/01/04006381333931/21/" + "S" * 21], "1 to 20"),
    ("epcList", ["urn:epc:id:sgtin:40063.8103339.S1"], "13 digits together"),
    ("epcList", [12], "an EPC is a URI"),
    ("quantityList", ["x"], "not an object"),
    ("quantityList", [{"epcClass": 5}], "an EPC class is a URI"),
    ("quantityList", [{"epcClass": "urn:epc:id:sgtin:4006381.033393.S1"}], "goes in epcList"),
    (
        "quantityList",
        [{"epcClass": "https://id.gs1.org/01/04006381333931", "quantity": "2"}],
        "a quantity is a number",
    ),
    ("readPoint", {"id": "https://id.gs1.org/414/4012345000009/10/X"}, "only a GLN extension"),
    ("readPoint", {"id": "https://id.gs1.org/8004/4012345000009"}, "a place is /414/"),
    (
        "sourceList",
        [{"type": "owning_party", "source": "https://id.gs1.org/417/401234500000"}],
        "a GLN has 13 digits",
    ),
]


@pytest.mark.parametrize(
    ("field", "value", "message"), MORE_BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(MORE_BAD)]
)
def test_more_events_medinv_refuses(field: str, value: object, message: str) -> None:
    event = _good_event()
    check_event(event)
    event[field] = value
    with pytest.raises(EpcisEventError, match=message):
        check_event(event, 4)


def test_hash_of_standard_fields_medinv_does_not_write() -> None:
    base: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": "2020-01-01T00:00:00Z",
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
    }
    urn_and_web: list[tuple[dict[str, Any], dict[str, Any]]] = [
        ({"bizStep": "urn:epcglobal:cbv:bizstep:receiving"}, {"bizStep": "receiving"}),
        (
            {"persistentDisposition": {"set": ["urn:epcglobal:cbv:disp:completeness_verified"]}},
            {"persistentDisposition": {"set": ["completeness_verified"]}},
        ),
        (
            {"epcList": ["https://example.com/01/4006381333931/10/L/21/S?x=1"]},
            {"epcList": ["https://id.gs1.org/01/04006381333931/21/S"]},
        ),
        (
            {
                "quantityList": [
                    {"epcClass": "urn:epc:idpat:sgtin:4006381.033393.*", "quantity": 2.0}
                ]
            },
            {"quantityList": [{"epcClass": "https://id.gs1.org/01/04006381333931", "quantity": 2}]},
        ),
        (
            {"readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"}},
            {"readPoint": {"id": "https://id.gs1.org/414/4012345000016"}},
        ),
        (
            {"example:note": {"#text": " 1.50 ", "example:at": "2020-01-01T01:00:00+01:00"}},
            {"example:note": {"example:at": "2020-01-01T01:00:00+01:00", "#text": "1.5"}},
        ),
        (
            {"example:flag": True, "example:list": ["b", "a"]},
            {"example:list": ["a", "b"], "example:flag": "true"},
        ),
    ]
    spaces = {"example": "https://ns.example.com/"}
    for written, same in urn_and_web:
        assert event_hash_id({**base, **written}, spaces) == event_hash_id({**base, **same}, spaces)
    assert event_hash_id({**base, "eventTime": "not a time"}) != event_hash_id(base)
    naive = {**base, "eventTime": "2020-01-01T00:00:00"}
    assert event_hash_id(naive) == event_hash_id(base)
    # extension values keep their time as written (as the reference generator does)
    moved = {**base, "example:eventTime": "2020-01-01T01:00:00+01:00"}
    assert event_hash_id(moved) != event_hash_id({**moved, "example:eventTime": base["eventTime"]})
    numbers = [{**base, "example:n": text} for text in ("inf", "nan", "1e400", "0x1")]
    assert len({event_hash_id(e, spaces) for e in numbers}) == 4


def test_identifiers_read_back() -> None:
    from medinv.epcis._ids import item_of  # noqa: PLC0415

    assert item_of("urn:epc:id:sgtin:4006381.033393.S%2F1", instance=True, lot="L") == ItemKey(
        "04006381333931", lot="L", serial="S/1"
    )
    assert item_of("urn:epc:idpat:sgtin:4006381.033393.*", instance=False) == ItemKey(
        "04006381333931"
    )
    assert item_of("urn:medinv:udi:HIBCC:A123BJC5D6E71:ser:X1", instance=True) == ItemKey(
        "HIBCC:A123BJC5D6E71", serial="X1"
    )
    assert item_of("urn:medinv:udi:HIBCC:A123BJC5D6E71", instance=False) == ItemKey(
        "HIBCC:A123BJC5D6E71"
    )
    for uri, instance in (
        ("https://id.gs1.org/01/04006381333931/10/L", True),
        ("urn:epc:id:sgtin:4006381.033393.S", False),
        ("urn:medinv:udi:HIBCC:A123BJC5D6E71:lot:L", True),
        ("urn:uuid:1234", False),
    ):
        with pytest.raises(ValueError):  # noqa: PT011  (each names its own reason)
            item_of(uri, instance=instance)


def _first_event_document() -> dict[str, Any]:
    return _document(_ledger(catalogue=False))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("medinv:kind", "TELEPORT", "unknown movement kind"),
        ("medinv:kind", 5, "expected text"),
        ("medinv:toLocation", "", "medinv:toLocation"),
        ("bizTransactionList", [{"type": "po", "bizTransaction": "urn:x:1"}], "neither a CBV"),
        ("quantityList", [{"epcClass": "urn:uuid:1", "quantity": 1}], "quantityList"),
        (
            "quantityList",
            [{"epcClass": "https://id.gs1.org/01/04006381333931", "quantity": 1.5}],
            "field event",
        ),
    ],
)
def test_import_names_the_event_and_field(field: str, value: object, message: str) -> None:
    document = _first_event_document()
    event = document["epcisBody"]["eventList"][0]
    event[field] = value
    del event["eventID"]
    with pytest.raises(EpcisEventError, match=message):
        import_document(Ledger(MemoryStore()), document, actor="x")


def test_import_reads_issuer_references_and_refuses_odd_documents() -> None:
    ledger = Ledger(MemoryStore())
    ledger.post(
        [
            Movement.receipt(
                "a",
                item=LOT,
                quantity=2,
                to=STORE,
                occurred_at=AT,
                actor="x",
                business_references=[
                    BusinessReference(type="po", id="4711/A", issuer_gln="0614141000012")
                ],
            )
        ]
    )
    document = _document(ledger)
    assert document["epcisBody"]["eventList"][0]["bizTransactionList"] == [
        {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141000012:4711%2FA"}
    ]
    target = Ledger(MemoryStore())
    import_document(target, document, actor="y")
    (stored,) = target.history()
    assert stored.movement.business_references == (
        BusinessReference(type="po", id="4711/A", issuer_gln="0614141000012"),
    )
    document["epcisBody"]["eventList"] = ["not an event"]
    with pytest.raises(EpcisEventError, match="an event is a JSON object"):
        import_document(target, document, actor="y")
    broken = _document(_ledger(catalogue=False))
    declared = broken["epcisBody"]["eventList"][-1]
    declared["errorDeclaration"]["declarationTime"] = "whenever"
    with pytest.raises(EpcisEventError, match="errorDeclaration"):
        import_document(Ledger(MemoryStore()), broken, actor="y")


def test_small_caches_give_the_same_events(monkeypatch: pytest.MonkeyPatch) -> None:
    from medinv.epcis import _export  # noqa: PLC0415

    ledger = _ledger()
    expected = list(export_events(ledger, options=_options(ledger)))
    monkeypatch.setattr(_export, "_CACHE_LIMIT", 1)
    assert list(export_events(ledger, options=_options(ledger))) == expected


# ----------------------------------------------------------------------------- export text
# The document export_chunks writes is pinned: its SHA-256 was taken from the exporter
# that built an event dict per movement and json-encoded it (before the text was
# rendered from cached fragments, for benchmarks/bench_epcis.py).

MA = ItemKey("MA:MA.156.M0.100350.01004YA10017", lot="MA-Lot 1")
LONG = Location.parse("CHU/Store/Aisle-With-A-Very-Long-Name/Bin-7")


def _pinned_ledger() -> Ledger:
    """Every kind, status and identifier kind, a reversal, odd ids, times and texts."""
    ledger = _ledger()
    cat = ledger.store.catalogue  # type: ignore[attr-defined]
    later = AT.add(hours=5)
    cat.put_location(  # the ward gets its own GLN later: older movements keep the old one
        LocationProfile(path="CHU/Ward", kind=LocationKind.DEPARTMENT, gln="4012345000016"),
        valid_from=later,
    )
    cat.put_party(  # the clinic's GLN is gone later on: no destination from then on
        Party(kind=PartyKind.CUSTOMER, id="CLINIC-2"), valid_from=later.add(hours=1)
    )
    ny = pendulum.datetime(2026, 11, 23, 12, 30, 15, tz="America/New_York")
    issuer = BusinessReference(type="po", id="4711/A é", issuer_gln="0614141000012")
    common: dict[str, Any] = {"actor": "ana"}
    ledger.post(
        [
            Movement.receipt(
                "m 16/ü",
                item=MA,
                quantity=2**62,
                to=LONG,
                occurred_at=ny.add(microseconds=999_600),
                counterparty="SUPPLIER:NOBODY",
                business_references=[issuer, "desadv:DN 9"],
                expiry="2030-01-31",
                reason=' say "7.50" \\ é ',
                **common,
            ),
            Movement.receipt(
                "007",
                item=ItemKey("04006381333931", lot="LOT/1 a", serial="S*1+(2)"),
                quantity=1,
                to=WARD,
                occurred_at=AT.add(hours=6, microseconds=1_500),
                expiry="2028-02-29",
                counterparty="SITE:B",
                **common,
            ),
            Movement.transfer(
                "7.0",
                item=MA,
                quantity=5,
                source=LONG,
                to=WARD,
                status=StockStatus.AVAILABLE,
                occurred_at=AT.add(hours=6, microseconds=499_500),
                **common,
            ),
            Movement.issue(
                "m19",
                item=LOT,
                quantity=1,
                source=STORE,
                occurred_at=AT.add(hours=7),
                counterparty="CUSTOMER:CLINIC-2",
                business_references=["po:4712"],
                **common,
            ),
            Movement.consumption(
                "m20",
                item=MA,
                quantity=1,
                source=LONG,
                occurred_at=AT.add(hours=7),
                counterparty=PATIENT,
                reason="procedure 1e3",
                **common,
            ),
        ]
    )
    posted = ledger.movement("7.0")
    assert posted is not None
    ledger.post(
        [Movement.reversal("m21", of=posted.movement, occurred_at=AT.add(hours=8), **common)]
    )
    return ledger


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _pinned_documents() -> dict[str, str]:
    ledger = _pinned_ledger()
    catalogue = ledger.store.catalogue  # type: ignore[attr-defined]
    urns = {"0400638": 7, "04006381333931": 7}
    options = {
        "catalogue": ExportOptions(catalogue=catalogue),
        "epc urns": ExportOptions(catalogue=catalogue, company_prefix_lengths=urns),
        "plain": None,
    }
    return {
        name: "".join(export_chunks(ledger, creation_date=AT, options=given))
        for name, given in options.items()
    }


PINNED = {
    "catalogue": "7cf77a23180bbf1f7f7d5df56b110c56df4fceee3f385c8491991b4248ebaa03",
    "epc urns": "dae4fa17cd972ea1aae617f82dfd89c518dfe19db38de8ffd0fa3d97e0432b93",
    "plain": "60ff432d44a10a4619618f32ea3471ad2bc70b9f1793d2f56b74cbb3f682536a",
}


def test_the_exported_document_is_pinned() -> None:
    documents = _pinned_documents()
    assert {name: _sha(text) for name, text in documents.items()} == PINNED


_ODD_TIMES = [
    pendulum.datetime(2026, 10, 25, 2, 30, tz="Europe/Paris", fold=0),  # +02:00
    pendulum.datetime(2026, 10, 25, 2, 30, tz="Europe/Paris", fold=1),  # +01:00, equal to it
    pendulum.datetime(2026, 11, 23, 3, 59, 59, 999_600, tz="Asia/Kolkata"),
    pendulum.datetime(1890, 1, 1, 12, 0, 30, 123_456, tz="Europe/Paris"),  # +00:09:21
]


@st.composite
def _any_movement(draw: st.DrawFn) -> Movement:
    """Any kind, status, identifier, place, party, reference, time and text."""
    device = draw(st.sampled_from(["04006381333931", "HIBCC:A123BJC5D6E71", str(MA.device)]))
    lot = draw(st.none() | st.text(alphabet="AB01-/:%! ", min_size=1, max_size=8).filter(str.strip))
    serial = draw(st.none() | st.text(alphabet="ab1!*+", min_size=1, max_size=8))
    zone = draw(st.sampled_from(["UTC", "Europe/Paris", "America/New_York"]))
    at = draw(
        st.sampled_from(_ODD_TIMES)
        | st.builds(
            lambda hours, micro: AT.in_tz(zone).add(hours=hours, microseconds=micro),
            st.integers(-2, 9),
            st.sampled_from([0, 1_500, 499_500, 999_600]) | st.integers(0, 10**6),
        )
    )
    places = st.sampled_from([STORE, WARD, LONG, Location.parse("Elsewhere/X")])
    status = draw(st.sampled_from(StockStatus))
    common: dict[str, Any] = {
        "item": ItemKey(device, lot=lot, serial=serial),
        "occurred_at": at,
        "actor": "a",
        "counterparty": draw(
            st.sampled_from([None, "SUPPLIER:ACME", "CUSTOMER:CLINIC-2", "SITE:B", PATIENT])
        ),
        "business_references": draw(
            st.lists(
                st.sampled_from(["po:4711", "desadv:DN 1/2", "procedure:OP-7", "recall:F"])
                | st.just(BusinessReference(type="po", id="9/é", issuer_gln="0614141000012"))
            )
        ),
    }
    reason = draw(st.none() | st.text(alphabet=' 0.eEinfu"\\é', min_size=1, max_size=6))
    quantity = 1 if serial else draw(st.integers(1, 30) | st.integers(1, 2**62))
    mid = draw(st.text(alphabet="ab-07. /%é", min_size=1, max_size=12).filter(str.strip))
    expiry = draw(st.none() | st.sampled_from(["2027-06-30", "2028-02-29"]))
    kind = draw(st.sampled_from(MovementKind).filter(lambda k: k is not MovementKind.REVERSAL))
    source, to = draw(places), draw(places)
    try:
        if kind is MovementKind.RECEIPT:
            made = Movement.receipt(
                mid, to=to, quantity=quantity, status=status, expiry=expiry, reason=reason, **common
            )
        elif kind is MovementKind.RETURN:
            made = Movement.return_(
                mid, to=to, quantity=quantity, status=status, expiry=expiry, reason=reason, **common
            )
        elif kind is MovementKind.ADJUSTMENT:
            change = draw(st.sampled_from([quantity, -quantity]))
            made = Movement.adjustment(
                mid, at=to, change=change, status=status, expiry=expiry, reason="x", **common
            )
        elif kind is MovementKind.TRANSFER:
            made = Movement.transfer(
                mid, source=source, to=to, quantity=quantity, status=status, **common
            )
        elif kind is MovementKind.STATUS_CHANGE:
            made = Movement.status_change(
                mid,
                at=to,
                quantity=quantity,
                from_status=status,
                to_status=draw(st.sampled_from(StockStatus)),
                reason=reason,
                **common,
            )
        elif kind is MovementKind.SCRAP:
            made = Movement.scrap(
                mid, source=source, quantity=quantity, status=status, reason=reason, **common
            )
        elif kind is MovementKind.ISSUE:
            made = Movement.issue(mid, source=source, quantity=quantity, reason=reason, **common)
        else:
            made = Movement.consumption(
                mid, source=source, quantity=quantity, reason=reason, **common
            )
    except InvalidValueError:
        reject()
    return made


_CATALOGUE = _pinned_ledger().store.catalogue  # type: ignore[attr-defined]
_EXPORT_OPTIONS = [
    None,
    ExportOptions(catalogue=_CATALOGUE),
    ExportOptions(catalogue=_CATALOGUE, company_prefix_lengths={"0400638": 7}),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(_any_movement(), min_size=1, max_size=8),
    st.sampled_from(_EXPORT_OPTIONS),
    st.sampled_from([1, 2, 4_096]),
)
def test_event_text_is_the_json_of_the_event(
    movements: list[Movement], options: ExportOptions | None, cache_limit: int
) -> None:
    """The text export_chunks writes equals the JSON of the event dict, whatever is cached."""
    from medinv.epcis import _export  # noqa: PLC0415

    with patch.object(_export, "_CACHE_LIMIT", cache_limit):
        exporter = _export._TextExporter(options)
        for movement in movements:
            event = movement_event(movement, options)
            assert exporter.event_text(movement) == json.dumps(event, ensure_ascii=False)
            reversal = Movement.reversal("undo", of=movement, occurred_at=AT, actor="b")
            declared = reversal_event(reversal, movement, options)
            text = exporter.reversal_text(reversal, movement)
            assert text == json.dumps(declared, ensure_ascii=False)


def test_equal_times_an_hour_apart_are_told_apart() -> None:
    """02:30 before and after the clocks go back are equal datetimes with other offsets."""
    ledger = Ledger(MemoryStore())
    ledger.post(
        [
            Movement.receipt(
                f"f{at.fold}", item=LOT, quantity=1, to=STORE, occurred_at=at, actor="a"
            )
            for at in _ODD_TIMES[:2]
        ]
    )
    document = _document(ledger)
    times = [e["eventTime"] for e in document["epcisBody"]["eventList"]]
    assert times == ["2026-10-25T02:30:00.000+02:00", "2026-10-25T02:30:00.000+01:00"]
    assert json.dumps(document["epcisBody"]["eventList"], ensure_ascii=False) == json.dumps(
        list(export_events(ledger)), ensure_ascii=False
    )


@needs_schema
def test_a_utc_offset_with_seconds_is_written_in_utc(validator: SchemaValidator) -> None:
    # Paris kept local mean time (+00:09:21) until 1911: EPCIS offsets are +hh:mm.
    at = pendulum.datetime(1890, 1, 1, 12, 0, 30, 123_000, tz="Europe/Paris")
    assert at.utcoffset() == pendulum.duration(minutes=9, seconds=21)
    ledger = Ledger(MemoryStore())
    ledger.post(
        [
            Movement.receipt(
                "old",
                item=ItemKey("04006381333931", lot="L1"),
                quantity=1,
                to=STORE,
                occurred_at=at,
                actor="a",
            )
        ]
    )
    document = _document(ledger)
    validator.validate(document)
    (event,) = document["epcisBody"]["eventList"]
    assert event["eventTime"] == "1890-01-01T11:51:09.123+00:00"
    assert pendulum.parse(event["eventTime"]) == at  # the same instant
    assert event["eventTimeZoneOffset"] == "+00:00"
    assert event_hash_id(event, {"medinv": "urn:medinv:epcis:"}) == event["eventID"]
    assert [event] == [
        json.loads(json.dumps(e)) for e in export_events(ledger)
    ]  # the dict path writes the same
