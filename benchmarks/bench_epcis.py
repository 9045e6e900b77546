"""EPCIS 2.0 export and validation: medinv against its floors, in one interleaved run.

A ledger of ``n`` movements (receipts of lots and of serialised units, transfers,
issues to a customer, consumptions, each with a business reference) is posted into
a ``MemoryStore`` whose catalogue gives the store and the parties GLNs. Then, in
three interleaved rounds (best wall time kept):

- **medinv export**: ``export_chunks`` over the whole ledger, streamed into a sink
  that only counts characters (reading the store, writing each ObjectEvent's JSON
  text and its CBV 2.0 hash eventID);
- **medinv event dicts + json**: ``document_chunks(export_events(...))``, the same
  document built the way ``export_chunks`` did before it wrote the text directly:
  an event dict per movement, then ``json``;
- **JSON floor**: ``json.dumps`` of the same events already built: what writing the
  text alone costs, the floor of any exporter that builds event objects;
- **fastjsonschema alone**: GS1's EPCIS JSON Schema compiled with fastjsonschema
  (format checks on), run on the exported document;
- **medinv validated**: ``SchemaValidator.validate`` on the same document: the same
  schema check plus medinv's own checks of every event.

Prints events per second and the ratios medinv export / JSON floor, medinv export /
event dicts + json, and medinv validated / fastjsonschema alone. The schema is read
from ``../shared/epcis/`` (test data, not shipped); without it the validation rows
are skipped.

Usage: ``python benchmarks/bench_epcis.py [--quick] [--seed N]``.
"""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema
import pendulum

from medinv.adapters.memory import MemoryStore
from medinv.catalogue import LocationKind, LocationProfile, Party, PartyKind
from medinv.epcis import (
    ExportOptions,
    SchemaValidator,
    document_chunks,
    export_chunks,
    export_events,
)
from medinv.identifiers import ItemKey, gs1_check_digit
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, peak_memory, table

START = pendulum.datetime(2026, 1, 5, 8, tz="Europe/Paris")
ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = [ROOT.parent / "shared" / "epcis" / "EPCIS-JSON-Schema.json"]
SCHEMAS.append(Path("/work/shared/epcis/EPCIS-JSON-Schema.json"))


def gtin(n: int) -> str:
    body = f"0400638{n:06d}"
    return body + str(gs1_check_digit(body))


def build(n: int, seed: int) -> Ledger:
    """A ledger of about ``n`` movements with GLNs in its catalogue."""
    rng = random.Random(seed)
    store = MemoryStore()
    before = START.subtract(days=1)
    store.catalogue.put_location(
        LocationProfile(path="CHU", kind=LocationKind.STORE, gln="4012345000009"),
        valid_from=before,
    )
    store.catalogue.put_party(
        Party(kind=PartyKind.SUPPLIER, id="ACME", gln="0614141000012"), valid_from=before
    )
    store.catalogue.put_party(
        Party(kind=PartyKind.CUSTOMER, id="CLINIC", gln="4000001000005"), valid_from=before
    )
    ledger = Ledger(store)
    main, ward = Location.parse("CHU/Store/A1"), Location.parse("CHU/Ward/B2")
    batch: list[Movement] = []
    count = 0
    while count < n:
        at = START.add(minutes=count)
        common: dict[str, Any] = {"occurred_at": at, "actor": "ana"}
        lot = ItemKey(gtin(rng.randrange(200)), lot=f"L{count}")
        batch.append(
            Movement.receipt(
                f"r{count}",
                item=lot,
                quantity=20,
                to=main,
                counterparty="SUPPLIER:ACME",
                business_references=[f"desadv:DN-{count}"],
                expiry="2028-01-31",
                **common,
            )
        )
        batch.append(
            Movement.transfer(
                f"t{count}",
                item=lot,
                quantity=8,
                source=main,
                to=ward,
                business_references=[f"requisition:RQ-{count}"],
                **common,
            )
        )
        batch.append(
            Movement.issue(
                f"i{count}",
                item=lot,
                quantity=5,
                source=main,
                counterparty="CUSTOMER:CLINIC",
                business_references=[f"po:PO-{count}"],
                **common,
            )
        )
        batch.append(
            Movement.consumption(
                f"c{count}",
                item=lot,
                quantity=2,
                source=ward,
                business_references=[f"procedure:OP-{count}"],
                **common,
            )
        )
        unit = ItemKey(gtin(rng.randrange(200)), lot=f"S{count}", serial=f"SN{count}")
        batch.append(Movement.receipt(f"s{count}", item=unit, quantity=1, to=main, **common))
        count += 5
        if len(batch) >= 5_000:
            ledger.post(batch)
            batch = []
    if batch:
        ledger.post(batch)
    return ledger


