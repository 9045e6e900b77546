"""Count files that are not clean text are refused with the row and column named."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.errors import CountImportError
from medinv.stocktake import import_counts, import_counts_csv

HEADER = "location,gtin,lot,quantity,counted_at,counter"
ROW = "Main/A1,04006381333931,L1,4,2026-11-23T10:00:00+01:00,ana"


def problems(source: object, **kw: object) -> tuple[tuple[int, str, str], ...]:
    with pytest.raises(CountImportError) as refused:
        import_counts_csv(source, **kw)  # type: ignore[arg-type]
    return refused.value.problems


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        (
            f"{HEADER}\n{ROW}\nMain/A\ud8002,04006381333931,L1,4,2026-11-23T10:00:00+01:00,ana",
            3,
            "location",
        ),
        (HEADER + "\n" + ROW.replace("ana", "a\udc80na"), 2, "counter"),
        (HEADER + "\n" + ROW.replace("L1", "L\ud800"), 2, "lot"),
        (HEADER + "\n" + ROW.replace("+01:00", "+01:0\ud800"), 2, "counted_at"),
        (f"loca\ud800tion,gtin\n{ROW}", 1, "loca\ud800tion"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_its_row_and_column(text, row, column):
    found = problems(text)
    assert (found[0][0], found[0][1]) == (row, column)
    assert "lone surrogate" in found[0][2]


@pytest.mark.parametrize(
    "source",
    [
        f"{HEADER}\n{ROW}".encode(),
        bytearray(f"{HEADER}\n{ROW}".encode()),
        io.BytesIO(f"{HEADER}\n{ROW}".encode()),
        None,
        42,
    ],
)
def test_a_source_that_is_not_text_is_refused(source):
    ((row, column, reason),) = problems(source)
    assert (row, column) == (1, "*")
    assert "text" in reason


def test_a_file_in_the_wrong_encoding_is_refused():
    stream = io.TextIOWrapper(io.BytesIO("location\u00e9".encode("latin-1")), encoding="utf-8")
    ((row, column, reason),) = problems(stream)
    assert (row, column) == (1, "*") and "utf-8" in reason


@pytest.mark.parametrize("delimiter", ["", ",,", '"', "\n", "\r", "\x00", "\ud800", None, 44, b","])
def test_a_bad_delimiter_is_refused(delimiter):
    ((row, column, reason),) = problems(f"{HEADER}\n{ROW}", delimiter=delimiter)
    assert (row, column) == (1, "*") and "delimiter" in reason


def test_a_good_alternative_delimiter_still_works():
    (line,) = import_counts_csv(f"{HEADER}\n{ROW}".replace(",", ";"), delimiter=";")
    assert line.quantity == 4


def test_records_with_lone_surrogates_or_no_iterable_are_refused():
    with pytest.raises(CountImportError) as refused:
        import_counts(
            [
                {
                    "location": "Main/A1",
                    "gtin": "4006381333931",
                    "quantity": 1,
                    "counter": "an\ud800a",
                    "counted_at": "2026-11-23T10:00:00+01:00",
                }
            ]
        )
    assert refused.value.problems[0][:2] == (1, "counter")
    for bad in (None, 3, "text", {"location": "x"}):
        with pytest.raises(CountImportError):
            import_counts(bad)  # type: ignore[arg-type]


@given(st.text(max_size=60))
def test_any_text_is_imported_or_refused_with_a_count_import_error(cell):
    text = f"{HEADER},device\n{ROW},{cell.replace(chr(34), '')}"
    refused: tuple[tuple[int, str, str], ...] = ()
    try:
        import_counts_csv(text)
    except CountImportError as e:
        refused = e.problems
    assert all(isinstance(r, int) and isinstance(c, str) for r, c, _ in refused)
