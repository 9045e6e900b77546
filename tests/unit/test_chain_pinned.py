"""The hash chain's format is pinned: a fixed ledger hashes to the values stored below.

Every movement ever recorded keeps its hash; verification recomputes it from the
content. Any change to the canonical content, the entry format or the hashing
(a faster encoder, a cache) must give exactly these hashes, on every store, or
every ledger written before it would fail verification. The values were written
by medinv 96c4655 (before the posting speed work); do not regenerate them.
"""

from __future__ import annotations

import pendulum
import pytest

from medinv import ItemKey, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.chain import GENESIS_HASH, chain_hash
from medinv.ledger import Ledger
from medinv.ports import LedgerStore, MovementQuery
from medinv.status import StockStatus

CLOCK = pendulum.datetime(2026, 12, 4, 7, 30, 15, 123456, tz="UTC")
LOT = ItemKey("04006381333931", lot="L-2026/A")
SERIAL = ItemKey("00614141000418", serial="SN 0001")
HIBC = ItemKey("HIBCC:A123BJC5D6E71", lot="H7")
STORE = Location.parse("CHU-Nord/Pharmacy/A1")
WARD = Location.parse("CHU-Nord/Ward-3/Cabinet")
PARIS = "2026-12-04T09:00:00+01:00"
UTC = "2026-12-04T08:00:00.250000+00:00"


def batches() -> list[list[Movement]]:
    """Two batches using every kind, optional field and agency the content encodes."""
    receipt = Movement.receipt(
        "DN-1/1",
        item=LOT,
        quantity=40,
        to=STORE,
        occurred_at=PARIS,
        actor="Léa Martin",
        expiry="2027-06-30",
        reference="DN-1",
        counterparty="SUPPLIER:0614141000005",
        business_references=["po:4711", "desadv:DA-9"],
    )
    first = [
        receipt,
        Movement.receipt("DN-1/2", item=SERIAL, quantity=1, to=STORE, occurred_at=UTC, actor="jm"),
        Movement.receipt(
            "DN-1/3", item=HIBC, quantity=5, to=STORE, occurred_at=PARIS, actor="jm", reason="first"
        ),
        Movement.transfer(
            "TR-1", item=LOT, quantity=15, source=STORE, to=WARD, occurred_at=PARIS, actor="jm"
        ),
        Movement.status_change(
            "ST-1",
            item=LOT,
            quantity=5,
            at=STORE,
            from_status=StockStatus.AVAILABLE,
            to_status=StockStatus.QUARANTINE,
            occurred_at=UTC,
            actor="qa",
            reason="inspection",
        ),
    ]
    second = [
        Movement.issue(
            "IS-1",
            item=LOT,
            quantity=3,
            source=WARD,
            occurred_at=PARIS,
            actor="nurse",
            reference="WARD-3",
            counterparty="DEPARTMENT:ICU",
        ),
        Movement.consumption(
            "CO-1",
            item=SERIAL,
            quantity=1,
            source=STORE,
            occurred_at=UTC,
            actor="dr who",
            business_references=["procedure:OR-12"],
        ),
        Movement.adjustment(
            "AD-1", item=HIBC, change=-2, at=STORE, occurred_at=PARIS, actor="jm", reason="count"
        ),
        Movement.return_("RT-1", item=LOT, quantity=1, to=STORE, occurred_at=PARIS, actor="nurse"),
        Movement.scrap("SC-1", item=HIBC, quantity=1, source=STORE, occurred_at=UTC, actor="jm"),
        Movement.reversal("RV-1", of=first[4], occurred_at=UTC, actor="jm", reason="wrong ward"),
    ]
    return [first, second]


PINNED = (
    "cd796b47e5948cb431a7ac938a5d129bbb7705dd5e5d1b7c9172f4eaf3be6c0b",
    "c74f2b7a49ed7666fb04ca2087e0f254096c21e9b6465639ed1d414edb824621",
    "0b576378244d2d3e9ef4ccadff1feeef51a7741af728162e163cb7a701a99925",
    "2c19e3cc282309acd521084cda2ef3d4c6c0d8ec1042bd09ed1b3740db7d3fb2",
    "bea1e85615b0eb66c8f4aa023afc4a84fd7a3f95babfdd2f83ac2b9ea2d6210f",
    "765401fc7e5167117f3eb9e1d5133bcdbd3af8c29515ce4946406a8c5e1cfc62",
    "1feaeca4f6d8eb1136cb1e0ad10749810892163af4a24c9a1f03cb397c875784",
    "593e9941b840f8dac5b7a45c9e53ff240f3ba9eb5b8555e85acd83935b361493",
    "bf53e2739312dc4e8cd1b52fd3e10c519186b2fc5f0de7ba0e04eae00669344d",
    "dff0af0e97a49b4ec9d2feaf868eaeb6c50284f2f00129bdc634cb9cd7263d25",
    "dfa3ab6327598ab5cd6788dfd462395031386ed67acb5e5775614dce86c42484",
)


def post_all(store: LedgerStore) -> list[str]:
    ledger = Ledger(store, clock=lambda: CLOCK)
    hashes: list[str] = []
    for batch in batches():
        hashes += [r.hash for r in ledger.post(batch).new]
    assert ledger.verify().ok
    return hashes


@pytest.mark.parametrize("make", [MemoryStore, lambda: SqliteStore(":memory:")])
def test_a_fixed_ledger_hashes_to_the_pinned_values(make) -> None:
    with make() as store:
        assert post_all(store) == list(PINNED)
        assert [r.hash for r in store.movements(MovementQuery())] == list(PINNED)


def test_each_pinned_hash_is_the_entry_hash_of_its_movement() -> None:
    # The one-movement function (what stores and verification call) agrees too.
    prev = GENESIS_HASH
    movements = [m for batch in batches() for m in batch]
    for position, (movement, pinned) in enumerate(zip(movements, PINNED, strict=True), start=1):
        prev = chain_hash(prev, movement, position=position, recorded_at=CLOCK)
        assert prev == pinned
