"""The contract every [`CatalogueStore`][medinv.ports.CatalogueStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.catalogue_contract import CatalogueStoreContract

class TestMyCatalogue(CatalogueStoreContract):
    @pytest.fixture
    def catalogue(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store.catalogue

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability, one database
        return lambda: MyStore(tmp_path / "medinv.db")
```

``catalogue`` gives a fresh, empty catalogue per test. ``open_database``, when
overridden, returns a callable that opens the whole store over the same database
each time it is called (a process restart): a ledger store with ``.stocktakes``
and ``.catalogue``. The tests of durability and of one database shared by the
ledger, the stocktakes and the catalogue run with it, and are skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102, PLR2004
from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.adapters.memory_catalogue import MemoryCatalogue
from medinv.catalogue import (
    Controls,
    EffectiveHistory,
    LocationKind,
    LocationProfile,
    PackageLevel,
    Party,
    PartyKind,
    Product,
    StorageCondition,
    TemperatureRange,
    UnitValue,
)
from medinv.errors import InvalidValueError, StorageError
from medinv.identifiers import ItemKey
from medinv.ledger import Ledger
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import CatalogueConflictError, CatalogueStore
from medinv.stocktake import Stocktake, StocktakeScope
from medinv.testing import strategies as mst
from medinv.verification import (
    CatalogueVersionEdited,
    CatalogueVersionMissing,
    CatalogueVersionOrder,
    DIHeldTwice,
    LookupMismatch,
    PackageDINotHeld,
    verify_catalogue,
)

__all__ = ["CatalogueStoreContract", "sample_product"]

EACH, BOX, CASE = "00614141000418", "10614141000415", "20614141000412"
HIBC_EACH, HIBC_BOX = "A123BJC5D6E70", "A123BJC5D6E71"
MA_EACH = "MA.156.M0.100350.01004YA10017"
JAN, JUN = "2026-01-01T00:00:00+00:00", "2026-06-01T00:00:00+02:00"
OTHER, OTHER_BOX = "04006381333931", "14006381333938"


def sample_product(name: str = "Suture 3-0") -> Product:
    """A GS1 product with two packaging levels (20 eaches a box, 10 boxes a case)."""
    return Product(
        primary_di=EACH,
        packages=(
            PackageLevel(di=CASE, contains=BOX, quantity=10),
            PackageLevel(di=BOX, contains=EACH, quantity=20),
        ),
        name=name,
        controls=Controls(lot=True, expiry=True),
        storage=StorageCondition(temperature=TemperatureRange(low="2", high="8")),
        unit_value=UnitValue(amount="1.25", currency="EUR"),
    )


_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        # One catalogue serves every example (a fresh database per example is too slow);
        # each example works out what the store must do from what it already holds.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def _after(history: EffectiveHistory[Any]) -> pendulum.DateTime:
    """A moment after the last version of ``history`` (2026-01-01 for an empty one)."""
    if not history.versions:
        return pendulum.datetime(2026, 1, 1, tz="UTC")
    return history.versions[-1].valid_from.add(minutes=1)


class CatalogueStoreContract:
    """Pytest mixin: the behaviour every catalogue store shares (override ``catalogue``)."""

    @pytest.fixture
    def catalogue(self) -> Iterator[CatalogueStore]:
        """A fresh, empty catalogue; override in the subclass."""
        raise NotImplementedError

    @pytest.fixture
    def open_database(self) -> Callable[[], Any] | None:
        """A callable opening the whole store over the same database; ``None``: not durable."""
        return None

    # ------------------------------------------------------------------ the port

    def test_satisfies_the_port(self, catalogue: CatalogueStore) -> None:
        assert isinstance(catalogue, CatalogueStore)

    def test_an_empty_catalogue_knows_nothing(self, catalogue: CatalogueStore) -> None:
        assert catalogue.product(EACH) is None
        assert catalogue.location("Main/A") is None
        assert catalogue.profile_for("Main/A/1") is None
        assert catalogue.party(PartyKind.SUPPLIER, "ACME") is None
        assert catalogue.party_by_gln("0614141000012") is None
        assert catalogue.product_history(EACH).versions == ()
        assert list(catalogue.products()) == []
        assert list(catalogue.locations()) == []
        assert list(catalogue.parties()) == []

    # ------------------------------------------------------------------ round trips

    @_SETTINGS
    @given(data=st.data())
    def test_every_product_field_round_trips(
        self, catalogue: CatalogueStore, data: st.DataObject
    ) -> None:
        product = data.draw(mst.products())
        at = _after(catalogue.product_history(product.primary_di))
        owners = {di: catalogue.product(di) for di in product.dis}
        taken = [
            di
            for di, match in owners.items()
            if match is not None and match.product.primary_di != product.primary_di
        ]
        before = catalogue.product_history(product.primary_di)
        if taken:
            with pytest.raises(CatalogueConflictError):
                catalogue.put_product(product, valid_from=at)
            assert catalogue.product_history(product.primary_di) == before
            return
        assert catalogue.put_product(product, valid_from=at) is True
        for di in product.dis:
            match = catalogue.product(di)
            assert match is not None
            assert match.product == product
            assert match.di == di
            assert match.base_units == product.base_units_per(di)
            assert catalogue.product(str(di), as_of=at) == match
        history = catalogue.product_history(product.primary_di)
        assert history.versions[-1].value == product
        assert history.versions[-1].valid_from == at
        assert product in list(catalogue.products())

    @_SETTINGS
    @given(data=st.data())
    def test_every_location_field_round_trips(
        self, catalogue: CatalogueStore, data: st.DataObject
    ) -> None:
        profile = data.draw(mst.location_profiles())
        at = data.draw(mst.effective_moments())
        stored = catalogue.location_history(profile.path)
        clash = next((v for v in stored.versions if v.valid_from == at), None)
        if clash is not None and clash.value != profile:
            with pytest.raises(CatalogueConflictError):
                catalogue.put_location(profile, valid_from=at)
            return
        assert catalogue.put_location(profile, valid_from=at) is (clash is None)
        assert catalogue.location(profile.path, as_of=at) == profile
        assert catalogue.profile_for(profile.path, as_of=at) == profile
        version = next(v for v in catalogue.location_history(profile.path).versions
                       if v.valid_from == at)  # fmt: skip
        assert version.value == profile
        assert version.valid_from.isoformat() == at.isoformat()  # the offset as given

    @_SETTINGS
    @given(data=st.data())
    def test_every_party_field_round_trips(
        self, catalogue: CatalogueStore, data: st.DataObject
    ) -> None:
        party = data.draw(mst.parties())
        at = _after(catalogue.party_history(party.kind, party.id))
        owner = None if party.gln is None else catalogue.party_by_gln(party.gln)
        if owner is None and party.gln is not None:
            # The GLN may be claimed by a party whose latest version dropped it.
            with contextlib.suppress(CatalogueConflictError):
                catalogue.put_party(party, valid_from=at)
                assert catalogue.party(party.kind, party.id) == party
            return
        if owner is not None and owner.key != party.key:
            with pytest.raises(CatalogueConflictError):
                catalogue.put_party(party, valid_from=at)
            return
        assert catalogue.put_party(party, valid_from=at) is True
        assert catalogue.party(party.kind, party.id) == party
        assert catalogue.party(party.kind.value, party.id, as_of=at) == party  # type: ignore[arg-type]
        if party.gln is not None:
            assert catalogue.party_by_gln(party.gln) == party
        assert catalogue.party_history(party.kind, party.id).versions[-1].value == party

    # ------------------------------------------------------------------ lookups

    def test_a_package_di_resolves_to_its_product_and_level(
        self, catalogue: CatalogueStore
    ) -> None:
        product = sample_product()
        catalogue.put_product(product, valid_from=JAN)
        case = catalogue.product(CASE)
        assert case is not None
        assert case.product == product
        assert (case.base_units, case.level) == (200, product.packages[0])
        box = catalogue.product(BOX)
        assert box is not None
        assert (box.base_units, box.level) == (20, product.packages[1])
        each = catalogue.product(f"GS1:{EACH}")
        assert each is not None
        assert (each.base_units, each.level) == (1, None)
        assert box.product.convert(3, CASE, to=BOX) == 30

    def test_hibc_and_ma_products_resolve_like_gs1(self, catalogue: CatalogueStore) -> None:
        hibc = Product(
            primary_di=HIBC_EACH,
            packages=(PackageLevel(di=HIBC_BOX, contains=HIBC_EACH, quantity=12),),
        )
        ma = Product(primary_di=MA_EACH, controls=Controls(serial=True), implantable=True)
        catalogue.put_product(hibc, valid_from=JAN)
        catalogue.put_product(ma, valid_from=JAN)
        match = catalogue.product(HIBC_BOX)
        assert match is not None
        assert (match.product, match.base_units) == (hibc, 12)
        ma_match = catalogue.product(MA_EACH)
        assert ma_match is not None
        assert ma_match.product == ma
        assert [p.primary_di for p in catalogue.products()] == sorted(
            [hibc.primary_di, ma.primary_di], key=str
        )

    def test_as_of_lookups_pick_the_version_in_force(self, catalogue: CatalogueStore) -> None:
        old, new = sample_product("old"), sample_product("new")
        new = Product(primary_di=EACH, name="new")  # the packages dropped in June
        catalogue.put_product(new, valid_from=JUN)
        catalogue.put_product(old, valid_from=JAN)  # a version may be added before
        assert catalogue.product(EACH, as_of="2025-12-31T23:59:59+00:00") is None
        march = catalogue.product(EACH, as_of="2026-03-01T00:00:00+01:00")
        assert march is not None
        assert march.product == old
        at_june = catalogue.product(EACH, as_of="2026-05-31T22:00:00+00:00")  # = JUN
        assert at_june is not None
        assert at_june.product == new
        assert catalogue.product(CASE, as_of="2026-03-01T00:00:00+00:00") is not None
        assert catalogue.product(CASE) is None  # not a DI of the latest version
        history = catalogue.product_history(EACH)
        assert [v.value.name for v in history.versions] == ["old", "new"]
        assert history.as_of("2026-02-01T00:00:00+00:00") == old
        assert [p.name for p in catalogue.products(as_of="2026-02-01T00:00:00Z")] == ["old"]
        assert list(catalogue.products(as_of="2025-01-01T00:00:00Z")) == []

    def test_the_nearest_ancestor_profile_applies(self, catalogue: CatalogueStore) -> None:
        store = LocationProfile(path="CHU/Pharmacy", kind=LocationKind.STORE, pick_sequence=5)
        bin_ = LocationProfile(path="CHU/Pharmacy/A/03", kind=LocationKind.STORE, pick_sequence=30)
        later = LocationProfile(path="CHU/Pharmacy/A", kind=LocationKind.QUARANTINE_AREA)
        catalogue.put_location(store, valid_from=JAN)
        catalogue.put_location(bin_, valid_from=JAN)
        catalogue.put_location(later, valid_from=JUN)
        assert catalogue.profile_for("CHU/Pharmacy/A/03/x") == bin_
        assert catalogue.profile_for(Location(("CHU", "Pharmacy", "A", "04"))) == later
        assert catalogue.profile_for("CHU/Pharmacy/A/04", as_of="2026-02-01T00:00:00Z") == store
        assert catalogue.profile_for("CHU/Ward") is None
        assert catalogue.location("CHU/Pharmacy/A/04") is None
        found = catalogue.profile_for("CHU/Pharmacy/A/03")
        assert found is not None
        assert found.location.pick_sequence == 30
        assert list(catalogue.locations(kind=LocationKind.QUARANTINE_AREA)) == [later]
        assert [p.path for p in catalogue.locations()] == [store.path, later.path, bin_.path]
        assert [p.path for p in catalogue.locations(as_of="2026-02-01T00:00:00Z")] == [
            store.path,
            bin_.path,
        ]

    def test_parties_by_id_gln_and_kind(self, catalogue: CatalogueStore) -> None:
        acme = Party(kind=PartyKind.SUPPLIER, id="ACME", name="Acme", gln="0614141000012")
        moved = Party(kind=PartyKind.SUPPLIER, id="ACME", name="Acme", gln="4006381000000")
        ward = Party(kind=PartyKind.DEPARTMENT, id="ACME", name="Ward named ACME")
        patient = Party(kind=PartyKind.PATIENT, id="P-000123")
        catalogue.put_party(acme, valid_from=JAN)
        catalogue.put_party(moved, valid_from=JUN)
        catalogue.put_party(ward, valid_from=JAN)
        catalogue.put_party(patient, valid_from=JAN)
        assert catalogue.party(PartyKind.SUPPLIER, "ACME") == moved
        assert catalogue.party(PartyKind.DEPARTMENT, "ACME") == ward
        assert catalogue.party_by_gln("4006381000000") == moved
        assert catalogue.party_by_gln("0614141000012") is None  # not the GLN any more
        assert catalogue.party_by_gln("0614141000012", as_of="2026-02-01T00:00:00Z") == acme
        assert list(catalogue.parties(kind=PartyKind.PATIENT)) == [patient]
        assert [p.key for p in catalogue.parties()] == [
            "DEPARTMENT:ACME",
            "PATIENT:P-000123",
            "SUPPLIER:ACME",
        ]
        assert len(catalogue.party_history(PartyKind.SUPPLIER, "ACME").versions) == 2

    # ------------------------------------------------------------------ writes

    def test_putting_the_same_version_again_changes_nothing(
        self, catalogue: CatalogueStore
    ) -> None:
        product = sample_product()
        assert catalogue.put_product(product, valid_from=JAN) is True
        assert catalogue.put_product(sample_product(), valid_from=JAN) is False
        # The same moment written with another offset is the same moment.
        assert catalogue.put_product(product, valid_from="2026-01-01T01:00:00+01:00") is False
        profile = LocationProfile(path="A/B", kind=LocationKind.STORE)
        assert catalogue.put_location(profile, valid_from=JAN) is True
        assert catalogue.put_location(profile, valid_from=JAN) is False
        party = Party(kind=PartyKind.CUSTOMER, id="C1", gln="0614141000012")
        assert catalogue.put_party(party, valid_from=JAN) is True
        assert catalogue.put_party(party, valid_from=JAN) is False
        assert len(catalogue.product_history(EACH).versions) == 1
        assert len(catalogue.location_history("A/B").versions) == 1

    def test_a_contradicting_version_is_refused_and_nothing_is_written(
        self, catalogue: CatalogueStore
    ) -> None:
        catalogue.put_product(sample_product(), valid_from=JAN)
        with pytest.raises(CatalogueConflictError, match="another version is valid from"):
            catalogue.put_product(sample_product("renamed"), valid_from=JAN)
        # A DI that belongs to another product: nothing of the new product is stored.
        other = Product(
            primary_di="04006381333931",
            packages=(
                PackageLevel(di="14006381333938", contains="04006381333931", quantity=5),
                PackageLevel(di=BOX, contains="14006381333938", quantity=2),
            ),
        )
        with pytest.raises(CatalogueConflictError, match=f"GS1:{BOX} already belongs"):
            catalogue.put_product(other, valid_from=JUN)
        assert catalogue.product("04006381333931") is None
        assert catalogue.product("14006381333938") is None
        assert catalogue.product_history("04006381333931").versions == ()
        # The product's own later version may keep its DIs.
        assert catalogue.put_product(sample_product("v2"), valid_from=JUN) is True
        profile = LocationProfile(path="A", kind=LocationKind.STORE)
        catalogue.put_location(profile, valid_from=JAN)
        with pytest.raises(CatalogueConflictError):
            catalogue.put_location(
                LocationProfile(path="A", kind=LocationKind.DEPARTMENT), valid_from=JAN
            )
        catalogue.put_party(
            Party(kind=PartyKind.SITE, id="S1", gln="0614141000012"), valid_from=JAN
        )
        with pytest.raises(CatalogueConflictError, match="GLN 0614141000012 already belongs"):
            catalogue.put_party(
                Party(kind=PartyKind.SITE, id="S2", gln="0614141000012"), valid_from=JAN
            )
        assert catalogue.party(PartyKind.SITE, "S2") is None
        assert catalogue.location("A") == profile

    @pytest.mark.parametrize(
        "call",
        [
            lambda c: c.put_product("not a product", valid_from=JAN),
            lambda c: c.put_product(sample_product(), valid_from="2026-01-01T00:00:00"),
            lambda c: c.put_product(sample_product(), valid_from=dt.date(2026, 1, 1)),
            lambda c: c.put_location({"path": "A"}, valid_from=JAN),
            lambda c: c.put_party(None, valid_from=JAN),
            lambda c: c.product("12345"),
            lambda c: c.product(12345),
            lambda c: c.product(EACH, as_of="yesterday"),
            lambda c: c.location("A//B"),
            lambda c: c.profile_for(42),
            lambda c: c.party("VENDOR", "ACME"),
            lambda c: c.party(PartyKind.SUPPLIER, 7),
            lambda c: c.party_by_gln("0614141000013"),
            lambda c: list(c.locations(kind="STORE")),
            lambda c: c.product_history("not a DI"),
        ],
    )
    def test_bad_input_gets_a_clear_error_and_writes_nothing(
        self, catalogue: CatalogueStore, call: Callable[[CatalogueStore], object]
    ) -> None:
        with pytest.raises(InvalidValueError):
            call(catalogue)
        assert list(catalogue.products()) == []
        assert list(catalogue.locations()) == []

    def test_a_closed_catalogue_refuses_calls(self, catalogue: CatalogueStore) -> None:
        catalogue.close()
        catalogue.close()
        with pytest.raises(StorageError):
            catalogue.product(EACH)
        with pytest.raises(StorageError):
            catalogue.put_product(sample_product(), valid_from=JAN)

    # ------------------------------------------------------------------ one database

    def test_the_catalogue_survives_a_restart(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("this store is not durable (no open_database fixture)")
        with _opened(open_database) as store:
            store.catalogue.put_product(sample_product(), valid_from=JAN)
            store.catalogue.put_location(
                LocationProfile(path="Main/A1", kind=LocationKind.STORE, pick_sequence=7),
                valid_from=JAN,
            )
            store.catalogue.put_party(Party(kind=PartyKind.PATIENT, id="P-000123"), valid_from=JAN)
        with _opened(open_database) as store:
            match = store.catalogue.product(CASE)
            assert match is not None
            assert match.product == sample_product()
            profile = store.catalogue.profile_for("Main/A1/x")
            assert profile is not None
            assert profile.pick_sequence == 7
            assert store.catalogue.party(PartyKind.PATIENT, "P-000123") is not None

    @pytest.mark.parametrize(
        "order", list(itertools.permutations(("ledger", "stocktake", "catalogue")))
    )
    def test_one_database_holds_ledger_stocktakes_and_catalogue_in_any_order(
        self, open_database: Callable[[], Any] | None, order: tuple[str, ...]
    ) -> None:
        if open_database is None:
            pytest.skip("no open_database fixture")
        for part in order:
            with _opened(open_database) as store:
                _WRITE[part](store)
        with _opened(open_database) as store:
            assert Ledger(store).balance(ItemKey(EACH, lot="L1"), location="Main") == 10
            assert store.stocktakes.get("ST-1").id == "ST-1"
            assert store.catalogue.product(BOX) is not None

    # ------------------------------------------------------------------ batch writes

    @pytest.fixture
    def one_by_one(self) -> CatalogueStore:
        """The reference a batch is compared with: a memory catalogue written one at a time."""
        return MemoryCatalogue()

    @_SETTINGS
    @given(data=st.data())
    def test_a_batch_decides_like_one_put_after_the_other(
        self, catalogue: CatalogueStore, one_by_one: CatalogueStore, data: st.DataObject
    ) -> None:
        # One catalogue serves every example: the reference gets the same puts, so both
        # start every example from the same history.
        products = data.draw(st.lists(_small_products(), max_size=8), label="products")
        moment = data.draw(st.sampled_from(_MOMENTS), label="valid_from")
        skip = data.draw(st.booleans(), label="skip_unchanged")
        outcomes = catalogue.put_products(  # type: ignore[attr-defined]
            products, valid_from=moment, skip_unchanged=skip
        )
        expected = [_one(one_by_one, p, moment, skip=skip) for p in products]
        assert [_shown(o) for o in outcomes] == [_shown(o) for o in expected]
        for di in _SMALL_DIS:
            assert catalogue.product(di) == one_by_one.product(di)
            assert catalogue.product_history(di) == one_by_one.product_history(di)
        assert verify_catalogue(catalogue).ok

    def test_a_batch_of_bad_input_writes_nothing(self, catalogue: CatalogueStore) -> None:
        batch = catalogue.put_products  # type: ignore[attr-defined]
        with pytest.raises(InvalidValueError, match="put_product takes a Product"):
            batch([sample_product(), "not a product"], valid_from=JAN)
        with pytest.raises(InvalidValueError, match="put_products takes products"):
            batch(sample_product(), valid_from=JAN)
        with pytest.raises(InvalidValueError):
            batch([sample_product()], valid_from="2026-01-01T00:00:00")
        assert list(catalogue.products()) == []
        assert batch([], valid_from=JAN) == ()
        assert verify_catalogue(catalogue).ok

    # ------------------------------------------------------------------ verification

    @pytest.fixture
    def tamper(self) -> Any:
        """Something that edits the stored catalogue behind the store's back; ``None``: skip.

        It has ``edit_name(seq, name, *, rehash)``, ``drop_package(seq, di, *, rehash)``,
        ``add_package(seq, di, contains, quantity, *, rehash)``, ``delete(seq)``,
        ``swap(a, b)`` (two sequence numbers), ``refile(seq, moment)`` and
        ``set_lookup(kind, name, key)``; ``rehash`` rewrites the hash chain from the
        edited version on.
        """
        return None

    def test_a_clean_catalogue_verifies_without_findings(self, catalogue: CatalogueStore) -> None:
        empty = verify_catalogue(catalogue)
        assert empty.ok
        assert empty.versions_checked == 0
        _five_versions(catalogue)
        report = verify_catalogue(catalogue)
        assert report.findings == ()
        assert report.versions_checked == 5
        assert report.head.position == 5

    @pytest.mark.parametrize(
        ("edit", "kinds"),
        [
            (lambda t: t.edit_name(2, "forged"), {CatalogueVersionEdited}),
            (lambda t: t.delete(2), {CatalogueVersionMissing}),
            (lambda t: t.delete(5), {CatalogueVersionMissing}),
            (lambda t: t.swap(1, 2), {CatalogueVersionOrder}),
            (lambda t: t.refile(1, "2026-07-01T00:00:00.000000+00:00"), {CatalogueVersionOrder}),
            (lambda t: t.drop_package(1, "GS1:" + BOX, rehash=True), {PackageDINotHeld}),
            (
                lambda t: t.add_package(3, "GS1:" + BOX, "GS1:" + OTHER, 2, rehash=True),
                {DIHeldTwice},
            ),
            (lambda t: t.set_lookup("di", "GS1:" + CASE, "GS1:" + OTHER), {LookupMismatch}),
        ],
        ids=[
            "edited",
            "deleted",
            "last-deleted",
            "swapped",
            "refiled",
            "package-not-held",
            "di-held-twice",
            "wrong-lookup",
        ],
    )
    def test_each_kind_of_tampering_is_found(
        self, catalogue: CatalogueStore, tamper: Any, edit: Callable[[Any], None], kinds: set[type]
    ) -> None:
        if tamper is None:
            pytest.skip("no tamper fixture for this store")
        _five_versions(catalogue)
        edit(tamper)
        report = verify_catalogue(catalogue)
        assert {type(f) for f in report.findings} == kinds, report.findings
        for finding in report.findings:
            assert finding.description

    def test_the_findings_say_what_and_where(self, catalogue: CatalogueStore, tamper: Any) -> None:
        if tamper is None:
            pytest.skip("no tamper fixture for this store")
        _five_versions(catalogue)
        tamper.drop_package(1, "GS1:" + BOX, rehash=True)
        tamper.add_package(3, "GS1:" + BOX, "GS1:" + OTHER, 2, rehash=True)
        tamper.delete(4)  # the party: its GLN's lookup now names no version
        report = verify_catalogue(catalogue)
        assert CatalogueVersionMissing(expected=4, found=5) in report.findings
        assert (
            LookupMismatch(kind="gln", name="0614141000012", stored="SUPPLIER:ACME", expected=None)
            in report.findings
        )
        # Version 2 (from JUN) holds the box again, the other product since JAN.
        assert (
            DIHeldTwice(
                di="GS1:" + BOX,
                products=("GS1:" + OTHER, "GS1:" + EACH),
                since="2026-05-31T22:00:00.000000+00:00",
            )
            in report.findings
        )
        [package] = [f for f in report.findings if isinstance(f, PackageDINotHeld)]
        assert (package.product, package.contains, package.held_by) == (
            "GS1:" + EACH,
            "GS1:" + BOX,
            "GS1:" + OTHER,
        )
        assert "product GS1:" + OTHER in package.description


_MOMENTS = (JAN, JUN, "2026-03-01T00:00:00+00:00")
_SMALL_DIS = ("00614141000418", "04006381333931", "09506000134352", BOX, CASE)


@st.composite
def _small_products(draw: st.DrawFn) -> Product:
    """Products over a few DIs, so that batches repeat, change and contradict each other."""
    primary = draw(st.sampled_from(_SMALL_DIS[:3]))
    packages = draw(st.lists(st.sampled_from((BOX, CASE)), unique=True, max_size=2))
    return Product(
        primary_di=primary,
        packages=tuple(PackageLevel(di=di, contains=primary, quantity=5) for di in packages),
        name=draw(st.sampled_from(("a", "b"))),
    )


def _one(catalogue: CatalogueStore, product: Product, moment: str, *, skip: bool) -> object:
    """What putting ``product`` alone does (the import's check first, with ``skip``)."""
    if skip:
        current = catalogue.product(product.primary_di, as_of=moment)
        if current is not None and current.product == product:
            return False
    try:
        return catalogue.put_product(product, valid_from=moment)
    except CatalogueConflictError as e:
        return e


def _shown(outcome: object) -> object:
    return str(outcome) if isinstance(outcome, CatalogueConflictError) else outcome


def _five_versions(catalogue: CatalogueStore) -> None:
    """Versions 1 to 5: a product at JAN and JUN, another product, a party, a location."""
    catalogue.put_product(sample_product(), valid_from=JAN)
    catalogue.put_product(sample_product("v2"), valid_from=JUN)
    catalogue.put_product(
        Product(
            primary_di=OTHER,
            packages=(PackageLevel(di=OTHER_BOX, contains=OTHER, quantity=5),),
        ),
        valid_from=JAN,
    )
    catalogue.put_party(
        Party(kind=PartyKind.SUPPLIER, id="ACME", gln="0614141000012"), valid_from=JAN
    )
    catalogue.put_location(LocationProfile(path="Main/A", kind=LocationKind.STORE), valid_from=JAN)


def _write_ledger(store: Any) -> None:
    Ledger(store).post(
        [
            Movement.receipt(
                "r1",
                item=ItemKey(EACH, lot="L1"),
                quantity=10,
                to=Location.parse("Main/A1"),
                occurred_at="2026-11-23T07:00:00+01:00",
                actor="dock",
            )
        ]
    )


def _write_stocktake(store: Any) -> None:
    store.stocktakes.create(
        Stocktake.plan(
            "ST-1",
            scope=StocktakeScope(["Main"]),
            created_by="lea",
            created_at=pendulum.datetime(2026, 11, 23, 8, tz="UTC"),
        )
    )


def _write_catalogue(store: Any) -> None:
    store.catalogue.put_product(sample_product(), valid_from=JAN)


_WRITE: dict[str, Callable[[Any], None]] = {
    "ledger": _write_ledger,
    "stocktake": _write_stocktake,
    "catalogue": _write_catalogue,
}


@contextlib.contextmanager
def _opened(open_database: Callable[[], Any]) -> Iterator[Any]:
    store = open_database()
    try:
        yield store
    finally:
        store.close()
