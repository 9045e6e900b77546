"""The catalogue's rules, written once for every store: stores supply a few primitives.

A catalogue store keeps **versions**: rows of (kind, key, moment, value), the
moment as [`moment_key`][medinv.adapters._catalogue_json.moment_key] text, and
**lookups** that say which entry owns a DI or a GLN. Everything the
[`CatalogueStore`][medinv.ports.CatalogueStore] port promises (idempotent puts,
conflicts refused with nothing written, as-of lookups, nearest-ancestor profiles)
is decided here from those primitives, so the stores cannot disagree.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, TypeVar, cast

import attrs

from medinv.adapters._base import Closing
from medinv.adapters._catalogue_json import moment_key, version_to_json
from medinv.catalogue import (
    Effective,
    EffectiveHistory,
    LocationKind,
    LocationProfile,
    Party,
    PartyKind,
    Product,
    check_gln,
)
from medinv.dates import to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError
from medinv.locations import Location
from medinv.ports import CatalogueConflictError, ProductMatch
from medinv.verification import catalogue_hash

__all__ = ["LATEST", "CatalogueBase", "Kind", "NewVersion", "Outcome"]

Kind = str
"""``"product"``, ``"location"`` or ``"party"``."""
PRODUCT: Final = "product"
LOCATION: Final = "location"
PARTY: Final = "party"
DI: Final = "di"
GLN: Final = "gln"
LATEST: Final = "~"
"""A moment key after every real one ("~" sorts after digits): the latest version."""

T = TypeVar("T")


def _as_of(value: object) -> str:
    return LATEST if value is None else moment_key(to_datetime(value))


def _parsed(value: object, cls: type[T], parse: Callable[[str], T], what: str) -> T:
    """``value`` if it is a ``cls``, parsed if it is text; `InvalidValueError` otherwise."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        return parse(value)
    raise InvalidValueError(f"{what} is a {cls.__name__} or its text, not {value!r:.80}")


def _location(value: object) -> Location:
    return _parsed(value, Location, Location.parse, "a location")


def _path_key(location: Location) -> str:
    return "/".join(location.path)


def _di(value: object) -> DeviceIdentifier:
    return _parsed(value, DeviceIdentifier, DeviceIdentifier.parse, "a device identifier")


def _party_kind(value: object) -> PartyKind:
    if isinstance(value, PartyKind):
        return value
    try:
        return PartyKind(value)
    except ValueError:
        known = ", ".join(kind.value for kind in PartyKind)
        raise InvalidValueError(f"unknown party kind {value!r:.60}: one of {known}") from None


def _checked(value: object, cls: type[T], what: str) -> T:
    if not isinstance(value, cls):
        raise InvalidValueError(f"put_{what} takes a {cls.__name__}, not {value!r:.80}")
    return value


@attrs.frozen
class NewVersion:
    """A version to store, chained, with the lookups (DIs, GLNs) it claims for the first time."""

    kind: Kind
    key: str
    moment: str
    version: Effective[Any]
    lookups: tuple[tuple[Kind, str], ...]
    seq: int
    """Its sequence number in the catalogue's chain (1, 2, 3 ... in the order written)."""
    data: str
    """Its JSON ([`version_to_json`][medinv.adapters._catalogue_json.version_to_json])."""
    prev_hash: str
    """The hash of the version written before it (``GENESIS_HASH`` for the first)."""
    hash: str
    """Its own hash ([`catalogue_hash`][medinv.verification.catalogue_hash])."""


_Item = tuple[str, Any, Sequence[tuple[Kind, str]]]
"""A version to put: its key, its value and the lookups it claims."""
Outcome = bool | CatalogueConflictError
"""What putting one version did: stored (``True``), already stored (``False``), refused."""


