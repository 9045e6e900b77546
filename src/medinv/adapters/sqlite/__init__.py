"""The SQLite store: the embedded default home of the movement ledger.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

[`SqliteStore`][medinv.adapters.sqlite.SqliteStore] keeps the ledger in one SQLite
file through the standard library's `sqlite3`:

- the file is opened in WAL mode with ``synchronous=FULL``: when
  [`append`][medinv.adapters.sqlite.SqliteStore.append] returns, the batch survives
  a crash of the process or a power cut;
- ``append`` runs in one ``BEGIN IMMEDIATE`` transaction that re-reads the ledger
  head before writing anything: a writer whose batch was validated against an older
  head gets [`ConcurrencyError`][medinv.errors.ConcurrencyError] and nothing is
  written (optimistic concurrency between processes that share the file);
- every query of the [`LedgerStore`][medinv.ports.LedgerStore] port is answered
  through an index (movements by id, position and reversed id, and by item number,
  reached from an item, GTIN, lot or serial through the small `item_keys` table;
  balances by item, lot, serial and location subtree);
- a movement is stored as its canonical content, the very text its chain hash
  covers, next to the columns the store queries by (id, item number, reversed id);
  [`register_sql_functions`][medinv.adapters.sqlite.register_sql_functions] lets
  reports in SQL read its fields by name;
- the same file holds the stocktakes:
  [`store.stocktakes`][medinv.adapters.sqlite.SqliteStore.stocktakes] serves the
  [`StocktakeStore`][medinv.ports_stocktake.StocktakeStore] port over the store's
  connection, so one schema version and one
  [`backup`][medinv.adapters.sqlite.SqliteStore.backup] cover both;
- the schema is versioned: a new file is created at the current version in one
  step, opening an older file applies the migrations it lacks (a file of the
  previous release's separate stocktake store included), and a file written by a
  newer medinv is refused with a clear error;
- every `sqlite3` exception is translated into a
  [`StorageError`][medinv.errors.StorageError] (``raise ... from e``).

Use it through the ledger service, which checks the rules and hands the store
what to write:

```pycon
>>> from medinv import ItemKey, Location, Movement
>>> from medinv.adapters.sqlite import SqliteStore
>>> from medinv.ledger import Ledger
>>> receipt = Movement.receipt(
...     "DN-1/1", item=ItemKey("04006381333931", lot="L1"), quantity=12,
...     to=Location.parse("CHU/Store/A1"), occurred_at="2026-11-23T09:00:00+01:00", actor="jm",
... )
>>> with SqliteStore(":memory:") as store:  # a file path in real use
...     ledger = Ledger(store)
...     _ = ledger.post([receipt])
...     ledger.balance(gtin="04006381333931", location="CHU/Store"), store.schema_version
(12, 17)

```

[How to use SQLite and PostgreSQL](../how-to/use-sqlite-and-postgresql.md) covers
files, backups and concurrent writers.
"""

from medinv.adapters._base import Migration
from medinv.adapters.sqlite._catalogue import SqliteCatalogue
from medinv.adapters.sqlite._checkpoints import SqliteCheckpoints, SqliteCheckpointTable
from medinv.adapters.sqlite._projections import SqliteProjections
from medinv.adapters.sqlite._reservations import SqliteReservations
from medinv.adapters.sqlite._schema import MIGRATIONS, SCHEMA_VERSION
from medinv.adapters.sqlite._sql import register_sql_functions
from medinv.adapters.sqlite._store import SqliteStocktakes, SqliteStore

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "SqliteCatalogue",
    "SqliteProjections",
    "SqliteReservations",
    "SqliteStocktakes",
    "SqliteStore",
    "register_sql_functions",
]
__all__ += ["SqliteCheckpointTable", "SqliteCheckpoints"]
