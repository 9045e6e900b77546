"""`verify_catalogue` over rows of any shape: findings, never an exception."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from medinv.chain import GENESIS_HASH
from medinv.errors import InvalidValueError
from medinv.ports import LedgerHead
from medinv.verification import (
    CatalogueHeadMismatch,
    CatalogueVersionMissing,
    CatalogueVersionOrder,
    CorruptRecord,
    LookupMismatch,
    PackageDINotHeld,
    catalogue_hash,
    verify_catalogue,
)

JAN = "2026-01-01T00:00:00.000000+00:00"


class _Source:
    def __init__(self, rows: list[Any], lookups: list[Any], head: tuple[int, str]) -> None:
        self.rows, self.lookups, self.head = rows, lookups, head

    def catalogue_head(self) -> tuple[int, str]:
        return self.head

    def catalogue_rows(self) -> Iterator[Any]:
        return iter(self.rows)

    def lookup_rows(self) -> Iterator[Any]:
        return iter(self.lookups)


class _Catalogue:
    def __init__(self, source: _Source) -> None:
        self._source = source

    def verification_source(self) -> _Source:
        return self._source


def _chain(versions: list[tuple[str, str, str, str]]) -> tuple[list[Any], tuple[int, str]]:
    rows, prev = [], GENESIS_HASH
    for seq, (kind, key, moment, data) in enumerate(versions, start=1):
        digest = catalogue_hash(prev, kind, data)
        rows.append((seq, kind, key, moment, data, prev, digest))
        prev = digest
    return rows, (len(rows), prev)


def _product(primary: str, packages: list[tuple[str, str]]) -> str:
    value = {
        "primary_di": primary,
        "packages": [{"di": d, "contains": c, "quantity": 2} for d, c in packages],
    }
    return json.dumps({"format": 1, "valid_from": JAN, "value": value})


def test_a_catalogue_without_a_source_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="offers no catalogue verification source"):
        verify_catalogue(object())


def test_rows_of_any_shape_are_reported_not_raised() -> None:
    good, _ = _chain([("product", "GS1:A", JAN, _product("GS1:A", []))])
    rows = [
        ("too", "short"),
        ("1", "product", "GS1:A", JAN, "{}", GENESIS_HASH, "x"),
        *good,
        (2, "party", "SUPPLIER:X", JAN, "not json", good[0][6], "y"),
    ]
    report = verify_catalogue(_Catalogue(_Source(rows, [("di",)], (2, "y"))))
    kinds = [type(f) for f in report.findings]
    assert kinds.count(CorruptRecord) == 4  # two rows, one JSON, one lookup
    assert report.versions_checked == 4
    for finding in report.findings:
        assert finding.description


def test_a_head_behind_the_rows_and_a_repeated_sequence_number() -> None:
    rows, (_, last) = _chain(
        [
            ("location", "A", JAN, json.dumps({"format": 1, "valid_from": JAN, "value": {"path": ["A"]}})),
            ("party", "SITE:S", JAN, json.dumps({"format": 1, "valid_from": JAN, "value": {"kind": "SITE", "id": "S", "gln": None}})),
        ]
    )  # fmt: skip
    repeated = (1, *rows[1][1:])
    report = verify_catalogue(_Catalogue(_Source([*rows, repeated], [], (1, last))))
    kinds = {type(f) for f in report.findings}
    assert CatalogueVersionOrder in kinds
    assert CatalogueHeadMismatch in kinds
    head = next(f for f in report.findings if isinstance(f, CatalogueHeadMismatch))
    assert head.stored == LedgerHead(1, last)


def test_packages_lookups_and_a_missing_tail() -> None:
    rows, head = _chain(
        [
            ("product", "GS1:A", JAN, _product("GS1:A", [("GS1:B", "GS1:Z")])),
            ("product", "GS1:Z", JAN, _product("GS1:Z", [])),
        ]
    )
    lookups = [("di", "GS1:A", "GS1:A"), ("di", "GS1:Z", "GS1:A"), ("di", "GS1:Q", "GS1:A")]
    report = verify_catalogue(_Catalogue(_Source(rows, lookups, (head[0] + 2, head[1]))))
    assert CatalogueVersionMissing(expected=3, found=5) in report.findings
    [package] = [f for f in report.findings if isinstance(f, PackageDINotHeld)]
    assert package.held_by == "GS1:Z"
    assert "product GS1:Z holds" in package.description
    mismatches = {
        (f.name, f.stored, f.expected) for f in report.findings if isinstance(f, LookupMismatch)
    }
    assert mismatches == {
        ("GS1:B", None, "GS1:A"),
        ("GS1:Z", "GS1:A", "GS1:Z"),
        ("GS1:Q", "GS1:A", None),
    }
