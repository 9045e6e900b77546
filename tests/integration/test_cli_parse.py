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


# --------------------------------------------------------------------------- issue 13: robustness

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

_CLI = [sys.executable, "-c", "import sys; from medinv.cli import main; sys.exit(main())"]


def cli(args: list[str | bytes], *, stdin: bytes = b"", env: dict[str, str] | None = None):
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", **(env or {})}
    return subprocess.run(
        [*_CLI, *args], input=stdin, capture_output=True, env=environment, timeout=60, check=False
    )


def test_undecodable_stdin_line_is_a_refusal_for_that_scan_only():
    done = cli(["parse"], stdin=b"0109501101530003\n01\xff\xfe\n]E05901234123457\n")
    assert done.returncode == 1
    assert done.stderr == b""
    out = done.stdout.decode("utf-8")
    assert "gtin:                 09501101530003" in out
    assert "not valid UTF-8 (undecodable byte at offset 2)" in out
    assert "gtin:                 05901234123457" in out


def test_undecodable_argument_is_a_refusal_not_a_traceback():
    done = cli(["parse", b"01\xff", "0109501101530003"], env={"LC_ALL": "C.UTF-8"})
    assert done.stderr == b"", done.stderr
    assert done.returncode == 1
    out = done.stdout.decode("utf-8")
    assert "argument is not valid UTF-8" in out
    assert "09501101530003" in out


def test_undecodable_argument_in_json_output():
    done = cli(["parse", "--json", b"01\xff"])
    assert done.stderr == b""
    record = json.loads(done.stdout)
    assert record["ok"] is False
    assert record["input"] == "01\\xff"


def test_output_the_stream_cannot_encode_is_escaped():
    done = cli(["parse", "0109501101530003é"], env={"PYTHONIOENCODING": "ascii:strict"})
    assert done.stderr == b""
    assert done.returncode == 1
    assert b"\\xe9" in done.stdout


def test_output_piped_into_head_exits_quietly():
    scans = b"0109501101530003\n" * 20_000
    done = subprocess.run(  # noqa: S602  (the point is a real pipe into head)
        f"{_quoted(_CLI)} parse | head -1",
        shell=True,
        input=scans,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.stdout == b"'0109501101530003'\n"
    assert done.stderr == b"", done.stderr


def _quoted(argv: list[str]) -> str:
    import shlex  # noqa: PLC0415

    return " ".join(shlex.quote(a) for a in argv)


def test_help_lists_hibc_and_ma():
    done = cli(["parse", "--help"])
    out = done.stdout.decode("utf-8")
    assert done.returncode == 0
    assert "HIBC" in out
    assert "MA codes" in out
    assert "--fnc1" in out
    top = cli(["--help"]).stdout.decode("utf-8")
    assert "HIBC, MA" in top


def test_a_typed_gs_escape_gets_a_hint_about_fnc1():
    code, text = run(["parse", r"0109501101530003\x1d10AB"])
    assert code == 1
    assert "--fnc1 '\\x1d'" in text
    code, text = run(["parse", "--fnc1", r"\x1d", r"]d20109501101530003\x1d10AB\x1d21C"])
    assert code == 0
    assert "serial:               C" in text


class _Stdin(io.TextIOWrapper):
    """A text stdin over bytes, with ``buffer`` as a real one has."""


def test_stdin_bytes_are_decoded_per_line_in_process(monkeypatch):
    raw = io.BytesIO(b"0109501101530003\r\n\n01\xff\n")
    monkeypatch.setattr("sys.stdin", _Stdin(raw, encoding="utf-8"))
    code, text = run(["parse", "--json"])
    first, second = (json.loads(line) for line in text.splitlines())
    assert code == 1
    assert first["ok"] is True
    assert second["ok"] is False
    assert second["input"] == "01\\xff"
    assert "offset 2" in second["error"]["message"]


def test_surrogate_escaped_argument_in_process():
    code, text = run(["parse", "01\udcff"])
    assert code == 1
    assert "argument is not valid UTF-8 (undecodable byte at offset 2)" in text
    assert "'01\\\\xff'" in text


class _ClosedPipe(io.StringIO):
    def write(self, _text: str) -> int:
        raise BrokenPipeError


def test_a_closed_pipe_ends_quietly_in_process():
    from medinv.cli import _parse  # noqa: PLC0415

    args = _parse_args(["parse", "0109501101530003"])
    assert _parse.run(args, _ClosedPipe()) == 0


def _parse_args(argv: list[str]):
    import argparse  # noqa: PLC0415

    from medinv.cli import _parse  # noqa: PLC0415

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    _parse.configure(commands.add_parser("parse"))
    return parser.parse_args(argv)


def test_provider_label_fields_are_shown():
    from medinv.barcodes import hibc_check_character  # noqa: PLC0415

    body = "+/CP123456789"
    code, text = run(["parse", body + hibc_check_character(body)])
    assert code == 0
    assert "carrier:              HIBC provider application" in text
    assert "hibc_provider_type:   C" in text
    assert "hibc_provider_data:   P123456789" in text
