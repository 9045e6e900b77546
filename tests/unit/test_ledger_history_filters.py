"""`Ledger.history` takes every filter of `MovementQuery`, on the memory and SQLite stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import BusinessReference, PartyRef
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import LedgerStore

ITEM = ItemKey("04006381333931", lot="L1")
STORE = Location.parse("CHU/Store/A1")
WARD = Location.parse("CHU/Ward-3")
AT = "2026-11-23T08:00:00+01:00"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    with SqliteStore(tmp_path / "ledger.sqlite3") as opened:
        yield opened


def test_history_filters_by_kind_actor_time_place_reference_party_and_document(
    store: LedgerStore,
) -> None:
    ledger = Ledger(store)
    ledger.post(
        [
            Movement.receipt("R-1", item=ITEM, quantity=10, to=STORE, occurred_at=AT,
                             actor="Lea", reference="DN-1",
                             business_references=["desadv:DN-1"]),
            Movement.transfer("T-1", item=ITEM, quantity=4, source=STORE, to=WARD,
                              occurred_at="2026-11-23T09:00:00+01:00", actor="bob"),
            Movement.issue("I-1", item=ITEM, quantity=1, source=WARD,
                           occurred_at="2026-11-23T10:00:00+01:00", actor=" LEA ",
                           counterparty="PATIENT:P-000123"),
        ]
    )  # fmt: skip

    def ids(**filters: object) -> list[str]:
        return [r.movement.id for r in ledger.history(**filters)]  # type: ignore[arg-type]

    assert ids(kind="TRANSFER") == ["T-1"]
    assert ids(kind=["RECEIPT", "ISSUE"]) == ["R-1", "I-1"]
    assert ids(actor="lea") == ["R-1", "I-1"]
    assert ids(occurred_from="2026-11-23T08:30:00+01:00", occurred_to="2026-11-23T10:00:00+01:00") == ["T-1"]  # fmt: skip
    assert ids(location="CHU/Ward-3") == ["T-1", "I-1"]
    assert ids(reference="DN-1") == ["R-1"]
    assert ids(counterparty=PartyRef.parse("PATIENT:P-000123")) == ["I-1"]
    assert ids(business_reference=BusinessReference.parse("desadv:DN-1")) == ["R-1"]
    assert ids(item=ITEM, kind="ISSUE", actor="Lea") == ["I-1"]
    with pytest.raises(InvalidValueError, match="empty occurred-at window"):
        ledger.history(occurred_from=AT, occurred_to=AT)
