"""``medinv coldchain ingest|excursions`` on an SQLite ledger."""

from __future__ import annotations

import json

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main

HEADER = "sensor,location,time,temperature\n"


def _csv(temps: list[float]) -> str:
    times = [f"2026-11-23T{8 + i // 6:02d}:{(i % 6) * 10:02d}:00+00:00" for i in range(len(temps))]
    return HEADER + "".join(f"F1,H/Fridge,{t},{v}\n" for t, v in zip(times, temps, strict=True))


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "ledger.db"
    SqliteStore(path).close()
    return path


def _ingest(db, path, *more: str) -> list[str]:
    return ["coldchain", "ingest", "--db", str(db), "--csv", str(path), "--low", "2", "--high", "8",
            "--max-consecutive", "20", *more]  # fmt: skip


def test_ingest_keeps_excursions_and_a_later_ingest_closes_the_open_one(db, tmp_path, capsys):
    first = tmp_path / "part1.csv"
    first.write_text(_csv([5, 5, 9, 9, 9, 9]))
    assert main([*_ingest(db, first), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["readings"], data["recorded"]) == (6, 1)
    assert data["excursions"][0]["open"] is True
    assert main(["coldchain", "excursions", "--db", str(db), "--open"]) == 1
    assert "open" in capsys.readouterr().out
    whole = tmp_path / "whole.csv"
    whole.write_text(_csv([5, 5, 9, 9, 9, 9, 5]))
    assert main(_ingest(db, whole)) == 1
    assert "1 new or changed" in capsys.readouterr().out
    assert main(["coldchain", "excursions", "--db", str(db), "--open"]) == 0
    assert "no excursions" in capsys.readouterr().out
    assert main(["coldchain", "excursions", "--db", str(db), "--json", "--sensor", "F1"]) == 1
    (kept,) = json.loads(capsys.readouterr().out)["excursions"]
    assert (kept["end"], kept["minutes_out_of_range"]) == ("2026-11-23T09:00:00+00:00", 40.0)
    assert main(["coldchain", "excursions", "--db", str(db), "--epcis"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["type"] == "EPCISDocument"
    assert len(document["epcisBody"]["eventList"]) == 1


def test_a_bad_line_names_file_line_and_field(db, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "F1,H/Fridge,2026-11-23T09:00:00+00:00,warm\n")
    assert main(_ingest(db, bad)) == 2
    err = capsys.readouterr().err
    assert "bad.csv line 2, field 'temperature'" in err
    assert main(["coldchain", "excursions", "--db", str(db)]) == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--max-consecutive", "20"], "nothing to ingest"),
        (["--csv", "x.csv", "--max-consecutive", "20"], "allowed range"),
        (["--epcis", "e.json", "--read-point", "nope", "--low", "2", "--max-consecutive", "20"],
         "URI=LOCATION"),
        (["--csv", "missing.csv", "--low", "2", "--max-consecutive", "20"], "missing.csv"),
    ],
)  # fmt: skip
def test_ingest_refuses_what_it_cannot_read(  # noqa: PLR0917  (fixtures and two columns)
    db, tmp_path, capsys, monkeypatch, args, says
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "e.json").write_text("{}")
    assert main(["coldchain", "ingest", "--db", str(db), *args]) == 2
    assert says in capsys.readouterr().err


def test_epcis_sensor_documents_are_ingested(db, tmp_path, capsys):
    event = {
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-11-23T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "readPoint": {"id": "urn:x:fridge"},
        "sensorElementList": [
            {"sensorMetadata": {"time": f"2026-11-23T{h:02d}:00:00Z", "deviceID": "urn:x:s1"},
             "sensorReport": [{"type": "Temperature", "value": v, "uom": "CEL"}]}
            for h, v in [(8, 5), (9, 12), (10, 12), (11, 5)]
        ],
    }  # fmt: skip
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"epcisBody": {"eventList": [event]}}))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    argv = ["coldchain", "ingest", "--db", str(db), "--epcis", str(path), "--high", "8",
            "--max-consecutive", "60", "--read-point", "urn:x:fridge=H/Fridge", "--json"]  # fmt: skip
    assert main(argv) == 1
    (found,) = json.loads(capsys.readouterr().out)["excursions"]
    assert (found["sensor"], found["location"], found["minutes_out_of_range"]) == (
        "urn:x:s1", "H/Fridge", 120.0,
    )  # fmt: skip
    assert main([*argv[:5], str(broken), *argv[6:]]) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_with_state_a_run_across_two_files_is_one_excursion(db, tmp_path, capsys):
    # Two days' files: 10 minutes out of range at the end of the first, 20 at the start
    # of the second; 30 minutes in all, allowed 20.
    first = tmp_path / "day1.csv"
    first.write_text(HEADER + "F1,H/Fridge,2026-11-23T23:40:00+00:00,5\n"
                     "F1,H/Fridge,2026-11-23T23:50:00+00:00,9\n")  # fmt: skip
    second = tmp_path / "day2.csv"
    second.write_text(HEADER + "F1,H/Fridge,2026-11-24T00:00:00+00:00,9\n"
                      "F1,H/Fridge,2026-11-24T00:10:00+00:00,9\n"
                      "F1,H/Fridge,2026-11-24T00:20:00+00:00,5\n")  # fmt: skip
    state = tmp_path / "fridge.state"
    assert main([*_ingest(db, first), "--state", str(state)]) == 0
    assert state.is_file()
    capsys.readouterr()
    assert main([*_ingest(db, second), "--state", str(state), "--json"]) == 1
    (found,) = json.loads(capsys.readouterr().out)["excursions"]
    assert (found["start"], found["end"]) == (
        "2026-11-23T23:50:00+00:00",
        "2026-11-24T00:20:00+00:00",
    )
    assert found["minutes_out_of_range"] == 30.0
    # Without the state, each file alone stays within the 20 minutes allowed.
    other = tmp_path / "other.db"
    SqliteStore(other).close()
    assert main(_ingest(other, first)) == 0
    assert main(_ingest(other, second)) == 0


def test_a_malformed_state_file_is_refused_and_left_alone(db, tmp_path, capsys):
    day = tmp_path / "day.csv"
    day.write_text(_csv([5, 5]))
    state = tmp_path / "broken.state"
    state.write_text('{"version": 1, "sensors": {"F1": {"location": "H/Fridge", "run": [1]}}}')
    assert main([*_ingest(db, day), "--state", str(state)]) == 2
    assert "--state" in capsys.readouterr().err
    assert state.read_text().startswith('{"version": 1')
