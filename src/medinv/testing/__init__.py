"""Public test helpers for medinv users and store integrators.

- [`medinv.testing.strategies`][medinv.testing.strategies]: Hypothesis strategies for
  every value object.
- [`medinv.testing.contract`][medinv.testing.contract]: the ledger store contract
  suite, a pytest mixin (`LedgerStoreContract`) every store must pass.
- [`medinv.testing.stateful`][medinv.testing.stateful]: a Hypothesis state machine
  (`ledger_machine`) that drives any store and the in-memory reference side by side.
- [`medinv.testing.catalogue_contract`][medinv.testing.catalogue_contract]: the
  catalogue store contract suite (`CatalogueStoreContract`).

Needs the ``testing`` extra: ``pip install "medinv[testing]"``.
"""
