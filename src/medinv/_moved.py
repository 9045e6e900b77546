"""Old import paths of names that moved: they keep working for one minor release.

A package whose public name moved keeps a module ``__getattr__`` built here. Reading
the name through the old path imports it from its new home and warns with a
`DeprecationWarning` that names the new path. The new home is imported on first
use only, so the old package does not depend on it in the layers of the import graph.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any


def moved_names(old: str, new_homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for names of ``old`` that now live in ``new_homes[name]``.

    A home is a module path (the name is the same there) or ``"module:NewName"`` for
    a name that was renamed as well.
    """

    def __getattr__(name: str) -> Any:  # noqa: N807  (the module hook's own name)
        home = new_homes.get(name)
        if home is None:
            msg = f"module {old!r} has no attribute {name!r}"
            raise AttributeError(msg)
        module, _, new_name = home.partition(":")
        new_name = new_name or name
        warnings.warn(
            f"{old}.{name} moved to {module}.{new_name}; "
            "the old path will be removed in the next minor release",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new_name)

    return __getattr__
