"""JSON encoding of catalogue versions, shared by the SQL catalogue stores.

Each stored version is one JSON object::

    {"format": 1, "valid_from": "<ISO 8601 with the offset given>", "value": {...}}

``value`` holds every field of the [`Product`][medinv.catalogue.Product],
[`LocationProfile`][medinv.catalogue.LocationProfile] or
[`Party`][medinv.catalogue.Party]: device identifiers as their canonical text
(``GS1:00614141000418``, ``HIBCC:...``, ``MA:...``), decimals (temperatures,
humidity, amounts, percentages) as decimal text so that they come back exactly,
enums by value, a location path as its list of segments, absent fields as
``null``. Columns beside it hold the lookup keys (every DI of a product, the
location path, the party key and GLN) and the moment as UTC text that sorts in
time order ([`moment_key`][medinv.adapters._catalogue_json.moment_key]).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, TypeVar

import pendulum

from medinv.catalogue import (
    Controls,
    CountTolerance,
    Effective,
    LocationKind,
    LocationProfile,
    PackageLevel,
    Party,
    PartyKind,
    Product,
    ReorderPolicy,
    StorageCondition,
    TemperatureRange,
    UnitValue,
)
from medinv.dates import to_datetime
from medinv.locations import Location
from medinv.verification import catalogue_moment

__all__ = [
    "FORMAT",
    "location_from_json",
    "moment_key",
    "party_from_json",
    "product_from_json",
    "version_to_json",
]

FORMAT: Final = 1
"""The version of this encoding written in every object."""

T = TypeVar("T")


def moment_key(moment: pendulum.DateTime) -> str:
    """``moment`` as fixed-width UTC text (microseconds included): text order is time order."""
    return catalogue_moment(moment)


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _range(value: TemperatureRange | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"low": _decimal(value.low), "high": _decimal(value.high)}


def _storage(value: StorageCondition | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "temperature": _range(value.temperature),
        "handling_temperature": _range(value.handling_temperature),
        "humidity_low": _decimal(value.humidity_low),
        "humidity_high": _decimal(value.humidity_high),
        "notes": list(value.notes),
    }


def _product(p: Product) -> dict[str, Any]:
    c, u, r, t = p.controls, p.unit_value, p.reorder, p.count_tolerance
    return {
        "primary_di": str(p.primary_di),
        "packages": [
            {"di": str(lv.di), "contains": str(lv.contains), "quantity": lv.quantity}
            for lv in p.packages
        ],
        "name": p.name,
        "controls": {
            "lot": c.lot,
            "serial": c.serial,
            "expiry": c.expiry,
            "production_date": c.production_date,
        },
        "storage": _storage(p.storage),
        "implantable": p.implantable,
        "min_shelf_life_at_receipt": p.min_shelf_life_at_receipt,
        "min_shelf_life_at_issue": p.min_shelf_life_at_issue,
        "unit_value": None if u is None else {"amount": str(u.amount), "currency": u.currency},
        "reorder": None
        if r is None
        else {
            "minimum": r.minimum,
            "maximum": r.maximum,
            "reorder_point": r.reorder_point,
            "lead_time_days": r.lead_time_days,
        },
        "count_tolerance": None
        if t is None
        else {"absolute": t.absolute, "percent": str(t.percent)},
    }


def _location(p: LocationProfile) -> dict[str, Any]:
    return {
        "path": list(p.path.path),
        "kind": p.kind.value,
        "pick_sequence": p.pick_sequence,
        "storage": _storage(p.storage),
        "gln": p.gln,
    }


def _party(p: Party) -> dict[str, Any]:
    return {"kind": p.kind.value, "id": p.id, "name": p.name, "gln": p.gln}


def version_to_json(value: Product | LocationProfile | Party, valid_from: pendulum.DateTime) -> str:
    """One version as the JSON text the SQL stores keep."""
    if isinstance(value, Product):
        body = _product(value)
    elif isinstance(value, LocationProfile):
        body = _location(value)
    else:
        body = _party(value)
    return json.dumps(
        {"format": FORMAT, "valid_from": valid_from.isoformat(), "value": body},
        ensure_ascii=False,
        separators=(",", ":"),
    )


# ---------------------------------------------------------------------- decoding
# Decoding errors (KeyError, TypeError, ValueError, medinv errors) are the caller's to
# report as a corrupt row.


def _open(text: str) -> tuple[Mapping[str, Any], pendulum.DateTime]:
    data = json.loads(text)
    if data["format"] != FORMAT:
        msg = f"unknown catalogue encoding format {data['format']!r}"
        raise ValueError(msg)
    return data["value"], to_datetime(data["valid_from"])


def _range_from(data: Mapping[str, Any] | None) -> TemperatureRange | None:
    return None if data is None else TemperatureRange(low=data["low"], high=data["high"])


def _storage_from(data: Mapping[str, Any] | None) -> StorageCondition | None:
    if data is None:
        return None
    return StorageCondition(
        temperature=_range_from(data["temperature"]),
        handling_temperature=_range_from(data["handling_temperature"]),
        humidity_low=data["humidity_low"],
        humidity_high=data["humidity_high"],
        notes=tuple(data["notes"]),
    )


def product_from_json(text: str) -> Effective[Product]:
    """A product version back from its JSON text."""
    d, valid_from = _open(text)
    u, r, t = d["unit_value"], d["reorder"], d["count_tolerance"]
    product = Product(
        primary_di=d["primary_di"],
        packages=tuple(
            PackageLevel(di=lv["di"], contains=lv["contains"], quantity=lv["quantity"])
            for lv in d["packages"]
        ),
        name=d["name"],
        controls=Controls(**d["controls"]),
        storage=_storage_from(d["storage"]),
        implantable=d["implantable"],
        min_shelf_life_at_receipt=d["min_shelf_life_at_receipt"],
        min_shelf_life_at_issue=d["min_shelf_life_at_issue"],
        unit_value=None if u is None else UnitValue(amount=u["amount"], currency=u["currency"]),
        reorder=None if r is None else ReorderPolicy(**r),
        count_tolerance=None
        if t is None
        else CountTolerance(absolute=t["absolute"], percent=t["percent"]),
    )
    return Effective(value=product, valid_from=valid_from)


def location_from_json(text: str) -> Effective[LocationProfile]:
    """A location profile version back from its JSON text."""
    d, valid_from = _open(text)
    profile = LocationProfile(
        path=Location(tuple(d["path"])),
        kind=LocationKind(d["kind"]),
        pick_sequence=d["pick_sequence"],
        storage=_storage_from(d["storage"]),
        gln=d["gln"],
    )
    return Effective(value=profile, valid_from=valid_from)


def party_from_json(text: str) -> Effective[Party]:
    """A party version back from its JSON text."""
    d, valid_from = _open(text)
    party = Party(kind=PartyKind(d["kind"]), id=d["id"], name=d["name"], gln=d["gln"])
    return Effective(value=party, valid_from=valid_from)
