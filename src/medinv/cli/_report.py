"""``medinv report --html OUT``: the stock-health report, one self-contained static HTML page.

The page holds everything it shows: inline CSS, charts drawn as inline SVG, no
script, no font, no image or style sheet fetched from anywhere, so it opens the
same offline, attached to an e-mail or archived. Its figures are those of
[`medinv.analytics`][medinv.analytics] as of ``--as-of`` in ``--timezone``:

- expiry risk over the coming ``--months`` months: per month of expiry, the lots
  expiring and the quantity (and value) that forecast consumption will not use;
- the ABC Pareto of consumption value (products with a unit value in the catalogue);
- slow and dead stock (idle for half of ``--dead-after`` days and more);
- low stock and replenishment proposals (products with a reorder policy);
- the variance rates of the last ``--stocktakes`` posted stocktakes.

Every figure is also in the page's tables as ``data-*`` attributes, and ``--json``
prints the same figures as one JSON object.
"""

from __future__ import annotations

import argparse
import html
import json
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import pendulum

from medinv.analytics import (
    MovementClass,
    StockHistory,
    classify_abc,
    consumption_values,
    expiry_risk,
    replenishment,
    stock_ageing,
    stocktake_variances,
)
from medinv.cli import _store
from medinv.cli._alerts import add_analytics_options, catalogue_of, days_at_least, read_history
from medinv.cli._replenish import line_fields
from medinv.ports import CatalogueStore, LedgerStore

