r"""Who did something: actor names compared as people, not as strings.

An actor is named by free text (a user id, a login, a device id). Two names denote
the same person when their **normalised forms** are equal:

1. Unicode NFKC (compatibility forms fold: full-width letters are plain letters);
2. case folding (``Lea`` and ``LEA`` are ``lea``; German ``ß`` is ``ss``);
3. surrounding white space is stripped and inner runs of white space count as one
   space (``"lea "`` is ``lea``; ``"j.  martin"`` is ``j. martin``).

A name that could fool a reader is refused with
[`InvalidIdentifierError`][medinv.errors.InvalidIdentifierError] (an
[`InvalidValueError`][medinv.errors.InvalidValueError]) naming the field:

- invisible characters: control and format characters (zero-width space and
  joiners, soft hyphen, byte order mark ...), variation selectors, fillers;
- bidirectional controls (right-to-left overrides, isolates, marks);
- letters of confusable scripts mixed in one name (a Latin ``a`` next to a
  Cyrillic ``a``, a Greek omicron in a Latin name ...); a single script is fine, as are the
  mixes writing systems use (Latin with Han, Hiragana and Katakana; with Hangul;
  with Bopomofo);
- names blank once normalised.

The text stored is always the text given; only comparisons (four eyes, "a
different counter") use the normalised form.

```pycon
>>> actor_key("  Lea ")
'lea'
>>> same_actor("lea", "LEA"), same_actor("lea", "léa")
(True, False)
>>> check_actor("lea\u200b", field="approver")
Traceback (most recent call last):
...
medinv.errors.InvalidIdentifierError: invalid approver 'lea\u200b' at offset 3: contains an invisible character (U+200B ZERO WIDTH SPACE)

```
"""  # noqa: E501  (the doctest output is one line)

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable
from typing import Any, Final, NoReturn

from medinv.errors import InvalidIdentifierError

__all__ = ["actor_key", "actor_validator", "check_actor", "same_actor"]

_BIDI_CONTROLS: Final = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Default-ignorable characters that are not format characters (Cf): they render as
# nothing and would let two different-looking strings look alike.
_INVISIBLE_EXTRA: Final = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u180f\u2800\u3164\uffa0"
)
_INVISIBLE_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})

# Scripts that mix with each other in real names (UTS #39 "highly restrictive").
_ALLOWED_MIXES: Final = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)
_SCRIPT_ALIASES: Final = {"CJK": "HAN", "KANGXI": "HAN", "IDEOGRAPHIC": "HAN"}


def _is_invisible(char: str) -> bool:
    if char in _INVISIBLE_EXTRA:
        return True
    if "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef":
        return True  # variation selectors
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


@functools.lru_cache(maxsize=4096)
def _script(char: str) -> str | None:
    """The script of a letter (from its Unicode name), ``None`` for anything else."""
    if not unicodedata.category(char).startswith("L"):
        return None  # digits, punctuation, marks and symbols belong to no script here
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0].split("-", 1)[0]
    if first == "MODIFIER" or name.startswith("KATAKANA-HIRAGANA"):
        return None  # modifier letters and the prolonged sound mark are used by many scripts
    return _SCRIPT_ALIASES.get(first, first) or None


def _scripts_allowed(scripts: set[str]) -> bool:
    if len(scripts) <= 1:
        return True
    return any(scripts <= mix for mix in _ALLOWED_MIXES)


def _refuse(field: str, value: object, reason: str, offset: int | None = None) -> NoReturn:
    raise InvalidIdentifierError(field, value, reason, offset=offset)


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"


def _check_characters(value: str, field: str) -> None:
    for offset, char in enumerate(value):
        if char in _BIDI_CONTROLS:
            _refuse(field, value, f"contains a bidi control character ({_describe(char)})", offset)
        if char != " " and _is_invisible(char):
            _refuse(field, value, f"contains an invisible character ({_describe(char)})", offset)


@functools.lru_cache(maxsize=65536)
def _normalise(value: str, field: str) -> str:
    _check_characters(value, field)
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).casefold())
    key = " ".join(folded.split())
    if not key:
        _refuse(field, value, "must not be blank")
    scripts: set[str] = set()
    for char in key:
        script = _script(char)
        if script is not None:
            scripts.add(script)
    if not _scripts_allowed(scripts):
        names = ", ".join(sorted(s.title() for s in scripts))
        _refuse(field, value, f"mixes letters of confusable scripts ({names})")
    return key


def actor_key(name: object, *, field: str = "actor") -> str:
    """The normalised form of an actor name: what two names are compared on.

    Args:
        name: the name as given.
        field: what the name is (``"approver"``, ``"counter"`` ...), for the error.

    Raises:
        InvalidIdentifierError: not text, blank, or holding invisible, bidi-control or
            mixed-script confusable characters.
    """
    if not isinstance(name, str):
        _refuse(field, name, f"expected text, got {type(name).__name__}")
    return _normalise(name, field)


def check_actor(name: object, *, field: str = "actor") -> str:
    """Validate an actor name and return it **as given** (the text stored).

    Raises:
        InvalidIdentifierError: see [`actor_key`][medinv.actors.actor_key].
    """
    if not isinstance(name, str):
        _refuse(field, name, f"expected text, got {type(name).__name__}")
    _normalise(name, field)
    return name


def same_actor(first: str, second: str) -> bool:
    """Whether two actor names denote the same person (equal normalised forms).

    Raises:
        InvalidIdentifierError: either name is refused by
            [`actor_key`][medinv.actors.actor_key].
    """
    return actor_key(first) == actor_key(second)


def actor_validator(field: str) -> Callable[[Any, Any, Any], None]:
    """An ``attrs`` validator refusing actor names that ``actor_key`` refuses."""

    def validate(_instance: object, _attribute: object, value: Any) -> None:
        actor_key(value, field=field)

    return validate
