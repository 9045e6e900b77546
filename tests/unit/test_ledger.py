from __future__ import annotations

from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.chain import GENESIS_HASH, movement_content
from medinv.errors import (
    ConcurrencyError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidMovementError,
    InvalidValueError,
    LotMasterDataConflictError,
    ReversalError,
    SerialConflictError,
    StockNotIssuableError,
)
from medinv.identifiers import ItemKey
from medinv.ledger import HeadMismatch, Ledger, PostResult, retry
from medinv.locations import Location
from medinv.movements import Movement, MovementKind
from medinv.ports import BalanceChange, Commit, LedgerHead, RecordedMovement
from medinv.status import StockStatus

GTIN = "04006381333931"
ITEM = ItemKey(GTIN, lot="L1")
OTHER_LOT = ItemKey(GTIN, lot="L2")
PLAIN = ItemKey("09501101530003")
SERIAL = ItemKey(GTIN, lot="L1", serial="S1")
SERIAL_NO_LOT = ItemKey(GTIN, serial="S9")
A = Location.parse("H/Store/A")
B = Location.parse("H/Store/B")
WARD = Location.parse("H/Ward")
STORE = Location.parse("H/Store")
AV, Q, HOLD = StockStatus.AVAILABLE, StockStatus.QUARANTINE, StockStatus.HOLD
DAY = "2026-11-23T09:00:00+01:00"
NOW = pendulum.datetime(2026, 11, 23, 8, 30, tz="UTC")


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(MemoryStore(), clock=lambda: NOW)


def rcv(mid: str, item: ItemKey = ITEM, qty: int = 10, to: Location = A, **kw: Any) -> Movement:
    kw.setdefault("occurred_at", DAY)
    return Movement.receipt(mid, item=item, quantity=qty, to=to, actor="jm", **kw)


def iss(mid: str, item: ItemKey = ITEM, qty: int = 1, source: Location = A, **kw: Any) -> Movement:
    kw.setdefault("occurred_at", DAY)
    return Movement.issue(mid, item=item, quantity=qty, source=source, actor="jm", **kw)


def xfer(mid: str, item: ItemKey = ITEM, qty: int = 1, source: Location = A, to: Location = B):
    return Movement.transfer(
        mid, item=item, quantity=qty, source=source, to=to, occurred_at=DAY, actor="jm"
    )


# --------------------------------------------------------------------------- posting


def test_post_assigns_positions_and_chains_hashes(ledger: Ledger):
    result = ledger.post([rcv("R1"), rcv("R2", qty=5)])
    assert isinstance(result, PostResult)
    first, second = result.movements
    assert (first.position, second.position) == (1, 2)
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert first.recorded_at == NOW
    assert result.new == result.movements and result.replayed == ()
    assert result.head == LedgerHead(2, second.hash) == ledger.head()
    assert ledger.balance(ITEM) == 15


def test_recorded_movements_and_changes_are_those_of_the_public_constructors():
    commits: list[Commit] = []

    class Recording(MemoryStore):
        def append(self, commit: Commit) -> None:
            commits.append(commit)
            super().append(commit)

    ledger = Ledger(Recording(), clock=lambda: NOW)
    first, second = ledger.post([rcv("R1"), xfer("T1", qty=4)]).movements
    built = RecordedMovement(
        movement=rcv("R1"), position=1, recorded_at=NOW, prev_hash=GENESIS_HASH, hash=first.hash
    )
    assert first == built and hash(first) == hash(built) and repr(first) == repr(built)
    assert second.prev_hash == first.hash
    (commit,) = commits
    assert commit.balance_changes == (BalanceChange(ITEM, A, AV, 6), BalanceChange(ITEM, B, AV, 4))
    assert [repr(c) for c in commit.balance_changes] == [
        repr(BalanceChange(ITEM, A, AV, 6)),
        repr(BalanceChange(ITEM, B, AV, 4)),
    ]
    assert commit.contents == tuple(movement_content(r.movement) for r in commit.movements)


def test_empty_batch_stores_nothing(ledger: Ledger):
    result = ledger.post([])
    assert result.movements == () and result.head == LedgerHead.empty()


