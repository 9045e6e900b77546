"""Receive from a scan: book what a scanner read as one receipt movement.

[`receive`][medinv.services.receive] parses the scan (or takes a parsed one), finds
the product and the packaging level of the scanned device identifier in the
catalogue as of the receipt's moment, applies
[`receipt_from_scan`][medinv.catalogue.receipt_from_scan] (lot, serial, expiry and
production-date controls; the lot's expiry already on record in the ledger; the
quantity through the packaging level; ``QUARANTINE`` below the minimum shelf life at
receipt) and posts one RECEIPT movement of the product's base units.
[`receive_many`][medinv.services.receive_many] does the same for a batch in one
post: all of it, or nothing.

Posting is idempotent by movement id (the ledger's rule): receiving the same scan
again under the same id books nothing and says so (``replayed``).

A device the catalogue does not know is refused with
[`UncataloguedDeviceError`][medinv.services.UncataloguedDeviceError];
``uncatalogued=True`` receives it as a product of its own (no controls, no package
levels, no minimum shelf life: one scanned unit is one base unit). Devices of every
issuing agency are received alike: a GS1 GTIN, an HIBC code or an MA code keys its
stock by its own device identifier.

```pycon
>>> from medinv import Ledger, Location
>>> from medinv.adapters.memory import MemoryStore
>>> from medinv.catalogue import Controls, PackageLevel, Product
>>> from medinv.services import receive
>>> store = MemoryStore()
>>> _ = store.catalogue.put_product(Product(
...     primary_di="09501101530003",
...     packages=(PackageLevel(di="19501101530000", contains="09501101530003", quantity=12),),
...     controls=Controls(lot=True, expiry=True),
...     min_shelf_life_at_receipt=90,
... ), valid_from="2026-01-01T00:00:00+00:00")
>>> ledger = Ledger(store)
>>> got = receive(ledger, "(01)19501101530000(17)280131(10)L42(30)3",
...               catalogue=store.catalogue, to=Location.parse("CHU/Dock"),
...               movement_id="GR-1", occurred_at="2026-12-01T09:00:00+01:00", actor="dock")
>>> str(got.item), got.quantity, got.status.value, got.replayed
('(01)09501101530003(10)L42', 36, 'AVAILABLE', False)

```
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Final

import attrs
import pendulum

from medinv.barcodes import Scan, parse_scan
from medinv.catalogue import (
    Product,
    ReceiptRule,
    ScannedReceipt,
    ScanReceiptError,
    receipt_from_scan,
)
from medinv.dates import facility_timezone, to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError, MedinvError, StockError
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.movements import Movement
from medinv.ports import RecallGate
from medinv.status import StockStatus

if TYPE_CHECKING:
    from medinv.journal import LedgerHead, LotKey, RecordedMovement
    from medinv.ledger import Ledger, PostResult
    from medinv.ports import CatalogueStore, ProductMatch

__all__ = [
    "ReceiveBatchError",
    "ReceiveLineError",
    "Received",
    "ReceivedBatch",
    "UncataloguedDeviceError",
    "receive",
    "receive_many",
]

_SHOWN: Final = 60
"""Characters of a scan shown in a message."""
_LISTED: Final = 5
"""Refused lines named in a batch error's message (all are in its ``errors``)."""


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= _SHOWN else raw[:_SHOWN] + "...")


class _DeviceRefusedError(StockError):
    """A scan refused for the device it names; nothing was booked."""

    def __init__(self, di: DeviceIdentifier, raw: str, reason: str) -> None:
        self.di = di
        """The device identifier refused."""
        self.raw = raw
        """The scanner input."""
        super().__init__(f"cannot receive scan {_shown(raw)}: {reason}")


class UncataloguedDeviceError(_DeviceRefusedError):
    """The scanned device identifier is in no product of the catalogue; nothing was booked."""

    def __init__(self, di: DeviceIdentifier, raw: str, as_of: pendulum.DateTime) -> None:
        self.as_of = as_of
        """The moment the catalogue was read as of (the receipt's ``occurred_at``)."""
        super().__init__(
            di,
            raw,
            f"no product of the catalogue has the DI {di} as of {as_of.isoformat()} "
            "(add the product, or receive with uncatalogued=True)",
        )


