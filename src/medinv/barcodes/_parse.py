"""The one entry point: [`parse_scan`][medinv.barcodes.parse_scan]."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Final

import attrs
from stdnum import ean

from medinv.barcodes._gs1 import (
    GS,
    Element,
    Problem,
    ScanOptions,
    build_scan,
    check_message,
    is_digital_link,
    read_digital_link,
    read_greedy,
    read_hri,
    search_splits,
    separator_lints,
)
from medinv.barcodes._hibc import parse_hibc
from medinv.barcodes._ma import parse_ma
from medinv.barcodes._scan import MAX_SCAN_LENGTH, Agency, Carrier, Scan, too_long
from medinv.errors import InvalidBarcodeError

__all__ = ["MAX_SCAN_LENGTH", "parse_scan"]

# AIM symbology identifiers (ISO/IEC 15424) whose data is GS1 element strings.
_GS1_MODE: Final = frozenset({"]C1", "]e0", "]e1", "]e2", "]d2", "]Q3", "]J1"})
# EAN/UPC and ITF-14: a bare GTIN.
_GTIN_SYMBOLOGIES: Final = {"]E0": (12, 13), "]E4": (8,), "]I1": (14,), "]E3": (13, 15, 18)}
_GTIN_LENGTHS: Final = (8, 12, 13, 14)
# A GS1 Composite: the linear symbol's data, "|", then the 2D component's "]e0" data.
_COMPOSITE: Final = "|]e0"
_COMPOSITE_LINEAR: Final = frozenset({"]E0", "]E4", "]e0", "]C1"})
_WEDGE_SUFFIX: Final = "\r\n\t"
_SHOW: Final = 80
# ISO/IEC 15434 envelope: "[)>" RS, then format "NN" GS ... RS, finally EOT.
_ENVELOPE_HEADER: Final = "[)>\x1e"
_RS: Final = "\x1e"
_EOT: Final = "\x04"
_ENVELOPE_FORMATS: Final = {
    "01": "format 01 (transportation)",
    "02": "format 02 (complete EDI message)",
    "03": "format 03 (ANSI ASC X12 segments)",
    "04": "format 04 (UN/EDIFACT segments)",
    "05": "format 05 (GS1 Application Identifiers)",
    "06": "format 06 (ASC MH10 data identifiers)",
    "07": "format 07 (free-form text)",
    "12": "format 12 (text element identifiers)",
}


def _parse_other_agency(data: str, *, raw: str, symbology: str | None, lenient: bool) -> Scan:
    """Parse an HIBC (``+...``) or MA (``MA....``) code with its own parser."""
    scan = (
        parse_hibc(data, raw=raw, lenient=lenient)
        if data[0] == "+"
        else parse_ma(data, raw=raw, lenient=lenient)
    )
    return attrs.evolve(scan, symbology_identifier=symbology) if symbology else scan


def _show(text: str) -> str:
    shown = text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."
    return repr(shown)


@functools.lru_cache(maxsize=256)
def _substitutes(fnc1: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(fnc1) - {GS}, key=len, reverse=True))


@functools.lru_cache(maxsize=256)
def _check_tz(tz: str) -> str:
    import pendulum  # noqa: PLC0415  (only on the first call per zone)

    try:
        pendulum.timezone(tz)
    except Exception as e:  # pendulum raises several types for bad names
        msg = f"parse_scan option tz={tz!r}: not a known IANA time zone"
        raise InvalidBarcodeError(msg) from e
    return tz


class _Located:
    """Maps offsets in the normalised data back to offsets in the raw text."""

    __slots__ = ("base", "end", "table")

    def __init__(self, base: int, table: list[int] | None = None, end: int = 0) -> None:
        self.base = base
        self.table = table
        self.end = end

    def raw(self, offset: int) -> int:
        if self.table is None:
            return self.base + offset
        if offset < len(self.table):
            return self.table[offset]
        return self.end


def _replace_fnc1(data: str, base: int, substitutes: tuple[str, ...]) -> tuple[str, _Located]:
    """Replace the FNC1 substitutes by GS, and drop FNC1s in first position."""
    if not any(s in data for s in substitutes):
        return data, _Located(base)
    out: list[str] = []
    table: list[int] = []
    pos, n = 0, len(data)
    while pos < n:
        for sub in substitutes:
            if data.startswith(sub, pos):
                out.append(GS)
                table.append(base + pos)
                pos += len(sub)
                break
        else:
            out.append(data[pos])
            table.append(base + pos)
            pos += 1
    lead = 0
    while lead < len(out) - 1 and out[lead] == GS:
        lead += 1
    return "".join(out[lead:]), _Located(base, table[lead:], base + n)


def _refuse(problem: Problem, raw: str, where: _Located, *, hint: str = "") -> InvalidBarcodeError:
    offset = where.raw(problem.offset) if problem.offset is not None else None
    message = problem.message
    if "{offset}" in message:
        message = message.replace("{offset}", str(offset))
    elif offset is not None:
        message += f" (at offset {offset})"
    message = f"{message}{hint}; scan {_show(raw)}"
    return InvalidBarcodeError(message, text=raw, offset=offset, ai=problem.ai)


def parse_scan(
    text: str,
    *,
    lenient: bool = False,
    fnc1: str | Sequence[str] | None = None,
    tz: str = "UTC",
    as_of: dt.date | None = None,
) -> Scan:
    r"""Parse what a scanner delivered into one validated [`Scan`][medinv.barcodes.Scan].

    Accepted input: GS1 element strings with or without an AIM symbology identifier
    (``]d2``, ``]C1``, ``]Q3``, ``]e0``, ``]J1``); the human-readable ``(01)...(17)...``
    form; GS1 Digital Link URIs (any host, plain ``]Q1``/``]d1`` symbols too); bare
    GTIN-8/12/13/14 and SSCC. HIBC (``+...``) and MA (``MA....``) codes are routed to
    their own parsers.

    ```pycon
    >>> scan = parse_scan("]d2010950110153000317261231\x1d10AB-123\x1d21S0001", as_of=None)
    >>> scan.gtin, scan.lot, scan.serial, scan.expiry
    ('09501101530003', 'AB-123', 'S0001', Date(2026, 12, 31))
    >>> parse_scan("(01)09501101530003(17)260100", as_of=dt.date(2026, 1, 1)).expiry
    Date(2026, 1, 31)
    >>> parse_scan("https://example.com/01/09501101530003/10/AB-123?17=261231").lot
    'AB-123'

    ```

    Args:
        text: The scanner input, exactly as received (a trailing CR, LF or Tab that a
            keyboard-wedge scanner appends is ignored).
        lenient: Accept what strict mode refuses for lint reasons only (a missing
            mandatory association, superfluous FNC1 separators, Digital Link
            qualifiers out of order or in the query, element strings in a non-GS1
            symbol) and list them in [`Scan.warnings`][medinv.barcodes.Scan.warnings].
        fnc1: Extra text that the scanner sends for FNC1 (e.g. ``"<GS>"``, ``"{GS}"``,
            ``"^"``); ASCII 29 (GS) is always accepted.
        tz: The facility's IANA time zone, for AI 7003 (expiry date and time).
        as_of: Reference date for the GS1 century sliding window (General
            Specifications 7.12: a two-digit year is placed within 49 years before and
            50 years after it). ``None`` reads today's date in ``tz``, for that window
            only; pass a date for reproducible results.

    Returns:
        The validated scan.

    Raises:
        InvalidBarcodeError: the input is not a valid scan (the message says what is
            wrong and where; ``offset`` and ``ai`` say it as data), or an option is
            invalid. No other exception escapes, whatever the text.
    """
    given: object = text  # guard against untyped callers
    if not isinstance(given, str):
        msg = f"expected the scanner input as text, got {type(given).__name__}"
        raise InvalidBarcodeError(msg)
    substitutes = _options(fnc1, tz, as_of, lenient)
    _check_length(text)
    scanned = text.strip(_WEDGE_SUFFIX)
    if not scanned:
        raise InvalidBarcodeError("the scan is empty", text=text, offset=0)
    base = text.find(scanned)
    symbology, data, base, enveloped = _unwrap(text, scanned, base)
    if data[0] == "+" or data.startswith("MA."):
        return _parse_other_agency(data, raw=text, symbology=symbology, lenient=lenient)

    ctx = _Context(text, symbology, ScanOptions(tz, as_of), lenient)
    if data[0] in "hH" and is_digital_link(data):
        here = _Located(base)
        try:
            elements, lints = read_digital_link(data)
        except Problem as problem:
            raise _refuse(problem, text, here) from None
        return _finish(ctx, elements, lints, Carrier.GS1_DIGITAL_LINK, here)
    if data[0] == "(":
        data, where = _replace_fnc1(data, base, substitutes)
        try:
            elements = read_hri(data)
        except Problem as problem:
            raise _refuse(problem, text, where) from None
        return _finish(ctx, elements, [], Carrier.GS1_HUMAN_READABLE, where)
    plain = _plain(ctx, data, base)
    if plain is not None:
        return plain
    extra: list[Problem] = []
    if symbology is not None and symbology not in _GS1_MODE and not enveloped:
        extra.append(
            Problem(
                f"the symbol (symbology identifier {symbology}) is not a GS1 symbol, "
                "yet its data looks like GS1 element strings; print it as GS1-128 or "
                "GS1 DataMatrix, or check the scanner's symbology settings",
                offset=None,
                ai=None,
                lint=True,
            )
        )
    data, where = _replace_fnc1(data, base, substitutes)
    return _element_string(ctx, data, extra, where)


def _unwrap(raw: str, scanned: str, base: int) -> tuple[str | None, str, int, bool]:
    """Symbology identifier, data, its offset, and whether it was in a 15434 envelope."""
    symbology, data, base = _split_symbology(raw, scanned, base)
    if not data.startswith(_ENVELOPE_HEADER):
        return symbology, data, base, False
    data, base = _open_envelope(raw, data, base)
    return symbology, data, base, True


def _check_length(text: str) -> None:
    reason = too_long(text, "scan")
    if reason is not None:
        raise InvalidBarcodeError(reason, text=text[:_SHOW], offset=MAX_SCAN_LENGTH)


class _Context:
    """What every reader of one call needs to build the scan or the refusal."""

    __slots__ = ("lenient", "options", "raw", "symbology")

    def __init__(
        self,
        raw: str,
        symbology: str | None,
        options: ScanOptions,
        lenient: bool,  # noqa: FBT001
    ) -> None:
        self.raw = raw
        self.symbology = symbology
        self.options = options
        self.lenient = lenient


def _options(fnc1: object, tz: object, as_of: object, lenient: object) -> tuple[str, ...]:
    """Validate the options; return the FNC1 substitutes, longest first.

    Raises:
        InvalidBarcodeError: an option has the wrong type or value (callers without type
            checking pass anything: a number is not a time zone).
    """
    if not isinstance(tz, str):
        msg = (
            f"parse_scan option tz={tz!r}: expected an IANA time zone name such as "
            f"'Europe/Paris', got {type(tz).__name__}"
        )
        raise InvalidBarcodeError(msg)
    if tz != "UTC":
        _check_tz(tz)
    if as_of is not None and not isinstance(as_of, dt.date):
        msg = f"parse_scan option as_of={as_of!r}: expected a date"
        raise InvalidBarcodeError(msg)
    if not isinstance(lenient, bool):
        msg = f"parse_scan option lenient={lenient!r}: expected True or False"
        raise InvalidBarcodeError(msg)
    if fnc1 is None:
        return ()
    given: tuple[object, ...]
    if isinstance(fnc1, str):
        given = (fnc1,)
    elif isinstance(fnc1, (list, tuple, set, frozenset)):
        given = tuple(fnc1)
    else:
        msg = (
            f"parse_scan option fnc1={fnc1!r}: expected the text the scanner sends for FNC1, "
            f"or a list of such texts, got {type(fnc1).__name__}"
        )
        raise InvalidBarcodeError(msg)
    if not given or any(not isinstance(sub, str) or not sub for sub in given):
        msg = f"parse_scan option fnc1={fnc1!r}: every FNC1 substitute must be non-empty text"
        raise InvalidBarcodeError(msg)
    return _substitutes(tuple(str(sub) for sub in given))


def _open_envelope(raw: str, scanned: str, base: int) -> tuple[str, int]:
    """The data inside an ISO/IEC 15434 envelope ``[)>`` RS ``05`` GS ... RS EOT.

    Format 05 holds GS1 element strings (its GS separators are FNC1s); other formats
    are refused, naming the envelope and the format.

    Raises:
        InvalidBarcodeError: the envelope is malformed or holds a format other than 05.
    """
    head = len(_ENVELOPE_HEADER)
    fmt = scanned[head : head + 2]
    if len(fmt) < 2 or not (fmt.isdigit() and fmt.isascii()) or scanned[head + 2 : head + 3] != GS:  # noqa: PLR2004
        msg = (
            f"malformed ISO/IEC 15434 envelope at offset {base}: '[)>' RS must be followed "
            f"by a two-digit format and GS, such as '05' GS for GS1 data; scan {_show(raw)}"
        )
        raise InvalidBarcodeError(msg, text=raw, offset=base + head)
    if fmt != "05":
        name = _ENVELOPE_FORMATS.get(fmt, f"format {fmt}")
        hint = (
            " (data identifiers such as 1P, 1T, S as used for IFA/PPN codes are not read by "
            "medinv; print the GS1 form, or parse them with an ASC MH10 reader)"
            if fmt == "06"
            else ""
        )
        msg = (
            f"the scan is an ISO/IEC 15434 envelope of {name}; medinv reads format 05 "
            f"(GS1 Application Identifiers) only{hint}; scan {_show(raw)}"
        )
        raise InvalidBarcodeError(msg, text=raw, offset=base + head)
    start = head + 3
    end = scanned.find(_RS, start)
    if end < 0 or scanned[end + 1 :] not in (_EOT, ""):
        msg = (
            "the ISO/IEC 15434 format 05 envelope does not end with RS EOT after its data "
            f"(one format per envelope is read); scan {_show(raw)}"
        )
        raise InvalidBarcodeError(msg, text=raw, offset=base + (end if end >= 0 else len(scanned)))
    data = scanned[start:end]
    if not data:
        msg = f"the ISO/IEC 15434 format 05 envelope holds no data; scan {_show(raw)}"
        raise InvalidBarcodeError(msg, text=raw, offset=base + start)
    return data, base + start


def _split_symbology(raw: str, scanned: str, base: int) -> tuple[str | None, str, int]:
    """Split off the AIM symbology identifier and FNC1s in first position."""
    symbology: str | None = None
    data = scanned
    if scanned[0] == "]":
        symbology = scanned[:3]
        code = symbology[1:]
        if len(code) < 2 or not code.isascii() or not code.isalnum():  # noqa: PLR2004
            raise InvalidBarcodeError(
                f"malformed symbology identifier {scanned[:3]!r} at offset {base}: expected "
                f"']' then a letter and a digit, such as ']d2'; scan {_show(raw)}",
                text=raw,
                offset=base,
            )
        data = scanned[3:]
        base += 3
    if data[:1] == GS:  # FNC1 in first position, transmitted by some scanners
        stripped = data.lstrip(GS)
        base += len(data) - len(stripped)
        data = stripped
    if not data:
        raise InvalidBarcodeError(
            f"the scan holds no data after its symbology identifier; scan {_show(raw)}",
            text=raw,
            offset=base,
        )
    return symbology, data, base


def _plain(ctx: _Context, data: str, base: int) -> Scan | None:
    """A bare GTIN or SSCC, a GS1 Composite, or ``None`` when the data is something else."""
    composite = data.find(_COMPOSITE)
    if composite > 0 and ctx.symbology in _COMPOSITE_LINEAR:
        return _composite(ctx, data, composite, base)
    where = _Located(base)
    if ctx.symbology in _GTIN_SYMBOLOGIES:
        return _plain_gtin(ctx, data, _GTIN_SYMBOLOGIES[ctx.symbology], where)
    if data.isdigit() and data.isascii():
        if len(data) in _GTIN_LENGTHS:
            return _plain_gtin(ctx, data, _GTIN_LENGTHS, where)
        if len(data) == 18 and ean.calc_check_digit(data[:-1]) == data[-1]:  # noqa: PLR2004
            return Scan(
                agency=Agency.GS1,
                carrier=Carrier.PLAIN_SSCC,
                sscc=data,
                raw=ctx.raw,
                symbology_identifier=ctx.symbology,
            )
    return None


def _composite(ctx: _Context, data: str, bar: int, base: int) -> Scan:
    """A GS1 Composite symbol: the linear part and its 2D component read as one message."""
    linear, component = data[:bar], data[bar + len(_COMPOSITE) :]
    if ctx.symbology in _GTIN_SYMBOLOGIES:
        gtin = _plain_gtin(ctx, linear, _GTIN_SYMBOLOGIES[ctx.symbology or ""], _Located(base))
        head = "01" + (gtin.gtin or "")
        table = [base] * len(head)
    else:
        head = linear + GS
        table = [base + i for i in range(len(linear))] + [base + bar]
    start = base + bar + len(_COMPOSITE)
    table += [start + i for i in range(len(component))]
    return _element_string(ctx, head + component, [], _Located(base, table, base + len(data)))


def _plain_gtin(ctx: _Context, data: str, lengths: Sequence[int], where: _Located) -> Scan:
    if ctx.symbology == "]E3" and len(data) in (15, 18):  # EAN-13 with a 2- or 5-digit add-on
        data = data[:13]
    if not (data.isdigit() and data.isascii()) or len(data) not in lengths:
        wanted = " or ".join(str(n) for n in lengths)
        problem = Problem(
            f"a {ctx.symbology} (EAN/UPC/ITF-14) symbol must hold a GTIN of {wanted} digits, "
            f"got {data!r}",
            offset=0,
            ai=None,
        )
        raise _refuse(problem, ctx.raw, where)
    expected = ean.calc_check_digit(data[:-1])
    if expected != data[-1]:
        problem = Problem(
            f"GTIN-{len(data)} {data} has a wrong check digit: it should be {expected}, "
            f"not {data[-1]} (misprint or misread; rescan)",
            offset=len(data) - 1,
            ai=None,
        )
        raise _refuse(problem, ctx.raw, where)
    gtin = data.zfill(14)
    return Scan(
        agency=Agency.GS1,
        carrier=Carrier.PLAIN_GTIN,
        di=gtin,
        gtin=gtin,
        raw=ctx.raw,
        symbology_identifier=ctx.symbology,
    )


def _element_string(ctx: _Context, data: str, extra: list[Problem], where: _Located) -> Scan:
    """Element strings: the standard (greedy) reading, else FNC1 recovery, else refusal."""
    try:
        elements, lints = read_greedy(data)
        by_ai, association_lints = check_message(elements)
    except Problem as problem:
        return _recover_or_refuse(ctx, data, extra + separator_lints(data), where, problem)
    if not lints and not association_lints and not extra:
        return _scan(ctx, by_ai, Carrier.GS1_ELEMENT_STRING, (), where)
    input_lints = extra + lints  # problems of the input itself, whatever the reading
    if association_lints:
        recovered = _recover(ctx, data, input_lints, where)
        if recovered is not None:
            return recovered
    problems = input_lints + association_lints
    if not ctx.lenient:
        raise _refuse(problems[0], ctx.raw, where, hint=_LENIENT_HINT)
    warnings = tuple(_lint_text(p, where) for p in problems)
    return _scan(ctx, by_ai, Carrier.GS1_ELEMENT_STRING, warnings, where)


def _recover_or_refuse(
    ctx: _Context, data: str, extra: list[Problem], where: _Located, problem: Problem
) -> Scan:
    recovered = _recover(ctx, data, extra, where)
    if recovered is None:
        raise _refuse(problem, ctx.raw, where)
    return recovered


def _recover(ctx: _Context, data: str, input_lints: list[Problem], where: _Located) -> Scan | None:
    """The one valid reading with variable-length fields split, if there is exactly one.

    Raises:
        InvalidBarcodeError: several readings are valid (the ambiguity is named).
    """
    try:
        readings = search_splits(data)
    except Problem as problem:
        raise _refuse(problem, ctx.raw, where) from None
    if len(readings) > 1:
        raise _refuse(_ambiguity(readings[0], readings[1]), ctx.raw, where)
    if not readings:
        return None
    if input_lints and not ctx.lenient:
        raise _refuse(input_lints[0], ctx.raw, where, hint=_LENIENT_HINT)
    by_ai, _ = check_message(readings[0])
    warning = (
        "recovered missing FNC1 separator(s): read as "
        + _hri(readings[0])
        + ", the only valid reading; make the scanner transmit FNC1 as GS"
    )
    warnings = (warning, *(_lint_text(p, where) for p in input_lints))
    return _scan(ctx, by_ai, Carrier.GS1_ELEMENT_STRING, warnings, where)


def _ambiguity(first: Sequence[Element], second: Sequence[Element]) -> Problem:
    differ = next((a for a, b in zip(first, second, strict=False) if a != b), first[-1])
    return Problem(
        "ambiguous scan: a variable-length field is not terminated by FNC1 and the data "
        f"can be read as {_hri(first)} or as {_hri(second)}; make the scanner transmit "
        "FNC1 (GS) and rescan",
        offset=differ.offset,
        ai=differ.info.code,
    )


_LENIENT_HINT: Final = " (lenient mode accepts this with a warning)"


def _lint_text(problem: Problem, where: _Located) -> str:
    if problem.offset is None:
        return problem.message
    return f"{problem.message} (at offset {where.raw(problem.offset)})"


def _hri(elements: Sequence[Element]) -> str:
    return "".join(f"({e.info.code}){e.value}" for e in elements)


def _scan(
    ctx: _Context,
    by_ai: dict[str, Element],
    carrier: Carrier,
    warnings: tuple[str, ...],
    where: _Located,
) -> Scan:
    try:
        return build_scan(
            by_ai,
            carrier=carrier,
            raw=ctx.raw,
            symbology=ctx.symbology,
            warnings=warnings,
            options=ctx.options,
        )
    except Problem as problem:
        raise _refuse(problem, ctx.raw, where) from None


def _finish(
    ctx: _Context,
    elements: list[Element],
    lints: list[Problem],
    carrier: Carrier,
    where: _Located,
) -> Scan:
    try:
        by_ai, association_lints = check_message(elements)
    except Problem as problem:
        raise _refuse(problem, ctx.raw, where) from None
    problems = lints + association_lints
    if problems and not ctx.lenient:
        raise _refuse(problems[0], ctx.raw, where, hint=_LENIENT_HINT)
    warnings = tuple(_lint_text(p, where) for p in problems)
    return _scan(ctx, by_ai, carrier, warnings, where)
