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
import itertools
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
__all__ += [
    "device_identifiers",
    "effective_moments",
    "location_profiles",
    "parties",
    "products",
    "storage_conditions",
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
    """Valid item keys of every agency (GS1, HIBCC, MA code; GS1 most often).

    ``lot``/``serial`` force (True) or forbid (False) those parts.
    """
    has_lot = draw(st.booleans()) if lot is None else lot
    has_serial = draw(st.booleans()) if serial is None else serial
    return ItemKey(
        draw(st.one_of(gtins(), device_identifiers())),
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


# ---------------------------------------------------------------------- catalogue values
# (imported here, not at the top: the catalogue strategies were added after the rest)

from decimal import Decimal  # noqa: E402

from medinv.catalogue import (  # noqa: E402
    Controls,
    CountTolerance,
    LocationKind,
    LocationProfile,
    PackageLevel,
    Party,
    PartyKind,
    Product,
    ReorderPolicy,
    StorageCondition,
    TemperatureRange,
    UnitValue,
)
from medinv.devices import DeviceIdentifier  # noqa: E402

_UPPER_DIGITS = string.ascii_uppercase + string.digits
_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=40
).filter(str.strip)


@st.composite
def device_identifiers(draw: st.DrawFn) -> DeviceIdentifier:
    """Valid device identifiers of every agency: GS1 GTIN, HIBC and MA."""
    agency = draw(st.sampled_from(("GS1", "HIBCC", "MA")))
    if agency == "GS1":
        return DeviceIdentifier.parse(draw(gtin_texts()))
    if agency == "HIBCC":
        lic = draw(st.sampled_from(string.ascii_uppercase)) + draw(
            st.text(_UPPER_DIGITS, min_size=3, max_size=3)
        )
        code = draw(st.text(_UPPER_DIGITS, min_size=1, max_size=18))
        return DeviceIdentifier.parse(f"HIBCC:{lic}{code}{draw(st.integers(0, 9))}")
    country = draw(st.text(string.digits, min_size=3, max_size=3))
    industry = draw(st.text(_UPPER_DIGITS, min_size=2, max_size=2))
    registrant = draw(st.text(string.digits, min_size=6, max_size=6))
    product = draw(st.sampled_from(string.digits)) + draw(
        st.text(string.ascii_letters + string.digits, min_size=1, max_size=19)
    )
    return DeviceIdentifier.parse(f"MA.{country}.{industry}.{registrant}.{product}")


def _decimals(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=low, max_value=high, places=places, allow_nan=False)


@st.composite
def _ranges(draw: st.DrawFn) -> TemperatureRange:
    low, high = sorted(draw(st.lists(_decimals(2, -80, 60), min_size=2, max_size=2)))
    shape = draw(st.sampled_from(("both", "low", "high")))
    return TemperatureRange(
        low=None if shape == "high" else low, high=None if shape == "low" else high
    )


@st.composite
def storage_conditions(draw: st.DrawFn) -> StorageCondition:
    """Valid [`StorageCondition`][medinv.catalogue.StorageCondition] values."""
    humidity = sorted(draw(st.lists(_decimals(2, 0, 100), min_size=2, max_size=2)))
    with_humidity = draw(st.booleans())
    return StorageCondition(
        temperature=draw(st.none() | _ranges()),
        handling_temperature=draw(st.none() | _ranges()),
        humidity_low=humidity[0] if with_humidity else None,
        humidity_high=humidity[1] if with_humidity else None,
        notes=tuple(draw(st.lists(_TEXT, max_size=2))),
    )


@st.composite
def products(draw: st.DrawFn, max_levels: int = 3) -> Product:
    """Valid [`Product`][medinv.catalogue.Product] values, every field drawn.

    The packages form a chain (each level holds the one below it, down to the primary
    DI); the DIs are of any agency, all different.
    """
    dis = draw(st.lists(device_identifiers(), min_size=1, max_size=max_levels + 1, unique_by=str))
    levels = tuple(
        PackageLevel(di=outer, contains=inner, quantity=draw(st.integers(1, 500)))
        for inner, outer in itertools.pairwise(dis)
    )
    reorder = sorted(draw(st.lists(st.integers(0, 10_000), min_size=3, max_size=3)))
    return Product(
        primary_di=dis[0],
        packages=draw(st.permutations(levels)),
        name=draw(st.none() | _TEXT),
        controls=Controls(
            lot=draw(st.booleans()),
            serial=draw(st.booleans()),
            expiry=draw(st.booleans()),
            production_date=draw(st.booleans()),
        ),
        storage=draw(st.none() | storage_conditions()),
        implantable=draw(st.booleans()),
        min_shelf_life_at_receipt=draw(st.none() | st.integers(0, 3650)),
        min_shelf_life_at_issue=draw(st.none() | st.integers(0, 3650)),
        unit_value=draw(
            st.none()
            | st.builds(
                UnitValue,
                amount=_decimals(6, 0, 10**9),
                currency=st.sampled_from(("EUR", "USD", "CHF", "JPY")),
            )
        ),
        reorder=draw(
            st.none()
            | st.just(
                ReorderPolicy(
                    minimum=reorder[0],
                    reorder_point=reorder[1],
                    maximum=reorder[2],
                    lead_time_days=draw(st.none() | st.integers(0, 365)),
                )
            )
        ),
        count_tolerance=draw(
            st.none()
            | st.builds(CountTolerance, absolute=st.integers(0, 100), percent=_decimals(4, 0, 100))
        ),
    )


def _gln_texts() -> st.SearchStrategy[str]:
    return gtin_texts(lengths=(13,))


@st.composite
def location_profiles(draw: st.DrawFn, max_depth: int = 4) -> LocationProfile:
    """Valid [`LocationProfile`][medinv.catalogue.LocationProfile] values, every field drawn."""
    return LocationProfile(
        path=draw(locations(max_depth)),
        kind=draw(st.sampled_from(LocationKind)),
        pick_sequence=draw(st.integers(0, 10**6)),
        storage=draw(st.none() | storage_conditions()),
        gln=draw(st.none() | _gln_texts()),
    )


@st.composite
def parties(draw: st.DrawFn) -> Party:
    """Valid [`Party`][medinv.catalogue.Party] values; patients by pseudonym only."""
    kind = draw(st.sampled_from(PartyKind))
    if kind is PartyKind.PATIENT:
        token = draw(st.text(string.ascii_letters + string.digits + "._:-", max_size=30))
        return Party(kind=kind, id=f"P{draw(st.integers(0, 10**9)):09d}{token}"[:64])
    return Party(
        kind=kind,
        id=draw(_TEXT),
        name=draw(st.none() | _TEXT),
        gln=draw(st.none() | _gln_texts()),
    )


def effective_moments() -> st.SearchStrategy[pendulum.DateTime]:
    """Aware moments (whole microseconds, offsets of whole minutes) a version may start at."""
    offsets = st.integers(-14 * 60, 14 * 60).map(
        lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
    )
    return st.builds(
        lambda naive, tz: pendulum.instance(naive.replace(tzinfo=tz)),
        st.datetimes(
            min_value=dt.datetime(1990, 1, 1),  # noqa: DTZ001  (naive: the offset is drawn)
            max_value=dt.datetime(2100, 1, 1),  # noqa: DTZ001
        ),
        offsets,
    )


# ---------------------------------------------------------------------- structured movements

from medinv.catalogue import BusinessReference, BusinessTransactionType, PartyRef  # noqa: E402

__all__ += ["business_references", "movement_business_references", "party_refs"]


def party_refs() -> st.SearchStrategy[PartyRef]:
    """Valid [`PartyRef`][medinv.catalogue.PartyRef] values: what a movement records of a party."""
    return parties().map(PartyRef.of)


@st.composite
def business_references(draw: st.DrawFn) -> BusinessReference:
    """Valid [`BusinessReference`][medinv.catalogue.BusinessReference] values of every type.

    Ids of any text (JSON and ``:`` syntax included), with or without an issuer GLN.
    """
    return BusinessReference(
        type=draw(st.sampled_from(BusinessTransactionType)),
        id=draw(_TEXT | st.sampled_from(['"],["po","1"]', "a:b", "\\u0000", "ref:po:1"])),
        issuer_gln=draw(st.none() | _gln_texts()),
    )


def movement_business_references(
    max_size: int = 4,
) -> st.SearchStrategy[list[BusinessReference]]:
    """Lists of business references as a caller gives them: any order, duplicates possible."""
    return st.lists(business_references(), max_size=max_size).flatmap(
        lambda refs: st.permutations(refs + refs[:1])
    )
