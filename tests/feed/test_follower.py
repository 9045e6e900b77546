"""The follower: pages from the checkpoint, at least once, exactly once in effect with a table."""

from __future__ import annotations

import sqlite3
import threading

import pendulum
import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteCheckpointTable, SqliteStore
from medinv.errors import ConcurrencyError, InvalidValueError
from medinv.feed import (
    Backoff,
    BrokenLinkError,
    Follower,
    MissingChangeError,
    Page,
    SleepWaiter,
)
from medinv.journal import LedgerHead
from medinv.ledger import Ledger

AT = pendulum.datetime(2026, 12, 1, 8, tz="UTC")


def _post(ledger: Ledger, first: int, count: int) -> None:
    ledger.post(
        Movement.receipt(
            f"R-{n}",
            item=ItemKey("04006381333931", lot="L"),
            quantity=1,
            to=Location.parse("Store"),
            occurred_at=AT,
            actor="jm",
        )
        for n in range(first, first + count)
    )


@pytest.fixture
def ledger() -> Ledger:
    ledger = Ledger(MemoryStore(), clock=lambda: AT)
    _post(ledger, 0, 10)
    return ledger


def test_pages_come_in_order_from_the_checkpoint(ledger: Ledger) -> None:
    store = ledger.store
    follower = Follower(ledger, "erp", store.checkpoints, page_size=4)  # type: ignore[attr-defined]
    pages: list[Page] = []
    while follower.poll(pages.append):
        pass
    assert [[c.position for c in p.changes] for p in pages] == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]]
    assert pages[1].after == pages[0].head
    assert follower.checkpoint() == ledger.head()
    assert follower.lag() == 0
    _post(ledger, 10, 2)
    assert follower.lag() == 2
    assert [c.position for c in follower.poll(lambda _: None).changes] == [11, 12]  # type: ignore[union-attr]
    assert follower.consumer == "erp"


