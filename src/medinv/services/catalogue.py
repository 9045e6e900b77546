"""Filling the catalogue: importing FDA GUDID device records into a catalogue store.

```pycon
>>> import io, json
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.services.catalogue import import_gudid
>>> record = {"identifiers": [
...     {"id": "00844588018923", "type": "Primary", "issuing_agency": "GS1"},
...     {"id": "10844588018920", "type": "Package", "issuing_agency": "GS1",
...      "unit_of_use_id": "00844588018923", "quantity_per_package": "25"}]}
>>> source = io.BytesIO(json.dumps({"results": [record]}).encode())
>>> with MemoryStore() as store:
...     report = import_gudid(store.catalogue, source, format="json",
...                           valid_from="2026-01-01T00:00:00+00:00")
...     report.imported, store.catalogue.product("10844588018920").base_units
(1, 25)

```
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Final, Literal, Protocol, runtime_checkable

import attrs
import pendulum

from medinv.catalogue import (
    GudidFinding,
    GudidFormatError,
    GudidRecord,
    Product,
    iter_gudid_json,
    iter_gudid_xml,
)
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.ports import CatalogueConflictError, CatalogueStore

__all__ = ["GudidImportReport", "ImportRefusal", "import_gudid"]

GudidFormat = Literal["auto", "xml", "json"]
_JSON_SUFFIXES: Final = (".json", ".jsonl", ".ndjson")


@attrs.frozen(kw_only=True)
class ImportRefusal:
    """A product the catalogue refused: it contradicts what is stored."""

    record: int
    """Zero-based position of the record in the input."""
    primary_di: str
    """The product's primary DI."""
    reason: str
    """What it contradicts (a DI that belongs to another product ...)."""


@attrs.frozen(kw_only=True)
class GudidImportReport:
    """What an import did: products stored, products already stored, and what was not."""

    records: int
    """Records read."""
    imported: int
    """Products stored as a new version."""
    unchanged: int
    """Products whose version in force at ``valid_from`` was already the same."""
    without_product: int
    """Records that gave no product (no usable primary DI; see ``findings``)."""
    findings: tuple[GudidFinding, ...]
    """What the reader left out or could not read, record by record."""
    refused: tuple[ImportRefusal, ...]
    """Products the catalogue refused (nothing of them was stored)."""


def _reader(
    source: str | os.PathLike[str] | IO[bytes], given: GudidFormat
) -> Iterator[GudidRecord]:
    kind: str = given
    if kind == "auto":
        if not isinstance(source, (str, os.PathLike)):
            raise InvalidValueError("format='auto' needs a file name; give format='xml' or 'json'")
        name = os.fspath(source).lower()
        kind = "json" if name.endswith(_JSON_SUFFIXES) else "xml"
    if kind == "xml":
        return iter_gudid_xml(source)
    if kind == "json":
        return iter_gudid_json(source)
    raise InvalidValueError(f"unknown GUDID format {given!r}: 'auto', 'xml' or 'json'")


_CHUNK: Final = 1000
"""Records per write transaction (and between two progress calls)."""


@runtime_checkable
class _BatchCatalogue(Protocol):
    def put_products(
        self, products: Iterable[Product], *, valid_from: object, skip_unchanged: bool = False
    ) -> tuple[bool | CatalogueConflictError, ...]: ...


def _put_current(
    catalogue: CatalogueStore, products: list[Product], moment: pendulum.DateTime
) -> Sequence[bool | CatalogueConflictError]:
    """Store each product unless the version in force at ``moment`` is the same (``False``).

    In one transaction through ``put_products`` where the store has it (every medinv
    store), one product after the other otherwise.
    """
    if not products:
        return ()
    if isinstance(catalogue, _BatchCatalogue):
        return catalogue.put_products(products, valid_from=moment, skip_unchanged=True)
    outcomes: list[bool | CatalogueConflictError] = []
    for product in products:
        current = catalogue.product(product.primary_di, as_of=moment)
        if current is not None and current.product == product:
            outcomes.append(False)
            continue
        try:
            outcomes.append(catalogue.put_product(product, valid_from=moment))
        except CatalogueConflictError as e:
            outcomes.append(e)
    return outcomes


def import_gudid(
    catalogue: CatalogueStore,
    source: str | os.PathLike[str] | IO[bytes],
    *,
    format: GudidFormat = "auto",  # noqa: A002  (the word users know)
    valid_from: object = None,
    progress: Callable[[int], None] | None = None,
) -> GudidImportReport:
    """Store the products of a GUDID file (XML download or openFDA JSON) in ``catalogue``.

    Each product is stored as a version valid from ``valid_from`` unless the version
    in force then is already the same product (counted as unchanged), so importing
    the same file again stores nothing. A package whose contained DI is unknown is
    left out and reported by the reader, never invented; a product one of whose DIs
    already belongs to another product is refused and reported, and the import goes
    on. Products are written a thousand records at a time, each thousand in one
    transaction (through the store's ``put_products`` where it has one, as every
    medinv store does; one ``put_product`` after the other otherwise), with the
    same results as one product at a time.

    Args:
        catalogue: Where to store the products.
        source: A file name or a binary file object.
        format: ``"xml"``, ``"json"`` or ``"auto"`` (by the file name: ``.json``,
            ``.jsonl`` and ``.ndjson`` are JSON, anything else XML).
        valid_from: The moment the imported versions apply from (aware); default now.
        progress: Called with the number of records read so far, every 1,000 records
            and at the end.

    Raises:
        GudidFormatError: the file is not GUDID XML or JSON at all (the products of
            the records before the fault are stored).
        InvalidValueError: an unknown format, or ``valid_from`` not aware.
        StorageError: the store failed.
    """
    moment = pendulum.now("UTC") if valid_from is None else to_datetime(valid_from)
    tally = _Tally(catalogue, moment)
    try:
        for record in _reader(source, format):
            tally.add(record)
            if tally.records % _CHUNK == 0:
                tally.store()
                if progress is not None:
                    progress(tally.records)
    except GudidFormatError:
        tally.store()  # the products read before the fault
        raise
    tally.store()
    if progress is not None:
        progress(tally.records)
    return GudidImportReport(
        records=tally.records,
        imported=tally.imported,
        unchanged=tally.unchanged,
        without_product=tally.without,
        findings=tuple(tally.findings),
        refused=tuple(tally.refused),
    )


class _Tally:
    """An import's counts, and the products read but not yet stored."""

    def __init__(self, catalogue: CatalogueStore, moment: pendulum.DateTime) -> None:
        self.catalogue = catalogue
        self.moment = moment
        self.records = self.imported = self.unchanged = self.without = 0
        self.findings: list[GudidFinding] = []
        self.refused: list[ImportRefusal] = []
        self.pending: list[tuple[int, Product]] = []

    def add(self, record: GudidRecord) -> None:
        self.records += 1
        self.findings.extend(record.findings)
        if record.product is None:
            self.without += 1
        else:
            self.pending.append((record.index, record.product))

    def store(self) -> None:
        chunk, self.pending = self.pending, []
        products = [product for _, product in chunk]
        outcomes = _put_current(self.catalogue, products, self.moment)
        for (index, product), outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, CatalogueConflictError):
                primary = str(product.primary_di)
                self.refused.append(
                    ImportRefusal(record=index, primary_di=primary, reason=outcome.reason)
                )
            elif outcome:
                self.imported += 1
            else:
                self.unchanged += 1
