"""`PostgresStore`: the movement ledger in PostgreSQL, safe under concurrent processes.

Needs the ``postgres`` extra (psycopg 3): ``pip install "medinv[postgres]"``.
``import medinv`` never imports psycopg; only importing this module does.

```pycon
>>> from medinv.adapters.postgres import PostgresStore
>>> from medinv.ledger import Ledger
>>> with PostgresStore("host=/run/postgresql dbname=stock") as store:  # doctest: +SKIP
...     ledger = Ledger(store)
...     ledger.head().position
0

```

How it stores the ledger (all tables in one schema, ``medinv`` unless told
otherwise, so that several ledgers can share a database):

- ``movements``: one row per stored movement, keyed by ``position``; ``id`` and
  ``reverses`` are unique. Date-times are kept as ISO 8601 text with their UTC
  offset (the hash chain encodes the offset; ``timestamptz`` would drop it).
- ``balances``: the projection, one row per non-zero (item, location, status);
  a ``CHECK`` keeps quantities non-negative as a last line of defence.
- ``lots`` and ``items``: master data written the first time a lot or item enters.
- ``head``: a single row with the ledger's position and hash. Every append locks it
  (``SELECT ... FOR UPDATE``) inside the append's transaction, compares it with the
  commit's expected position and raises
  [`ConcurrencyError`][medinv.errors.ConcurrencyError] if another writer got there
  first; so writers in any number of processes are serialised and none loses an
  update. ``Ledger.post(..., lock_head=True)`` takes the same lock before reading
  (``PostgresStore.lock_head()``), so writers queue instead of racing.
- ``stocktakes`` and ``stocktake_lines``: the stocktakes and their count lines,
  served by [`store.stocktakes`][medinv.adapters.postgres.PostgresStore.stocktakes]
  over the same connection (one schema, one schema version for every port).
- ``schema_version``: the applied migrations. Opening a store creates a new schema
  at the current version in one step, or applies the migrations an older one
  lacks, under an advisory lock, so many processes may open the same ledger at once.

Absent lots and serials are stored as the empty text (a real lot or serial is never
empty), which keeps every key column ``NOT NULL`` and every lookup indexable.
Location paths are stored as ``Main/Store/A1`` in a ``"C"``-collated column; a
subtree query is an index range scan (``path = 'Main/Store' OR path >= 'Main/Store/'
AND path < 'Main/Store0'``, ``'0'`` being the character after ``'/'``).

Every psycopg exception is translated: unique violations, serialisation failures,
deadlocks and lock time-outs become [`ConcurrencyError`][medinv.errors.ConcurrencyError]
(retry the whole post), everything else
[`StorageError`][medinv.errors.StorageError], with the SQLSTATE in the message and
the original exception as ``__cause__``.
"""

from __future__ import annotations

try:
    import psycopg  # noqa: F401  (refuse clearly before anything else imports it)
except ImportError as e:  # pragma: no cover - the dev environment always has psycopg
    raise ImportError(
        'medinv.adapters.postgres needs psycopg 3: pip install "medinv[postgres]"'
    ) from e

from medinv.adapters._base import Migration
from medinv.adapters.postgres._catalogue import PostgresCatalogue
from medinv.adapters.postgres._checkpoints import (
    FeedNotifier,
    PostgresCheckpoints,
    PostgresCheckpointTable,
)
from medinv.adapters.postgres._errors import translate_error
from medinv.adapters.postgres._projections import PostgresProjections
from medinv.adapters.postgres._reservations import PostgresReservations
from medinv.adapters.postgres._schema import MIGRATIONS, SCHEMA_VERSION
from medinv.adapters.postgres._store import PostgresStocktakes, PostgresStore

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "PostgresCatalogue",
    "PostgresProjections",
    "PostgresReservations",
    "PostgresStocktakes",
    "PostgresStore",
    "translate_error",
]
__all__ += ["FeedNotifier", "PostgresCheckpointTable", "PostgresCheckpoints"]
