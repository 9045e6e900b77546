from __future__ import annotations

import io
from typing import Any

import pendulum
import pytest

from medinv.barcodes import Agency, Carrier, Scan
from medinv.errors import CountImportError, CountLineError, InvalidValueError
from medinv.identifiers import Gtin, ItemKey
from medinv.locations import Location
from medinv.status import StockStatus
from medinv.stocktake import (
    CountLine,
    CountSource,
    Stocktake,
    StocktakeScope,
    count_line_from_scan,
    counter_view,
    duplicate_serials,
    import_counts,
    import_counts_csv,
    merge_lines,
)

A1 = Location.parse("Main/Store/A1")
AT = pendulum.datetime(2026, 11, 23, 10, tz="Europe/Paris")
GTIN = "04006381333931"


def scan(**kw: Any) -> Scan:
    fields: dict[str, Any] = {
        "agency": Agency.GS1,
        "carrier": Carrier.GS1_HUMAN_READABLE,
        "gtin": GTIN,
        "lot": "L1",
        "expiry": pendulum.date(2027, 6, 30),
        "raw": "(01)04006381333931(17)270630(10)L1",
    }
    return Scan(**(fields | kw))


# --------------------------------------------------------------------------- scans


def test_line_from_a_parsed_scan():
    line = count_line_from_scan(
        scan(), line_id="d1-1", counter="ana", device="d1", counted_at=AT, location=A1
    )
    assert (line.item, line.quantity, line.expiry, line.source, line.raw) == (
        ItemKey(GTIN, lot="L1"),
        1,
        pendulum.date(2027, 6, 30),
        CountSource.SCAN,
        "(01)04006381333931(17)270630(10)L1",
    )
    boxed = count_line_from_scan(
        scan(quantity=12),
        line_id="d1-2",
        counter="ana",
        device="d1",
        counted_at=AT,
        location=A1,
        status=StockStatus.QUARANTINE,
    )
    assert (boxed.quantity, boxed.status) == (12, StockStatus.QUARANTINE)
    override = count_line_from_scan(
        scan(quantity=12),
        line_id="d1-3",
        counter="ana",
        device="d1",
        counted_at=AT,
        location=A1,
        quantity=3,
        recount_of="x",
    )
    assert (override.quantity, override.recount_of) == (3, "x")


def test_line_from_scanned_text_uses_the_given_parser():
    seen = []

    def parse(text: str) -> Scan:
        seen.append(text)
        return scan(raw=text)

    line = count_line_from_scan(
        "]C1...",
        line_id="x",
        counter="ana",
        device="d1",
        counted_at=AT,
        location=A1,
        parse=parse,
    )
    assert seen == ["]C1..."] and line.raw == "]C1..."


def test_default_parser_is_medinv_parse_scan():
    line = count_line_from_scan(
        "]d2010400638133393117270630104711\x1d21SN-9",
        line_id="x",
        counter="ana",
        device="d1",
        counted_at=AT,
        location=A1,
    )
    assert line.item == ItemKey(GTIN, lot="4711", serial="SN-9")
    assert line.expiry == pendulum.date(2027, 6, 30) and line.quantity == 1
    with pytest.raises(InvalidValueError):
        count_line_from_scan(
            "]d201040063813339",
            line_id="y",
            counter="ana",
            device="d1",
            counted_at=AT,
            location=A1,
        )


def test_scan_without_gtin_is_refused():
    sscc = scan(gtin=None, lot=None, sscc="106141411234567897", carrier=Carrier.PLAIN_SSCC)
    with pytest.raises(InvalidValueError, match="names no GTIN"):
        count_line_from_scan(
            sscc, line_id="x", counter="ana", device="d1", counted_at=AT, location=A1
        )


# --------------------------------------------------------------------------- CSV

GOOD = """location,gtin,lot,serial,quantity,counted_at,counter,expiry,status
Main/Store/A1,4006381333931,L1,,12,2026-11-23T10:00:00+01:00,ana,2027-06-30,
Main/Store/A2,04006381333931,,SN 7,1,2026-11-23T10:05:00+01:00,bob,,quarantine
"""


def test_import_csv():
    lines = import_counts_csv(GOOD)
    assert [
        (str(x.location), str(x.item), x.quantity, x.counter, x.status.value) for x in lines
    ] == [
        ("Main/Store/A1", "(01)04006381333931(10)L1", 12, "ana", "AVAILABLE"),
        ("Main/Store/A2", "(01)04006381333931(21)SN 7", 1, "bob", "QUARANTINE"),
    ]
    assert lines[0].expiry == pendulum.date(2027, 6, 30)
    assert all(x.source is CountSource.CSV and x.device == "csv" for x in lines)
    assert lines[0].id != lines[1].id
    assert import_counts_csv(io.StringIO(GOOD)) == lines  # same file, same ids


