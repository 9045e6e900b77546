"""Acceptance tests of the SQLite store under the ledger: concurrent processes, crashes, tampering.

The writers are separate OS processes (``_ledger_workers.py``), so that SQLite's
file locking, WAL recovery and the store's head check are what is under test.
"""

from __future__ import annotations

import collections
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.sqlite import SqliteStore, register_sql_functions
from medinv.chain import CONTENT_FIELDS
from medinv.identifiers import ItemKey
from medinv.ledger import (
    Finding,
    HashMismatch,
    HeadMismatch,
    Ledger,
    PositionGap,
    ProjectionMismatch,
)
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import MovementQuery

WORKERS = Path(__file__).with_name("_ledger_workers.py")
GTIN = "04006381333931"
LOTS = ("LOT-A", "LOT-B", "LOT-C")
STORE = Location.parse("Site/Store/A1")
AT = pendulum.datetime(2026, 11, 23, 8, tz="Europe/Paris")
CLOCK = pendulum.datetime(2026, 11, 23, 7, 30, tz="UTC")


def worker(*args: object) -> list[str]:
    return [sys.executable, str(WORKERS), *map(str, args)]


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    return env


# --------------------------------------------------------------------------- concurrency


def check_outcomes(records: list[dict[str, Any]]) -> list[str]:
    """Check what the concurrent writers were told; return the shared ids refused everywhere."""
    # Every refusal names a shortage that was real in the state it was checked against.
    for r in records:
        if r["outcome"] == "refused":
            found = re.search(r"requested (\d+), available (\d+)", r["message"])
            assert found is not None and int(found[2]) < int(found[1]), r
    # The shared ids: at most one worker's content won each, and the others were told:
    # a replay or an id conflict once it was stored, a refusal while the lot was short.
    shared = collections.defaultdict(list)
    for r in records:
        if r["ids"][0].startswith("SHARED-"):
            shared[r["ids"][0]].append(r["outcome"])
    exhausted = []
    for id_, seen in shared.items():
        assert seen.count("accepted") <= 1, (id_, seen)
        assert set(seen) <= {"accepted", "replayed", "id-conflict", "refused"}, (id_, seen)
        if "accepted" not in seen:
            assert set(seen) == {"refused"}, (id_, seen)
            exhausted.append(id_)
    assert len(exhausted) < len(shared)  # the first shared ids came while there was stock
    return exhausted


