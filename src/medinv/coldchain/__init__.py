"""The cold chain: storage fit, temperature readings, excursions and the stock they exposed.

- **Storage fit**: [`fit`][medinv.coldchain.fit] says whether a location's
  temperature range lies inside a product's; [`putaway`][medinv.coldchain.putaway]
  posts receipts and transfers only into locations that fit, unless a second
  person overrides it ([`StorageOverride`][medinv.coldchain.StorageOverride]).
- **Readings**: [`read_logger_csv`][medinv.coldchain.read_logger_csv] and
  [`read_epcis_sensor_events`][medinv.coldchain.read_epcis_sensor_events] stream
  [`Reading`][medinv.coldchain.Reading] values from chunks of input.
- **Excursions**: [`ExcursionDetector`][medinv.coldchain.ExcursionDetector] finds
  runs out of range longer than allowed (consecutive) or adding up to more than
  allowed (cumulative), on a stream in any chunks as on the whole series.
- **Exposure**: [`exposure`][medinv.coldchain.exposure] reads from the ledger the
  stock present during an excursion; [`hold_plan`][medinv.coldchain.hold_plan] and
  [`apply_hold_plan`][medinv.coldchain.apply_hold_plan] put what is still on site on
  HOLD; [`release_exposed`][medinv.coldchain.release_exposed] releases it on a
  two-person [`QualityDecision`][medinv.coldchain.QualityDecision], never while the
  excursion is open.
- **Records**: excursions and decisions live in ``store.coldchain``
  ([`ColdChainStore`][medinv.coldchain.ColdChainStore]).
- **EPCIS**: [`excursions_document`][medinv.coldchain.excursions_document] writes
  excursions as EPCIS 2.0 sensor events.
"""

from __future__ import annotations

from medinv.coldchain._conditions import (
    Fit,
    PutawayCheck,
    StorageConditionError,
    StorageOverride,
    check_putaway,
    fit,
    override_of,
    putaway,
)
from medinv.coldchain._detect import (
    Direction,
    Excursion,
    ExcursionDetector,
    ExcursionKind,
    ExcursionRule,
    Interval,
    detect_excursions,
)
from medinv.coldchain._epcis import EPCIS_CONTEXT, excursion_event, excursions_document
from medinv.coldchain._exposure import (
    Departure,
    ExposedStock,
    Exposure,
    HoldPlan,
    apply_hold_plan,
    decide,
    exposure,
    hold_plan,
    release_exposed,
)
from medinv.coldchain._readings import (
    CSV_COLUMNS,
    Reading,
    ReadingError,
    read_epcis_sensor_events,
    read_logger_csv,
)
from medinv.coldchain._records import (
    ColdChainError,
    ColdChainStore,
    ExcursionConflictError,
    ExcursionOpenError,
    QualityDecision,
    QualityDecisionError,
    Verdict,
    decision_from_json,
    decision_to_json,
    excursion_from_json,
    excursion_to_json,
    merge_excursion,
)

__all__ = [
    "CSV_COLUMNS",
    "EPCIS_CONTEXT",
    "ColdChainError",
    "ColdChainStore",
    "Departure",
    "Direction",
    "Excursion",
    "ExcursionConflictError",
    "ExcursionDetector",
    "ExcursionKind",
    "ExcursionOpenError",
    "ExcursionRule",
    "ExposedStock",
    "Exposure",
    "Fit",
    "HoldPlan",
    "Interval",
    "PutawayCheck",
    "QualityDecision",
    "QualityDecisionError",
    "Reading",
    "ReadingError",
    "StorageConditionError",
    "StorageOverride",
    "Verdict",
    "apply_hold_plan",
    "check_putaway",
    "decide",
    "decision_from_json",
    "decision_to_json",
    "detect_excursions",
    "excursion_event",
    "excursion_from_json",
    "excursion_to_json",
    "excursions_document",
    "exposure",
    "fit",
    "hold_plan",
    "merge_excursion",
    "override_of",
    "putaway",
    "read_epcis_sensor_events",
    "read_logger_csv",
    "release_exposed",
]
