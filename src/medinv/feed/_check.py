"""What a consumer checks of the changes it receives: no gap, every link, every hash."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from medinv.chain import GENESIS_HASH, chain_hash
from medinv.errors import InvalidValueError
from medinv.journal import LedgerHead, RecordedMovement

__all__ = [
    "AlteredChangeError",
    "BrokenLinkError",
    "ChangeFeedError",
    "MissingChangeError",
    "check_changes",
]

_START: Final = LedgerHead(0, GENESIS_HASH)


class ChangeFeedError(InvalidValueError):
    """Changes that cannot be the ledger's: one is missing, out of place, or altered.

    Nothing should be applied from the page that raised it: fetch the changes again
    from the last checkpoint (the ledger itself is checked by
    [`Ledger.verify`][medinv.ledger.Ledger.verify]).
    """

    def __init__(self, position: int, reason: str) -> None:
        self.position = position
        """The position at which the stream stops being the ledger's."""
        self.reason = reason
        """What is wrong there."""
        super().__init__(f"change feed broken at position {position}: {reason}")


class MissingChangeError(ChangeFeedError):
    """A position is missing (a lost message) or out of order (a reordered one)."""


class BrokenLinkError(ChangeFeedError):
    """A change does not chain from the one before it (its previous hash differs)."""


class AlteredChangeError(ChangeFeedError):
    """A change's hash does not match its content: it was altered after it was recorded."""


def check_changes(
    changes: Iterable[RecordedMovement],
    *,
    after: LedgerHead | None = None,
    hashes: bool = True,
) -> LedgerHead:
    """Check that ``changes`` are the ledger's next entries after ``after``; return the new head.

    ``after`` is the last change the consumer applied (its checkpoint: position and
    hash); ``None`` checks only that the changes follow each other. Each change must
    be at the next position and carry the previous one's hash as its ``prev_hash``;
    with ``hashes`` (the default), its hash is also recomputed from its content, so
    that an altered change is caught as well as a lost one. The result is the
    position and hash of the last change (``after`` itself when ``changes`` is
    empty): pass it as ``after`` for the next page.

    ```pycon
    >>> import pendulum
    >>> from medinv import ItemKey, Location, Movement
    >>> from medinv.adapters.memory import MemoryStore
    >>> from medinv.ledger import Ledger
    >>> ledger = Ledger(MemoryStore(), clock=lambda: pendulum.datetime(2026, 12, 1, tz="UTC"))
    >>> _ = ledger.post(Movement.receipt(f"R-{n}", item=ItemKey("04006381333931"),
    ...     quantity=1, to=Location.parse("A"), occurred_at="2026-12-01T08:00:00Z",
    ...     actor="jm") for n in range(3))
    >>> page = ledger.changes(after=0, limit=3)
    >>> check_changes(page).position
    3
    >>> check_changes([page[0], page[2]])
    Traceback (most recent call last):
    ...
    medinv.feed._check.MissingChangeError: change feed broken at position 2: ...

    ```

    Raises:
        MissingChangeError: a position is missing or out of order.
        BrokenLinkError: a change's ``prev_hash`` is not the previous change's hash
            (or ``after.hash`` for the first one).
        AlteredChangeError: a recomputed hash differs from the stored one.
        InvalidValueError: ``after`` is not a `LedgerHead` or a change is not a
            `RecordedMovement`.
    """
    head = _START if after is None else after
    given: object = head  # checked at run time, whatever the annotations say
    if not isinstance(given, LedgerHead):
        msg = f"after must be a LedgerHead (the consumer's checkpoint), not {after!r:.60}"
        raise InvalidValueError(msg)
    first = True
    for change in changes:
        item: object = change
        if not isinstance(item, RecordedMovement):
            msg = f"a change must be a RecordedMovement, not {type(change).__name__}"
            raise InvalidValueError(msg)
        due = head.position + 1
        if (after is not None or not first) and change.position != due:
            what = "missing" if change.position > due else "out of order"
            raise MissingChangeError(
                due, f"got position {change.position} next: {what} (lost or reordered changes)"
            )
        if (after is not None or not first) and change.prev_hash != head.hash:
            raise BrokenLinkError(
                change.position,
                f"its previous hash {change.prev_hash[:12]}... is not the hash "
                f"{head.hash[:12]}... of position {head.position}",
            )
        if hashes:
            expected = chain_hash(
                change.prev_hash,
                change.movement,
                position=change.position,
                recorded_at=change.recorded_at,
            )
            if expected != change.hash:
                raise AlteredChangeError(
                    change.position,
                    f"movement {change.movement.id!r} does not hash to {change.hash[:12]}... "
                    "(its content, time or position was changed)",
                )
        head = LedgerHead(change.position, change.hash)
        first = False
    return head