@pytest.mark.slow
def test_eight_processes_issuing_the_same_lots_lose_no_update(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    initial = 120
    with SqliteStore(path) as store:
        Ledger(store).post(
            Movement.receipt(
                f"R-{lot}",
                item=ItemKey(GTIN, lot=lot),
                quantity=initial,
                to=STORE,
                occurred_at=AT,
                actor="receiving",
            )
            for lot in LOTS
        )
    go = tmp_path / "go"
    ops = 30
    procs = [
        subprocess.Popen(
            worker("issue", path, w, ops, 7, go),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        for w in range(8)
    ]
    # Let every worker import and open the file, then start them together.
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("go.ready-*"))) < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    records: list[dict[str, Any]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        records += [json.loads(line) for line in out.splitlines()]

    # Every attempt was reported to its caller, with exactly one outcome.
    assert len(records) == 8 * ops
    assert {(r["worker"], r["op"]) for r in records} == {
        (w, o) for w in range(8) for o in range(ops)
    }
    outcomes = collections.Counter(r["outcome"] for r in records)
    assert set(outcomes) <= {"accepted", "refused", "id-conflict", "replayed"}, outcomes
    assert outcomes["refused"] > 0  # demand exceeds supply: the rules refused some issues
    assert sum(r["retries"] for r in records) > 0  # writers really raced
    exhausted = check_outcomes(records)

    with SqliteStore(path) as store:
        ledger = Ledger(store)
        stored = {r.movement.id: r.movement for r in store.movements(MovementQuery())}
        accepted = {
            id_: (lot, qty)
            for r in records
            if r["outcome"] == "accepted"
            for id_, (lot, qty) in r["quantities"].items()
        }
        # No lost update and nothing stored that its caller was told was refused.
        assert set(stored) == {f"R-{lot}" for lot in LOTS} | set(accepted)
        for id_, (lot, qty) in accepted.items():
            assert stored[id_].quantity == qty and stored[id_].item.lot.value == lot  # type: ignore[union-attr]
        for lot in LOTS:
            issued = sum(qty for lot_, qty in accepted.values() if lot_ == lot)
            balance = ledger.balance(ItemKey(GTIN, lot=lot))
            assert balance == initial - issued >= 0
        if exhausted:  # stock only went down: a shared issue of 1 refused everywhere means 0 left
            assert ledger.balance(ItemKey(GTIN, lot=LOTS[0])) == 0
        assert all(qty > 0 for *_, qty in store.balances_snapshot())
        assert ledger.verify().ok
        assert ledger.head().position == len(stored)


# --------------------------------------------------------------------------- crash


def check_after_crash(path: Path) -> tuple[int, int]:
    """No partial batch is visible and verify() is clean; returns (last batch, movements)."""
    with sqlite3.connect(path) as raw:
        register_sql_functions(raw)
        sizes = dict(
            raw.execute(
                "SELECT movement_field(content, 'reference') AS reference, count(*) "
                "FROM movements GROUP BY reference"
            )
        )
    raw.close()
    with SqliteStore(path) as store:
        for marker, count in sizes.items():
            assert count == int(marker.rsplit("/", 1)[1]), f"partial batch {marker}: {count}"
        numbers = sorted(int(marker.split("/")[0].removeprefix("crash-B")) for marker in sizes)
        assert numbers == list(range(len(numbers)))  # batches are all there, in order
        report = Ledger(store).verify()
        assert report.ok, report.findings
        return len(numbers), report.movements_checked


@pytest.mark.slow
def test_a_writer_killed_at_random_points_never_leaves_a_partial_batch(tmp_path: Path):
    path = tmp_path / "ledger.sqlite3"
    SqliteStore(path).close()
    rng = random.Random(20261123)  # noqa: S311  (test data, not secrets)
    kills = mid_post = 0
    batches = 0
    movements = 0
    while kills < 30:
        proc = subprocess.Popen(
            worker("crash", path, batches, rng.randrange(1 << 30)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        lines = out.splitlines()
        if lines and lines[-1].startswith("posting"):
            mid_post += 1  # killed between reading and the end of its commit
        kills += 1
        batches, movements = check_after_crash(path)
    assert batches > kills  # the writer made progress between kills
    assert mid_post >= kills // 2  # most kills hit a post in flight
    assert movements > 0


# --------------------------------------------------------------------------- tampering


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    item = ItemKey(GTIN, lot="LOT-A")
    other = Location.parse("Site/Ward")
    with SqliteStore(path) as store:
        ledger = Ledger(store, clock=lambda: CLOCK)
        ledger.post(
            [
                Movement.receipt(
                    "R-1",
                    item=item,
                    quantity=30,
                    to=STORE,
                    occurred_at=AT,
                    actor="jm",
                    reason="delivery 'DN-1'; checked",
                )
            ]
        )
        for i in range(2, 6):
            ledger.post(
                [
                    Movement.transfer(
                        f"T-{i}",
                        item=item,
                        quantity=i,
                        source=STORE,
                        to=other,
                        occurred_at=AT,
                        actor="jm",
                    )
                ]
            )
        assert ledger.verify().ok
    return path


def set_field(content: str, name: str, value: object) -> str:
    """Stored content with the field ``name`` replaced (an SQL function for the tamperer)."""
    fields = content.split("\x00")
    fields[CONTENT_FIELDS.index(name)] = str(value)
    return "\x00".join(fields)


TAMPERING: dict[str, tuple[tuple[str, ...], set[type[Finding]]]] = {
    "edit quantity": (
        (
            "UPDATE movements SET content = set_field(content, 'quantity', 1 + movement_field(content, 'quantity')) WHERE position = 3",
        ),
        {HashMismatch, ProjectionMismatch},
    ),
    "edit text": (
        (
            (
                "UPDATE movements SET content = set_field(content, 'reason', '+delivery DN-1') "
                "WHERE position = 1"
            ),
        ),
        {HashMismatch},
    ),
    "edit actor": (
        (
            (
                "UPDATE movements SET content = set_field(content, 'actor', 'someone else') "
                "WHERE position = 4"
            ),
        ),
        {HashMismatch},
    ),
    "edit occurred_at offset": (
        (
            (
                "UPDATE movements SET content = "
                "set_field(content, 'occurred_at', '2026-11-23T07:00:00+00:00') WHERE position = 2"
            ),
        ),
        {HashMismatch},
    ),
    "delete a middle row": (
        ("DELETE FROM movements WHERE position = 3",),
        {PositionGap, ProjectionMismatch},
    ),
    "delete the last row": (
        ("DELETE FROM movements WHERE position = 5",),
        {HeadMismatch, ProjectionMismatch},
    ),
    "reorder two rows": (
        (  # a swap through a free slot of the primary key
            "UPDATE movements SET position = -2 WHERE position = 2",
            "UPDATE movements SET position = 2 WHERE position = 3",
            "UPDATE movements SET position = 3 WHERE position = -2",
        ),
        # The file keeps no previous hash of its own (it is the hash of the row
        # before): swapped rows are hashes computed over other predecessors.
        {HashMismatch},
    ),
    "edit a hash": (
        (
            (
                "UPDATE movements SET hash = "
                "CASE WHEN substr(hash, 1, 1) = 'a' THEN 'b' ELSE 'a' END || substr(hash, 2) "
                "WHERE position = 2"
            ),
        ),
        {HashMismatch},
    ),
    "edit a balance": (
        (
            (
                "UPDATE balances SET quantity = quantity + 5 WHERE location_no = "
                "(SELECT location_no FROM locations WHERE path = 'Site/Ward')"
            ),
        ),
        {ProjectionMismatch},
    ),
}


@pytest.mark.parametrize("case", TAMPERING)
def test_verify_reports_tampering_with_stored_rows(ledger_file: Path, case: str):
    statements, expected = TAMPERING[case]
    with sqlite3.connect(ledger_file) as raw:
        register_sql_functions(raw)
        raw.create_function("set_field", 3, set_field, deterministic=True)
        for sql in statements:
            assert raw.execute(sql).rowcount >= 1
    raw.close()
    with SqliteStore(ledger_file) as store:
        report = Ledger(store).verify()
    assert not report.ok
    found = {type(d) for d in report.findings}
    assert expected <= found, report.findings
