"""Posting and cancelling are one decision: a cancelled stocktake never has adjustments posted."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.memory_stocktake import MemoryStocktakes
from medinv.adapters.sqlite import SqliteStore
from medinv.errors import ConcurrencyError, InsufficientStockError, StocktakeStateError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger, PostResult
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.services import StocktakeService
from medinv.stocktake import CountLine, StocktakeScope, StocktakeState

GLOVES = ItemKey("04006381333931", lot="L1")
MASKS = ItemKey("96385074")
A1 = Location.parse("Main/Store/A1")


def at(hour: int, minute: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, 23, hour, minute, tz="Europe/Paris")


class HookedLedger(Ledger):
    """A ledger that runs ``before_post`` when asked to post (a concurrent actor)."""

    before_post: Callable[[], None] | None = None

    def post(self, movements: Iterable[Movement], **kw: Any) -> PostResult:
        hook, self.before_post = self.before_post, None
        if hook is not None:
            hook()
        return super().post(movements, **kw)


def approved_service(ledger: Ledger, store: Any, stocktake_id: str = "ST-1") -> StocktakeService:
    """Gloves booked 10, counted 8 and 3 masks found: approved, ready to post."""
    if ledger.balance(GLOVES, location=A1) == 0:
        ledger.post(
            [
                Movement.receipt(
                    "r1",
                    item=GLOVES,
                    quantity=10,
                    to=A1,
                    occurred_at=at(7),
                    actor="dock",
                    expiry="2027-06-30",
                ),
                Movement.receipt(
                    "r2", item=MASKS, quantity=1, to=A1, occurred_at=at(7), actor="dock"
                ),
            ]
        )
    service = StocktakeService(ledger, store)
    service.plan(stocktake_id, scope=StocktakeScope(["Main/Store"]), created_by="lea", at=at(8))
    service.begin(stocktake_id, at=at(9))
    service.add_lines(
        stocktake_id,
        [
            CountLine(
                id="c1",
                counter="ana",
                device="d1",
                counted_at=at(10),
                location=A1,
                item=GLOVES,
                quantity=8,
            ),
            CountLine(
                id="c2",
                counter="ana",
                device="d1",
                counted_at=at(10),
                location=A1,
                item=MASKS,
                quantity=4,
            ),
            CountLine(
                id="r1",
                counter="bob",
                device="d2",
                counted_at=at(11),
                location=A1,
                item=GLOVES,
                quantity=8,
                recount_of="c1",
            ),
            CountLine(
                id="r2",
                counter="bob",
                device="d2",
                counted_at=at(11),
                location=A1,
                item=MASKS,
                quantity=4,
                recount_of="c2",
            ),
        ],
    )
    service.close_counting(stocktake_id, at=at(12))
    service.approve(stocktake_id, approver="max", at=at(13), default_reason="COUNT")
    return service


def adjustments(ledger: Ledger, stocktake_id: str = "ST-1") -> list[Movement]:
    return [
        r.movement
        for r in ledger.history()
        if r.movement.kind is MovementKind.ADJUSTMENT and r.movement.reference == stocktake_id
    ]


@pytest.fixture
def ledger() -> HookedLedger:
    return HookedLedger(MemoryStore(), clock=lambda: at(14))


def test_a_cancel_while_the_ledger_is_written_is_refused(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    refused: list[Exception] = []

    def cancel() -> None:
        assert service.store.get("ST-1").state is StocktakeState.POSTING
        try:
            service.cancel("ST-1", by="lea", reason="changed my mind")
        except StocktakeStateError as e:
            refused.append(e)

    ledger.before_post = cancel
    service.post("ST-1", at=at(14))
    assert len(refused) == 1 and "POSTING" in str(refused[0])
    assert service.store.get("ST-1").state is StocktakeState.POSTED
    assert len(adjustments(ledger)) == 2


def test_a_cancel_that_wins_stops_the_post_before_the_ledger(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    stale = service.store.get("ST-1")
    service.cancel("ST-1", by="lea", reason="wrong scope")
    with pytest.raises(StocktakeStateError, match="CANCELLED"):
        service.post("ST-1", at=at(14))
    # A poster that read the stocktake before the cancel loses the version race.
    with pytest.raises(ConcurrencyError):
        service.store.update(stale.begin_posting())
    assert adjustments(ledger) == []
    assert service.store.get("ST-1").state is StocktakeState.CANCELLED


def test_a_post_interrupted_after_the_ledger_write_is_completed_by_resume_post(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    stocktake = service.store.get("ST-1")
    posting = stocktake.begin_posting()
    service.store.update(posting)  # step 1 ...
    ledger.post(posting.movements())  # ... step 2, then the process died
    with pytest.raises(StocktakeStateError):
        service.cancel("ST-1", by="lea", reason="too late")
    service.resume_post("ST-1", at=at(15))
    done = service.store.get("ST-1")
    assert (done.state, done.posted_at) == (StocktakeState.POSTED, at(15))
    assert len(adjustments(ledger)) == 2  # each adjustment once
    assert ledger.balance(GLOVES, location=A1) == 8
    assert ledger.balance(MASKS, location=A1) == 4
    service.resume_post("ST-1", at=at(16))  # again: a no-op
    assert len(adjustments(ledger)) == 2


def test_post_completes_a_posting_stocktake_too(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    service.store.update(service.store.get("ST-1").begin_posting())
    service.post("ST-1", at=at(15))
    assert service.store.get("ST-1").state is StocktakeState.POSTED
    assert len(adjustments(ledger)) == 2


def test_resume_post_refuses_a_stocktake_that_is_not_being_posted(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    with pytest.raises(StocktakeStateError, match="resume posting"):
        service.resume_post("ST-1", at=at(15))


def test_a_batch_the_ledger_refuses_leaves_the_stocktake_approved_and_cancellable(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    ledger.post(
        [
            Movement.issue(
                "i1", item=GLOVES, quantity=9, source=A1, occurred_at=at(13, 30), actor="ward"
            )
        ]
    )  # 1 left; the shortage of 2 no longer fits
    with pytest.raises(InsufficientStockError):
        service.post("ST-1", at=at(14))
    assert service.store.get("ST-1").state is StocktakeState.APPROVED
    assert adjustments(ledger) == []
    assert service.cancel("ST-1", by="lea", reason="recount").state is StocktakeState.CANCELLED


def test_a_refused_batch_already_posted_by_another_process_stays_posting(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    posting = service.store.get("ST-1").begin_posting()
    service.store.update(posting)
    ledger.post(posting.movements())
    # The replay is refused (say the ledger judged it before seeing the first post) ...
    real_post = ledger.post

    def refuse(*_a: Any, **_k: Any) -> PostResult:
        raise InsufficientStockError(
            item=GLOVES, location=A1, status=None, requested=1, available=0
        )

    ledger.post = refuse
    with pytest.raises(InsufficientStockError):
        service.post("ST-1", at=at(14))
    # ... yet the adjustments are in the ledger: it must not become cancellable.
    assert service.store.get("ST-1").state is StocktakeState.POSTING
    ledger.post = real_post
    service.resume_post("ST-1", at=at(15))
    assert service.store.get("ST-1").state is StocktakeState.POSTED


@pytest.mark.slow
def test_concurrent_cancel_and_post_never_leave_a_cancelled_stocktake_with_adjustments(
    tmp_path: Path,
):
    outcomes: set[StocktakeState] = set()
    for round_ in range(12):
        db_path = tmp_path / f"medinv{round_}.db"
        with SqliteStore(db_path) as ls:
            approved_service(Ledger(ls, clock=lambda: at(14)), ls.stocktakes)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def run(
            action: str,
            path: Path = db_path,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            with SqliteStore(path) as ls:
                service = StocktakeService(Ledger(ls, clock=lambda: at(14)), ls.stocktakes)
                barrier.wait()
                try:
                    if action == "post":
                        service.post("ST-1", at=at(14))
                    else:
                        service.cancel("ST-1", by="lea", reason="race")
                except (ConcurrencyError, StocktakeStateError) as e:
                    errors.append(e)

        threads = [threading.Thread(target=run, args=(a,)) for a in ("post", "cancel")]
        for t in threads if round_ % 2 else threads[::-1]:
            t.start()
        for t in threads:
            t.join()
        with SqliteStore(db_path) as ls:
            ledger = Ledger(ls)
            state = ls.stocktakes.get("ST-1").state
            posted = adjustments(ledger)
            if state is StocktakeState.CANCELLED:
                assert posted == []
            else:
                assert state is StocktakeState.POSTED
                assert len(posted) == 2
            assert len(errors) == 1  # exactly one of the two lost
            outcomes.add(state)
    assert outcomes  # both outcomes are fine; which one wins is a race


def test_an_approved_stocktake_whose_adjustments_are_in_the_ledger_cannot_be_cancelled(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    ledger.post(service.store.get("ST-1").movements())  # posted around the service
    with pytest.raises(StocktakeStateError, match="in the ledger"):
        service.cancel("ST-1", by="lea", reason="too late")
    service.post("ST-1", at=at(15))  # completes it; the ledger keeps each adjustment once
    assert service.store.get("ST-1").state is StocktakeState.POSTED
    assert len(adjustments(ledger)) == 2


def test_a_post_that_went_through_while_a_refused_one_undid_posting_still_ends_posted(ledger):
    service = approved_service(ledger, MemoryStocktakes())
    store = service.store
    real_update = store.update
    fired: list[bool] = []

    def update(stocktake: Any, **kw: Any) -> None:
        current = store.get("ST-1").state
        posted_over_posting = (
            stocktake.state is StocktakeState.POSTED and current is StocktakeState.POSTING
        )
        if posted_over_posting and not fired:
            # Just before ours marks it POSTED, a refused concurrent post undoes POSTING.
            fired.append(True)
            real_update(store.get("ST-1").posting_refused())
        real_update(stocktake, **kw)

    store.update = update  # type: ignore[method-assign]
    service.post("ST-1", at=at(14))
    store.update = real_update  # type: ignore[method-assign]
    assert fired
    assert store.get("ST-1").state is StocktakeState.POSTED
    assert len(adjustments(ledger)) == 2