class ReceiveLineError(StockError):
    """One scan of a batch was refused."""

    def __init__(self, line: int, cause: MedinvError) -> None:
        self.line = line
        """The refused scan's line number: its place in the batch, counting from 1."""
        self.cause = cause
        """The error that refused it."""
        super().__init__(f"line {line}: {cause}")


class ReceiveBatchError(StockError):
    """Scans of a batch were refused; nothing of the batch was booked."""

    def __init__(self, errors: Sequence[ReceiveLineError], lines: int) -> None:
        self.errors = tuple(errors)
        """Every refused line, in line order (a refusal by the ledger names one line)."""
        self.lines = lines
        """How many scans the batch had."""
        shown = "; ".join(str(e) for e in self.errors[:_LISTED])
        more = len(self.errors) - _LISTED
        tail = f"; and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(self.errors)} of {lines} scan(s) refused, nothing booked: {shown}{tail}"
        )


@attrs.frozen(kw_only=True)
class Received:
    """What one scan booked."""

    receipt: ScannedReceipt
    """What the scan stands for: product, scanned DI, lot, serial, expiry, base units, status."""
    movement: RecordedMovement
    """The recorded receipt (the originally recorded one on a replay)."""
    replayed: bool
    """Whether the movement id was already stored (or repeated in the batch): nothing new."""

    @property
    def item(self) -> ItemKey:
        """The stock item booked."""
        return self.movement.movement.item

    @property
    def quantity(self) -> int:
        """Base units booked."""
        return self.movement.movement.quantity

    @property
    def status(self) -> StockStatus:
        """The status the stock landed in: ``AVAILABLE``, ``QUARANTINE`` or ``RECALLED``.

        ``RECALLED`` when an open recall campaign covers it.
        """
        landed = self.movement.movement.to_status
        return self.receipt.status if landed is None else landed


@attrs.frozen(kw_only=True)
class ReceivedBatch:
    """What a batch of scans booked, one entry per scan in the order given."""

    lines: tuple[Received, ...]
    """One entry per scan."""
    head: LedgerHead
    """The ledger head right after the post."""

    @property
    def quantity(self) -> int:
        """Base units the batch stands for (replays included)."""
        return sum(line.quantity for line in self.lines)

    @property
    def booked(self) -> int:
        """How many scans stored a new movement."""
        return sum(1 for line in self.lines if not line.replayed)

    @property
    def replayed(self) -> int:
        """How many scans stored nothing (their movement id was already there)."""
        return sum(1 for line in self.lines if line.replayed)


# --------------------------------------------------------------------------- identity


def _item_key(product: DeviceIdentifier, receipt: ScannedReceipt | None) -> ItemKey:
    """The stock item a receipt of ``product`` books (``receipt`` ``None``: no lot, no serial).

    The one place where a device identifier becomes an [`ItemKey`][medinv.identifiers.ItemKey].
    """
    if receipt is None:
        return ItemKey(product)
    return ItemKey(
        product,
        lot=None if receipt.lot is None else receipt.lot.value,
        serial=None if receipt.serial is None else receipt.serial.value,
    )


def _lot_key(item: ItemKey, lot: str) -> LotKey:
    """The key of ``lot`` of ``item``'s product in the ledger's lot master data.

    With `_item_key`, the only code here that knows how an item names its product.
    """
    return (item.device_text, lot)


# --------------------------------------------------------------------------- receiving


@attrs.frozen(kw_only=True)
class _Read:
    """One scan parsed and matched to its product; the receipt comes later."""

    scan: Scan
    product: Product
    item: ItemKey
    """The item without lot and serial (checks the agency early)."""


