"""`SqliteColdChain`: the cold chain's excursions and decisions in a `SqliteStore`'s database."""

from __future__ import annotations

from medinv.adapters._coldchain import SqlColdChain
from medinv.adapters.sqlite._tables import SqliteTables

__all__ = ["SqliteColdChain"]


class SqliteColdChain(SqliteTables, SqlColdChain):
    """The [`ColdChainStore`][medinv.coldchain.ColdChainStore] of a SQLite ledger database.

    Get it as ``store.coldchain``; its tables live beside the ledger's and it uses
    the store's connection, each write one transaction. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "coldchain"
