"""A lot over three sites and five departments: the scenario the trace tests and the CLI share.

Lot L-777 of one GTIN arrives at ``North/Store/Bin-3``, goes to two other sites and
five departments, is consumed on patients (named by pseudonyms only), issued to a
clinic that returns part of it, which is sent back and partly returned again (a
return of a return), has a consumption booked in error and reversed, is partly
scrapped, and gets a consumption recorded last that occurred on day 3 (backdated).
A serial with the lot's text is received too: it is another subject.

The patient behind ``PATIENT:P-10001`` is "Marie Curie-Sklodowska" (hospital number
``MRN-4471-0093``); her name and number appear in free text the ledger stores (a
reason, a reference, a catalogue party's name) and must never appear in a trace.
"""

from __future__ import annotations

from typing import Any

import pendulum

from medinv.catalogue import Party, PartyKind
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore
from medinv.status import StockStatus

GTIN = "04006381333931"
LOT = ItemKey(GTIN, lot="L-777")
SERIAL = ItemKey(GTIN, serial="L-777")
PATIENT_NAME = "Marie Curie-Sklodowska"
PATIENT_RAW_ID = "MRN-4471-0093"
DAY1 = pendulum.datetime(2026, 5, 4, 8, tz="UTC")


def day(n: int, hour: int = 8) -> pendulum.DateTime:
    """Hour ``hour`` (UTC) of day ``n`` of the scenario (day 1 is 4 May 2026)."""
    return DAY1.add(days=n - 1).set(hour=hour)


def loc(path: str) -> Location:
    """A location by path."""
    return Location.parse(path)


