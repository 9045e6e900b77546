"""``medinv sync ingest`` and ``conflicts``; an ingestion killed with SIGKILL loses nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.sync import EventKind, SyncInbox, event_to_json, parse_event_lines
from medinv.testing.sync_contract import device_event


def _events(devices: int, per_device: int) -> list[str]:
    """Receipts then consumptions per device, each device its own lot; some short."""
    lines = []
    for device in range(devices):
        item = ItemKey("04006381333931", lot=f"D{device}")
        place = Location.parse(f"H/Ward/{device}")
        for seq in range(1, per_device + 1):
            kind = EventKind.RECEIPT if seq % 4 == 1 else EventKind.CONSUMPTION
            fields: dict[str, Any] = {"expiry": "2027-06-30"} if kind is EventKind.RECEIPT else {}
            event = device_event(f"dev{device}", seq, kind, item=item, location=place,
                                 quantity=3 if kind is EventKind.RECEIPT else 1 + seq % 2, **fields)  # fmt: skip
            lines.append(json.dumps(event_to_json(event)))
    random.Random(7).shuffle(lines)  # noqa: S311  (a test's fixed order)
    return lines


def test_ingest_then_again_then_the_conflicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(_events(3, 8)) + "\n", encoding="utf-8")
    db = str(tmp_path / "ledger.sqlite3")
    code = main(["sync", "ingest", str(file), "--db", db, "--batch", "5", "--json"])
    first = json.loads(capsys.readouterr().out)
    assert code == 1  # the shuffled consumptions run short somewhere
    assert first["events"] == 24
    assert first["outcomes"]["conflict"] > 0
    assert first["outcomes"]["held"] == 0
    assert main(["sync", "ingest", str(file), "--db", db]) == 0
    assert "24 duplicate" in capsys.readouterr().out
    assert main(["sync", "conflicts", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["conflicts"]
    assert len(listed) == first["outcomes"]["conflict"]
    assert {c["kind"] for c in listed} == {"insufficient_stock"}
    assert main(["sync", "conflicts", "--db", db, "--open", "--device", "dev0"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:3] == ["conflict", "device", "seq"]


def test_a_bad_line_stops_before_anything_is_ingested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _events(1, 3)
    lines.insert(1, '{"device_id": "x"}')
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(lines), encoding="utf-8")
    db = tmp_path / "ledger.sqlite3"
    assert main(["sync", "ingest", str(file), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err
    assert "field 'di'" in err
    assert not db.exists()
    assert main(["sync", "ingest", str(tmp_path / "none.jsonl"), "--db", str(db)]) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["sync", "ingest", str(file), "--db", str(db), "--batch", "0"])
    assert exited.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


_CHILD = """
import sys
from medinv.cli import main
sys.exit(main(["sync", "ingest", sys.argv[1], "--db", sys.argv[2], "--batch", "25"]))
"""


def _run_child(file: Path, db: Path, *, errors: bool = False) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(file), str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if errors else subprocess.DEVNULL,
        env=env,
    )


def test_sigkill_during_ingestion_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    lines = _events(6, 60)
    file = tmp_path / "events.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "ledger.sqlite3"
    rng = random.Random(3)  # noqa: S311  (a test's kill times)
    killed = 0
    stored: list[int] = []
    for _ in range(4):
        child = _run_child(file, db)
        deadline = time.monotonic() + 60
        while not db.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the interpreter starts, then opens the file
        time.sleep(0.05 + rng.random() * 0.3)  # then ingests
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            killed += 1
        child.wait(timeout=60)
        if db.exists():  # whole batches only: each one's movements and records, or none
            with SqliteStore(db) as store:
                kept = list(store.sync.events())
                booked_ids = {
                    r.movement.id
                    for r in Ledger(store).history()
                    if r.movement.id.startswith("sync:")
                }
                assert len(kept) % 25 == 0
                assert booked_ids == {r.movement_id for r in kept if r.movement_id is not None}
                stored.append(len(kept))
    assert killed, "every child finished before it could be killed: make the run longer"
    assert any(0 < n < len(lines) for n in stored), stored  # killed part-way through
    done = _run_child(file, db, errors=True)
    _, err = done.communicate(timeout=300)
    assert done.returncode in {0, 1}, err
    # The reference: the same events in one uninterrupted run.
    reference = SyncInbox(Ledger(MemoryStore()))
    events = list(parse_event_lines(lines))
    for start in range(0, len(events), 25):
        reference.ingest(events[start : start + 25])
    with SqliteStore(db) as store:
        ledger = Ledger(store)
        inbox = SyncInbox(ledger)
        records = {r.event_id: r for r in inbox.store.events()}
        assert set(records) == {e.event_id for e in events}  # nothing lost
        expected = {r.event_id: (r.outcome, r.applied_quantity) for r in reference.store.events()}
        assert {k: (r.outcome, r.applied_quantity) for k, r in records.items()} == expected
        booked = [r for r in ledger.history() if r.movement.id.startswith("sync:")]
        assert len(booked) == len({r.movement.id for r in booked})  # nothing twice
        assert len(booked) == sum(1 for r in records.values() if r.movement_id is not None)
        assert sorted(store.balances_snapshot(), key=str) == sorted(
            reference.ledger.store.balances_snapshot(), key=str
        )
        assert inbox.audit().ok
        assert ledger.verify().ok
