"""What the cold chain keeps across restarts: excursions and quality decisions, and their store.

The [`ColdChainStore`][medinv.coldchain.ColdChainStore] port is ``store.coldchain`` on
every medinv store (memory, SQLite, PostgreSQL). It keeps each excursion by its
deterministic id (an open excursion is replaced as it grows and when it closes; a
closed one never changes) and at most one quality decision per excursion.
Readings themselves are not stored: they stay in the logger's files.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from typing import Protocol, Self, runtime_checkable

import attrs
import pendulum

from medinv._text import text_validator
from medinv.actors import actor_validator, same_actor
from medinv.coldchain._detect import Direction, Excursion, ExcursionKind, of_type
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError, StockError
from medinv.locations import Location

__all__ = [
    "ColdChainError",
    "ColdChainStore",
    "ExcursionConflictError",
    "ExcursionOpenError",
    "QualityDecision",
    "QualityDecisionError",
    "Verdict",
    "decision_from_json",
    "decision_to_json",
    "excursion_from_json",
    "excursion_to_json",
    "merge_excursion",
]


class ColdChainError(StockError):
    """A cold-chain operation refused by its rules."""


class ExcursionOpenError(ColdChainError):
    """An excursion still in progress: its stock cannot be released yet."""

    def __init__(self, excursion_id: str) -> None:
        self.excursion_id = excursion_id
        super().__init__(
            f"excursion {excursion_id!r} is still in progress: its stock cannot be released "
            "until the temperature is back in range and the excursion is closed"
        )


class QualityDecisionError(ColdChainError):
    """A missing, refused or conflicting quality decision."""


class ExcursionConflictError(ColdChainError):
    """A closed excursion given again with other content."""


class Verdict(enum.Enum):
    """What quality decided about stock an excursion exposed."""

    RELEASE = "RELEASE"
    """The stock is fit for use: it goes back to AVAILABLE."""
    REJECT = "REJECT"
    """The stock is not fit for use: it stays on HOLD until it is scrapped or returned."""

    __hash__ = object.__hash__


@attrs.frozen(kw_only=True)
class QualityDecision:
    """A quality decision on an excursion's stock, taken by one person and approved by another.

    Raises:
        InvalidValueError: a blank reason, a malformed name, one person in both roles.
    """

    excursion_id: str = attrs.field(validator=text_validator("excursion id", limit=200))
    verdict: Verdict = attrs.field(validator=of_type(Verdict, "a verdict"))
    decided_by: str = attrs.field(validator=actor_validator("decided_by"))
    """The quality person who assessed the excursion."""
    approved_by: str = attrs.field(validator=actor_validator("approved_by"))
    """The second person: never the one who decided."""
    reason: str = attrs.field(validator=text_validator("decision reason", limit=1000))
    decided_at: pendulum.DateTime = attrs.field(converter=to_datetime)

    def __attrs_post_init__(self) -> None:
        if same_actor(self.decided_by, self.approved_by):
            msg = (
                f"a quality decision needs a second person: {self.approved_by!r} cannot "
                "approve their own decision"
            )
            raise InvalidValueError(msg)


@runtime_checkable
class ColdChainStore(Protocol):
    """Where excursions and quality decisions are kept (``store.coldchain``)."""

    def record_excursions(self, excursions: list[Excursion]) -> int:
        """Keep excursions by id, in one transaction; returns how many were new or changed.

        An open excursion stored before is replaced by the same id seen later (grown
        or closed); an older view of it changes nothing. A closed one never changes.

        Raises:
            ExcursionConflictError: a closed excursion given again with other content
                (nothing of the call is kept).
        """
        ...

    def excursion(self, excursion_id: str) -> Excursion | None:
        """The excursion with this id, or ``None``."""
        ...

    def excursions(
        self,
        *,
        sensor: str | None = None,
        location: Location | None = None,
        open_only: bool = False,
    ) -> list[Excursion]:
        """Stored excursions (of a sensor, at a location or below it, still open), by start."""
        ...

    def record_decision(self, decision: QualityDecision) -> bool:
        """Keep the decision on its excursion; ``False`` when the same one is kept already.

        Raises:
            QualityDecisionError: the excursion is unknown, or has another decision.
        """
        ...

    def decision(self, excursion_id: str) -> QualityDecision | None:
        """The decision on an excursion, or ``None``."""
        ...

    def close(self) -> None:
        """Close the store this belongs to."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


def merge_excursion(stored: Excursion | None, given: Excursion) -> Excursion | None:
    """What to keep when ``given`` arrives with ``stored`` under its id; ``None``: no change."""
    if stored is None:
        return given
    if stored == given:
        return None
    if not stored.is_open:
        msg = (
            f"excursion {given.id!r} is stored closed with other content; "
            "a closed excursion never changes"
        )
        raise ExcursionConflictError(msg)
    if given.is_open and given.last_reading <= stored.last_reading:
        return None
    return given


# --------------------------------------------------------------------------- JSON


def excursion_to_json(excursion: Excursion) -> str:
    """The excursion as compact JSON (what the SQL stores keep)."""
    return json.dumps(
        {
            "id": excursion.id,
            "sensor": excursion.sensor,
            "location": str(excursion.location),
            "kind": excursion.kind.value,
            "direction": excursion.direction.value,
            "spans": [list(span) for span in excursion.spans],
            "last_reading": excursion.last_reading,
            "out_of_range": excursion.out_of_range.total_seconds(),
            "min": excursion.min_celsius,
            "max": excursion.max_celsius,
            "limit": excursion.limit,
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def excursion_from_json(text: str) -> Excursion:
    """The excursion [`excursion_to_json`][medinv.coldchain.excursion_to_json] wrote."""
    d = json.loads(text)
    return Excursion(
        id=d["id"],
        sensor=d["sensor"],
        location=Location.parse(d["location"]),
        kind=ExcursionKind(d["kind"]),
        direction=Direction(d["direction"]),
        spans=tuple((float(s), None if e is None else float(e)) for s, e in d["spans"]),
        last_reading=float(d["last_reading"]),
        out_of_range=dt.timedelta(seconds=d["out_of_range"]),
        min_celsius=float(d["min"]),
        max_celsius=float(d["max"]),
        limit=float(d["limit"]),
    )


def decision_to_json(decision: QualityDecision) -> str:
    """The decision as compact JSON."""
    return json.dumps(
        {
            "excursion_id": decision.excursion_id,
            "verdict": decision.verdict.value,
            "decided_by": decision.decided_by,
            "approved_by": decision.approved_by,
            "reason": decision.reason,
            "decided_at": decision.decided_at.isoformat(),
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def decision_from_json(text: str) -> QualityDecision:
    """The decision [`decision_to_json`][medinv.coldchain.decision_to_json] wrote."""
    d = json.loads(text)
    return QualityDecision(
        excursion_id=d["excursion_id"],
        verdict=Verdict(d["verdict"]),
        decided_by=d["decided_by"],
        approved_by=d["approved_by"],
        reason=d["reason"],
        decided_at=d["decided_at"],
    )
