"""`import_gudid` writes a thousand records a transaction, with the results of one put at a time."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import GudidFormatError
from medinv.identifiers import gs1_check_digit
from medinv.services.catalogue import import_gudid
from medinv.verification import verify_catalogue

AT = "2026-01-01T00:00:00+00:00"


def _gtin(indicator: int, number: int) -> str:
    body = f"{indicator}{number:012d}"
    return body + str(gs1_check_digit(body))


def _identifier(di: str, kind: str) -> dict[str, str]:
    return {"id": di, "type": kind, "issuing_agency": "GS1"}


def _records(n: int) -> list[dict[str, Any]]:
    """``n`` records; every 97th claims the package DI of the record before it (refused)."""
    out = []
    for number in range(n):
        primary = _gtin(0, number)
        box = _gtin(1, number - 1 if number % 97 == 96 else number)
        package = {"unit_of_use_id": primary, "quantity_per_package": "10"}
        identifiers = [_identifier(primary, "Primary"), _identifier(box, "Package") | package]
        out.append({"identifiers": identifiers, "brand_name": f"device {number % 7}"})
    return out


def _source(records: list[dict[str, Any]]) -> io.BytesIO:
    return io.BytesIO(json.dumps({"results": records}).encode())


class _OneByOne:
    """The store's catalogue without ``put_products``: one put a product."""

    def __init__(self, catalogue: Any) -> None:
        self._catalogue = catalogue

    def product(self, di: object, *, as_of: object = None) -> Any:
        return self._catalogue.product(di, as_of=as_of)

    def put_product(self, product: Any, *, valid_from: object) -> bool:
        return bool(self._catalogue.put_product(product, valid_from=valid_from))


def test_batches_give_the_report_and_catalogue_of_one_put_at_a_time(tmp_path: Path) -> None:
    records = _records(2500)
    seen: list[int] = []
    with (
        SqliteStore(tmp_path / "batch.sqlite3") as batch,
        SqliteStore(tmp_path / "one.sqlite3") as one,
    ):
        statements: list[str] = []
        batch._db.set_trace_callback(statements.append)
        batched = import_gudid(
            batch.catalogue, _source(records), format="json", valid_from=AT, progress=seen.append
        )
        single = import_gudid(
            _OneByOne(one.catalogue),  # type: ignore[arg-type]
            _source(records),
            format="json",
            valid_from=AT,
        )
        batch._db.set_trace_callback(None)
        assert statements.count("COMMIT") == 3  # a transaction per thousand records
        assert batched == single
        assert (batched.records, batched.imported, len(batched.refused)) == (2500, 2475, 25)
        assert "already belongs to product" in batched.refused[0].reason
        assert seen == [1000, 2000, 2500]
        assert list(batch.catalogue.products()) == list(one.catalogue.products())
        assert verify_catalogue(batch.catalogue).ok
        # Again, a month later: nothing changed, nothing stored (nor refused twice over).
        again = import_gudid(
            batch.catalogue, _source(records), format="json", valid_from="2026-02-01T00:00:00+00:00"
        )
        assert (again.imported, again.unchanged, len(again.refused)) == (0, 2475, 25)
        one_again = import_gudid(
            _OneByOne(one.catalogue),  # type: ignore[arg-type]
            _source(records),
            format="json",
            valid_from="2026-02-01T00:00:00+00:00",
        )
        assert one_again == again
        assert verify_catalogue(batch.catalogue).versions_checked == 2475


def test_the_products_before_a_fault_are_stored(tmp_path: Path) -> None:
    text = json.dumps({"results": _records(1500)})
    broken = io.BytesIO((text[:-2] + ', {"identifiers": [}]}').encode())
    with SqliteStore(tmp_path / "fault.sqlite3") as store:
        with pytest.raises(GudidFormatError):
            import_gudid(store.catalogue, broken, format="json", valid_from=AT)
        assert len(list(store.catalogue.products())) == 1485
        assert verify_catalogue(store.catalogue).ok
