"""Verification of a stored ledger: what [`Ledger.verify`][medinv.ledger.Ledger.verify] checks.

Verification reads what a store keeps and checks it against the one thing that
cannot be edited unnoticed, the hash chain over the movements' canonical content:

- the chain itself: positions 1, 2, 3 ... gap-free, each hash over its
  predecessor's hash and its own content, the store's head at the last movement
  (and, given an ``anchor``, the movement at the anchor's position still has the
  anchor's hash);
- every column a store looks movements up by but that the hash does not cover
  (in SQLite the ``id``, the item number and the reversed id kept beside the
  content) says what the content says;
- the ledger's rules, over the whole history in position order: no balance
  below zero at any position, a serialised unit in stock at most once, each
  reversal undoing an earlier, non-reversal movement exactly, at most once, and
  ``recorded_at`` never going back in time;
- the derived data posting relies on: the balance projection equals the sums
  of the movements, and lot and item master data (a lot's expiry, an item's
  first-received time and expiry) equal what the first inbound movement of the
  lot or item stated;
- a stored row that cannot be read is a [`CorruptRecord`][medinv.verification.CorruptRecord]
  and verification goes on with the next one: verifying never raises on stored data.

Memory stays bounded whatever the size of the ledger: the per-key sums (balances,
serial totals, master data) are kept in memory up to a limit, then written to
temporary files in partitions by key and checked one partition at a time.

Stores may offer a faster, more thorough path (see
[`VerificationSource`][medinv.verification.VerificationSource]); any other
[`LedgerStore`][medinv.ports.LedgerStore] is verified through its port methods.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import marshal
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Final, Protocol, runtime_checkable

import attrs

from medinv.chain import (
    GENESIS_HASH,
    content_link_keys,
    entry_hash,
    format_instant,
    movement_content,
)
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError, MedinvError
from medinv.identifiers import ItemKey, device_from_text
from medinv.locations import Location
from medinv.ports import LedgerHead, LedgerStore, LotKey, MovementQuery
from medinv.status import StockStatus

__all__ = [
    "BalanceRow",
    "ChainBreak",
    "ColumnMismatch",
    "CorruptRecord",
    "DuplicateMovementId",
    "Finding",
    "HashMismatch",
    "HeadMismatch",
    "ItemRow",
    "LotRow",
    "MasterDataMismatch",
    "MovementRow",
    "NegativeBalance",
    "PositionGap",
    "PositionOrder",
    "ProjectionMismatch",
    "RecordedAtDecrease",
    "ReversalMismatch",
    "SerialInTwoPlaces",
    "VerificationSource",
    "VerifyReport",
    "verify_store",
]


# --------------------------------------------------------------------------- findings


@attrs.frozen(kw_only=True)
class Finding:
    """One difference that [`Ledger.verify`][medinv.ledger.Ledger.verify] found.

    Each kind of finding says what is wrong in one sentence, written once as a
    template over its fields.
    """

    _says: ClassVar[str] = ""
    """The template of ``description``, over the finding as ``f`` (empty: its ``repr``)."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        return self._says.format(f=self) if self._says else repr(self)


@attrs.frozen(kw_only=True)
class HashMismatch(Finding):
    """A stored movement whose content does not match its hash: it was edited."""

    position: int
    """The movement's position."""
    movement_id: str
    """The stored movement's id (as stored now)."""
    stored: str
    """The hash stored with it."""
    computed: str
    """The hash of its stored content."""

    _says: ClassVar[str] = (
        "movement {f.movement_id!r} at position {f.position} does not match its hash"
    )


@attrs.frozen(kw_only=True)
class ChainBreak(Finding):
    """A movement whose ``prev_hash`` is not its predecessor's hash: history was cut or reordered.

    (Also reported after an edited movement whose hash was recomputed.)
    """

    position: int
    """The movement's position."""
    expected: str
    """The hash of the movement stored before it (GENESIS_HASH for the first)."""
    found: str
    """Its stored ``prev_hash``."""

    _says: ClassVar[str] = "the chain breaks at position {f.position}: prev_hash differs"


@attrs.frozen(kw_only=True)
class PositionGap(Finding):
    """Positions missing from the stored sequence: movements were deleted."""

    expected: int
    """The next position that should follow."""
    found: int
    """The position found instead."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        return f"positions {self.expected}..{self.found - 1} are missing"


@attrs.frozen(kw_only=True)
class PositionOrder(Finding):
    """A position that does not increase: duplicated or reordered movements."""

    position: int
    """The position found."""
    after: int
    """The position of the movement before it."""

    _says: ClassVar[str] = "position {f.position} comes after position {f.after}"


@attrs.frozen(kw_only=True)
class DuplicateMovementId(Finding):
    """A movement id stored at more than one position."""

    movement_id: str
    """The repeated id."""
    positions: tuple[int, int]
    """The first position it was seen at and the later one."""

    _says: ClassVar[str] = "movement id {f.movement_id!r} is stored at positions {f.positions}"


@attrs.frozen(kw_only=True)
class HeadMismatch(Finding):
    """The store's head is not the last stored movement (or not the expected anchor)."""

    stored: LedgerHead
    """The head the store reports (or the anchor that was given)."""
    rebuilt: LedgerHead
    """Position and hash of the last movement found (or found at the anchor's position)."""

    _says: ClassVar[str] = (
        "the head says position {f.stored.position} but the movements end at "
        "{f.rebuilt.position} (or hashes differ)"
    )


@attrs.frozen(kw_only=True)
class ProjectionMismatch(Finding):
    """A stored balance that differs from the balance rebuilt from the movements."""

    item: ItemKey
    """The stock item."""
    location: Location
    """The location."""
    status: StockStatus
    """The status."""
    stored: int
    """The balance in the store's projection (0 if absent)."""
    rebuilt: int
    """The balance the movements add up to."""

    _says: ClassVar[str] = (
        "balance of {f.item} at {f.location} [{f.status.value}] is "
        "{f.stored} in the projection but {f.rebuilt} from the movements"
    )


@attrs.frozen(kw_only=True)
class CorruptRecord(Finding):
    """A stored record that cannot be read: verification skipped it and went on."""

    table: str
    """What kind of record: ``"movements"``, ``"balances"``, ``"lots"``, ``"items"``."""
    position: int | None
    """The movement's position (``None`` for other records, or when unreadable)."""
    key: str | None
    """The record's key as text (``None`` for movements)."""
    reason: str
    """What could not be read."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        where = f"at position {self.position}" if self.position is not None else f"{self.key!r}"
        return f"the {self.table} record {where} cannot be read: {self.reason}"


@attrs.frozen(kw_only=True)
class ColumnMismatch(Finding):
    """A column a store looks movements up by says something else than the hashed content.

    E.g. an edited ``id`` column would let the same movement be posted again under
    its old id, an edited reversed id let a movement be reversed twice.
    """

    position: int
    """The movement's position."""
    column: str
    """The store's columns, as ``"id, reverses, gtin, lot, serial"``."""
    stored: str
    """What the columns hold."""
    content: str
    """What the hashed content says."""

    _says: ClassVar[str] = (
        "the indexed columns ({f.column}) of the movement at position {f.position} "
        "hold {f.stored} but its content says {f.content}"
    )