class _Receiving:
    """What every scan of one call shares: the ledger, the catalogue, the place and time."""

    def __init__(
        self,
        ledger: Ledger,
        catalogue: CatalogueStore,
        *,
        to: object,
        occurred_at: object,
        actor: str,
        reference: str | None,
        uncatalogued: bool,
    ) -> None:
        if not callable(getattr(catalogue, "product", None)):
            msg = (
                "catalogue: expected a catalogue store (store.catalogue), "
                f"not {type(catalogue).__name__}"
            )
            raise InvalidValueError(msg)
        if not isinstance(uncatalogued, bool):
            raise InvalidValueError(f"uncatalogued: expected True or False, not {uncatalogued!r}")
        self.ledger = ledger
        self.catalogue = catalogue
        self.to = _location(to)
        self.moment = to_datetime(occurred_at)
        zone = ledger.timezone
        self.tz = "UTC" if zone is None else zone
        local = self.moment if zone is None else self.moment.in_timezone(facility_timezone(zone))
        self.day = local.date()
        self.actor = actor
        self.reference = reference
        self.uncatalogued = uncatalogued
        self._products: dict[DeviceIdentifier, ProductMatch | None] = {}

    def read(self, scan: object) -> _Read:
        """Parse ``scan`` and find its product as of the receipt's moment."""
        if isinstance(scan, str):
            parsed = parse_scan(scan, tz=self.tz, as_of=self.day)
        elif isinstance(scan, Scan):
            parsed = scan
        else:
            msg = f"expected scanner text or a parsed Scan, not {type(scan).__name__}"
            raise InvalidValueError(msg)
        if parsed.di is None:
            reason = "the scan names no device identifier (an SSCC or a secondary label alone?)"
            raise ScanReceiptError(ReceiptRule.NO_DEVICE, parsed.raw, reason)
        product = self._product(DeviceIdentifier.from_scan(parsed), parsed.raw)
        return _Read(scan=parsed, product=product, item=_item_key(product.primary_di, None))

    def _product(self, di: DeviceIdentifier, raw: str) -> Product:
        products = self._products
        if di in products:
            match = products[di]
        else:
            match = products[di] = self.catalogue.product(di, as_of=self.moment)
        if match is not None:
            return match.product
        if self.uncatalogued:
            return Product(primary_di=di)
        raise UncataloguedDeviceError(di, raw, self.moment)

    def receipt(self, read: _Read, known_lot_expiry: pendulum.Date | None) -> ScannedReceipt:
        """Apply the receiving rules to a scan read."""
        return receipt_from_scan(
            read.scan, read.product, as_of=self.day, known_lot_expiry=known_lot_expiry
        )

    def movement(self, movement_id: str, receipt: ScannedReceipt) -> Movement:
        """The RECEIPT movement of a receipt."""
        return Movement.receipt(
            movement_id,
            item=_item_key(receipt.product, receipt),
            quantity=receipt.quantity,
            to=self.to,
            occurred_at=self.moment,
            actor=self.actor,
            status=receipt.status,
            expiry=None if receipt.expiry is None else receipt.expiry.date,
            reference=self.reference,
            reason=receipt.quarantine_reason,
        )


def _location(given: object) -> Location:
    if isinstance(given, Location):
        return given
    if isinstance(given, str):
        return Location.parse(given)
    raise InvalidValueError(f"to: expected a Location or its path, not {type(given).__name__}")


def _lot_of(read: _Read) -> LotKey | None:
    """The ledger key of the scanned lot, ``None`` without a lot (or one the rules refuse)."""
    lot = read.scan.lot
    if lot is None:
        return None
    try:
        item = ItemKey(read.item.device, lot=lot)
    except InvalidValueError:  # receipt_from_scan says what is wrong with it
        return None
    return _lot_key(item, lot)


def receive(
    ledger: Ledger,
    scan: str | Scan,
    *,
    catalogue: CatalogueStore,
    to: Location | str,
    movement_id: str,
    occurred_at: dt.datetime | str,
    actor: str,
    reference: str | None = None,
    uncatalogued: bool = False,
    recalls: RecallGate | None = None,
) -> Received:
    """Book one scan as a receipt at ``to``: one RECEIPT movement, or nothing.

    Args:
        ledger: The ledger to post to.
        scan: Scanner text (parsed with [`parse_scan`][medinv.barcodes.parse_scan], in
            the ledger's time zone, two-digit years placed around the receipt date) or
            an already parsed [`Scan`][medinv.barcodes.Scan].
        catalogue: Where the product of the scanned DI is found
            ([`CatalogueStore`][medinv.ports.CatalogueStore], e.g. ``store.catalogue``),
            as of ``occurred_at``.
        to: The receiving location.
        movement_id: The receipt's id; posting it again books nothing.
        occurred_at: When the goods arrived (aware). Its date in the ledger's time zone
            (in its own offset when the ledger has none) is the receipt date the shelf
            life is judged on.
        actor: Who received.
        reference: A business reference (delivery note, purchase order).
        uncatalogued: Receive a DI the catalogue does not know as a product of its own
            (no controls, one scanned unit per base unit) instead of refusing it.
        recalls: The recall campaigns to consult (default: the store's ``recalls``, when
            it has them): a scan an open campaign covers at ``occurred_at`` (by lot,
            serial, or the label's production date) lands ``RECALLED``.

    Returns:
        The receipt and the recorded movement (the original one on a replay).

    Raises:
        ScanReceiptError: a receiving rule refused the scan (its ``rule`` says which):
            no device, a lot, serial, expiry or production date missing, an expiry
            contradicting the lot's expiry on record, a serial on more than one unit.
        UncataloguedDeviceError: no product has the scanned DI (and not ``uncatalogued``).
        InvalidBarcodeError: the text is not a barcode medinv reads.
        StockError: the ledger refused the receipt (a serial already in stock, another
            content under the same id, a conflicting expiry of a lot-less item).
        InvalidValueError: a bad argument.
    """
    try:
        batch = receive_many(
            ledger,
            [scan],
            catalogue=catalogue,
            to=to,
            occurred_at=occurred_at,
            actor=actor,
            movement_ids=[movement_id],
            reference=reference,
            uncatalogued=uncatalogued,
            recalls=recalls,
        )
    except ReceiveBatchError as e:
        raise e.errors[0].cause from None
    return batch.lines[0]


