"""The storage port of the movement ledger: records and the `LedgerStore` protocol.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

The rules of the ledger live once, in the service
([`medinv.ledger.Ledger`][medinv.ledger.Ledger]). A store is persistence only: it
keeps what the service computed, atomically and with optimistic concurrency, and
answers indexed queries. An integrator's store needs no domain logic; it proves
its conformance by passing the shipped contract suite
([`medinv.testing.contract`][medinv.testing.contract]) and the stateful comparison
with the in-memory reference ([`medinv.testing.stateful`][medinv.testing.stateful]).

How the ledger writes:

1. read the head ([`LedgerHead`][medinv.ports.LedgerHead]: position and hash of the
   last stored movement);
2. read what the rules need for the whole batch, in a few calls: stored movements
   with the batch's ids, reversals of the originals it reverses, balances, item and
   lot master data of the items it touches;
3. check the rules, then build a [`Commit`][medinv.ports.Commit]: the new
   [`RecordedMovement`][medinv.ports.RecordedMovement]s (positions head + 1, + 2 ...,
   hashes chained from the head hash), the summed
   [`BalanceChange`][medinv.ports.BalanceChange]s, and the master data seen for
   the first time;
4. ``store.append(commit)``: the store writes all of it or nothing, and raises
   [`ConcurrencyError`][medinv.errors.ConcurrencyError] if its head is no longer
   ``commit.expected_position``.

Stored text (ids, actor, reason, reference, lots, serials, location segments) must
come back verbatim: quotes, ``;``, any unicode except NUL, reasons of any length.
Date-times must come back with the UTC offset they were given and their
microseconds (the hash chain encodes them, see [`medinv.chain`][medinv.chain]).
Locations are stored by path; ``pick_sequence`` is location master data and is
not stored (locations read back have ``pick_sequence == 0``).
"""

from __future__ import annotations

import types
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any, Final, NamedTuple, Protocol, Self, runtime_checkable

import attrs
import pendulum

from medinv.actors import actor_key
from medinv.allocation import Reservation
from medinv.catalogue import (
    BusinessReference,
    EffectiveHistory,
    LocationKind,
    LocationProfile,
    PackageLevel,
    Party,
    PartyKind,
    PartyRef,
    Product,
)
from medinv.chain import format_instant, movement_fields
from medinv.dates import to_date, to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import ConcurrencyError, InvalidValueError, StalePlanError
from medinv.identifiers import Gtin, ItemKey, Lot, Serial, device_of
from medinv.journal import (
    BalanceChange,
    BalanceKey,
    Commit,
    ItemRecord,
    LedgerHead,
    LotKey,
    LotRecord,
    RecordedMovement,
)
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.status import StockStatus

__all__ = [
    "BalanceChange",
    "BalanceKey",
    "Commit",
    "ItemRecord",
    "LedgerHead",
    "LedgerStore",
    "LotKey",
    "LotRecord",
    "MovementQuery",
    "PositionQuery",
    "RecordedMovement",
    "check_query",
]


def _to_device(value: object) -> DeviceIdentifier | None:
    return None if value is None else device_of(value)


def _to_gtin(value: object) -> Gtin | None:
    return value if value is None or isinstance(value, Gtin) else Gtin(value)


# Gtin, Lot and Serial check the type of what they are given and raise a medinv error.
def _to_lot(value: object) -> Lot | None:
    return value if value is None or isinstance(value, Lot) else Lot(value)  # type: ignore[arg-type]


def _to_serial(value: object) -> Serial | None:
    return value if value is None or isinstance(value, Serial) else Serial(value)  # type: ignore[arg-type]


def _to_location(value: object) -> Location | None:
    if value is None or isinstance(value, Location):
        return value
    # Location.parse refuses non-text with a clear InvalidLocationError.
    return Location.parse(value)  # type: ignore[arg-type]


def _to_status(value: object) -> StockStatus | None:
    if value is None or isinstance(value, StockStatus):
        return value
    # StockStatus.parse refuses non-text with a clear InvalidValueError.
    return StockStatus.parse(value)  # type: ignore[arg-type]


def _check_item(_instance: object, _attribute: object, value: ItemKey | None) -> None:
    given: object = value  # checked at run time, whatever the annotations say
    if given is not None and not isinstance(given, ItemKey):
        msg = f"invalid item {value!r:.60}: expected an ItemKey, not {type(value).__name__}"
        raise InvalidValueError(msg)


_MAX_POSITION: Final = 2**63 - 1  # what every store's position column holds