@attrs.frozen(kw_only=True)
class MasterDataMismatch(Finding):
    """Lot or item master data that differs from what its first inbound movement stated.

    ``stored`` is ``None`` when the record is missing, ``expected`` ``None`` when
    no movement brought the lot or item in (the record should not exist).
    """

    record: str
    """``"lot"`` or ``"item"``."""
    gtin: str
    """The GTIN-14 digits."""
    lot: str | None
    """The lot text (``None``: no lot)."""
    serial: str | None
    """The serial text (``None``: no serial, or a lot record)."""
    field: str
    """``"expiry"``, ``"first_received_at"`` or ``"record"`` (present or absent)."""
    stored: str | None
    """The stored value as text (``"-"``: no expiry), ``None`` if there is no record."""
    expected: str | None
    """The value the movements give, ``None`` if no movement brought it in."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        name = f"{self.record} {self.gtin}/{self.lot or '-'}"
        if self.record == "item":
            name += f"/{self.serial or '-'}"
        if self.stored is None:
            return f"{name} has no master data record but movements brought it in"
        if self.expected is None:
            return f"{name} has a master data record but no movement brought it in"
        return f"{name}: stored {self.field} {self.stored} but the movements say {self.expected}"


@attrs.frozen(kw_only=True)
class NegativeBalance(Finding):
    """A balance that the history takes below zero (posting refuses such a movement)."""

    item: ItemKey
    """The stock item."""
    location: Location
    """The location."""
    status: StockStatus
    """The status."""
    position: int
    """The position at which the balance reaches its lowest."""
    balance: int
    """That lowest balance."""

    _says: ClassVar[str] = (
        "balance of {f.item} at {f.location} [{f.status.value}] falls to "
        "{f.balance} at position {f.position}"
    )


@attrs.frozen(kw_only=True)
class SerialInTwoPlaces(Finding):
    """A serialised unit whose stock total exceeds 1 (it entered again while in stock)."""

    item: ItemKey
    """The serialised item."""
    position: int
    """The position at which its total is highest."""
    total: int
    """That total."""

    _says: ClassVar[str] = (
        "serialised {f.item} is in stock {f.total} times at position {f.position}"
    )


@attrs.frozen(kw_only=True)
class ReversalMismatch(Finding):
    """A reversal that does not undo an earlier movement exactly once."""

    position: int
    """The reversal's position."""
    movement_id: str
    """The reversal's id."""
    reverses: str
    """The id it claims to reverse."""
    reason: str
    """What is wrong: missing, later, a reversal, not the exact inverse, reversed twice."""

    _says: ClassVar[str] = (
        "reversal {f.movement_id!r} at position {f.position} of {f.reverses!r}: {f.reason}"
    )


@attrs.frozen(kw_only=True)
class RecordedAtDecrease(Finding):
    """A movement recorded before the movement stored ahead of it."""

    position: int
    """The movement's position."""
    recorded_at: str
    """Its ``recorded_at`` as stored."""
    previous: str
    """The ``recorded_at`` of the movement before it."""

    _says: ClassVar[str] = (
        "the movement at position {f.position} was recorded at {f.recorded_at}, "
        "before the one ahead of it ({f.previous})"
    )


@attrs.frozen(kw_only=True)
class VerifyReport:
    """The result of [`Ledger.verify`][medinv.ledger.Ledger.verify]: every difference found."""

    head: LedgerHead
    """The head the store reported when verification started."""
    movements_checked: int
    """How many stored movements were read."""
    balances_checked: int
    """How many balances were compared (stored or rebuilt, non-zero)."""
    findings: tuple[Finding, ...]
    """Every difference: the chain's in position order, then the others, then the catalogue's."""
    catalogue_versions_checked: int = 0
    """How many catalogue versions were read (0: the store has no catalogue, or it was skipped)."""

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings

    @property
    def discrepancies(self) -> tuple[Finding, ...]:
        """Deprecated name of [`findings`][medinv.verification.VerifyReport.findings].

        "Discrepancy" names a stocktake's differences between count and book; a
        verification reports findings. Reading it warns with a `DeprecationWarning`.
        """
        warnings.warn(
            "VerifyReport.discrepancies is now VerifyReport.findings; the old name will "
            "be removed in the next minor release",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.findings


# --------------------------------------------------------------------------- what stores give

MovementRow = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]
"""One stored movement as a store keeps it, read without decoding.

``(position, content, recorded_at, prev_hash, hash, id, reverses, gtin, lot, serial)``:
the canonical
content ([`movement_content`][medinv.chain.movement_content]) and ``recorded_at``
as text; ``prev_hash`` ``None`` when the store keeps no previous hash of its own
(it is the hash of the row before); the last five ``None``, or the columns the
store looks the movement up by, encoded like content fields (``"-"`` for an
absent reversed id, lot or serial, ``"+"`` and the text for a present one).
Values of any type may come back: a row edited into nonsense is reported, not
trusted.
"""

BalanceRow = tuple[Any, Any, Any, Any, Any, Any]
"""A stored balance: ``(gtin, lot, serial, location, status, quantity)``, the key
parts encoded like content fields (``"-"`` absent, ``"+"`` and the text present;
location and status always ``"+"`` and the text)."""

LotRow = tuple[Any, Any, Any]
"""A stored lot record: ``(gtin, lot, expiry)``, lot as ``"+"`` and the text,
expiry ``"-"`` or ``"+"`` and the ISO date."""

ItemRow = tuple[Any, Any, Any, Any, Any]
"""A stored item record: ``(gtin, lot, serial, first_received_at, expiry)``,
encoded like content fields; ``first_received_at`` ISO 8601 text."""


@runtime_checkable
class VerificationSource(Protocol):
    """What a store that wants the thorough, fast path of verification offers.

    A store has it through a method ``verification_source()`` returning one; it is
    optional (any [`LedgerStore`][medinv.ports.LedgerStore] can be verified without
    it). The iterators must not raise on what is stored (only on a failure of the
    store itself), and stream: verification holds one page at a time.

    A store that indexes movements by counterparty and business reference in a
    table of its own may also offer ``link_rows()``: every ``(link, position)`` of
    that index, in ascending position order; verification then checks it against
    the content, merging both streams (memory stays flat).
    """

    ids_unique: bool
    """Whether the store enforces unique movement ids in ``columns`` itself (a
    unique index); verification then checks that each row's columns equal its
    content instead of remembering every id."""

    def movement_rows(self) -> Iterator[MovementRow]:
        """Every stored movement, in ascending position order."""
        ...

    def balance_rows(self) -> Iterator[BalanceRow]:
        """The whole balance projection, any order."""
        ...

    def lot_rows(self) -> Iterator[LotRow]:
        """Every lot record, any order."""
        ...

    def item_rows(self) -> Iterator[ItemRow]:
        """Every item record, any order."""
        ...


# --------------------------------------------------------------------------- verification

_SPILL_LIMIT = 500_000
"""Keys (balances, serials, lots, items) kept in memory before they go to temporary files."""
_PARTITIONS: Final = 64
_CHECK_EVERY = 2048
_LINKS_CHUNK: Final = 4096
_LOOKUP_CHUNK: Final = 1000
_STATUS_FIELDS: Final = frozenset("+" + s.value for s in StockStatus)
_KINDS: Final = frozenset(
    {
        "RECEIPT",
        "ISSUE",
        "TRANSFER",
        "ADJUSTMENT",
        "STATUS_CHANGE",
        "CONSUMPTION",
        "RETURN",
        "SCRAP",
        "REVERSAL",
    }
)

Key = tuple[str, ...]