def test_import_csv_defaults_and_explicit_ids():
    text = "\ufeffLine_ID ; Location ; GTIN ; Quantity ; Recount_Of\nx1;Main/A;96385074;3;\nx2;Main/A;96385074;4;x1\n"
    lines = import_counts_csv(text, counter="ana", device="tablet", counted_at=AT, delimiter=";")
    assert [(x.id, x.counter, x.device, x.counted_at, x.recount_of) for x in lines] == [
        ("x1", "ana", "tablet", AT, None),
        ("x2", "ana", "tablet", AT, "x1"),
    ]


def test_lots_are_kept_verbatim():
    text = "location,gtin,lot,quantity,counted_at,counter\nMain/A,96385074, L1 ,3,2026-11-23T10:00:00Z,ana\n"
    assert import_counts_csv(text)[0].item.lot.value == " L1 "  # type: ignore[union-attr]


def test_csv_errors_name_every_row_and_column():
    text = (
        "location,gtin,lot,quantity,counted_at,counter\n"
        "Main//A,96385074,L1,3,2026-11-23T10:00:00Z,ana\n"
        "Main/A,96385075,L1,-2,2026-11-23T10:00:00,ana\n"
        "\n"
        "Main/A,96385074,L1,3,2026-11-23T10:00:00Z,\n"
        "Main/A,96385074,L\u00e91,x,2026-11-23T10:00:00Z,ana\n"
        "Main/A,96385074\n"
        "Main/A,96385074,L1,3,2026-11-23T10:00:00Z,ana\n"
    )
    with pytest.raises(CountImportError) as info:
        import_counts_csv(text)
    cells = [(row, column) for row, column, _ in info.value.problems]
    assert cells == [
        (2, "location"),
        (3, "gtin"),
        (3, "quantity"),
        (3, "counted_at"),
        (5, "counter"),
        (6, "lot"),
        (6, "quantity"),
        (7, "*"),
    ]
    message = str(info.value)
    assert "8 problem(s)" in message and "row 3, column 'quantity'" in message
    assert "check digit" in message


def test_csv_header_problems():
    with pytest.raises(CountImportError, match="the file is empty"):
        import_counts_csv("")
    with pytest.raises(CountImportError) as info:
        import_counts_csv("location,gtin,gtin,colour\n")
    assert [(r, c) for r, c, _ in info.value.problems] == [
        (1, "colour"),
        (1, "quantity"),
        (1, "counter"),
        (1, "counted_at"),
        (1, "gtin"),
    ]


def test_csv_line_level_problems_and_broken_quoting():
    bad_serial_qty = "location,gtin,serial,quantity,counted_at,counter\nMain/A,96385074,S1,2,2026-11-23T10:00:00Z,ana\n"
    with pytest.raises(CountImportError, match=r"row 2, column '\*'.*serial is 0 or 1"):
        import_counts_csv(bad_serial_qty)
    broken = (
        'location,gtin,quantity,counted_at,counter\n"Main/A,96385074,1,2026-11-23T10:00:00Z,ana\n'
    )
    with pytest.raises(CountImportError, match="unreadable CSV"):
        import_counts_csv(broken)


def test_many_problems_are_elided_in_the_message():
    rows = "".join("Main/A,96385074,x,2026-11-23T10:00:00Z,ana\n" for _ in range(25))
    with pytest.raises(CountImportError, match=r"25 problem\(s\).*\(and 5 more\)") as info:
        import_counts_csv("location,gtin,quantity,counted_at,counter\n" + rows)
    assert len(info.value.problems) == 25


# --------------------------------------------------------------------------- merging


def _line(line_id: str, device: str, minute: int, **kw: Any) -> CountLine:
    return CountLine(
        id=line_id,
        counter="ana",
        device=device,
        counted_at=AT.add(minutes=minute),
        location=A1,
        item=ItemKey(GTIN, lot="L1"),
        quantity=1,
        **kw,
    )


def test_lines_from_devices_merge_in_counting_order():
    d1 = [_line("a", "d1", 5), _line("b", "d1", 1)]
    d2 = [_line("c", "d2", 3), _line("b", "d1", 1)]
    merged = merge_lines(d1, d2)
    assert [x.id for x in merged] == ["b", "c", "a"]
    assert merge_lines(d2, d1) == merged
    with pytest.raises(CountLineError, match="different lines"):
        merge_lines(d1, [_line("a", "d9", 5)])