__all__ = ["configure", "render_html", "report_data", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options and handler to its parser."""
    _store.ledger_command(parser, run, "print the report's figures as one JSON object")
    option = add_analytics_options(parser)
    parser.add_argument("--html", metavar="OUT", help="write the report page to the file OUT")
    option("--months", days_at_least(1), "number of months",
           "months of expiry risk shown (default 12)", metavar="N", default=12)  # fmt: skip
    option("--dead-after", days_at_least(2), "number of days",
           "idle days from which stock is dead (default 180; slow from half of it)",
           metavar="DAYS", default=180)  # fmt: skip
    option("--stocktakes", days_at_least(1), "number of stocktakes",
           "how many of the last posted stocktakes to show (default 12)",
           metavar="N", default=12)  # fmt: skip


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the page (``--html``) and/or print the figures (``--json``); exit code 0."""
    if not args.html and not args.json:
        raise _store.CommandError("give --html OUT (the page to write) or --json")
    with _store.open_store(args) as store:
        data = report_data(
            store,
            read_history(store, args),
            catalogue_of(store),
            window_days=args.window,
            method=args.method,
            months=args.months,
            dead_after_days=args.dead_after,
            stocktakes=args.stocktakes,
        )
    if args.html:
        target = Path(args.html)
        try:
            target.write_text(render_html(data), encoding="utf-8")
        except OSError as exc:
            msg = f"cannot write the report to {target}: {exc.strerror or exc}"
            raise _store.CommandError(msg) from exc
        if not args.json:
            out.write(f"wrote the stock-health report to {target}\n")
    if args.json:
        out.write(json.dumps(data, ensure_ascii=False) + "\n")
    return _store.EXIT_OK


# ---------------------------------------------------------------------- the figures


def report_data(
    store: LedgerStore,
    history: StockHistory,
    catalogue: CatalogueStore | None,
    *,
    window_days: int = 365,
    method: Any = None,
    months: int = 12,
    dead_after_days: int = 180,
    stocktakes: int = 12,
) -> dict[str, Any]:
    """Every figure of the report, as JSON values (amounts as decimal text)."""
    extra = {} if method is None else {"method": method}
    risks = expiry_risk(history, catalogue=catalogue, window_days=window_days, **extra)
    lots = [lot for risk in risks for lot in risk.lots]
    data: dict[str, Any] = {
        "as_of": history.as_of.isoformat(),
        "timezone": history.timezone,
        "expiry_months": _expiry_months(lots, history.today, months),
        "at_risk_lots": [
            {
                "product": lot.item.device_text,
                "lot": None if lot.item.lot is None else lot.item.lot.value,
                "location": str(lot.location),
                "expiry": None if lot.expiry is None else lot.expiry.isoformat(),
                "on_hand": lot.on_hand,
                "at_risk": lot.at_risk,
                "value_at_risk": _money(lot.value_at_risk),
            }
            for lot in lots
            if lot.at_risk > 0
        ],
        "abc": [],
        "idle": [
            {
                "product": a.item.device_text,
                "lot": None if a.item.lot is None else a.item.lot.value,
                "location": str(a.location),
                "on_hand": a.on_hand,
                "age_days": a.age_days,
                "idle_days": a.idle_days,
                "class": a.movement.value,
            }
            for a in stock_ageing(
                history,
                slow_after_days=dead_after_days // 2,
                dead_after_days=dead_after_days,
            )
            if a.movement is not MovementClass.ACTIVE
        ],
        "replenishment": [],
        "stocktakes": [
            {
                "stocktake": v.stocktake,
                "counted_at": v.counted_at.isoformat(),
                "lines": v.lines,
                "found": v.found,
                "missing": v.missing,
                "book": v.book,
                "rate": None if v.rate is None else _ratio(v.rate),
            }
            for v in stocktake_variances(store, as_of=history.as_of, last=stocktakes)
        ],
    }
    if catalogue is not None:
        data["abc"] = _pareto(consumption_values(history, catalogue, window_days=window_days))
        lines = replenishment(history, catalogue, window_days=window_days, risks=risks, **extra)
        data["replenishment"] = [line_fields(line) for line in lines if line.low or line.quantity]
    return data


def _money(value: Any) -> dict[str, str] | None:
    return None if value is None else {"amount": str(value.amount), "currency": value.currency}


def _ratio(value: Fraction) -> str:
    """A share as decimal text with 4 places (0.1234), rounded half-even."""
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.0001")))


def _expiry_months(lots: list[Any], today: pendulum.Date, months: int) -> list[dict[str, Any]]:
    first = today.replace(day=1)
    keys = [first.add(months=n).format("YYYY-MM") for n in range(months)]
    lots_in: dict[str, int] = dict.fromkeys(keys, 0)
    units: dict[str, int] = dict.fromkeys(keys, 0)
    values: dict[str, dict[str, Decimal]] = {k: defaultdict(Decimal) for k in keys}
    for lot in lots:
        if lot.expiry is None or lot.expiry < today:
            continue
        month = lot.expiry.format("YYYY-MM")
        if month not in lots_in:
            continue
        lots_in[month] += 1
        units[month] += lot.at_risk
        if lot.value_at_risk is not None:
            values[month][lot.value_at_risk.currency] += lot.value_at_risk.amount
    return [
        {
            "month": k,
            "lots": lots_in[k],
            "at_risk": units[k],
            "value_at_risk": {c: str(a) for c, a in sorted(values[k].items())},
        }
        for k in keys
    ]


def _pareto(values: dict[str, Decimal]) -> list[dict[str, Any]]:
    classes = classify_abc(values)
    total = sum(values.values(), Decimal(0))
    ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    out = []
    running = Decimal(0)
    for product, value in ranked:
        running += value
        out.append({
            "product": product,
            "value": str(value),
            "share": _ratio(Fraction(value / total)) if total else "0.0000",
            "cumulative": _ratio(Fraction(running / total)) if total else "0.0000",
            "class": classes[product],
        })  # fmt: skip
    return out


# ---------------------------------------------------------------------- the page

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1b1f23;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccd}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{padding:.2em .6em;border-bottom:1px solid #e3e6ea;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
p.meta{color:#57606a}p.none{color:#57606a;font-style:italic}
svg{display:block;margin:.5em 0;max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#1b1f23}
"""

_WIDTH, _HEIGHT, _LEFT, _BOTTOM, _TOP = 720, 240, 56, 44, 16
_ALL_LABELS = 24
"""Up to this many bars, each is labelled; beyond, about every ``len // 24 + 1``-th."""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _attrs(row: dict[str, Any], names: list[str]) -> str:
    out = []
    for name in names:
        value = row[name]
        if isinstance(value, dict):
            value = json.dumps(value, sort_keys=True)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        elif value is None:
            value = ""
        out.append(f' data-{name.replace("_", "-")}="{_esc(value)}"')
    return "".join(out)


def _table(kind: str, rows: list[dict[str, Any]], columns: list[tuple[str, str, bool]]) -> str:
    """A table whose rows carry every figure as ``data-*`` attributes too."""
    if not rows:
        return '<p class="none">Nothing to show.</p>'
    head = "".join(f"<th{' class=n' if n else ''}>{_esc(t)}</th>" for _, t, n in columns)
    names = [c for c, _, _ in columns]
    body = []
    for row in rows:
        cells = "".join(
            f"<td{' class=n' if n else ''}>{_esc(_cell(row[c]))}</td>" for c, _, n in columns
        )
        body.append(f'<tr data-kind="{kind}"{_attrs(row, names)}>{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return f"{value['amount']} {value['currency']}"
        return ", ".join(f"{a} {c}" for c, a in value.items())
    return str(value)


def _bars(
    title: str, labels: list[str], values: list[float], *, line: list[float] | None = None
) -> str:
    """A bar chart (with an optional 0-100 % line over it) as inline SVG."""
    top = max(values, default=0) or 1
    plot_w, plot_h = _WIDTH - _LEFT - 12, _HEIGHT - _BOTTOM - _TOP
    step = plot_w / max(len(values), 1)
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
            f'width="{_WIDTH}" height="{_HEIGHT}"><title>{_esc(title)}</title>'
        ),
        (
            f'<line x1="{_LEFT}" y1="{_TOP + plot_h}" x2="{_LEFT + plot_w}" y2="{_TOP + plot_h}" '
            'stroke="#57606a"/>'
        ),
        f'<text x="{_LEFT - 6}" y="{_TOP + 4}" text-anchor="end">{_number(top)}</text>',
        f'<text x="{_LEFT - 6}" y="{_TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = _LEFT + n * step + step * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{_TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#4c78a8"><title>{_esc(label)}: {_number(value)}</title></rect>'
        )
        if len(labels) <= _ALL_LABELS or n % (len(labels) // _ALL_LABELS + 1) == 0:
            parts.append(
                f'<text x="{x + step * 0.35:.1f}" y="{_TOP + plot_h + 14}" text-anchor="middle">'
                f"{_esc(label[-10:])}</text>"
            )
    if line:
        points = " ".join(
            f"{_LEFT + n * step + step / 2:.1f},{_TOP + plot_h * (1 - v):.1f}"
            for n, v in enumerate(line)
        )
        parts.append(f'<polyline points="{points}" fill="none" stroke="#e45756" stroke-width="2"/>')
        parts.append(
            f'<text x="{_LEFT + plot_w}" y="{_TOP + 4}" text-anchor="end" fill="#e45756">'
            "cumulative share (0-100 %)</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def render_html(data: dict[str, Any]) -> str:
    """The report page for the figures of ``report_data``."""
    months = data["expiry_months"]
    abc = data["abc"]
    stocktakes = data["stocktakes"]
    sections = [
        "<h2>Expiry risk over the coming months</h2>",
        ("<p>Per month of expiry: the quantity that consumption at the forecast rate, "
        "taking lots in FEFO order, will not use before it expires.</p>"),
        _bars(
            "Quantity at risk of expiry per month",
            [m["month"] for m in months],
            [float(m["at_risk"]) for m in months],
        ),
        _table("expiry-month", months, [("month", "month", False), ("lots", "lots expiring", True),
               ("at_risk", "quantity at risk", True), ("value_at_risk", "value at risk", True)]),
        _table("at-risk-lot", data["at_risk_lots"], [("product", "product", False),
               ("lot", "lot", False), ("location", "location", False), ("expiry", "expiry", False),
               ("on_hand", "on hand", True), ("at_risk", "at risk", True),
               ("value_at_risk", "value at risk", True)]),
        "<h2>ABC Pareto of consumption value</h2>",
        _bars(
            "Consumption value per product, largest first, with the cumulative share",
            [a["product"] for a in abc],
            [float(a["value"]) for a in abc],
            line=[float(a["cumulative"]) for a in abc],
        ) if abc else "",
        _table("abc", abc, [("product", "product", False), ("value", "consumption value", True),
               ("share", "share", True), ("cumulative", "cumulative share", True),
               ("class", "class", False)]),
        "<h2>Slow and dead stock</h2>",
        _table("idle", data["idle"], [("product", "product", False), ("lot", "lot", False),
               ("location", "location", False), ("on_hand", "on hand", True),
               ("age_days", "age (days)", True), ("idle_days", "idle days", True),
               ("class", "class", False)]),
        "<h2>Low stock and replenishment proposals</h2>",
        _table("replenishment", data["replenishment"], [("product", "product", False),
               ("location", "location", False), ("usable", "usable", True),
               ("at_risk", "at risk", True), ("position", "position", True),
               ("reorder_level", "reorder level", True), ("target", "target", True),
               ("quantity", "proposal", True), ("packages", "packages", True),
               ("order_di", "of", False), ("low", "low", False)]),
        "<h2>Stocktake variance rates</h2>",
        ("<p>Units corrected (found plus missing) per unit on the books at the corrected "
        "stock keys when they were counted.</p>"),
        _bars(
            "Variance rate of the last stocktakes (%)",
            [s["stocktake"] for s in stocktakes],
            [100 * float(s["rate"] or 0) for s in stocktakes],
        ) if stocktakes else "",
        _table("stocktake", stocktakes, [("stocktake", "stocktake", False),
               ("counted_at", "counted at", False), ("lines", "lines", True),
               ("found", "found", True), ("missing", "missing", True), ("book", "book", True),
               ("rate", "variance rate", True)]),
    ]  # fmt: skip
    title = f"Stock health as of {data['as_of']}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(title)}</h1>"
        f'<p class="meta" id="as-of" data-as-of="{_esc(data["as_of"])}" '
        f'data-timezone="{_esc(data["timezone"])}">Figures computed by medinv from the ledger '
        f"as of {_esc(data['as_of'])}, days in {_esc(data['timezone'])}.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