def test_replay_returns_the_original_and_stores_nothing(ledger: Ledger):
    original = ledger.post([rcv("R1")]).movements[0]
    again = ledger.post([rcv("R1"), rcv("R1")])
    assert again.movements == (original, original)
    assert again.new == () and again.replayed == ("R1", "R1")
    assert ledger.head().position == 1 and ledger.balance(ITEM) == 10


def test_replay_mixed_with_new_movements_and_in_batch_repeats(ledger: Ledger):
    ledger.post([rcv("R1")])
    result = ledger.post([rcv("R1"), rcv("R2"), rcv("R2")])
    assert [r.movement.id for r in result.movements] == ["R1", "R2", "R2"]
    assert result.movements[1] is result.movements[2]
    assert [r.position for r in result.new] == [2]
    assert result.replayed == ("R1", "R2")


def test_same_id_other_content_names_the_differences(ledger: Ledger):
    ledger.post([rcv("R1")])
    with pytest.raises(IdempotencyConflictError) as err:
        ledger.post([rcv("R1", qty=11, to=B)])
    assert err.value.differences == ("quantity", "to_location")
    with pytest.raises(IdempotencyConflictError, match="reference"):
        ledger.post([rcv("R2"), rcv("R2", reference="DN-1")])
    assert ledger.head().position == 1


def test_insufficient_stock_carries_requested_and_available(ledger: Ledger):
    ledger.post([rcv("R1", qty=3)])
    with pytest.raises(InsufficientStockError) as err:
        ledger.post([iss("I1", qty=4)])
    e = err.value
    assert (e.requested, e.available, e.movement_id) == (4, 3, "I1")
    assert e.location == A and e.item == ITEM


def test_batch_rules_are_cumulative_and_all_or_nothing(ledger: Ledger):
    result = ledger.post([rcv("R1", qty=3), iss("I1", qty=2), xfer("T1", qty=1)])
    assert result.head.position == 3
    assert ledger.balance(ITEM, location=A) == 0
    assert ledger.balance(ITEM, location=B) == 1
    with pytest.raises(InsufficientStockError) as err:
        ledger.post([rcv("R2", qty=1, to=B), iss("I2", qty=2, source=B), iss("I3", source=B)])
    assert err.value.available == 0 and err.value.movement_id == "I3"
    # Nothing of the refused batch is stored.
    assert ledger.head().position == 3
    assert ledger.movement("R2") is None
    assert ledger.balance(ITEM, location=B) == 1


def test_only_available_stock_is_issued(ledger: Ledger):
    ledger.post([rcv("R1", status=Q)])
    held = Movement(
        id="I1",
        kind=MovementKind.ISSUE,
        item=ITEM,
        quantity=1,
        from_location=A,
        from_status=Q,
        occurred_at=DAY,
        actor="jm",
    )
    with pytest.raises(StockNotIssuableError, match="QUARANTINE") as err:
        ledger.post([held])
    assert err.value.movement_id == "I1"
    # Scrapping quarantined stock is allowed.
    ledger.post([Movement.scrap("S1", item=ITEM, quantity=1, source=A, status=Q, **_at())])
    assert ledger.balance(ITEM, status=Q) == 9


def _at() -> dict[str, Any]:
    return {"occurred_at": DAY, "actor": "jm"}


def test_expired_stock_is_not_issued_but_usable_on_its_expiry_day(ledger: Ledger):
    ledger.post([rcv("R1", expiry="2026-11-23")])
    ledger.post([iss("I1", occurred_at="2026-11-23T23:30:00+01:00")])
    with pytest.raises(StockNotIssuableError, match="expired on 2026-11-23") as err:
        ledger.post([iss("I2", occurred_at="2026-11-24T00:10:00+01:00")])
    assert "2026-11-24" in err.value.reason
    # The facility date is the movement's own offset: 23:10 UTC on the 23rd is the 24th in Tokyo.
    with pytest.raises(StockNotIssuableError):
        ledger.post([iss("I3", occurred_at="2026-11-24T08:10:00+09:00")])
    consumption = Movement.consumption(
        "C1", item=ITEM, quantity=1, source=A, reference="PAT-1", **{**_at(), "occurred_at": DAY}
    )
    ledger.post([consumption])
    # Transfers and scraps of expired stock are fine.
    late = "2027-01-01T10:00:00+01:00"
    ledger.post(
        [
            Movement.transfer(
                "T1", item=ITEM, quantity=1, source=A, to=B, occurred_at=late, actor="x"
            )
        ]
    )
    assert ledger.balance(ITEM) == 8


