"""``medinv report``: the stock-health page, rendered in a real headless browser.

The browser is Debian's chromium. Locally the browser tests are skipped when it is
not installed; under ``CI=true`` they fail instead (``.ci/run`` installs it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pendulum
import pytest

from medinv.adapters.memory import MemoryStore
from medinv.adapters.sqlite import SqliteStore
from medinv.analytics import (
    StockHistory,
    classify_abc,
    consumption_values,
    expiry_risk,
    replenishment,
    stock_ageing,
    stocktake_variances,
)
from medinv.catalogue import Product, ReorderPolicy, UnitValue
from medinv.cli import main
from medinv.cli._report import render_html
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.status import StockStatus
from medinv.stocktake import PlannedAdjustment

ZONE = "Europe/Paris"
DAY0 = pendulum.datetime(2026, 1, 1, 10, tz=ZONE)
AS_OF = DAY0.add(days=120)
STORE, WARD = Location.parse("Main/Store"), Location.parse("Main/Ward")
GTINS = ["04006381333931", "09501101530003", "05012345678900", "04012345678901"]
VALUES = ["2.50", "40", "0.10", "7"]


def _post(store: Any) -> None:
    for gtin, value in zip(GTINS, VALUES, strict=True):
        store.catalogue.put_product(
            Product(primary_di=gtin, unit_value=UnitValue(amount=value, currency="EUR"),
                    reorder=ReorderPolicy(minimum=40, maximum=200)),
            valid_from=DAY0.subtract(days=1),
        )  # fmt: skip
    moves: list[Movement] = []
    for n, gtin in enumerate(GTINS):
        for lot, months in (("A", 2), ("B", 5)):
            item = ItemKey(gtin, lot=f"{lot}{n}")
            expiry = AS_OF.add(months=months, days=n).date().isoformat()
            moves.append(Movement.receipt(f"R{n}{lot}", item=item, quantity=150 + 30 * n, to=STORE,
                                          occurred_at=DAY0, actor="x", expiry=expiry))  # fmt: skip
        moves += [
            Movement.issue(f"I{n}-{d}", item=ItemKey(gtin, lot=f"A{n}"), quantity=1, source=STORE,
                           occurred_at=DAY0.add(days=d, hours=2), actor="x")
            for d in range(0, 120, n + 1)
        ]  # fmt: skip
    moves.append(Movement.receipt("OLD", item=ItemKey(GTINS[2], lot="Z"), quantity=9, to=WARD,
                                  occurred_at=DAY0, actor="x"))  # fmt: skip
    # Two stocktakes, posted as the stocktake service posts them.
    for sid, day, changes in (("ST-1", 30, [(0, -3), (1, 2)]), ("ST-2", 90, [(3, -1)])):
        for n, change in changes:
            adjustment = PlannedAdjustment(item=ItemKey(GTINS[n], lot=f"B{n}"), location=STORE,
                                           status=StockStatus.AVAILABLE, change=change,
                                           reason="count", counted_at=DAY0.add(days=day, hours=5))  # fmt: skip
            moves.append(adjustment.to_movement(sid, actor="y"))
    Ledger(store, timezone=ZONE).post(moves)


@pytest.fixture(scope="module")
def ledger_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "ledger.db"
    with SqliteStore(path) as store:
        _post(store)
    return path


def report(capsys: pytest.CaptureFixture[str], ledger_file: Path, *more: str) -> tuple[int, str]:
    code = main(["report", "--db", str(ledger_file), "--as-of", AS_OF.isoformat(),
                 "--timezone", ZONE, *more])  # fmt: skip
    return code, capsys.readouterr().out


def library_figures(ledger_file: Path) -> dict[str, Any]:
    """The figures the page must show, computed here from the library directly."""
    with SqliteStore(ledger_file) as store:
        history = StockHistory.read(store, as_of=AS_OF, timezone=ZONE)
        risks = expiry_risk(history, catalogue=store.catalogue)
        months: dict[str, int] = {}
        for lot in (lot for r in risks for lot in r.lots):
            if lot.expiry is not None:
                months[lot.expiry.format("YYYY-MM")] = months.get(lot.expiry.format("YYYY-MM"), 0)
                months[lot.expiry.format("YYYY-MM")] += lot.at_risk
        values = consumption_values(history, store.catalogue)
        lines = replenishment(history, store.catalogue, risks=risks)
        return {
            "months": months,
            "abc": classify_abc(values),
            "values": values,
            "proposals": {(li.product, str(li.location)): li.quantity for li in lines if li.quantity},
            "idle": {(str(a.item), a.idle_days) for a in stock_ageing(history, slow_after_days=90)
                     if a.movement.value != "active"},
            "stocktakes": {v.stocktake: v.rate for v in stocktake_variances(store, as_of=AS_OF)},
        }  # fmt: skip


def test_the_json_figures_equal_the_library(
    ledger_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = report(capsys, ledger_file, "--json")
    assert code == 0
    data = json.loads(out)
    expected = library_figures(ledger_file)
    assert len(data["expiry_months"]) == 12
    assert data["expiry_months"][0]["month"] == "2026-05"
    shown = {m["month"]: m["at_risk"] for m in data["expiry_months"] if m["lots"]}
    assert shown == expected["months"]
    assert any(shown.values())  # something is at risk
    assert {a["product"]: a["class"] for a in data["abc"]} == expected["abc"]
    assert {a["product"]: Decimal(a["value"]) for a in data["abc"]} == expected["values"]
    assert data["abc"][-1]["cumulative"] == "1.0000"
    assert {(r["product"], r["location"]): r["quantity"] for r in data["replenishment"]
            if r["quantity"]} == expected["proposals"]  # fmt: skip
    assert {(f"(01){r['product']}(10){r['lot']}", r["idle_days"]) for r in data["idle"]} == (
        expected["idle"]
    )
    assert {s["stocktake"]: s["rate"] for s in data["stocktakes"]} == {
        k: f"{float(v):.4f}" for k, v in expected["stocktakes"].items() if v is not None
    }


def test_stocktake_variance_rates_are_corrections_per_unit_on_the_books() -> None:
    store = MemoryStore()
    _post(store)
    # An adjustment that is not a stocktake's (a breakage found on a round) is not one.
    Ledger(store, timezone=ZONE).post([
        Movement.adjustment("ADJ-9", item=ItemKey(GTINS[0], lot="B0"), change=-1, at=STORE,
                            occurred_at=DAY0.add(days=50), actor="y", reason="broken",
                            reference="round-7"),
    ])  # fmt: skip
    ST1, ST2 = stocktake_variances(store, as_of=AS_OF)  # noqa: N806  (two names)
    # ST-1 at day 30: lot B0 held 150 (3 missing), lot B1 held 180 (2 found).
    assert (ST1.stocktake, ST1.lines, ST1.found, ST1.missing, ST1.book) == ("ST-1", 2, 2, 3, 330)
    assert ST1.rate == Fraction(5, 330)
    assert (ST2.stocktake, ST2.book, ST2.rate) == ("ST-2", 240, Fraction(1, 240))
    assert stocktake_variances(store, as_of=AS_OF, last=1) == [ST2]
    assert stocktake_variances(store, as_of=DAY0.add(days=60)) == [ST1]
    for bad in (0, True, "3"):
        with pytest.raises(InvalidValueError, match="last must be"):
            stocktake_variances(store, as_of=AS_OF, last=bad)  # type: ignore[arg-type]


def test_the_page_is_self_contained(ledger_file: Path, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:  # fmt: skip
    page = tmp_path / "report.html"
    code, out = report(capsys, ledger_file, "--html", str(page))
    assert (code, out) == (0, f"wrote the stock-health report to {page}\n")
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text
    assert "<link" not in text
    assert "url(" not in text
    assert "@import" not in text
    # The only address is the SVG namespace, which is a name, never fetched.
    assert set(re.findall(r"https?://[^\"' ]+", text)) == {"http://www.w3.org/2000/svg"}
    assert re.search(r" (?:src|href)=", text) is None
    assert text.count("<svg") == 3


def test_the_command_needs_an_output(ledger_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["report", "--db", str(ledger_file), "--as-of", AS_OF.isoformat(),
                 "--timezone", ZONE])  # fmt: skip
    assert code == 2
    assert "give --html OUT" in capsys.readouterr().err


def test_an_unwritable_output_is_a_clear_error(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(["report", "--db", str(ledger_file), "--as-of", AS_OF.isoformat(),
                 "--timezone", ZONE, "--html", str(tmp_path / "missing" / "r.html")])  # fmt: skip
    assert code == 2
    assert "cannot write the report to" in capsys.readouterr().err


# ---------------------------------------------------------------------- in the browser


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


def render(page: Path) -> tuple[str, list[str]]:
    """The DOM after the page loaded, and the console messages, from headless chromium."""
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={page.parent / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    return done.stdout, console


class Rows(HTMLParser):
    """The ``data-*`` attributes of every table row, and the SVG elements, of a DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str]] = []
        self.svg: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "tr" and "data-kind" in found:
            self.rows.append({k.removeprefix("data-"): v for k, v in found.items()})
        if tag in {"svg", "rect", "polyline"}:
            self.svg.append(tag)


