"""Hierarchical stock locations (see [the rules](../explanation/rules.md#identifiers)).

A location is a path such as ``site/warehouse/zone/bin`` or
``hospital/department/cabinet``. Queries over a location cover its whole subtree.

```pycon
>>> from medinv.locations import Location
>>> bin_ = Location.parse("CHU-Nord/Pharmacy/A/03", pick_sequence=30)
>>> str(bin_.parent), bin_.depth
('CHU-Nord/Pharmacy/A', 4)
>>> bin_.is_within(Location.parse("CHU-Nord/Pharmacy"))
True
>>> Location.parse("CHU-Nord//A")
Traceback (most recent call last):
...
medinv.errors.InvalidLocationError: invalid location 'CHU-Nord//A': segment 2 is empty

```
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from medinv.errors import InvalidLocationError

__all__ = ["Location"]

SEPARATOR: Final = "/"
_MAX_SEGMENT: Final = 64
_MAX_DEPTH: Final = 16


def _check_path(  # noqa: C901  (one clause per rule)
    _instance: object, _attribute: object, value: tuple[str, ...]
) -> None:
    shown = SEPARATOR.join(map(str, value)) if isinstance(value, tuple) else value
    if not isinstance(value, tuple) or not value:
        raise InvalidLocationError(shown, "a location needs at least one segment")
    if len(value) > _MAX_DEPTH:
        raise InvalidLocationError(shown, f"at most {_MAX_DEPTH} levels, not {len(value)}")
    for index, segment in enumerate(value, start=1):
        if not isinstance(segment, str):
            raise InvalidLocationError(shown, f"segment {index} is not text")
        if not segment:
            raise InvalidLocationError(shown, f"segment {index} is empty")
        if segment != segment.strip():
            raise InvalidLocationError(
                shown, f"segment {index} ({segment!r}) has leading or trailing blanks"
            )
        if len(segment) > _MAX_SEGMENT:
            raise InvalidLocationError(
                shown, f"segment {index} is longer than {_MAX_SEGMENT} characters"
            )
        if SEPARATOR in segment:
            raise InvalidLocationError(shown, f"segment {index} contains {SEPARATOR!r}")
        for char in segment:
            if not char.isprintable():
                raise InvalidLocationError(
                    shown, f"segment {index} contains the control character {char!r}"
                )


def _check_pick_sequence(_instance: object, _attribute: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidLocationError(value, "pick_sequence must be a non-negative whole number")


@attrs.frozen(order=False, cache_hash=True)
class Location:
    """A node in the location tree; equality and hashing are by path only."""

    path: tuple[str, ...] = attrs.field(validator=_check_path)
    """The segments from the root (site or hospital) down."""
    pick_sequence: int = attrs.field(
        default=0, eq=False, validator=_check_pick_sequence, kw_only=True
    )
    """Walking order for picks within the same expiry (lower first); not part of identity."""

    @classmethod
    def parse(cls, text: str, *, pick_sequence: int = 0) -> Location:
        """Parse ``"site/warehouse/zone/bin"``.

        Raises:
            InvalidLocationError: an empty or malformed path.
        """
        if not isinstance(text, str):
            raise InvalidLocationError(text, "expected text such as 'site/warehouse/bin'")
        return cls(tuple(text.split(SEPARATOR)), pick_sequence=pick_sequence)

    @property
    def depth(self) -> int:
        """Number of segments."""
        return len(self.path)

    @property
    def name(self) -> str:
        """The last segment."""
        return self.path[-1]

    @property
    def parent(self) -> Location | None:
        """The enclosing location, or ``None`` at the root."""
        return Location(self.path[:-1]) if len(self.path) > 1 else None

    def child(self, segment: str, *, pick_sequence: int = 0) -> Location:
        """The location one level below."""
        return Location((*self.path, segment), pick_sequence=pick_sequence)

    def is_within(self, other: Location) -> bool:
        """Whether this location is ``other`` or lies below it.

        Raises:
            InvalidLocationError: ``other`` is not a `Location`.
        """
        given: object = other  # checked at run time, whatever the annotations say
        if not isinstance(given, Location):
            raise InvalidLocationError(given, "expected a Location to compare with")
        return self.path[: len(other.path)] == other.path

    def __str__(self) -> str:
        return SEPARATOR.join(self.path)
