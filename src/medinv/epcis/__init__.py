"""GS1 EPCIS 2.0 interchange: movements out as JSON-LD events, and back in.

Each movement becomes an ObjectEvent whose business step, disposition and action
come from one table ([`MAPPING`][medinv.epcis.MAPPING]); lot-level stock is a
``quantityList`` of LGTIN classes, serialised stock an ``epcList`` of SGTINs, both as
GS1 Digital Link URIs unless the GS1 Company Prefix length is given. Event ids are
the CBV 2.0 hash IDs (``ni:///sha-256;...``), so the same movement always has the
same eventID, in any run and from any store. A reversal is an error declaration of
the event it undoes. No patient reference is ever written.

```pycon
>>> import pendulum
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.identifiers import ItemKey
>>> from medinv.ledger import Ledger
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> from medinv.epcis import export_events
>>> ledger = Ledger(MemoryStore())
>>> _ = ledger.post([Movement.receipt(
...     "R1", item=ItemKey("04006381333931", lot="L1"), quantity=5,
...     to=Location.parse("Main/A1"), occurred_at="2026-11-23T09:00:00+01:00", actor="ana")])
>>> event = next(export_events(ledger))
>>> event["bizStep"], event["quantityList"]
('receiving', [{'epcClass': 'https://id.gs1.org/01/04006381333931/10/L1', 'quantity': 5}])
>>> event["eventID"][:14]
'ni:///sha-256;'

```
"""

from __future__ import annotations

from medinv.epcis._export import (
    CONTEXT,
    MEDINV_NAMESPACE,
    ExportOptions,
    document_chunks,
    export_chunks,
    export_events,
    movement_event,
    reversal_event,
    write_document,
)
from medinv.epcis._hash import event_hash_id, prehash
from medinv.epcis._import import (
    ImportResult,
    import_document,
    movements_from_document,
    read_document,
)
from medinv.epcis._validate import EpcisEventError, SchemaValidator, check_event, check_events
from medinv.epcis._vocab import MAPPING, EventMapping, mapping_for

__all__ = [
    "CONTEXT",
    "MAPPING",
    "MEDINV_NAMESPACE",
    "EpcisEventError",
    "EventMapping",
    "ExportOptions",
    "ImportResult",
    "SchemaValidator",
    "check_event",
    "check_events",
    "document_chunks",
    "event_hash_id",
    "export_chunks",
    "export_events",
    "import_document",
    "mapping_for",
    "movement_event",
    "movements_from_document",
    "prehash",
    "read_document",
    "reversal_event",
    "write_document",
]
