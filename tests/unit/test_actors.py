"""Actor names: compared as people (NFKC, case-folded, blanks), deceptive names refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from medinv.actors import actor_key, actor_validator, check_actor, same_actor
from medinv.errors import InvalidIdentifierError, InvalidValueError


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("lea", "Lea"),
        ("lea", "LEA "),
        ("lea", "\u00a0lea\u3000"),  # no-break and ideographic spaces are blanks
        ("lea", "\uff4c\uff45\uff41"),  # full-width
        ("j. martin", "J.  Martin"),
        ("strasse", "Stra\u00dfe"),
        ("l\u00e9a", "le\u0301a"),  # composed and decomposed accents
        ("\u7530\u4e2d taro", "\u7530\u4e2d Taro"),  # Han with Latin
        ("o\u02bcbrien", "O\u02bcBrien"),  # a modifier letter apostrophe belongs to no script
    ],
)
def test_the_same_person_however_typed(first, second):
    assert same_actor(first, second)
    assert actor_key(first) == actor_key(second)


@pytest.mark.parametrize(("first", "second"), [("lea", "l\u00e9a"), ("ana", "anna"), ("a b", "ab")])
def test_different_people(first, second):
    assert not same_actor(first, second)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("le\u200ba", "invisible character (U+200B ZERO WIDTH SPACE)"),
        ("lea\u200d", "invisible"),  # zero-width joiner
        ("\ufefflea", "invisible"),  # byte order mark
        ("le\u00ada", "invisible"),  # soft hyphen
        ("lea\ufe0f", "invisible"),  # variation selector
        ("lea\u3164", "invisible"),  # Hangul filler
        ("lea\x00", "invisible"),
        ("le\ta", "invisible"),
        ("lea\u2028x", "invisible"),  # line separator
        ("\u202eael", "bidi control"),
        ("lea\u2066", "bidi control"),
        ("\u200flea", "bidi control"),
        ("l\u0435a", "confusable scripts (Cyrillic, Latin)"),  # Cyrillic e
        ("\u03bfscar", "confusable scripts (Greek, Latin)"),  # Greek omicron
        ("\u0561bc", "confusable scripts (Armenian, Latin)"),
        ("", "blank"),
        ("   ", "blank"),
        ("\u3000", "blank"),
        ("lea\ud800", "invisible"),  # a lone surrogate
    ],
)
def test_deceptive_names_are_refused_naming_the_field(name, reason):
    with pytest.raises(InvalidIdentifierError, match="approver") as refused:
        actor_key(name, field="approver")
    assert reason in str(refused.value)
    assert refused.value.kind == "approver" and refused.value.value == name


@pytest.mark.parametrize(
    "name",
    [
        "\u0418\u0432\u0430\u043d",
        "\u039d\u03af\u03ba\u03bf\u03c2",
        "\u5c71\u7530\u3055\u304f\u3089",
        "\uae40\ubbfc\uc900 Kim",
        "agent-7",
        "007",
        "J\u00fcrgen M\u00fcller-L\u00fcdenscheid",
    ],
)
def test_single_script_and_customary_mixes_are_accepted(name):
    assert check_actor(name) == name


@pytest.mark.parametrize("value", [None, 42, b"lea", ["lea"]])
def test_non_text_is_refused(value):
    with pytest.raises(InvalidValueError, match="expected text"):
        actor_key(value, field="counter")
    with pytest.raises(InvalidValueError, match="counter"):
        check_actor(value, field="counter")
    with pytest.raises(InvalidValueError):
        actor_validator("counter")(None, None, value)


@given(st.text(max_size=30))
def test_any_text_is_a_person_or_a_clear_refusal(text):
    refused: InvalidIdentifierError | None = None
    key = ""
    try:
        key = actor_key(text)
    except InvalidIdentifierError as e:
        refused = e
    if refused is not None:
        assert refused.kind == "actor"
        return
    assert key == actor_key(key)  # the normal form is stable
    assert key == key.strip() and "  " not in key
    assert actor_key(f"  {text} ") == key
