"""GS1 tables, built once at import time from the GS1 Barcode Syntax Dictionary.

* The Application Identifier table (codes, formats, patterns, whether a separator
  is required, the linters of each component) is derived from the dictionary shipped
  as package data (``gs1_syntax.txt``, see ``_syntax.py``): it is not re-typed here.
* The Digital Link primary keys and their key-qualifier sequences are the
  dictionary's ``dlpkey`` attributes; the mandatory associations and invalid pairs
  its ``req`` and ``ex`` attributes.
* The date rules of the date AIs (how their values become dates) are a table below.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from medinv.barcodes._syntax import ENTRIES, LINTERS, Component, Entry

__all__ = [
    "AI_TABLE",
    "ASSOCIATIONS",
    "DL_KEYS",
    "AiInfo",
    "Association",
    "DateRule",
    "DlKey",
]


class DateRule(enum.Enum):
    """How an AI's date (and time) data is checked and converted."""

    YYMMD0 = "N6 yymmd0"
    """A date; day ``00`` means the last day of the month (AIs 11-17)."""
    YYMMDD = "N6 yymmdd"
    """A date; day ``00`` is not allowed."""
    YYMMDD_HHMI = "N6 yymmdd + N4 hhmi"
    """Date and time to the minute (AI 7003); day ``00`` not allowed."""
    YYMMDD_OPT_HHMI = "N6 yymmdd + [N4 hhmi]"
    """Date with an optional time (AI 7011)."""
    YYMMD0_HHMI_OR_9999 = "N6 yymmd0 + N4 hhmi (9999: no time)"
    """Delivery date-times (AIs 4324, 4325)."""
    YYMMDD_OPT_YYMMDD = "N6 yymmdd + [N6 yymmdd]"
    """A date or a date range (AI 7007)."""
    YYMMDD_HH_OPT_MI_SS = "N6 yymmdd + N2 hh + [N2 mi] + [N2 ss]"
    """Production date and time (AI 8008)."""


# GS1 Barcode Syntax Dictionary: the date linters of each date AI.
_DATE_RULES: Final[Mapping[str, DateRule]] = {
    "11": DateRule.YYMMD0,  # PROD DATE      N6,yymmd0
    "12": DateRule.YYMMD0,  # DUE DATE       N6,yymmd0
    "13": DateRule.YYMMD0,  # PACK DATE      N6,yymmd0
    "15": DateRule.YYMMD0,  # BEST BEFORE    N6,yymmd0
    "16": DateRule.YYMMD0,  # SELL BY        N6,yymmd0
    "17": DateRule.YYMMD0,  # USE BY/EXPIRY  N6,yymmd0
    "4324": DateRule.YYMMD0_HHMI_OR_9999,  # NOT BEF DEL DT  N6,yymmd0 N4,hhmi
    "4325": DateRule.YYMMD0_HHMI_OR_9999,  # NOT AFT DEL DT  N6,yymmd0 N4,hhmi
    "4326": DateRule.YYMMDD,  # REL DATE        N6,yymmdd
    "7003": DateRule.YYMMDD_HHMI,  # EXPIRY TIME    N6,yymmdd N4,hhmi
    "7006": DateRule.YYMMDD,  # FIRST FREEZE DATE  N6,yymmdd
    "7007": DateRule.YYMMDD_OPT_YYMMDD,  # HARVEST DATE  N6,yymmdd [N6],yymmdd
    "7011": DateRule.YYMMDD_OPT_HHMI,  # TEST BY DATE  N6,yymmdd [N4],hhmi
    "8008": DateRule.YYMMDD_HH_OPT_MI_SS,  # PROD TIME  N6,yymmdd N2,hh [N2],mi [N2],ss
}


@dataclass(frozen=True, slots=True)
class AiInfo:
    """One GS1 Application Identifier, as medinv checks it."""

    code: str
    """The AI, e.g. ``"17"``."""
    title: str
    """The Syntax Dictionary's title, e.g. ``"USE BY or EXPIRY"``."""
    data_title: str
    """The GS1 data title, e.g. ``"USE BY or EXPIRY"``."""
    fmt: str
    """The data format after the AI, e.g. ``"N6"`` or ``"X..20"``."""
    fixed: bool
    """A predefined-length AI: no FNC1 separator is needed after it."""
    min_len: int
    """Fewest data characters."""
    max_len: int
    """Most data characters."""
    digits_only: int
    """For a single fixed-length numeric field, its length (fast path); else 0."""
    single: str
    """For a single-component format, its character set letter (``N``, ``X``, ``Y``, ``Z``)."""
    pattern: re.Pattern[str]
    """The pattern of the data, built from the dictionary's components (ASCII only)."""
    check: tuple[int, int] | None
    """Digit span covered by a GS1 mod-10 check digit, or ``None``."""
    date_rule: DateRule | None
    """Date rule for date AIs, or ``None``."""
    lints: tuple[tuple[int, int, str], ...] = ()
    """Syntax Dictionary linters beyond format, check digit and date rule:
    ``(start, end, linter)`` of each checked component (``end`` -1: to the end)."""
    dl_attribute: bool = True
    """Permitted as a Digital Link data attribute (in the URI query)."""

    def label(self) -> str:
        """``AI (17) USE BY or EXPIRY``: how messages name the AI."""
        return f"AI ({self.code}) {self.data_title}"