def verify_store(
    store: LedgerStore, *, anchor: LedgerHead | None = None, catalogue: bool = True
) -> VerifyReport:
    """Verify ``store``: what [`Ledger.verify`][medinv.ledger.Ledger.verify] runs.

    Args:
        store: any ledger store.
        anchor: an earlier head recorded elsewhere; the movement at its position
            must still have its hash.
        catalogue: also verify the store's catalogue (``store.catalogue``, when it
            has one that offers a verification source), see
            [`verify_catalogue`][medinv.verification.verify_catalogue].

    Raises:
        StorageError: the store itself failed (closed, unreachable); never for
            what it stores.
    """
    head = store.head()
    factory = getattr(store, "verification_source", None)
    source: VerificationSource = factory() if callable(factory) else _PortSource(store, head)
    verifier = _Verifier(source, anchor)
    try:
        end, count = verifier.chain(source.movement_rows())
        found = verifier.found
        if head != end:
            found.append(HeadMismatch(stored=head, rebuilt=end))
        if anchor is not None and anchor.position > 0 and verifier.anchor_seen != anchor:
            found.append(HeadMismatch(stored=anchor, rebuilt=verifier.anchor_seen))
        verifier.reversals(store)
        verifier.links(final=True)
        checked = verifier.derived(source)
    finally:
        verifier.close()
    catalogued = _catalogue_of(store) if catalogue else None
    report = None if catalogued is None else verify_catalogue(catalogued)
    return VerifyReport(
        head=head,
        movements_checked=count,
        balances_checked=checked,
        findings=tuple(verifier.found) + (() if report is None else report.findings),
        catalogue_versions_checked=0 if report is None else report.versions_checked,
    )


class _PortSource:
    """A `VerificationSource` over the plain port, for stores that offer none."""

    ids_unique = False

    def __init__(self, store: LedgerStore, head: LedgerHead) -> None:
        self._store = store
        self._head = head
        self.lookup_lots: Callable[[list[LotKey]], dict[LotKey, str]] = self._lots
        self.lookup_items: Callable[[list[Key]], list[ItemRow]] = self._items

    def movement_rows(self) -> Iterator[MovementRow]:
        """The store's movements, encoded again; a failure to read one skips it."""
        store, after = self._store, 0
        while True:
            try:
                for recorded in store.movements(MovementQuery(after_position=after)):
                    after = recorded.position
                    yield _port_row(recorded)
            except Exception as e:  # noqa: BLE001  (any failure to read a stored row is a finding)
                if after >= self._head.position:
                    yield (after + 1, None, None, None, None, repr(e), None, None, None, None)
                    return
                after += 1
                yield (after, None, None, None, None, repr(e), None, None, None, None)
                continue
            return

    def balance_rows(self) -> Iterator[BalanceRow]:
        """The store's projection, encoded like content fields."""
        try:
            for item, location, status, quantity in self._store.balances_snapshot():
                path = "+" + "/".join(location.path)
                yield (*_item_fields(item), path, "+" + status.value, quantity)
        except Exception as e:  # noqa: BLE001  (an unreadable balance is a finding)
            yield (f"the rest of the projection cannot be read: {e!r}",)  # type: ignore[misc]

    def lot_rows(self) -> Iterator[LotRow]:  # pragma: no cover  (lookups are used instead)
        """Not available through the port: lots are looked up by key."""
        return iter(())

    def item_rows(self) -> Iterator[ItemRow]:  # pragma: no cover  (lookups are used instead)
        """Not available through the port: items are looked up by key."""
        return iter(())

    def _lots(self, keys: list[LotKey]) -> dict[LotKey, str]:
        try:
            found = self._store.lot_expiries([(gtin, lot[1:]) for gtin, lot in keys])
        except Exception:  # noqa: BLE001  (one unreadable record must not hide the others)
            found = {}
            for gtin, lot in keys:
                with contextlib.suppress(Exception):
                    found.update(self._store.lot_expiries([(gtin, lot[1:])]))
        return {
            (gtin, "+" + lot): "-" if expiry is None else "+" + expiry.isoformat()
            for (gtin, lot), expiry in found.items()
        }

    def _items(self, keys: list[Key]) -> list[ItemRow]:
        items = []
        for gtin, lot, serial in keys:
            with contextlib.suppress(Exception):  # an unreadable key was reported already
                items.append(ItemKey(device_from_text(gtin), _text(lot), _text(serial)))
        rows: list[ItemRow] = []
        try:
            records = list(self._store.item_records(items).values())
        except Exception:  # noqa: BLE001  (one unreadable record must not hide the others)
            records = []
            for item in items:
                with contextlib.suppress(Exception):
                    records.extend(self._store.item_records([item]).values())
        for record in records:
            expiry = record.expiry
            rows.append(
                (
                    *_item_fields(record.item),
                    format_instant(record.first_received_at),
                    "-" if expiry is None else "+" + expiry.isoformat(),
                )
            )
        return rows


def _port_row(recorded: Any) -> MovementRow:
    try:
        content = movement_content(recorded.movement)
        recorded_at = format_instant(recorded.recorded_at)
    except Exception as e:  # noqa: BLE001  (a record that cannot be encoded is a finding)
        return (recorded.position, None, None, None, recorded.hash, repr(e), None, None, None, None)
    return (
        recorded.position,
        content,
        recorded_at,
        recorded.prev_hash,
        recorded.hash,
        None,
        None,
        None,
        None,
        None,
    )


def _item_fields(item: ItemKey) -> tuple[str, str, str]:
    lot, serial = item.lot, item.serial
    return (
        item.device_text,
        "-" if lot is None else "+" + lot.value,
        "-" if serial is None else "+" + serial.value,
    )


def _text(field: str) -> str | None:
    return None if field == "-" else field[1:]


def _by_position(mismatch: tuple[Any, ...]) -> tuple[bool, int, str]:
    """Integer positions in order, then anything else a store holds instead."""
    position = mismatch[0]
    number = isinstance(position, int)
    return (not number, position if number else 0, "" if number else repr(position))