def movements() -> list[Movement]:
    """The scenario's movements in the order they are recorded (the backdated one last)."""
    a: dict[str, Any] = {"actor": "nurse.ana"}
    bin3, south, east = loc("North/Store/Bin-3"), loc("South/Store"), loc("East/Store")
    cardio, theatre = loc("North/Ward/Cardio"), loc("North/OR")
    icu, neuro, er = loc("South/ICU"), loc("South/Ward/Neuro"), loc("East/ER")
    wrong = Movement.consumption("C-OR-2", item=LOT, quantity=1, source=theatre,
                                 occurred_at=day(3, 11), counterparty="PATIENT:P-10006", **a)  # fmt: skip
    return [
        Movement.receipt(
            "R-1",
            item=LOT,
            quantity=100,
            to=bin3,
            occurred_at=day(1),
            counterparty="SUPPLIER:ACME",
            reference="DN-1",
            **a,
        ),
        Movement.receipt("R-S", item=SERIAL, quantity=1, to=bin3, occurred_at=day(1), **a),
        Movement.transfer(
            "T-S",
            item=LOT,
            quantity=30,
            source=bin3,
            to=south,
            occurred_at=day(2),
            counterparty="SITE:SOUTH",
            **a,
        ),
        Movement.transfer(
            "T-E",
            item=LOT,
            quantity=10,
            source=bin3,
            to=east,
            occurred_at=day(2),
            counterparty="SITE:EAST",
            **a,
        ),
        Movement.transfer(
            "T-CARDIO",
            item=LOT,
            quantity=15,
            source=bin3,
            to=cardio,
            occurred_at=day(2, 10),
            counterparty="DEPARTMENT:CARDIO",
            **a,
        ),
        Movement.transfer(
            "T-OR",
            item=LOT,
            quantity=10,
            source=bin3,
            to=theatre,
            occurred_at=day(2, 10),
            counterparty="DEPARTMENT:OR",
            **a,
        ),
        Movement.transfer(
            "T-ICU",
            item=LOT,
            quantity=10,
            source=south,
            to=icu,
            occurred_at=day(2, 12),
            counterparty="DEPARTMENT:ICU",
            **a,
        ),
        Movement.transfer(
            "T-NEURO",
            item=LOT,
            quantity=5,
            source=south,
            to=neuro,
            occurred_at=day(2, 12),
            counterparty="DEPARTMENT:NEURO",
            **a,
        ),
        Movement.transfer(
            "T-ER",
            item=LOT,
            quantity=5,
            source=east,
            to=er,
            occurred_at=day(2, 12),
            counterparty="DEPARTMENT:ER",
            **a,
        ),
        Movement.consumption(
            "C-1",
            item=LOT,
            quantity=3,
            source=cardio,
            occurred_at=day(3),
            counterparty="PATIENT:P-10001",
            reference=PATIENT_NAME,
            reason=f"implanted in {PATIENT_NAME} ({PATIENT_RAW_ID})",
            **a,
        ),
        Movement.consumption(
            "C-2",
            item=LOT,
            quantity=2,
            source=cardio,
            occurred_at=day(3),
            counterparty="PATIENT:P-10002",
            **a,
        ),
        Movement.consumption(
            "C-OR",
            item=LOT,
            quantity=4,
            source=theatre,
            occurred_at=day(3),
            counterparty="PATIENT:P-10003",
            business_references=["procedure:OP-77"],
            **a,
        ),
        Movement.consumption(
            "C-ICU",
            item=LOT,
            quantity=2,
            source=icu,
            occurred_at=day(3),
            counterparty="PATIENT:P-10004",
            **a,
        ),
        Movement.consumption(
            "C-ER",
            item=LOT,
            quantity=1,
            source=er,
            occurred_at=day(3),
            counterparty="PATIENT:P-10005",
            **a,
        ),
        wrong,
        Movement.reversal(
            "C-OR-2-R",
            of=wrong,
            occurred_at=day(3, 12),
            actor="nurse.ana",
            reason=f"wrong patient, not {PATIENT_RAW_ID}",
        ),
        Movement.issue(
            "I-1",
            item=LOT,
            quantity=5,
            source=south,
            occurred_at=day(4),
            counterparty="CUSTOMER:CLINIC-9",
            **a,
        ),
        Movement.return_(
            "RT-1",
            item=LOT,
            quantity=2,
            to=south,
            occurred_at=day(5),
            counterparty="CUSTOMER:CLINIC-9",
            **a,
        ),
        Movement.status_change(
            "S-1",
            item=LOT,
            quantity=2,
            at=south,
            from_status=StockStatus.QUARANTINE,
            to_status=StockStatus.AVAILABLE,
            occurred_at=day(6),
            **a,
        ),
        Movement.issue(
            "I-2",
            item=LOT,
            quantity=2,
            source=south,
            occurred_at=day(6, 10),
            counterparty="CUSTOMER:CLINIC-9",
            **a,
        ),
        Movement.return_(
            "RT-2",
            item=LOT,
            quantity=1,
            to=south,
            occurred_at=day(7),
            counterparty="CUSTOMER:CLINIC-9",
            **a,
        ),
        Movement.scrap("X-1", item=LOT, quantity=2, source=cardio, occurred_at=day(7), **a),
        # Recorded last, occurred on day 3: backdated.
        Movement.consumption(
            "C-LATE",
            item=LOT,
            quantity=1,
            source=cardio,
            occurred_at=day(3, 15),
            counterparty="PATIENT:P-10007",
            **a,
        ),
    ]


def build(store: LedgerStore) -> Ledger:
    """Post the scenario one movement at a time (each its own position) into an empty store.

    If the store has a catalogue, the patient's name is kept there as a party name of
    the supplier (free text the trace must not read).
    """
    ledger = Ledger(store, clock=lambda: day(9))
    for movement in movements():
        ledger.post([movement])
    catalogue = getattr(store, "catalogue", None)
    if catalogue is not None:
        catalogue.put_party(
            Party(kind=PartyKind.SUPPLIER, id="ACME", name=f"ACME, contact {PATIENT_NAME}"),
            valid_from=day(1),
        )
    return ledger
