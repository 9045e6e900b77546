"""The change feed: follow the ledger from another system, losing nothing, applying nothing twice.

[`Ledger.changes`][medinv.ledger.Ledger.changes] gives the stored movements after a
position, in position order, with no gap and no skip under concurrent writers. Each
change is an envelope: position, movement (and its id), when it was recorded, its
hash and the previous hash. This package builds on it:

- [`check_changes`][medinv.feed.check_changes]: a consumer's check that a page is
  the ledger's next one (no missing position, every link, every hash), with clear
  errors ([`MissingChangeError`][medinv.feed.MissingChangeError],
  [`BrokenLinkError`][medinv.feed.BrokenLinkError],
  [`AlteredChangeError`][medinv.feed.AlteredChangeError]);
- [`Follower`][medinv.feed.Follower]: delivers pages to a handler from the
  consumer's checkpoint and acknowledges them, at least once, or exactly once in
  effect with a checkpoint table in the consumer's own database
  (`medinv.adapters.sqlite.SqliteCheckpointTable`,
  `medinv.adapters.postgres.PostgresCheckpointTable`);
- [`CheckpointStore`][medinv.feed.CheckpointStore]: where checkpoints are kept
  (also ``store.checkpoints`` of every medinv store);
- [`change_to_json`][medinv.feed.change_to_json] /
  [`change_from_json`][medinv.feed.change_from_json]: the envelope on the wire;
- [`outbox_row`][medinv.feed.outbox_row]: a change in the outbox columns CDC
  tools (Debezium's outbox event router) expect.

The package imports no database driver: the checkpoint tables live in the adapters.
"""

from medinv.feed._check import (
    AlteredChangeError,
    BrokenLinkError,
    ChangeFeedError,
    MissingChangeError,
    check_changes,
)
from medinv.feed._checkpoints import CheckpointStore, check_checkpoint, check_consumer
from medinv.feed._envelope import ENVELOPE_KEYS, change_from_json, change_to_json
from medinv.feed._follow import Backoff, Follower, Page, SleepWaiter, Waiter
from medinv.feed._outbox import OUTBOX_COLUMNS, OutboxRow, outbox_row

__all__ = [
    "ENVELOPE_KEYS",
    "OUTBOX_COLUMNS",
    "AlteredChangeError",
    "Backoff",
    "BrokenLinkError",
    "ChangeFeedError",
    "CheckpointStore",
    "Follower",
    "MissingChangeError",
    "OutboxRow",
    "Page",
    "SleepWaiter",
    "Waiter",
    "change_from_json",
    "change_to_json",
    "check_changes",
    "check_checkpoint",
    "check_consumer",
    "outbox_row",
]
