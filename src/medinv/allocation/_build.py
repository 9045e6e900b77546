"""Building a FEFO index's state from stock positions in one pass (the bulk build).

Building is a one-pass job over up to millions of positions (``Ledger.positions()``
of a warehouse): the per-position work of adding a position (`FefoIndex._add`) is
inlined in one loop, each product's free slots are collected and sorted in once,
and nothing is hashed that need not be. A test compares every map this builds with
adding the positions one by one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pendulum

from medinv.allocation._entries import (
    AVAILABLE,
    Entry,
    Product,
    Slot,
    given_twice,
    not_a_position,
)
from medinv.allocation._order import (
    _EPOCH_ORDINAL,
    _NO_RECEIPT,
    NO_EXPIRY,
    _fixed_offset,
    received_micros,
)
from medinv.dates import to_datetime
from medinv.errors import InvalidValueError
from medinv.locations import Location
from medinv.movements import StockPosition

__all__ = ["build"]


def build(  # noqa: C901, PLR0912, PLR0915  (one loop over every position, inlined)
    positions: Iterable[StockPosition],
    products: dict[str, Product],
    ordinals: dict[int, int],
    pick_sequences: dict[tuple[str, ...], int],
    pick_sequence_of: Callable[[Location], int] | None,
) -> None:
    """File ``positions`` into ``products`` (an empty index's maps); see `FefoIndex.from_positions`.

    ``ordinals`` and ``pick_sequences`` are the index's shared expiry ordinals and
    the pick sequences by location path; ``pick_sequence_of`` gives the pick
    sequence of a location seen for the first time (``None``: its own).

    Raises:
        InvalidValueError: something other than a `StockPosition` is given, or the
            same (item, location, status) appears twice.
    """
    pending: dict[str, list[Slot]] = {}
    gtin = ""
    product = Product()
    slots: list[Slot] = []
    by_item = product.entries.by_item
    lot_expiry = product.lot_expiry
    new_entry = Entry
    fixed_offset = _fixed_offset
    epoch = _EPOCH_ORDINAL
    last_tz: dt.tzinfo | None = None
    last_offset: int | None = None
    try:
        iterator = iter(positions)
    except TypeError:
        msg = f"expected stock positions, not {type(positions).__name__}"
        raise InvalidValueError(msg) from None
    # `FefoIndex._add` (with `_new_entry`) for every position, inlined: building is a
    # one-pass job over up to millions of positions.
    for stock in iterator:
        if type(stock) is not StockPosition:
            not_a_position(stock)
        item = stock.item
        if item.device.value != gtin:  # positions usually come grouped by product
            gtin = item.device.value
            found = products.get(gtin)
            if found is None:
                product = products[gtin] = Product()
                slots = pending[gtin] = []
            else:
                product = found
                slots = pending[gtin]
            by_item = product.entries.by_item
            lot_expiry = product.lot_expiry
        location = stock.location
        status = stock.status
        expiry = stock.expiry
        if expiry is not None and type(expiry) is not pendulum.Date:
            expiry = pendulum.date(expiry.year, expiry.month, expiry.day)
        received_at = stock.received_at
        if received_at is not None and type(received_at) is not pendulum.DateTime:
            received_at = to_datetime(received_at)
        lot, serial = item.lot, item.serial
        lot_text = "" if lot is None else lot.value
        if expiry is None:
            ordinal = NO_EXPIRY
        else:
            ordinal = expiry.toordinal()
            ordinal = ordinals.setdefault(ordinal, ordinal)
            if lot_text not in lot_expiry:
                lot_expiry[lot_text] = expiry
        if received_at is None:
            micros = _NO_RECEIPT
        else:
            tz = received_at.tzinfo
            if tz is not last_tz:  # positions mostly share one time zone object
                last_tz = tz
                last_offset = None if tz is None else fixed_offset(tz)
            offset = last_offset
            if offset is None:
                micros = received_micros(received_at)
            else:  # what received_micros does, inlined
                micros = (
                    (
                        (received_at.toordinal() - epoch) * 86_400
                        + received_at.hour * 3_600
                        + received_at.minute * 60
                        + received_at.second
                    )
                    * 1_000_000
                    + received_at.microsecond
                    - offset
                )
        path = location.path
        pick = pick_sequences.get(path)
        if pick is None:
            pick = pick_sequences[path] = (
                location.pick_sequence if pick_sequence_of is None else pick_sequence_of(location)
            )
        serial_text = "" if serial is None else serial.value
        quantity = stock.quantity
        entry = new_entry(
            item,
            location,
            status,
            expiry,
            received_at,
            quantity,
            ordinal,
            micros,
            pick,
            lot_text,
            serial_text,
            path,
        )
        if status is AVAILABLE:
            filed = lot_text if serial is None else (lot_text, serial_text)
            if filed in by_item or not quantity:  # the general case, the slow way
                if not product.entries.add(entry):
                    given_twice(stock)
            else:
                by_item[filed] = entry
                product.entries.count += 1
            if serial is not None:
                product.by_serial.setdefault(serial_text, set()).add(entry)
            if quantity:
                slots.append(entry.slot)
            else:  # an empty position: its master data is learned, nothing is held
                product.forget(entry)
            continue
        if received_at is not None and item not in product.received:
            product.received[item] = received_at  # see `_new_entry`
        others = product.others
        count = len(others)
        others[item, location, status] = entry
        if len(others) == count:
            given_twice(stock)
        if not quantity:  # an empty position: its master data is learned, nothing is held
            product.forget_other(entry)
    for gtin_text, gtin_slots in pending.items():
        # One sort per product (in C) instead of an insertion per position.
        product = products[gtin_text]
        if gtin_slots:
            product.free.update(gtin_slots)
        if product.is_empty:
            del products[gtin_text]
        else:
            product.sweep_if_sparse()