class _Verifier:
    """One verification: the chain pass, then the per-key checks."""

    def __init__(self, source: VerificationSource, anchor: LedgerHead | None) -> None:
        self.found: list[Finding] = []
        self.later: list[tuple[Any, ...]] = []  # (sort key, finding) found after the chain pass
        self.anchor = anchor
        self.anchor_seen = LedgerHead.empty()
        self.ids: dict[str, int] | None = None if source.ids_unique else {}
        self.balances: dict[Key, list[int]] = {}
        self.serials: dict[Key, list[int]] = {}
        self.lots: dict[Key, tuple[int, str]] = {}
        self.items: dict[Key, tuple[int, str, str]] = {}
        self.reversal_rows: list[tuple[Any, ...]] = []
        self.spill: _Spill | None = None
        self.structured: list[tuple[int, str]] = []  # movements with a counterparty or references
        read = getattr(source, "link_rows", None)
        self.link_rows: Iterator[tuple[Any, Any]] | None = iter(read()) if callable(read) else None
        self.link_next: tuple[Any, Any] | None = None

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()

    def links(self, *, final: bool = False) -> None:
        """The store's index of movements by party and document against the hashed content.

        Checked when the source offers ``link_rows()``: ``(link, position)`` of every
        index entry in ascending position order (see [`link_keys`][medinv.chain.link_keys]).
        The movements with a counterparty or references seen since the last call are
        merged with the entries up to the last of them (all of them when ``final``):
        memory stays flat however many there are. A missing entry hides a movement
        from "what did this party receive", an extra one invents one.
        """
        chunk, self.structured = self.structured, []
        rows = self.link_rows
        if rows is None or (not chunk and not final):
            return
        stored: dict[Any, list[str]] = {}
        last = chunk[-1][0] if chunk else -1
        row = self.link_next or next(rows, None)
        while row is not None:
            link, position = row
            if not final and (not isinstance(position, int) or position > last):
                break  # the next chunk's (text positions sort last)
            stored.setdefault(position, []).append(str(link))
            row = next(rows, None)
        self.link_next = row
        mismatches: list[tuple[Any, list[str], list[str]]] = []
        for position, content in chunk:
            have = sorted(stored.pop(position, []))
            try:
                want = sorted(content_link_keys(content))
            except (ValueError, TypeError):  # content no movement encodes to: reported already
                continue
            if want != have:
                mismatches.append((position, have, want))
        mismatches += [(position, sorted(have), []) for position, have in stored.items()]  # extra
        mismatches.sort(key=_by_position)
        self.found.extend(
            ColumnMismatch(
                position=position if isinstance(position, int) else -1,
                column="movement links",
                stored=repr(have),
                content=repr(want),
            )
            for position, have, want in mismatches
        )

    # ------------------------------------------------------------------ the chain pass

    def chain(self, rows: Iterable[MovementRow]) -> tuple[LedgerHead, int]:  # noqa: C901, PLR0912, PLR0915  (one loop, kept flat for speed)
        """Check every row; add up balances, serial totals and master data."""
        found = self.found
        append = found.append
        balances, serials, lots, items = self.balances, self.serials, self.lots, self.items
        ids = self.ids
        reversal_rows = self.reversal_rows
        anchor_position = -1 if self.anchor is None else self.anchor.position
        prev: str | None = GENESIS_HASH
        last = 0
        count = 0
        last_recorded = ""
        last_instant: dt.datetime | None = None
        budget = _CHECK_EVERY
        bget, sget = balances.get, serials.get
        shared: dict[str, str] = {}  # GTINs, locations, statuses: a few hundred texts
        share = shared.setdefault
        for row in rows:
            position, content, recorded_at, stored_prev, hash_, cid, crev, cgtin, clot, cserial = (
                row
            )
            count += 1
            budget -= 1
            if not budget:
                budget = _CHECK_EVERY
                if len(balances) + len(serials) + len(lots) + len(items) > _SPILL_LIMIT:
                    self._flush()
                    bget, sget = balances.get, serials.get
            try:
                if content is None:  # a row the store could not read at all
                    raise _Unreadable(cid)  # noqa: TRY301  (reported like any unreadable row)
                if position != last + 1:
                    self._order(position, last)
                if stored_prev is not None and stored_prev != prev:
                    if prev is not None:  # None: the row before could not be read
                        append(ChainBreak(position=position, expected=prev, found=stored_prev))
                    prev = stored_prev
                # (prev None: the row before could not be read; no hash can match then)
                computed = entry_hash(str(prev), position, recorded_at, content)
                fields = content.split("\x00", 16)
                (mid, kind, gtin, lot, serial, qty, occurred, _, fl, fs, tl, ts, _, _, exp, rev) = (
                    fields[:16]
                )
                if len(fields) > 16:  # noqa: PLR2004  (a counterparty or references follow)
                    self.structured.append((position, content))
                    if len(self.structured) >= _LINKS_CHUNK:
                        self.links()
                if computed != hash_:
                    append(
                        HashMismatch(
                            position=position, movement_id=mid, stored=str(hash_), computed=computed
                        )
                    )
                    _check_fields(kind, qty, fl, fs, tl, ts)
                if position == anchor_position:
                    self.anchor_seen = LedgerHead(position, hash_)
                prev = hash_
                if position > last:  # noqa: PLR1730  (max() costs a call in the hot loop)
                    last = position
                if recorded_at != last_recorded:
                    instant = dt.datetime.fromisoformat(recorded_at)
                    if last_instant is not None and instant < last_instant:
                        append(
                            RecordedAtDecrease(
                                position=position, recorded_at=recorded_at, previous=last_recorded
                            )
                        )
                    last_recorded, last_instant = recorded_at, instant
                if cid is not None and (
                    cid != mid or crev != rev or cgtin != gtin or clot != lot or cserial != serial
                ):
                    append(
                        ColumnMismatch(
                            position=position,
                            column="id, reverses, gtin, lot, serial",
                            stored=repr((cid, crev, cgtin, clot, cserial)),
                            content=repr((mid, rev, gtin, lot, serial)),
                        )
                    )
                if ids is not None:
                    first = ids.get(mid)
                    if first is None:
                        ids[mid] = position
                    else:
                        append(DuplicateMovementId(movement_id=mid, positions=(first, position)))
                q = int(qty)
                if fl != "-":
                    key = (gtin, lot, serial, fl, fs)
                    v = bget(key)
                    if v is None:  # a new key keeps one copy of its repeated parts
                        key = (share(gtin, gtin), lot, serial, share(fl, fl), share(fs, fs))
                        balances[key] = [-q, -q, position]
                    else:
                        n = v[0] - q
                        v[0] = n
                        if n < v[1]:
                            v[1] = n
                            v[2] = position
                    if serial != "-" and tl == "-":
                        item = (gtin, lot, serial)
                        s = sget(item)
                        if s is None:
                            serials[item] = [-q, 0, position]
                        else:
                            s[0] -= q
                else:
                    if lot != "-":
                        lot_key = (gtin, lot)
                        if lot_key not in lots:
                            lots[lot_key] = (position, exp)
                    item = (gtin, lot, serial)
                    if item not in items:
                        items[item] = (position, occurred, exp)
                    if serial != "-":
                        s = sget(item)
                        if s is None:
                            serials[item] = s = [0, 0, position]
                        n = s[0] + q
                        s[0] = n
                        if n > s[1]:
                            s[1] = n
                            s[2] = position
                if tl != "-":
                    key = (gtin, lot, serial, tl, ts)
                    v = bget(key)
                    if v is None:
                        key = (share(gtin, gtin), lot, serial, share(tl, tl), share(ts, ts))
                        balances[key] = [q, 0, position]
                    else:
                        v[0] += q
                if rev != "-":
                    reversal_rows.append((position, mid, rev, kind, content))
            except Exception as e:  # noqa: BLE001  (an unreadable row is a finding; go on)
                append(
                    CorruptRecord(
                        table="movements",
                        position=position if isinstance(position, int) else None,
                        key=None,
                        reason=_reason(e, content),
                    )
                )
                prev = hash_ if isinstance(hash_, str) else None
                if isinstance(position, int) and position > last:
                    last = position
        return (LedgerHead(last, prev or "") if count else LedgerHead.empty()), count

    def _order(self, position: int, last: int) -> None:
        if position <= last:
            self.found.append(PositionOrder(position=position, after=last))
        else:
            self.found.append(PositionGap(expected=last + 1, found=position))

    # ------------------------------------------------------------------ reversals

    def reversals(self, store: LedgerStore) -> None:
        """Each reversal undoes an earlier, non-reversal movement exactly, and only once."""
        rows = self.reversal_rows
        first_by_target: dict[str, int] = {}
        for start in range(0, len(rows), _LOOKUP_CHUNK):
            chunk = rows[start : start + _LOOKUP_CHUNK]
            targets = [r[2][1:] for r in chunk if r[2] != "-"]
            originals = _lookup(store, targets)
            for position, mid, rev, kind, content in chunk:
                target = rev[1:]
                problem = None
                if kind != "REVERSAL" or rev == "-":
                    problem = "only a REVERSAL names a movement it reverses"
                elif target in first_by_target:
                    problem = f"already reversed at position {first_by_target[target]}"
                else:
                    first_by_target[target] = position
                    problem = _reversal_problem(position, content, originals.get(target))
                if problem is not None:
                    self.later.append(
                        (
                            (2, position),
                            ReversalMismatch(
                                position=position, movement_id=mid, reverses=target, reason=problem
                            ),
                        )
                    )

    # ------------------------------------------------------------------ balances, master data

    def _flush(self) -> None:
        """Move the in-memory sums to the partition files."""
        if self.spill is None:
            self.spill = _Spill()
        spill = self.spill
        for key, value in self.balances.items():
            spill.add(key, ("b", key, *value))
        for key, value in self.serials.items():
            spill.add(key, ("s", key, *value))
        for key, lot in self.lots.items():
            spill.add(key, ("l", key, *lot))
        for key, item in self.items.items():
            spill.add(key[:2], ("i", key, *item))
        self.balances.clear()
        self.serials.clear()
        self.lots.clear()
        self.items.clear()
        spill.flush()

    def derived(self, source: VerificationSource) -> int:
        """Compare the projection and master data with the sums; returns balances compared."""
        lookup_lots = getattr(source, "lookup_lots", None)
        lookup_items = getattr(source, "lookup_items", None)
        checked = 0
        if self.spill is None:
            checked += self._evaluate(
                balances=self.balances,
                serials=self.serials,
                lots=self.lots,
                items=self.items,
                stored_balances=source.balance_rows(),
                stored_lots=None if lookup_lots else source.lot_rows(),
                stored_items=None if lookup_items else source.item_rows(),
                lookup_lots=lookup_lots,
                lookup_items=lookup_items,
            )
        else:
            self._flush()
            spill = self.spill
            for row in _guarded(source.balance_rows(), "balances", self.later):
                spill.add(tuple(row[:5]), ("B", *row))
            if lookup_lots is None:
                for row in _guarded(source.lot_rows(), "lots", self.later):
                    spill.add(tuple(row[:2]), ("L", *row))
            if lookup_items is None:
                for row in _guarded(source.item_rows(), "items", self.later):
                    spill.add(tuple(row[:2]), ("I", *row))
            spill.flush()
            for records in spill.partitions():
                balances, serials, lots, items, stored_b, stored_l, stored_i = _fold(records)
                checked += self._evaluate(
                    balances=balances,
                    serials=serials,
                    lots=lots,
                    items=items,
                    stored_balances=stored_b,
                    stored_lots=None if lookup_lots else stored_l,
                    stored_items=None if lookup_items else stored_i,
                    lookup_lots=lookup_lots,
                    lookup_items=lookup_items,
                )
        self.later.sort(key=lambda pair: pair[0])
        self.found.extend(finding for _, finding in self.later)
        return checked

    def _evaluate(  # noqa: C901  (the sums and what they are compared with)
        self,
        *,
        balances: dict[Key, list[int]],
        serials: dict[Key, list[int]],
        lots: dict[Key, tuple[int, str]],
        items: dict[Key, tuple[int, str, str]],
        stored_balances: Iterable[BalanceRow],
        stored_lots: Iterable[LotRow] | None,
        stored_items: Iterable[ItemRow] | None,
        lookup_lots: Callable[[list[LotKey]], dict[LotKey, str]] | None,
        lookup_items: Callable[[list[Key]], list[ItemRow]] | None,
    ) -> int:
        later = self.later
        checked = 0
        for key, (_, low, low_position) in balances.items():
            if low < 0:
                later.append(((4, repr(key)), _negative(key, low, low_position)))
        pop = balances.pop  # what is left afterwards was rebuilt but not stored
        for row in stored_balances:
            if type(row) is not tuple or len(row) != 6:  # noqa: PLR2004  (a balance row)
                later.append(((1, repr(row)), _corrupt("balances", row, "row", row)))
                continue
            key = row[:5]
            quantity = row[5]
            if type(quantity) is not int:
                later.append(((1, repr(key)), _corrupt("balances", key, "quantity", quantity)))
                continue
            v = pop(key, None)
            rebuilt = 0 if v is None else v[0]
            if quantity or rebuilt:
                checked += 1
            if quantity != rebuilt:
                later.append(((3, repr(key)), _projection(key, quantity, rebuilt)))
        for key, (net, _, _) in balances.items():
            if net:
                checked += 1
                later.append(((3, repr(key)), _projection(key, 0, net)))
        for key, (_, high, high_position) in serials.items():
            if high > 1:
                later.append(((5, repr(key)), _serial(key, high, high_position)))
        self._master_data(
            lots=lots,
            items=items,
            stored_lots=stored_lots,
            stored_items=stored_items,
            lookup_lots=lookup_lots,
            lookup_items=lookup_items,
        )
        return checked

    def _master_data(  # noqa: C901, PLR0912  (lots, then items; stored or looked up)
        self,
        *,
        lots: dict[Key, tuple[int, str]],
        items: dict[Key, tuple[int, str, str]],
        stored_lots: Iterable[LotRow] | None,
        stored_items: Iterable[ItemRow] | None,
        lookup_lots: Callable[[list[LotKey]], dict[LotKey, str]] | None,
        lookup_items: Callable[[list[Key]], list[ItemRow]] | None,
    ) -> None:
        later = self.later
        lot_rows: Iterable[LotRow]
        if stored_lots is not None:
            lot_rows = stored_lots
        else:
            assert lookup_lots is not None  # noqa: S101  (one or the other)
            lot_rows = (
                (gtin, lot, expiry)
                for chunk in _chunked(list(lots))
                for (gtin, lot), expiry in lookup_lots(chunk).items()
            )
        seen: set[Key] = set()
        for gtin, lot, expiry in _guarded(lot_rows, "lots", later):
            lot_key: Key = (gtin, lot)
            first = lots.get(lot_key)
            seen.add(lot_key)
            expected = None if first is None else first[1]
            if expiry != expected:
                finding = _master("lot", gtin, lot, "-", expiry, expected)
                later.append(((6, repr(lot_key)), finding))
        for lot_key, (_, expiry) in lots.items():
            if lot_key not in seen:
                finding = _master("lot", lot_key[0], lot_key[1], "-", None, expiry)
                later.append(((6, repr(lot_key)), finding))
        item_rows: Iterable[ItemRow]
        if stored_items is not None:
            item_rows = stored_items
        else:
            assert lookup_items is not None  # noqa: S101  (one or the other)
            item_rows = (row for chunk in _chunked(list(items)) for row in lookup_items(chunk))
        seen = set()
        for gtin, lot, serial, received, expiry in _guarded(item_rows, "items", later):
            item_key: Key = (gtin, lot, serial)
            seen.add(item_key)
            first_item = items.get(item_key)
            if first_item is None:
                finding = _master("item", gtin, lot, serial, expiry, None)
                later.append(((7, repr(item_key)), finding))
                continue
            _, occurred, stated = first_item
            lot_first = lots.get((gtin, lot)) if lot != "-" else None
            expected = lot_first[1] if lot_first is not None else stated
            if expiry != expected:
                finding = _master("item", gtin, lot, serial, expiry, expected)
                later.append(((7, repr(item_key)), finding))
            if received != occurred and not _same_instant(received, occurred):
                finding = _master(
                    "item", gtin, lot, serial, received, occurred, field="first_received_at"
                )
                later.append(((7, repr(item_key)), finding))
        for item_key, (_, occurred, _) in items.items():
            if item_key not in seen:
                gtin, lot, serial = item_key
                finding = _master("item", gtin, lot, serial, None, occurred)
                later.append(((7, repr(item_key)), finding))


