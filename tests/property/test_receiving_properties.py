"""Receiving hostile scanner input: a medinv error or a receipt, never half a batch."""

from __future__ import annotations

import pendulum
from hypothesis import event, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory import MemoryStore
from medinv.catalogue import Controls, PackageLevel, Product
from medinv.errors import MedinvError
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.services import ReceiveBatchError, receive, receive_many

EACH, BOX = "09501101530003", "19501101530000"
AT = pendulum.datetime(2026, 12, 1, 9, tz="Europe/Paris")
DOCK = Location.parse("CHU/Dock")
PRODUCT = Product(
    primary_di=EACH,
    packages=(PackageLevel(di=BOX, contains=EACH, quantity=12),),
    controls=Controls(lot=True),
    min_shelf_life_at_receipt=30,
)

# Pieces of real scans glued with arbitrary text reach deeper than random text alone.
PIECES = st.sampled_from(
    [
        "(01)09501101530003",
        "(01)19501101530000",
        "(01)00614141000418",
        "(10)",
        "(21)",
        "(17)",
        "(30)",
        "(37)",
        "(02)19501101530000",
        "(00)106141411234567897",
        "\x1d",
        "]d2",
        "010950110153000317",
        "+A123BJC5D6E71/$$",
        "MA.156.M0.100350.01004YA10017.",
        "https://id.example/01/09501101530003/10/",
    ]
)
FIELDS = st.tuples(
    st.sampled_from(["(01)09501101530003", "(01)19501101530000", "(01)00614141000418"]),
    st.one_of(st.just(""), st.text(min_size=0, max_size=22).map("(10){}".format)),
    st.one_of(st.just(""), st.from_regex(r"\(17\)[0-9]{6}", fullmatch=True)),
    st.one_of(st.just(""), st.from_regex(r"\(30\)[0-9]{1,9}", fullmatch=True)),
    st.one_of(st.just(""), st.text(min_size=0, max_size=22).map("(21){}".format)),
).map("".join)
SCANS = st.one_of(
    st.text(max_size=80),
    FIELDS,
    st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=8).map("".join),
)


def _ledger() -> tuple[MemoryStore, Ledger]:
    store = MemoryStore()
    store.catalogue.put_product(PRODUCT, valid_from="2026-01-01T00:00:00+00:00")
    return store, Ledger(store)


@settings(max_examples=400, deadline=None)
@given(SCANS)
def test_any_text_is_received_or_refused_with_a_medinv_error(text: str):
    store, ledger = _ledger()
    try:
        got = receive(ledger, text, catalogue=store.catalogue, to=DOCK, movement_id="GR-1",
                      occurred_at=AT, actor="dock")  # fmt: skip
    except MedinvError as e:
        event(type(e).__name__)
        assert ledger.head().position == 0
        return
    event("booked")
    assert ledger.head().position == 1
    assert got.quantity >= 1
    assert ledger.balance(gtin=EACH) == got.quantity


@settings(max_examples=150, deadline=None)
@given(st.lists(SCANS, min_size=1, max_size=6))
def test_a_batch_of_any_text_is_booked_whole_or_not_at_all(texts: list[str]):
    store, ledger = _ledger()
    try:
        got = receive_many(ledger, texts, catalogue=store.catalogue, to=DOCK, batch_id="B",
                           occurred_at=AT, actor="dock")  # fmt: skip
    except ReceiveBatchError as e:
        lines = [error.line for error in e.errors]
    else:
        assert ledger.head().position == len(texts)
        assert ledger.balance(gtin=EACH) == got.quantity
        return
    assert ledger.head().position == 0
    assert lines
    assert all(1 <= line <= len(texts) for line in lines)
