"""A progress line on standard error for long work: ``verify: 12,000 / 50,000 movements (24 %)``.

Shown only when standard error is a terminal and ``--no-progress`` is not given;
redrawn at most ten times a second with a carriage return, and erased when the
work ends, so that nothing is left in logs or pipes.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]

_INTERVAL = 0.1
"""Seconds between two redraws."""


class Progress:
    """Counts work done and redraws one line on ``stream`` (when ``enabled``)."""

    def __init__(self, stream: TextIO, label: str, total: int, *, enabled: bool) -> None:
        self._stream = stream
        self._label = label
        self._total = total
        self._enabled = enabled
        self._done = 0
        self._drawn_at = 0.0
        self._width = 0

    @classmethod
    def for_terminal(cls, stream: TextIO, label: str, total: int, *, wanted: bool) -> Progress:
        """A progress line shown only when ``wanted`` and ``stream`` is a terminal."""
        isatty = getattr(stream, "isatty", None)
        return cls(stream, label, total, enabled=wanted and callable(isatty) and bool(isatty()))

    @property
    def done(self) -> int:
        """How much work was counted."""
        return self._done

    def advance(self, amount: int = 1) -> None:
        """Count ``amount`` more done; redraw when the last redraw is old enough."""
        self._done += amount
        if self._enabled:
            now = time.monotonic()
            if now - self._drawn_at >= _INTERVAL:
                self._drawn_at = now
                self._draw()

    def line(self) -> str:
        """The text shown: done, total and percentage."""
        if self._total > 0:
            percent = min(100, self._done * 100 // self._total)
            return f"{self._label}: {self._done:,} / {self._total:,} ({percent} %)"
        return f"{self._label}: {self._done:,}"

    def _draw(self) -> None:
        text = self.line()
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        self._stream.write(f"\r{text}{padding}")
        self._stream.flush()

    def finish(self) -> None:
        """Erase the line (when one was drawn)."""
        if self._enabled and self._width:
            self._stream.write("\r" + " " * self._width + "\r")
            self._stream.flush()
            self._width = 0
