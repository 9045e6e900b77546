"""Property tests of GS1 intake: agreement with biip, and only InvalidBarcodeError escapes."""

from __future__ import annotations

import calendar
from urllib.parse import quote

import biip
import pendulum
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from stdnum import ean

from medinv.barcodes import Scan, parse_scan
from medinv.errors import InvalidBarcodeError

GS = "\x1d"
SET_82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
HRI_SAFE = SET_82.replace("(", "").replace(")", "")


@st.composite
def gtins(draw) -> str:
    body: str = draw(st.text("0123456789", min_size=13, max_size=13))
    return body + str(ean.calc_check_digit(body))


@st.composite
def yymmdd(draw, *, day_zero: bool) -> str:
    yy = draw(st.integers(0, 99))
    month = draw(st.integers(1, 12))
    # Use a leap-safe last day: Feb 29 only on years divisible by 4 (never 00: 2100 is not leap).
    leap = yy % 4 == 0 and yy != 0
    last = 29 if month == 2 and leap else calendar.monthrange(2001, month)[1]
    day = draw(st.integers(0 if day_zero else 1, last))
    return f"{yy:02d}{month:02d}{day:02d}"


def texts(alphabet: str):
    return st.text(alphabet, min_size=1, max_size=20)


@st.composite
def messages(draw, alphabet: str = SET_82) -> list[tuple[str, str]]:
    """A valid medical-device GS1 message: (01) plus a shuffled selection of attributes."""
    gtin = draw(gtins())
    candidates: dict[str, st.SearchStrategy[str]] = {
        "17": yymmdd(day_zero=True),
        "11": yymmdd(day_zero=True),
        "15": yymmdd(day_zero=True),
        "10": texts(alphabet),
        "21": texts(alphabet),
        "30": st.text("0123456789", min_size=1, max_size=8),
        "7003": st.builds(
            lambda d, h, m: f"{d}{h:02d}{m:02d}",
            yymmdd(day_zero=False),
            st.integers(0, 23),
            st.integers(0, 59),
        ),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(candidates)), unique=True, max_size=5))
    chosen = draw(st.permutations(chosen))
    return [("01", gtin)] + [(ai, draw(candidates[ai])) for ai in chosen]


FIXED = {"01", "11", "15", "17"}


def element_string(elements: list[tuple[str, str]]) -> str:
    parts = []
    for index, (ai, value) in enumerate(elements):
        parts.append(ai + value)
        if ai not in FIXED and index < len(elements) - 1:
            parts.append(GS)
    return "".join(parts)


def digital_link(elements: list[tuple[str, str]]) -> str:
    values = dict(elements)
    path = f"/01/{values.pop('01')}"
    for qualifier in ("10", "21"):
        if qualifier in values:
            path += f"/{qualifier}/{quote(values.pop(qualifier), safe='')}"
    query = "&".join(f"{ai}={quote(value, safe='')}" for ai, value in values.items())
    return "https://id.gs1.org" + path + (f"?{query}" if query else "")


def assert_agrees(scan: Scan, result: biip.ParseResult, elements: list[tuple[str, str]]):
    message = result.gs1_message or result.gs1_digital_link_uri
    assert message is not None, (result.gs1_message_error, result.gs1_digital_link_uri_error)
    theirs = {es.ai.ai: es for es in message.element_strings}
    assert dict(scan.ais) == {ai: es.value for ai, es in theirs.items()}
    assert dict(scan.ais) == dict(elements)
    assert result.gtin is not None
    assert scan.gtin == result.gtin.value
    pairs = {"17": scan.expiry, "11": scan.production_date, "15": scan.best_before}
    for ai, mine in pairs.items():
        if ai in theirs:
            assert mine == theirs[ai].date
    if "7003" in theirs:
        assert scan.expiry_datetime is not None
        assert scan.expiry_datetime.naive() == theirs["7003"].datetime
    if "30" in theirs:
        assert scan.quantity == int(theirs["30"].value)
    assert scan.lot == (theirs["10"].value if "10" in theirs else None)
    assert scan.serial == (theirs["21"].value if "21" in theirs else None)


def today() -> pendulum.Date:
    return pendulum.now("UTC").date()


@settings(max_examples=100)
@given(messages(), st.sampled_from(["", "]d2", "]C1", "]Q3"]))
def test_element_strings_agree_with_biip(elements, prefix):
    text = prefix + element_string(elements)
    assert_agrees(parse_scan(text, as_of=today()), biip.parse(text), elements)


@settings(max_examples=100)
@given(messages(HRI_SAFE))
def test_human_readable_agrees_with_biip(elements):
    text = "".join(f"({ai}){value}" for ai, value in elements)
    result = biip.parse(text)
    ours = parse_scan(text, as_of=today())
    hri = biip.gs1_messages.GS1Message.parse_hri(text)
    assert dict(ours.ais) == {es.ai.ai: es.value for es in hri.element_strings}
    assert result is not None


@settings(max_examples=100)
@given(messages())
def test_digital_link_agrees_with_biip(elements):
    text = digital_link(elements)
    assert_agrees(parse_scan(text, as_of=today()), biip.parse(text), elements)


# --------------------------------------------------------------------------- fuzzing

NOISE = SET_82 + GS + " \t\r\n^<>{}[]#/%?&=é\u0660\x00\U0001f600"


