"""Storage adapters.

Import the one you use (``medinv.adapters.sqlite`` ...); this package imports none.
"""
