"""Excursions as GS1 EPCIS 2.0 sensor events (JSON-LD dicts, ready for ``json.dumps``).

One excursion is one ``ObjectEvent`` with action ``OBSERVE`` and business step
``sensor_reporting`` at the excursion's place, carrying one ``sensorElementList``
element: the sensor (``deviceID``), the span out of range (``startTime``,
``endTime``; ``eventTime`` is the last reading taken into account) and one
``Temperature`` report in ``CEL`` with the lowest and highest reading of the span
and the ``ALARM_CONDITION`` exception. The ``epcList`` is empty: the exposed stock
is answered by [`exposure`][medinv.coldchain.exposure], not by the sensor.

Identifiers must be URIs: a read point is the location's GLN as a GS1 Digital
Link (``https://id.gs1.org/414/<GLN>``) when ``glns`` gives one, else
``urn:medinv:location:<path>``; a sensor id that is not a URI becomes
``urn:medinv:sensor:<id>`` (both percent-encoded). The ``eventID`` is
``ni:///sha-256;<digest>?ver=CBV2.0`` over medinv's canonical JSON of the event
(without its id), so the same excursion always gets the same id.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final
from urllib.parse import quote

import pendulum

from medinv.coldchain._detect import Excursion
from medinv.locations import Location

__all__ = ["EPCIS_CONTEXT", "excursion_event", "excursions_document"]

EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
"""The JSON-LD context every EPCIS 2.0 document names."""

_SCHEME: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+\Z")


def _time(moment: pendulum.DateTime) -> str:
    return moment.in_tz("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS[Z]")


def _sensor_uri(sensor: str) -> str:
    return sensor if _SCHEME.match(sensor) else "urn:medinv:sensor:" + quote(sensor, safe="")


def _read_point(location: Location, gln: str | None) -> str:
    if gln is not None:
        return f"https://id.gs1.org/414/{gln}"
    return "urn:medinv:location:" + quote(str(location), safe="/")


def excursion_event(excursion: Excursion, *, gln: str | None = None) -> dict[str, Any]:
    """The EPCIS 2.0 ``ObjectEvent`` reporting ``excursion`` (``gln``: its place's GLN)."""
    metadata: dict[str, Any] = {
        "deviceID": _sensor_uri(excursion.sensor),
        "startTime": _time(excursion.start),
    }
    if excursion.end is not None:
        metadata["endTime"] = _time(excursion.end)
    event: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventTime": _time(excursion.observed_to),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [],
        "action": "OBSERVE",
        "bizStep": "sensor_reporting",
        "readPoint": {"id": _read_point(excursion.location, gln)},
        "sensorElementList": [
            {
                "sensorMetadata": metadata,
                "sensorReport": [
                    {
                        "type": "Temperature",
                        "exception": "ALARM_CONDITION",
                        "minValue": excursion.min_celsius,
                        "maxValue": excursion.max_celsius,
                        "uom": "CEL",
                    }
                ],
            }
        ],
    }
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return {"eventID": f"ni:///sha-256;{digest}?ver=CBV2.0", **event}


def excursions_document(
    excursions: Iterable[Excursion],
    *,
    glns: Mapping[str, str] | Callable[[Location], str | None] | None = None,
    created: pendulum.DateTime | None = None,
) -> dict[str, Any]:
    """An ``EPCISDocument`` with one sensor event per excursion.

    ``glns`` gives a location's GLN (a mapping by location path, or a function of
    the location, such as one reading the catalogue's location profiles);
    ``created`` is the document's ``creationDate`` (default: now).
    """

    def gln_of(location: Location) -> str | None:
        if glns is None:
            return None
        if callable(glns):
            return glns(location)
        return glns.get(str(location))

    moment = pendulum.now("UTC") if created is None else created
    return {
        "@context": [EPCIS_CONTEXT],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": _time(moment),
        "epcisBody": {
            "eventList": [excursion_event(e, gln=gln_of(e.location)) for e in excursions]
        },
    }