def _check_fields(kind: str, qty: str, fl: str, fs: str, tl: str, ts: str) -> None:  # noqa: PLR0917  (the fields, as split)
    """Raise `_Unreadable` if an edited row's fields are not what medinv writes.

    (A row whose hash matches was written by medinv: only edited rows need it.)
    """
    if kind not in _KINDS:
        raise _Unreadable(f"kind {kind!r}")
    if qty != str(int(qty)) or int(qty) <= 0:
        raise _Unreadable(f"quantity {qty!r}")
    for place, status in ((fl, fs), (tl, ts)):
        if (place == "-") != (status == "-") or (status != "-" and status not in _STATUS_FIELDS):
            raise _Unreadable(f"location {place!r} with status {status!r}")


class _Unreadable(Exception):  # noqa: N818  (internal signal, not an error of the API)
    """A movement row that is not what medinv writes."""


def _reason(error: Exception, content: object) -> str:
    if content is None:
        return f"the store cannot read it: {error}"
    if isinstance(error, _Unreadable):
        return f"unexpected {error}"
    if not isinstance(content, str):
        return f"content is {type(content).__name__}, not text"
    return f"{type(error).__name__}: {error}"


_WIDTHS: Final = {"balances": 6, "lots": 3, "items": 5}


def _guarded(rows: Iterable[Any], table: str, later: list[tuple[Any, ...]]) -> Iterator[Any]:
    """The rows of right shape; others become `CorruptRecord` findings.

    Master data rows must be all text; a balance row with a key part of another
    type is reported when its key matches no movement's.
    """
    width = _WIDTHS[table]
    text = table != "balances"
    for row in rows:
        if (
            type(row) is tuple
            and len(row) == width
            and (not text or all(type(part) is str for part in row))
        ):
            yield row
            continue
        later.append(((1, repr(row)), _corrupt(table, row, "row", row)))