def test_receipt_of_expired_stock_is_allowed(ledger: Ledger):
    ledger.post([rcv("R1", expiry="2020-01-01", status=HOLD)])
    assert ledger.positions(ITEM)[0].expiry == pendulum.date(2020, 1, 1)


def test_lot_expiry_is_master_data(ledger: Ledger):
    ledger.post([rcv("R1", expiry="2027-06-30")])
    ledger.post([rcv("R2", to=B, expiry="2027-06-30"), rcv("R3", to=B)])
    with pytest.raises(LotMasterDataConflictError) as err:
        ledger.post([rcv("R4", expiry="2027-07-31")])
    assert (err.value.known, err.value.given) == (
        pendulum.date(2027, 6, 30),
        pendulum.date(2027, 7, 31),
    )
    # A serial of the lot takes the lot's expiry.
    ledger.post([rcv("RS", item=SERIAL, qty=1)])
    assert ledger.positions(SERIAL)[0].expiry == pendulum.date(2027, 6, 30)
    # A lot first received without an expiry keeps "no expiry".
    ledger.post([rcv("R5", item=OTHER_LOT)])
    with pytest.raises(LotMasterDataConflictError):
        ledger.post([rcv("R6", item=OTHER_LOT, expiry="2027-01-01")])
    # Within one batch, the first inbound movement fixes it.
    with pytest.raises(LotMasterDataConflictError):
        ledger.post(
            [
                rcv("R7", item=ItemKey(GTIN, lot="L3"), expiry="2027-01-01"),
                rcv("R8", item=ItemKey(GTIN, lot="L3"), expiry="2027-02-01"),
            ]
        )


def test_lotless_item_expiry_is_item_master_data(ledger: Ledger):
    ledger.post([rcv("R1", item=SERIAL_NO_LOT, qty=1, expiry="2026-12-01")])
    assert ledger.positions(SERIAL_NO_LOT)[0].expiry == pendulum.date(2026, 12, 1)
    ledger.post([iss("I1", item=SERIAL_NO_LOT)])
    with pytest.raises(LotMasterDataConflictError):
        ledger.post(
            [
                Movement.return_(
                    "RT1", item=SERIAL_NO_LOT, quantity=1, to=A, expiry="2027-01-01", **_at()
                )
            ]
        )
    ledger.post(
        [
            Movement.return_(
                "RT2", item=SERIAL_NO_LOT, quantity=1, to=A, expiry="2026-12-01", **_at()
            )
        ]
    )
    with pytest.raises(StockNotIssuableError):
        ledger.post(
            [
                Movement.status_change(
                    "SC", item=SERIAL_NO_LOT, quantity=1, at=A, from_status=Q, to_status=AV, **_at()
                ),
                iss("I2", item=SERIAL_NO_LOT, occurred_at="2026-12-02T10:00:00+01:00"),
            ]
        )


def test_serial_is_never_in_two_places(ledger: Ledger):
    ledger.post([rcv("R1", item=SERIAL, qty=1)])
    with pytest.raises(SerialConflictError, match="H/Store/A") as err:
        ledger.post([rcv("R2", item=SERIAL, qty=1, to=B)])
    assert err.value.movement_id == "R2"
    with pytest.raises(SerialConflictError):
        ledger.post(
            [Movement.adjustment("ADJ", item=SERIAL, change=1, at=WARD, reason="found", **_at())]
        )
    ledger.post([xfer("T1", item=SERIAL, source=A, to=WARD)])
    ledger.post([iss("I1", item=SERIAL, source=WARD)])
    # Out of stock now: it may come back.
    ledger.post([Movement.return_("RT", item=SERIAL, quantity=1, to=A, **_at())])
    assert ledger.positions(SERIAL)[0].status is Q
    # Within a batch too.
    with pytest.raises(SerialConflictError):
        ledger.post(
            [rcv("R3", item=SERIAL_NO_LOT, qty=1), rcv("R4", item=SERIAL_NO_LOT, qty=1, to=B)]
        )


