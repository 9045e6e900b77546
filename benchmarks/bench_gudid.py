"""GUDID import: medinv's streaming readers against pandas.json_normalize plus a dict build.

``n`` device records in the openFDA ``device/udi`` JSON shape (and the same records
in the GUDID download's XML shape) are written to temporary files. Three
contenders read them into the same fields (primary DI, package DIs with contained
DI and quantity, the four production-identifier flags, storage temperature,
implantable):

- medinv ``iter_gudid_json`` (streamed from the file, validated Products);
- medinv ``iter_gudid_xml`` (``iterparse`` over the XML of the same records);
- the peer: ``json.load`` + ``pandas.json_normalize(results)`` + a dict per row of
  the same fields (no validation).

First the script checks that medinv (both readers) and the peer find the same
primary DIs and package quantities. Then the runs are interleaved (medinv JSON, peer,
medinv XML, three times; best wall and CPU time kept; each run's result is dropped
before the next, so every run starts from the same heap), and each contender runs
once more under ``tracemalloc`` for its peak Python memory.

Usage: ``python benchmarks/bench_gudid.py [--quick] [--seed N]``.
"""

from __future__ import annotations

import gc
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pandas as pd

from medinv.catalogue import iter_gudid_json, iter_gudid_xml
from medinv.identifiers import gs1_check_digit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._harness import arguments, peak_memory, table

_WORDS = (  # noqa: SIM905  (a sentence reads better than 24 quoted words)
    "sterile single use catheter guide wire balloon stent screw plate needle syringe "
    "dressing gauze suture implant drape tray kit valve lead electrode sensor pump"
).split()


def _gtin(rng: random.Random, indicator: int) -> str:
    body = f"{indicator}{rng.randrange(10**12):012d}"
    return body + str(gs1_check_digit(body))


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_WORDS, k=words))


