"""Public API is a promise: every name the previous release exported still imports.

``tests/data/public_api_0.1.json`` is the ``__all__`` of every public module of
release 0.1 (the first), frozen. A name may move, but its old import path keeps
working for one minor release, announcing the move with a ``DeprecationWarning``;
only then may it leave the list (with a CHANGELOG entry under "Removed").
"""

from __future__ import annotations

import importlib
import json
import warnings
from pathlib import Path

import pytest

_FROZEN = Path(__file__).parent / "data" / "public_api_0.1.json"
_NAMES = [
    (module, name)
    for module, names in json.loads(_FROZEN.read_text(encoding="utf-8")).items()
    for name in names
]


@pytest.mark.parametrize(("module", "name"), _NAMES, ids=[f"{m}.{n}" for m, n in _NAMES])
def test_every_name_of_the_previous_release_still_imports(module: str, name: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imported = importlib.import_module(module)
        assert hasattr(imported, name), f"{module}.{name} is gone"
    foreign = [w for w in caught if not issubclass(w.category, DeprecationWarning)]
    assert not foreign, [str(w.message) for w in foreign]


def test_the_frozen_list_is_not_empty() -> None:
    assert len(_NAMES) > 200