def test_reversal_undoes_exactly_once(ledger: Ledger):
    receipt = rcv("R1", qty=5)
    ledger.post([receipt])
    reversal = Movement.reversal("R1-R", of=receipt, occurred_at=DAY, actor="jm")
    ledger.post([reversal])
    assert ledger.balance(ITEM) == 0
    with pytest.raises(ReversalError, match="already reversed by 'R1-R'"):
        ledger.post([Movement.reversal("R1-R2", of=receipt, occurred_at=DAY, actor="jm")])
    with pytest.raises(ReversalError, match="cannot be reversed"):
        ledger.post([Movement.reversal("R1-R-R", of=reversal, occurred_at=DAY, actor="jm")])
    ghost = rcv("GHOST")
    with pytest.raises(ReversalError, match="no such movement"):
        ledger.post([Movement.reversal("G-R", of=ghost, occurred_at=DAY, actor="jm")])
    # A reversal that is not the exact mirror.
    ledger.post([rcv("R2", qty=5)])
    wrong = Movement(
        id="R2-R",
        kind=MovementKind.REVERSAL,
        item=ITEM,
        quantity=4,
        from_location=A,
        from_status=AV,
        occurred_at=DAY,
        actor="jm",
        reverses="R2",
    )
    with pytest.raises(ReversalError, match="exact inverse") as err:
        ledger.post([wrong])
    assert (err.value.movement_id, err.value.reverses) == ("R2-R", "R2")


def test_reversal_within_the_batch_and_balance_rules(ledger: Ledger):
    receipt = rcv("R1", qty=5)
    result = ledger.post(
        [receipt, Movement.reversal("R1-R", of=receipt, occurred_at=DAY, actor="jm")]
    )
    assert result.head.position == 2 and ledger.balance(ITEM) == 0
    second = rcv("R2", qty=5)
    ledger.post([second, iss("I1", qty=2)])
    # Reversing the receipt would take out 5 where 3 remain.
    with pytest.raises(InsufficientStockError):
        ledger.post([Movement.reversal("R2-R", of=second, occurred_at=DAY, actor="jm")])
    with pytest.raises(ReversalError, match="already reversed"):
        ledger.post(
            [
                Movement.reversal("X1", of=iss("I1", qty=2), occurred_at=DAY, actor="jm"),
                Movement.reversal("X2", of=iss("I1", qty=2), occurred_at=DAY, actor="jm"),
            ]
        )


def test_non_movements_are_refused(ledger: Ledger):
    with pytest.raises(InvalidMovementError, match="expected a Movement"):
        ledger.post(["R1"])  # type: ignore[list-item]


# --------------------------------------------------------------------------- concurrency


def test_expected_position_refuses_a_moved_ledger(ledger: Ledger):
    ledger.post([rcv("R1")])
    with pytest.raises(ConcurrencyError) as err:
        ledger.post([iss("I1")], expected_position=0)
    assert (err.value.expected, err.value.actual) == (0, 1)
    assert ledger.post([iss("I1")], expected_position=1).head.position == 2


class Interleaved(MemoryStore):
    """A store where another writer posts between the ledger's reads and its append."""

    def __init__(self, intruders: list[Movement]) -> None:
        super().__init__()
        self.intruders = intruders

    def append(self, commit: Commit) -> None:
        if self.intruders:
            other = Ledger(MemoryStoreView(self), clock=lambda: NOW)
            other.post([self.intruders.pop(0)])
        super().append(commit)


class MemoryStoreView:
    """Delegates to a store but appends without interleaving (the 'other writer')."""

    def __init__(self, store: Interleaved) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def append(self, commit: Commit) -> None:
        MemoryStore.append(self._store, commit)


def test_stale_writer_gets_concurrency_error_and_retries_revalidate():
    store = Interleaved([rcv("OTHER", qty=1)])
    ledger = Ledger(store, clock=lambda: NOW)
    with pytest.raises(ConcurrencyError):
        ledger.post([rcv("R1", qty=4)])
    assert ledger.movement("R1") is None and ledger.head().position == 1
    # With a retry the post is read and checked again, after the other writer's post.
    store.intruders.append(rcv("OTHER-2", item=PLAIN, qty=1))
    assert ledger.post([rcv("R1", qty=4)], retries=1).head.position == 3
    # Here the concurrent writer consumed the stock, so the retry is refused, not overdrawn.
    store.intruders.append(iss("THEIRS", qty=5))
    with pytest.raises(InsufficientStockError):
        ledger.post([iss("MINE", qty=4)], retries=2)
    assert ledger.balance(ITEM) == 0 and ledger.verify().ok