def records(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` openFDA-shaped records: 0-3 package levels, flags, storage, GMDN, contacts."""
    rng = random.Random(seed)
    out = []
    for number in range(n):
        primary = _gtin(rng, 0)
        identifiers: list[dict[str, Any]] = [
            {"id": primary, "type": "Primary", "issuing_agency": "GS1"}
        ]
        inner = primary
        for level in range(rng.choice((0, 1, 1, 2, 2, 3))):
            package = _gtin(rng, level + 1)
            identifiers.append(
                {
                    "id": package,
                    "type": "Package",
                    "issuing_agency": "GS1",
                    "unit_of_use_id": inner,
                    "quantity_per_package": str(rng.choice((2, 5, 10, 12, 20, 25, 50, 100))),
                    "package_status": "In Commercial Distribution",
                    "package_type": rng.choice(("box", "case", "carton")),
                }
            )
            inner = package
        storage = []
        if rng.random() < 0.6:
            unit = "Degrees Celsius" if rng.random() < 0.9 else "Degrees Fahrenheit"
            low, high = (2, 8) if unit == "Degrees Celsius" else (36, 46)
            storage.append(
                {
                    "type": "Storage Environment Temperature",
                    "low": {"unit": unit, "value": str(low)},
                    "high": {"unit": unit, "value": str(high + rng.randrange(20))},
                }
            )
        if rng.random() < 0.2:
            storage.append(
                {"type": "Special Storage Condition, Specify", "special_conditions": _text(rng, 6)}
            )

        def flag(p: float) -> str:
            return "true" if rng.random() < p else "false"

        record: dict[str, Any] = {
            "public_device_record_key": f"{number:08d}-bench-{rng.randrange(10**9):09d}",
            "public_version_status": "New",
            "public_version_number": "1",
            "public_version_date": "2026-01-15",
            "labeler_duns_number": f"{rng.randrange(10**9):09d}",
            "record_status": "Published",
            "publish_date": "2025-06-01",
            "commercial_distribution_status": "In Commercial Distribution",
            "identifiers": identifiers,
            "brand_name": _text(rng, 3).title(),
            "version_or_model_number": f"M-{rng.randrange(10**6)}",
            "catalog_number": f"C-{rng.randrange(10**6)}",
            "company_name": _text(rng, 2).upper() + " INC.",
            "device_count_in_base_package": "1",
            "device_description": _text(rng, 12),
            "is_direct_marking_exempt": "false",
            "is_pm_exempt": "false",
            "is_hct_p": "false",
            "is_kit": flag(0.05),
            "is_combination_product": "false",
            "is_single_use": flag(0.7),
            "has_lot_or_batch_number": flag(0.9),
            "has_serial_number": flag(0.3),
            "has_manufacturing_date": flag(0.2),
            "has_expiration_date": flag(0.7),
            "has_donation_id_number": "false",
            "is_labeled_as_nrl": "false",
            "is_labeled_as_no_nrl": "true",
            "mri_safety": "Labeling does not contain MRI Safety Information",
            "is_rx": "true",
            "is_otc": "false",
            "customer_contacts": [{"phone": "+1(800)555-0100", "email": "help@example.com"}],
            "gmdn_terms": [
                {
                    "code": str(rng.randrange(10000, 70000)),
                    "name": _text(rng, 4),
                    "definition": _text(rng, 40),
                    "implantable": flag(0.1),
                    "code_status": "Active",
                }
            ],
            "product_codes": [{"code": "FOZ", "name": _text(rng, 5)}],
            "sterilization": {"is_sterile": flag(0.6), "is_sterilization_prior_use": "false"},
            "premarket_submissions": [{"submission_number": f"K{rng.randrange(10**6):06d}"}],
        }
        if storage:
            record["storage"] = storage
        out.append(record)
    return out


_XML_NAMES = {
    "public_device_record_key": "publicDeviceRecordKey",
    "public_version_status": "publicVersionStatus",
    "public_version_number": "publicVersionNumber",
    "public_version_date": "publicVersionDate",
    "labeler_duns_number": "dunsNumber",
    "record_status": "deviceRecordStatus",
    "publish_date": "devicePublishDate",
    "commercial_distribution_status": "deviceCommDistributionStatus",
    "brand_name": "brandName",
    "version_or_model_number": "versionModelNumber",
    "catalog_number": "catalogNumber",
    "company_name": "companyName",
    "device_count_in_base_package": "deviceCount",
    "device_description": "deviceDescription",
    "is_direct_marking_exempt": "DMExempt",
    "is_pm_exempt": "premarketExempt",
    "is_hct_p": "deviceHCTP",
    "is_kit": "deviceKit",
    "is_combination_product": "deviceCombinationProduct",
    "is_single_use": "singleUse",
    "has_lot_or_batch_number": "lotBatch",
    "has_serial_number": "serialNumber",
    "has_manufacturing_date": "manufacturingDate",
    "has_expiration_date": "expirationDate",
    "has_donation_id_number": "donationIdNumber",
    "is_labeled_as_nrl": "labeledContainsNRL",
    "is_labeled_as_no_nrl": "labeledNoNRL",
    "mri_safety": "MRISafetyStatus",
    "is_rx": "rx",
    "is_otc": "otc",
}


def _bound(tag: str, bound: dict[str, str] | None) -> str:
    if bound is None:
        return f"<{tag}><unit/><value/></{tag}>"
    return f"<{tag}><unit>{bound['unit']}</unit><value>{bound['value']}</value></{tag}>"


def _identifier(i: dict[str, str]) -> str:
    return (
        f"<identifier><deviceId>{i['id']}</deviceId><deviceIdType>{i['type']}"
        f"</deviceIdType><deviceIdIssuingAgency>{i['issuing_agency']}"
        "</deviceIdIssuingAgency>"
        f"<containsDINumber>{i.get('unit_of_use_id', '')}</containsDINumber>"
        f"<pkgQuantity>{i.get('quantity_per_package', '')}</pkgQuantity>"
        f"<pkgStatus>{i.get('package_status', '')}</pkgStatus>"
        f"<pkgType>{i.get('package_type', '')}</pkgType></identifier>"
    )


def _gmdn(t: dict[str, str]) -> str:
    return (
        f"<gmdn><gmdnCode>{t['code']}</gmdnCode><gmdnPTName>{t['name']}</gmdnPTName>"
        f"<gmdnPTDefinition>{t['definition']}</gmdnPTDefinition>"
        f"<implantable>{t['implantable']}</implantable>"
        f"<gmdnCodeStatus>{t['code_status']}</gmdnCodeStatus></gmdn>"
    )


def _storage(s: dict[str, Any]) -> str:
    special = s.get("special_conditions", "")
    return (
        f"<storageHandling><storageHandlingType>{s['type']}</storageHandlingType>"
        + _bound("storageHandlingHigh", s.get("high"))
        + _bound("storageHandlingLow", s.get("low"))
        + "<storageHandlingSpecialConditionText>"
        f"{special}</storageHandlingSpecialConditionText></storageHandling>"
    )


def to_xml(record: dict[str, Any]) -> str:
    """The record as a GUDID download ``<device>`` element."""
    parts = ["<device>"]
    for key, value in record.items():
        if key in _XML_NAMES:
            parts.append(f"<{_XML_NAMES[key]}>{escape(value)}</{_XML_NAMES[key]}>")
        elif key == "identifiers":
            parts.append("<identifiers>" + "".join(map(_identifier, value)) + "</identifiers>")
        elif key == "gmdn_terms":
            parts.append("<gmdnTerms>" + "".join(map(_gmdn, value)) + "</gmdnTerms>")
        elif key == "storage":
            parts.append(
                "<environmentalConditions>"
                + "".join(map(_storage, value))
                + "</environmentalConditions>"
            )
        elif key == "customer_contacts":
            parts.append(
                "<contacts>"
                + "".join(
                    f"<customerContact><phone>{c['phone']}</phone><email>{c['email']}</email>"
                    "</customerContact>"
                    for c in value
                )
                + "</contacts>"
            )
        elif key == "product_codes":
            parts.append(
                "<productCodes>"
                + "".join(
                    f"<fdaProductCode><productCode>{c['code']}</productCode>"
                    f"<productCodeName>{c['name']}</productCodeName></fdaProductCode>"
                    for c in value
                )
                + "</productCodes>"
            )
        elif key == "sterilization":
            parts.append(
                f"<sterilization><deviceSterile>{value['is_sterile']}</deviceSterile>"
                "<sterilizationPriorToUse>"
                f"{value['is_sterilization_prior_use']}</sterilizationPriorToUse></sterilization>"
            )
    parts.append("</device>\n")
    return "".join(parts)


def _temperature(storage: object) -> tuple[str, str] | None:
    if not isinstance(storage, list):
        return None
    for entry in storage:
        if entry.get("type") == "Storage Environment Temperature":
            return entry["low"]["value"], entry["high"]["value"]
    return None


def peer(path: Path) -> list[dict[str, Any]]:
    """json.load + pandas.json_normalize + one dict per row of the same fields."""
    with path.open(encoding="utf-8") as file:
        document = json.load(file)
    frame = pd.json_normalize(document["results"])
    storage = frame["storage"] if "storage" in frame else [None] * len(frame)
    out = []
    for ids, lot, serial, expiry, made, kept, terms, name in zip(
        frame["identifiers"],
        frame["has_lot_or_batch_number"],
        frame["has_serial_number"],
        frame["has_expiration_date"],
        frame["has_manufacturing_date"],
        storage,
        frame["gmdn_terms"],
        frame["brand_name"],
        strict=True,
    ):
        out.append(
            {
                "primary_di": next(i["id"] for i in ids if i["type"] == "Primary"),
                "packages": [
                    (i["id"], i["unit_of_use_id"], int(i["quantity_per_package"]))
                    for i in ids
                    if i["type"] == "Package"
                ],
                "lot": lot == "true",
                "serial": serial == "true",
                "expiry": expiry == "true",
                "production_date": made == "true",
                "temperature": _temperature(kept),
                "implantable": any(t.get("implantable") == "true" for t in terms),
                "name": name,
            }
        )
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU time of one run; the result is dropped before returning."""
    gc.collect()
    start, start_cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - start_cpu


def interleaved(
    contenders: Mapping[str, Callable[[], object]], repeat: int
) -> dict[str, tuple[float, float]]:
    """Best wall and CPU time of each contender over ``repeat`` interleaved rounds."""
    best = {name: (float("inf"), float("inf")) for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            # Each run starts from the same heap: no earlier result is kept alive
            # for the garbage collector to walk.
            wall, cpu = _timed(fn)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


def _check(products: list[Any], rows: list[dict[str, Any]], xml: list[Any], n: int) -> None:
    """medinv (both readers) and the peer found the same DIs and package quantities."""
    assert len(products) == len(rows) == len(xml) == n  # noqa: S101
    assert products == xml  # noqa: S101
    for product, row in zip(products, rows, strict=True):
        assert product.primary_di.value == row["primary_di"]  # noqa: S101
        assert sorted(p.quantity for p in product.packages) == sorted(  # noqa: S101
            q for _, _, q in row["packages"]
        )


def main() -> None:
    """Write the files, run the contenders interleaved, print times, memory and ratios."""
    args = arguments(__doc__ or "")
    n = 10_000 if args.quick else 100_000
    repeat = 3
    data = records(n, args.seed)
    with tempfile.TemporaryDirectory(prefix="medinv-bench-gudid-") as tmp:
        json_path, xml_path = Path(tmp) / "udi.json", Path(tmp) / "udi.xml"
        meta = {"meta": {"results": {"skip": 0, "limit": n, "total": n}}, "results": data}
        json_path.write_text(json.dumps(meta), encoding="utf-8")
        with xml_path.open("w", encoding="utf-8") as file:
            file.write('<?xml version="1.0" encoding="UTF-8"?>\n')
            file.write('<gudid xmlns="http://www.fda.gov/cdrh/gudid">\n')
            for record in data:
                file.write(to_xml(record))
            file.write("</gudid>\n")
        del data, meta
        gc.collect()

        def run_json() -> list[Any]:
            return [r.product for r in iter_gudid_json(json_path)]

        def run_xml() -> list[Any]:
            return [r.product for r in iter_gudid_xml(xml_path)]

        def run_peer() -> list[dict[str, Any]]:
            return peer(json_path)

        contenders = {"json": run_json, "peer": run_peer, "xml": run_xml}
        _check(run_json(), run_peer(), run_xml(), n)  # the same answers, before any timing
        gc.collect()
        load = os.getloadavg()[0]
        best = interleaved(contenders, repeat)
        memory = {name: peak_memory(fn)[0] for name, fn in contenders.items()}
        sizes = {"json": json_path.stat().st_size, "xml": xml_path.stat().st_size}

    peer_wall, peer_cpu = best["peer"]
    labels = {
        "json": "medinv iter_gudid_json (streamed, validated)",
        "xml": "medinv iter_gudid_xml (iterparse, validated)",
        "peer": "json.load + pandas.json_normalize + dict build",
    }
    table_rows = []
    for name in ("json", "xml", "peer"):
        wall, cpu = best[name]
        table_rows.append(
            (
                labels[name],
                f"{n:,}",
                f"{sizes['xml' if name == 'xml' else 'json'] / 1e6:,.1f}",
                f"{wall:.2f}",
                f"{n / wall:,.0f}",
                f"{n / cpu:,.0f}",
                f"{peer_wall / wall:.2f}",
                f"{peer_cpu / cpu:.2f}",
                f"{memory[name] / 1e6:,.1f}",
            )
        )
    print(
        f"GUDID import, {n:,} records, best of {repeat} interleaved, "
        f"Python {sys.version.split()[0]}, pandas {pd.__version__}"
    )
    print(f"load average at start: {load:.1f} on {os.cpu_count()} CPUs")
    headers = [
        "reader",
        "records",
        "file MB",
        "wall s",
        "records/s (wall)",
        "records/s (CPU)",
        "speed vs peer (wall)",
        "speed vs peer (CPU)",
        "peak MB",
    ]
    print(table(headers, table_rows))


if __name__ == "__main__":
    main()
