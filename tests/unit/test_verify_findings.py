"""Each finding says what is wrong in one sentence; the hash format is the chain's."""

from __future__ import annotations

import pendulum
import pytest

from medinv import ItemKey, Location, Movement, StockStatus, chain, verification
from medinv.adapters.memory import MemoryStore
from medinv.journal import LedgerHead
from medinv.ledger import Ledger
from medinv.verification import CorruptRecord, Finding

ITEM = ItemKey("04006381333931", lot="L1")
SERIAL = ItemKey("04006381333931", serial="S1")
BIN = Location.parse("CHU/A1")
AVAILABLE = StockStatus.AVAILABLE

SENTENCES: list[tuple[Finding, str]] = [
    (
        verification.HashMismatch(position=3, movement_id="m3", stored="a", computed="b"),
        "movement 'm3' at position 3 does not match its hash",
    ),
    (
        verification.ChainBreak(position=4, expected="a", found="b"),
        "the chain breaks at position 4: prev_hash differs",
    ),
    (verification.PositionGap(expected=5, found=9), "positions 5..8 are missing"),
    (verification.PositionOrder(position=2, after=7), "position 2 comes after position 7"),
    (
        verification.DuplicateMovementId(movement_id="m1", positions=(1, 6)),
        "movement id 'm1' is stored at positions (1, 6)",
    ),
    (
        verification.HeadMismatch(stored=LedgerHead(9, "a"), rebuilt=LedgerHead(8, "b")),
        "the head says position 9 but the movements end at 8 (or hashes differ)",
    ),
    (
        verification.ProjectionMismatch(
            item=ITEM, location=BIN, status=AVAILABLE, stored=5, rebuilt=3
        ),
        f"balance of {ITEM} at {BIN} [AVAILABLE] is 5 in the projection but 3 from the movements",
    ),
    (
        CorruptRecord(table="movements", position=7, key=None, reason="bad"),
        "the movements record at position 7 cannot be read: bad",
    ),
    (
        CorruptRecord(table="lots", position=None, key="k", reason="bad"),
        "the lots record 'k' cannot be read: bad",
    ),
    (
        verification.ColumnMismatch(position=2, column="id", stored="x", content="y"),
        "the indexed columns (id) of the movement at position 2 hold x but its content says y",
    ),
    (
        verification.MasterDataMismatch(
            record="lot",
            gtin="04006381333931",
            lot="L1",
            serial=None,
            field="expiry",
            stored="+2027-01-01",
            expected="-",
        ),
        "lot 04006381333931/L1: stored expiry +2027-01-01 but the movements say -",
    ),
    (
        verification.NegativeBalance(
            item=ITEM, location=BIN, status=AVAILABLE, position=4, balance=-2
        ),
        f"balance of {ITEM} at {BIN} [AVAILABLE] falls to -2 at position 4",
    ),
    (
        verification.SerialInTwoPlaces(item=SERIAL, position=5, total=2),
        f"serialised {SERIAL} is in stock 2 times at position 5",
    ),
    (
        verification.ReversalMismatch(position=6, movement_id="r1", reverses="m1", reason="twice"),
        "reversal 'r1' at position 6 of 'm1': twice",
    ),
    (
        verification.RecordedAtDecrease(position=3, recorded_at="b", previous="a"),
        "the movement at position 3 was recorded at b, before the one ahead of it (a)",
    ),
    # The catalogue's findings.
    (
        verification.CatalogueVersionEdited(seq=2, entry="product GS1:X", stored="a", computed="b"),
        "catalogue version 2 (product GS1:X) does not match its hash",
    ),
    (
        verification.CatalogueVersionMissing(expected=3, found=5),
        "catalogue versions 3..4 are missing",
    ),
    (
        verification.CatalogueVersionOrder(seq=4, entry="location A", reason="why"),
        "catalogue version 4 (location A) is out of order: why",
    ),
    (
        verification.CatalogueHeadMismatch(stored=LedgerHead(2, "a"), rebuilt=LedgerHead(3, "b")),
        "the catalogue head says version 2 but the versions end at 3 (or hashes differ)",
    ),
    (
        verification.PackageDINotHeld(
            product="GS1:A", valid_from="t", package_di="GS1:B", contains="GS1:C", held_by=None
        ),
        (
            "package DI GS1:B of product GS1:A (valid from t) contains GS1:C, which no product "
            "holds at that moment"
        ),
    ),
    (
        verification.DIHeldTwice(di="GS1:B", products=("GS1:A", "GS1:C"), since="t"),
        "GS1:B is held by products ('GS1:A', 'GS1:C') at once from t",
    ),
    (
        verification.LookupMismatch(kind="di", name="GS1:B", stored="GS1:A", expected=None),
        "the di lookup of GS1:B names 'GS1:A', but the versions give it to None",
    ),
]


@pytest.mark.parametrize(("finding", "sentence"), SENTENCES, ids=lambda v: type(v).__name__)
def test_each_finding_says_what_is_wrong(finding: Finding, sentence: str) -> None:
    assert finding.description == sentence


def test_every_kind_of_finding_is_covered() -> None:
    kinds = {type(finding) for finding, _ in SENTENCES}
    assert kinds == set(Finding.__subclasses__())


def test_verification_hashes_through_the_chain_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """The entry format is written once, in `medinv.chain`: verify() uses it."""
    at = pendulum.datetime(2026, 11, 23, 8, tz="UTC")
    ledger = Ledger(MemoryStore(), clock=lambda: at)
    ledger.post(
        Movement.receipt(f"m{n}", item=ITEM, quantity=1, to=BIN, occurred_at=at, actor="a")
        for n in range(3)
    )
    calls: list[int] = []

    def counting(prev: str, position: int, recorded_at: str, content: str) -> str:
        calls.append(position)
        return chain.entry_hash(prev, position, recorded_at, content)

    monkeypatch.setattr(verification, "entry_hash", counting)
    assert ledger.verify().ok
    assert calls == [1, 2, 3]


def test_a_row_whose_text_cannot_be_encoded_is_a_corrupt_record() -> None:
    class Source:
        ids_unique = True

    verifier = verification._Verifier(Source(), None)  # type: ignore[arg-type]
    content = "m1\x00RECEIPT\x0004006381333931\x00-\x00-\x001\x00x\ud800"
    verifier.chain(
        [(1, content, "2026-11-23T08:00:00+00:00", None, "h", None, None, None, None, None)]
    )
    (finding,) = verifier.found
    assert isinstance(finding, CorruptRecord)
    assert finding.position == 1
    assert "InvalidMovementError" in finding.reason
    assert "UTF-8 cannot encode" in finding.reason