@st.composite
def mutated(draw) -> str:
    elements = draw(messages())
    carrier = draw(st.sampled_from(["es", "hri", "dl"]))
    if carrier == "es":
        text = draw(st.sampled_from(["", "]d2", "]C1", "]Q1", "]E0"])) + element_string(elements)
    elif carrier == "hri":
        text = "".join(f"({ai}){value}" for ai, value in elements)
    else:
        text = digital_link(elements)
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(chars)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if action == "insert" or not chars:
            chars.insert(position, draw(st.sampled_from(NOISE)))
        elif action == "delete":
            del chars[min(position, len(chars) - 1)]
        elif action == "replace":
            chars[min(position, len(chars) - 1)] = draw(st.sampled_from(NOISE))
        else:
            chars[position:position] = chars[max(0, position - 6) : position]
    return "".join(chars)


def assert_only_invalid_barcode_error(text: str, *, lenient: bool) -> None:
    try:
        scan = parse_scan(text, lenient=lenient, fnc1=("^", "<GS>"), as_of=today())
    except InvalidBarcodeError as e:
        message = str(e)
        assert message
        return
    for value in (scan.lot, scan.serial, scan.gtin, scan.sscc, scan.di):
        assert value is None or value != ""
    if scan.gtin is not None:
        assert len(scan.gtin) == 14
        assert ean.is_valid(scan.gtin)


@settings(max_examples=200)
@given(mutated(), st.booleans())
def test_mutated_messages_only_raise_invalid_barcode_error(text, lenient):
    assert_only_invalid_barcode_error(text, lenient=lenient)


@settings(max_examples=200)
@given(st.text(NOISE + "0123456789()+.MA" + "httpsHTTPS:", max_size=60), st.booleans())
def test_arbitrary_text_only_raises_invalid_barcode_error(text, lenient):
    assert_only_invalid_barcode_error(text, lenient=lenient)


@settings(max_examples=100)
@given(st.text(max_size=40), st.booleans())
def test_any_unicode_only_raises_invalid_barcode_error(text, lenient):
    assert_only_invalid_barcode_error(text, lenient=lenient)


@settings(max_examples=100)
@given(st.sampled_from([8, 12, 13, 14, 18]), st.data())
def test_plain_gtins_and_ssccs_agree_with_biip(size, data):
    body = data.draw(st.text("0123456789", min_size=size - 1, max_size=size - 1))
    text = body + str(ean.calc_check_digit(body))
    ours = parse_scan(text)
    theirs = biip.parse(text)
    if size == 18:
        assert theirs.sscc is not None
        assert ours.sscc == theirs.sscc.value
    else:
        assert theirs.gtin is not None
        assert ours.gtin == theirs.gtin.as_gtin_14()


@settings(max_examples=100)
@given(messages())
def test_a_recovered_reading_is_the_original_message(elements):
    # Drop every FNC1: the original reading is valid, so when medinv recovers a
    # unique valid reading, it must be the original one; otherwise it refuses
    # (ambiguity) or keeps the standard greedy reading, which is valid as well.
    text = element_string(elements).replace(GS, "")
    try:
        scan = parse_scan(text, as_of=today())
    except InvalidBarcodeError as e:
        message = str(e)
        assert "ambiguous" in message or "too many possible readings" in message
        return
    if any("recovered" in warning for warning in scan.warnings):
        assert dict(scan.ais) == dict(elements)
    else:
        assert scan.warnings == ()


# --------------------------------------------------------------------------- split search


class _OracleTooSlowError(Exception):
    """The naive search took more steps than a test can wait for."""


_ORACLE_STEPS = 100_000


def _naive_splits(data: str) -> list[list[tuple[str, str]]]:  # noqa: C901  (the oracle in one piece)
    """Every valid reading, by plain recursion (small inputs only): the search's oracle.

    Raises:
        _OracleTooSlowError: more than ``_ORACLE_STEPS`` steps (the recursion is exponential
            on some inputs; such a case says nothing the others do not).
    """
    from medinv.barcodes._gs1 import (  # noqa: PLC0415
        Element,
        Problem,
        check_message,
        element_valid,
        lookup_ai,
    )

    out: list[list[tuple[str, str]]] = []
    steps = [0]

    def walk(pos: int, elements: list[Element]) -> None:  # noqa: C901  (the oracle)
        steps[0] += 1
        if steps[0] > _ORACLE_STEPS:
            raise _OracleTooSlowError
        while pos < len(data) and data[pos] == GS:
            pos += 1
        if pos >= len(data):
            try:
                _, lints = check_message(elements)
            except Problem:
                return
            if not lints:
                out.append([(e.info.code, e.value) for e in elements])
            return
        info = lookup_ai(data, pos)
        if info is None:
            return
        start = pos + len(info.code)
        if info.fixed:
            ends = [start + info.max_len]
        else:
            stop = data.find(GS, start)
            stop = len(data) if stop < 0 else stop
            ends = list(range(start + max(info.min_len, 1), min(start + info.max_len, stop) + 1))
        for end in ends:
            if end > len(data):
                return
            value = data[start:end]
            if element_valid(info, value):
                walk(end, [*elements, Element(info, value, start)])

    walk(0, [])
    return out


UNITS = ["01" + "09501101530003", "10A", "21", "21B", "17261231", "11", "3103", "1", "0", GS]


@settings(max_examples=300)
@given(st.lists(st.sampled_from(UNITS), min_size=1, max_size=7))
def test_split_search_finds_exactly_the_readings_of_a_naive_search(units):
    from medinv.barcodes._gs1 import Problem, search_splits  # noqa: PLC0415

    data = "".join(units)
    try:
        expected = _naive_splits(data)
    except _OracleTooSlowError:
        assume(False)
    try:
        found = search_splits(data, limit=10_000)
    except Problem:
        return  # the step bound: refused as too many readings, never a wrong answer
    assert [[(e.info.code, e.value) for e in r] for r in found] == expected
