from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import pytest

from medinv.cli import main

GS = "\x1d"
UDI = f"]d2010950110153000317261231{GS}10AB-123{GS}21S0001"


def run(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(argv)
    return code, out.getvalue()


def test_parse_prints_fields():
    code, text = run(["parse", UDI, "--as-of", "2026-11-23"])
    assert code == 0
    assert "gtin:                 09501101530003" in text
    assert "lot:                  AB-123" in text
    assert "expiry:               2026-12-31" in text
    assert "(01)09501101530003(17)261231(10)AB-123(21)S0001" in text


def test_parse_refusal_sets_exit_code():
    code, text = run(["parse", UDI, "0109501101530004"])
    assert code == 1
    assert "refused: AI (01) GTIN 09501101530004 has a wrong check digit" in text


def test_parse_json_lenient_and_fnc1():
    code, text = run(
        ["parse", "--json", "--lenient", "--fnc1", "<GS>", "01095011015300031012<GS>21X", "21X"]
    )
    assert code == 0
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["ok"]
    assert first["scan"]["lot"] == "12"
    assert first["scan"]["serial"] == "X"
    assert first["scan"]["carrier"] == "GS1 element string"
    assert second["scan"]["warnings"]


def test_parse_json_refusal_carries_offset_and_ai():
    code, text = run(["parse", "--json", "0109501101530004"])
    assert code == 1
    record = json.loads(text)
    assert record["ok"] is False
    assert record["error"]["ai"] == "01"
    assert record["error"]["offset"] == 15


def test_parse_reads_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{UDI}\r\n\n]E05901234123457\n"))
    code, text = run(["parse", "--tz", "Europe/Paris"])
    assert code == 0
    assert text.count("agency:") == 2


def test_parse_bad_date_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        main(["parse", "--as-of", "yesterday", UDI])
    assert "as-of" in capsys.readouterr().err


def test_demo_shows_barcodes(tmp_path):
    code, text = run(["demo", "--db", str(tmp_path / "demo.sqlite3")])
    assert code == 0
    assert "== Barcodes" in text
    assert "-> GS1 Digital Link: gtin 09501101530003, lot AB-123" in text
    assert "warning: recovered missing FNC1 separator(s)" in text
    assert "refused: ambiguous scan" in text
    assert "day 00 (end of month) is not allowed" in text