def _movement_ids(
    count: int, batch_id: str | None, movement_ids: Sequence[str] | None
) -> list[str]:
    if (batch_id is None) == (movement_ids is None):
        raise InvalidValueError("give either batch_id or movement_ids, not both or neither")
    if movement_ids is not None:
        if isinstance(movement_ids, str) or not isinstance(movement_ids, Sequence):
            msg = f"movement_ids: expected a sequence of ids, not {type(movement_ids).__name__}"
            raise InvalidValueError(msg)
        if len(movement_ids) != count:
            msg = f"movement_ids: {len(movement_ids)} id(s) for {count} scan(s)"
            raise InvalidValueError(msg)
        return list(movement_ids)
    if not isinstance(batch_id, str) or not batch_id.strip():
        raise InvalidValueError(f"batch_id: expected a non-blank text, not {batch_id!r:.80}")
    return [f"{batch_id}/{line}" for line in range(1, count + 1)]


def _read_all(
    receiving: _Receiving, scans: Iterable[object], progress: Callable[[int], None] | None
) -> tuple[list[_Read | None], list[ReceiveLineError]]:
    """Every scan parsed and matched to its product (``None`` where refused)."""
    reads: list[_Read | None] = []
    errors: list[ReceiveLineError] = []
    for line, scan in enumerate(scans, start=1):
        try:
            reads.append(receiving.read(scan))
        except MedinvError as e:
            reads.append(None)
            errors.append(ReceiveLineError(line, e))
        if progress is not None and line % 1000 == 0:
            progress(line)
    if progress is not None:
        progress(len(reads))
    return reads, errors


def _post(ledger: Ledger, movements: list[Movement], ids: list[str]) -> PostResult:
    """Post the batch; a refusal naming one of its movements names its line."""
    try:
        return ledger.post(movements)
    except StockError as e:
        refused = getattr(e, "movement_id", None)
        if refused not in ids:
            raise
        raise ReceiveBatchError([ReceiveLineError(ids.index(refused) + 1, e)], len(ids)) from e


