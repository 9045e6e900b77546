"""The change feed as rows of a transactional outbox, in the columns CDC tools expect."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Final

import attrs

from medinv.chain import format_instant
from medinv.errors import InvalidValueError
from medinv.feed._envelope import change_to_json
from medinv.journal import RecordedMovement

__all__ = ["OUTBOX_COLUMNS", "OutboxRow", "outbox_row"]

OUTBOX_COLUMNS: Final = (
    "id",
    "aggregatetype",
    "aggregateid",
    "type",
    "payload",
    "sequence",
    "hash",
    "prev_hash",
    "recorded_at",
)
"""The columns of an outbox row, in the order of
[`OutboxRow.values`][medinv.feed.OutboxRow.values]."""

_NAMESPACE: Final = uuid.UUID("5b0f6f0e-8d0c-5c1e-9a53-6d6564696e76")
"""The namespace of the rows' ids (uuid5 of the change's hash)."""


@attrs.frozen(kw_only=True)
class OutboxRow:
    """One change as an outbox row (Debezium's outbox event router reads the first five)."""

    id: str
    """A UUID of the change, the same every time it is written (uuid5 of its chain hash):
    a consumer deduplicates redeliveries by it."""
    aggregatetype: str
    """What the event is about; Debezium routes it to the topic ``outbox.event.<aggregatetype>``."""
    aggregateid: str
    """The message key: events with one key keep their order (one Kafka partition)."""
    type: str
    """``medinv.movement.<kind>``."""
    payload: str
    """The change's envelope ([`change_to_json`][medinv.feed.change_to_json]) as JSON text."""
    sequence: int
    """The ledger position."""
    hash: str
    """The change's chain hash."""
    prev_hash: str
    """The previous change's chain hash."""
    recorded_at: str
    """When the ledger stored the change (ISO 8601 with offset)."""

    def values(self) -> tuple[str | int, ...]:
        """The row's values in the order of [`OUTBOX_COLUMNS`][medinv.feed.OUTBOX_COLUMNS]."""
        return tuple(getattr(self, name) for name in OUTBOX_COLUMNS)


def _ledger_key(_change: RecordedMovement) -> str:
    return "ledger"


def outbox_row(
    change: RecordedMovement,
    *,
    aggregate_type: str = "medinv.movement",
    aggregate_id: Callable[[RecordedMovement], str] | None = None,
) -> OutboxRow:
    """The outbox row of one change.

    By default every row has the key ``ledger``: one partition keeps the whole
    ledger's order, so a consumer can check every link of the chain. Give
    ``aggregate_id`` (a function of the change, e.g. its item's device) to spread
    the events over partitions: each key keeps its own order, but a consumer then
    sees the chain out of order and must re-sort by ``sequence`` to check it.

    Raises:
        InvalidValueError: ``aggregate_type`` or the key computed is blank, or not text.
    """
    if not isinstance(aggregate_type, str) or not aggregate_type.strip():
        raise InvalidValueError(f"aggregate_type must be non-blank text, not {aggregate_type!r}")
    key = (aggregate_id or _ledger_key)(change)
    if not isinstance(key, str) or not key.strip():
        raise InvalidValueError(
            f"the aggregate id of change {change.position} must be non-blank text, not {key!r:.60}"
        )
    envelope = change_to_json(change)
    return OutboxRow(
        id=str(uuid.uuid5(_NAMESPACE, change.hash)),
        aggregatetype=aggregate_type,
        aggregateid=key,
        type=envelope["type"],
        payload=json.dumps(envelope, ensure_ascii=False, separators=(",", ":")),
        sequence=change.position,
        hash=change.hash,
        prev_hash=change.prev_hash,
        recorded_at=format_instant(change.recorded_at),
    )
