"""medinv: the domain core of medical-device and medical-consumables inventory.

The names most programs need are re-exported here; each lives in a public module
documented on its own reference page.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from medinv import errors
from medinv.allocation import AllocationRequest, FefoIndex, Plan, Policy, SkipReason
from medinv.barcodes import Scan, parse_scan
from medinv.dates import DatePrecision, Expiry, facility_date, is_expired, remaining_shelf_life
from medinv.errors import (
    InvalidValueError,
    MedinvError,
    StockError,
    StorageError,
)
from medinv.identifiers import Gtin, ItemKey, Lot, Serial
from medinv.ledger import Ledger, PostResult, VerifyReport, retry
from medinv.locations import Location
from medinv.movements import Movement, MovementKind, StockPosition
from medinv.ports import LedgerHead, LedgerStore, MovementQuery, PositionQuery, RecordedMovement
from medinv.quantity import PackagingHierarchy, PackagingLevel, Quantity
from medinv.status import StockStatus

try:
    __version__ = version("medinv")
except PackageNotFoundError:  # pragma: no cover  (running from a source tree without install)
    __version__ = "0+unknown"

__all__ = [
    "AllocationRequest",
    "DatePrecision",
    "Expiry",
    "FefoIndex",
    "Gtin",
    "InvalidValueError",
    "ItemKey",
    "Ledger",
    "LedgerHead",
    "LedgerStore",
    "Location",
    "Lot",
    "MedinvError",
    "Movement",
    "MovementKind",
    "MovementQuery",
    "PackagingHierarchy",
    "PackagingLevel",
    "Plan",
    "Policy",
    "PositionQuery",
    "PostResult",
    "Quantity",
    "RecordedMovement",
    "Scan",
    "Serial",
    "SkipReason",
    "StockError",
    "StockPosition",
    "StockStatus",
    "StorageError",
    "VerifyReport",
    "__version__",
    "errors",
    "facility_date",
    "is_expired",
    "parse_scan",
    "remaining_shelf_life",
    "retry",
]
