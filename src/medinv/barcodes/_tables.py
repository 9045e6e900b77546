"""GS1 tables, built once at import time.

* The Application Identifier table (codes, formats, patterns, whether a separator
  is required) is derived from biip's bundled AI data: it is not re-typed here.
* The Digital Link primary keys and their key qualifiers (in path order) are
  derived from biip's Digital Link table.
* The per-AI date rules, check-digit positions and the Barcode Syntax Dictionary's
  mandatory associations (``req``) and invalid pairs (``ex``) are data tables
  below, each row citing what the GS1 Barcode Syntax Dictionary says.
"""

from __future__ import annotations

import enum
import re
import re._parser as sre_parser  # type: ignore[import-not-found]  # stdlib regex parser, no stub
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

# biip's AI table and Digital Link key table are private data of biip; the
# version range is pinned in pyproject.toml and tests/unit/test_barcode_tables.py
# checks the shape we rely on.
from biip.gs1_application_identifiers import _GS1_APPLICATION_IDENTIFIERS
from biip.gs1_digital_link_uris import _PRIMARY_IDENTIFIERS

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

# GS1 Barcode Syntax Dictionary "csum" linter: (first, last) digit positions of the
# mod-10 checked number inside the AI's data (last is the check digit, exclusive end).
_CHECK_DIGITS: Final[Mapping[str, tuple[int, int]]] = {
    "00": (0, 18),  # SSCC  N18,csum
    "01": (0, 14),  # GTIN  N14,csum
    "02": (0, 14),  # CONTENT  N14,csum
    "03": (0, 14),  # MTO GTIN  N14,csum
    "253": (0, 13),  # GDTI  N13,csum [X..17]
    "255": (0, 13),  # GCN  N13,csum [N..12]
    "402": (0, 17),  # GSIN  N17,csum
    "410": (0, 13),  # SHIP TO LOC  N13,csum
    "411": (0, 13),  # BILL TO
    "412": (0, 13),  # PURCHASE FROM
    "413": (0, 13),  # SHIP FOR LOC
    "414": (0, 13),  # LOC No.
    "415": (0, 13),  # PAY TO
    "416": (0, 13),  # PROD/SERV LOC
    "417": (0, 13),  # PARTY
    "8003": (1, 14),  # GRAI  N1,zero N13,csum [X..16]
    "8006": (0, 14),  # ITIP  N14,csum N4
    "8017": (0, 18),  # GSRN - PROVIDER  N18,csum
    "8018": (0, 18),  # GSRN - RECIPIENT  N18,csum
    "8026": (0, 14),  # ITIP CONTENT  N14,csum N4
}


@dataclass(frozen=True, slots=True)
class AiInfo:
    """One GS1 Application Identifier, as medinv checks it."""

    code: str
    """The AI, e.g. ``"17"``."""
    title: str
    """biip's description, e.g. ``"Expiration date (YYMMDD)"``."""
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
    """biip's pattern for the data, anchored, ASCII-only."""
    check: tuple[int, int] | None
    """Digit span covered by a GS1 mod-10 check digit, or ``None``."""
    date_rule: DateRule | None
    """Date rule for date AIs, or ``None``."""

    def label(self) -> str:
        """``AI (17) USE BY or EXPIRY``: how messages name the AI."""
        return f"AI ({self.code}) {self.data_title}"


_COMPONENT = re.compile(r"\[?([NXYZ])(\d*)(\.\.)?(?:[NXYZ]?(\d+))?\]?|\[-\]")


def _lengths(fmt: str) -> tuple[int, int]:
    """Minimum and maximum data length of a biip format such as ``N13[+X..17]``."""
    low = high = 0
    for raw in fmt.replace("[+", "+[").split("+"):
        part = raw.strip()
        optional = part.startswith("[")
        match = _COMPONENT.fullmatch(part)
        if match is None or part == "[-]":
            high += 1
            continue
        _, first, dots, last = match.groups()
        if dots:
            size = int(last or first)
            low_part = int(first) if first and last else 1
        else:
            size = int(first)
            low_part = size
        high += size
        if not optional:
            low += low_part
    return low, high


def _pattern_width(pattern: re.Pattern[str]) -> tuple[int, int]:
    """Fewest and most characters a pattern matches (from the stdlib's regex parser)."""
    low, high = sre_parser.parse(pattern.pattern, pattern.flags).getwidth()
    return int(low), int(high)


def _build_ai_table() -> dict[str, AiInfo]:
    table: dict[str, AiInfo] = {}
    for code, entry in _GS1_APPLICATION_IDENTIFIERS.items():
        fmt = entry.format.split("+", 1)[1]
        _, high = _lengths(fmt)
        body = entry.pattern
        if not (body.startswith("^" + code) and body.endswith("$")):  # pragma: no cover
            msg = f"biip's pattern for AI {code} has an unexpected shape: {body!r}"
            raise RuntimeError(msg)
        pattern = re.compile(body[1 + len(code) : -1], re.ASCII)
        # The least data the pattern admits, but never empty (biip lets AI 30 and 7004
        # match no digits at all; the Syntax Dictionary says N..8 and N..4, at least one).
        low = max(1, _pattern_width(pattern)[0])
        single_match = re.fullmatch(r"([NXYZ])(\.\.)?\d+", fmt)
        single = single_match.group(1) if single_match else ""
        digits_only = int(fmt[1:]) if single == "N" and single_match and ".." not in fmt else 0
        table[code] = AiInfo(
            code=code,
            title=entry.description,
            data_title=entry.data_title,
            fmt=fmt,
            fixed=not entry.separator_required,
            min_len=low,
            max_len=high,
            digits_only=digits_only,
            single=single,
            pattern=pattern,
            check=_CHECK_DIGITS.get(code),
            date_rule=_DATE_RULES.get(code),
        )
    return table


