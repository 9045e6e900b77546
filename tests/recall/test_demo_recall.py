"""The demo's recall section: from the scan to a reconciliation with nothing unaccounted."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

from medinv.adapters.sqlite import SqliteStore
from medinv.cli import main
from medinv.ledger import Ledger


def test_demo_tells_the_recall_story(tmp_path: Path):
    for _run in range(2):  # a second run over the same --db starts afresh
        out = io.StringIO()
        with redirect_stdout(out):
            assert main(["demo", "--db", str(tmp_path / "medinv.sqlite3")]) == 0
        text = out.getvalue()
        section = text[text.index("== Recall") :]
        assert "18 at CHU-Nord/Pharmacy: AVAILABLE -> RECALLED" in section
        assert "quarantine again: 0 unit(s) moved (nothing new)" in section
        assert "a late delivery of 6 lands RECALLED" in section
        assert "PATIENT    PATIENT:P-48213" in section
        assert "unaccounted 10, effectiveness 0%" in section
        assert "closing now: refused" in section
        assert "unaccounted 0, effectiveness 100%" in section
        assert "closed by qa-lead: every unit accounted for" in section
    with SqliteStore(tmp_path / "medinv.sqlite3") as store:
        assert Ledger(store).verify().ok
        (record,) = store.recalls.campaigns()
        assert record.closing is not None