def test_a_failing_handler_gets_the_same_page_again(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    follower = Follower(ledger, "erp", checkpoints, page_size=3)
    seen: list[list[int]] = []

    def flaky(page: Page) -> None:
        seen.append([c.position for c in page.changes])
        if len(seen) == 2:
            raise RuntimeError("the ERP is down")

    follower.poll(flaky)
    with pytest.raises(RuntimeError):
        follower.poll(flaky)
    follower.poll(flaky)
    assert seen == [[1, 2, 3], [4, 5, 6], [4, 5, 6]]
    assert checkpoints.load("erp").position == 6


def test_consumers_follow_apart(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    Follower(ledger, "erp", checkpoints, page_size=5).poll(lambda _: None)
    Follower(ledger, "wms", checkpoints, page_size=2).poll(lambda _: None)
    assert {k: v.position for k, v in checkpoints.consumers().items()} == {"erp": 5, "wms": 2}


def test_two_followers_of_one_consumer_do_not_both_acknowledge(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    first = Follower(ledger, "erp", checkpoints, page_size=3)
    second = Follower(ledger, "erp", checkpoints, page_size=3)

    def overtaken(_page: Page) -> None:
        second.poll(lambda _: None)  # the other instance acknowledges 1-3 meanwhile

    with pytest.raises(ConcurrencyError):
        first.poll(overtaken)
    assert checkpoints.load("erp").position == 3


def test_exactly_once_in_effect_with_the_consumers_own_table(tmp_path, ledger: Ledger) -> None:
    erp = sqlite3.connect(tmp_path / "erp.sqlite3")
    erp.execute("CREATE TABLE stock (movement TEXT PRIMARY KEY, quantity INTEGER)")
    follower = Follower(ledger, "erp", SqliteCheckpointTable(erp), page_size=4)
    crash_on = {2}
    calls = 0

    def apply(page: Page) -> None:
        nonlocal calls
        calls += 1
        erp.executemany(
            "INSERT INTO stock VALUES (?, ?)",
            [(c.movement.id, c.movement.quantity) for c in page.changes],
        )
        if calls in crash_on:
            raise RuntimeError("crash after writing, before the commit")

    follower.poll(apply)
    with pytest.raises(RuntimeError):
        follower.poll(apply)
    while follower.poll(apply):
        pass
    # The primary key would have refused a second insert: each movement applied once.
    assert erp.execute("SELECT count(*), sum(quantity) FROM stock").fetchone() == (10, 10)
    assert follower.checkpoint() == ledger.head()


def test_a_checkpoint_from_another_ledger_is_refused(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    checkpoints.save("erp", LedgerHead(4, "a" * 64))
    with pytest.raises(BrokenLinkError, match="position 5"):
        Follower(ledger, "erp", checkpoints).poll(lambda _: None)
    checkpoints.save("wms", LedgerHead(40, "b" * 64))
    with pytest.raises(MissingChangeError, match="beyond the ledger's head 10"):
        Follower(ledger, "wms", checkpoints).poll(lambda _: None)


def test_follow_waits_with_backoff_and_stops(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    follower = Follower(ledger, "erp", checkpoints, page_size=4)
    waits: list[float] = []
    positions: list[int] = []

    class Counting:
        def wait(self, timeout: float) -> bool:
            waits.append(timeout)
            if len(waits) == 3:
                _post(ledger, 10, 1)  # a commit arrives while the follower waits
            return len(waits) == 5  # the fifth wait is woken by a notification

    def stop() -> bool:
        return len(waits) >= 6

    pages = follower.follow(
        lambda p: positions.extend(c.position for c in p.changes),
        stop=stop,
        waiter=Counting(),
        backoff=Backoff(initial=0.01, maximum=0.03, factor=2),
    )
    assert pages == 4
    assert positions == list(range(1, 12))
    # 0.01, 0.02, 0.03 (a page: back to 0.01), 0.02, 0.02 after the wake-up, 0.03.
    assert waits == [0.01, 0.02, 0.03, 0.01, 0.02, 0.02]


def test_follow_in_a_thread_sees_what_is_posted(tmp_path) -> None:
    path = tmp_path / "ledger.sqlite3"
    with SqliteStore(path) as store:
        _post(Ledger(store, clock=lambda: AT), 0, 3)
    done = threading.Event()
    seen: list[int] = []

    def run() -> None:
        with SqliteStore(path) as store:
            Follower(Ledger(store), "erp", store.checkpoints, page_size=2).follow(
                lambda p: seen.extend(c.position for c in p.changes),
                stop=done.is_set,
                backoff=Backoff(initial=0.001, maximum=0.01),
            )

    thread = threading.Thread(target=run)
    thread.start()
    with SqliteStore(path) as store:
        _post(Ledger(store, clock=lambda: AT), 3, 4)
        deadline = pendulum.now().add(seconds=20)
        while len(seen) < 7 and pendulum.now() < deadline:
            SleepWaiter().wait(0.01)
    done.set()
    thread.join(10)
    assert seen == list(range(1, 8))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"initial": 0}, "initial wait"),
        ({"maximum": 4000}, "maximum wait"),
        ({"initial": True}, "initial wait"),
        ({"factor": 0.5}, "factor"),
        ({"initial": 2, "maximum": 1}, "shorter"),
    ],
)
def test_a_bad_backoff_is_refused(kw: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidValueError, match=match):
        Backoff(**kw)  # type: ignore[arg-type]


def test_a_follower_refuses_bad_arguments(ledger: Ledger) -> None:
    checkpoints = ledger.store.checkpoints  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="Ledger"):
        Follower(ledger.store, "erp", checkpoints)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="CheckpointStore"):
        Follower(ledger, "erp", {})  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="consumer name"):
        Follower(ledger, " ", checkpoints)
    for size in (0, 100_001, True, 2.0):
        with pytest.raises(InvalidValueError, match="page_size"):
            Follower(ledger, "erp", checkpoints, page_size=size)  # type: ignore[arg-type]
