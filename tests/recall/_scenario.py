"""A lot spread over a pharmacy, a ward, a patient and a customer clinic, then recalled."""

from __future__ import annotations

import pendulum

from medinv import ItemKey, Ledger, Location, Movement
from medinv.adapters.memory import MemoryStore
from medinv.catalogue import Controls, Product
from medinv.services import Received, receive

GTIN = "09501101530003"
LOT = ItemKey(GTIN, lot="L7")
OTHER = ItemKey(GTIN, lot="L8")
PHARMACY, WARD = Location.parse("CHU/Pharmacy"), Location.parse("CHU/Ward-3")
DAY = pendulum.datetime(2026, 11, 23, 9, tz="Europe/Paris")
OPENED = DAY.add(days=2)
RAW_NAME = "Jane Doe 1970-01-01"
"""Raw patient data typed into a free-text reference: must never leave the library."""


def at(hours: float) -> pendulum.DateTime:
    return DAY.add(minutes=int(hours * 60))


def scan_in(
    store: MemoryStore, ledger: Ledger, fields: str, movement_id: str, when: pendulum.DateTime
) -> Received:
    """Receive ``(01)<GTIN>(17)280131`` plus ``fields`` into the pharmacy at ``when``."""
    return receive(
        ledger,
        f"(01){GTIN}(17)280131{fields}",
        catalogue=store.catalogue,
        to=PHARMACY,
        movement_id=movement_id,
        occurred_at=when,
        actor="dock",
    )


def stocked(store: MemoryStore | None = None) -> tuple[MemoryStore, Ledger]:
    """20 of L7 received by scan and spread; 4 of L8 beside it."""
    store = store or MemoryStore()
    store.catalogue.put_product(
        Product(primary_di=GTIN, controls=Controls(lot=True, expiry=True)),
        valid_from="2026-01-01T00:00:00+00:00",
    )
    ledger = Ledger(store)
    scan_in(store, ledger, "(10)L7(30)20", "GR-1", at(0))
    scan_in(store, ledger, "(10)L8(30)4", "GR-2", at(0))
    ledger.post(
        [
            Movement.transfer(
                "T-1", item=LOT, quantity=8, source=PHARMACY, to=WARD, occurred_at=at(1),
                actor="porter", counterparty="DEPARTMENT:WARD-3",
            ),
            Movement.consumption(
                "C-1", item=LOT, quantity=2, source=WARD, occurred_at=at(2), actor="nurse",
                counterparty="PATIENT:P-00042",
            ),
            Movement.consumption(
                "C-2", item=LOT, quantity=1, source=WARD, occurred_at=at(3), actor="nurse",
                reference=RAW_NAME,
            ),
            Movement.issue(
                "I-1", item=LOT, quantity=5, source=PHARMACY, occurred_at=at(4), actor="sales",
                counterparty="CUSTOMER:CLINIC-9",
            ),
        ]
    )  # fmt: skip
    return store, ledger