class _Batch:
    """What a batch of puts decides from, read once, updated as each put is decided."""

    def __init__(
        self,
        kind: Kind,
        exact: dict[str, Effective[Any]],
        current: dict[str, Effective[Any]] | None,
        owners: dict[Kind, dict[str, str]],
    ) -> None:
        self.kind = kind
        self.exact = exact
        self.current = current
        self.owners = owners

    def decide(
        self, key: str, version: Effective[Any], lookups: Sequence[tuple[Kind, str]]
    ) -> Outcome | list[tuple[Kind, str]]:
        """``False``, a refusal, or the lookups the new version claims (then it is stored)."""
        value = version.value
        if self.current is not None:
            now = self.current.get(key)
            if now is not None and now.value == value:
                return False
        entry = f"{self.kind} {key}"
        stored = self.exact.get(key)
        if stored is not None:
            if stored.value == value:
                return False
            return CatalogueConflictError(
                entry,
                f"another version is valid from {stored.valid_from.isoformat()}: "
                f"{stored.value!r:.200}",
            )
        fresh: list[tuple[Kind, str]] = []
        for lookup_kind, name in lookups:
            owner = self.owners[lookup_kind].get(name)
            if owner is None:
                fresh.append((lookup_kind, name))
            elif owner != key:
                what, whom = (
                    ("device identifier", PRODUCT) if lookup_kind == DI else (GLN.upper(), PARTY)
                )
                return CatalogueConflictError(
                    entry, f"{what} {name} already belongs to {whom} {owner}"
                )
        self.exact[key] = version
        if self.current is not None:
            self.current[key] = version
        for lookup_kind, name in fresh:
            self.owners[lookup_kind][name] = key
        return sorted(fresh)


