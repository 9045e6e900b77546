"""A recall from opening to reconciliation: quarantine, late arrivals, returns, responses, close."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest

from medinv import ItemKey, Ledger, Movement
from medinv.adapters.memory import MemoryStore
from medinv.errors import InvalidValueError
from medinv.recall import (
    NO_PATIENT,
    CampaignRecord,
    Notification,
    RecallScope,
    Response,
    affected_parties,
    close_campaign,
    land_recalled,
    open_campaign,
    quarantine,
    reconcile,
)
from medinv.services import receive
from medinv.status import StockStatus

from ._scenario import GTIN, LOT, OPENED, OTHER, PHARMACY, WARD, at, scan_in, stocked

RECALLED, AVAILABLE = StockStatus.RECALLED, StockStatus.AVAILABLE


def _open(
    store: MemoryStore, scope: RecallScope | None = None, cid: str = "FSCA-7"
) -> CampaignRecord:
    return open_campaign(
        store.recalls,
        cid,
        scope=scope or RecallScope.of_lots(GTIN, ["L7"]),
        recall_class="I",
        depth="user",
        opened_at=OPENED,
        opened_by="qa-lead",
        reason="sterile barrier may be breached",
    )


def _statuses(ledger: Ledger, item: ItemKey) -> dict[tuple[str, str], int]:
    return {(str(p.location), p.status.value): p.quantity for p in ledger.positions(item=item)}


def test_a_recall_runs_from_quarantine_to_zero_unaccounted():
    store, ledger = stocked()
    _open(store)
    # One call quarantines what is left everywhere: 7 in the pharmacy, 5 on the ward.
    first = quarantine(ledger, store.recalls, "FSCA-7", actor="qa-lead", occurred_at=OPENED)
    assert first.quantity == 12
    assert _statuses(ledger, LOT) == {
        ("CHU/Pharmacy", "RECALLED"): 7,
        ("CHU/Ward-3", "RECALLED"): 5,
    }
    assert _statuses(ledger, OTHER) == {("CHU/Pharmacy", "AVAILABLE"): 4}  # out of scope
    head = ledger.head()
    again = quarantine(ledger, store.recalls, "FSCA-7", actor="qa", occurred_at=OPENED.add(hours=1))
    assert (again.quantity, again.movement_ids, ledger.head()) == (0, (), head)

    # A late receipt through the receiving service lands RECALLED.
    late = scan_in(store, ledger, "(10)L7(30)5", "GR-3", OPENED.add(hours=2))
    assert late.status is RECALLED
    assert late.movement.movement.reason == "recall FSCA-7"
    # The customer returns 3 (landed RECALLED) and reports 2 destroyed.
    (returned,) = land_recalled(
        store.recalls,
        [
            Movement.return_(
                "RT-1", item=LOT, quantity=3, to=PHARMACY, occurred_at=OPENED.add(days=1),
                actor="dock", status=AVAILABLE, counterparty="CUSTOMER:CLINIC-9",
            )
        ],
    )  # fmt: skip
    assert returned.to_status is RECALLED
    ledger.post([returned])
    store.recalls.notify(
        "FSCA-7",
        Notification(party="CUSTOMER:CLINIC-9", notified_at=OPENED, by="qa-lead", channel="fax"),
    )
    before = reconcile(ledger, store.recalls, "FSCA-7")
    assert before.unaccounted == 2
    assert before.effectiveness == Fraction(3, 5)
    store.recalls.respond(
        "FSCA-7",
        Response(
            party="CUSTOMER:CLINIC-9", responded_at=OPENED.add(days=2), by="qa", item=LOT,
            destroyed=2, returned=3,
        ),
    )  # fmt: skip

    result = reconcile(ledger, store.recalls, "FSCA-7")
    (lot,) = result.lots
    assert lot.item == LOT
    assert lot.received == 25
    assert lot.returned == 3
    assert lot.on_hand == ((RECALLED, 20),)  # 7 + 5 on the ward + 5 late + 3 returned
    assert lot.consumed == (("(no patient reference)", 1), ("P-00042", 2))
    assert lot.distributed == (("CUSTOMER:CLINIC-9", 5),)
    assert lot.scrapped == 0
    assert lot.outstanding == ()
    assert result.unaccounted == lot.unaccounted == 0
    assert result.effectiveness == 1
    assert lot.received == (
        lot.on_hand_total + lot.consumed_total + lot.distributed_total + lot.scrapped
        - lot.returned + lot.written_off
    )  # fmt: skip

    # Every unit accounted for: the opener may close it.
    record = close_campaign(
        ledger, store.recalls, "FSCA-7", closed_by="qa-lead", closed_at=OPENED.add(days=5)
    )
    assert record.closing is not None
    assert record.closing.unaccounted == 0
    # Closed: arrivals land where they say again.
    after = scan_in(store, ledger, "(10)L7(30)1", "GR-4", OPENED.add(days=6))
    assert after.status is AVAILABLE


def test_a_replayed_receipt_keeps_the_status_it_was_booked_with():
    store, ledger = stocked()
    _open(store)
    scan = f"(01){GTIN}(17)280131(10)L7(30)5"
    options: dict[str, Any] = {"catalogue": store.catalogue, "to": PHARMACY, "actor": "dock"}
    # Booked before the campaign opened, at a moment after it: AVAILABLE at the time...
    early = receive(
        ledger, scan, movement_id="GR-9", occurred_at=OPENED.add(hours=1),
        recalls=_NoCampaigns(), **options,
    )  # fmt: skip
    assert early.status is AVAILABLE
    # ... and replaying it under the same id is a replay, not a conflict.
    again = receive(ledger, scan, movement_id="GR-9", occurred_at=OPENED.add(hours=1), **options)
    assert again.replayed
    assert again.status is AVAILABLE


def _stored(ledger: Ledger, movement_id: str) -> Movement:
    found = ledger.movement(movement_id)
    assert found is not None
    return found.movement


class _NoCampaigns:
    def covering(self, arrivals, at):  # noqa: ARG002  (the port's signature)
        return [None for _ in arrivals]


def test_a_raw_post_books_what_it_says_and_the_next_quarantine_run_moves_it():
    store, ledger = stocked()
    _open(store)
    quarantine(ledger, store.recalls, "FSCA-7", actor="qa", occurred_at=OPENED)
    ledger.post(
        [
            Movement.receipt(
                "RAW-1", item=LOT, quantity=4, to=WARD, occurred_at=OPENED.add(hours=3),
                actor="ward clerk",
            )
        ]
    )  # fmt: skip
    assert _statuses(ledger, LOT)[("CHU/Ward-3", "AVAILABLE")] == 4
    rerun = quarantine(ledger, store.recalls, "FSCA-7", actor="qa", occurred_at=OPENED.add(hours=4))
    assert rerun.quantity == 4
    assert ("CHU/Ward-3", "AVAILABLE") not in _statuses(ledger, LOT)
    assert all(mid.startswith("recall/FSCA-7/") for mid in rerun.movement_ids)


def test_arrivals_before_the_opening_are_left_as_they_are():
    store, _ = stocked()
    _open(store)
    early = Movement.receipt(
        "E-1", item=LOT, quantity=1, to=PHARMACY, occurred_at=OPENED.subtract(minutes=1),
        actor="dock",
    )  # fmt: skip
    issue = Movement.issue(
        "I-9", item=LOT, quantity=1, source=PHARMACY, occurred_at=OPENED, actor="x"
    )
    assert land_recalled(store.recalls, [early, issue]) == [early, issue]


def test_closing_with_units_unaccounted_needs_a_reason_signed_by_a_second_person():
    store, ledger = stocked()
    _open(store)
    assert reconcile(ledger, store.recalls, "FSCA-7").unaccounted == 5  # the clinic's 5
    with pytest.raises(InvalidValueError, match="signed reason"):
        close_campaign(ledger, store.recalls, "FSCA-7", closed_by="pharmacist", closed_at=OPENED)
    with pytest.raises(InvalidValueError, match="second person"):
        close_campaign(
            ledger, store.recalls, "FSCA-7", closed_by="QA-LEAD", closed_at=OPENED,
            reason="clinic closed down",
        )  # fmt: skip
    found = store.recalls.get("FSCA-7")
    assert found is not None
    assert found.is_open
    record = close_campaign(
        ledger, store.recalls, "FSCA-7", closed_by="pharmacist", closed_at=OPENED,
        reason="clinic closed down",
    )  # fmt: skip
    assert record.closing is not None
    assert record.closing.unaccounted == 5
    assert record.closing.reason == "clinic closed down"
    with pytest.raises(InvalidValueError, match="closed"):
        quarantine(ledger, store.recalls, "FSCA-7", actor="qa", occurred_at=OPENED)


def test_units_written_off_are_unaccounted():
    store, ledger = stocked()
    _open(store)
    ledger.post(
        [
            Movement.adjustment(
                "ADJ-1", item=LOT, change=-2, at=PHARMACY, occurred_at=at(5), actor="counter",
                reason="shortage",
            ),
            Movement.scrap("S-1", item=LOT, quantity=1, source=PHARMACY, occurred_at=at(6),
                           actor="qa", reason="damaged"),
        ]
    )  # fmt: skip
    (lot,) = reconcile(ledger, store.recalls, "FSCA-7").lots
    assert (lot.written_off, lot.scrapped, lot.unaccounted) == (2, 1, 2 + 5)


def test_a_reversal_takes_back_what_it_reverses():
    store, ledger = stocked()
    _open(store)
    ledger.post(
        [Movement.reversal("X-1", of=_stored(ledger, "I-1"), occurred_at=at(5),
                           actor="sales", reason="wrong lot")]
    )  # fmt: skip
    (lot,) = reconcile(ledger, store.recalls, "FSCA-7").lots
    assert (lot.distributed, lot.unaccounted, lot.effectiveness) == ((), 0, None)


def test_the_affected_parties_come_from_the_ledger():
    store, ledger = stocked()
    _open(store)
    exposure = {(e.kind, e.key): e for e in affected_parties(ledger, store.recalls, "FSCA-7")}
    assert set(exposure) == {
        ("CUSTOMER", "CUSTOMER:CLINIC-9"),
        ("DEPARTMENT", "DEPARTMENT:WARD-3"),
        ("PATIENT", "PATIENT:P-00042"),
        ("LOCATION", "CHU/Pharmacy"),
        ("LOCATION", "CHU/Ward-3"),
    }
    clinic = exposure["CUSTOMER", "CUSTOMER:CLINIC-9"]
    assert (clinic.quantity, clinic.first, clinic.lots) == (5, at(4), (LOT,))
    assert exposure["LOCATION", "CHU/Ward-3"].quantity == 8


def test_a_serial_scope_and_a_production_range_scope():
    store, ledger = stocked()
    ledger.post(
        [Movement.receipt("S-1", item=ItemKey(GTIN, lot="L9", serial="SN1"), quantity=1,
                          to=WARD, occurred_at=at(0), actor="dock")]
    )  # fmt: skip
    _open(store, RecallScope.of_serials(GTIN, ["SN1"]), cid="SER")
    result = quarantine(ledger, store.recalls, "SER", actor="qa", occurred_at=OPENED)
    assert result.quantity == 1
    ranged = RecallScope.produced_between(
        GTIN, "2026-01-01", "2026-06-30", production_dates={"L8": "2026-02-01"}
    )
    _open(store, ranged, cid="RANGE")
    result = quarantine(ledger, store.recalls, "RANGE", actor="qa", occurred_at=OPENED)
    assert result.quantity == 4  # L8 only: L7's production date is known nowhere
    assert [str(i) for i in result.undetermined] == [
        "(01)09501101530003(10)L7",
        "(01)09501101530003(10)L9",
    ]
    # A label with a production date in range lands RECALLED at receipt.
    got = scan_in(store, ledger, "(11)260315(10)L10(30)2", "GR-R", OPENED.add(hours=1))
    assert got.status is RECALLED
    assert reconcile(ledger, store.recalls, "RANGE").undetermined[-1] == ItemKey(GTIN, lot="L9")


def test_consumptions_without_a_pseudonym_are_counted_but_never_named():
    store, ledger = stocked()
    _open(store)
    (lot,) = reconcile(ledger, store.recalls, "FSCA-7").lots
    assert dict(lot.consumed)[NO_PATIENT] == 1


def test_an_unknown_campaign_is_refused():
    store, ledger = stocked()
    with pytest.raises(InvalidValueError, match="no recall campaign"):
        reconcile(ledger, store.recalls, "nope")


def test_a_serial_scope_reconciles_each_unit_whatever_its_lot():
    store, ledger = stocked()
    unit = ItemKey(GTIN, lot="L9", serial="SN1")
    ledger.post(
        [
            Movement.receipt("S-1", item=unit, quantity=1, to=WARD, occurred_at=at(0),
                             actor="dock"),
            Movement.issue("S-2", item=unit, quantity=1, source=WARD, occurred_at=at(1),
                           actor="sales", counterparty="CUSTOMER:CLINIC-9"),
        ]
    )  # fmt: skip
    _open(store, RecallScope.of_serials(GTIN, ["SN1", "SN2"]), cid="SER")
    result = reconcile(ledger, store.recalls, "SER")
    assert [lot.item for lot in result.lots] == [
        ItemKey(GTIN, serial="SN1"),
        ItemKey(GTIN, serial="SN2"),
    ]
    first, second = result.lots
    assert (first.received, first.distributed, first.unaccounted) == (
        1,
        (("CUSTOMER:CLINIC-9", 1),),
        1,
    )
    assert (second.received, second.unaccounted) == (0, 0)
    store.recalls.respond(
        "SER",
        Response(party="CUSTOMER:CLINIC-9", responded_at=OPENED, by="qa", item=unit, on_hand=1),
    )
    assert reconcile(ledger, store.recalls, "SER").unaccounted == 0
