"""The cold chain: storage fit and putaway, readings, detection, exposure, hold and release, EPCIS."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.catalogue import (
    LocationKind,
    LocationProfile,
    Product,
    StorageCondition,
    TemperatureRange,
)
from medinv.coldchain import (
    Direction,
    Excursion,
    ExcursionDetector,
    ExcursionKind,
    ExcursionOpenError,
    ExcursionRule,
    Fit,
    QualityDecision,
    QualityDecisionError,
    Reading,
    ReadingError,
    StorageConditionError,
    StorageOverride,
    Verdict,
    apply_hold_plan,
    check_putaway,
    decide,
    detect_excursions,
    excursion_event,
    excursions_document,
    exposure,
    fit,
    hold_plan,
    override_of,
    putaway,
    read_epcis_sensor_events,
    read_logger_csv,
    release_exposed,
)
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.services import hold
from medinv.status import StockStatus

GTIN = "04006381333931"
COLD = TemperatureRange(low=2, high=8)
FRIDGE = Location.parse("H/Pharmacy/Fridge-1")
SHELF = FRIDGE.child("Shelf-2")
ROOM = Location.parse("H/Pharmacy/Room")
WARD = Location.parse("H/Ward-3")
DAY = pendulum.datetime(2026, 11, 23, tz="UTC")


def at(hour: float) -> pendulum.DateTime:
    return DAY.add(minutes=round(hour * 60))


# --------------------------------------------------------------------------- fit and putaway


def test_a_2_to_8_product_fits_a_3_to_7_room_not_a_15_to_25_room():
    assert fit(COLD, TemperatureRange(low=3, high=7)) is Fit.FITS
    assert fit(COLD, TemperatureRange(low=15, high=25)) is Fit.DOES_NOT_FIT
    assert fit(StorageCondition(temperature=COLD), StorageCondition(temperature=COLD)) is Fit.FITS
    assert fit(COLD, TemperatureRange(low=3)) is Fit.DOES_NOT_FIT  # no upper bound kept


def test_a_side_without_a_condition():
    assert fit(None, TemperatureRange(low=15, high=25)) is Fit.NO_REQUIREMENT
    assert fit(StorageCondition(), None) is Fit.NO_REQUIREMENT
    assert fit(COLD, None) is Fit.LOCATION_UNKNOWN
    assert fit(COLD, StorageCondition(notes=("dry",))) is Fit.LOCATION_UNKNOWN
    assert not Fit.LOCATION_UNKNOWN.allowed
    assert Fit.NO_REQUIREMENT.allowed
    with pytest.raises(InvalidValueError, match="StorageCondition or a TemperatureRange"):
        fit("2-8", None)  # type: ignore[arg-type]


@pytest.fixture
def store():
    with MemoryStore() as store:
        catalogue = store.catalogue
        catalogue.put_product(
            Product(primary_di=GTIN, storage=StorageCondition(temperature=COLD)),
            valid_from="2026-01-01T00:00:00+00:00",
        )
        for path, rng in [(FRIDGE, TemperatureRange(low=3, high=7)), (ROOM, None)]:
            storage = None if rng is None else StorageCondition(temperature=rng)
            catalogue.put_location(
                LocationProfile(path=path, kind=LocationKind.STORE, storage=storage),
                valid_from="2026-01-01T00:00:00+00:00",
            )
        catalogue.put_location(
            LocationProfile(
                path=WARD,
                kind=LocationKind.DEPARTMENT,
                storage=StorageCondition(temperature=TemperatureRange(low=15, high=25)),
            ),
            valid_from="2026-01-01T00:00:00+00:00",
        )
        yield store


def receipt(
    mid: str, lot: str, where: Location, when: pendulum.DateTime, qty: int = 10
) -> Movement:
    return Movement.receipt(
        mid, item=ItemKey(GTIN, lot=lot), quantity=qty, to=where, occurred_at=when, actor="dock"
    )


def test_putaway_into_a_fitting_location_posts(store):
    ledger = Ledger(store)
    result = putaway(ledger, store.catalogue, [receipt("r1", "A", SHELF, at(8))])
    assert result.head.position == 1
    check = check_putaway(store.catalogue, receipt("r1", "A", SHELF, at(8)))
    assert check is not None and check.fit is Fit.FITS  # the shelf inherits the fridge's range


def test_putaway_into_a_warm_room_is_refused_without_override(store):
    ledger = Ledger(store)
    with pytest.raises(StorageConditionError, match=r"Ward-3.*15 to 25 °C.*DOES_NOT_FIT") as e:
        putaway(
            ledger,
            store.catalogue,
            [receipt("r1", "A", FRIDGE, at(8)), receipt("r2", "B", WARD, at(8))],
        )
    assert [c.movement_id for c in e.value.checks] == ["r2"]
    assert ledger.head().position == 0  # the whole batch refused


def test_putaway_into_a_location_without_range_is_refused(store):
    with pytest.raises(StorageConditionError, match=r"no stated range.*LOCATION_UNKNOWN"):
        putaway(Ledger(store), store.catalogue, [receipt("r1", "A", ROOM, at(8))])
    unknown = receipt("r2", "A", Location.parse("Elsewhere"), at(8))
    assert check_putaway(store.catalogue, unknown).fit is Fit.LOCATION_UNKNOWN  # type: ignore[union-attr]


def test_a_second_person_overrides_and_the_movement_records_it(store):
    ledger = Ledger(store)
    override = StorageOverride(reason="fridge defrost, 2 h", approved_by="pharm-bob")
    putaway(
        ledger,
        store.catalogue,
        [receipt("r1", "A", FRIDGE, at(8)), receipt("r2", "B", WARD, at(8))],
        override=override,
    )
    stored = {r.movement.id: r.movement for r in ledger.history()}
    assert override_of(stored["r2"]) == override
    assert override_of(stored["r1"]) is None  # it fitted: unchanged
    assert stored["r1"].reason is None
    transfer = Movement.transfer(
        "t1", item=ItemKey(GTIN, lot="A"), quantity=2, source=FRIDGE, to=WARD,
        occurred_at=at(9), actor="porter", reason="ward stock",
    )  # fmt: skip
    putaway(ledger, store.catalogue, [transfer], override=override)
    moved = ledger.movement("t1")
    assert moved is not None and (moved.movement.reason or "").startswith(
        "ward stock; storage override"
    )
    assert override_of(moved.movement) == override


def test_nobody_approves_their_own_override(store):
    with pytest.raises(InvalidValueError, match="cannot approve their own"):
        putaway(
            Ledger(store),
            store.catalogue,
            [receipt("r2", "B", WARD, at(8))],
            override=StorageOverride(reason="urgent", approved_by="DOCK"),
        )
    with pytest.raises(InvalidValueError):
        StorageOverride(reason=" ", approved_by="bob")


def test_issues_and_products_without_conditions_are_not_checked(store):
    plain = Movement.receipt(
        "p1", item=ItemKey("09501101530003", lot="X"), quantity=1, to=WARD,
        occurred_at=at(8), actor="dock",
    )  # fmt: skip
    assert check_putaway(store.catalogue, plain).fit is Fit.NO_REQUIREMENT  # type: ignore[union-attr]
    issue = Movement.issue(
        "i1", item=ItemKey(GTIN, lot="A"), quantity=1, source=FRIDGE, occurred_at=at(9), actor="x"
    )
    assert check_putaway(store.catalogue, issue) is None


# --------------------------------------------------------------------------- readings

CSV = (
    "sensor,location,time,temperature,unit\n"
    "F1,H/Pharmacy/Fridge-1,2026-11-23T09:00:00+00:00,4.5,C\n"
    "\n"
    "F1,H/Pharmacy/Fridge-1,2026-11-23T09:05:00+00:00,50,F\n"
)


def test_a_logger_csv_reads_in_any_chunks():
    whole = list(read_logger_csv([CSV]))
    assert [(r.sensor, r.location, r.celsius) for r in whole] == [
        ("F1", FRIDGE, 4.5),
        ("F1", FRIDGE, 10.0),
    ]
    for cut in range(len(CSV)):
        assert list(read_logger_csv([CSV[:cut], CSV[cut:]])) == whole
    assert list(read_logger_csv(iter(CSV))) == whole


@pytest.mark.parametrize(
    ("text", "where", "field"),
    [
        ("", "CSV line 1", "header"),
        ("sensor,location,time\n", "CSV line 1", "temperature"),
        ("sensor,location,time,temperature\nF1,H/F,2026-11-23T09:00:00+00:00,warm\n", "CSV line 2", "temperature"),
        ("sensor,location,time,temperature\nF1,H/F,2026-11-23T09:00:00,4\n", "CSV line 2", "time"),
        ("sensor,location,time,temperature\n\nF1,H//F,2026-11-23T09:00:00+00:00,4\n", "CSV line 3", "location"),
        ("sensor,location,time,temperature\n ,H/F,2026-11-23T09:00:00+00:00,4\n", "CSV line 2", "sensor"),
        ("sensor,location,time,temperature,unit\nF1,H/F,2026-11-23T09:00:00+00:00,4,R\n", "CSV line 2", "unit"),
        ("sensor,location,time,temperature\nF1,H/F\n", "CSV line 2", "row"),
        ("sensor,location,time,temperature\nF1,H/F,2026-11-23T09:00:00+00:00,-300\n", "CSV line 2", "temperature"),
    ],
)  # fmt: skip
def test_bad_csv_input_names_line_and_field(text, where, field):
    with pytest.raises(ReadingError) as e:
        list(read_logger_csv([text], source="CSV"))
    assert (e.value.where, e.value.field) == (where, field)
    assert where in str(e.value)


def _epcis_dir() -> Path | None:
    here = Path(__file__).resolve().parents[2]
    for candidate in (
        os.environ.get("MEDINV_EPCIS_DIR"),
        here.parent / "shared" / "epcis",
        here.parent.parent / "shared" / "epcis",
    ):
        if candidate and (Path(candidate) / "EPCIS-JSON-Schema.json").exists():
            return Path(candidate)
    return None


EPCIS = _epcis_dir()
if os.environ.get("CI") == "true" and EPCIS is None:  # pragma: no cover
    raise RuntimeError("CI=true: the GS1 EPCIS test data is not beside the repository")
needs_epcis = pytest.mark.skipif(
    EPCIS is None, reason="the GS1 EPCIS test data is not beside the repository"
)


@needs_epcis
def test_epcis_sensor_events_read_as_readings():
    assert EPCIS is not None
    document = json.loads((EPCIS / "examples" / "SensorDataExample1.jsonld").read_text())
    readings = list(
        read_epcis_sensor_events([document], locations={"urn:epc:id:sgln:4012345.00005.0": FRIDGE})
    )
    assert [r.celsius for r in readings][:3] == [26.0, 26.1, 26.2]
    assert {r.sensor for r in readings} >= {"urn:epc:id:giai:4000001.111"}
    assert readings[0].at == pendulum.parse("2019-04-02T14:05:00+01:00")
    with pytest.raises(ReadingError, match=r"readPoint\.id.*no location is mapped"):
        list(read_epcis_sensor_events([document], locations={}))


def test_bad_epcis_sensor_reports_name_the_path():
    event = {
        "type": "ObjectEvent",
        "eventTime": "2026-11-23T09:00:00Z",
        "readPoint": {"id": "urn:x:fridge"},
        "sensorElementList": [
            {
                "sensorMetadata": {"deviceID": "urn:x:s1"},
                "sensorReport": [{"type": "Temperature", "value": 4, "uom": "XXX"}],
            }
        ],
    }
    with pytest.raises(ReadingError) as e:
        list(read_epcis_sensor_events([event], locations=lambda _p: FRIDGE))
    assert e.value.where == "document 0.sensorElementList[0].sensorReport[0]"
    assert e.value.field == "uom"
    event["sensorElementList"][0]["sensorReport"][0].update(uom="FAR", value=41)  # type: ignore[index]
    (reading,) = read_epcis_sensor_events([event], locations=lambda _p: FRIDGE)
    assert reading.celsius == pytest.approx(5.0)
    del event["readPoint"]
    with pytest.raises(ReadingError, match="readPoint"):
        list(read_epcis_sensor_events([event], locations=lambda _p: FRIDGE))


# --------------------------------------------------------------------------- detection

RULE = ExcursionRule(
    temperature=COLD, max_consecutive=dt.timedelta(minutes=30), max_cumulative=dt.timedelta(hours=1)
)


def series(
    temps: Sequence[float], *, start: float = 8, step_minutes: int = 10, sensor: str = "F1"
) -> list[Reading]:
    return [
        Reading(sensor=sensor, location=FRIDGE, at=at(start + i * step_minutes / 60), celsius=t)
        for i, t in enumerate(temps)
    ]


def test_a_run_longer_than_allowed_is_a_consecutive_excursion():
    found = detect_excursions(series([5, 9, 9, 9, 9, 5]), RULE)  # 08:10 to 08:50 above 8 °C
    (excursion,) = found
    assert (excursion.kind, excursion.direction, excursion.is_open) == (
        ExcursionKind.CONSECUTIVE, Direction.HIGH, False,
    )  # fmt: skip
    assert (excursion.start, excursion.end) == (at(8 + 10 / 60), at(8 + 50 / 60))
    assert excursion.out_of_range == dt.timedelta(minutes=40)
    assert (excursion.min_celsius, excursion.max_celsius, excursion.limit) == (9, 9, 8)
    assert detect_excursions(series([5, 9, 9, 9, 5]), RULE) == []  # exactly 30 min: allowed


def test_short_runs_add_up_to_a_cumulative_excursion():
    temps = [5, 1, 1, 5, 1, 1, 5, 1, 1, 5, 9, 9, 5, 1, 1, 5]  # four 20-minute runs below 2 °C
    assert detect_excursions(series(temps[:10]), RULE) == []  # 60 minutes: allowed
    (cumulative,) = detect_excursions(series(temps), RULE)
    assert (cumulative.kind, cumulative.direction) == (ExcursionKind.CUMULATIVE, Direction.LOW)
    assert len(cumulative.intervals) == 4
    assert cumulative.out_of_range == dt.timedelta(minutes=80)
    assert (cumulative.start, cumulative.end) == (at(8 + 10 / 60), at(10 + 30 / 60))


def test_an_excursion_still_going_is_open():
    detector = ExcursionDetector(RULE)
    assert detector.feed(series([5, 12, 12, 12, 12, 12])) == []
    (still,) = detector.open()
    assert still.is_open and still.end is None and still.observed_to == at(8 + 50 / 60)
    (closed,) = detector.feed(series([4], start=9))
    assert closed.id == still.id and not closed.is_open
    assert detector.open() == []


def test_readings_out_of_order_are_refused():
    detector = ExcursionDetector(RULE)
    detector.feed(series([5, 5]))
    with pytest.raises(InvalidValueError, match="comes before"):
        detector.feed(series([5]))
    with pytest.raises(InvalidValueError, match="comes after"):
        ExcursionDetector(RULE).feed_columns("F1", FRIDGE, [3.0, 1.0], [5.0, 5.0])
    with pytest.raises(InvalidValueError, match="2 times but 1"):
        ExcursionDetector(RULE).feed_columns("F1", FRIDGE, [1.0, 2.0], [5.0])


def test_rules_per_sensor_and_moving_sensors():
    with pytest.raises(InvalidValueError, match="no excursion rule for sensor 'F2'"):
        ExcursionDetector({"F1": RULE}).feed(series([5], sensor="F2"))
    detector = ExcursionDetector(lambda _sensor, _location: RULE)
    detector.feed(series([5]))
    with pytest.raises(InvalidValueError, match="starts again under a new id"):
        detector.feed_columns("F1", WARD, [DAY.add(days=1).timestamp()], [5.0])
    with pytest.raises(InvalidValueError):
        ExcursionRule(temperature="2-8", max_consecutive=dt.timedelta(0))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        ExcursionRule(temperature=COLD, max_consecutive=dt.timedelta(minutes=-1))
    with pytest.raises(InvalidValueError):
        ExcursionDetector("2-8")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- exposure


def _scenario(store: MemoryStore) -> Ledger:
    ledger = Ledger(store)
    ledger.post(
        [
            receipt("a", "A", FRIDGE, at(8)),  # present all along
            receipt("c", "C", FRIDGE, at(8)),  # leaves during the excursion
            receipt("d", "D", FRIDGE, at(8)),  # leaves before it
            receipt("g", "G", SHELF, at(8)),  # below the fridge
            receipt("w", "W", WARD, at(8)),  # elsewhere
            Movement.transfer("d-out", item=ItemKey(GTIN, lot="D"), quantity=10, source=FRIDGE, to=WARD, occurred_at=at(9), actor="x"),
            receipt("b", "B", FRIDGE, at(10.5)),  # arrives during the excursion
            Movement.issue("c-out", item=ItemKey(GTIN, lot="C"), quantity=4, source=FRIDGE, occurred_at=at(10.25), actor="x",
                           counterparty="DEPARTMENT:ICU"),
            Movement.transfer("c-ward", item=ItemKey(GTIN, lot="C"), quantity=6, source=FRIDGE, to=WARD, occurred_at=at(12), actor="x"),
            receipt("e", "E", FRIDGE, at(11.5)),  # arrives after it
        ]
    )  # fmt: skip
    return ledger


def _fridge_excursion(*, closed: bool = True) -> Excursion:
    temps = [5, 12, 12, 12, 12, 12, 12, *([5] if closed else [])]  # 10:00 to 11:00
    detector = ExcursionDetector(RULE)
    found = detector.feed(series(temps, start=9 + 50 / 60)) + detector.open()
    (excursion,) = found
    return excursion


def test_stock_that_entered_during_an_excursion_counts_as_exposed(store):
    ledger = _scenario(store)
    excursion = _fridge_excursion()
    assert (excursion.start, excursion.end) == (at(10), at(11))
    found = exposure(ledger, excursion)
    exposed = {s.item.lot.value: s for s in found.stock}  # type: ignore[union-attr]
    assert sorted(exposed) == ["A", "B", "C", "G"]
    assert exposed["B"].exposed_from == at(10.5)
    assert exposed["A"].exposed_from == at(10)
    assert exposed["C"].most_present == 10 and exposed["C"].on_site == 0
    assert [(d.movement_id, d.quantity) for d in exposed["C"].departures] == [
        ("c-out", 4),
        ("c-ward", 6),
    ]
    assert exposed["C"].departures[0].counterparty == "DEPARTMENT:ICU"
    assert exposed["C"].departures[1].to_location == WARD
    assert [s.item.lot.value for s in found.on_site] == ["A", "B", "G"]  # type: ignore[union-attr]
    assert [s.item.lot.value for s in found.left] == ["C"]  # type: ignore[union-attr]


def test_an_open_excursion_exposes_what_arrives_later(store):
    ledger = _scenario(store)
    found = exposure(ledger, _fridge_excursion(closed=False))
    assert sorted(s.item.lot.value for s in found.stock) == ["A", "B", "C", "E", "G"]  # type: ignore[union-attr]


def test_the_hold_plan_is_idempotent_and_release_needs_a_closed_excursion_and_two_people(store):
    ledger = _scenario(store)
    records = store.coldchain
    opened = _fridge_excursion(closed=False)
    records.record_excursions([opened])
    plan = hold_plan(exposure(ledger, opened))
    moved = apply_hold_plan(ledger, plan, actor="qa-anne", occurred_at=at(11))
    assert sum(r.quantity for r in moved) == 40  # A, B, E (arrived while open) and G
    again = apply_hold_plan(ledger, plan, actor="qa-anne", occurred_at=at(11))
    assert sum(r.quantity for r in again) == 0
    held = ledger.positions(status=StockStatus.HOLD)
    assert {(p.item.lot.value, p.location) for p in held} == {  # type: ignore[union-attr]
        ("A", FRIDGE), ("B", FRIDGE), ("E", FRIDGE), ("G", SHELF),
    }  # fmt: skip
    with pytest.raises(ExcursionOpenError, match="still in progress"):
        release_exposed(ledger, records, opened.id, actor="qa-anne", occurred_at=at(12))
    decision = QualityDecision(
        excursion_id=opened.id, verdict=Verdict.RELEASE, decided_by="qa-anne",
        approved_by="pharm-bob", reason="stability data", decided_at=at(13),
    )  # fmt: skip
    with pytest.raises(ExcursionOpenError):
        decide(records, decision)
    closed = _fridge_excursion()
    records.record_excursions([closed])
    with pytest.raises(QualityDecisionError, match="no quality decision"):
        release_exposed(ledger, records, closed.id, actor="qa-anne", occurred_at=at(13))
    with pytest.raises(InvalidValueError, match="second person"):
        QualityDecision(
            excursion_id=closed.id, verdict=Verdict.RELEASE, decided_by="qa-anne",
            approved_by="QA-Anne", reason="x", decided_at=at(13),
        )  # fmt: skip
    assert decide(records, decision) is True
    # Units of lot A held for another reason stay held after the release.
    ledger.post([receipt("a2", "A", FRIDGE, at(12.5), qty=3)])
    hold(ledger, ItemKey(GTIN, lot="A"), operation="INV-9", reason="investigation",
         actor="qa-anne", occurred_at=at(12.6), within=FRIDGE)  # fmt: skip
    released = release_exposed(ledger, records, closed.id, actor="qa-anne", occurred_at=at(14))
    assert sum(r.quantity for r in released) == sum(r.quantity for r in moved)
    still = ledger.positions(status=StockStatus.HOLD, location=FRIDGE)
    assert [(p.item.lot.value, p.location, p.quantity) for p in still] == [("A", FRIDGE, 3)]  # type: ignore[union-attr]
    assert release_exposed(ledger, records, closed.id, actor="qa-anne", occurred_at=at(14)) == ()


def test_a_reject_decision_keeps_the_stock_on_hold(store):
    ledger = _scenario(store)
    closed = _fridge_excursion()
    store.coldchain.record_excursions([closed])
    apply_hold_plan(ledger, hold_plan(exposure(ledger, closed)), actor="qa", occurred_at=at(12))
    decide(
        store.coldchain,
        QualityDecision(
            excursion_id=closed.id, verdict=Verdict.REJECT, decided_by="qa-anne",
            approved_by="pharm-bob", reason="12 °C for 1 h", decided_at=at(13),
        ),
    )  # fmt: skip
    with pytest.raises(QualityDecisionError, match="REJECT"):
        release_exposed(ledger, store.coldchain, closed.id, actor="qa", occurred_at=at(14))
    with pytest.raises(QualityDecisionError, match="no excursion"):
        release_exposed(ledger, store.coldchain, "exc-nope", actor="qa", occurred_at=at(14))
    with pytest.raises(QualityDecisionError, match="no excursion"):
        decide(
            store.coldchain,
            QualityDecision(
                excursion_id="exc-nope", verdict=Verdict.REJECT, decided_by="a",
                approved_by="b", reason="x", decided_at=at(13),
            ),
        )  # fmt: skip
    assert {p.item.lot.value for p in ledger.positions(status=StockStatus.HOLD)} == {"A", "B", "G"}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- EPCIS


def _validator() -> jsonschema.Draft7Validator:
    assert EPCIS is not None
    schema = json.loads((EPCIS / "EPCIS-JSON-Schema.json").read_text())
    return jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )


@needs_epcis
def test_the_official_sensor_examples_validate_and_a_bad_uri_does_not():
    validator = _validator()
    for name in ("SensorDataExample1.jsonld", "SensorDataExample2.jsonld"):
        validator.validate(json.loads((EPCIS / "examples" / name).read_text()))  # type: ignore[operator]
    document = excursions_document([_fridge_excursion()], created=at(12))
    document["epcisBody"]["eventList"][0]["readPoint"]["id"] = "not a uri"
    assert not validator.is_valid(document)


@needs_epcis
def test_excursions_export_as_valid_epcis_sensor_events():
    validator = _validator()
    closed, opened = _fridge_excursion(), _fridge_excursion(closed=False)
    document = excursions_document(
        [closed, opened], glns={str(FRIDGE): "4012345000054"}, created=at(12)
    )
    validator.validate(document)
    first, second = document["epcisBody"]["eventList"]
    assert first["readPoint"] == {"id": "https://id.gs1.org/414/4012345000054"}
    meta = first["sensorElementList"][0]["sensorMetadata"]
    assert (meta["startTime"], meta["endTime"]) == (
        "2026-11-23T10:00:00.000Z",
        "2026-11-23T11:00:00.000Z",
    )
    assert "endTime" not in second["sensorElementList"][0]["sensorMetadata"]
    report = first["sensorElementList"][0]["sensorReport"][0]
    assert (report["maxValue"], report["uom"], report["exception"]) == (
        12.0,
        "CEL",
        "ALARM_CONDITION",
    )
    assert first["eventID"] == excursion_event(closed, gln="4012345000054")["eventID"]
    assert first["eventID"] != second["eventID"]
    plain = excursions_document([closed], glns=lambda _loc: None)
    validator.validate(plain)
    assert (
        plain["epcisBody"]["eventList"][0]["readPoint"]["id"]
        == "urn:medinv:location:H/Pharmacy/Fridge-1"
    )
    assert (
        plain["epcisBody"]["eventList"][0]["sensorElementList"][0]["sensorMetadata"]["deviceID"]
        == "urn:medinv:sensor:F1"
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("not json", "not JSON text"),
        ('{"version": 2, "sensors": {}}', "not a version 1"),
        ('{"version": 1}', "has no sensors"),
        ('{"version": 1, "sensors": {"F1": {"run": null}}}', "entry"),
        ('{"version": 1, "sensors": {"F1": {"location": "H/F", "last": "x"}}}', "last"),
        ('{"version": 1, "sensors": {"F1": {"location": "H/F", "direction": "UP"}}}', "direction"),
        (
            '{"version": 1, "sensors": {"F1": {"location": "H/F", "direction": "HIGH"}}}',
            "run",
        ),
        ('{"version": 1, "sensors": {"F1": {"location": "H/F", "tally": {"UP": []}}}}', "tally"),
        (
            '{"version": 1, "sensors": {"F1": {"location": "H/F", "tally": {"LOW": [[1, 2]]}}}}',
            "run",
        ),
    ],
)
def test_a_malformed_detector_state_is_refused(state: str, message: str) -> None:
    rule = ExcursionRule(
        temperature=TemperatureRange(low=2, high=8), max_consecutive=dt.timedelta(minutes=10)
    )
    with pytest.raises(InvalidValueError, match=message):
        ExcursionDetector.resume(rule, state)