def _item_matches(query: PositionQuery | MovementQuery, item: ItemKey) -> bool:
    """Whether ``item`` satisfies a query's item, GTIN, lot, serial and device filters."""
    return (
        (query.item is None or query.item == item)
        and (query.gtin is None or query.gtin.value == item.device_text)
        and (query.lot is None or query.lot == item.lot)
        and (query.serial is None or query.serial == item.serial)
        and (query.device is None or query.device == item.device)
    )


def _check_position(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Positions are whole numbers from 0 to 2**63 - 1 (``None`` where allowed)."""
    if value is None and attribute.name == "up_to_position":
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_POSITION:
        msg = (
            f"invalid {attribute.name} {value!r:.60}: expected a ledger position, a whole "
            "number from 0 to 2**63 - 1"
        )
        raise InvalidValueError(msg)


def _to_optional_date(value: object) -> pendulum.Date | None:
    return None if value is None else to_date(value)


def _to_optional_moment(value: object) -> pendulum.DateTime | None:
    return None if value is None else to_datetime(value)


def _check_optional_bool(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, bool):
        msg = f"invalid {attribute.name} {value!r:.60}: expected True, False or None"
        raise InvalidValueError(msg)


def _check_window(what: str, start: Any, end: Any) -> None:
    """Refuse a half-open window whose end is not after its start (it could match nothing)."""
    if start is not None and end is not None and not start < end:
        msg = (
            f"empty {what} window: the end ({end.isoformat()}) must be after the start "
            f"({start.isoformat()})"
        )
        raise InvalidValueError(msg)


def _to_kind(value: object) -> MovementKind:
    if isinstance(value, MovementKind):
        return value
    if isinstance(value, str):
        try:
            return MovementKind[value.strip().upper()]
        except KeyError:
            pass
    names = ", ".join(k.name for k in MovementKind)
    msg = f"invalid movement kind {value!r:.60}: expected one of {names}"
    raise InvalidValueError(msg)


def _to_kinds(value: object) -> frozenset[MovementKind] | None:
    """A kind, its name, or an iterable of those, as a non-empty set of kinds."""
    if value is None:
        return None
    if isinstance(value, (MovementKind, str)):
        return frozenset({_to_kind(value)})
    if not isinstance(value, Iterable):
        msg = f"invalid movement kind {value!r:.60}: expected a MovementKind or several"
        raise InvalidValueError(msg)
    kinds = frozenset(_to_kind(v) for v in value)
    if not kinds:
        msg = "invalid movement kind filter: an empty set of kinds matches nothing"
        raise InvalidValueError(msg)
    return kinds


def _to_actor(value: object) -> str | None:
    # actor_key refuses non-text, blank and confusable names with a clear error.
    return None if value is None else actor_key(value, field="actor filter")


def _to_reference(value: object) -> str | None:
    if value is None or (isinstance(value, str) and "\x00" not in value):
        return value
    msg = f"invalid reference filter {value!r:.60}: expected text without NUL characters"
    raise InvalidValueError(msg)


def _touches(movement: Movement, location: Location) -> bool:
    """Whether a movement comes from or goes to ``location`` or a place below it."""
    source, target = movement.from_location, movement.to_location
    return (source is not None and source.is_within(location)) or (
        target is not None and target.is_within(location)
    )


@attrs.frozen(kw_only=True)
class PositionQuery:
    """Which non-zero balances to return; every given field must match (``None``: any).

    Text is accepted for every field and converted (``gtin="4006381333931"``,
    ``location="Main/Store"``, ``status="available"``).
    """

    item: ItemKey | None = attrs.field(default=None, validator=_check_item)
    """Exactly this item (gtin, lot and serial all equal, ``None`` parts included)."""
    gtin: Gtin | None = attrs.field(default=None, converter=_to_gtin)
    """Items of this GTIN."""
    lot: Lot | None = attrs.field(default=None, converter=_to_lot)
    """Items of this lot (any serial)."""
    serial: Serial | None = attrs.field(default=None, converter=_to_serial)
    """Items with this serial."""
    location: Location | None = attrs.field(default=None, converter=_to_location)
    """This location and everything below it (its subtree)."""
    status: StockStatus | None = attrs.field(default=None, converter=_to_status)
    """Balances in this status."""
    device: DeviceIdentifier | None = attrs.field(default=None, converter=_to_device)
    """Items of this device identifier, of any agency (``"HIBCC:A123BJC5D6E71"``, a
    [`DeviceIdentifier`][medinv.devices.DeviceIdentifier], GTIN digits); ``gtin`` is the
    same filter for GS1 only."""
    expires_from: pendulum.Date | None = attrs.field(default=None, converter=_to_optional_date)
    """Positions whose expiry is on or after this date (positions without one never match)."""
    expires_before: pendulum.Date | None = attrs.field(default=None, converter=_to_optional_date)
    """Positions whose expiry is before this date (positions without one never match)."""
    has_expiry: bool | None = attrs.field(default=None, validator=_check_optional_bool)
    """``True``: only positions with an expiry; ``False``: only those without one."""

    def __attrs_post_init__(self) -> None:
        _check_window("expiry", self.expires_from, self.expires_before)
        if self.has_expiry is False and self.expiry_window:
            msg = (
                "has_expiry=False selects positions without an expiry, which no expiry "
                "window (expires_from / expires_before) can match"
            )
            raise InvalidValueError(msg)

    @property
    def expiry_window(self) -> bool:
        """Whether ``expires_from`` or ``expires_before`` is given."""
        return self.expires_from is not None or self.expires_before is not None

    def matches_item(self, item: ItemKey) -> bool:
        """Whether ``item`` satisfies the item, GTIN, lot, serial and device filters."""
        return _item_matches(self, item)

    def matches_expiry(self, expiry: pendulum.Date | None) -> bool:
        """Whether a position with this ``expiry`` satisfies the expiry filters."""
        if expiry is None:
            return not self.has_expiry and not self.expiry_window
        return (
            self.has_expiry is not False
            and (self.expires_from is None or expiry >= self.expires_from)
            and (self.expires_before is None or expiry < self.expires_before)
        )

    def matches(
        self,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        expiry: pendulum.Date | None = None,
    ) -> bool:
        """Whether a balance of ``(item, location, status)`` expiring ``expiry`` matches."""
        return (
            self.matches_item(item)
            and (self.location is None or location.is_within(self.location))
            and (self.status is None or self.status is status)
            and self.matches_expiry(expiry)
        )


def _to_party_ref(value: Any) -> PartyRef | None:
    return None if value is None else PartyRef.coerce(value)


def _to_business_reference(value: object) -> BusinessReference | None:
    if value is None or isinstance(value, BusinessReference):
        return value
    if isinstance(value, str):
        return BusinessReference.parse(value)
    raise InvalidValueError(
        f"invalid business reference filter {value!r:.60}: expected a BusinessReference "
        "or 'type:id'"
    )


@attrs.frozen(kw_only=True)
class MovementQuery:
    """Which stored movements to return, in position order; every given field must match."""

    item: ItemKey | None = attrs.field(default=None, validator=_check_item)
    """Movements of exactly this item."""
    gtin: Gtin | None = attrs.field(default=None, converter=_to_gtin)
    """Movements of items of this GTIN."""
    lot: Lot | None = attrs.field(default=None, converter=_to_lot)
    """Movements of items of this lot."""
    serial: Serial | None = attrs.field(default=None, converter=_to_serial)
    """Movements of items with this serial."""
    after_position: int = attrs.field(default=0, validator=_check_position)
    """Only movements with ``position > after_position``."""
    up_to_position: int | None = attrs.field(default=None, validator=_check_position)
    """Only movements with ``position <= up_to_position`` (``None``: to the head)."""
    device: DeviceIdentifier | None = attrs.field(default=None, converter=_to_device)
    """Movements of items of this device identifier, of any agency; ``gtin`` is the same
    filter for GS1 only."""
    kind: frozenset[MovementKind] | None = attrs.field(default=None, converter=_to_kinds)
    """Movements of one of these kinds (a kind, its name, or several of them)."""
    actor: str | None = attrs.field(default=None, converter=_to_actor)
    """Movements by this person: kept in its normalised form, compared as
    [`medinv.actors`][medinv.actors] compares people (``"Lea "`` finds ``"LEA"``)."""
    occurred_from: pendulum.DateTime | None = attrs.field(
        default=None, converter=_to_optional_moment
    )
    """Movements that occurred at or after this instant (any UTC offset)."""
    occurred_to: pendulum.DateTime | None = attrs.field(default=None, converter=_to_optional_moment)
    """Movements that occurred before this instant (the range is half-open)."""
    location: Location | None = attrs.field(default=None, converter=_to_location)
    """Movements from or to this location or anything below it (its subtree)."""
    reference: str | None = attrs.field(default=None, converter=_to_reference)
    """Movements with exactly this free-text reference."""

    def __attrs_post_init__(self) -> None:
        _check_window("occurred-at", self.occurred_from, self.occurred_to)

    def matches_item(self, item: ItemKey) -> bool:
        """Whether ``item`` satisfies the item, GTIN, lot, serial and device filters."""
        return _item_matches(self, item)

    def matches(self, recorded: RecordedMovement) -> bool:
        """Whether a stored movement satisfies every filter."""
        position = recorded.position
        return (
            position > self.after_position
            and (self.up_to_position is None or position <= self.up_to_position)
            and self.matches_item(recorded.movement.item)
            and self.matches_structure(recorded.movement)
            and self.matches_details(recorded.movement)
        )

    counterparty: PartyRef | None = attrs.field(default=None, converter=_to_party_ref)
    """Movements with this counterparty (a [`PartyRef`][medinv.catalogue.PartyRef],
    a [`Party`][medinv.catalogue.Party] or ``"KIND:id"``)."""
    business_reference: BusinessReference | None = attrs.field(
        default=None, converter=_to_business_reference
    )
    """Movements that carry this business reference (``"type:id"`` accepted): same
    type and id, and the same issuer GLN when the query gives one."""

    def matches_structure(self, movement: Movement) -> bool:
        """Whether ``movement`` satisfies the counterparty and business reference filters."""
        wanted = self.business_reference
        return (self.counterparty is None or movement.counterparty == self.counterparty) and (
            wanted is None
            or any(
                ref.type is wanted.type
                and ref.id == wanted.id
                and (wanted.issuer_gln is None or ref.issuer_gln == wanted.issuer_gln)
                for ref in movement.business_references
            )
        )

    def matches_details(self, movement: Movement) -> bool:
        """Whether a movement satisfies the kind, actor, time, location and reference filters."""
        return (
            (self.kind is None or movement.kind in self.kind)
            and (self.actor is None or actor_key(movement.actor) == self.actor)
            and (self.occurred_from is None or movement.occurred_at >= self.occurred_from)
            and (self.occurred_to is None or movement.occurred_at < self.occurred_to)
            and (self.location is None or _touches(movement, self.location))
            and (self.reference is None or movement.reference == self.reference)
        )


def check_query(query: object, kind: type) -> None:
    """Refuse a store query that is not a ``kind`` (`PositionQuery` or `MovementQuery`).

    Stores call it first, so that a wrong argument gets the same
    [`InvalidValueError`][medinv.errors.InvalidValueError] from every store.
    """
    if not isinstance(query, kind):
        msg = f"expected a {kind.__name__}, not {type(query).__name__} {query!r:.60}"
        raise InvalidValueError(msg)


@runtime_checkable
class LedgerStore(Protocol):
    """Persistence of the movement ledger. Implementations need no domain logic.

    Every method may raise [`StorageError`][medinv.errors.StorageError] (the store
    translates its driver's exceptions, ``raise StorageError(...) from e``); the
    only other exception a store raises on purpose is its subclass
    [`ConcurrencyError`][medinv.errors.ConcurrencyError], from ``append``.

    Reads see committed data only. Every keyed query is answered through an index:
    its cost grows with the size of the answer (and the log of the ledger's size),
    never with the size of the ledger. The indexes needed: movements by id, by
    position, by item (gtin, lot, serial), by gtin, lot and serial; movements by the
    id they reverse; balances by item, by gtin, lot, serial and by location path
    (prefix); lots by (gtin, lot); items by (gtin, lot, serial); movements by
    counterparty and by business reference (the keys of
    [`link_keys`][medinv.chain.link_keys]). For the stock
    controller's filters: movements by kind, occurred-at instant, normalised
    actor, location path (prefix, source and destination) and reference (the SQL
    stores index tags per block of positions: see the how-to "Answer a stock
    controller's questions"); lots and items by expiry.

    Stores are context managers: ``with SomeStore(...) as store:`` closes it on exit.

    Optionally, a store also reads movements as light rows
    ([`MovementRowReader`][medinv.ports.MovementRowReader]: a ``movement_rows``
    method, without decoding them into movements); [`medinv.trace`][medinv.trace]
    uses it when a store has it and reads ``movements`` otherwise, so a store
    without it keeps working, only slower.
    """

    def head(self) -> LedgerHead:
        """The position and hash of the last stored movement; ``LedgerHead.empty()`` if none."""
        ...

    def append(self, commit: Commit) -> None:
        """Store a commit atomically: every movement, balance change, lot and item, or nothing.

        Inside one transaction the store checks that its head position still equals
        ``commit.expected_position``; if not, or if a movement id, a position or a
        reversed id (``movement.reverses``) is already stored, it raises
        [`ConcurrencyError`][medinv.errors.ConcurrencyError] (``expected`` and
        ``actual`` set to the positions) and writes nothing. Afterwards ``head()`` is
        the last movement's (position, hash). A commit without movements is a no-op.
        When ``append`` returns, the data is durable (as durable as the store can be:
        an in-memory store keeps it for its lifetime).

        Lots and items in a commit are new at the time the batch was read; a store
        must never overwrite an existing lot or item record.
        """
        ...

    def movements_by_id(self, ids: Collection[str]) -> Mapping[str, RecordedMovement]:
        """The stored movements with the given ids (ids not stored are absent from the result)."""
        ...

    def reversals_of(self, ids: Collection[str]) -> Mapping[str, str]:
        """For each given id that a stored reversal reverses: original id -> reversal id."""
        ...

    def lot_expiries(self, keys: Collection[LotKey]) -> Mapping[LotKey, pendulum.Date | None]:
        """Expiry master data of the given lots; unknown lots are absent (known: date or None)."""
        ...

    def item_records(self, items: Collection[ItemKey]) -> Mapping[ItemKey, ItemRecord]:
        """Master data of the given items; items never received are absent."""
        ...

    def balances_of(self, items: Collection[ItemKey]) -> Mapping[BalanceKey, int]:
        """Every non-zero balance of the given items, at every location and in every status."""
        ...

    def positions(self, query: PositionQuery) -> list[StockPosition]:
        """The non-zero balances that match ``query``, with expiry and first-received time.

        ``query.location`` selects the location and its whole subtree (``Main/Store``
        matches ``Main/Store`` and ``Main/Store/A1``, not ``Main/Storeroom``).
        Each position's ``expiry`` is the lot's expiry if the item has a lot on
        record, else the item record's; ``received_at`` is the item record's
        ``first_received_at``. Any order (the ledger sorts); locations carry their
        path only.
        """
        ...

    def movements(self, query: MovementQuery) -> Iterator[RecordedMovement]:
        """The stored movements that match ``query``, in ascending position order.

        Every filter applies; a store may read candidates through one index and
        keep those that [`query.matches`][medinv.ports.MovementQuery.matches].
        """
        ...

    def balances_snapshot(self) -> Iterator[tuple[ItemKey, Location, StockStatus, int]]:
        """The whole stored balance projection, any order (zero balances may be included)."""
        ...

    def close(self) -> None:
        """Release the store's resources; further calls may fail. Closing twice is harmless."""
        ...

    def __enter__(self) -> Self:
        """Return the store itself."""
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        """Close the store."""
        ...


# ---------------------------------------------------------------------- the catalogue port
#
# Master data (products, location profiles, parties) kept next to the ledger, in the
# same store. Every entry is a series of versions, each valid from a moment on
# (`medinv.catalogue.Effective`); versions are appended, never edited.


class CatalogueConflictError(InvalidValueError):
    """A catalogue write that contradicts what is stored; nothing of it was written.

    Another value already starts at the same moment for the same entry, a device
    identifier already belongs to another product, or a GLN to another party.
    """

    def __init__(self, entry: str, reason: str) -> None:
        self.entry = entry
        """The entry written (``product GS1:...``, ``location A/B``, ``party SUPPLIER:X``)."""
        self.reason = reason
        """What it contradicts."""
        super().__init__(f"catalogue conflict for {entry}: {reason}")


def _to_moment(value: object) -> pendulum.DateTime:
    """An aware moment (``InvalidDateError`` otherwise)."""
    return to_datetime(value)


@attrs.frozen(kw_only=True)
class ProductMatch:
    """A product found by one of its device identifiers, and the packaging level scanned.

    ```pycon
    >>> from medinv.catalogue import PackageLevel, Product
    >>> product = Product(primary_di="00614141000418", packages=(
    ...     PackageLevel(di="10614141000415", contains="00614141000418", quantity=10),))
    >>> match = ProductMatch(product=product, di=product.packages[0].di)
    >>> match.base_units, match.level.quantity
    (10, 10)

    ```
    """

    product: Product
    """The product version the DI resolved to."""
    di: DeviceIdentifier
    """The DI looked up: the primary DI or one of the package DIs."""

    def __attrs_post_init__(self) -> None:
        if self.di not in self.product:
            raise InvalidValueError(f"{self.di} is not a DI of product {self.product.primary_di}")

    @property
    def base_units(self) -> int:
        """How many base units one unit of ``di`` holds (1 for the primary DI)."""
        return self.product.base_units_per(self.di)

    @property
    def level(self) -> PackageLevel | None:
        """The package level of ``di``; ``None`` when ``di`` is the primary DI."""
        return next((lv for lv in self.product.packages if lv.di == self.di), None)


@runtime_checkable
class CatalogueStore(Protocol):
    """Products, location profiles and parties, effective-dated, beside the ledger.

    Each product (by primary DI), location profile (by path) and party (by kind and
    id) is a series of **versions**, each valid from a moment on until the next.
    ``put_*`` appends a version: putting the same version again changes nothing and
    returns ``False``; a different value from the same moment, a DI that already
    belongs to another product or a GLN that already belongs to another party is
    refused with [`CatalogueConflictError`][medinv.ports.CatalogueConflictError],
    with nothing written. Lookups take ``as_of`` (an aware moment): the version in
    force then, ``None`` before the first one; without ``as_of``, the latest version.

    The stores: ``MemoryStore().catalogue``, ``SqliteStore(path).catalogue`` and
    ``PostgresStore(...).catalogue``, in the ledger's own database. Conformance is
    proved by [`CatalogueStoreContract`][medinv.testing.catalogue_contract.CatalogueStoreContract].
    """

    def put_product(self, product: Product, *, valid_from: object) -> bool:
        """Store a version of ``product`` valid from ``valid_from``; ``False`` if already stored.

        Raises:
            CatalogueConflictError: another version starts at that moment, or one of
                its DIs belongs to another product.
            InvalidValueError: not a `Product`, or not an aware moment.
        """
        ...

    def product(self, di: DeviceIdentifier | str, *, as_of: object = None) -> ProductMatch | None:
        """The product one of whose DIs (primary or package) is ``di``, and the level scanned."""
        ...

    def product_history(self, primary_di: DeviceIdentifier | str) -> EffectiveHistory[Product]:
        """Every version of the product with this primary DI, oldest first (empty if unknown)."""
        ...

    def products(self, *, as_of: object = None) -> Iterator[Product]:
        """Every product (its version as of ``as_of``), by primary DI."""
        ...

    def put_location(self, profile: LocationProfile, *, valid_from: object) -> bool:
        """Store a version of a location profile; ``False`` if already stored."""
        ...

    def location(self, path: Location | str, *, as_of: object = None) -> LocationProfile | None:
        """The profile of exactly this location, or ``None``."""
        ...

    def profile_for(self, path: Location | str, *, as_of: object = None) -> LocationProfile | None:
        """The profile that applies to ``path``: its own, else its nearest ancestor's."""
        ...

    def location_history(self, path: Location | str) -> EffectiveHistory[LocationProfile]:
        """Every version of the profile of this location, oldest first."""
        ...

    def locations(
        self, *, kind: LocationKind | None = None, as_of: object = None
    ) -> Iterator[LocationProfile]:
        """Every location profile (of ``kind``, if given), by path."""
        ...

    def put_party(self, party: Party, *, valid_from: object) -> bool:
        """Store a version of a party; ``False`` if already stored."""
        ...

    def party(self, kind: PartyKind, party_id: str, *, as_of: object = None) -> Party | None:
        """The party of this kind and id, or ``None``."""
        ...

    def party_by_gln(self, gln: str, *, as_of: object = None) -> Party | None:
        """The party whose version (as of ``as_of``) carries this GLN, or ``None``."""
        ...

    def party_history(self, kind: PartyKind, party_id: str) -> EffectiveHistory[Party]:
        """Every version of the party, oldest first."""
        ...

    def parties(self, *, kind: PartyKind | None = None, as_of: object = None) -> Iterator[Party]:
        """Every party (of ``kind``, if given), by kind and id."""
        ...

    def close(self) -> None:
        """Close the store this catalogue belongs to (twice is harmless)."""
        ...


__all__ += ["CatalogueConflictError", "CatalogueStore", "ProductMatch"]


# ---------------------------------------------------------------------- the reservation port
#
# FEFO reservations (`medinv.allocation.Reservation`) kept next to the ledger, in the
# same store, so that processes sharing the database see each other's and a restart
# keeps them.


class ReservationConflictError(StalePlanError):
    """A reservation the store refused: some of its units are no longer free.

    Other reservations in force hold them, or the stock moved since the plan was
    made; nothing was stored. Plan again (a
    [`StalePlanError`][medinv.errors.StalePlanError], caught where stale plans are).
    """

    def __init__(self, reservation_id: str, *, planned_at: int, current: int, reason: str) -> None:
        self.reservation_id = reservation_id
        """The reservation refused."""
        super().__init__(
            planned_at=planned_at,
            current=current,
            reason=f"reservation {reservation_id!r} refused: {reason}",
        )


@runtime_checkable
class ReservationStore(Protocol):
    """FEFO reservations held in the store: shared between processes, kept across restarts.

    A stored [`Reservation`][medinv.allocation.Reservation] holds the units of its
    plan's picks (per item and location) until its ``expires_at`` (required here:
    a reservation whose holder died lapses by itself), until it is released, or
    until its stock is posted (the picking services release it then). Moments
    (``as_of``) are aware date-times; ``None`` means now. A reservation is **in
    force** while ``as_of < expires_at``; one that has expired holds nothing, is
    never returned, and can be purged.

    ``reserve`` checks, in one transaction serialised with every other writer of
    reservations on the same database, that each pick's units are free: the
    AVAILABLE balance of the item at the location, less what the reservations in
    force already hold there. Of two processes racing for the last units, one
    stores its reservation and the other is refused with
    [`ReservationConflictError`][medinv.ports.ReservationConflictError]: never
    more is reserved than there is.

    The stores: ``MemoryStore().reservations``, ``SqliteStore(path).reservations``
    and ``PostgresStore(...).reservations``, in the ledger's own database.
    Conformance is proved by
    [`ReservationStoreContract`][medinv.testing.reservation_contract.ReservationStoreContract].
    """

    def reserve(self, reservation: Reservation, *, as_of: object = None) -> bool:
        """Store ``reservation``; ``False`` if exactly this reservation is already in force.

        An expired reservation with the same id is replaced.

        Raises:
            ReservationConflictError: some of the plan's units are not free.
            InvalidValueError: not a `Reservation`, no ``expires_at`` or one not after
                ``as_of``, or the id belongs to another reservation in force.
        """
        ...

    def get(self, reservation_id: str, *, as_of: object = None) -> Reservation | None:
        """The reservation with this id in force at ``as_of``, or ``None``."""
        ...

    def active(self, *, as_of: object = None) -> list[Reservation]:
        """Every reservation in force at ``as_of``, by id."""
        ...

    def held(
        self, items: Collection[ItemKey], *, as_of: object = None
    ) -> Mapping[tuple[ItemKey, Location], int]:
        """The units of ``items`` the reservations in force hold, per (item, location)."""
        ...

    def release(self, reservation_id: str) -> Reservation | None:
        """Remove a reservation (in force or expired); ``None`` if there is none by that id."""
        ...

    def purge(self, *, as_of: object = None) -> int:
        """Remove the reservations expired at ``as_of``; return how many."""
        ...

    def close(self) -> None:
        """Close the store these reservations belong to (twice is harmless)."""
        ...


__all__ += ["ReservationConflictError", "ReservationStore"]


# --------------------------------------------------------------------------- recall gate


@runtime_checkable
class RecallGate(Protocol):
    """What the receiving path asks of the recall campaigns: is this arrival recalled?

    A store with recall campaigns (``store.recalls``) answers it; receipts and returns
    of stock a campaign open at their moment covers are booked ``RECALLED``.
    """

    def covering(
        self,
        arrivals: Collection[tuple[ItemKey, pendulum.Date | None]],
        at: object,
    ) -> list[str | None]:
        """Per arrival, the id of the first campaign open at ``at`` covering it, else ``None``.

        An arrival is an item and its production date when the label gave one.
        """
        ...


__all__ += ["RecallGate"]


# ---------------------------------------------------------------------- the projection port
#
# Projections derived from the ledger (the daily demand of
# `medinv.analytics.DemandProjection`) kept in the ledger's own database, so that a
# report after a day's postings folds in only that day.


class ProjectionConflictError(ConcurrencyError):
    """A projection save the store refused: another writer saved it since it was loaded.

    Nothing was written. Load the projection again, catch it up, and save again.
    """

    def __init__(self, name: str, *, expected: int | None, stored: int | None) -> None:
        shown = "none" if stored is None else f"position {stored}"
        start = "a new projection" if expected is None else f"position {expected}"
        super().__init__(
            f"projection {name!r} was saved by another writer: the save started from "
            f"{start}, the store holds {shown}; load it again and catch up",
            expected=expected,
            actual=stored,
        )
        self.name = name
        """The projection."""
        self.stored = stored
        """The position stored now (``None``: none is stored); also ``actual``."""


@attrs.frozen(kw_only=True)
class StoredProjection:
    """A projection as a store keeps it: its checkpoint and one text per key."""

    position: int
    """The last ledger position folded in."""
    timezone: str
    """The facility time zone it dates movements in (IANA name)."""
    rows: Mapping[str, str]
    """One text per key (what the projection wrote)."""


@runtime_checkable
class ProjectionStore(Protocol):
    """Projections kept in the ledger's database: a checkpoint and one text per key each.

    A projection is saved as the keys it changed since it was loaded, with the
    position it has now folded in: in one transaction, and only if the stored
    position is still the one it was loaded at (``expected``), so two processes
    catching up the same projection cannot interleave their rows. The stores:
    ``MemoryStore().projections``, ``SqliteStore(path).projections`` and
    ``PostgresStore(...).projections``. Conformance is proved by
    [`ProjectionStoreContract`][medinv.testing.projection_contract.ProjectionStoreContract].
    """

    def load(self, name: str) -> StoredProjection | None:
        """The projection stored under ``name``, or ``None``.

        Raises:
            InvalidValueError: ``name`` is not a non-empty text of at most 100 characters.
        """
        ...

    def save(
        self,
        name: str,
        *,
        position: int,
        timezone: str,
        rows: Mapping[str, str],
        expected: int | None,
    ) -> None:
        """Store ``rows`` (an empty text deletes its key) and the new checkpoint, atomically.

        Raises:
            ProjectionConflictError: the stored position is not ``expected`` (``None``:
                a projection is stored already); nothing was written.
            InvalidValueError: a malformed name, position, time zone or row.
        """
        ...

    def drop(self, name: str) -> bool:
        """Remove the projection; ``False`` if there was none."""
        ...

    def close(self) -> None:
        """Close the store this belongs to (twice is harmless)."""
        ...


__all__ += ["ProjectionConflictError", "ProjectionStore", "StoredProjection"]


# ---------------------------------------------------------------------- movement rows (optional)
#
# What a trace reads of each movement, as the stores keep it (text), without
# building a `Movement`: the SQL stores answer a lot's history from their item
# index without decoding (and validating) every row into objects. The trace
# benchmark (benchmarks/bench_trace.py) measured that decoding as most of a
# trace's time; see docs/benchmarks/trace.md.


class MovementRow(NamedTuple):
    """The fields of a stored movement that a trace reads, as text, with its position.

    The texts are those of [`movement_fields`][medinv.chain.movement_fields] and
    [`structured_fields`][medinv.chain.structured_fields] (``None`` when absent):
    the kind's value, the device text, a location's path joined with ``/``, a
    status's value, the counterparty as ``KIND:id``, the date-times as
    [`format_instant`][medinv.chain.format_instant] writes them.
    [`of`][medinv.ports.MovementRow.of] makes one from a recorded movement.
    """

    position: int
    """Its ledger position."""
    id: str
    """The movement's id."""
    kind: str
    """Its kind (``MovementKind`` value)."""
    device: str
    """The item's device text (GTIN-14 digits, or ``AGENCY:DI``)."""
    lot: str | None
    """The item's lot."""
    serial: str | None
    """The item's serial."""
    quantity: int
    """How many units."""
    occurred_at: str
    """When it happened (business time)."""
    recorded_at: str
    """When the ledger stored it."""
    from_location: str | None
    """Its source's path."""
    from_status: str | None
    """The status it left."""
    to_location: str | None
    """Its destination's path."""
    to_status: str | None
    """The status it went into."""
    reverses: str | None
    """For a reversal, the id of the movement it undoes."""
    counterparty: str | None
    """Who it was with, ``KIND:id``."""

    @classmethod
    def of(cls, recorded: RecordedMovement) -> MovementRow:
        """The row of a recorded movement."""
        m = recorded.movement
        fields = movement_fields(m)
        party = m.counterparty
        return cls(
            recorded.position,
            m.id,
            fields[1],
            fields[2],
            fields[3],
            fields[4],
            m.quantity,
            fields[6],
            format_instant(recorded.recorded_at),
            fields[8],
            fields[9],
            fields[10],
            fields[11],
            m.reverses,
            None if party is None else f"{party.kind.value}:{party.id}",
        )


@runtime_checkable
class MovementRowReader(Protocol):
    """A [`LedgerStore`][medinv.ports.LedgerStore] that also reads movements as light rows.

    Optional: the three shipped stores have it, and the contract suite
    ([`medinv.testing.contract`][medinv.testing.contract]) checks it on a store that
    has it. Readers call [`movement_rows`][medinv.ports.movement_rows], which falls
    back to ``movements`` for a store without it.
    """

    def movement_rows(self, query: MovementQuery) -> Iterator[MovementRow]:
        """The stored movements that match ``query`` as rows, in ascending position order.

        The same movements as ``movements(query)``, each as
        [`MovementRow.of`][medinv.ports.MovementRow.of] gives it. A store reads them
        through the same indexes, but need not decode them into movements (nor read
        their hashes); a stored row that cannot be read raises
        [`StorageError`][medinv.errors.StorageError]. The rows are streamed: a store
        holds a page or a window of them at a time, never every match of a hot lot
        (readers ask for a whole history in one call).
        """
        ...


def movement_rows(store: LedgerStore, query: MovementQuery) -> Iterator[MovementRow]:
    """``store.movement_rows(query)`` when the store has it, else its ``movements`` as rows."""
    if isinstance(store, MovementRowReader):
        return store.movement_rows(query)
    return map(MovementRow.of, store.movements(query))


__all__ += ["MovementRow", "MovementRowReader", "movement_rows"]
