from __future__ import annotations

import pytest

from medinv import errors
from medinv.errors import (
    ConcurrencyError,
    IdempotencyConflictError,
    InsufficientStockError,
    InvalidBarcodeError,
    InvalidValueError,
    LotMasterDataConflictError,
    MedinvError,
    ReversalError,
    SerialConflictError,
    StockError,
    StockNotIssuableError,
    StorageError,
)


def test_hierarchy_roots():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, MedinvError)
        roots = [issubclass(cls, r) for r in (InvalidValueError, StockError, StorageError)]
        assert sum(roots) <= 1, name
    assert issubclass(InvalidValueError, ValueError)
    assert not issubclass(StockError, ValueError)


def test_insufficient_stock_carries_what_was_asked_and_there():
    e = InsufficientStockError(
        item="(01)04006381333931",
        location="A",
        status="AVAILABLE",
        requested=5,
        available=2,
        movement_id="m1",
    )
    assert (e.requested, e.available, e.movement_id) == (5, 2, "m1")
    assert (
        str(e)
        == "insufficient stock of (01)04006381333931 at A [AVAILABLE] (movement 'm1'): requested 5, available 2"
    )
    assert "movement" not in str(
        InsufficientStockError(item="i", location="A", status="S", requested=1, available=0)
    )


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            StockNotIssuableError(item="i", movement_id="m", reason="expired on 2026-01-01"),
            "movement 'm' may not take i: expired on 2026-01-01",
        ),
        (
            SerialConflictError(item="i", movement_id="m", reason="already at A"),
            "movement 'm' conflicts on serial i: already at A",
        ),
        (
            LotMasterDataConflictError(
                item="i", movement_id="m", known="2027-01-31", given="2027-02-28"
            ),
            "gives expiry 2027-02-28 for i, which is on record with expiry 2027-01-31",
        ),
        (
            IdempotencyConflictError("m", ("quantity",)),
            "movement id 'm' was already posted with different content (differs in quantity)",
        ),
        (
            IdempotencyConflictError("m"),
            "movement id 'm' was already posted with different content",
        ),
        (
            ReversalError("r", "m", "already reversed by 'r0'"),
            "reversal 'r' of 'm' refused: already reversed by 'r0'",
        ),
        (ConcurrencyError("ledger moved", expected=3, actual=4), "ledger moved"),
        (
            InvalidBarcodeError("AI 17: month 13", text="17261300", offset=4, ai="17"),
            "AI 17: month 13",
        ),
    ],
)
def test_messages_and_attributes(error, text):
    assert text in str(error)
    for attribute in ("movement_id", "item", "offset", "ai", "expected"):
        if hasattr(error, attribute):
            assert getattr(error, attribute) is not None
