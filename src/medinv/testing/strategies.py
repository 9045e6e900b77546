"""Hypothesis strategies for medinv's value objects: valid ones, and invalid inputs to reject.

```pycon
>>> from hypothesis import given
>>> from medinv.testing import strategies as mst
>>> @given(mst.gtins())
... def test_round_trip(gtin):
...     assert Gtin(gtin.value) == gtin

```
"""

from __future__ import annotations

import datetime as dt
import string

import pendulum
from hypothesis import strategies as st

from medinv.dates import Expiry
from medinv.identifiers import LOT_SERIAL_CHARACTERS, Gtin, ItemKey, Lot, Serial, gs1_check_digit
from medinv.locations import Location
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
from medinv.status import StockStatus

__all__ = [
    "dates",
    "expiries",
    "gtin_texts",
    "gtins",
    "invalid_gtin_texts",
    "invalid_identifier_texts",
    "invalid_location_texts",
    "item_keys",
    "locations",
    "lots",
    "packaging_hierarchies",
    "quantities",
    "serials",
    "statuses",
]

_AI82 = "".join(sorted(LOT_SERIAL_CHARACTERS))


@st.composite
def gtin_texts(draw: st.DrawFn, lengths: tuple[int, ...] = (8, 12, 13, 14)) -> str:
    """Valid GTIN texts of the given lengths (check digit correct)."""
    length = draw(st.sampled_from(lengths))
    payload = draw(st.text(string.digits, min_size=length - 1, max_size=length - 1))
    return payload + str(gs1_check_digit(payload))


def gtins() -> st.SearchStrategy[Gtin]:
    """Valid [`Gtin`][medinv.identifiers.Gtin] values."""
    return gtin_texts().map(Gtin)


@st.composite
def invalid_gtin_texts(draw: st.DrawFn) -> str:
    """Texts a GTIN must refuse: bad length, a non-digit, a wrong check digit."""
    kind = draw(st.sampled_from(["length", "char", "check"]))
    if kind == "length":
        length = draw(st.integers(0, 20).filter(lambda n: n not in (8, 12, 13, 14)))
        return draw(st.text(string.digits, min_size=length, max_size=length))
    valid = draw(gtin_texts())
    position = draw(st.integers(0, len(valid) - 1))
    if kind == "char":
        bad = draw(st.characters(blacklist_characters=string.digits))
        return valid[:position] + bad + valid[position + 1 :]
    # A single-digit substitution always changes the mod-10 sum: GS1 check digits catch it.
    digit = draw(st.sampled_from([d for d in string.digits if d != valid[position]]))
    return valid[:position] + digit + valid[position + 1 :]


def _ai82_text(min_size: int = 1, max_size: int = 20) -> st.SearchStrategy[str]:
    return st.text(_AI82, min_size=min_size, max_size=max_size)


def lots() -> st.SearchStrategy[Lot]:
    """Valid [`Lot`][medinv.identifiers.Lot] values."""
    return _ai82_text().map(Lot)


def serials() -> st.SearchStrategy[Serial]:
    """Valid [`Serial`][medinv.identifiers.Serial] values."""
    return _ai82_text().map(Serial)


def invalid_identifier_texts() -> st.SearchStrategy[str]:
    """Texts a lot or serial must refuse: empty, too long, or a character outside set 82 + space."""
    outside = st.characters(blacklist_characters=_AI82)
    with_bad_char = st.tuples(_ai82_text(0, 9), outside, _ai82_text(0, 10)).map("".join)
    return st.one_of(st.just(""), _ai82_text(21, 40), with_bad_char)


@st.composite
def item_keys(draw: st.DrawFn, *, lot: bool | None = None, serial: bool | None = None) -> ItemKey:
    """Valid item keys; ``lot``/``serial`` force (True) or forbid (False) those parts."""
    has_lot = draw(st.booleans()) if lot is None else lot
    has_serial = draw(st.booleans()) if serial is None else serial
    return ItemKey(
        draw(gtins()),
        lot=draw(lots()) if has_lot else None,
        serial=draw(serials()) if has_serial else None,
    )


def dates(
    min_value: dt.date = dt.date(2000, 1, 1), max_value: dt.date = dt.date(2099, 12, 31)
) -> st.SearchStrategy[pendulum.Date]:
    """Calendar dates as `pendulum.Date` (GS1's two-digit years cover 2000-2099 around now)."""
    return st.dates(min_value, max_value).map(lambda d: pendulum.date(d.year, d.month, d.day))


@st.composite
def expiries(draw: st.DrawFn) -> Expiry:
    """Expiries to the day or (like GS1 day ``00`` and HIBC ``MMYY``) to the month."""
    if draw(st.booleans()):
        return Expiry.on(draw(dates()))
    year = draw(st.integers(2000, 2099))
    month = draw(st.integers(1, 12))
    return Expiry.month_end(year, month, raw=f"{year % 100:02d}{month:02d}00")


def statuses() -> st.SearchStrategy[StockStatus]:
    """Any stock status."""
    return st.sampled_from(StockStatus)


_SEGMENT = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda s: s == s.strip() and s.isprintable())


def locations(max_depth: int = 4) -> st.SearchStrategy[Location]:
    """Valid locations up to ``max_depth`` levels, with a pick sequence."""
    return st.builds(
        Location,
        st.lists(_SEGMENT, min_size=1, max_size=max_depth).map(tuple),
        pick_sequence=st.integers(0, 10_000),
    )


def invalid_location_texts() -> st.SearchStrategy[str]:
    """Location texts that must be refused: empty segments, padded segments, control characters."""
    return st.one_of(
        st.just(""),
        st.tuples(_SEGMENT, st.just("//"), _SEGMENT).map("".join),
        _SEGMENT.map(lambda s: f" {s}"),
        st.tuples(_SEGMENT, st.sampled_from("\x00\x1b\n\t"), _SEGMENT).map("".join),
    )


_UNITS = st.sampled_from(["EA", "BX", "CS", "PK", "PR", "SET", "KIT"])


def quantities(unit: str | None = None, max_amount: int = 10**6) -> st.SearchStrategy[Quantity]:
    """Non-negative quantities, of ``unit`` if given."""
    units = st.just(unit) if unit is not None else _UNITS
    return st.builds(
        lambda amount, u: Quantity(amount=amount, unit=u), st.integers(0, max_amount), units
    )


@st.composite
def packaging_hierarchies(draw: st.DrawFn, max_levels: int = 4) -> PackagingHierarchy:
    """Hierarchies of 1 to ``max_levels`` levels with distinct units and GTINs."""
    count = draw(st.integers(1, max_levels))
    units = draw(st.lists(_UNITS, min_size=count, max_size=count, unique=True))
    gtin_list = draw(st.lists(gtins(), min_size=count, max_size=count, unique=True))
    contains = draw(st.lists(st.integers(2, 50), min_size=count - 1, max_size=count - 1))
    levels = [
        PackagingLevel(unit=units[i], gtin=gtin_list[i], contains=contains[i])
        for i in range(count - 1)
    ]
    levels.append(PackagingLevel(unit=units[-1], gtin=gtin_list[-1]))
    return PackagingHierarchy.chain(*levels)
