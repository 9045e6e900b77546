"""Plain-text tables for the commands' output: one header, columns padded to fit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

__all__ = ["write_table"]


def write_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Write ``rows`` under ``header``, each column as wide as its widest cell."""
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    for line in (header, *rows):
        out.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
        out.write("\n")
