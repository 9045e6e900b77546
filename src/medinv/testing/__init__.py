"""Public test helpers for medinv users and store integrators.

- [`medinv.testing.strategies`][medinv.testing.strategies]: Hypothesis strategies for
  every value object.

Needs the ``testing`` extra: ``pip install "medinv[testing]"``.
"""
