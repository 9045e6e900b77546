"""GS1 element strings, human-readable ``(AI)`` text and Digital Link URIs.

Each reader turns its carrier into a list of elements ``(AI, value, offset)``;
``check_message`` applies the message-level rules (repeats, mandatory
associations, invalid pairs) and ``build_scan`` turns the elements into a
``Scan``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple
from urllib.parse import unquote

import pendulum
from stdnum import ean

from medinv.barcodes._scan import Agency, Carrier, Scan
from medinv.barcodes._syntax import LINTERS
from medinv.barcodes._tables import AI_TABLE, ASSOCIATIONS, DL_KEYS, AiInfo, DateRule, DlKey
from medinv.dates import DatePrecision

GS: Final = "\x1d"
_MAX_SEARCH_STEPS: Final = 20_000


class Problem(Exception):  # noqa: N818  (internal signal, never escapes parse_scan)
    """Why a reading is invalid. ``lint`` problems are warnings in lenient mode."""

    def __init__(
        self, message: str, *, offset: int | None, ai: str | None, lint: bool = False
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.ai = ai
        self.lint = lint


class Element(NamedTuple):
    """One AI and its data, with the data's offset in the parsed text."""

    info: AiInfo
    value: str
    offset: int


_BY_LENGTH: Final = {
    size: {code: info for code, info in AI_TABLE.items() if len(code) == size} for size in (2, 3, 4)
}
_AI2: Final = _BY_LENGTH[2]
_AI3: Final = _BY_LENGTH[3]
_AI4: Final = _BY_LENGTH[4]
_CHARSET_NAMES: Final = {
    "N": "digits",
    "X": "GS1 character set 82",
    "Y": "GS1 character set 39",
    "Z": "GS1 character set 64 (base64url)",
}
_CHARSETS: Final = {
    "N": frozenset("0123456789"),
    "X": frozenset(
        "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    ),
    "Y": frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    "Z": frozenset("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"),
}


def lookup_ai(text: str, pos: int) -> AiInfo | None:
    """The AI that starts at ``pos`` (AIs are prefix-free: try 2, 3 then 4 digits)."""
    two, three, four = pos + 2, pos + 3, pos + 4
    return _AI2.get(text[pos:two]) or _AI3.get(text[pos:three]) or _AI4.get(text[pos:four])


# --------------------------------------------------------------------------- element rules


@functools.lru_cache(maxsize=8192)
def _check_digit_ok(number: str) -> str | None:
    """``None`` when the mod-10 check digit is right, else the expected digit."""
    expected = ean.calc_check_digit(number[:-1])
    return None if expected == number[-1] else expected


def _describe_mismatch(info: AiInfo, value: str) -> str:
    """Say why ``value`` does not fit ``info``'s format, as precisely as the format allows."""
    if not value:
        return f"{info.label()} has no data; expected {info.fmt}"
    if info.single:
        allowed = _CHARSETS[info.single]
        for index, char in enumerate(value):
            if char not in allowed:
                return (
                    f"{info.label()} contains {char!r} at data position {index + 1}, "
                    f"which is not in {_CHARSET_NAMES[info.single]}"
                )
    if len(value) < info.min_len or len(value) > info.max_len:
        want = (
            f"exactly {info.max_len}"
            if info.min_len == info.max_len
            else f"{info.min_len} to {info.max_len}"
        )
        return f"{info.label()} needs {want} characters ({info.fmt}), got {len(value)}"
    return f"{info.label()} data {value!r} does not match the format {info.fmt}"


def element_valid(info: AiInfo, value: str) -> bool:
    """Whether one element passes its format, check digit and date rules (no message)."""
    n = info.digits_only
    if n:
        if len(value) != n or not (value.isdigit() and value.isascii()):
            return False
    elif not info.min_len <= len(value) <= info.max_len or info.pattern.fullmatch(value) is None:
        return False
    check = info.check
    if check is not None and _check_digit_ok(value[check[0] : check[1]]) is not None:
        return False
    if info.date_rule is not None and _date_reason(info.date_rule, value) is not None:
        return False
    return not info.lints or _lint_reason(info, value) is None


def _lint_reason(info: AiInfo, value: str) -> tuple[int, str] | None:
    """The first Syntax Dictionary linter that refuses ``value``: (position, reason)."""
    for start, end, name in info.lints:
        if start >= len(value):  # an optional component that is absent
            continue
        part = value[start:] if end < 0 else value[start:end]
        reason = LINTERS[name](part)
        if reason is not None:
            return start, f"{reason} ({name})"
    return None


def check_element(info: AiInfo, value: str, offset: int) -> None:
    """Format, check digit and date rules of one element.

    Raises:
        Problem: the element is invalid; the message says why.
    """
    if element_valid(info, value):
        return
    n = info.digits_only
    if (n and (len(value) != n or not (value.isdigit() and value.isascii()))) or (
        not n
        and (
            not info.min_len <= len(value) <= info.max_len or info.pattern.fullmatch(value) is None
        )
    ):
        raise Problem(_describe_mismatch(info, value), offset=offset, ai=info.code)
    if info.check is not None:
        start, end = info.check
        expected = _check_digit_ok(value[start:end])
        if expected is not None:
            raise Problem(
                f"{info.label()} {value[start:end]} has a wrong check digit: "
                f"it should be {expected}, not {value[end - 1]} (misprint or misread; rescan)",
                offset=offset + end - 1,
                ai=info.code,
            )
    rule = info.date_rule
    if rule is not None and _date_reason(rule, value) is not None:
        raise Problem(
            f"{info.label()} {value!r} is not a valid date ({rule.value}): "
            f"{_date_reason(rule, value)}",
            offset=offset,
            ai=info.code,
        )
    found = _lint_reason(info, value)
    if found is not None:
        position, reason = found
        raise Problem(
            f"{info.label()} data {value!r}: {reason} (GS1 Syntax Dictionary)",
            offset=offset + position,
            ai=info.code,
        )


@functools.lru_cache(maxsize=8192)
def _valid_ymd(value: str, *, day_zero: bool) -> str | None:
    """``None`` when ``YYMMDD`` is a real date (day 00 only if allowed), else the reason."""
    month, day = int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:  # noqa: PLR2004
        return f"month {value[2:4]} does not exist"
    if day == 0:
        return None if day_zero else "day 00 (end of month) is not allowed for this AI"
    if day > _days_in_month(int(value[0:2]), month):
        return f"day {value[4:6]} does not exist in month {value[2:4]}"
    return None


def _days_in_month(yy: int, month: int) -> int:
    if month == 2:  # noqa: PLR2004
        # Any YY resolves within 49 years back / 50 ahead, i.e. 19xx-21xx: 2000 is a
        # leap year and 1900/2100 are not; accept 29 for YY=00 (2000) and let the
        # century resolution refuse it for 2100 (see resolve_date).
        return 29 if yy % 4 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _valid_hhmi(value: str) -> str | None:
    hour, minute = int(value[0:2]), int(value[2:4])
    if hour > 23 or minute > 59:  # noqa: PLR2004
        return f"time {value[0:2]}:{value[2:4]} does not exist"
    return None


def _date_reason(rule: DateRule, value: str) -> str | None:  # noqa: PLR0911  (one per rule)
    """``None`` when the date (and time) data is valid for ``rule``, else the reason."""
    if rule is DateRule.YYMMD0:
        return _valid_ymd(value, day_zero=True)
    if rule is DateRule.YYMMDD:
        return _valid_ymd(value[:6], day_zero=False)
    if rule is DateRule.YYMMDD_HHMI:
        return _valid_ymd(value[:6], day_zero=False) or _valid_hhmi(value[6:10])
    if rule is DateRule.YYMMD0_HHMI_OR_9999:
        return _valid_ymd(value[:6], day_zero=True) or (
            None if value[6:10] == "9999" else _valid_hhmi(value[6:10])
        )
    if rule is DateRule.YYMMDD_OPT_HHMI:
        return _valid_ymd(value[:6], day_zero=False) or (
            _valid_hhmi(value[6:10]) if len(value) > 6 else None  # noqa: PLR2004
        )
    if rule is DateRule.YYMMDD_OPT_YYMMDD:
        return _valid_ymd(value[:6], day_zero=False) or (
            _valid_ymd(value[6:12], day_zero=False) if len(value) > 6 else None  # noqa: PLR2004
        )
    # YYMMDD_HH_OPT_MI_SS: the hh, mi and ss linters bound the hour, minutes and seconds.
    return _valid_ymd(value[:6], day_zero=False)


# --------------------------------------------------------------------------- message rules


def _matches(pattern: str, code: str) -> bool:
    """Whether AI ``code`` is ``pattern`` (an AI, or a pattern where ``n`` is any digit)."""
    if "n" not in pattern:
        return pattern == code
    return len(pattern) == len(code) and all(
        p == c or (p == "n" and "0" <= c <= "9") for p, c in zip(pattern, code, strict=True)
    )


def _clash(codes: tuple[str, ...], code: str, other: str) -> str | None:
    """The AI among ``codes`` that ``other`` names (an AI is not exclusive of itself)."""
    if "n" not in other:
        return other if other != code and other in codes else None
    return next((c for c in codes if c != code and _matches(other, c)), None)


def _present(codes: tuple[str, ...], pattern: str) -> bool:
    return pattern in codes if "n" not in pattern else any(_matches(pattern, c) for c in codes)


@functools.lru_cache(maxsize=4096)
def _associations(
    codes: tuple[str, ...],
) -> tuple[tuple[str, str] | None, tuple[tuple[str, str], ...]]:
    """Association verdict for a set of AIs (it depends on which AIs are present only).

    Returns:
        ``(code, clashing AI)`` of the first invalid pair or ``None``, and
        ``(code, wanted)`` for each unmet mandatory association.
    """
    unmet: list[tuple[str, str]] = []
    for code in codes:
        rule = ASSOCIATIONS.get(code)
        if rule is None:
            continue
        for other in rule.excludes:
            clash = _clash(codes, code, other)
            if clash is not None:
                return (code, clash), ()
        for alternatives in rule.requires:
            if not any(all(_present(codes, a) for a in group) for group in alternatives):
                wanted = " or ".join("+".join(f"({a})" for a in group) for group in alternatives)
                unmet.append((code, wanted))
    return None, tuple(unmet)


def check_message(elements: Sequence[Element]) -> tuple[dict[str, Element], list[Problem]]:
    """Repeated AIs, invalid pairs (hard) and mandatory associations (lint).

    Returns:
        The elements by AI (first occurrence kept) and the lint problems.

    Raises:
        Problem: an AI repeats with a different value, or two AIs must not appear together.
    """
    by_ai: dict[str, Element] = {}
    for element in elements:
        code = element.info.code
        seen = by_ai.get(code)
        if seen is None:
            by_ai[code] = element
        elif seen.value != element.value:
            raise Problem(
                f"{element.info.label()} appears twice with different values, "
                f"{seen.value!r} and {element.value!r}; the label is inconsistent",
                offset=element.offset,
                ai=code,
            )
    clash, unmet = _associations(tuple(by_ai))
    if clash is not None:
        element = by_ai[clash[0]]
        raise Problem(
            f"{element.info.label()} must not appear together with AI ({clash[1]}) "
            "in one scan (GS1 invalid AI pair)",
            offset=element.offset,
            ai=clash[0],
        )
    if not unmet:
        return by_ai, []
    return by_ai, [
        Problem(
            f"{by_ai[code].info.label()} requires AI {wanted} in the same scan "
            "(GS1 mandatory association)",
            offset=by_ai[code].offset,
            ai=code,
            lint=True,
        )
        for code, wanted in unmet
    ]


# --------------------------------------------------------------------------- element strings


def _skip_separators(data: str, pos: int, lints: list[Problem] | None) -> int:
    """Skip the separators at ``pos``; report doubled ones as lint.

    One separator after the last element is tolerated, as the GS1 Barcode Syntax
    Engine tolerates it (scanners and label printers emit it); two or more in a row,
    anywhere, are lint.
    """
    n = len(data)
    first = pos
    while pos < n and data[pos] == GS:
        pos += 1
    if lints is not None and pos - first > 1:
        lints.append(
            Problem(
                "superfluous FNC1 separators"
                + (" at the end of the scan" if pos == n else " between elements"),
                offset=first,
                ai=None,
                lint=True,
            )
        )
    return pos


def separator_lints(data: str) -> list[Problem]:
    """The superfluous separators of a scan (two or more in a row), as lint."""
    lints: list[Problem] = []
    pos = data.find(GS + GS)
    while pos >= 0:
        end = _skip_separators(data, pos, lints)
        pos = data.find(GS + GS, end)
    return lints


def _unknown_ai(data: str, pos: int) -> Problem:
    head = data[pos : pos + 4]
    if not head[:2].isdigit() or not head[:2].isascii():
        return Problem(
            f"expected a GS1 Application Identifier (digits) at offset {{offset}}, "
            f"found {data[pos : pos + 8]!r}",
            offset=pos,
            ai=None,
        )
    return Problem(
        f"unknown GS1 Application Identifier at offset {{offset}} ({head!r}...)",
        offset=pos,
        ai=None,
    )


def read_greedy(data: str) -> tuple[list[Element], list[Problem]]:
    """Read element strings the standard way: variable-length data runs to FNC1 or the end.

    Raises:
        Problem: an element is invalid.
    """
    elements: list[Element] = []
    lints: list[Problem] = []
    n = len(data)
    pos = 0
    while pos < n:
        info = _AI2.get(data[pos : pos + 2]) or lookup_ai(data, pos)
        if info is None:
            raise _unknown_ai(data, pos)
        start = pos + len(info.code)
        if info.fixed:
            end = start + info.max_len
            if end > n:
                raise Problem(
                    _describe_mismatch(info, data[start:n]) + " (the scan ends early)",
                    offset=start,
                    ai=info.code,
                )
        else:
            end = data.find(GS, start)
            if end < 0:
                end = n
        value = data[start:end]
        check_element(info, value, start)
        elements.append(Element(info, value, start))
        pos = end
        if pos < n and data[pos] == GS:
            pos = _skip_separators(data, pos, lints)
    return elements, lints


def _ends(info: AiInfo, data: str, start: int) -> range:
    """Where the element of ``info`` whose data starts at ``start`` may end."""
    n = len(data)
    if info.fixed:
        end = start + info.max_len
        return range(end, end + 1) if end <= n else range(0)
    stop = data.find(GS, start)
    stop = n if stop < 0 else stop
    return range(start + max(info.min_len, 1), min(start + info.max_len, stop) + 1)


def _conflicts(elements: list[Element], code: str, value: str) -> bool:
    """Whether adding ``code`` = ``value`` makes every longer reading invalid too.

    A repeat with another value, or an invalid pair, stays invalid whatever follows
    (only a missing mandatory association can be made good later).
    """
    rule = ASSOCIATIONS.get(code)
    for element in elements:
        other = element.info.code
        if other == code:
            if element.value != value:
                return True
            continue
        if rule is not None and any(_matches(ex, other) for ex in rule.excludes):
            return True
        other_rule = ASSOCIATIONS.get(other)
        if other_rule is not None and any(_matches(ex, code) for ex in other_rule.excludes):
            return True
    return False


class _Frame:
    """One element being tried by ``search_splits``."""

    __slots__ = ("at", "ends", "info", "reached", "start")

    def __init__(self, info: AiInfo, at: int, start: int, ends: Iterator[int]) -> None:
        self.info = info
        self.at = at  # where the AI starts
        self.start = start  # where its data starts
        self.ends = ends
        self.reached = False  # a reading below it got to the end, or one was pruned


def search_splits(data: str, limit: int = 2) -> list[list[Element]]:  # noqa: C901, PLR0912, PLR0915  (one explicit-stack walk)
    """Every reading in which all elements and associations are valid (up to ``limit``).

    A variable-length field may end anywhere before its FNC1 (or the end of the scan):
    this is how a scan whose scanner dropped a separator is recovered. The search is a
    depth-first walk with an explicit stack (no recursion, whatever the input's length),
    remembers the positions from which no reading reaches the end of the scan (each is
    explored once), and takes a bounded number of steps.

    Raises:
        Problem: the search is too large to decide (pathological input).
    """
    found: list[list[Element]] = []
    steps = 0
    n = len(data)
    elements: list[Element] = []
    dead: set[int] = set()  # positions from which no element sequence reaches the end
    stack: list[_Frame] = []
    pos = 0
    while True:
        # Descend: open a frame for the element at ``pos``, or record a full reading.
        pos = _skip_separators(data, pos, None)
        if pos >= n:
            if stack:
                stack[-1].reached = True
            try:
                _, lints = check_message(elements)
            except Problem:
                lints = [Problem("", offset=None, ai=None)]
            if not lints:
                found.append(list(elements))
                if len(found) >= limit:
                    return found
        elif pos not in dead:
            info = lookup_ai(data, pos)
            if info is None:
                dead.add(pos)
            else:
                begin = pos + len(info.code)
                stack.append(_Frame(info, pos, begin, iter(_ends(info, data, begin))))
        # Advance: the next valid end of the innermost open element, else backtrack.
        while stack:
            frame = stack[-1]
            advanced = False
            for end in frame.ends:
                steps += 1
                if steps > _MAX_SEARCH_STEPS:
                    raise Problem(
                        "the scan has too many possible readings to recover missing "
                        "FNC1 separators",
                        offset=None,
                        ai=None,
                    )
                if end < n and _skip_separators(data, end, None) in dead:
                    continue
                value = data[frame.start : end]
                if element_valid(frame.info, value):
                    if len(elements) >= len(stack):
                        elements.pop()
                    if _conflicts(elements, frame.info.code, value):
                        frame.reached = True  # pruned for this prefix: not a dead position
                        continue
                    elements.append(Element(frame.info, value, frame.start))
                    pos = end
                    advanced = True
                    break
            if advanced:
                break
            stack.pop()
            if frame.reached:
                if stack:
                    stack[-1].reached = True
            else:
                dead.add(frame.at)
            if len(elements) > len(stack):
                elements.pop()
        else:
            return found


# --------------------------------------------------------------------------- human-readable

# An "(AI)" not escaped as "\(" (the reference's bracketed syntax writes a literal
# "(" in data as "\(").
_HRI_AI: Final = re.compile(r"(?<!\\)\((\d{2,4})\)")


def read_hri(text: str) -> list[Element]:
    """Read ``(01)09501101530003(17)260101(10)AB1`` (spaces around elements ignored).

    Raises:
        Problem: an AI is unknown or an element is invalid.
    """
    marks = [m for m in _HRI_AI.finditer(text) if m.group(1) in AI_TABLE]
    if not marks or marks[0].start() != len(text) - len(text.lstrip(" ")):
        match = _HRI_AI.match(text.lstrip(" "))
        if match is not None:
            raise Problem(
                f"unknown GS1 Application Identifier ({match.group(1)}) at offset {{offset}}",
                offset=len(text) - len(text.lstrip(" ")),
                ai=None,
            )
        raise Problem(
            "expected '(AI)data' at offset {offset}",
            offset=len(text) - len(text.lstrip(" ")),
            ai=None,
        )
    elements: list[Element] = []
    for index, mark in enumerate(marks):
        end = marks[index + 1].start() if index + 1 < len(marks) else len(text)
        raw = text[mark.end() : end]
        value = raw.strip(" ")
        if "\\(" in value:
            value = value.replace("\\(", "(")
        offset = mark.end() + (len(raw) - len(raw.lstrip(" ")))
        info = AI_TABLE[mark.group(1)]
        check_element(info, value, offset)
        elements.append(Element(info, value, offset))
    return elements


# --------------------------------------------------------------------------- Digital Link

_DL_START: Final = re.compile(r"https?://", re.IGNORECASE)
_SCHEMES: Final = ("https://", "HTTPS://", "http://", "HTTP://")
# RFC 3986 characters (the reference's uriCharacters); anything else is refused.
_NOT_URI_CHARACTER: Final = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
_BAD_HOST_CHARACTER: Final = re.compile(r"[_~?#@!$&'()*+,;=%]")
_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DL_KEYS: Final = dict(DL_KEYS)
_ALL_AIS: Final = dict(AI_TABLE)
# The convenience alphas of early Digital Link versions, deprecated (the reference
# accepts them only when told to): lenient mode reads them with a warning.
CONVENIENCE_ALPHAS: Final = {
    "cpid": "8010",
    "cpsn": "8011",
    "cpv": "22",
    "gcn": "255",
    "gdti": "253",
    "giai": "8004",
    "ginc": "401",
    "gln": "414",
    "glnx": "254",
    "gmn": "8013",
    "grai": "8003",
    "gsin": "402",
    "gsrn": "8018",
    "gsrnp": "8017",
    "gtin": "01",
    "itip": "8006",
    "lot": "10",
    "party": "417",
    "refno": "8020",
    "ser": "21",
    "srin": "8019",
    "sscc": "00",
}


def is_digital_link(text: str) -> bool:
    """Whether ``text`` starts like an HTTP(S) URI (scheme case-insensitive)."""
    return _DL_START.match(text) is not None


def _unquote(raw: str, offset: int, *, query: bool) -> str:
    """Percent-decode a URI path segment or query value (``+`` is a space in a query).

    Raises:
        Problem: a ``%`` not followed by two hex digits, a decoded NUL, or bytes that are
            not UTF-8.
    """
    if query and "+" in raw:
        raw = raw.replace("+", " ")
    if "%" not in raw:
        return raw
    bad = _PERCENT.search(raw)
    if bad is not None:
        raise Problem(
            f"the URI value {raw!r} has a '%' not followed by two hex digits (percent-"
            "encoding that does not decode)",
            offset=offset + bad.start(),
            ai=None,
        )
    try:
        value = unquote(raw, errors="strict")
    except UnicodeDecodeError as e:
        raise Problem(
            f"the percent-encoded URI value {raw!r} is not valid UTF-8", offset=offset, ai=None
        ) from e
    if "\x00" in value:
        raise Problem(f"the URI value {raw!r} decodes to a NUL character", offset=offset, ai=None)
    return value


def _segment_ai(segment: str) -> tuple[str | None, bool]:
    """The AI a path segment names, and whether it is a deprecated convenience alpha."""
    if segment in _ALL_AIS:
        return segment, False
    alpha = CONVENIENCE_ALPHAS.get(segment)
    return alpha, alpha is not None


def _path_root(segments: list[tuple[str, int]]) -> int:
    """Index of the primary key segment: the rightmost one, reading (AI, value) pairs back."""
    index = len(segments) - 2
    while index >= 0:
        ai, _ = _segment_ai(segments[index][0])
        if ai is None:
            return -1
        if ai in _DL_KEYS:
            return index
        index -= 2
    return -1


def _is_qualifier_path(key: DlKey, path: Sequence[str]) -> bool:
    """Whether ``path`` (the qualifiers after the key) follows one sequence, in order."""
    for sequence in key.sequences:
        position = 0
        for code in path:
            try:
                position = sequence.index(code, position) + 1
            except ValueError:
                break
        else:
            return True
    return not path


@functools.lru_cache(maxsize=1024)
def _valid_path(key_ai: str, path: tuple[str, ...]) -> bool:
    return _is_qualifier_path(_DL_KEYS[key_ai], path)


@functools.lru_cache(maxsize=1024)
def _fits_path(key_ai: str, path: tuple[str, ...], name: str) -> bool:
    """Whether AI ``name`` could stand somewhere in the path (so it belongs there)."""
    return any(_valid_path(key_ai, (*path[:i], name, *path[i:])) for i in range(1 + len(path)))


def _split_uri(text: str) -> tuple[int, int, int, int]:
    """Check scheme, characters and host; return (path start, path end, query, end).

    Raises:
        Problem: the scheme, a character or the host is not valid.
    """
    bad = _NOT_URI_CHARACTER.search(text)
    if bad is not None:
        raise Problem(
            f"{bad.group()!r} is not allowed in a URI (percent-encode it)",
            offset=bad.start(),
            ai=None,
        )
    scheme = text[:8] if text[:8] in _SCHEMES else (text[:7] if text[:7] in _SCHEMES else None)
    if scheme is None:
        raise Problem(
            f"the URI scheme {text[: text.find(':')]!r} is in mixed case; a GS1 Digital Link "
            "starts with https:// or http:// (all lower or all upper case)",
            offset=0,
            ai=None,
        )
    body_end = text.find("#")
    if body_end < 0:
        body_end = len(text)
    query_at = text.find("?", 0, body_end)
    path_end = query_at if query_at >= 0 else body_end
    host_at = len(scheme)
    slash = text.find("/", host_at, path_end)
    host = text[host_at : slash if slash >= 0 else path_end]
    if not host or _BAD_HOST_CHARACTER.search(host) is not None:
        raise Problem(f"the URI has no valid host name ({host!r})", offset=host_at, ai=None)
    if slash < 0:
        raise Problem(
            "the URI has no path; a GS1 Digital Link needs a primary key such as /01/<GTIN>",
            offset=path_end,
            ai=None,
        )
    return slash, path_end, query_at, body_end


def _gtin_lint(info: AiInfo, value: str, at: int, lints: list[Problem]) -> str:
    """Pad a GTIN-8/12/13 given for AI (01) to 14 digits, as lint (the standard wants 14)."""
    if info.code == "01" and value.isdigit() and value.isascii() and len(value) in (8, 12, 13):
        lints.append(
            Problem(
                f"the GTIN {value} in the URI has {len(value)} digits; GS1 Digital Link writes "
                "the 14-digit form (read as " + value.zfill(14) + ")",
                offset=at,
                ai="01",
                lint=True,
            )
        )
        return value.zfill(14)
    return value


def read_digital_link(text: str) -> tuple[list[Element], list[Problem]]:  # noqa: C901, PLR0912
    """Read a GS1 Digital Link URI: key and qualifiers in the path, attributes in the query.

    Raises:
        Problem: the URI breaks the Digital Link syntax rules or an element is invalid.
    """
    slash, path_end, query_at, body_end = _split_uri(text)
    segments: list[tuple[str, int]] = []
    pos = slash + 1
    for part in text[pos:path_end].split("/"):
        segments.append((part, pos))
        pos += len(part) + 1
    if len(segments) > 1 and segments[-1][0] == "":
        raise Problem("the URI path ends with '/'", offset=path_end - 1, ai=None)
    root = _path_root(segments)
    if (
        root < 0
        and _segment_ai(segments[-1][0])[0] is not None
        and _path_root([*segments, ("", path_end)]) >= 0
    ):
        seg, at = segments[-1]
        raise Problem(
            f"the URI path ends with AI segment {seg!r} without a value",
            offset=at,
            ai=_segment_ai(seg)[0],
        )
    if root < 0:
        alpha = next((seg for seg, _ in segments if seg in CONVENIENCE_ALPHAS), None)
        hint = (
            f"; {alpha!r} is not a GS1 AI but a convenience name of early Digital Link "
            "versions, deprecated: write numeric AIs such as /01/ and /10/"
            if alpha
            else ""
        )
        raise Problem(
            "the URI path holds no GS1 primary key (such as /01/<GTIN> or /00/<SSCC>)" + hint,
            offset=slash,
            ai=None,
        )
    pairs = segments[root:]
    elements: list[Element] = []
    lints: list[Problem] = []
    first_code, _ = _segment_ai(pairs[0][0])
    key = _DL_KEYS[first_code or ""]
    path: list[str] = []
    out_of_order = False
    for index in range(0, len(pairs), 2):
        (segment, code_at), (raw_value, value_at) = pairs[index], pairs[index + 1]
        code, is_alpha = _segment_ai(segment)
        if code is None:  # pragma: no cover  (_path_root walked only AI segments)
            raise Problem(f"{segment!r} is not a GS1 AI", offset=code_at, ai=None)
        if is_alpha:
            lints.append(
                Problem(
                    f"{segment!r} is a deprecated Digital Link convenience name for AI "
                    f"({code}); write /{code}/",
                    offset=code_at,
                    ai=code,
                    lint=True,
                )
            )
        if not raw_value:
            raise Problem(
                f"AI segment {segment!r} in the URI path has an empty value",
                offset=value_at,
                ai=code,
            )
        value = _unquote(raw_value, value_at, query=False)
        info = _ALL_AIS[code]
        if index == 0:
            value = _gtin_lint(info, value, value_at, lints)
        elif code not in key.qualifiers:
            allowed = ", ".join(f"/{q}/" for q in key.qualifiers) or "none"
            raise Problem(
                f"AI segment {code!r} is not a key qualifier of primary key ({key.ai}) "
                f"in the URI path (allowed: {allowed}); put data attributes in the query",
                offset=code_at,
                ai=code,
            )
        else:
            path.append(code)
            if not out_of_order and not _valid_path(key.ai, tuple(path)):
                out_of_order = True
                lints.append(
                    Problem(
                        f"key qualifier /{code}/ is out of order in the URI path (the "
                        f"standard's order after /{key.ai}/ is "
                        + " or ".join(", ".join(f"/{q}/" for q in seq) for seq in key.sequences)
                        + ")",
                        offset=code_at,
                        ai=code,
                        lint=True,
                    )
                )
        check_element(info, value, value_at)
        elements.append(Element(info, value, value_at))
    if query_at >= 0:
        _read_query(
            text, query_at + 1, body_end, key=key, path=path, elements=elements, lints=lints
        )
    return elements, lints


def _read_query(
    text: str,
    pos: int,
    end: int,
    *,
    key: DlKey,
    path: list[str],
    elements: list[Element],
    lints: list[Problem],
) -> None:
    """Read the query's AI attributes into ``elements`` (other parameters are ignored)."""
    for param in text[pos:end].split("&"):
        stop = pos + len(param)
        name, eq, raw_value = param.partition("=")
        if eq and name.isdigit() and name.isascii():
            info = _ALL_AIS.get(name)
            if info is None:
                raise Problem(
                    f"unknown GS1 Application Identifier ({name}) in the URI query",
                    offset=pos,
                    ai=None,
                )
            value_at = pos + len(name) + 1
            if not raw_value:
                raise Problem(f"{info.label()} in the URI query has no value", offset=pos, ai=name)
            value = _gtin_lint(info, _unquote(raw_value, value_at, query=True), value_at, lints)
            _query_lints(info, value, pos, key=key, path=path, elements=elements, lints=lints)
            check_element(info, value, value_at)
            elements.append(Element(info, value, value_at))
        # Other parameters (linkType, extensions, singletons) are not GS1 data: ignored.
        pos = stop + 1


def _query_lints(
    info: AiInfo,
    value: str,
    pos: int,
    *,
    key: DlKey,
    path: list[str],
    elements: list[Element],
    lints: list[Problem],
) -> None:
    name = info.code
    if not info.dl_attribute:
        lints.append(
            Problem(
                f"{info.label()} is not a GS1 Digital Link data attribute and may not "
                "appear in the URI query",
                offset=pos,
                ai=name,
                lint=True,
            )
        )
    elif name in key.qualifiers and _fits_path(key.ai, tuple(path), name):
        lints.append(
            Problem(
                f"{info.label()} is a key qualifier of ({key.ai}) and belongs "
                "in the URI path, not the query",
                offset=pos,
                ai=name,
                lint=True,
            )
        )
    if any(seen.info.code == name and seen.value == value for seen in elements):
        lints.append(
            Problem(f"{info.label()} is given twice in the URI", offset=pos, ai=name, lint=True)
        )


# --------------------------------------------------------------------------- scan values


@functools.lru_cache(maxsize=4096)
def _zone(tz: str) -> dt.tzinfo:
    return pendulum.timezone(tz)


def century_year(yy: int, reference_year: int) -> int:
    """Resolve a two-digit year with the GS1 sliding window (General Specifications 7.12).

    The year is taken within 49 years before and 50 years after ``reference_year``.

    ```pycon
    >>> century_year(26, 2026), century_year(76, 2026), century_year(77, 2026)
    (2026, 2076, 1977)

    ```
    """
    century = reference_year - reference_year % 100
    diff = yy - reference_year % 100
    if 51 <= diff <= 99:  # noqa: PLR2004
        return century - 100 + yy
    if -99 <= diff <= -50:  # noqa: PLR2004
        return century + 100 + yy
    return century + yy


@functools.lru_cache(maxsize=16384)
def _date(value: str, reference_year: int) -> tuple[pendulum.Date, DatePrecision]:
    year = century_year(int(value[0:2]), reference_year)
    month, day = int(value[2:4]), int(value[4:6])
    if day == 0:
        return pendulum.date(year, month, 1).end_of("month"), DatePrecision.MONTH
    return pendulum.Date(year, month, day), DatePrecision.DAY


def resolve_date(element: Element, reference_year: int) -> tuple[pendulum.Date, DatePrecision]:
    """The calendar date of a YYMMDD element (day 00: last day of the month).

    Raises:
        Problem: the day does not exist in the resolved year (29 February of a non-leap year).
    """
    try:
        return _date(element.value[:6], reference_year)
    except ValueError as e:
        raise Problem(
            f"{element.info.label()} {element.value[:6]!r} is not a valid date: {e}",
            offset=element.offset,
            ai=element.info.code,
        ) from e


class ScanOptions:
    """Options that shape values: the time zone, and the reference date of the century window."""

    __slots__ = ("as_of", "tz")

    def __init__(self, tz: str, as_of: dt.date | None) -> None:
        self.tz = tz
        self.as_of = as_of

    def reference_year(self) -> int:
        """The year of ``as_of``; today's year in ``tz`` when ``as_of`` is ``None`` (documented)."""
        if self.as_of is not None:
            return self.as_of.year
        return pendulum.now(self.tz).year


def build_scan(
    by_ai: dict[str, Element],
    *,
    carrier: Carrier,
    raw: str,
    symbology: str | None,
    warnings: tuple[str, ...],
    options: ScanOptions,
) -> Scan:
    """Turn validated elements into a [`Scan`][medinv.barcodes.Scan].

    Raises:
        Problem: a date does not exist once its century is resolved.
    """
    get = by_ai.get
    gtin_el = get("01") or get("02") or get("03")
    gtin = gtin_el.value if gtin_el is not None else None
    lot = get("10")
    serial = get("21")
    sscc = get("00")
    expiry = expiry_precision = expiry_datetime = production = best_before = None
    year: int | None = None
    exp = get("17")
    if exp is not None:
        year = options.reference_year()
        expiry, expiry_precision = resolve_date(exp, year)
    exp_time = get("7003")
    if exp_time is not None:
        year = year or options.reference_year()
        day, _ = resolve_date(exp_time, year)
        value = exp_time.value
        expiry_datetime = pendulum.datetime(
            day.year, day.month, day.day, int(value[6:8]), int(value[8:10]), tz=_zone(options.tz)
        )
        if expiry is None:
            expiry, expiry_precision = day, DatePrecision.DAY
    prod = get("11")
    if prod is not None:
        year = year or options.reference_year()
        production, _ = resolve_date(prod, year)
    best = get("15")
    if best is not None:
        year = year or options.reference_year()
        best_before, _ = resolve_date(best, year)
    for code in ("12", "13", "16"):
        other = get(code)
        if other is not None:
            year = year or options.reference_year()
            resolve_date(other, year)
    count = get("30") or get("37")
    return Scan(
        agency=Agency.GS1,
        carrier=carrier,
        di=gtin,
        gtin=gtin,
        lot=lot.value if lot is not None else None,
        serial=serial.value if serial is not None else None,
        expiry=expiry,
        expiry_precision=expiry_precision,
        expiry_datetime=expiry_datetime,
        production_date=production,
        best_before=best_before,
        quantity=int(count.value) if count is not None else None,
        sscc=sscc.value if sscc is not None else None,
        ais={code: element.value for code, element in by_ai.items()},
        raw=raw,
        symbology_identifier=symbology,
        warnings=warnings,
    )
