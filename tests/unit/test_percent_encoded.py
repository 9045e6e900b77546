"""`medinv._text.percent_encoded` is `urllib.parse.quote(text, safe="")`, with a fast path."""

from __future__ import annotations

import urllib.parse

from hypothesis import given
from hypothesis import strategies as st

from medinv._text import percent_encoded


@given(st.text() | st.from_regex(r"[A-Za-z0-9_.~-]*", fullmatch=True))
def test_it_is_quote_with_nothing_safe(text: str) -> None:
    assert percent_encoded(text) == urllib.parse.quote(text, safe="")
