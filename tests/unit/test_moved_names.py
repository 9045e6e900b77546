"""Names that moved keep their old import path for one minor release, with a warning."""

from __future__ import annotations

import importlib

import pytest

import medinv.services

MOVED = [
    ("medinv.allocation", "allocate_and_post"),
    ("medinv.allocation", "index_from_ledger"),
    ("medinv.allocation", "plan_movements"),
    ("medinv.allocation", "post_plan"),
    ("medinv.allocation", "sync_index"),
    ("medinv.stocktake", "StocktakeService"),
    ("medinv.stocktake", "BookAtStart"),
]


@pytest.mark.parametrize(("old", "name"), MOVED)
def test_the_old_path_warns_and_gives_the_same_object(old: str, name: str) -> None:
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=rf"{old}\.{name} moved to medinv\.services"):
        value = getattr(module, name)
    assert value is getattr(medinv.services, name)


@pytest.mark.parametrize(("old", "name"), MOVED)
def test_from_import_through_the_old_path_warns(old: str, name: str) -> None:
    with pytest.warns(DeprecationWarning, match="moved to medinv.services"):
        exec(f"from {old} import {name}", {})  # noqa: S102  (the statement a user writes)


@pytest.mark.parametrize("old", ["medinv.allocation", "medinv.stocktake"])
def test_an_unknown_name_is_still_an_attribute_error(old: str) -> None:
    module = importlib.import_module(old)
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018


def test_moved_names_are_not_in_the_old_all() -> None:
    for old, name in MOVED:
        module = importlib.import_module(old)
        assert name not in module.__all__
        assert name in medinv.services.__all__


def test_discrepancy_is_now_finding() -> None:
    import medinv.ledger  # noqa: PLC0415  (the old path under test)
    from medinv.verification import Finding  # noqa: PLC0415

    with pytest.warns(DeprecationWarning, match=r"medinv\.ledger\.Discrepancy moved to .*Finding"):
        assert medinv.ledger.Discrepancy is Finding


def test_a_verify_report_still_answers_to_discrepancies() -> None:
    from medinv.adapters.memory import MemoryStore  # noqa: PLC0415
    from medinv.ledger import Ledger  # noqa: PLC0415

    report = Ledger(MemoryStore()).verify()
    with pytest.warns(DeprecationWarning, match=r"VerifyReport\.discrepancies is now"):
        assert report.discrepancies == report.findings == ()
