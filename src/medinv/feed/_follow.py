"""Following the ledger: pages of changes delivered to a handler, acknowledged by checkpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

import attrs

from medinv.errors import InvalidValueError
from medinv.feed._check import MissingChangeError, check_changes
from medinv.feed._checkpoints import CheckpointStore, check_consumer
from medinv.journal import LedgerHead, RecordedMovement
from medinv.ledger import Ledger

__all__ = ["Backoff", "Follower", "Page", "SleepWaiter", "Waiter"]

_MAX_PAGE: Final = 100_000
_MAX_WAIT: Final = 3600.0
_MAX_FACTOR: Final = 10


@attrs.frozen(kw_only=True)
class Page:
    """One page of changes delivered to a consumer: positions ``after.position + 1`` onwards."""

    consumer: str
    """The consumer it is delivered to."""
    after: LedgerHead
    """The consumer's checkpoint before the page: the last change it had applied."""
    changes: tuple[RecordedMovement, ...]
    """The changes, in position order, checked (no gap, every link, every hash)."""

    @property
    def head(self) -> LedgerHead:
        """The position and hash of the page's last change: the checkpoint once applied."""
        last = self.changes[-1]
        return LedgerHead(last.position, last.hash)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= _MAX_WAIT:
        raise InvalidValueError(f"{name} must be a number of seconds from 0 to 3600, not {value!r}")
    return float(value)


def _initial(value: object) -> float:
    return _seconds("initial wait", value)


def _maximum(value: object) -> float:
    return _seconds("maximum wait", value)


def _factor(_instance: object, _attribute: object, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 1 <= value <= _MAX_FACTOR
    ):
        raise InvalidValueError(f"backoff factor must be a number from 1 to 10, not {value!r}")


@attrs.frozen(kw_only=True)
class Backoff:
    """How long a follower waits when it has caught up.

    ``initial`` seconds after the first empty poll, ``factor`` times longer after
    each next one, at most ``maximum`` seconds; back to ``initial`` once a page comes.
    """

    initial: float = attrs.field(default=0.005, converter=_initial)
    """The first wait after an empty poll, in seconds."""
    maximum: float = attrs.field(default=1.0, converter=_maximum)
    """The longest wait, in seconds."""
    factor: float = attrs.field(default=2.0, validator=_factor)
    """How much longer each next wait is."""

    def __attrs_post_init__(self) -> None:
        if self.maximum < self.initial:
            raise InvalidValueError(
                f"backoff maximum {self.maximum} is shorter than its initial wait {self.initial}"
            )

    def next(self, delay: float) -> float:
        """The wait after one of ``delay`` found nothing."""
        return min(delay * self.factor, self.maximum)


