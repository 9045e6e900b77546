"""The change envelope as JSON: what a follower sends to another system, and reads back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from medinv.chain import (
    CONTENT_FIELDS,
    STRUCTURED_FIELDS,
    MovementDecoder,
    format_instant,
    movement_fields,
    structured_fields,
)
from medinv.errors import InvalidValueError
from medinv.journal import RecordedMovement

__all__ = ["ENVELOPE_KEYS", "change_from_json", "change_to_json"]

ENVELOPE_KEYS: Final = (
    "id",
    "sequence",
    "type",
    "time",
    "recordedAt",
    "subject",
    "hash",
    "prevHash",
    "data",
)
"""The keys of an envelope, in the order
[`change_to_json`][medinv.feed.change_to_json] writes them."""

_TYPE_PREFIX: Final = "medinv.movement."
_HASH: Final = re.compile(r"[0-9a-f]{64}")


def change_to_json(change: RecordedMovement) -> dict[str, Any]:
    """The envelope of one change as a JSON-ready dict (CloudEvents-like names).

    ``id`` is the movement id, ``sequence`` its ledger position, ``type``
    ``medinv.movement.<kind>``, ``time`` when it occurred, ``recordedAt`` when the
    ledger stored it, ``subject`` the item (device, lot, serial), ``hash`` and
    ``prevHash`` its chain hashes, ``data`` every field of the movement as text
    (``null`` when absent): the very texts its hash covers, so that a consumer can
    check it with [`check_changes`][medinv.feed.check_changes] after
    [`change_from_json`][medinv.feed.change_from_json].
    """
    movement = change.movement
    data: dict[str, str | None] = dict(zip(CONTENT_FIELDS, movement_fields(movement), strict=True))
    counterparty, references = structured_fields(movement)
    if counterparty is not None or references is not None:
        data.update(zip(STRUCTURED_FIELDS, (counterparty, references), strict=True))
    return {
        "id": movement.id,
        "sequence": change.position,
        "type": _TYPE_PREFIX + movement.kind.value.lower(),
        "time": data["occurred_at"],
        "recordedAt": format_instant(change.recorded_at),
        "subject": str(movement.item),
        "hash": change.hash,
        "prevHash": change.prev_hash,
        "data": data,
    }


def _text(envelope: Mapping[str, Any], key: str) -> str:
    value = envelope.get(key)
    if not isinstance(value, str):
        raise InvalidValueError(f"invalid change envelope: {key!r} must be text, not {value!r:.60}")
    return value


def change_from_json(envelope: Mapping[str, Any]) -> RecordedMovement:
    """The change an envelope of [`change_to_json`][medinv.feed.change_to_json] carries.

    The hashes are read as given, not checked: check the changes with
    [`check_changes`][medinv.feed.check_changes].

    Raises:
        InvalidValueError: a key is missing or holds what no change encodes to
            (the message names the key).
    """
    if not isinstance(envelope, Mapping):
        raise InvalidValueError(f"a change envelope is a JSON object, not {envelope!r:.60}")
    position = envelope.get("sequence")
    if isinstance(position, bool) or not isinstance(position, int) or position < 1:
        raise InvalidValueError(
            f"invalid change envelope: 'sequence' must be a position from 1, not {position!r:.60}"
        )
    hashes = {key: _text(envelope, key) for key in ("hash", "prevHash")}
    for key, value in hashes.items():
        if not _HASH.fullmatch(value):
            raise InvalidValueError(
                f"invalid change envelope: {key!r} must be 64 lower-case hex digits, "
                f"not {value!r:.70}"
            )
    data = envelope.get("data")
    if not isinstance(data, Mapping):
        raise InvalidValueError("invalid change envelope: 'data' must be an object of fields")
    missing = [name for name in CONTENT_FIELDS if name not in data]
    if missing:
        raise InvalidValueError(f"invalid change envelope: 'data' lacks {', '.join(missing)}")
    fields: list[Any] = [data.get(name) for name in (*CONTENT_FIELDS, *STRUCTURED_FIELDS)]
    if any(value is not None and not isinstance(value, str) for value in fields):
        raise InvalidValueError("invalid change envelope: every field of 'data' is text or null")
    decoder = MovementDecoder()
    try:
        movement = decoder.fields(*fields)
        recorded_at = decoder.instant(_text(envelope, "recordedAt"))
    except (ValueError, TypeError, KeyError) as e:
        raise InvalidValueError(f"invalid change envelope at position {position}: {e}") from e
    return RecordedMovement(
        movement=movement,
        position=position,
        recorded_at=recorded_at,
        prev_hash=hashes["prevHash"],
        hash=hashes["hash"],
    )