AI_TABLE: Final[Mapping[str, AiInfo]] = MappingProxyType(_build_ai_table())
"""Every GS1 AI biip knows, by code."""


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
    """AIs (or families such as ``310n``) that must not appear with this AI."""


# The GS1 Barcode Syntax Dictionary's mandatory associations and invalid pairs for the
# AIs that medical-device and logistics labels carry. One row per AI or AI range:
#   AIs        req (space-separated attributes; ',' alternatives; '+' all of)   ex
# "-" means none; in ex, "Nnnn" with a trailing "n" is a family of AIs (any last digit).
# AIs absent from this table are checked for format, check digit and dates only.
_ASSOCIATION_ROWS: Final = """
00          -                               -
01          -                               255,37
02          37                              01,03
03          -                               01,02,37,235
10          01,02,03,8006,8026              -
11          01,02,03,8006,8026              -
12          8020                            -
13          01,02,03,8006,8026              -
15          01,02,03,8006,8026              -
16          01,02,03,8006,8026              -
17          01,02,03,255,8006,8026          -
20          01,02,03,8006,8026              -
21          01,03,8006                      235
22          01                              -
235         01                              -
240         01,02,03,8006,8026              -
241         01,02,03,8006,8026              -
242         01,02,8006,8026                 -
243         01,03                           -
250         01+21,03+21,8006+21             -
251         01,03,8006                      -
254         414                             -
255         -                               01,02,415,8006,8020,8026
30          01,02                           -
3100-3295   01,02                           *n
3300-3365   00,01                           *n
3370-3375   01                              *n
3400-3495   00,01                           *n
3500-3525   01,02                           *n
3530-3555   00,01                           *n
3560-3575   01,02                           *n
3600-3615   01,02                           *n
3620-3635   00,01                           *n
3640-3665   01,02                           *n
3670-3695   00,01                           *n
37          00+02,00+8026                   -
403         00                              -
422         01,02,03,8006,8026              426
423         01,02,03                        426
424         01,02,03                        426
425         01,02,03                        426
426         01,02,03                        -
7001        01,02,8006,8026                 -
7002        01,02                           -
7003        01,02,03                        -
7004        01+10,03+10                     -
7005        01,02                           -
7006        01,02                           -
7007        01,02                           -
7010        01,02,03                        -
7011        01,02,03                        -
710-717     01                              -
7240        01,8006                         03
8005        01,02                           -
8006        -                               01,03,37
8008        01,02,03                        -
8009        00,01,03                        -
8012        01,03,8006                      -
8017        -                               8018
8018        -                               8017
8019        8017,8018                       -
8020        415                             -
8026        37                              02,03,8006
8200        01                              -
"""


def _expand(ais: str) -> list[str]:
    if "-" not in ais:
        return [ais]
    first, last = ais.split("-")
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def _build_associations() -> dict[str, Association]:
    table: dict[str, Association] = {}
    for line in _ASSOCIATION_ROWS.strip().splitlines():
        ais, req, ex = line.split()
        requires = (
            () if req == "-" else (tuple(tuple(group.split("+")) for group in req.split(",")),)
        )
        for ai in _expand(ais):
            if ai not in AI_TABLE:
                continue
            excludes = () if ex == "-" else tuple(ex.replace("*n", ai[:3] + "n").split(","))
            table[ai] = Association(requires=requires, excludes=excludes)
    return table


ASSOCIATIONS: Final[Mapping[str, Association]] = MappingProxyType(_build_associations())
"""Mandatory associations and invalid pairs, by AI."""


# --------------------------------------------------------------------------- Digital Link


@dataclass(frozen=True, slots=True)
class DlKey:
    """A GS1 Digital Link primary key and its key qualifiers, in path order."""

    ai: str
    """The primary key's AI."""
    pad_to: int | None
    """Zero-pad the key's value to this width (GTIN-8/12/13 to GTIN-14)."""
    qualifiers: tuple[str, ...]
    """Key qualifiers allowed in the path, in the order the standard fixes."""


DL_KEYS: Final[Mapping[str, DlKey]] = MappingProxyType(
    {
        component.ai.ai: DlKey(
            ai=component.ai.ai,
            pad_to=component.zfill_to_width,
            qualifiers=tuple(q.ai.ai for q in component.qualifiers),
        )
        for component in _PRIMARY_IDENTIFIERS
    }
)
"""Digital Link primary keys by AI (from biip's Digital Link table)."""
