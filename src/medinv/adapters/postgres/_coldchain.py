"""`PostgresColdChain`: the cold chain's records in a `PostgresStore`'s database."""

from __future__ import annotations

from medinv.adapters._coldchain import SqlColdChain
from medinv.adapters.postgres._tables import PostgresTables

__all__ = ["PostgresColdChain"]


class PostgresColdChain(PostgresTables, SqlColdChain):
    """The [`ColdChainStore`][medinv.coldchain.ColdChainStore] of a PostgreSQL ledger database.

    Get it as ``store.coldchain``; its tables live beside the ledger's and it uses
    the store's connection, each write one transaction. ``close()`` closes the store.
    """

    __slots__ = ()

    noun = "coldchain"
