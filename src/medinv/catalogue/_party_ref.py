"""A reference to a party by kind and id: what a movement records of who it was with."""

from __future__ import annotations

from typing import Any

import attrs

from medinv.catalogue._places import Party, PartyKind, _party_id
from medinv.errors import InvalidValueError

__all__ = ["PartyRef"]


def _to_kind(value: object) -> object:
    if isinstance(value, str):
        try:
            return PartyKind(value.strip().upper())
        except ValueError:
            known = ", ".join(kind.value for kind in PartyKind)
            raise InvalidValueError(
                f"unknown party kind {value!r:.40}: expected one of {known}"
            ) from None
    return value


def _check_id(instance: PartyRef, attribute: Any, value: Any) -> None:
    _party_id(instance, attribute, value)  # type: ignore[arg-type]  # checks kind and id alike


@attrs.frozen(kw_only=True, cache_hash=True)
class PartyRef:
    """Who a movement was with: a party's kind and id, never its name.

    The id is checked as [`Party`][medinv.catalogue.Party] checks it: a patient is
    named only by a pseudonymous reference. The text form is ``KIND:id``, the
    party's [`key`][medinv.catalogue.Party.key].

    ```pycon
    >>> PartyRef.parse("PATIENT:P-00042")
    PartyRef(kind=<PartyKind.PATIENT: 'PATIENT'>, id='P-00042')
    >>> str(PartyRef(kind="department", id="CARDIO"))
    'DEPARTMENT:CARDIO'

    ```

    Raises:
        InvalidValueError: an unknown kind, an invalid id, or a patient named by
            something that is not a pseudonym.
    """

    kind: PartyKind = attrs.field(
        converter=_to_kind, validator=attrs.validators.instance_of(PartyKind)
    )
    """What kind of party."""
    id: str = attrs.field(validator=_check_id)
    """The party's id (for a patient: the pseudonym)."""

    @classmethod
    def of(cls, party: Party) -> PartyRef:
        """The reference to ``party`` (its kind and id)."""
        if not isinstance(party, Party):
            raise InvalidValueError(f"expected a Party, not {type(party).__name__}")
        return cls(kind=party.kind, id=party.id)

    @classmethod
    def coerce(cls, value: PartyRef | Party | str) -> PartyRef:
        """``value`` as a reference: a reference as it is, a party's, or parsed from ``KIND:id``.

        Raises:
            InvalidValueError: anything else, or an invalid text.
        """
        if isinstance(value, PartyRef):
            return value
        if isinstance(value, Party):
            return cls.of(value)
        if isinstance(value, str):
            return cls.parse(value)
        raise InvalidValueError(
            f"a party reference is a PartyRef, a Party or 'KIND:id', not "
            f"{type(value).__name__} {value!r:.60}"
        )

    @classmethod
    def parse(cls, text: str) -> PartyRef:
        """Read the text form ``KIND:id`` (``PATIENT:P-00042``, ``department:ICU``).

        Raises:
            InvalidValueError: no ``:``, an unknown kind or an invalid id.
        """
        kind, colon, party_id = text.partition(":") if isinstance(text, str) else ("", "", "")
        if colon:
            return cls(kind=kind, id=party_id)
        raise InvalidValueError(
            f"invalid party reference {text!r:.60}: expected 'KIND:id', e.g. 'DEPARTMENT:ICU'"
        )

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"
