"""An independent pandas reference for the analytics: the same figures, computed another way.

It reads the posted movements as a table and derives every figure with frame
operations (group-bys, cumulative sums, pivots), sharing nothing with
``medinv.analytics`` but the definitions written in its docs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction

import pandas as pd

from medinv.journal import RecordedMovement

ISSUING = {"ISSUE", "CONSUMPTION"}


def movements_frame(
    recorded: list[RecordedMovement], as_of: dt.datetime, zone: str
) -> pd.DataFrame:
    """One row per balance effect of each movement that occurred by ``as_of``."""
    rows = []
    for r in recorded:
        m = r.movement
        if m.occurred_at > as_of:
            continue
        local = pd.Timestamp(m.occurred_at).tz_convert(zone)
        base = {
            "id": m.id, "kind": m.kind.value, "reverses": m.reverses, "position": r.position,
            "at": local, "day": local.date(), "gtin": m.item.gtin.value,
            "lot": m.item.lot.value if m.item.lot else "", "qty": m.quantity,
        }  # fmt: skip
        if m.from_location is not None and m.from_status is not None:
            rows.append({**base, "location": str(m.from_location),
                         "status": m.from_status.value, "delta": -m.quantity})  # fmt: skip
        if m.to_location is not None and m.to_status is not None:
            rows.append({**base, "location": str(m.to_location),
                         "status": m.to_status.value, "delta": m.quantity})  # fmt: skip
    return pd.DataFrame(rows)


def consumption(frame: pd.DataFrame) -> pd.DataFrame:
    """Net consumption per (gtin, location, lot, day): issues minus their reversals, on the issue's day."""
    issues = frame[frame["kind"].isin(ISSUING)][["id", "gtin", "location", "lot", "day", "qty"]]
    undone = frame[frame["kind"].eq("REVERSAL")]["reverses"]
    undone_ids = set(undone.dropna())
    net = issues.assign(qty=issues["qty"].where(~issues["id"].isin(undone_ids), 0))
    return net.groupby(["gtin", "location", "lot", "day"], as_index=False).agg(qty=("qty", "sum"))


def daily(
    frame: pd.DataFrame, expiries: Mapping[tuple[str, str], dt.date | None], today: dt.date
) -> dict[tuple[str, str], pd.DataFrame]:
    """Per (gtin, location): a frame per day from its first movement: consumed, stock_out, closing."""
    out: dict[tuple[str, str], pd.DataFrame] = {}
    used = (
        consumption(frame)
        if len(frame)
        else pd.DataFrame(columns=["gtin", "location", "day", "qty"])
    )
    for group, rows in frame.groupby(["gtin", "location"]):
        gtin, location = str(group[0]), str(group[1])
        start = rows["day"].min()  # the first movement at the place
        days = pd.date_range(start, today, freq="D").date
        avail = rows[rows["status"].eq("AVAILABLE")].sort_values(["at", "position"])
        # Moments: each day's start (before its events), then each event.
        starts = pd.DataFrame({"day": days, "order": -1, "lot": None, "delta": 0})
        events = avail.assign(order=range(len(avail)))[["day", "order", "lot", "delta"]]
        moments = pd.concat([starts, events], ignore_index=True).sort_values(["day", "order"])
        moments = moments.reset_index(drop=True)
        lots = sorted(set(avail["lot"]))
        usable = pd.Series(0, index=moments.index)
        for lot in lots:
            balance = moments["delta"].where(moments["lot"].eq(lot), 0).cumsum()
            expiry = expiries.get((gtin, lot))
            alive = moments["day"].map(lambda d, e=expiry: e is None or d <= e)
            usable += balance.where((balance > 0) & alive, 0)
        per_day = pd.DataFrame({"day": moments["day"], "usable": usable})
        grouped = per_day.groupby("day")["usable"]
        table = pd.DataFrame({"day": days}).set_index("day")
        table["stock_out"] = grouped.max().reindex(table.index).fillna(0).eq(0)
        table["closing"] = grouped.last().reindex(table.index).fillna(0).astype(int)
        mine = used[(used["gtin"] == gtin) & (used["location"] == location)]
        table["consumed"] = (
            mine.groupby("day")["qty"].sum().reindex(table.index).fillna(0).astype(int)
        )
        out[(gtin, location)] = table
    return out


def amc(table: pd.DataFrame, window_days: int, method: str) -> tuple[Fraction, int, int]:
    """(daily rate, days counted, consumed) over the last ``window_days`` rows of ``table``."""
    window = table.tail(window_days)
    consumed = int(window["consumed"].sum())
    if method == "calendar":
        days = len(window)
    elif method == "msh":
        days = int((~window["stock_out"]).sum())
    else:
        days = int((window["closing"] > 0).sum())
        if days == 0 and consumed:
            days = int((~window["stock_out"]).sum())
    return (Fraction(consumed, days) if days else Fraction(0)), days, consumed