@runtime_checkable
class Waiter(Protocol):
    """What a caught-up follower waits on: ``wait(timeout)`` returns early when woken."""

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; ``True`` if woken by news of a commit."""
        ...


class SleepWaiter:
    """The plain waiter: sleeps the whole timeout (polling with backoff)."""

    def wait(self, timeout: float) -> bool:
        """Sleep ``timeout`` seconds; never woken early."""
        time.sleep(timeout)
        return False


class Follower:
    """Delivers the ledger's changes to one consumer, page by page, from its checkpoint.

    Args:
        ledger: the ledger followed.
        consumer: the consumer's name (its checkpoint's key).
        checkpoints: where its checkpoint is kept (a
            [`CheckpointStore`][medinv.feed.CheckpointStore]).
        page_size: the most changes one page holds (1 to 100,000).
        hashes: recompute every change's hash before delivering it (default); the
            positions and links are always checked.

    [`poll`][medinv.feed.Follower.poll] reads the changes after the checkpoint,
    checks them, calls the handler with the page inside ``checkpoints.transaction()``
    and then saves the page's last position as the checkpoint in the same unit:
    delivery is **at least once** (a crash before the save delivers the page again,
    never more than that page); with a checkpoint table in the consumer's own
    database and the page applied through its connection, the effect is **exactly
    once**. A handler that raises leaves the checkpoint where it was.
    """

    def __init__(
        self,
        ledger: Ledger,
        consumer: str,
        checkpoints: CheckpointStore,
        *,
        page_size: int = 500,
        hashes: bool = True,
    ) -> None:
        if not isinstance(ledger, Ledger):
            raise InvalidValueError(f"a Follower follows a Ledger, not {type(ledger).__name__}")
        if not isinstance(checkpoints, CheckpointStore):
            raise InvalidValueError(
                f"checkpoints must be a CheckpointStore, not {type(checkpoints).__name__}"
            )
        given: object = page_size
        if isinstance(given, bool) or not isinstance(given, int) or not 1 <= given <= _MAX_PAGE:
            raise InvalidValueError(
                f"page_size must be a whole number from 1 to {_MAX_PAGE:,}, not {page_size!r}"
            )
        self._ledger = ledger
        self._consumer = check_consumer(consumer)
        self._checkpoints = checkpoints
        self._page_size = page_size
        self._hashes = bool(hashes)

    @property
    def consumer(self) -> str:
        """The consumer's name."""
        return self._consumer

    def checkpoint(self) -> LedgerHead:
        """The consumer's checkpoint: the last change it applied (position 0 at first)."""
        return self._checkpoints.load(self._consumer)

    def lag(self) -> int:
        """How many changes the consumer has still to apply (ledger head less checkpoint)."""
        return max(self._ledger.head().position - self.checkpoint().position, 0)

    def poll(self, handler: Callable[[Page], object]) -> Page | None:
        """Deliver the next page to ``handler`` and acknowledge it; ``None`` if caught up.

        Raises:
            ChangeFeedError: the changes are not the ledger's next ones after the
                checkpoint (a missing or altered change, or a checkpoint whose hash is
                not the ledger's at its position: the consumer follows another ledger).
            ConcurrencyError: another follower of the same consumer acknowledged
                meanwhile (nothing saved; its handler's effects are the caller's).
            StorageError: the ledger's or the checkpoints' store failed.
        """
        after = self._checkpoints.load(self._consumer)
        changes = self._ledger.changes(after=after.position, limit=self._page_size)
        if not changes:
            head = self._ledger.head()
            if head.position < after.position:
                raise MissingChangeError(
                    head.position + 1,
                    f"consumer {self._consumer!r} is at position {after.position}, beyond "
                    f"the ledger's head {head.position} (another ledger, or one restored "
                    "from an older backup)",
                )
            return None
        check_changes(changes, after=after, hashes=self._hashes)
        page = Page(consumer=self._consumer, after=after, changes=tuple(changes))
        with self._checkpoints.transaction():
            handler(page)
            self._checkpoints.save(self._consumer, page.head, expected=after)
        return page

    def follow(
        self,
        handler: Callable[[Page], object],
        *,
        stop: Callable[[], bool],
        waiter: Waiter | None = None,
        backoff: Backoff | None = None,
    ) -> int:
        """Poll until ``stop()`` is true, waiting with ``backoff`` while caught up.

        ``waiter`` (default: sleep) may wake the follower early: on PostgreSQL,
        [`FeedNotifier`][medinv.adapters.postgres.FeedNotifier] wakes it as soon as a
        commit is notified. ``stop`` is asked before every poll (a
        ``threading.Event``'s ``is_set`` will do). Returns the number of pages
        delivered; raises what [`poll`][medinv.feed.Follower.poll] raises.
        """
        wait = SleepWaiter() if waiter is None else waiter
        pace = Backoff() if backoff is None else backoff
        delay = pace.initial
        pages = 0
        while not stop():
            if self.poll(handler) is not None:
                pages += 1
                delay = pace.initial
                continue
            if not wait.wait(delay):
                delay = pace.next(delay)
        return pages
