"""GS1 Digital Link and bracketed AI data verdicts of the reference, gs1/gs1-syntax-engine.

The Digital Link vectors are from src/c-lib/dl.c, test_dl_parseDLuri (default settings: no
convenience alphas, no zero-suppressed GTINs). ``expected`` is the element string the
reference produces (``^`` is FNC1), or ``None`` where it refuses the URI. Deliberate
differences are tested at the end, with the reason (see
docs/explanation/barcode-validation.md).
"""

from __future__ import annotations

import datetime as dt

import pytest

from medinv.barcodes import parse_scan
from medinv.errors import InvalidBarcodeError

AS_OF = dt.date(2026, 11, 23)

VECTORS: list[tuple[str, str | None]] = [
    ("ftp://", None),
    ("http://", None),
    ("http:///", None),
    ("http://a", None),
    ("http://a/", None),
    ("http://a/b", None),
    ("http://a/b/", None),
    ("http://a/00/006141411234567890", "^00006141411234567890"),
    ("HTTP://a/00/006141411234567890", "^00006141411234567890"),
    ("https://a/00/006141411234567890", "^00006141411234567890"),
    ("HTTPS://a/00/006141411234567890", "^00006141411234567890"),
    ("HtTp://a/b/00/006141411234567890", None),
    ("https://00/006141411234567890", None),
    ("https://a/01/12312312312333", "^0112312312312333"),
    ("https://xn--fsq.xn--0zwm56d/01/12312312312333", "^0112312312312333"),
    ("https://a./01/12312312312333", "^0112312312312333"),
    ("https://a:65535/01/12312312312333", "^0112312312312333"),
    ("https://192.0.2.1/01/12312312312333", "^0112312312312333"),
    ("https://[2001:db8::1]/01/12312312312333", "^0112312312312333"),
    ("https://[fe80::1%25lo]/01/12312312312333", None),
    ("https://$a/006141411234567890", None),
    ("https://a$/006141411234567890", None),
    ("https://a/01/12312312312333<bad", None),
    ("https://a/01/12312312312333>bad", None),
    ("https://a/01/12312312312333{bad", None),
    ("https://a/01/12312312312333}bad", None),
    ("https://a/01/12312312312333\\bad", None),
    ("https://a/01/12312312312333^bad", None),
    ("https://a/01/12312312312333`bad", None),
    ("https://a/stem/00/006141411234567890", "^00006141411234567890"),
    ("https://a/more/stem/00/006141411234567890", "^00006141411234567890"),
    ("https://a/00/faux/00/006141411234567890", "^00006141411234567890"),
    ("https://a/gtin/12312312312333", None),
    ("https://a/01/2112345678900", None),
    ("https://a/01/416000336108", None),
    ("https://a/01/02345673", None),
    ("https://a/8004/9520614141234567?01=2112345678900", None),
    ("https://a/8004/9520614141234567?01=09521234543213", "^80049520614141234567^0109521234543213"),
    ("https://a/01/12312312312333/22/TEST/10/ABC/21/XYZ", "^011231231231233322TEST^10ABC^21XYZ"),
    ("https://a/01/12312312312333/235/TEST", "^0112312312312333235TEST"),
    ("https://a/253/1231231231232", "^2531231231231232"),
    ("https://a/253/1231231231232TEST5678901234567", "^2531231231231232TEST5678901234567"),
    ("https://a/253/1231231231232TEST56789012345678", None),
    ("https://a/8018/123456789012345675/8019/123", "^8018123456789012345675^8019123"),
    ("https://a/stem/00/006141411234567890/", None),
    ("https://a/stem/00/006141411234567890?", "^00006141411234567890"),
    ("https://a/stem/00/006141411234567890?99=ABC", "^0000614141123456789099ABC"),
    ("https://a/stem/401/12345678?99=ABC", "^40112345678^99ABC"),
    ("https://a/01/12312312312333?99=ABC&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=", None),
    ("https://a/01/12312312312333?99=ABC&999=faux", None),
    ("https://a/01/12312312312333?&&&99=ABC&&&&&&98=XYZ&&&", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=ABC&unknown=666&98=XYZ", "^011231231231233399ABC^98XYZ"),
    ("https://a/01/12312312312333?99=ABC&singleton&98=XYZ", "^011231231231233399ABC^98XYZ"),
    (
        "https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ%2f987",
        "^011231231231233322ABC-123^99ABC^98XYZ/987",
    ),
    (
        "https://a/01/12312312312333/22/ABC+123?99=ABC&98=XYZ%2f987",
        "^011231231231233322ABC+123^99ABC^98XYZ/987",
    ),
    ("https://a/01/12312312312333/22/ABC%2d123?99=ABC&98=XYZ+987", None),
    ("https://a/01/12312312312333/22/test/10/abc/21/xyz#", "^011231231231233322test^10abc^21xyz"),
    (
        "https://a/01/12312312312333/22/test/10/abc/21/xyz#fragment",
        "^011231231231233322test^10abc^21xyz",
    ),
    ("https://a/stem/00/006141411234567890?99=ABC#fragment", "^0000614141123456789099ABC"),
    ("https://id.gs1.org/01/09520123456788", "^0109520123456788"),
    ("https://id.gs1.org/01/09520123456788/22/2A", "^0109520123456788222A"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123", "^010952012345678810ABC123"),
    (
        "https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426",
        "^010952012345678810ABC1^2112345^17180426",
    ),
    (
        "https://example.com/01/09520123456788?3103=000195&3922=0299&17=201225",
        "^0109520123456788310300019539220299^17201225",
    ),
    (
        "https://id.gs1.org/00/952012345678912345?02=09520123456788&37=25&10=ABC123",
        "^0095201234567891234502095201234567883725^10ABC123",
    ),
    ("https://id.gs1.org/414/9520123456788", "^4149520123456788"),
    ("https://id.gs1.org/414/9520123456788/254/32a%2Fb", "^414952012345678825432a/b"),
    (
        "https://example.com/8004/9520614141234567?01=09520123456788",
        "^80049520614141234567^0109520123456788",
    ),
    ("https://example.com/01/09520123456788?10=ABC123", None),
    ("https://id.gs1.org/01/09520123456788/235/XYZ?10=ABC123", "^0109520123456788235XYZ^10ABC123"),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&01=09520123456788", None),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&10=ABC123", None),
    ("https://id.gs1.org/01/09520123456788/10/ABC123?99=XYZ789&99=XYZ789", None),
    ("https://example.com/01/09520123456788/89/ABC123?99=XYZ", None),
    ("https://example.com/01/09520123456788?99=XYZ&89=ABC123", None),
    ("https://a/01//12312312312333", None),
    ("https://a/01/1231231231233%003", None),
    ("https://a/01/12312312312333?99=ABC%00DEF", None),
    ("https://a/01/12312312312333/10/", None),
    ("https://a/01/12312312312333/99/ABC", None),
]


def _element_string(ais: dict[str, str]) -> str:
    return "".join(f"({ai}){value}" for ai, value in ais.items())


def _expected_ais(expected: str) -> dict[str, str]:
    scan = parse_scan("]d2" + expected.replace("^", "\x1d"), as_of=AS_OF, lenient=True)
    return dict(scan.ais)


@pytest.mark.parametrize(("uri", "expected"), VECTORS)
def test_digital_link_verdicts_match_the_reference(uri, expected):
    if expected is None:
        with pytest.raises(InvalidBarcodeError):
            parse_scan(uri, as_of=AS_OF)
        return
    scan = parse_scan(uri, as_of=AS_OF)
    assert _element_string(dict(scan.ais)) == _element_string(_expected_ais(expected))


def test_percent_not_followed_by_two_hex_digits_is_refused():
    # Deliberate difference: the reference keeps "%ZZ" as the three characters
    # (src/c-lib/dl.c, test_dl_URIunescape: "A%4gB" -> "A%4gB"); such a URI is not
    # valid RFC 3986 and is refused here.
    with pytest.raises(InvalidBarcodeError, match="two hex digits"):
        parse_scan("https://a/01/12312312312333/10/A%ZZ", as_of=AS_OF)


# gs1/gs1-syntax-engine src/c-lib/ai.c, test_ai_parseAIdata: bracketed AI data. The
# reference's parse step does not check mandatory associations, so lenient mode here.
HRI_VECTORS: list[tuple[str, str | None]] = [
    ("(01)12345678901231", "^0112345678901231"),
    ("(10)12345", "^1012345"),
    ("(01)12345678901231(10)12345", "^01123456789012311012345"),
    ("(3100)123456(10)12345", "^31001234561012345"),
    ("(10)12345(11)991225", "^1012345^11991225"),
    ("(3900)12345(11)991225", "^390012345^11991225"),
    ("(10)12345\\(11)991225", "^1012345(11)991225"),
    ("(10)12345\\(", "^1012345("),
    ("(235)ABC", "^235ABC"),
    ("(01)12345678901231(235)XYZ", "^0112345678901231235XYZ"),
    ("(235)ABCDEFGHIJKLMNOPQRSTUVWXYZ12", "^235ABCDEFGHIJKLMNOPQRSTUVWXYZ12"),
    ("(235)ABCDEFGHIJKLMNOPQRSTUVWXYZ123", None),
    ("(10)(11)98765", None),
    ("(10)12345(11)", None),
    ("(1A)12345", None),
    ("1(12345", None),
    ("()12345", None),
    ("(1)12345", None),
    ("(12345)12345", None),
    ("(15", None),
    ("(1", None),
    ("(", None),
    ("(01)123456789012312(10)12345", None),
    ("(10)12345^", None),
    ("(17)9(90)217", None),
]


@pytest.mark.parametrize(("text", "expected"), HRI_VECTORS)
def test_bracketed_ai_data_verdicts_match_the_reference(text, expected):
    if expected is None:
        with pytest.raises(InvalidBarcodeError):
            parse_scan(text, as_of=AS_OF, lenient=True)
        return
    scan = parse_scan(text, as_of=AS_OF, lenient=True)
    assert _element_string(dict(scan.ais)) == _element_string(_expected_ais(expected))


# gs1/gs1-syntax-engine src/c-lib/scandata.c, test_scandata_processScanData: GS1
# Composite symbols (linear data "|" then the 2D component's "]e0" data).
@pytest.mark.parametrize(
    ("text", "ais"),
    [
        (
            "]E02112345678900|]e099COMPOSITE\x1d98XYZ",
            {"01": "02112345678900", "99": "COMPOSITE", "98": "XYZ"},
        ),
        (
            "]E402345673|]e099COMPOSITE\x1d98XYZ",
            {"01": "00000002345673", "99": "COMPOSITE", "98": "XYZ"},
        ),
        ("]e00112312312312333|]e010ABC", {"01": "12312312312333", "10": "ABC"}),
    ],
)
def test_composite_symbols(text, ais):
    assert dict(parse_scan(text, as_of=AS_OF).ais) == ais


@pytest.mark.parametrize(
    "text",
    ["]E02112345678901|]e099X", "]E0", "]E01234567890", "]E402345674", "]e0", "]C1", "]d2"],
)
def test_scan_data_refusals(text):
    with pytest.raises(InvalidBarcodeError):
        parse_scan(text, as_of=AS_OF)


def test_upc_a_under_ean_identifier_is_accepted():
    # Deliberate difference: the reference refuses 12 digits after ]E0 ("Short");
    # scanners configured to drop UPC-A's leading zero send exactly that.
    assert parse_scan("]E0123456789012", as_of=AS_OF).gtin == "00123456789012"
