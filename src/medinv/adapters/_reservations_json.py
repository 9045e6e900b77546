"""JSON encoding of stored reservations, shared by the SQL reservation stores.

Each stored reservation is one JSON object::

    {"format": 1, "id": "...", "expires_at": "<ISO 8601 with its offset>", "plan": {...}}

``plan`` holds every field of the [`Plan`][medinv.allocation.Plan]: its request
(every field of the [`AllocationRequest`][medinv.allocation.AllocationRequest]),
picks and skipped candidates, with items as ``[gtin, lot, serial]`` (``null``
where absent), locations as their list of segments, dates as ISO 8601 text and
enums by value, so that the reservation read back equals the one stored.
"""

from __future__ import annotations

import json
from typing import Any, Final

import pendulum

from medinv.allocation import (
    AllocationRequest,
    Pick,
    Plan,
    Policy,
    Reservation,
    Skipped,
    SkipReason,
)
from medinv.dates import to_datetime
from medinv.identifiers import ItemKey, device_text
from medinv.locations import Location
from medinv.status import StockStatus

__all__ = ["FORMAT", "reservation_from_json", "reservation_to_json"]

FORMAT: Final = 1
"""The version of this encoding written in every object."""


def _item(item: ItemKey) -> list[str | None]:
    return [
        item.device_text,
        None if item.lot is None else item.lot.value,
        None if item.serial is None else item.serial.value,
    ]


def _item_of(value: list[str | None]) -> ItemKey:
    gtin, lot, serial = value
    return ItemKey(str(gtin), lot=lot, serial=serial)


def _date(value: pendulum.Date | None) -> str | None:
    return None if value is None else value.isoformat()


def _date_of(value: str | None) -> pendulum.Date | None:
    return None if value is None else pendulum.Date.fromisoformat(value)


def _request(request: AllocationRequest) -> dict[str, Any]:
    return {
        "gtin": device_text(request.device),
        "quantity": request.quantity,
        "use_date": request.use_date.isoformat(),
        "min_shelf_life_days": request.min_shelf_life_days,
        "location": None if request.location is None else list(request.location.path),
        "policy": request.policy.value,
        "lots": [lot.value for lot in request.lots],
        "serials": None if request.serials is None else [s.value for s in request.serials],
        "box_size": request.box_size,
        "opened_first": request.opened_first,
    }


def _request_of(d: dict[str, Any]) -> AllocationRequest:
    return AllocationRequest(
        gtin=d["gtin"],
        quantity=d["quantity"],
        use_date=d["use_date"],
        min_shelf_life_days=d["min_shelf_life_days"],
        location=None if d["location"] is None else Location(tuple(d["location"])),
        policy=Policy(d["policy"]),
        lots=tuple(d["lots"]),
        serials=None if d["serials"] is None else tuple(d["serials"]),
        box_size=d["box_size"],
        opened_first=d["opened_first"],
    )


def reservation_to_json(reservation: Reservation) -> str:
    """``reservation`` as the JSON object described above."""
    plan = reservation.plan
    expires_at = reservation.expires_at
    return json.dumps(
        {
            "format": FORMAT,
            "id": reservation.id,
            "expires_at": None if expires_at is None else expires_at.isoformat(),
            "plan": {
                "request": _request(plan.request),
                "picks": [
                    [_item(p.item), list(p.location.path), p.quantity, _date(p.expiry)]
                    for p in plan.picks
                ],
                "shortfall": plan.shortfall,
                "skipped": [
                    [
                        _item(s.item),
                        list(s.location.path),
                        s.status.value,
                        s.quantity,
                        _date(s.expiry),
                        s.reason.value,
                    ]
                    for s in plan.skipped
                ],
                "explained": plan.explained,
                "position": plan.position,
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def reservation_from_json(text: str) -> Reservation:
    """The reservation ``text`` encodes.

    Raises:
        InvalidValueError, ValueError, KeyError, TypeError: ``text`` is not such an
            object (the stores report it as corrupt).
    """
    d = json.loads(text)
    if d.get("format") != FORMAT:
        msg = f"unknown reservation format {d.get('format')!r}"
        raise ValueError(msg)
    p = d["plan"]
    plan = Plan(
        request=_request_of(p["request"]),
        picks=tuple(
            Pick(
                item=_item_of(item),
                location=Location(tuple(path)),
                quantity=quantity,
                expiry=_date_of(expiry),
            )
            for item, path, quantity, expiry in p["picks"]
        ),
        shortfall=p["shortfall"],
        skipped=tuple(
            Skipped(
                item=_item_of(item),
                location=Location(tuple(path)),
                status=StockStatus(status),
                quantity=quantity,
                expiry=_date_of(expiry),
                reason=SkipReason(reason),
            )
            for item, path, status, quantity, expiry, reason in p["skipped"]
        ),
        explained=p["explained"],
        position=p["position"],
    )
    expires_at = d["expires_at"]
    return Reservation(
        id=d["id"],
        plan=plan,
        expires_at=None if expires_at is None else to_datetime(expires_at),
    )