def receive_many(
    ledger: Ledger,
    scans: Iterable[str | Scan],
    *,
    catalogue: CatalogueStore,
    to: Location | str,
    occurred_at: dt.datetime | str,
    actor: str,
    batch_id: str | None = None,
    movement_ids: Sequence[str] | None = None,
    reference: str | None = None,
    uncatalogued: bool = False,
    progress: Callable[[int], None] | None = None,
    recalls: RecallGate | None = None,
) -> ReceivedBatch:
    """Book a batch of scans in one post: all of them, or nothing.

    Each scan is received as by [`receive`][medinv.services.receive]. The movement of
    line ``n`` (counting from 1) has the id ``<batch_id>/<n>``, or ``movement_ids[n - 1]``:
    posting the same batch again books nothing. A lot received on an earlier line fixes
    its expiry for the later lines, as the ledger does.

    Args:
        ledger: The ledger to post to.
        scans: Scanner texts or parsed scans, one per line.
        catalogue: Where the products are found, as of ``occurred_at``.
        to: The receiving location.
        occurred_at: When the goods arrived (aware).
        actor: Who received.
        batch_id: Derive the movement ids from it (give this or ``movement_ids``).
        movement_ids: One movement id per scan.
        reference: A business reference on every movement (delivery note, order).
        uncatalogued: As for [`receive`][medinv.services.receive].
        progress: Called with the number of scans read so far, every 1,000 scans and
            at the end of reading.
        recalls: As for [`receive`][medinv.services.receive].

    Raises:
        ReceiveBatchError: scans were refused; its ``errors`` hold one
            [`ReceiveLineError`][medinv.services.ReceiveLineError] per
            refused line (line number and the error that refused it). Every line is
            checked against the rules and the catalogue; a refusal by the ledger at
            posting names the one line it concerns.
        InvalidValueError: a bad argument (ids, location, moment, catalogue).
        ConcurrencyError: another writer committed during the post; nothing of the
            batch was stored. Call again with the same ids: what the other writer
            stored is judged afresh, and nothing is booked twice.
    """
    if isinstance(scans, str | Scan):
        raise InvalidValueError("scans: expected an iterable of scans, not one scan")
    receiving = _Receiving(
        ledger,
        catalogue,
        to=to,
        occurred_at=occurred_at,
        actor=actor,
        reference=reference,
        uncatalogued=uncatalogued,
    )
    reads, errors = _read_all(receiving, scans, progress)
    ids = _movement_ids(len(reads), batch_id, movement_ids)
    lot_keys = {key for read in reads if read is not None and (key := _lot_of(read)) is not None}
    known = dict(ledger.store.lot_expiries(lot_keys)) if lot_keys else {}
    receipts: list[ScannedReceipt] = []
    movements: list[Movement] = []
    for line, (read, movement_id) in enumerate(zip(reads, ids, strict=True), start=1):
        if read is None:
            continue
        key = _lot_of(read)
        try:
            receipt = receiving.receipt(read, None if key is None else known.get(key))
            movement = receiving.movement(movement_id, receipt)
        except MedinvError as e:
            errors.append(ReceiveLineError(line, e))
            continue
        if key is not None and key not in known and receipt.expiry is not None:
            known[key] = receipt.expiry.date
        receipts.append(receipt)
        movements.append(movement)
    if errors:
        errors.sort(key=lambda e: e.line)
        raise ReceiveBatchError(errors, len(reads))
    movements = _land_recalled(ledger, _recall_gate(ledger, recalls), receipts, movements)
    posted = _post(ledger, movements, ids)
    new_ids = {m.movement.id for m in posted.new}
    lines: list[Received] = []
    for receipt, recorded in zip(receipts, posted.movements, strict=True):
        stored_now = recorded.movement.id in new_ids
        new_ids.discard(recorded.movement.id)  # a repeat later in the batch is a replay
        lines.append(Received(receipt=receipt, movement=recorded, replayed=not stored_now))
    return ReceivedBatch(lines=tuple(lines), head=posted.head)


# --------------------------------------------------------------------------- recalls


def _recall_gate(ledger: Ledger, given: object) -> RecallGate | None:
    """The recall campaigns to consult: those given, else the store's (if it keeps any)."""
    if given is None:
        found = getattr(ledger.store, "recalls", None)
        return found if isinstance(found, RecallGate) else None
    if not isinstance(given, RecallGate):
        msg = f"recalls: expected recall campaigns (store.recalls), not {type(given).__name__}"
        raise InvalidValueError(msg)
    return given


def _land_recalled(
    ledger: Ledger,
    gate: RecallGate | None,
    receipts: Sequence[ScannedReceipt],
    movements: list[Movement],
) -> list[Movement]:
    """The receipts with those an open campaign covers landing ``RECALLED``.

    A movement id already stored keeps the status and reason it was booked with, so a
    replay is a replay whether a campaign opened or closed since.
    """
    if gate is None or not movements:
        return movements
    stored = ledger.store.movements_by_id([m.id for m in movements])
    arrivals = [(m.item, r.production_date) for m, r in zip(movements, receipts, strict=True)]
    covering = gate.covering(arrivals, movements[0].occurred_at)
    out: list[Movement] = []
    for movement, campaign in zip(movements, covering, strict=True):
        booked = stored.get(movement.id)
        if booked is not None:
            was = booked.movement
            out.append(attrs.evolve(movement, to_status=was.to_status, reason=was.reason))
        elif campaign is not None:
            landed = attrs.evolve(
                movement, to_status=StockStatus.RECALLED, reason=f"recall {campaign}"
            )
            out.append(landed)
        else:
            out.append(movement)
    return out