def test_retry_after_a_concurrent_identical_post_is_a_replay():
    store = Interleaved([rcv("R1", qty=4)])
    ledger = Ledger(store, clock=lambda: NOW)
    result = ledger.post([rcv("R1", qty=4)], retries=1)
    assert result.replayed == ("R1",) and ledger.head().position == 1
    store.intruders.append(rcv("R2", qty=5))
    with pytest.raises(IdempotencyConflictError):
        ledger.post([rcv("R2", qty=4)], retries=1)


def test_retry_helper():
    sleeps: list[float] = []
    attempts: list[int] = []

    def always() -> None:
        attempts.append(1)
        raise ConcurrencyError("moved")

    with pytest.raises(ConcurrencyError):
        retry(always, attempts=3, wait=0.5, sleep=sleeps.append, jitter=None)
    assert len(attempts) == 3 and sleeps == [0.5, 1.0]
    with pytest.raises(InvalidValueError):
        retry(lambda: 1, attempts=0)
    with pytest.raises(KeyError):
        retry(lambda: {"a": 1}["x"])


# --------------------------------------------------------------------------- queries


def test_balance_filters_and_subtrees(ledger: Ledger):
    ledger.post(
        [
            rcv("R1", qty=5),
            rcv("R2", item=OTHER_LOT, qty=7, to=B),
            rcv("R3", item=PLAIN, qty=2, to=WARD, status=Q),
            rcv("R4", item=SERIAL, qty=1, to=Location.parse("H/Storeroom")),
        ]
    )
    assert ledger.balance(gtin=GTIN) == 13
    assert ledger.balance(gtin=GTIN, location="H/Store") == 12
    assert ledger.balance(lot="L1") == 6
    assert ledger.balance(serial="S1") == 1
    assert ledger.balance(location=STORE, status="available") == 12
    assert ledger.balance(status=Q) == 2
    assert ledger.balance() == 15
    assert ledger.balance(ITEM, location=B) == 0


def test_positions_are_sorted_and_carry_master_data(ledger: Ledger):
    ledger.post(
        [
            rcv("R1", qty=5, to=B, expiry="2027-01-31", occurred_at="2026-11-20T08:00:00+01:00"),
            rcv("R2", qty=5, to=A, occurred_at="2026-11-22T08:00:00+01:00"),
            rcv("R3", item=PLAIN, qty=1, to=A),
        ]
    )
    positions = ledger.positions(location=STORE)
    assert [(p.item, str(p.location), p.quantity) for p in positions] == [
        (ITEM, "H/Store/A", 5),
        (ITEM, "H/Store/B", 5),
        (PLAIN, "H/Store/A", 1),
    ]
    assert positions[0].expiry == pendulum.date(2027, 1, 31)
    assert positions[0].received_at == pendulum.parse("2026-11-20T08:00:00+01:00")
    assert positions[2].expiry is None


def test_history_and_as_of(ledger: Ledger):
    ledger.post([rcv("R1", qty=5)])
    ledger.post([xfer("T1", qty=2)])
    ledger.post([rcv("P1", item=PLAIN, qty=3), iss("I1", qty=1)])
    assert [r.movement.id for r in ledger.history(ITEM)] == ["R1", "T1", "I1"]
    assert [
        r.movement.id for r in ledger.history(gtin=GTIN, after_position=1, up_to_position=3)
    ] == ["T1"]
    assert ledger.balance(ITEM, location=A, as_of_position=1) == 5
    assert ledger.balance(ITEM, location=A, as_of_position=2) == 3
    assert ledger.balance(ITEM, as_of_position=0) == 0
    assert ledger.balance(location=STORE, as_of_position=4) == 7
    past = ledger.positions(location=STORE, as_of_position=2)
    assert [(str(p.location), p.quantity) for p in past] == [("H/Store/A", 3), ("H/Store/B", 2)]
    assert past[0].received_at is not None
    for bad in (-1, 5, True, "2"):
        with pytest.raises(InvalidValueError, match="as_of_position"):
            ledger.balance(ITEM, as_of_position=bad)  # type: ignore[arg-type]
    assert ledger.movement("T1") is not None and ledger.movement("nope") is None