def expiry(
    frame: pd.DataFrame,
    expiries: Mapping[tuple[str, str], dt.date | None],
    rates: Mapping[tuple[str, str], Fraction],
    today: dt.date,
) -> pd.DataFrame:
    """Per lot on hand (AVAILABLE): usable and at_risk, by the closed form of FEFO consumption.

    Lots in expiry order with capacities ``cap`` (what the rate consumes by each
    expiry day) use, cumulatively, ``Q + min(0, cummin(cap - Q))`` where ``Q`` is
    the cumulative quantity: the same figure as consuming them one by one.
    """
    avail = frame[frame["status"].eq("AVAILABLE")]
    held = avail.groupby(["gtin", "location", "lot"], as_index=False).agg(qty=("delta", "sum"))
    held = held[held["qty"] > 0].copy()
    held["expiry"] = [
        expiries.get((g, lot)) for g, lot in zip(held["gtin"], held["lot"], strict=True)
    ]
    parts = []
    for group, rows in held.groupby(["gtin", "location"]):
        rate = rates[(str(group[0]), str(group[1]))]
        lots = rows.assign(
            no_expiry=rows["expiry"].isna(),
            expired=[e is not None and e < today for e in rows["expiry"]],
            sort_expiry=[e or today for e in rows["expiry"]],
        ).sort_values(["no_expiry", "sort_expiry", "lot"])
        live = lots[~lots["expired"] & ~lots["no_expiry"]].copy()
        caps = [int(rate * ((e - today).days + 1) // 1) for e in live["expiry"]]
        cumulative = live["qty"].cumsum()
        used = cumulative + (pd.Series(caps, index=live.index) - cumulative).cummin().clip(upper=0)
        live["usable"] = used.diff().fillna(used).astype(int)
        lots["usable"] = 0
        lots.loc[lots["no_expiry"], "usable"] = lots["qty"]
        lots.loc[live.index, "usable"] = live["usable"]
        lots["at_risk"] = lots["qty"] - lots["usable"]
        parts.append(lots)
    if not parts:
        return pd.DataFrame(columns=["gtin", "location", "lot", "qty", "usable", "at_risk"])
    return pd.concat(parts, ignore_index=True)


def reorder_level(
    table: pd.DataFrame, window_days: int, lead: int, z: float, rate: Fraction
) -> tuple[float, int]:
    """(sample deviation of daily demand on in-stock days, reorder point) for ``table``."""
    window = table.tail(window_days)
    in_stock = window.loc[~window["stock_out"], "consumed"].astype(float)
    sd = float(in_stock.std(ddof=1)) if len(in_stock) > 1 else 0.0
    point = float(rate) * lead + z * sd * lead**0.5
    return sd, max(0, -int(-(point - 1e-9) // 1))


def abc(values: Mapping[str, Fraction], a: Fraction, b: Fraction) -> dict[str, str]:
    """ABC with a frame: sort, cumulative share of the keys before, cut at a and a + b."""
    frame = pd.DataFrame(
        {"key": list(values), "value": pd.Series([values[k] for k in values], dtype=object)}
    )
    frame["rank_key"] = [repr(k) for k in frame["key"]]
    frame["neg"] = [-v for v in frame["value"]]
    frame = frame.sort_values(["neg", "rank_key"]).reset_index(drop=True)
    total = sum(frame["value"], Fraction(0))
    before = frame["value"].cumsum().shift(1, fill_value=Fraction(0))  # type: ignore[call-overload]
    share = [x / total if total else Fraction(0) for x in before]
    classes = ["A" if s < a else "B" if s < a + b else "C" for s in share]
    frame["cls"] = [c if v else "C" for c, v in zip(classes, frame["value"], strict=True)]
    return dict(zip(frame["key"], frame["cls"], strict=True))


def xyz_and_pattern(
    demand: Mapping[str, list[int]], x: float, y: float, adi: float, cv2: float
) -> tuple[dict[str, str], dict[str, str]]:
    """XYZ by population CV of the periods; pattern by ADI and CV² of the non-zero sizes."""
    xyz, pattern = {}, {}
    for key, periods in demand.items():
        s = pd.Series(periods, dtype=float)
        if s.sum() == 0:
            xyz[key], pattern[key] = "N", "none"
            continue
        cv = s.std(ddof=0) / s.mean()
        xyz[key] = "X" if cv <= x else "Y" if cv <= y else "Z"
        sizes = s[s > 0]
        interval = len(s) / len(sizes)
        squared = (sizes.std(ddof=0) / sizes.mean()) ** 2
        regular_time, regular_size = interval < adi, squared < cv2
        pattern[key] = {
            (True, True): "smooth", (True, False): "erratic",
            (False, True): "intermittent", (False, False): "lumpy",
        }[(regular_time, regular_size)]  # fmt: skip
    return xyz, pattern


def ageing(frame: pd.DataFrame, today: dt.date) -> dict[tuple[str, str, str], tuple[int, int, int]]:
    """(on hand, age days, idle days) per (gtin, location, lot) on hand."""
    held = frame.groupby(["gtin", "location", "lot"])["delta"].sum()
    held = held[held > 0]
    first = frame[frame["delta"] > 0].groupby(["gtin", "lot"])["day"].min()
    used = consumption(frame)
    last = used[used["qty"] > 0].groupby(["gtin", "location", "lot"])["day"].max()
    out: dict[tuple[str, str, str], tuple[int, int, int]] = {}
    for index, qty in held.items():
        gtin, location, lot = (str(part) for part in index)  # type: ignore[attr-defined]
        born = first[(gtin, lot)]
        issued = last.get((gtin, location, lot))
        out[(gtin, location, lot)] = (
            int(qty),
            (today - born).days,
            (today - (issued if issued is not None else born)).days,
        )
    return out
