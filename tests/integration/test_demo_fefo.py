from __future__ import annotations

import io
from pathlib import Path

from medinv.cli._demo import SECTIONS, DemoContext
from medinv.cli._demo_fefo import fefo_allocation


def test_fefo_demo_section_picks_the_lot_expiring_today_and_explains_the_skips(tmp_path: Path):
    out = io.StringIO()
    fefo_allocation(out, DemoContext(db_path=tmp_path / "demo.sqlite3"))
    text = out.getvalue()
    assert "pick  6 x lot CATH-TODAY (expires 2026-11-23)" in text
    assert (
        "skipped lot CATH-YDAY at CHU-Nord/Pharmacy/A/01 (expires 2026-11-22, AVAILABLE): EXPIRED"
        in text
    )
    assert (
        "skipped lot CATH-QC at CHU-Nord/Pharmacy/A/01 (expires 2026-12-13, QUARANTINE): NOT_AVAILABLE_STATUS"
        in text
    )
    assert "now at CHU-Nord/Cardiology/Cabinet-1: 8 available" in text
    assert "now at CHU-Nord/Oncology/Cabinet-2: 5 available" in text
    assert "ledger verified: ok" in text
    assert "x lot CATH-YDAY" not in text  # the expired lot is never picked
    assert "x lot CATH-QC" not in text  # nor the quarantined one
    assert fefo_allocation in SECTIONS
