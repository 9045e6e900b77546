"""Trace lots and serials through the ledger: forward, backward and at a point in time.

A [`Tracer`][medinv.trace.Tracer] answers from the stored movements alone, read
through the store's indexes:

- [`forward`][medinv.trace.Tracer.forward]: where a lot or serial is now (by
  location and status), every location and site it passed through, every party it
  went to (departments, customers, other sites, patients by pseudonymous reference
  only), what was scrapped, and a mass balance that holds at every ledger position;
  [`steps`][medinv.trace.Tracer.steps] streams its movements in ledger order;
- [`backward`][medinv.trace.Tracer.backward]: which lots and serials reached a party
  or a location subtree over a period;
- [`where`][medinv.trace.Tracer.where]: where it was at an instant (business time),
  as known at a ledger position (recording time), with the movements recorded later
  that occurred before that instant.

```pycon
>>> import pendulum
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.identifiers import ItemKey
>>> from medinv.ledger import Ledger
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> from medinv.trace import Tracer, TraceSubject
>>> ledger = Ledger(MemoryStore())
>>> lot = ItemKey("04006381333931", lot="L1")
>>> day = pendulum.datetime(2026, 11, 23, 9, tz="UTC")
>>> _ = ledger.post([
...     Movement.receipt("R1", item=lot, quantity=10, to=Location.parse("H/Store/Bin-3"),
...                      occurred_at=day, actor="ana"),
...     Movement.consumption("C1", item=lot, quantity=2, source=Location.parse("H/Store/Bin-3"),
...                          occurred_at=day.add(hours=2), actor="ana",
...                          counterparty="PATIENT:P-00042"),
... ])
>>> trace = Tracer(ledger).forward(TraceSubject.of_lot("04006381333931", "L1"))
>>> trace.balance.on_hand, trace.balance.consumed, trace.balance.balances
(8, 2, True)
>>> [str(flow.party) for flow in trace.parties]
['PATIENT:P-00042']
>>> Tracer(ledger).where(lot, at=day.add(hours=1)).quantity_within(Location.parse("H/Store"))
10

```
"""

from __future__ import annotations

from medinv.trace._model import (
    BackwardTrace,
    Flow,
    FlowKind,
    ForwardTrace,
    Holding,
    MassBalance,
    PartyFlow,
    PointInTime,
    Reached,
    TraceStep,
)
from medinv.trace._subject import TraceSubject
from medinv.trace._tracer import Tracer

__all__ = [
    "BackwardTrace",
    "Flow",
    "FlowKind",
    "ForwardTrace",
    "Holding",
    "MassBalance",
    "PartyFlow",
    "PointInTime",
    "Reached",
    "TraceStep",
    "TraceSubject",
    "Tracer",
]
