"""``medinv history`` and ``medinv stock``: the stock controller's filters, through the indexes."""

# ruff: noqa: F811  (every test takes the `ledger` fixture imported from test_cli_ops)
from __future__ import annotations

import pytest

from medinv.ports import MovementQuery

from .test_cli_ops import GTIN, Ledgers, ids, ledger, run, run_json  # noqa: F401  (a fixture)


def history(ledger: Ledgers, capsys: pytest.CaptureFixture[str], *options: str) -> list[str]:
    return ids(*ledger.args, *options, capsys=capsys)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--kind", "receipt,transfer"], ["R-1", "R-2", "R-3", "T-1"]),
        (["--kind", "ISSUE", "--actor", "BOB", "--location", "CHU/Ward"], ["I-1"]),
        (["--reference", "PO-1", "--gtin", GTIN, "--kind", "receipt"], ["R-1", "R-2"]),
        (["--from", "2026-11-24T14:30:00Z", "--to", "2026-11-24T14:30:00.000001Z"], ["T-1", "I-1"]),
        (["--location", "CHU", "--since", "4"], ["I-1"]),
        (["--id", "T-1", "--actor", "bob"], []),
    ],
)
def test_history_combines_the_filters(
    ledger: Ledgers, capsys: pytest.CaptureFixture[str], options: list[str], expected: list[str]
) -> None:
    assert history(ledger, capsys, *options) == expected


def test_history_reads_through_the_store_query(
    ledger: Ledgers, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[MovementQuery] = []
    with ledger.open() as store:
        kind = type(store)
        original = kind.movements

        def spy(self, query):
            seen.append(query)
            return original(self, query)

        monkeypatch.setattr(kind, "movements", spy)
    assert history(ledger, capsys, "--actor", "Ann Lee", "--location", "CHU/Ward") == ["T-1"]
    assert seen[-1].actor == "ann lee"
    assert seen[-1].location is not None


def test_stock_expiry_window_and_no_expiry(
    ledger: Ledgers, capsys: pytest.CaptureFixture[str]
) -> None:
    def expiries(*options: str) -> list[str]:
        data = run_json("stock", *ledger.args, *options, capsys=capsys)
        return sorted(str(row["expiry"]) for row in data["rows"])

    assert expiries("--expires-before", "2027-07-01") == ["2026-12-31", "2027-06-30", "2027-06-30"]
    assert expiries("--expiring-before", "2027-01-01") == ["2026-12-31"]
    assert expiries("--expires-from", "2027-01-01", "--expires-before", "2027-07-01") == [
        "2027-06-30",
        "2027-06-30",
    ]
    assert expiries("--expires-from", "2028-01-31") == ["2028-01-31"]
    assert expiries("--no-expiry") == []
    assert expiries("--expires-before", "2027-07-01", "--as-of", "1") == ["2027-06-30"]


def test_stock_refuses_contradicting_expiry_options(
    ledger: Ledgers, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        "stock", *ledger.args, "--no-expiry", "--expires-before", "2027-01-01", capsys=capsys
    )
    assert code != 0
    assert "expiry" in err and err.count("\n") == 1


def test_stock_totals_by_product_and_location(
    ledger: Ledgers, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_json(
        "stock", *ledger.args, "--by", "product", "--expires-before", "2028-01-01", capsys=capsys
    )
    assert [(row["gtin"], row["quantity"]) for row in data["rows"]] == [
        ("04006381333931", 10),
        ("09506000134352", 3),
    ]