# --------------------------------------------------------------------------- verify


def test_verify_is_clean_and_counts(ledger: Ledger):
    report = ledger.verify()
    assert report.ok and report.movements_checked == 0 and report.head == LedgerHead.empty()
    ledger.post([rcv("R1", qty=5), xfer("T1", qty=2), iss("I1", qty=1, source=B)])
    report = ledger.verify()
    assert report.ok and report.movements_checked == 3 and report.balances_checked == 2
    assert ledger.verify(anchor=LedgerHead(2, ledger.history()[1].hash)).ok


def test_verify_reports_a_wrong_anchor(ledger: Ledger):
    ledger.post([rcv("R1", qty=5), xfer("T1", qty=2)])
    report = ledger.verify(anchor=LedgerHead(1, "f" * 64))
    assert not report.ok
    (found,) = report.findings
    assert isinstance(found, HeadMismatch)
    assert found.rebuilt.position == 1 and "position 1" in found.description
    beyond = ledger.verify(anchor=LedgerHead(9, "f" * 64)).findings
    assert beyond == (HeadMismatch(stored=LedgerHead(9, "f" * 64), rebuilt=LedgerHead.empty()),)


def test_text_utf8_cannot_encode_is_refused_before_storing(ledger: Ledger):
    # Refused when the movement is built (no store could keep a lone surrogate).
    with pytest.raises(InvalidValueError, match="lone surrogate"):
        ledger.post([rcv("R1", reason="half a pair \ud83d")])
    assert ledger.head().position == 0


class TornReads(MemoryStore):
    """A store where another writer commits between the ledger's id read and its balance read."""

    def __init__(self) -> None:
        super().__init__()
        self.intruder: Movement | None = None

    def balances_of(self, items):
        if self.intruder is not None:
            intruder, self.intruder = self.intruder, None
            Ledger(MemoryStoreView(self), clock=lambda: NOW).post([intruder])  # type: ignore[arg-type]
        return super().balances_of(items)


def test_a_refusal_from_torn_reads_is_retried_not_reported():
    store = TornReads()
    ledger = Ledger(store, clock=lambda: NOW)
    ledger.post([rcv("R1", qty=4)])
    # Another writer posts the very same issue between our reads: our id read says
    # "new", our balance read says "gone". That mix is no state the ledger was ever in.
    store.intruder = iss("I1", qty=4)
    ledger = Ledger(store, clock=lambda: NOW)  # a cold cache: the post reads the balances
    with pytest.raises(ConcurrencyError, match="while the batch was checked") as err:
        ledger.post([iss("I1", qty=4)])
    assert isinstance(err.value.__cause__, InsufficientStockError)
    # With a retry the post reads one state again and is the replay it really is.
    store.intruder = None
    assert ledger.post([iss("I1", qty=4)], retries=1).replayed == ("I1",)
    # A refusal on a stable ledger is still reported as such.
    with pytest.raises(InsufficientStockError):
        ledger.post([iss("I2", qty=1)], retries=3)


def test_as_of_near_the_head_reads_back_from_today_and_survives_a_concurrent_post():
    class Interrupted(MemoryStore):
        """A store where another writer posts while the current positions are read."""

        intruder: Movement | None = None

        def positions(self, query):
            if self.intruder is not None:
                intruder, self.intruder = self.intruder, None
                Ledger(self, clock=lambda: NOW).post([intruder])
            return super().positions(query)

    store = Interrupted()
    ledger = Ledger(store, clock=lambda: NOW)
    ledger.post([rcv("R1", qty=10), iss("I1", qty=3), xfer("T1", qty=2), rcv("R2", qty=5)])
    # Position 3 is nearer the head (4) than the start: today's balances minus R2.
    assert ledger.balance(ITEM, location=A, as_of_position=3) == 5
    assert ledger.positions(ITEM, as_of_position=3) == ledger.positions(ITEM, as_of_position=3)
    # Another post lands while today's balances are read: the answer is still that of
    # position 3 (the ledger replays from the start instead).
    store.intruder = iss("I2", qty=4)
    assert ledger.balance(ITEM, location=A, as_of_position=3) == 5
    assert ledger.head().position == 5
    assert ledger.balance(ITEM, location=A, as_of_position=5) == 6