class Sink:
    """A text file that only counts what it is given."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def exported(ledger: Ledger, options: ExportOptions) -> tuple[list[dict[str, Any]], str]:
    """The events and the document, checked equal: the text is the JSON of the events."""
    events = list(export_events(ledger, options=options))
    text = "".join(export_chunks(ledger, creation_date=START, options=options))
    if text != "".join(document_chunks(events, creation_date=START)):
        raise SystemExit("export_chunks wrote other text than the JSON of export_events")
    return events, text


def main() -> None:
    args = arguments(__doc__ or "")
    n = 5_000 if args.quick else 100_000
    started = time.perf_counter()
    ledger = build(n, args.seed)
    options = ExportOptions(catalogue=ledger.store.catalogue)  # type: ignore[attr-defined]
    events, text = exported(ledger, options)
    document = json.loads(text)
    schema_path = next((p for p in SCHEMAS if p.is_file()), None)
    print(
        f"{len(events):,} events, {len(text) / 1e6:.1f} MB of JSON-LD "
        f"(built in {time.perf_counter() - started:.1f} s)"
    )

    def medinv_export() -> int:
        sink = Sink()
        for chunk in export_chunks(ledger, creation_date=START, options=options):
            sink.write(chunk)
        return sink.size

    def dicts_then_json() -> int:
        sink = Sink()
        events = export_events(ledger, options=options)
        for chunk in document_chunks(events, creation_date=START):
            sink.write(chunk)
        return sink.size

    encode = json.JSONEncoder(ensure_ascii=False).encode

    def json_floor() -> int:
        return sum(len(encode(event)) for event in events)

    contenders: dict[str, Callable[[], object]] = {
        "medinv export (streamed)": medinv_export,
        "medinv event dicts + json": dicts_then_json,
        "JSON floor (events prebuilt)": json_floor,
    }
    if schema_path is not None:
        schema = json.loads(schema_path.read_text(encoding="utf-8"))
        alone = fastjsonschema.compile(schema)
        validator = SchemaValidator(schema)
        contenders["fastjsonschema alone"] = lambda: alone(document)
        contenders["medinv validated (schema + checks)"] = lambda: validator.validate(document)
    else:
        print("GS1 schema not found in ../shared/epcis: validation rows skipped")
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(3):  # interleaved rounds
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    rows = [
        [name, f"{seconds:.3f}", f"{len(events) / seconds:,.0f}"] for name, seconds in best.items()
    ]
    print(table(["contender", "best s", "events/s"], rows))
    floor = best["JSON floor (events prebuilt)"] / best["medinv export (streamed)"]
    print(f"medinv export / JSON floor: {floor:.2f}x the floor's rate")
    former = best["medinv event dicts + json"] / best["medinv export (streamed)"]
    print(f"medinv export / event dicts + json: {former:.2f}x its rate")
    if schema_path is not None:
        ratio = best["fastjsonschema alone"] / best["medinv validated (schema + checks)"]
        print(f"medinv validated / fastjsonschema alone: {ratio:.2f}x its rate")
    peak, _ = peak_memory(medinv_export)
    print(
        f"peak Python memory of the streamed export: {peak / 1e6:.1f} MB "
        f"(the document is {len(text) / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