def _corrupt(table: str, key: object, what: str, value: object) -> CorruptRecord:
    return CorruptRecord(table=table, position=None, key=repr(key), reason=f"{what} {value!r}")


def _objects(key: Key) -> tuple[ItemKey, Location, StockStatus]:
    gtin, lot, serial, location, status = key
    return (
        ItemKey(device_from_text(gtin), _text(lot), _text(serial)),
        Location(tuple(location[1:].split("/"))),
        StockStatus(status[1:]),
    )


def _projection(key: Key, stored: int, rebuilt: int) -> Finding:
    try:
        item, location, status = _objects(key)
    except Exception as e:  # noqa: BLE001  (a key no valid movement could have)
        return _corrupt("balances", key, "key", e)
    return ProjectionMismatch(
        item=item, location=location, status=status, stored=stored, rebuilt=rebuilt
    )


def _negative(key: Key, low: int, position: int) -> Finding:
    try:
        item, location, status = _objects(key)
    except Exception as e:  # noqa: BLE001  (a key no valid movement could have)
        return _corrupt("movements", key, "key", e)
    return NegativeBalance(
        item=item, location=location, status=status, position=position, balance=low
    )


def _serial(key: Key, total: int, position: int) -> Finding:
    try:
        item = ItemKey(device_from_text(key[0]), _text(key[1]), _text(key[2]))
    except Exception as e:  # noqa: BLE001  (a key no valid movement could have)
        return _corrupt("movements", key, "key", e)
    return SerialInTwoPlaces(item=item, position=position, total=total)


def _master(  # noqa: PLR0917  (a record's key and the two values)
    record: str,
    gtin: str,
    lot: str,
    serial: str,
    stored: str | None,
    expected: str | None,
    *,
    field: str = "expiry",
) -> MasterDataMismatch:
    if stored is None or expected is None:
        field = "record"
    return MasterDataMismatch(
        record=record,
        gtin=gtin,
        lot=_text(lot),
        serial=_text(serial),
        field=field,
        stored=stored,
        expected=expected,
    )


def _same_instant(a: str, b: str) -> bool:
    try:
        x, y = dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)
    except (ValueError, TypeError):
        return False
    return x == y and x.utcoffset() == y.utcoffset()


