"""Benchmark: receiving scans through ``receive_many`` vs ``biip.parse`` + raw ``INSERT``.

Usage: ``python benchmarks/bench_receive.py [--quick] [--seed N]``.

100,000 scans (10,000 with ``--quick``) of a catalogue of 1,000 products (each
with a box level of 10 eaches; lot and expiry controlled, a quarter also serial
controlled, minimum shelf life 180 days at receipt), received in deliveries of
1,000 scans:

- 60 % GS1 DataMatrix each scans ``]d2`` 01 + 17 + 10 (lot-controlled products),
- 25 % box scans with a count, ``]C1`` 01 + 17 + 10 + 30 (booked as eaches),
- 15 % serialised units ``]d2`` 01 + 17 + 10 + 21.

**medinv**: ``receive_many(Ledger(SqliteStore(path)), delivery, catalogue=store.catalogue,
...)``: every scan parsed and validated, its product and packaging level looked up
in the catalogue as of the receipt, the lot, serial and expiry controls applied,
the lot's expiry on record read from the ledger, the quantity converted to eaches,
QUARANTINE below the minimum shelf life, and one durable post per delivery (every
ledger rule, the hash chain, the balance projection).

**Peer**: what a developer would write without medinv: ``biip.parse`` of each
scan, the GTIN looked up in a dict of packaging levels for the each GTIN and the
count, the shelf life compared with the minimum, and the same 16-field rows inserted
with ``sqlite3.executemany`` into a bare table (no index, no rule), one transaction
per delivery, same durability settings (WAL, ``synchronous=FULL``). No check that a
lot-controlled scan has a lot, no serial or expiry-conflict rule, no hash chain.

The two alternate delivery by delivery, so that both see the same machine load;
the scanner texts are built beforehand and frozen out of the garbage collector's
scans. The script checks that both stored the same (GTIN, lot, serial, quantity,
status, expiry) rows. Target: medinv at most 3x the peer.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import shutil
import sqlite3
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import biip
import pendulum
from stdnum import ean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._harness import arguments, table
from benchmarks.bench_barcodes import LOT_CHARS
from benchmarks.bench_ledger import Row, SqliteRawTable, Timer, Timing

from medinv.adapters.sqlite import SqliteStore
from medinv.catalogue import Controls, PackageLevel, Product
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.services import receive_many

GS = "\x1d"
DELIVERY = 1_000
BOX = 10
MIN_SHELF_LIFE = 180
AT = pendulum.datetime(2026, 12, 1, 9, tz="Europe/Paris")
DOCK = Location.parse("CHU-Nord/Pharmacy/Dock")
SINCE = pendulum.datetime(2026, 1, 1, tz="UTC")


@dataclass(frozen=True)
class Catalogue:
    """The products (each GTIN, box GTIN, serialised?) and their lots with expiries."""

    products: list[tuple[str, str, bool]]
    lots: dict[str, list[tuple[str, dt.date]]]

    def as_products(self) -> list[Product]:
        return [
            Product(
                primary_di=each,
                packages=(PackageLevel(di=box, contains=each, quantity=BOX),),
                controls=Controls(lot=True, expiry=True, serial=serial),
                min_shelf_life_at_receipt=MIN_SHELF_LIFE,
            )
            for each, box, serial in self.products
        ]


def catalogue(rng: random.Random, size: int = 1_000) -> Catalogue:
    products: list[tuple[str, str, bool]] = []
    lots: dict[str, list[tuple[str, dt.date]]] = {}
    seen: set[str] = set()
    while len(products) < size:
        body = "".join(rng.choices("0123456789", k=12))
        each, box = "0" + body, "1" + body
        each, box = each + ean.calc_check_digit(each), box + ean.calc_check_digit(box)
        if each in seen:
            continue
        seen.add(each)
        products.append((each, box, len(products) % 4 == 0))
        lots[each] = [
            (
                "".join(rng.choices(LOT_CHARS, k=rng.randint(4, 10))),
                dt.date(2027, 1, 1) + dt.timedelta(days=rng.randint(0, 1200)),
            )
            for _ in range(5)
        ]
    return Catalogue(products, lots)


def scans(rng: random.Random, cat: Catalogue, total: int) -> list[str]:
    out: list[str] = []
    serial = iter(range(10**9))
    plain = [p for p in cat.products if not p[2]]
    serialised = [p for p in cat.products if p[2]]
    for _ in range(total):
        pick = rng.random()
        if pick < 0.15:
            each, _, _ = rng.choice(serialised)
            lot, expiry = rng.choice(cat.lots[each])
            out.append(f"]d201{each}17{expiry:%y%m%d}10{lot}{GS}21S{next(serial):09d}")
            continue
        each, box, _ = rng.choice(plain)
        lot, expiry = rng.choice(cat.lots[each])
        if pick < 0.40:
            out.append(f"]C101{box}17{expiry:%y%m%d}10{lot}{GS}30{rng.randint(1, 20)}")
        else:
            out.append(f"]d201{each}17{expiry:%y%m%d}10{lot}")
    return out


class Peer:
    """``biip.parse`` of each scan, a packaging dict, and rows for a bare table."""

    def __init__(self, cat: Catalogue) -> None:
        self.levels = {each: (each, 1) for each, _, _ in cat.products}
        self.levels.update({box: (each, BOX) for each, box, _ in cat.products})
        self.day = AT.date()
        self.at = AT.isoformat()

    def rows(self, delivery: list[str], batch: str) -> list[Row]:
        rows: list[Row] = []
        for line, text in enumerate(delivery, start=1):
            result = biip.parse(text)
            message = result.gs1_message
            if message is None or result.gtin is None:
                raise SystemExit(f"biip did not parse {text!r}")
            fields = {es.ai.ai: es for es in message.element_strings}
            each, per = self.levels[result.gtin.value]
            count = int(fields["30"].value) if "30" in fields else 1
            expiry = fields["17"].date
            lot = fields["10"].value if "10" in fields else None
            serial = fields["21"].value if "21" in fields else None
            short = expiry is not None and (expiry - self.day).days < MIN_SHELF_LIFE
            rows.append(
                (
                    f"{batch}/{line}", "RECEIPT", each, lot, serial, count * per, self.at,
                    "dock", None, None, str(DOCK), "QUARANTINE" if short else "AVAILABLE",
                    "short shelf life" if short else None, None,
                    None if expiry is None else expiry.isoformat(), None,
                )
            )  # fmt: skip
        return rows


def _peer_rows(path: Path) -> Counter[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        query = "SELECT gtin, lot, serial, quantity, to_status, expiry FROM movements"
        return Counter(tuple(row) for row in db.execute(query))
    finally:
        db.close()


def _ledger_rows(ledger: Ledger) -> Counter[tuple[object, ...]]:
    out: Counter[tuple[object, ...]] = Counter()
    for recorded in ledger.history():
        m = recorded.movement
        item = m.item
        out[
            item.gtin.value,
            None if item.lot is None else item.lot.value,
            None if item.serial is None else item.serial.value,
            m.quantity,
            None if m.to_status is None else m.to_status.value,
            None if m.expiry is None else m.expiry.isoformat(),
        ] += 1
    return out


def run(total: int, seed: int) -> list[object]:
    rng = random.Random(seed)
    cat = catalogue(rng)
    texts = scans(rng, cat, total)
    deliveries = [texts[i : i + DELIVERY] for i in range(0, total, DELIVERY)]
    peer = Peer(cat)
    folder = Path(tempfile.mkdtemp(prefix="medinv-bench-receive-"))
    raw_path, ledger_path = folder / "raw.sqlite3", folder / "ledger.sqlite3"
    raw_table = SqliteRawTable(raw_path)
    raw = medinv = Timing(0.0, 0.0)
    with SqliteStore(ledger_path) as store:
        for product in cat.as_products():
            store.catalogue.put_product(product, valid_from=SINCE)
        ledger = Ledger(store, clock=lambda: AT)
        gc.collect()
        gc.freeze()
        for number, delivery in enumerate(deliveries, start=1):
            with Timer() as timer:
                raw_table.insert(peer.rows(delivery, f"DN-{number}"))
            raw += timer.timing
            with Timer() as timer:
                receive_many(ledger, delivery, catalogue=store.catalogue, to=DOCK,
                             batch_id=f"DN-{number}", occurred_at=AT, actor="dock")  # fmt: skip
            medinv += timer.timing
        gc.unfreeze()
        position = ledger.head().position
        ours = _ledger_rows(ledger)
    raw_table.close()
    if position != total:
        raise SystemExit(f"medinv stored {position} movements, not {total}")
    if _peer_rows(raw_path) != ours:
        raise SystemExit("medinv and the peer stored different rows")
    eaches = sum(int(str(row[3])) * n for row, n in ours.items())
    quarantined = sum(n for row, n in ours.items() if row[4] == "QUARANTINE")
    sizes = raw_path.stat().st_size, ledger_path.stat().st_size
    shutil.rmtree(folder)
    return [
        f"{total:,}",
        f"{eaches:,}",
        f"{quarantined:,}",
        f"{raw.wall:.2f} s",
        f"{medinv.wall:.2f} s",
        f"{total / medinv.wall:,.0f}/s",
        f"{medinv.wall / raw.wall:.2f}x",
        "yes" if medinv.wall / raw.wall <= 3 else "NO",
        f"{raw.cpu:.2f} s / {medinv.cpu:.2f} s = {medinv.cpu / max(raw.cpu, 1e-9):.2f}x",
        f"{sizes[0] / 2**20:.1f} MB / {sizes[1] / 2**20:.1f} MB",
    ]


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "bench_receive")
    total = 10_000 if args.quick else 100_000
    print(
        f"Receiving {total:,} scans in deliveries of {DELIVERY:,} on SQLite: "
        f"medinv receive_many vs biip {biip.__version__} parse + raw executemany "
        f"(seed {args.seed})"
    )
    headers = [
        "scans", "eaches", "quarantined", "peer", "medinv", "medinv rate", "ratio", "<= 3x",
        "CPU: peer / medinv", "file: peer / medinv",
    ]  # fmt: skip
    print(table(headers, [run(total, args.seed)]))


if __name__ == "__main__":
    main()
