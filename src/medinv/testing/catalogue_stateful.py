"""Stateful comparison of any store's catalogue with the in-memory reference (Hypothesis).

[`catalogue_machine`][medinv.testing.catalogue_stateful.catalogue_machine] builds a
Hypothesis `RuleBasedStateMachine` that drives two catalogues side by side, the
``.catalogue`` of the store under test and that of a
[`MemoryStore`][medinv.adapters.memory.MemoryStore], through random product,
product batch, location profile and party puts: versions valid from moments in
any order (the same moment written with other offsets too), device identifiers
shared between products and GLNs between parties (conflicts), package levels,
replays of stored versions and refused input. After every step it asserts that
both gave the same outcome (the same ``True``/``False`` or the same error), that
every lookup agrees at several moments (each device identifier seen, histories,
listings, location profiles with their nearest ancestor's, parties by id and by
GLN), and that [`verify_catalogue`][medinv.verification.verify_catalogue] finds
nothing wrong with either.

```python
from hypothesis import settings
from medinv.testing.catalogue_stateful import catalogue_machine

TestMyCatalogueMachine = catalogue_machine(lambda: MyStore(...)).TestCase
TestMyCatalogueMachine.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)
```

Needs the ``testing`` extra (Hypothesis).
"""

# ruff: noqa: S101  (assertions are how a state machine checks its invariants)
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import pendulum
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from medinv import catalogue as cat
from medinv.adapters.memory import MemoryStore
from medinv.catalogue import LocationKind, LocationProfile, Party, PartyKind, Product
from medinv.errors import MedinvError
from medinv.ports import CatalogueStore
from medinv.testing import strategies as mst
from medinv.verification import verify_catalogue

__all__ = ["CatalogueComparison", "StoreWithCatalogue", "catalogue_machine"]


class StoreWithCatalogue(Protocol):
    """What the machine needs of a store: its ``catalogue`` and ``close()``."""

    @property
    def catalogue(self) -> CatalogueStore:
        """The store's catalogue."""
        ...

    def close(self) -> None:
        """Close the store."""
        ...


PRIMARY_DIS = (
    "00614141000418",
    "04006381333931",
    "09506000134352",
    "A123BJC5D6E70",
    "MA.156.M0.100350.01004YA10017",
)
"""Primary DIs of the machine's products: GS1, HIBC and MA."""
PACKAGE_DIS = ("10614141000415", "20614141000412", "14006381333938", "A123BJC5D6E71")
"""Package DIs any product may claim: products contradict each other over them."""

MOMENTS = tuple(
    pendulum.parse(text)
    for text in (
        "2025-06-01T00:00:00+00:00",
        "2026-01-01T00:00:00+00:00",
        "2026-01-01T01:00:00+01:00",  # the same instant as the one before, another offset
        "2026-03-01T12:00:00.000001-05:00",
        "2026-06-01T00:00:00+02:00",
        "2027-01-01T00:00:00+00:00",
    )
)
"""The moments versions start at, drawn in any order."""
ASKED: tuple[pendulum.DateTime | None, ...] = (
    None,
    pendulum.datetime(2020, 1, 1, tz="UTC"),
    pendulum.datetime(2025, 12, 31, 23, 59, 59, 999999, tz="UTC"),
    pendulum.datetime(2026, 1, 1, tz="UTC"),
    pendulum.datetime(2026, 3, 1, 17, 0, 0, 1, tz="UTC"),
    pendulum.datetime(2026, 7, 1, tz="Asia/Tokyo"),
    pendulum.datetime(2030, 1, 1, tz="UTC"),
)
"""The moments every lookup is asked at (``None``: the latest version)."""

PATHS = ("H", "H/Store", "H/Store/A", "H/Storeroom", "H/Ward ü")
"""The locations profiles are put for: a subtree, a sibling sharing its prefix, unicode."""
ASKED_PATHS = (*PATHS, "H/Store/A/1", "H/Ward ü/Bed 3", "Other")
"""The locations asked about: also ones without a profile of their own."""

GLNS = (None, "0614141000012", "5412345000013")
PARTY_KEYS = (
    (PartyKind.SUPPLIER, "ACME"),
    (PartyKind.SUPPLIER, 'O\'Brien; "x"'),
    (PartyKind.CUSTOMER, "ACME"),
    (PartyKind.DEPARTMENT, "ICU"),
)
"""Parties by kind and id: the same id under two kinds, hostile text."""
PATIENT = "P000000001.x"

_names = st.sampled_from((None, "a", "b"))


@st.composite
def _products(draw: st.DrawFn) -> Product:
    """A product over the shared DIs: its package levels form a chain down to its primary DI."""
    primary = draw(st.sampled_from(PRIMARY_DIS))
    outer = draw(st.lists(st.sampled_from(PACKAGE_DIS), unique=True, max_size=2))
    chain = [primary, *outer]
    return Product(
        primary_di=primary,
        packages=tuple(
            cat.PackageLevel(di=di, contains=inner, quantity=draw(st.sampled_from((5, 10))))
            for inner, di in itertools.pairwise(chain)
        ),
        name=draw(_names),
        controls=cat.Controls(lot=draw(st.booleans()), expiry=draw(st.booleans())),
        storage=draw(mst.storage_conditions()) if draw(st.integers(0, 3)) == 0 else None,
    )