def test_the_console_check_catches_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><p>x</p><script>console.error("boom")</script>')
    _, console = render(page)
    assert any('"boom"' in line for line in console)


def test_the_page_renders_without_console_errors_and_shows_the_library_figures(
    ledger_file: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    report(capsys, ledger_file, "--html", str(page))
    dom, console = render(page)
    assert console == []
    parsed = Rows()
    parsed.feed(dom)
    assert parsed.svg.count("svg") == 3
    assert "polyline" in parsed.svg  # the Pareto curve
    rows: dict[str, list[dict[str, str]]] = {}
    for row in parsed.rows:
        rows.setdefault(row["kind"], []).append(row)
    expected = library_figures(ledger_file)
    assert {r["month"]: int(r["at-risk"]) for r in rows["expiry-month"] if r["lots"] != "0"} == (
        expected["months"]
    )
    assert {r["product"]: r["class"] for r in rows["abc"]} == expected["abc"]
    assert {r["product"]: Decimal(r["value"]) for r in rows["abc"]} == expected["values"]
    assert {(r["product"], r["location"]): int(r["quantity"]) for r in rows["replenishment"]
            if r["quantity"] != "0"} == expected["proposals"]  # fmt: skip
    assert {(f"(01){r['product']}(10){r['lot']}", int(r["idle-days"])) for r in rows["idle"]} == (
        expected["idle"]
    )
    assert {r["stocktake"]: Fraction(r["rate"]) for r in rows["stocktake"]} == {
        k: Fraction(f"{float(v):.4f}") for k, v in expected["stocktakes"].items()
    }


def test_an_empty_ledger_gives_a_page_with_nothing_to_show(tmp_path: Path) -> None:
    store = MemoryStore()
    history = StockHistory.read(store, as_of=AS_OF, timezone=ZONE)
    from medinv.cli._report import report_data  # noqa: PLC0415

    data = report_data(store, history, None)
    assert (data["abc"], data["replenishment"], data["idle"], data["stocktakes"]) == ([],) * 4
    page = tmp_path / "empty.html"
    page.write_text(render_html(data), encoding="utf-8")
    dom, console = render(page)
    assert console == []
    assert dom.count("Nothing to show.") == 5
