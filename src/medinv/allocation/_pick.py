"""The pickers: one function per allocation policy, and the table that maps them.

A picker walks a product's entries in its policy's order and takes what the request
needs from the eligible ones. Every picker has the same signature
([`Picker`][medinv.allocation._pick.Picker]); [`PICKERS`][medinv.allocation._pick.PICKERS]
maps each [`Policy`][medinv.allocation.Policy] to its picker, and a serial-level
request (which names its units) has its own. The index asks `picker_for` which one
to run, so adding a policy is one function and one row.

With ``taking`` the picker also takes the picked units out of the index's state
(what [`FefoIndex.take`][medinv.allocation.FefoIndex.take] does in one pass).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from medinv._slots import new_instance
from medinv.allocation._entries import Entry, Product, key_of
from medinv.allocation._order import OrderKey
from medinv.allocation._plan import PICK_SETTERS, Pick, Skipped, SkipReason, make_pick
from medinv.allocation._request import AllocationRequest, Policy

__all__ = ["PICKERS", "Picker", "explain", "pick_fefo", "picker_for"]

Picker = Callable[
    [Product, AllocationRequest, int, bool, list[Skipped]], tuple[tuple[Pick, ...], int]
]
"""``picker(product, request, threshold, taking, skipped) -> (picks, shortfall)``.

``threshold`` is the first expiry ordinal the request accepts (use date plus
minimum shelf life); candidates stepped over are appended to ``skipped``.
"""

_new = new_instance
(_set_pick_item, _set_pick_location, _set_pick_quantity, _set_pick_expiry) = PICK_SETTERS
"""Set a `Pick`'s slots directly (see `make_pick`), inlined in the FEFO walk."""

_Chosen = list[tuple[Entry, int]]
"""What a picker chose: (entry, units to take), in picking order."""


def pick_fefo(  # noqa: C901, PLR0912, PLR0915  (the hot loop, in one function for speed)
    product: Product,
    request: AllocationRequest,
    threshold: int,
    taking: bool,  # noqa: FBT001  (positional for speed, like every picker)
    skipped: list[Skipped],
) -> tuple[tuple[Pick, ...], int]:
    """FEFO: the free slots from the first one not expired at ``threshold`` on, in order.

    The one FEFO walk, and the allocator's hot path. Bisection (remembered per
    product, see `Product.first`) passes over every expired and short-dated slot at
    once; from there on every slot is eligible but for its location, so the walk
    takes until the request is covered. It walks the free list's runs itself
    (no iterator set-up) and builds the picks as it finds them. A request limited to
    a location subtree steps over the slots outside it (``OUTSIDE_LOCATION``).
    With ``opened_first`` the walk is `_pick_opened_first`'s.
    """
    if request.opened_first:
        return _pick_opened_first(product, request, threshold, taking, skipped)
    remaining = request.quantity
    location = request.location
    subtree = None if location is None else location.path
    depth = 0 if subtree is None else len(subtree)
    at = product.at
    if at[0] == threshold:  # the common case: inline `first`
        pos = at[1]
        idx = at[2]
    else:
        pos, idx = product.first(threshold)
    lists = product.lists
    last = len(lists)
    if pos < last and idx == len(lists[pos]):  # runs are never empty
        pos += 1
        idx = 0
    start_pos = pos
    start_idx = idx
    picks: tuple[Pick, ...] = ()  # usually one or two: cheaper than a list and tuple()
    gone: list[Entry] = []  # entries left without free units
    while pos < last:
        sub = lists[pos]
        end = len(sub)
        while idx < end:
            slot = sub[idx]
            entry = slot[6]
            if subtree is not None and slot[5][:depth] != subtree:
                skipped.append(entry.skipped(SkipReason.OUTSIDE_LOCATION))
                idx += 1
                continue
            take = entry.quantity - entry.reserved
            if take > remaining:  # noqa: PLR1730  (a branch is cheaper than min() here)
                take = remaining
            pick = _new(Pick)
            _set_pick_item(pick, entry.item)
            _set_pick_location(pick, entry.location)
            _set_pick_quantity(pick, take)
            _set_pick_expiry(pick, entry.expiry)
            picks += (pick,)
            remaining -= take
            if taking:
                left = entry.quantity - take
                entry.quantity = left
                if left == entry.reserved:  # no free units left
                    gone.append(entry)
            if not remaining:
                break
            idx += 1
        else:  # this run is used up: go on with the next one
            pos += 1
            idx = 0
            continue
        break  # the request is covered
    # The free list is not changed while it is being walked: settle afterwards.
    if gone:
        if subtree is None:  # nothing stepped over: the emptied slots are consecutive
            product.drop_run(start_pos, start_idx, gone)
            for entry in gone:
                if not entry.reserved:
                    product.forget(entry)
            product.sweep_if_sparse()
        else:
            for entry in gone:
                product.settle(entry, was_free=True)
    return picks, remaining


def _pick_opened_first(
    product: Product,
    request: AllocationRequest,
    threshold: int,
    taking: bool,  # noqa: FBT001
    skipped: list[Skipped],
) -> tuple[tuple[Pick, ...], int]:
    """FEFO, but within one expiry date opened boxes (a partial box) go first."""
    box = request.box_size or 1
    remaining = request.quantity
    subtree = None if request.location is None else request.location.path
    depth = 0 if subtree is None else len(subtree)
    chosen: _Chosen = []
    group: list[Entry] = []
    for slot in product.free.irange((threshold,)):
        entry = slot[6]
        if subtree is not None and slot[5][:depth] != subtree:
            skipped.append(entry.skipped(SkipReason.OUTSIDE_LOCATION))
            continue
        if group and group[0].key[0] != slot[0]:
            remaining = _take_group(group, box, remaining, chosen)
            group = []
            if not remaining:
                break
        group.append(entry)
    else:
        remaining = _take_group(group, box, remaining, chosen)
    return _finish(product, chosen, taking), remaining