def _chunked(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield values[start : start + _LOOKUP_CHUNK]


def _lookup(store: LedgerStore, ids: list[str]) -> dict[str, Any]:
    """The stored movements with these ids; one unreadable one does not hide the others."""
    try:
        return dict(store.movements_by_id(ids))
    except Exception:  # noqa: BLE001  (an unreadable row was reported by the chain pass)
        found: dict[str, Any] = {}
        for movement_id in ids:
            with contextlib.suppress(Exception):
                found.update(store.movements_by_id([movement_id]))
        return found


def _reversal_problem(position: int, content: str, original: Any) -> str | None:
    if original is None:
        return "no such movement in the ledger"
    if original.position >= position:
        return f"reverses a later movement (position {original.position})"
    try:
        before = movement_content(original.movement).split("\x00")
    except Exception:  # noqa: BLE001  (an unreadable original was reported already)
        return "the reversed movement cannot be read"
    if before[1] == "REVERSAL":
        return "a reversal cannot be reversed"
    f = content.split("\x00")
    # item and quantity equal; source and destination (place and status) swapped
    if f[2:6] != before[2:6] or f[8:10] != before[10:12] or f[10:12] != before[8:10]:
        return "not the exact inverse of the movement"
    return None


def _fold(  # noqa: C901, PLR0912  (one branch per kind of record)
    records: Iterable[tuple[Any, ...]],
) -> tuple[
    dict[Key, list[int]],
    dict[Key, list[int]],
    dict[Key, tuple[int, str]],
    dict[Key, tuple[int, str, str]],
    list[BalanceRow],
    list[LotRow],
    list[ItemRow],
]:
    """One partition's records, in the order written, folded into the sums per key."""
    balances: dict[Key, list[int]] = {}
    serials: dict[Key, list[int]] = {}
    lots: dict[Key, tuple[int, str]] = {}
    items: dict[Key, tuple[int, str, str]] = {}
    stored_b: list[BalanceRow] = []
    stored_l: list[LotRow] = []
    stored_i: list[ItemRow] = []
    for record in records:
        tag = record[0]
        if tag == "b":
            _, key, net, low, at = record
            v = balances.get(key)
            if v is None:
                balances[key] = [net, low, at]
            else:
                if v[0] + low < v[1]:
                    v[1] = v[0] + low
                    v[2] = at
                v[0] += net
        elif tag == "s":
            _, key, net, high, at = record
            v = serials.get(key)
            if v is None:
                serials[key] = [net, high, at]
            else:
                if v[0] + high > v[1]:
                    v[1] = v[0] + high
                    v[2] = at
                v[0] += net
        elif tag == "l":
            lots.setdefault(record[1], record[2:])
        elif tag == "i":
            items.setdefault(record[1], record[2:])
        elif tag == "B":
            stored_b.append(record[1:])
        elif tag == "L":
            stored_l.append(record[1:])
        else:
            stored_i.append(record[1:])
    return balances, serials, lots, items, stored_b, stored_l, stored_i


class _Spill:
    """Records routed by key into partition files, read back one partition at a time."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="medinv-verify-")
        self._paths = [Path(self._dir.name) / f"part-{n:03d}" for n in range(_PARTITIONS)]
        self._buffers: list[list[tuple[Any, ...]]] = [[] for _ in range(_PARTITIONS)]
        self._held = 0

    def add(self, key: tuple[Any, ...], record: tuple[Any, ...]) -> None:
        self._buffers[hash(key) % _PARTITIONS].append(record)
        self._held += 1
        if self._held > _SPILL_LIMIT:
            self.flush()

    def flush(self) -> None:
        for path, buffer in zip(self._paths, self._buffers, strict=True):
            if buffer:
                with path.open("ab") as f:
                    marshal.dump(buffer, f)
                buffer.clear()
        self._held = 0

    def partitions(self) -> Iterator[Iterator[tuple[Any, ...]]]:
        for path in self._paths:
            if path.exists():
                yield self._read(path)

    @staticmethod
    def _read(path: Path) -> Iterator[tuple[Any, ...]]:
        with path.open("rb") as f:
            while True:
                try:
                    chunk = marshal.load(f)  # noqa: S302  (files this process wrote, in its private directory)
                except EOFError:
                    return
                yield from chunk

    def close(self) -> None:
        self._dir.cleanup()


# --------------------------------------------------------------------------- the catalogue
#
# A catalogue store chains its versions like the ledger chains movements: each stored
# version has a sequence number (1, 2, 3 ... in the order written, one sequence for
# the whole catalogue), the hash of the version written before it and its own hash
# over that previous hash, its kind and its stored JSON; the store keeps a head (the
# last sequence number and hash). What a past movement meant is judged with the master
# data of its time, so an edited, deleted or reordered version is found here.

CatalogueRow = tuple[Any, Any, Any, Any, Any, Any, Any]
"""One stored catalogue version, read without decoding.

``(seq, kind, key, valid_from, data, prev_hash, hash)``: the sequence number, the
kind (``"product"``, ``"location"``, ``"party"``), the key and the moment (UTC text,
see [`catalogue_moment`][medinv.verification.catalogue_moment]) the store files it
under, the version's JSON text (``{"format": 1, "valid_from": ..., "value": {...}}``)
and the two hashes. Values of any type may come back: a row edited into nonsense is
reported, not trusted.
"""

LookupRow = tuple[Any, Any, Any]
"""A stored lookup: ``(kind, name, key)``: the DI (``"di"``) or GLN (``"gln"``) and the
product or party key it belongs to."""

_CATALOGUE_HASH_VERSION: Final = "medinv-catalogue-1"


def catalogue_hash(prev_hash: str, kind: str, data: str) -> str:
    """The hash of one stored catalogue version.

    ``sha256("medinv-catalogue-1" NUL prev_hash NUL kind NUL data)`` as lower-case
    hex, UTF-8 encoded; ``data`` is the version's stored JSON text, which holds its
    key and the moment it is valid from.
    """
    text = f"{_CATALOGUE_HASH_VERSION}\0{prev_hash}\0{kind}\0{data}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def catalogue_moment(moment: dt.datetime) -> str:
    """``moment`` as the fixed-width UTC text catalogue stores file versions under.

    Microseconds included, so that text order is time order.
    """
    return dt.datetime.isoformat(moment.astimezone(dt.UTC), timespec="microseconds")


@runtime_checkable
class CatalogueVerificationSource(Protocol):
    """What a catalogue store offers to be verified: its rows, its lookups and its head.

    A catalogue store has it through a method ``verification_source()``. The
    iterators must not raise on what is stored (only on a failure of the store).
    """

    def catalogue_head(self) -> tuple[int, str]:
        """The sequence number and hash of the last version written (0 and GENESIS_HASH)."""
        ...

    def catalogue_rows(self) -> Iterator[CatalogueRow]:
        """Every stored version in ascending sequence order."""
        ...

    def lookup_rows(self) -> Iterator[LookupRow]:
        """Every stored lookup, any order."""
        ...


@attrs.frozen(kw_only=True)
class CatalogueVersionEdited(Finding):
    """A stored catalogue version whose content does not match its hash: it was edited."""

    seq: int
    """The version's sequence number."""
    entry: str
    """The entry as filed (``product GS1:...``, ``location A/B``, ``party SUPPLIER:X``)."""
    stored: str
    """The hash stored with it."""
    computed: str
    """The hash of its stored content."""

    _says: ClassVar[str] = "catalogue version {f.seq} ({f.entry}) does not match its hash"


@attrs.frozen(kw_only=True)
class CatalogueVersionMissing(Finding):
    """Catalogue versions missing from the sequence (or after the last one): deleted."""

    expected: int
    """The next sequence number that should follow."""
    found: int
    """The sequence number found instead (the head's plus one at the end)."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        return f"catalogue versions {self.expected}..{self.found - 1} are missing"


@attrs.frozen(kw_only=True)
class CatalogueVersionOrder(Finding):
    """A catalogue version out of order: not after the version it was written after.

    Its sequence number repeats or goes back, its previous hash is not the hash
    of the version before it (versions swapped or renumbered), or the store files it
    under another entry or moment than its own content says (as-of lookups would
    see the history in the wrong order).
    """

    seq: int
    """The version's sequence number."""
    entry: str
    """The entry as filed."""
    reason: str
    """What is out of order."""

    _says: ClassVar[str] = "catalogue version {f.seq} ({f.entry}) is out of order: {f.reason}"


@attrs.frozen(kw_only=True)
class CatalogueHeadMismatch(Finding):
    """The catalogue's head is not its last stored version: versions were added behind it."""

    stored: LedgerHead
    """The head the store keeps."""
    rebuilt: LedgerHead
    """Sequence number and hash of the last version found."""

    _says: ClassVar[str] = (
        "the catalogue head says version {f.stored.position} but the versions end at "
        "{f.rebuilt.position} (or hashes differ)"
    )


@attrs.frozen(kw_only=True)
class PackageDINotHeld(Finding):
    """A product version whose package contains a DI the product does not hold then.

    Scanning the package would convert through a level that does not exist.
    """

    product: str
    """The product's primary DI."""
    valid_from: str
    """The moment the version is valid from (UTC text)."""
    package_di: str
    """The package DI."""
    contains: str
    """The DI it says it contains."""
    held_by: str | None
    """The product that holds ``contains`` at that moment, if another one does."""

    @property
    def description(self) -> str:
        """A sentence saying what is wrong."""
        holder = "no product holds" if self.held_by is None else f"product {self.held_by} holds"
        return (
            f"package DI {self.package_di} of product {self.product} (valid from "
            f"{self.valid_from}) contains {self.contains}, which {holder} at that moment"
        )


@attrs.frozen(kw_only=True)
class DIHeldTwice(Finding):
    """One DI held by two products at overlapping times: a scan would be ambiguous."""

    di: str
    """The device identifier."""
    products: tuple[str, str]
    """The two products' primary DIs."""
    since: str
    """The first moment both hold it (UTC text)."""

    _says: ClassVar[str] = "{f.di} is held by products {f.products} at once from {f.since}"


@attrs.frozen(kw_only=True)
class LookupMismatch(Finding):
    """A stored lookup that does not name the entry the versions give the DI or GLN to.

    Lookups find a product by a scanned DI and a party by its GLN; a wrong one
    answers with the wrong entry, or with none.
    """

    kind: str
    """``"di"`` or ``"gln"``."""
    name: str
    """The DI or GLN."""
    stored: str | None
    """The key the lookup names (``None``: no lookup)."""
    expected: str | None
    """The key the versions give it to (``None``: no version holds it)."""

    _says: ClassVar[str] = (
        "the {f.kind} lookup of {f.name} names {f.stored!r}, but the versions give it to "
        "{f.expected!r}"
    )


@attrs.frozen(kw_only=True)
class CatalogueReport:
    """The result of [`verify_catalogue`][medinv.verification.verify_catalogue]."""

    head: LedgerHead
    """The catalogue's head when verification started (last sequence number, hash)."""
    versions_checked: int
    """How many stored versions were read."""
    findings: tuple[Finding, ...]
    """Every difference: the chain's in sequence order, then the others."""

    @property
    def ok(self) -> bool:
        """Whether nothing was found."""
        return not self.findings


def verify_catalogue(catalogue: object) -> CatalogueReport:
    """Check a catalogue store's versions, chain and lookups; report every difference.

    Reads every stored version in the order written and checks the sequence
    (1, 2, 3 ... gap-free, up to the head), the hash chain (each version's hash
    over its content and its predecessor's hash), that each version is filed under
    its own entry and moment; then, over the versions as stored, that every package
    of a product contains a DI the product holds at that moment, that no DI is held
    by two products at overlapping times, and that the lookups name the entries the
    versions give each DI and GLN to. Unreadable rows are
    [`CorruptRecord`][medinv.verification.CorruptRecord] findings; this raises only
    when the store fails. The rows stream a page at a time; what the later checks
    need (the DIs of every product version, the GLNs, the lookups) is held in memory,
    a few hundred bytes per product version.

    Args:
        catalogue: a catalogue store with ``verification_source()`` (every medinv
            store's ``.catalogue``).

    Raises:
        InvalidValueError: the catalogue offers no verification source.
        StorageError: the store itself failed.
    """
    factory = getattr(catalogue, "verification_source", None)
    source = factory() if callable(factory) else None
    if not isinstance(source, CatalogueVerificationSource):
        msg = f"{type(catalogue).__name__} offers no catalogue verification source"
        raise InvalidValueError(msg)
    position, head_hash = source.catalogue_head()
    head = LedgerHead(position, head_hash)
    checker = _CatalogueChecker()
    count = checker.chain(source.catalogue_rows())
    if checker.last != head:
        if head.position > checker.last.position:
            checker.found.append(
                CatalogueVersionMissing(expected=checker.last.position + 1, found=head.position + 1)
            )
        else:
            checker.found.append(CatalogueHeadMismatch(stored=head, rebuilt=checker.last))
    checker.holdings()
    checker.lookups(source.lookup_rows())
    return CatalogueReport(head=head, versions_checked=count, findings=tuple(checker.found))


_END: Final = "~"  # after every moment text


def _catalogue_of(store: object) -> object | None:
    """The store's catalogue, if it has one that can be verified."""
    found = getattr(store, "catalogue", None)
    return found if callable(getattr(found, "verification_source", None)) else None


class _CatalogueChecker:
    """The catalogue passes: the chain row by row, then holdings and lookups."""

    def __init__(self) -> None:
        self.found: list[Finding] = []
        self.last = LedgerHead(0, GENESIS_HASH)
        # product key -> [(moment, (dis...), ((package di, contains), ...))]
        self.products: dict[
            str, list[tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]]
        ] = {}
        self.glns: dict[str, set[str]] = {}

    def chain(self, rows: Iterable[Any]) -> int:
        count = 0
        expected, linked = 1, True
        for row in rows:
            count += 1
            try:
                seq, kind, key, moment, data, prev, stored = row
                entry = f"{kind} {key}"
                computed = catalogue_hash(str(prev), str(kind), str(data))
            except (ValueError, TypeError) as e:
                self.found.append(_corrupt("catalogue_versions", row, "row", e))
                linked = False
                continue
            if isinstance(seq, bool) or not isinstance(seq, int):
                self.found.append(_corrupt("catalogue_versions", row, "sequence number", seq))
                linked = False
                continue
            if seq > expected:
                self.found.append(CatalogueVersionMissing(expected=expected, found=seq))
                linked = False
            elif seq < expected:
                reason = f"it comes after version {expected - 1}"
                self.found.append(CatalogueVersionOrder(seq=seq, entry=entry, reason=reason))
            if computed != stored:
                self.found.append(
                    CatalogueVersionEdited(
                        seq=seq, entry=entry, stored=str(stored), computed=computed
                    )
                )
            elif linked and prev != self.last.hash:
                reason = f"it was not written after version {self.last.position}"
                self.found.append(CatalogueVersionOrder(seq=seq, entry=entry, reason=reason))
            self._content(seq, kind, key, moment, data)
            self.last = LedgerHead(max(seq, self.last.position), str(stored))
            expected, linked = max(seq + 1, expected), True
        return count

    def _content(self, seq: int, kind: Any, key: Any, moment: Any, data: Any) -> None:
        """Read what holdings and lookups need; check it is filed under its own key and moment."""
        entry = f"{kind} {key}"
        try:
            decoded = json.loads(data)
            value = decoded["value"]
            own_moment = catalogue_moment(to_datetime(decoded["valid_from"]))
            if kind == "product":
                own_key = str(value["primary_di"])
                packages = tuple((str(p["di"]), str(p["contains"])) for p in value["packages"])
            elif kind == "location":
                own_key, packages = "/".join(str(s) for s in value["path"]), ()
            else:
                own_key, packages = f"{value['kind']}:{value['id']}", ()
        except (ValueError, TypeError, KeyError, AttributeError, MedinvError) as e:
            reason = f"its JSON cannot be read ({type(e).__name__}: {e})"
            self.found.append(
                CorruptRecord(table="catalogue_versions", position=seq, key=None, reason=reason)
            )
            return
        if (own_key, own_moment) != (key, moment):
            reason = f"its content is {kind} {own_key} valid from {own_moment}"
            self.found.append(CatalogueVersionOrder(seq=seq, entry=entry, reason=reason))
        if kind == "product":
            dis = (own_key, *(di for di, _ in packages))
            self.products.setdefault(own_key, []).append((own_moment, dis, packages))
        elif kind == "party" and value.get("gln") is not None:
            self.glns.setdefault(str(value["gln"]), set()).add(own_key)

    def holdings(self) -> None:
        """Packages contain held DIs; no DI held by two products at once."""
        held: dict[str, list[tuple[str, str, str]]] = {}
        spans: list[tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]]] = []
        for key, versions in self.products.items():
            versions.sort()
            ends = [m for m, _, _ in versions[1:]] + [_END]
            for (start, dis, packages), end in zip(versions, ends, strict=True):
                spans.append((key, start, dis, packages))
                for di in dis:
                    held.setdefault(di, []).append((start, end, key))
        self._overlaps(held)
        self._packages(spans, held)

    def _overlaps(self, held: dict[str, list[tuple[str, str, str]]]) -> None:
        for di, intervals in held.items():
            intervals.sort()
            reach_end, reach_key = "", ""
            for start, end, key in intervals:
                if key != reach_key and start < reach_end:
                    pair = (reach_key, key)
                    self.found.append(DIHeldTwice(di=di, products=pair, since=start))
                if end > reach_end:
                    reach_end, reach_key = end, key

    def _packages(
        self,
        spans: list[tuple[str, str, tuple[str, ...], tuple[tuple[str, str], ...]]],
        held: dict[str, list[tuple[str, str, str]]],
    ) -> None:
        for key, start, dis, packages in spans:
            for package, contains in packages:
                if contains in dis:
                    continue
                holder = next(
                    (k for s, e, k in held.get(contains, ()) if s <= start < e and k != key), None
                )
                self.found.append(
                    PackageDINotHeld(
                        product=key,
                        valid_from=start,
                        package_di=package,
                        contains=contains,
                        held_by=holder,
                    )
                )

    def lookups(self, rows: Iterable[Any]) -> None:
        """Each DI and GLN the versions hold is looked up to an entry that holds it."""
        holders: dict[tuple[str, str], set[str]] = {}
        for key, versions in self.products.items():
            for _, dis, _ in versions:
                for di in dis:
                    holders.setdefault(("di", di), set()).add(key)
        for gln, keys in self.glns.items():
            holders["gln", gln] = keys
        stored: dict[tuple[str, str], str] = {}
        for row in rows:
            try:
                kind, name, key = (str(part) for part in row)
            except (ValueError, TypeError) as e:
                self.found.append(_corrupt("catalogue_lookups", None, "row", e))
                continue
            stored[kind, name] = key
        for (kind, name), keys in sorted(holders.items()):
            have = stored.pop((kind, name), None)
            if have not in keys:
                expected = min(keys)
                self.found.append(
                    LookupMismatch(kind=kind, name=name, stored=have, expected=expected)
                )
        for (kind, name), key in sorted(stored.items()):
            self.found.append(LookupMismatch(kind=kind, name=name, stored=key, expected=None))


__all__ += [
    "CatalogueHeadMismatch",
    "CatalogueReport",
    "CatalogueRow",
    "CatalogueVerificationSource",
    "CatalogueVersionEdited",
    "CatalogueVersionMissing",
    "CatalogueVersionOrder",
    "DIHeldTwice",
    "LookupMismatch",
    "LookupRow",
    "PackageDINotHeld",
    "catalogue_hash",
    "catalogue_moment",
    "verify_catalogue",
]
