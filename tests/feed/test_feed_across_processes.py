"""The change feed under 8 writer processes, and a follower killed mid-page (SQLite, PostgreSQL).

A follower reading while 8 processes commit must see every position exactly once, in
order: positions are taken at commit under the store's write lock, so no later
position is ever visible before an earlier one (the out-of-order commits that make
sequence-following outbox consumers skip messages cannot happen). A follower killed
with SIGKILL gets again at most the one page it had not acknowledged.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from medinv.adapters.postgres import PostgresStore
from medinv.adapters.sqlite import SqliteStore
from medinv.feed import Follower, Page, check_changes
from medinv.journal import LedgerHead
from medinv.ledger import Ledger

pytestmark = pytest.mark.slow

WORKERS = Path(__file__).with_name("_feed_workers.py")
WRITERS, EACH = 8, 40


def _spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKERS), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _open(ledger_target: tuple[str, str]):
    location, schema = ledger_target
    return (
        SqliteStore(location, timeout=60)
        if schema == "-"
        else PostgresStore(location, schema=schema)
    )


def test_a_follower_sees_every_position_of_8_writers_once_in_order(ledger_target) -> None:
    writers = [_spawn("write", *ledger_target, worker, EACH) for worker in range(WRITERS)]
    delivered: list[int] = []
    head = LedgerHead.empty()

    def apply(page: Page) -> None:
        nonlocal head
        head = check_changes(page.changes, after=head)  # the consumer's own check
        delivered.extend(c.position for c in page.changes)

    with _open(ledger_target) as store:
        follower = Follower(Ledger(store), "test", store.checkpoints, page_size=7)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            running = any(w.poll() is None for w in writers)
            while follower.poll(apply):
                pass
            if not running:
                break
            time.sleep(0.002)
        for w in writers:
            out, err = w.communicate(timeout=60)
            assert w.returncode == 0, err
            assert out.strip() == "done"
        while follower.poll(apply):
            pass
        total = WRITERS * EACH
        assert delivered == list(range(1, total + 1))
        assert store.checkpoints.load("test") == store.head() == head
        assert len({c.movement.id for c in Ledger(store).changes(limit=total)}) == total


def test_a_killed_follower_gets_at_most_its_unacknowledged_page_again(
    ledger_target, tmp_path
) -> None:
    page_size = 5
    with _open(ledger_target) as store:
        ledger = Ledger(store)
    writers = [_spawn("write", *ledger_target, worker, EACH // 2) for worker in range(WRITERS)]
    total = WRITERS * (EACH // 2)
    log = tmp_path / "applied.log"
    follower = _spawn("follow", *ledger_target, log, page_size, total)
    assert follower.stdout is not None
    assert follower.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not log.exists() or log.read_text().count("\n") < 6):
        time.sleep(0.005)
    follower.send_signal(signal.SIGKILL)
    follower.communicate(timeout=30)
    first_run = [[int(p) for p in line.split()] for line in log.read_text().splitlines()]
    for w in writers:
        out, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    with _open(ledger_target) as store:
        acknowledged = store.checkpoints.load("crash-test").position
    again = _spawn("follow", *ledger_target, log, page_size, total)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.split() == ["ready", "caught", "up"]
    pages = [[int(p) for p in line.split()] for line in log.read_text().splitlines()]
    second_run = pages[len(first_run) :]
    delivered = [p for page in pages for p in page]
    # Everything, in order, with one stretch delivered twice at most: the last page
    # the killed follower applied without acknowledging it.
    assert sorted(set(delivered)) == list(range(1, total + 1))
    twice = [p for p in set(delivered) if delivered.count(p) > 1]
    assert len(twice) <= page_size
    assert second_run[0][0] == acknowledged + 1
    assert sorted(twice) == [p for p in first_run[-1] if p > acknowledged][: len(twice)]
    applied_first = [p for page in first_run for p in page]
    assert applied_first == list(range(1, len(applied_first) + 1))
    assert [p for page in second_run for p in page] == list(range(acknowledged + 1, total + 1))
    with _open(ledger_target) as store:
        assert store.checkpoints.load("crash-test") == store.head()
    del ledger