def test_duplicate_serials():
    probe = ItemKey(GTIN, serial="S1")
    lines = [
        _line("a", "d1", 1),
        CountLine(
            id="s1", counter="a", device="d1", counted_at=AT, location=A1, item=probe, quantity=1
        ),
        CountLine(
            id="s2", counter="b", device="d2", counted_at=AT, location=A1, item=probe, quantity=1
        ),
        CountLine(
            id="s3",
            counter="b",
            device="d2",
            counted_at=AT,
            location=A1,
            item=ItemKey(GTIN, serial="S2"),
            quantity=1,
        ),
    ]
    assert {k: [x.id for x in v] for k, v in duplicate_serials(lines).items()} == {
        probe: ["s1", "s2"]
    }


# --------------------------------------------------------------------------- blind view


def test_blind_counter_view_hides_the_book_until_approval():
    st = Stocktake.plan("ST", scope=StocktakeScope("Main/Store"), created_by="lea", created_at=AT)
    book = {
        (ItemKey(GTIN), A1, StockStatus.AVAILABLE): 7,
        (ItemKey(GTIN), Location.parse("Else"), StockStatus.AVAILABLE): 1,
    }
    lines = [
        _line("a", "d1", 2),
        _line("b", "d1", 1),
        _line("c", "d2", 0).__class__(
            id="c",
            counter="bob",
            device="d2",
            counted_at=AT,
            location=A1,
            item=ItemKey(GTIN),
            quantity=1,
        ),
    ]
    st = st.begin(start_position=0, at=AT)
    view = counter_view(st, counter="ana", lines=lines, book=book)
    assert view.book is None and [x.id for x in view.lines] == ["b", "a"]
    review = st.close_counting(at=AT)
    assert counter_view(review, counter="ana", lines=lines, book=book).book is None
    cancelled = review.cancel(by="lea", reason="x")
    shown = counter_view(cancelled, counter="ana", lines=lines, book=book).book
    assert shown == {(ItemKey(GTIN), A1, StockStatus.AVAILABLE): 7}
    open_count = Stocktake.plan(
        "ST2", scope=StocktakeScope("Main/Store"), created_by="lea", created_at=AT, blind=False
    ).begin(start_position=0, at=AT)
    assert counter_view(open_count, counter="bob", lines=lines, book=book).book == shown


# --------------------------------------------------------------------------- records


def test_import_structured_records():
    records = [
        {
            "location": A1,
            "gtin": Gtin(GTIN),
            "lot": "L1",
            "quantity": 3,
            "counted_at": AT,
            "expiry": pendulum.date(2027, 6, 30),
            "status": StockStatus.QUARANTINE,
        },
        {
            "location": "Main/Store/A2",
            "gtin": GTIN,
            "serial": "S 1",
            "quantity": 1,
            "counter": "bob",
            "line_id": "api-7",
            "lot": None,
        },
    ]
    lines = import_counts(records, counter="ana", device="tablet", counted_at=AT.add(hours=1))
    assert [(x.id.startswith("manual-"), x.counter, x.device, x.quantity) for x in lines] == [
        (True, "ana", "tablet", 3),
        (False, "bob", "tablet", 1),
    ]
    assert lines[0].status is StockStatus.QUARANTINE and lines[0].counted_at == AT
    assert lines[0].expiry == pendulum.date(2027, 6, 30) and lines[1].id == "api-7"
    assert (
        import_counts(records, counter="ana", device="tablet", counted_at=AT.add(hours=1)) == lines
    )
    assert lines[1].counted_at == AT.add(hours=1)
    assert import_counts([]) == []


def test_structured_records_problems_name_record_and_field():
    with pytest.raises(CountImportError, match="count records refused") as info:
        import_counts(
            [
                {"location": "Main/A", "gtin": GTIN, "quantity": True, "colour": "red"},
                "not a record",  # type: ignore[list-item]
                {"location": "Main/A", "gtin": GTIN, "quantity": object()},
            ]
        )
    assert [(r, c) for r, c, _ in info.value.problems] == [
        (1, "quantity"),
        (1, "colour"),
        (2, "*"),
        (3, "quantity"),
    ]
    with pytest.raises(CountImportError) as info:
        import_counts([{"location": "Main/A", "gtin": GTIN, "quantity": -1}], counter="ana")
    assert [(r, c) for r, c, _ in info.value.problems] == [(1, "quantity"), (1, "counted_at")]
