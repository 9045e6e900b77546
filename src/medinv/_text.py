"""The one validator of free text fields (ids, reasons, references, names).

Every store keeps such text verbatim, so it refuses only what no store could keep
or what is no value at all: a non-string, blank text where a value is required,
text longer than the field allows, a NUL character, a lone surrogate.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from typing import Any, Final

from medinv.errors import InvalidIdentifierError

__all__ = ["percent_encoded", "text_validator"]

_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]*")


def percent_encoded(text: str) -> str:
    """``text`` as one URI segment: every character but the unreserved ones percent-encoded.

    ``urllib.parse.quote(text, safe="")``, without its cost for the usual ids that
    need no encoding (the EPCIS export writes several per movement).
    """
    if _UNRESERVED.fullmatch(text) is not None:
        return text
    return urllib.parse.quote(text, safe="")


def text_validator(
    kind: str, *, optional: bool = False, blank: bool = False, limit: int | None = None
) -> Callable[[Any, Any, Any], None]:
    """An ``attrs`` validator for the text field ``kind``.

    Args:
        kind: what the field is, for the error (``"movement id"``, ``"reason code"``).
        optional: ``None`` is allowed (otherwise it is "required").
        blank: empty or blank text is allowed.
        limit: the longest text allowed, in characters (``None``: no limit).
    """

    def check(_instance: object, _attribute: object, value: Any) -> None:
        if value is None:
            if optional:
                return
            raise InvalidIdentifierError(kind, value, "is required")
        if not isinstance(value, str):
            raise InvalidIdentifierError(kind, value, f"expected text, got {type(value).__name__}")
        if not blank and not value.strip():
            raise InvalidIdentifierError(kind, value, "must not be blank")
        if limit is not None and len(value) > limit:
            raise InvalidIdentifierError(
                kind, value[:40] + "...", f"longer than {limit} characters"
            )
        nul = value.find("\x00")
        if nul >= 0:
            raise InvalidIdentifierError(kind, value[:40], "contains a NUL character", offset=nul)
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError as e:
                raise InvalidIdentifierError(
                    kind,
                    value[:40],
                    f"contains the lone surrogate {value[e.start]!r}",
                    offset=e.start,
                ) from None

    return check
