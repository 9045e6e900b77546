"""Master data: products and their packaging, locations, parties, business references.

Pure values, no storage: a [`Product`][medinv.catalogue.Product] with its device
identifiers and packaging hierarchy, what its label carries
([`Controls`][medinv.catalogue.Controls]), how it is kept and what it is worth;
a [`LocationProfile`][medinv.catalogue.LocationProfile] per bin; the
[`Party`][medinv.catalogue.Party] a movement is with (recorded on the movement as a
[`PartyRef`][medinv.catalogue.PartyRef]) and the
[`BusinessReference`][medinv.catalogue.BusinessReference] it refers to; an
[`EffectiveHistory`][medinv.catalogue.EffectiveHistory] for master data that
changes over time. [`receipt_from_scan`][medinv.catalogue.receipt_from_scan] says
what a scan would book, and [`iter_gudid_xml`][medinv.catalogue.iter_gudid_xml] /
[`iter_gudid_json`][medinv.catalogue.iter_gudid_json] read FDA GUDID records.

```pycon
>>> from medinv.catalogue import PackageLevel, Product
>>> p = Product(
...     primary_di="A123BJC5D6E70",
...     packages=(PackageLevel(di="A123BJC5D6E71", contains="A123BJC5D6E70", quantity=10),),
... )
>>> p.base_units_per("A123BJC5D6E71")
10

```
"""

from __future__ import annotations

from medinv.catalogue._gudid import (
    FindingKind,
    GudidFinding,
    GudidFormatError,
    GudidRecord,
    iter_gudid_json,
    iter_gudid_records,
    iter_gudid_xml,
)
from medinv.catalogue._party_ref import PartyRef
from medinv.catalogue._places import (
    LocationKind,
    LocationProfile,
    Party,
    PartyKind,
    check_gln,
    pseudonymise,
)
from medinv.catalogue._product import PackageLevel, PackagingError, Product
from medinv.catalogue._receive import (
    ReceiptRule,
    ScannedReceipt,
    ScanReading,
    ScanReceiptError,
    receipt_from_scan,
)
from medinv.catalogue._references import (
    BusinessReference,
    BusinessTransactionType,
    Effective,
    EffectiveHistory,
)
from medinv.catalogue._values import (
    ISO_4217_CODES,
    Controls,
    CountTolerance,
    ReorderPolicy,
    StorageCondition,
    TemperatureRange,
    UnitValue,
)

__all__ = [
    "ISO_4217_CODES",
    "BusinessReference",
    "BusinessTransactionType",
    "Controls",
    "CountTolerance",
    "Effective",
    "EffectiveHistory",
    "FindingKind",
    "GudidFinding",
    "GudidFormatError",
    "GudidRecord",
    "LocationKind",
    "LocationProfile",
    "PackageLevel",
    "PackagingError",
    "Party",
    "PartyKind",
    "PartyRef",
    "Product",
    "ReceiptRule",
    "ReorderPolicy",
    "ScanReading",
    "ScanReceiptError",
    "ScannedReceipt",
    "StorageCondition",
    "TemperatureRange",
    "UnitValue",
    "check_gln",
    "iter_gudid_json",
    "iter_gudid_records",
    "iter_gudid_xml",
    "pseudonymise",
    "receipt_from_scan",
]
