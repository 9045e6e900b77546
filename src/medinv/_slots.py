"""Building `attrs` values without their ``__init__``: the one trick of medinv's hot paths.

An `attrs` class's generated ``__init__`` takes keyword arguments, runs converters and
validators and sets each slot through ``object.__setattr__``. Where a hot loop has
just checked every value itself (a posted batch's records, a FEFO plan's picks, a
plain FEFO request), setting the slots directly is about twice as fast, and the
object is indistinguishable from the constructor's (tests compare them). The
benchmarks of the ledger and of FEFO allocation measure the difference.

[`slot_setters`][medinv._slots.slot_setters] refuses a list of names that is not
exactly the class's fields, so a field added later cannot be left unset silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

import attrs

__all__ = ["new_instance", "slot_setters"]

new_instance: Final = object.__new__
"""An instance of a class with no slot set yet (set every one with its setter)."""


def slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of the slots ``names`` of the attrs class ``cls``, in that order.

    Raises:
        TypeError: ``names`` are not exactly the fields of ``cls`` (each once).
    """
    fields = [field.name for field in attrs.fields(cls)]
    if sorted(names) != sorted(fields):
        msg = f"slot setters of {cls.__name__} must name its fields {fields}, not {list(names)}"
        raise TypeError(msg)
    return tuple(cls.__dict__[name].__set__ for name in names)
