from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from medinv.cli import main


def test_demo_runs_in_process(tmp_path: Path):
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["demo", "--db", str(tmp_path / "demo" / "medinv.sqlite3")]) == 0
    text = out.getvalue()
    assert "GTIN-14" in text
    assert "30 EA to boxes: refused" in text
    assert "as of 2026-12-01: EXPIRED" in text
    assert text.rstrip().endswith("Demo complete.")


def test_unknown_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
