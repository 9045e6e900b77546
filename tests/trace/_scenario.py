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
    transfers = [  # id, quantity, from, to, day and hour, counterparty
        ("T-S", 30, bin3, south, day(2), "SITE:SOUTH"),
        ("T-E", 10, bin3, east, day(2), "SITE:EAST"),
        ("T-CARDIO", 15, bin3, cardio, day(2, 10), "DEPARTMENT:CARDIO"),
        ("T-OR", 10, bin3, theatre, day(2, 10), "DEPARTMENT:OR"),
        ("T-ICU", 10, south, loc("South/ICU"), day(2, 12), "DEPARTMENT:ICU"),
        ("T-NEURO", 5, south, loc("South/Ward/Neuro"), day(2, 12), "DEPARTMENT:NEURO"),
        ("T-ER", 5, east, loc("East/ER"), day(2, 12), "DEPARTMENT:ER"),
    ]
    consumptions = [  # id, quantity, from, patient (all on day 3)
        ("C-2", 2, cardio, "PATIENT:P-10002"),
        ("C-OR", 4, theatre, "PATIENT:P-10003"),
        ("C-ICU", 2, loc("South/ICU"), "PATIENT:P-10004"),
        ("C-ER", 1, loc("East/ER"), "PATIENT:P-10005"),
    ]
    wrong = Movement.consumption(
        "C-OR-2", item=LOT, quantity=1, source=theatre, occurred_at=day(3, 11),
        counterparty="PATIENT:P-10006", **a,
    )  # fmt: skip
    clinic = "CUSTOMER:CLINIC-9"
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
        *(
            Movement.transfer(
                i, item=LOT, quantity=q, source=f, to=t, occurred_at=when, counterparty=party, **a
            )
            for i, q, f, t, when, party in transfers
        ),
        # The patient's name and hospital number in free text: never in a trace.
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
        *(
            Movement.consumption(
                i, item=LOT, quantity=q, source=f, occurred_at=day(3), counterparty=patient, **a
            )
            for i, q, f, patient in consumptions
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
            "I-1", item=LOT, quantity=5, source=south, occurred_at=day(4), counterparty=clinic, **a
        ),
        Movement.return_(
            "RT-1", item=LOT, quantity=2, to=south, occurred_at=day(5), counterparty=clinic, **a
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
            counterparty=clinic,
            **a,
        ),
        Movement.return_(
            "RT-2", item=LOT, quantity=1, to=south, occurred_at=day(7), counterparty=clinic, **a
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