class CatalogueBase(Closing):
    """The [`CatalogueStore`][medinv.ports.CatalogueStore] methods over a store's primitives."""

    __slots__ = ()

    # ------------------------------------------------------------------ primitives

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction that holds the catalogue's write lock until it ends."""
        raise NotImplementedError  # pragma: no cover

    def _versions_at(
        self, kind: Kind, keys: Sequence[str], moment: str
    ) -> dict[str, Effective[Any]]:
        """Per key, the version starting exactly at ``moment`` (keys without one left out)."""
        raise NotImplementedError  # pragma: no cover

    def _latest(self, kind: Kind, keys: Sequence[str], moment: str) -> dict[str, Effective[Any]]:
        """Per key, the version in force at ``moment`` (keys without one are left out)."""
        raise NotImplementedError  # pragma: no cover

    def _history(self, kind: Kind, key: str) -> list[Effective[Any]]:
        """Every version of ``key``, oldest first."""
        raise NotImplementedError  # pragma: no cover

    def _listing(self, kind: Kind, moment: str) -> list[Effective[Any]]:
        """The version in force at ``moment`` of every key of ``kind``, by key."""
        raise NotImplementedError  # pragma: no cover

    def _owners(self, kind: Kind, names: Sequence[str]) -> dict[str, str]:
        """Which key owns each lookup name (a DI's text, a GLN) of ``kind``."""
        raise NotImplementedError  # pragma: no cover

    def _chain_head(self) -> tuple[int, str]:
        """Inside the transaction: the last sequence number and hash of the chain."""
        raise NotImplementedError  # pragma: no cover

    def _append(self, entries: Sequence[NewVersion]) -> None:
        """Store versions (in order), claim their new lookups and move the head to the last."""
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ writing

    def _put_many(
        self, kind: Kind, items: Sequence[_Item], valid_from: object, *, skip_unchanged: bool
    ) -> tuple[Outcome, ...]:
        """Put versions in one transaction: each decided as if put one after the other."""
        moment_at = Effective(value=None, valid_from=valid_from).valid_from
        moment = moment_key(moment_at)
        keys = list(dict.fromkeys(key for key, _, _ in items))
        names: dict[Kind, dict[str, None]] = {DI: {}, GLN: {}}
        for _, _, lookups in items:
            for lookup_kind, name in lookups:
                names[lookup_kind][name] = None
        outcomes: list[Outcome] = []
        with self._transaction():
            batch = _Batch(
                kind,
                self._versions_at(kind, keys, moment),
                self._latest(kind, keys, moment) if skip_unchanged else None,
                {k: self._owners(k, list(found)) if found else {} for k, found in names.items()},
            )
            seq, prev = self._chain_head()
            entries: list[NewVersion] = []
            for key, value, lookups in items:
                version = Effective(value=value, valid_from=moment_at)
                decided = batch.decide(key, version, lookups)
                if isinstance(decided, list):
                    seq += 1
                    data = version_to_json(value, moment_at)
                    digest = catalogue_hash(prev, kind, data)
                    entries.append(
                        NewVersion(
                            kind, key, moment, version, tuple(decided), seq, data, prev, digest
                        )
                    )
                    prev = digest
                    outcomes.append(True)
                else:
                    outcomes.append(decided)
            if entries:
                self._append(entries)
        return tuple(outcomes)

    def _put(
        self,
        kind: Kind,
        key: str,
        value: object,
        valid_from: object,
        lookups: Sequence[tuple[Kind, str]],
    ) -> bool:
        (outcome,) = self._put_many(kind, [(key, value, lookups)], valid_from, skip_unchanged=False)
        if isinstance(outcome, CatalogueConflictError):
            raise outcome
        return outcome

    def put_product(self, product: Product, *, valid_from: object) -> bool:
        """See [`CatalogueStore.put_product`][medinv.ports.CatalogueStore.put_product]."""
        product = _checked(product, Product, "product")
        lookups = [(DI, str(di)) for di in product.dis]
        return self._put(PRODUCT, str(product.primary_di), product, valid_from, lookups)

    def put_products(
        self, products: Iterable[Product], *, valid_from: object, skip_unchanged: bool = False
    ) -> tuple[Outcome, ...]:
        """Put many product versions valid from ``valid_from`` in one transaction.

        Each product is decided exactly as ``put_product`` one after the other would
        decide it (a later product sees the earlier ones): the result holds, in order,
        ``True`` (stored), ``False`` (already stored) or the
        [`CatalogueConflictError`][medinv.ports.CatalogueConflictError] that refuses
        it (returned, not raised: the others are still stored). With
        ``skip_unchanged``, a product whose version in force at ``valid_from`` is
        already the same is not stored again either (``False``): what an import wants.

        Raises:
            InvalidValueError: one of them is not a `Product`, or ``valid_from`` not an
                aware moment (nothing is written).
            StorageError: the store failed (nothing is written).
        """
        given: object = products
        if isinstance(given, (str, bytes)) or not isinstance(given, Iterable):
            raise InvalidValueError(f"put_products takes products, not {products!r:.80}")
        items: list[_Item] = []
        for product in products:
            checked = _checked(product, Product, "product")
            lookups = [(DI, str(di)) for di in checked.dis]
            items.append((str(checked.primary_di), checked, lookups))
        return self._put_many(PRODUCT, items, valid_from, skip_unchanged=skip_unchanged)

    def put_location(self, profile: LocationProfile, *, valid_from: object) -> bool:
        """See [`CatalogueStore.put_location`][medinv.ports.CatalogueStore.put_location]."""
        profile = _checked(profile, LocationProfile, "location")
        return self._put(LOCATION, _path_key(profile.path), profile, valid_from, ())

    def put_party(self, party: Party, *, valid_from: object) -> bool:
        """See [`CatalogueStore.put_party`][medinv.ports.CatalogueStore.put_party]."""
        party = _checked(party, Party, "party")
        lookups = [] if party.gln is None else [(GLN, party.gln)]
        return self._put(PARTY, party.key, party, valid_from, lookups)

    # ------------------------------------------------------------------ products

    def product(self, di: DeviceIdentifier | str, *, as_of: object = None) -> ProductMatch | None:
        """See [`CatalogueStore.product`][medinv.ports.CatalogueStore.product]."""
        wanted, moment = _di(di), _as_of(as_of)
        owner = self._owners(DI, [str(wanted)]).get(str(wanted))
        if owner is None:
            return None
        version = self._latest(PRODUCT, [owner], moment).get(owner)
        if version is None or wanted not in version.value:
            return None
        return ProductMatch(product=version.value, di=wanted)

    def product_history(self, primary_di: DeviceIdentifier | str) -> EffectiveHistory[Product]:
        """See [`CatalogueStore.product_history`][medinv.ports.CatalogueStore.product_history]."""
        return EffectiveHistory(self._history(PRODUCT, str(_di(primary_di))))

    def products(self, *, as_of: object = None) -> Iterator[Product]:
        """See [`CatalogueStore.products`][medinv.ports.CatalogueStore.products]."""
        return iter([v.value for v in self._listing(PRODUCT, _as_of(as_of))])

    # ------------------------------------------------------------------ locations

    def location(self, path: Location | str, *, as_of: object = None) -> LocationProfile | None:
        """See [`CatalogueStore.location`][medinv.ports.CatalogueStore.location]."""
        key = _path_key(_location(path))
        version = self._latest(LOCATION, [key], _as_of(as_of)).get(key)
        return None if version is None else cast("LocationProfile", version.value)

    def profile_for(self, path: Location | str, *, as_of: object = None) -> LocationProfile | None:
        """See [`CatalogueStore.profile_for`][medinv.ports.CatalogueStore.profile_for]."""
        segments = _location(path).path
        keys = ["/".join(segments[:n]) for n in range(len(segments), 0, -1)]
        found = self._latest(LOCATION, keys, _as_of(as_of))
        return next((found[key].value for key in keys if key in found), None)

    def location_history(self, path: Location | str) -> EffectiveHistory[LocationProfile]:
        """See [`CatalogueStore.location_history`][medinv.ports.CatalogueStore.location_history]."""
        return EffectiveHistory(self._history(LOCATION, _path_key(_location(path))))

    def locations(
        self, *, kind: LocationKind | None = None, as_of: object = None
    ) -> Iterator[LocationProfile]:
        """See [`CatalogueStore.locations`][medinv.ports.CatalogueStore.locations]."""
        if kind is not None and not isinstance(kind, LocationKind):
            raise InvalidValueError(f"kind is a LocationKind or None, not {kind!r:.60}")
        profiles = [v.value for v in self._listing(LOCATION, _as_of(as_of))]
        return iter([p for p in profiles if kind is None or p.kind is kind])

    # ------------------------------------------------------------------ parties

    def party(self, kind: PartyKind, party_id: str, *, as_of: object = None) -> Party | None:
        """See [`CatalogueStore.party`][medinv.ports.CatalogueStore.party]."""
        if not isinstance(party_id, str):
            raise InvalidValueError(f"a party id is text, not {party_id!r:.60}")
        key = f"{_party_kind(kind).value}:{party_id}"
        version = self._latest(PARTY, [key], _as_of(as_of)).get(key)
        return None if version is None else cast("Party", version.value)

    def party_by_gln(self, gln: str, *, as_of: object = None) -> Party | None:
        """See [`CatalogueStore.party_by_gln`][medinv.ports.CatalogueStore.party_by_gln]."""
        wanted, moment = check_gln(gln), _as_of(as_of)
        owner = self._owners(GLN, [wanted]).get(wanted)
        if owner is None:
            return None
        version = self._latest(PARTY, [owner], moment).get(owner)
        if version is None or version.value.gln != wanted:
            return None
        return cast("Party", version.value)

    def party_history(self, kind: PartyKind, party_id: str) -> EffectiveHistory[Party]:
        """See [`CatalogueStore.party_history`][medinv.ports.CatalogueStore.party_history]."""
        return EffectiveHistory(self._history(PARTY, f"{_party_kind(kind).value}:{party_id}"))

    def parties(self, *, kind: PartyKind | None = None, as_of: object = None) -> Iterator[Party]:
        """See [`CatalogueStore.parties`][medinv.ports.CatalogueStore.parties]."""
        wanted = None if kind is None else _party_kind(kind)
        found = [v.value for v in self._listing(PARTY, _as_of(as_of))]
        return iter([p for p in found if wanted is None or p.kind is wanted])