def _take_group(group: list[Entry], box: int, remaining: int, chosen: _Chosen) -> int:
    opened = [entry for entry in group if entry.quantity % box]
    whole = [entry for entry in group if not entry.quantity % box]
    for entry in (*opened, *whole):
        if not remaining:
            break
        remaining = _choose(entry, remaining, chosen)
    return remaining


_Groups = Callable[[Product, AllocationRequest], Iterable[Iterable[Entry]]]
"""The candidates of a request, group by group, each group in picking order."""


def _in_order(groups_of: _Groups, *, one_each: bool) -> Picker:
    """A picker that walks the candidates ``groups_of`` gives, group by group.

    Ineligible and fully reserved candidates are skipped; with ``one_each`` one
    unit is taken from each group (serials), otherwise as many as needed.
    """

    def pick(
        product: Product,
        request: AllocationRequest,
        threshold: int,  # noqa: ARG001  (every picker takes it)
        taking: bool,  # noqa: FBT001
        skipped: list[Skipped],
    ) -> tuple[tuple[Pick, ...], int]:
        remaining = request.quantity
        chosen: _Chosen = []
        for group in groups_of(product, request):
            for entry in group:
                reason = ineligible(request, entry)
                if reason is None and entry.free == 0:
                    reason = SkipReason.RESERVED
                if reason is not None:
                    skipped.append(entry.skipped(reason))
                    continue
                take = min(entry.free, remaining)
                chosen.append((entry, take))
                remaining -= take
                if one_each or not remaining:
                    break
            if not remaining:
                break
        return _finish(product, chosen, taking), remaining

    return pick


pick_fifo: Final = _in_order(
    lambda product, _: [(entry for _, _, entry in product.fifo_order())], one_each=False
)
"""FIFO: the free entries by receipt time (then the FEFO order)."""

pick_lots: Final = _in_order(
    lambda product, request: _by_name(product.lots(), [lot.value for lot in request.lots]),
    one_each=False,
)
"""MANUAL: only the lots named, in the order named; each lot in the FEFO order."""

pick_serials: Final = _in_order(
    lambda product, request: _by_name(
        product.by_serial, [serial.value for serial in request.serials or ()]
    ),
    one_each=True,
)
"""A serial-level request: one unit of each serial named, in the order named."""


def _by_name(entries: dict[str, set[Entry]], names: list[str]) -> Iterable[list[Entry]]:
    """The entries of each name, in the order named; each name's in the FEFO order."""
    return (sorted(entries.get(name, ()), key=key_of) for name in names)


def _choose(entry: Entry, remaining: int, chosen: _Chosen) -> int:
    """Choose what ``entry`` has free, up to ``remaining``; return what is still wanted."""
    take = min(entry.free, remaining)
    chosen.append((entry, take))
    return remaining - take


def _finish(
    product: Product,
    chosen: _Chosen,
    taking: bool,  # noqa: FBT001
) -> tuple[Pick, ...]:
    """The picks of ``chosen``; with ``taking``, their units taken out of ``product``."""
    picks = tuple(
        make_pick(entry.item, entry.location, take, entry.expiry) for entry, take in chosen
    )
    if taking:
        for entry, quantity in chosen:
            entry.quantity -= quantity
            if entry.quantity <= entry.reserved:  # every chosen entry had free units before
                product.settle(entry, was_free=True)
    return picks


PICKERS: Final[dict[Policy, Picker]] = {
    Policy.FEFO: pick_fefo,
    Policy.FIFO: pick_fifo,
    Policy.MANUAL: pick_lots,
}
"""The picker of each policy (a test checks that every policy has one)."""


def picker_for(request: AllocationRequest) -> Picker:
    """The picker of ``request``: its policy's, or the serial picker for named units."""
    if request.serials is not None:
        return pick_serials
    return PICKERS[request.policy]


def ineligible(request: AllocationRequest, entry: Entry) -> SkipReason | None:
    """The first date or location reason that excludes ``entry`` (status is AVAILABLE)."""
    expiry = entry.key[0]
    use = request.use_date.toordinal()
    if expiry < use:
        return SkipReason.EXPIRED
    if expiry < use + request.min_shelf_life_days:
        return SkipReason.SHORT_SHELF_LIFE
    if request.location is not None and not entry.location.is_within(request.location):
        return SkipReason.OUTSIDE_LOCATION
    return None


def explain(product: Product, request: AllocationRequest, picks: tuple[Pick, ...]) -> list[Skipped]:
    """Every entry of ``product`` not picked and not eligible, with its reason, in FEFO order."""
    entries = product.entries
    picked = {id(entries.get((pick.item, pick.location))) for pick in picks}
    named_lots = set(request.lots) if request.policy is Policy.MANUAL else None
    named_serials = None if request.serials is None else set(request.serials)
    rows: list[tuple[OrderKey, str, Skipped]] = [
        (entry.key[:6], entry.status.value, entry.skipped(SkipReason.NOT_AVAILABLE_STATUS))
        for entry in product.others.values()
    ]
    for entry in entries.values():
        if id(entry) in picked or entry.quantity == 0:
            continue
        reason = ineligible(request, entry)
        if reason is None and (
            (named_lots is not None and entry.item.lot not in named_lots)
            or (named_serials is not None and entry.item.serial not in named_serials)
        ):
            reason = SkipReason.NOT_NAMED
        if reason is None and entry.free == 0:
            reason = SkipReason.RESERVED
        if reason is not None:
            rows.append((entry.key[:6], entry.status.value, entry.skipped(reason)))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows]