_CHARSET_CLASS: Final = {
    "N": "[0-9]",
    "X": "[!\"%&'()*+,\\-./0-9:;<=>?A-Z_a-z]",
    "Y": "[#\\-/0-9A-Z]",
    "Z": "[\\-0-9A-Z_a-z]",
}
# The linters a date rule already applies (hh, mi and ss of AI 8008 stay linters).
_DATE_LINTERS: Final = frozenset({"yymmd0", "yymmdd", "hhmi"})


def _fmt(components: tuple[Component, ...]) -> str:
    parts = []
    for c in components:
        size = f"..{c.max_len}" if c.min_len != c.max_len else str(c.max_len)
        parts.append(f"[{c.charset}{size}]" if c.optional else f"{c.charset}{size}")
    return "+".join(parts)


def _pattern(components: tuple[Component, ...]) -> re.Pattern[str]:
    body, closing = "", ""
    for c in components:
        piece = f"{_CHARSET_CLASS[c.charset]}{{{c.min_len},{c.max_len}}}"
        if c.optional:
            body += "(?:" + piece
            closing += ")?"
        else:
            body += piece
    return re.compile(body + closing, re.ASCII)


def _check_and_lints(
    entry: Entry, date_rule: DateRule | None
) -> tuple[tuple[int, int] | None, tuple[tuple[int, int, str], ...]]:
    check: tuple[int, int] | None = None
    lints: list[tuple[int, int, str]] = []
    offset = 0
    for c in entry.components:
        end = offset + c.max_len if c.min_len == c.max_len else -1
        for name in c.linters:
            if name == "csum":
                check = (offset, end)
            elif name in LINTERS and not (date_rule is not None and name in _DATE_LINTERS):
                lints.append((offset, end, name))
        offset += c.max_len
    return check, tuple(lints)


def _build_ai_table() -> dict[str, AiInfo]:
    table: dict[str, AiInfo] = {}
    for code, entry in ENTRIES.items():
        components = entry.components
        fmt = _fmt(components)
        single = components[0].charset if len(components) == 1 else ""
        first = components[0]
        digits_only = (
            first.max_len
            if len(components) == 1 and single == "N" and first.min_len == first.max_len
            else 0
        )
        date_rule = _DATE_RULES.get(code)
        check, lints = _check_and_lints(entry, date_rule)
        table[code] = AiInfo(
            code=code,
            title=entry.title,
            data_title=entry.title,
            fmt=fmt,
            fixed=entry.fixed,
            min_len=sum(c.min_len for c in components if not c.optional),
            max_len=sum(c.max_len for c in components),
            digits_only=digits_only,
            single=single,
            pattern=_pattern(components),
            check=check,
            date_rule=date_rule,
            lints=lints,
            dl_attribute=entry.dl_attribute,
        )
    return table


AI_TABLE: Final[Mapping[str, AiInfo]] = MappingProxyType(_build_ai_table())
"""Every GS1 AI of the Syntax Dictionary, by code."""


# --------------------------------------------------------------------------- associations


@dataclass(frozen=True, slots=True)
class Association:
    """The Barcode Syntax Dictionary's ``req`` and ``ex`` attributes of one AI."""

    requires: tuple[tuple[tuple[str, ...], ...], ...]
    """Each ``req`` attribute: alternatives, each a group of AIs that must all be present.

    ``req=01,02`` is ``((("01",), ("02",)),)``; ``req=01+21,03+21`` is
    ``((("01", "21"), ("03", "21")),)``. Every attribute must be satisfied.
    """
    excludes: tuple[str, ...]
    """AIs (or patterns such as ``310n``, ``n`` any digit) that must not appear with this AI."""


def _build_associations() -> dict[str, Association]:
    return {
        code: Association(requires=entry.requires, excludes=entry.excludes)
        for code, entry in ENTRIES.items()
        if entry.requires or entry.excludes
    }


ASSOCIATIONS: Final[Mapping[str, Association]] = MappingProxyType(_build_associations())
"""Mandatory associations and invalid pairs, by AI."""


# --------------------------------------------------------------------------- Digital Link


@dataclass(frozen=True, slots=True)
class DlKey:
    """A GS1 Digital Link primary key and its key qualifiers, in path order."""

    ai: str
    """The primary key's AI."""
    pad_to: int | None
    """Zero-pad the key's value to this width (GTIN-8/12/13 to GTIN-14), lenient mode only."""
    qualifiers: tuple[str, ...]
    """Every key qualifier allowed in the path (all sequences, in order)."""
    sequences: tuple[tuple[str, ...], ...] = ()
    """The alternative qualifier sequences: a path follows one of them, in order."""


DL_KEYS: Final[Mapping[str, DlKey]] = MappingProxyType(
    {
        code: DlKey(
            ai=code,
            pad_to=14 if code == "01" else None,
            qualifiers=tuple(dict.fromkeys(q for seq in entry.dl_key for q in seq)),
            sequences=entry.dl_key,
        )
        for code, entry in ENTRIES.items()
        if entry.dl_key is not None
    }
)
"""Digital Link primary keys by AI (the dictionary's ``dlpkey`` attributes)."""