def _profiles() -> st.SearchStrategy[LocationProfile]:
    return st.builds(
        LocationProfile,
        path=st.sampled_from(PATHS),
        kind=st.sampled_from(LocationKind),
        pick_sequence=st.integers(0, 3),
        gln=st.sampled_from(GLNS),
    )


@st.composite
def _parties(draw: st.DrawFn) -> Party:
    """A party over the shared keys and GLNs (GLNs are claimed by one party only)."""
    if draw(st.integers(0, 5)) == 0:
        return Party(kind=PartyKind.PATIENT, id=PATIENT)
    kind, party_id = draw(st.sampled_from(PARTY_KEYS))
    return Party(kind=kind, id=party_id, name=draw(_names), gln=draw(st.sampled_from(GLNS)))


_moments = st.sampled_from(MOMENTS)


def _outcome(call: Callable[[], object]) -> object:
    """What a call returned, or the type and text of the medinv error it raised."""
    try:
        return call()
    except MedinvError as e:
        return _shown(e)


def _shown(value: object) -> object:
    return (type(value), str(value)) if isinstance(value, MedinvError) else value


class CatalogueComparison(RuleBasedStateMachine):
    """Drives a store's catalogue and a ``MemoryStore``'s; they must always agree.

    Subclasses set ``store_factory``;
    [`catalogue_machine`][medinv.testing.catalogue_stateful.catalogue_machine] does that.
    """

    store_factory: Callable[[], StoreWithCatalogue] = MemoryStore
    """Makes the store under test: fresh and empty on every call."""

    def __init__(self) -> None:
        super().__init__()
        self.subject_store = type(self).store_factory()
        self.subject = self.subject_store.catalogue
        self.reference = MemoryStore().catalogue
        self.written: list[tuple[str, Any, pendulum.DateTime]] = []
        """Every version both accepted: what to replay."""
        self.dis: dict[str, None] = dict.fromkeys(PRIMARY_DIS + PACKAGE_DIS)
        self.primaries: dict[str, None] = dict.fromkeys(PRIMARY_DIS)
        self.paths: dict[str, None] = dict.fromkeys(ASKED_PATHS)
        self.party_keys: dict[tuple[PartyKind, str], None] = dict.fromkeys(
            (*PARTY_KEYS, (PartyKind.PATIENT, PATIENT))
        )
        self.glns: dict[str, None] = dict.fromkeys(g for g in GLNS if g is not None)

    def _both(self, what: str, call: Callable[[CatalogueStore], object]) -> object:
        """Call both catalogues; assert the same outcome and return it."""
        got = _outcome(lambda: call(self.subject))
        want = _outcome(lambda: call(self.reference))
        assert got == want, f"{what}: the store gave {got!r}, the reference {want!r}"
        return want

    def _put(self, kind: str, value: Any, moment: pendulum.DateTime) -> None:
        self._seen(value)
        method = f"put_{kind}"
        outcome = self._both(
            f"{method}({value!r}, valid_from={moment})",
            lambda c: getattr(c, method)(value, valid_from=moment),
        )
        if outcome is True:
            self.written.append((kind, value, moment))

    def _seen(self, value: object) -> None:
        if isinstance(value, Product):
            self.primaries[str(value.primary_di)] = None
            self.dis.update(dict.fromkeys(str(di) for di in value.dis))
        elif isinstance(value, LocationProfile):
            self.paths["/".join(value.path.path)] = None
        elif isinstance(value, Party):
            self.party_keys[value.kind, value.id] = None
        gln = getattr(value, "gln", None)
        if gln is not None:
            self.glns[gln] = None

    # ------------------------------------------------------------- rules

    @rule(product=_products(), moment=_moments)
    def put_product(self, product: Product, moment: pendulum.DateTime) -> None:
        """Put a product version (new, changed, contradicting another product's DIs)."""
        self._put("product", product, moment)

    @rule(product=mst.products(max_levels=2), moment=_moments)
    def put_any_product(self, product: Product, moment: pendulum.DateTime) -> None:
        """Put a product with every field drawn, over DIs of any agency."""
        self._put("product", product, moment)

    @rule(
        data=st.data(),
        fresh=st.lists(_products(), max_size=5),
        moment=_moments,
        skip_unchanged=st.booleans(),
    )
    def put_products(
        self,
        data: st.DataObject,
        fresh: list[Product],
        moment: pendulum.DateTime,
        skip_unchanged: bool,  # noqa: FBT001
    ) -> None:
        """Put a batch of new and stored products, some twice: each decided as if put alone."""
        stored = [value for kind, value, _ in self.written if kind == "product"]
        again = data.draw(st.lists(st.sampled_from(stored), max_size=3)) if stored else []
        products = data.draw(st.permutations(fresh + fresh[:1] + again), label="batch")
        for product in products:
            self._seen(product)
        outcomes = self._both(
            f"put_products({products!r}, valid_from={moment}, skip_unchanged={skip_unchanged})",
            lambda c: [
                _shown(o)
                for o in c.put_products(  # type: ignore[attr-defined]
                    products, valid_from=moment, skip_unchanged=skip_unchanged
                )
            ],
        )
        if isinstance(outcomes, list):
            self.written.extend(
                ("product", p, moment) for p, o in zip(products, outcomes, strict=True) if o is True
            )

    @rule(profile=_profiles() | mst.location_profiles(max_depth=3), moment=_moments)
    def put_location(self, profile: LocationProfile, moment: pendulum.DateTime) -> None:
        """Put a location profile version."""
        self._put("location", profile, moment)

    @rule(party=_parties() | mst.parties(), moment=_moments)
    def put_party(self, party: Party, moment: pendulum.DateTime) -> None:
        """Put a party version (GLNs shared between parties are refused)."""
        self._put("party", party, moment)

    @rule(data=st.data(), offset=st.sampled_from(("UTC", "Europe/Paris", "America/Lima")))
    def replay(self, data: st.DataObject, offset: str) -> None:
        """Put a stored version again, its moment written in another time zone."""
        if not self.written:
            return
        kind, value, moment = data.draw(st.sampled_from(self.written))
        self._put(kind, value, moment.in_timezone(offset))

    @rule(
        kind=st.sampled_from(("product", "location", "party")),
        value=st.sampled_from((None, "GS1:00614141000418", 42)),
        moment=st.sampled_from(("2026-01-01T00:00:00", "tomorrow", MOMENTS[0])),
    )
    def refused_input(self, kind: str, value: object, moment: object) -> None:
        """Put something that is not a version, or at a moment that is not aware."""
        method = f"put_{kind}"
        self._both(
            f"{method}({value!r}, valid_from={moment!r})",
            lambda c: getattr(c, method)(value, valid_from=moment),
        )

    @rule(product=_products(), moment=st.sampled_from(("2026-01-01T00:00:00", "never")))
    def refused_batch(self, product: Product, moment: str) -> None:
        """A batch at a moment that is not aware: refused whole, nothing written."""
        self._both(
            f"put_products([{product!r}], valid_from={moment!r})",
            lambda c: c.put_products([product], valid_from=moment),  # type: ignore[attr-defined]
        )

    # ------------------------------------------------------------- invariants

    def _ask(self, method: str, *args: object, **kwargs: object) -> None:
        """Ask both catalogues the same question; listings are read to the end."""

        def ask(catalogue: CatalogueStore) -> object:
            answer = getattr(catalogue, method)(*args, **kwargs)
            return list(answer) if isinstance(answer, Iterator) else answer

        self._both(f"{method}{args!r} {kwargs!r}", ask)

    @invariant()
    def same_products(self) -> None:
        """Every DI seen resolves alike at every moment; histories and listings agree."""
        for as_of in ASKED:
            for di in self.dis:
                self._ask("product", di, as_of=as_of)
            self._ask("products", as_of=as_of)
        for primary in self.primaries:
            self._ask("product_history", primary)

    @invariant()
    def same_locations(self) -> None:
        """Profiles, the profile that applies (nearest ancestor) and listings agree."""
        for as_of in ASKED:
            for path in self.paths:
                self._ask("location", path, as_of=as_of)
                self._ask("profile_for", path, as_of=as_of)
            for kind in (None, LocationKind.STORE):
                self._ask("locations", kind=kind, as_of=as_of)
        for path in self.paths:
            self._ask("location_history", path)

    @invariant()
    def same_parties(self) -> None:
        """Parties by kind and id, by GLN, listings and histories agree."""
        for as_of in ASKED:
            for kind, party_id in self.party_keys:
                self._ask("party", kind, party_id, as_of=as_of)
            for gln in self.glns:
                self._ask("party_by_gln", gln, as_of=as_of)
            for party_kind in (None, PartyKind.SUPPLIER):
                self._ask("parties", kind=party_kind, as_of=as_of)
        for kind, party_id in self.party_keys:
            self._ask("party_history", kind, party_id)

    @invariant()
    def verifies_clean(self) -> None:
        """Both catalogues verify without findings, over the same number of versions."""
        got, want = verify_catalogue(self.subject), verify_catalogue(self.reference)
        assert got.findings == (), got.findings
        assert want.findings == (), want.findings
        assert got.versions_checked == want.versions_checked == len(self.written)
        assert got.head == want.head

    def teardown(self) -> None:
        """Close the store under test."""
        self.subject_store.close()


def catalogue_machine(
    store_factory: Callable[[], StoreWithCatalogue], *, name: str = "CatalogueStoreComparison"
) -> type[CatalogueComparison]:
    """A state machine class comparing the catalogues of stores made by ``store_factory``.

    ``store_factory`` is called once per test case and must return a fresh, empty
    store with a ``catalogue`` (any medinv store); the machine compares that
    catalogue with a ``MemoryStore``'s and closes the store at the end of the case.
    Use the class's ``TestCase`` attribute as a test class and set its ``settings``.
    """
    return type(name, (CatalogueComparison,), {"store_factory": staticmethod(store_factory)})
