"""Consumer checkpoints: how far each consumer of the change feed has applied the ledger."""

from __future__ import annotations

import contextlib
import re
from typing import Final, Protocol, runtime_checkable

from medinv.errors import InvalidValueError
from medinv.journal import LedgerHead

__all__ = ["CheckpointStore", "check_checkpoint", "check_consumer"]

_MAX_CONSUMER: Final = 200
_HASH: Final = re.compile(r"[0-9a-f]{64}")
_MAX_POSITION: Final = 2**63 - 1


def check_consumer(consumer: object) -> str:
    """A consumer name as given: non-blank text of at most 200 characters, without NUL.

    Raises:
        InvalidValueError: anything else.
    """
    if (
        not isinstance(consumer, str)
        or not consumer.strip()
        or len(consumer) > _MAX_CONSUMER
        or "\x00" in consumer
    ):
        msg = (
            f"invalid consumer name {consumer!r:.60}: expected non-blank text of at most "
            f"{_MAX_CONSUMER} characters without NUL"
        )
        raise InvalidValueError(msg)
    return consumer


def check_checkpoint(checkpoint: object, *, name: str = "checkpoint") -> LedgerHead:
    """A checkpoint as given: a `LedgerHead` (a position from 0 and 64 lower-case hex digits).

    Raises:
        InvalidValueError: anything else.
    """
    if (
        not isinstance(checkpoint, LedgerHead)
        or isinstance(checkpoint.position, bool)
        or not isinstance(checkpoint.position, int)
        or not 0 <= checkpoint.position <= _MAX_POSITION
        or not isinstance(checkpoint.hash, str)
        or not _HASH.fullmatch(checkpoint.hash)
    ):
        msg = (
            f"invalid {name} {checkpoint!r:.100}: expected a LedgerHead of a position "
            "from 0 and its hash (64 lower-case hex digits)"
        )
        raise InvalidValueError(msg)
    return checkpoint


@runtime_checkable
class CheckpointStore(Protocol):
    """Where consumers of the change feed keep their checkpoints.

    A checkpoint is the [`LedgerHead`][medinv.ports.LedgerHead] (position and hash)
    of the last change a consumer applied; a consumer never seen is at
    ``LedgerHead.empty()``. A checkpoint only moves forward, and ``save`` with
    ``expected`` is a compare-and-set: of two followers of one consumer, the one
    that did not read the stored checkpoint is refused with
    [`ConcurrencyError`][medinv.errors.ConcurrencyError] and writes nothing.

    Two kinds ship:

    - **kept in the medinv store** (``MemoryStore().checkpoints``,
      ``SqliteStore(path).checkpoints``, ``PostgresStore(...).checkpoints``): each
      ``save`` is its own transaction, ``transaction()`` does nothing. Delivery is
      at least once: after a crash between applying a page and saving, the page
      comes again.
    - **kept in the consumer's own database** (``SqliteCheckpointTable(conn)``,
      ``PostgresCheckpointTable(conn)`` in the adapters): ``save`` writes inside the
      connection's current transaction, and ``transaction()`` opens one on it. A
      consumer that applies a page through the same connection inside
      ``transaction()`` gets an exactly-once effect.

    Conformance is proved by
    [`CheckpointStoreContract`][medinv.testing.checkpoint_contract.CheckpointStoreContract].
    """

    def load(self, consumer: str) -> LedgerHead:
        """The consumer's checkpoint; ``LedgerHead.empty()`` for a consumer never saved."""
        ...

    def save(
        self, consumer: str, checkpoint: LedgerHead, *, expected: LedgerHead | None = None
    ) -> None:
        """Store the consumer's checkpoint (saving the stored one again changes nothing).

        Raises:
            ConcurrencyError: ``expected`` is given and is not the stored checkpoint.
            InvalidValueError: a bad consumer name or checkpoint, or one behind the
                stored checkpoint or at its position with another hash.
        """
        ...

    def consumers(self) -> dict[str, LedgerHead]:
        """Every consumer's checkpoint, by consumer name."""
        ...

    def remove(self, consumer: str) -> bool:
        """Forget a consumer (it starts again from position 0); ``False`` if unknown."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """The unit a follower applies a page and saves its checkpoint in."""
        ...
