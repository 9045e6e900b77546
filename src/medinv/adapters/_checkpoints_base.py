"""The checkpoint stores' rules, written once: stores and checkpoint tables supply primitives.

Every [`CheckpointStore`][medinv.feed.CheckpointStore] (in the medinv store, or a
table in the consumer's own database) decides here, inside its write scope, what
``save`` may do: a checkpoint only moves forward, the same position keeps its
hash, and ``expected`` is compared with the stored checkpoint before anything is
written.
"""

from __future__ import annotations

import contextlib

import pendulum

from medinv.chain import format_instant
from medinv.errors import ConcurrencyError, InvalidValueError
from medinv.feed import check_checkpoint, check_consumer
from medinv.journal import LedgerHead

__all__ = ["CheckpointBase"]


class CheckpointBase:
    """The [`CheckpointStore`][medinv.feed.CheckpointStore] methods over a few primitives."""

    __slots__ = ()

    # ------------------------------------------------------------------ primitives

    def _write_scope(self) -> contextlib.AbstractContextManager[None]:
        """Where ``save`` and ``remove`` run: a write transaction, or the caller's."""
        raise NotImplementedError  # pragma: no cover

    def _read(self, consumer: str, *, for_update: bool) -> LedgerHead | None:
        """The stored checkpoint (locked until the write scope ends with ``for_update``)."""
        raise NotImplementedError  # pragma: no cover

    def _write(self, consumer: str, checkpoint: LedgerHead, moment: str, *, new: bool) -> None:
        """Insert (``new``) or update the consumer's checkpoint."""
        raise NotImplementedError  # pragma: no cover

    def _delete(self, consumer: str) -> bool:
        """Delete the consumer's checkpoint; whether there was one."""
        raise NotImplementedError  # pragma: no cover

    def _all(self) -> list[tuple[str, LedgerHead]]:
        """Every stored checkpoint."""
        raise NotImplementedError  # pragma: no cover

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """The unit a follower applies a page and saves in (see each store)."""
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ the port

    def load(self, consumer: str) -> LedgerHead:
        """The consumer's checkpoint; ``LedgerHead.empty()`` for a consumer never saved."""
        stored = self._read(check_consumer(consumer), for_update=False)
        return LedgerHead.empty() if stored is None else stored

    def save(
        self, consumer: str, checkpoint: LedgerHead, *, expected: LedgerHead | None = None
    ) -> None:
        """Store the consumer's checkpoint; see [`CheckpointStore.save`][medinv.feed.CheckpointStore.save].

        Raises:
            ConcurrencyError: ``expected`` is not the stored checkpoint.
            InvalidValueError: a bad consumer name or checkpoint, or one behind the
                stored checkpoint or at its position with another hash.
        """  # noqa: E501  (a cross-reference cannot be wrapped)
        check_consumer(consumer)
        check_checkpoint(checkpoint)
        if expected is not None:
            check_checkpoint(expected, name="expected checkpoint")
        moment = format_instant(pendulum.now("UTC"))
        with self._write_scope():
            stored = self._read(consumer, for_update=True)
            current = LedgerHead.empty() if stored is None else stored
            if expected is not None and expected != current:
                raise ConcurrencyError(
                    f"the checkpoint of consumer {consumer!r} is at position "
                    f"{current.position}, not {expected.position}: another follower of it "
                    "acknowledged meanwhile",
                    expected=expected.position,
                    actual=current.position,
                )
            if checkpoint == current:
                return
            if checkpoint.position <= current.position:
                what = "behind" if checkpoint.position < current.position else "at"
                raise InvalidValueError(
                    f"checkpoint {checkpoint.position} of consumer {consumer!r} is {what} "
                    f"the stored one ({current.position}, hash {current.hash[:12]}...): a "
                    "checkpoint only moves forward (remove the consumer to start again)"
                )
            self._write(consumer, checkpoint, moment, new=stored is None)

    def consumers(self) -> dict[str, LedgerHead]:
        """Every consumer's checkpoint, by consumer name."""
        return dict(sorted(self._all()))

    def remove(self, consumer: str) -> bool:
        """Forget a consumer (it starts again from position 0); ``False`` if unknown."""
        check_consumer(consumer)
        with self._write_scope():
            return self._delete(consumer)
