"""The incremental FEFO index: plans in O(log lots + picks), updated from ledger movements.

Per product (GTIN) the index keeps the AVAILABLE positions that still have
unreserved units in a free list sorted by their
[FEFO keys][medinv.allocation.fefo_key] (`_entries`, on `_runs`). A request
finds its first eligible position by bisection on ``use_date +
min_shelf_life_days`` (everything before it is expired or too short-dated,
everything after it is not), then walks forward taking what it needs (`_pick`).
Nothing is re-sorted per request; a balance change costs O(log lots) plus the
move of one run of at most a few thousand slots. Reservations are kept by a
`_reserve.Book`; the bulk build is `_build`'s.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Iterable, Mapping

import pendulum

from medinv._slots import new_instance
from medinv.allocation._build import build
from medinv.allocation._entries import (
    AVAILABLE,
    NOWHERE,
    Entry,
    Product,
    check_product,
    ensure,
    given_twice,
    iterate,
    not_a_request,
    wrong,
)
from medinv.allocation._order import OrderKey, make_key
from medinv.allocation._pick import explain as explain_skips
from medinv.allocation._pick import pick_fefo, picker_for
from medinv.allocation._plan import PLAN_SETTERS, Plan, Reservation, Skipped
from medinv.allocation._request import AllocationRequest
from medinv.allocation._reserve import Book
from medinv.dates import to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import InsufficientStockError, InvalidValueError
from medinv.identifiers import Gtin, ItemKey, device_of
from medinv.journal import StoredMovement
from medinv.locations import Location
from medinv.movements import Movement, StockPosition
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus

__all__ = ["FefoIndex", "PickSequences"]

PickSequences = Mapping[Location, int] | Mapping[str, int]
"""Pick sequences of locations (and their subtrees), keyed by `Location` or path text."""

_new = new_instance
(
    _set_plan_request,
    _set_plan_picks,
    _set_plan_shortfall,
    _set_plan_skipped,
    _set_plan_explained,
    _set_plan_position,
) = PLAN_SETTERS
"""Set a `Plan`'s slots directly (see `make_pick`): every plan is built this way."""


class FefoIndex:
    """An in-memory allocation index over stock positions, kept current from the ledger.

    Build it from the ledger's positions with
    [`from_positions`][medinv.allocation.FefoIndex.from_positions], keep it current
    with [`apply`][medinv.allocation.FefoIndex.apply] (recorded movements) or
    [`apply_delta`][medinv.allocation.FefoIndex.apply_delta] (balance changes), and
    ask it for plans with [`allocate`][medinv.allocation.FefoIndex.allocate].

    ```pycon
    >>> import pendulum
    >>> from medinv import ItemKey, Location, StockPosition, StockStatus
    >>> from medinv.allocation import AllocationRequest, FefoIndex
    >>> store = Location.parse("H/Store")
    >>> def pos(lot, expiry, qty):
    ...     return StockPosition(item=ItemKey("04006381333931", lot=lot), location=store,
    ...                          status=StockStatus.AVAILABLE, quantity=qty, expiry=expiry)
    >>> index = FefoIndex.from_positions([
    ...     pos("B", pendulum.date(2027, 3, 1), 10), pos("A", pendulum.date(2026, 12, 1), 4)])
    >>> plan = index.allocate(AllocationRequest.of("04006381333931", 6, use_date="2026-11-23"))
    >>> [(str(p.item.lot), p.quantity) for p in plan.picks], plan.shortfall
    ([('A', 4), ('B', 2)], 0)

    ```
    """

    def __init__(self, *, position: int = 0) -> None:
        if isinstance(position, bool) or not isinstance(position, int) or position < 0:
            msg = f"invalid ledger position {position!r}: expected a whole number, at least 0"
            raise InvalidValueError(msg)
        self._products: dict[str, Product] = {}
        """Products by the text of their device identifier (``DeviceIdentifier.value``: the
        GTIN-14, an HIBC or an MA DI; the shapes never overlap, so the text alone is unique;
        a str key hashes in C)."""
        self._position = position
        self._pick_sequence: dict[tuple[str, ...], int] = {}
        """The pick sequence each location (by path) seen is walked at (its entries' keys)."""
        self._own_sequence: dict[tuple[str, ...], int] = {}
        """Each location's own pick sequence (as first seen or registered), where it may
        differ from ``_pick_sequence``: a location missing here is walked at its own."""
        self._profiles: dict[tuple[str, ...], int] = {}
        """Pick sequences given for locations and their subtrees (`set_pick_sequences`)."""
        self._book = Book(self._products, self._settle)
        """The reservations held."""
        self._threshold = NOWHERE
        """The threshold of the last request (see `_run`)."""
        self._ordinals: dict[int, int] = {}
        """One int object per expiry ordinal, shared by every key with that expiry.

        The bisection of a request compares the threshold with the first element of
        the keys it probes; with shared ints those stay in the CPU cache instead of one
        int object per lot scattered through memory (about 1 us per request at 500 lots).
        """

    # ------------------------------------------------------------------ building

    @classmethod
    def from_positions(
        cls,
        positions: Iterable[StockPosition],
        *,
        position: int = 0,
        pick_sequences: PickSequences | None = None,
    ) -> FefoIndex:
        """An index over ``positions`` (e.g. ``Ledger.positions()``) at ledger ``position``.

        ``pick_sequences``: the pick sequences of locations and their subtrees (as
        [`set_pick_sequences`][medinv.allocation.FefoIndex.set_pick_sequences] takes
        them, e.g. from the catalogue's location profiles); a location without one
        of its own or of an ancestor keeps its own ``pick_sequence``.

        Each position's expiry and received-at are taken as given (even ``None``).
        Cost: one pass over the positions, then one sort per product (in C). The
        cyclic garbage collector is paused while the index is built (and resumed,
        if it was running, before this returns): every object the build makes is
        kept, so a collection could free none of them, and at a million positions
        the collections alone would take longer than the rest of the build.

        Raises:
            InvalidValueError: something other than a `StockPosition` is given, the
                same (item, location, status) appears twice, or a pick sequence is not
                a whole number from 0.
        """
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            index = cls(position=position)
            if pick_sequences is not None:
                index._profiles = _profile_map(pick_sequences)
            build(
                positions,
                index._products,
                index._ordinals,
                index._pick_sequence,
                index._sequence_for if index._profiles else None,
            )
            return index
        finally:
            if collecting:
                gc.enable()

    def _add(self, stock: StockPosition) -> None:
        """Add a position as given: its expiry and received-at are authoritative (even None).

        One step of `from_positions`, the slow way (a test builds both ways).
        """
        gtin = stock.item.device.value
        product = self._product(gtin)
        if (
            (stock.item, stock.location) in product.entries
            if stock.status is AVAILABLE
            else (stock.item, stock.location, stock.status) in product.others
        ):
            given_twice(stock)
        entry = self._new_entry(
            product,
            stock.item,
            stock.location,
            stock.status,
            stock.expiry,
            stock.received_at,
            given=True,
        )
        if stock.status is AVAILABLE:
            self._set_quantity(product, entry, stock.quantity)
        elif stock.quantity:
            entry.quantity = stock.quantity
        else:
            product.forget_other(entry)
        self._tidy(product, gtin)

    def _product(self, gtin: str) -> Product:
        """The product of ``gtin``, created empty if the index holds none of it."""
        product = self._products.get(gtin)
        if product is None:
            product = self._products[gtin] = Product()
        return product

    def _tidy(self, product: Product, gtin: str) -> None:
        """After entries were forgotten: forget an empty product, sweep a sparse one."""
        if product.is_empty:
            if self._products.get(gtin) is product:
                del self._products[gtin]
        else:
            product.sweep_if_sparse()

    @property
    def position(self) -> int:
        """The ledger position the index reflects (the last movement applied)."""
        return self._position

    def register_location(self, location: Location) -> None:
        """Make ``location.pick_sequence`` the pick sequence of that location from now on.

        The index takes a location's pick sequence from the first position or movement
        it sees there; register locations first when movements carry bare paths.
        Existing positions keep the order they were indexed with. A pick sequence
        given for the location or an ancestor by
        [`set_pick_sequences`][medinv.allocation.FefoIndex.set_pick_sequences] (the
        catalogue's) takes precedence over the location's own.

        Raises:
            InvalidValueError: ``location`` is not a `Location`.
        """
        given: object = location  # checked at run time, whatever the annotations say
        if not isinstance(given, Location):
            wrong("location", given, "a Location")
        self._own_sequence[location.path] = location.pick_sequence
        self._pick_sequence[location.path] = self._effective(location.path, location.pick_sequence)

    def apply(
        self, movements: Iterable[Movement | StoredMovement], *, position: int | None = None
    ) -> None:
        """Apply movements the ledger has accepted, in ledger order.

        Recorded movements (with a ``position``) at or below the index's position are
        ignored, so catching up twice is harmless; a gap is refused. Plain
        [`Movement`][medinv.movements.Movement]s are always applied; pass ``position``
        to say which ledger position the index is at afterwards.

        Raises:
            InvalidValueError: a recorded movement skips a position (the index missed some).
            InsufficientStockError: a movement takes more than the index holds (the index
                is out of step with the ledger: rebuild it from positions).
        """
        if position is not None and (
            isinstance(position, bool) or not isinstance(position, int) or position < 0
        ):
            wrong("position", position, "a ledger position (a whole number from 0)")
        for record in iterate("movements", movements):
            if isinstance(record, Movement):
                self._apply_movement(record)
                continue
            if (
                not isinstance(getattr(record, "movement", None), Movement)
                or type(getattr(record, "position", None)) is not int
            ):
                wrong("movement", record, "a Movement or a recorded movement")
            if record.position <= self._position:
                continue
            if record.position != self._position + 1:
                msg = (
                    f"the index is at ledger position {self._position} and cannot apply "
                    f"position {record.position}: catch up from position {self._position + 1}"
                )
                raise InvalidValueError(msg)
            self._apply_movement(record.movement)
            self._position = record.position
        if position is not None:
            self._position = position

    def _apply_movement(self, movement: Movement) -> None:
        item = movement.item
        if movement.expiry is not None or movement.from_location is None:
            product = self._product(item.device.value)
            if movement.expiry is not None:
                lot = "" if item.lot is None else item.lot.value
                product.lot_expiry.setdefault(lot, movement.expiry)
            if movement.from_location is None and product.entries.of_item(item) is None:
                product.received.setdefault(item, movement.occurred_at)
        deltas = movement.deltas()
        if len(deltas) > 1 and deltas[0][2] < 0:
            # Gains first: the units a movement takes out of their last entry of the
            # product must not make the index forget the product (its lot expiries and
            # receipt times) before the entry they move to learns them.
            deltas = deltas[::-1]
        for location, status, delta in deltas:
            self.apply_delta(item, location, status, delta)

    def apply_delta(  # noqa: C901, PLR0912  (the checks of the arguments, then one update)
        self,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        delta: int,
        *,
        expiry: dt.date | None = None,
        received_at: dt.datetime | None = None,
    ) -> None:
        """Add ``delta`` to the balance of ``item`` at (``location``, ``status``).

        ``expiry`` and ``received_at`` are used when the index first sees the item
        (otherwise what it learned from earlier positions and movements).

        Raises:
            InsufficientStockError: the balance would become negative.
            InvalidValueError: an argument has the wrong type.
        """
        if type(item) is not ItemKey:
            wrong("item", item, "an ItemKey")
        if not isinstance(location, Location):
            wrong("location", location, "a Location")
        if type(status) is not StockStatus:
            wrong("status", status, "a StockStatus")
        if type(delta) is not int or not -MAX_QUANTITY <= delta <= MAX_QUANTITY:
            wrong("delta", delta, "a whole number of units")
        gtin = item.device.value
        product = self._product(gtin)
        if status is AVAILABLE:
            entry = product.entries.get((item, location))
        else:
            entry = product.others.get((item, location, status))
        if entry is None:
            if delta <= 0:
                self._tidy(product, gtin)  # nothing was filed: do not keep an empty product
                if not delta:
                    return
                raise InsufficientStockError(
                    item=item, location=location, status=status, requested=-delta, available=0
                )
            entry = self._new_entry(
                product, item, location, status, expiry, received_at, given=False
            )
        new_quantity = entry.quantity + delta
        if new_quantity < 0:
            raise InsufficientStockError(
                item=item,
                location=location,
                status=status,
                requested=-delta,
                available=entry.quantity,
            )
        if status is AVAILABLE:
            self._set_quantity(product, entry, new_quantity)
            if entry.reserved > new_quantity or (
                delta > 0 and self._book.waiting and self._book.needs(gtin)
            ):
                self._rebook()
        else:
            entry.quantity = new_quantity
            if new_quantity == 0:
                product.forget_other(entry)
                self._tidy(product, gtin)

    def _rebook(self) -> None:
        """Hold the reservations again, in id order, after AVAILABLE stock they need changed.

        A movement the ledger accepted (a hold, an issue outside medinv's plans) took
        units some reservation held, or stock came back that a waiting reservation
        needs. Each reservation is taken again as an index built after a restart
        takes the kept ones ([`sync_reservations`][medinv.services.sync_reservations]):
        by id; one whose units are not all there waits, keeping from other plans
        the units left of its picks, and is taken again when AVAILABLE stock grows.
        So a long-running index and a rebuilt one hold the same reservations and
        plan alike.
        """
        self._book.rebook(self._position)

    def _new_entry(  # noqa: PLR0917  (private helper called from one place)
        self,
        product: Product,
        item: ItemKey,
        location: Location,
        status: StockStatus,
        expiry: dt.date | None,
        received_at: dt.datetime | None,
        *,
        given: bool,
    ) -> Entry:
        """A new entry; unless ``given``, a missing expiry or receipt time is looked up."""
        lot_key = "" if item.lot is None else item.lot.value
        known_expiry: pendulum.Date | None = None
        if expiry is not None:
            known_expiry = (
                expiry
                if type(expiry) is pendulum.Date
                else pendulum.date(expiry.year, expiry.month, expiry.day)
            )
            product.lot_expiry.setdefault(lot_key, known_expiry)
        elif not given:
            known_expiry = product.lot_expiry.get(lot_key)
        known_received: pendulum.DateTime | None = None
        if received_at is not None:
            known_received = to_datetime(received_at)
            if not given or status is not AVAILABLE:
                # An AVAILABLE entry keeps its item's receipt time; others are kept
                # here, for the AVAILABLE entry a release will make.
                product.received.setdefault(item, known_received)
        elif not given:
            same = product.entries.of_item(item)
            known_received = same.received_at if same is not None else product.received.get(item)
        pick_sequence = self._pick_sequence.get(location.path)
        if pick_sequence is None:
            pick_sequence = self._pick_sequence[location.path] = self._sequence_for(location)
        key = make_key(known_expiry, known_received, pick_sequence, item, location.path)
        if known_expiry is not None:  # "no expiry" is one shared int already
            ordinal = self._ordinals.setdefault(key[0], key[0])
            key = (ordinal, *key[1:])
        entry = Entry(item, location, status, known_expiry, known_received, 0, *key)
        if status is AVAILABLE:
            product.file(entry)
        else:
            product.others[item, location, status] = entry
        return entry

    def _set_quantity(self, product: Product, entry: Entry, quantity: int) -> None:
        """Change an AVAILABLE entry's quantity, keeping the free list and maps in step."""
        was_free = entry.quantity > entry.reserved
        entry.quantity = quantity
        self._settle(product, entry, was_free)

    def _settle(self, product: Product, entry: Entry, was_free: bool) -> None:  # noqa: FBT001
        """File ``entry`` where it belongs after a change (`Product.settle`), then tidy."""
        product.settle(entry, was_free=was_free)
        if product.is_empty:
            self._tidy(product, entry.item.device.value)

    # ------------------------------------------------------------------ queries

    def positions(self, gtin: DeviceIdentifier | Gtin | str | None = None) -> list[StockPosition]:
        """The stock the index holds (every status), in FEFO order, as positions.

        ``gtin``: only this device (GTIN digits, a `Gtin`, a `DeviceIdentifier` or
        ``AGENCY:DI`` text).
        """
        wanted = None if gtin is None else device_of(gtin).value
        rows: list[tuple[OrderKey, str, StockPosition]] = []
        for product_gtin, product in self._products.items():
            if wanted is not None and product_gtin != wanted:
                continue
            for entry in (*product.entries.values(), *product.others.values()):
                if entry.quantity:
                    stock = StockPosition(
                        item=entry.item,
                        location=entry.location,
                        status=entry.status,
                        quantity=entry.quantity,
                        expiry=entry.expiry,
                        received_at=entry.received_at,
                    )
                    rows.append((entry.key[:6], entry.status.value, stock))
        rows.sort(key=lambda row: (row[0], row[1]))
        return [row[2] for row in rows]

    def available(self, gtin: DeviceIdentifier | Gtin | str) -> int:
        """Units of ``gtin`` (a device of any agency) that are AVAILABLE and not reserved.

        Expired ones are included.
        """
        product = self._products.get(device_of(gtin).value)
        if product is None:
            return 0
        return sum(slot[6].free for slot in product.free)

    # ------------------------------------------------------------------ allocation

    def allocate(self, request: AllocationRequest, *, explain: bool = False) -> Plan:
        """Plan picks for ``request``; the stock is not changed.

        Cost: O(log lots) to find the first eligible position, plus one step per
        position picked or stepped over. ``explain=True`` also lists every position
        of the product that is not eligible, with its reason (linear in the
        product's positions: for pick lists and audits, not for the hot path).
        """
        if type(request) is not AllocationRequest:
            not_a_request(request)
        return self._run(request, False, explain)  # noqa: FBT003

    def take(self, request: AllocationRequest) -> Plan:
        """Plan picks for ``request`` and take them out of the index at once.

        The same as [`allocate`][medinv.allocation.FefoIndex.allocate] followed by
        [`commit`][medinv.allocation.FefoIndex.commit], in one pass: for an index
        that is the stock of record (simulation, a single-process store room).
        """
        if type(request) is not AllocationRequest:
            not_a_request(request)
        return self._run(request, True, False)  # noqa: FBT003

    def _run(
        self,
        request: AllocationRequest,
        taking: bool,  # noqa: FBT001  (private, positional for speed)
        explain: bool,  # noqa: FBT001
    ) -> Plan:
        """Plan ``request`` with its policy's picker (with ``taking``, take the picks too)."""
        product = self._products.get(request.device.value)
        if product is None:
            return Plan(
                request=request,
                picks=(),
                shortfall=request.quantity,
                explained=explain,
                position=self._position,
            )
        threshold = request.use_date.toordinal() + request.min_shelf_life_days
        if threshold == self._threshold:
            # One int object for the day's threshold, kept by every product's remembered
            # bisection: comparing with it then reads no cold memory.
            threshold = self._threshold
        else:
            self._threshold = threshold
        skipped: list[Skipped] = []
        # A plain FEFO request (the hot path) needs no look-up: FEFO's picker.
        picker = pick_fefo if request.is_plain_fefo else picker_for(request)
        picks, shortfall = picker(product, request, threshold, taking, skipped)
        if taking and not product.entries.count and not product.others:
            self._tidy(product, request.device.value)
        if explain:
            skipped = explain_skips(product, request, picks)
        plan = _new(Plan)
        _set_plan_request(plan, request)
        _set_plan_picks(plan, picks)
        _set_plan_shortfall(plan, shortfall)
        _set_plan_skipped(plan, tuple(skipped) if skipped else ())
        _set_plan_explained(plan, explain)
        _set_plan_position(plan, self._position)
        return plan

    # ------------------------------------------------------------------ reservations

    def reserve(
        self,
        plan: Plan,
        *,
        reservation_id: str,
        expires_at: dt.datetime | None = None,
    ) -> Reservation:
        """Hold ``plan``'s picks so that later plans do not see those units.

        Raises:
            InvalidValueError: ``reservation_id`` is already in use.
            StalePlanError: a pick is no longer free (the stock moved or another
                reservation took it): plan again.
        """
        if not isinstance(reservation_id, str) or not reservation_id.strip():
            msg = f"invalid reservation id {reservation_id!r:.60}: expected non-blank text"
            raise InvalidValueError(msg)
        if type(plan) is not Plan:
            wrong("plan", plan, "a Plan")
        deadline: pendulum.DateTime | None = None if expires_at is None else to_datetime(expires_at)
        return self._book.reserve(plan, reservation_id, deadline, self._position)

    def release(self, reservation_id: str) -> Reservation | None:
        """Release a reservation (held or waiting); ``None`` if there is none by that id."""
        if not isinstance(reservation_id, str):
            wrong("reservation id", reservation_id, "text")
        released = self._book.release(reservation_id)
        if released is not None and self._book.waiting:
            self._rebook()  # the units it held may be what a waiting one needs
        return released

    def hold_reservations(self, reservations: Iterable[Reservation]) -> int:
        """Hold exactly ``reservations`` (e.g. those a store keeps in force), in id order.

        Each is held when its units are free, taking them in id order as the index
        does whenever AVAILABLE stock changes under its reservations; one whose
        units are not all there waits, keeping from other plans the units left of
        its picks (as a store counts them), and is taken again when stock comes
        back. Reservations the index held and ``reservations`` lacks are released.

        Returns:
            How many reservations were taken, let go, or changed.

        Raises:
            InvalidValueError: an element is not a `Reservation`, or two share an id.
        """
        supplied: object = reservations
        if isinstance(supplied, (str, bytes)) or not isinstance(supplied, Iterable):
            wrong("reservations", supplied, "an iterable of Reservation")
        given = list(reservations)
        ids: set[str] = set()
        for reservation in given:
            if type(reservation) is not Reservation:
                wrong("reservation", reservation, "a Reservation")
            if reservation.id in ids:
                msg = f"reservation id {reservation.id!r} is given twice"
                raise InvalidValueError(msg)
            ids.add(reservation.id)
        return self._book.replace(given, self._position)

    def expire_reservations(
        self, as_of: dt.datetime | None = None, *, before_position: int | None = None
    ) -> tuple[Reservation, ...]:
        """Release the reservations that have lapsed; return them in order of release.

        Args:
            as_of: release every reservation whose ``expires_at`` is at or before this
                instant (O(log reservations + released)).
            before_position: also release every reservation of a plan made at a ledger
                position before this one, however long it was meant to last (e.g. to
                drop reservations older than a day's first movement; linear in the
                reservations held).
        """
        if before_position is not None and (
            isinstance(before_position, bool) or not isinstance(before_position, int)
        ):
            wrong("before_position", before_position, "a ledger position")
        released = [self._book.release(rid) for rid in self._book.due(as_of, before_position)]
        if released and self._book.waiting:
            self._rebook()  # the units they held may be what a waiting one needs
        return tuple(r for r in released if r is not None)

    def reservations(self) -> tuple[Reservation, ...]:
        """The reservations held, by id."""
        return self._book.reservations()

    def waiting_reservations(self) -> tuple[Reservation, ...]:
        """The reservations in force whose units are not all there, by id.

        Each keeps the units still left of its picks from other plans and is held
        again when the rest comes back; it cannot be posted meanwhile.
        """
        return tuple(self._book.waiting[rid] for rid in sorted(self._book.waiting))

    def commit(self, plan: Plan, *, reservation_id: str | None = None) -> None:
        """Take ``plan``'s picks out of the index, as posting the plan does.

        Use it when the index is the stock of record (simulation, tests,
        benchmarks); with a ledger, [`post_plan`][medinv.services.post_plan] posts
        the movements and the index follows them with ``apply``. The plan's
        reservation (``reservation_id``) is released first.

        Raises:
            StalePlanError: a pick no longer fits; nothing was changed.
        """
        if type(plan) is not Plan:
            wrong("plan", plan, "a Plan")
        if reservation_id is not None and not isinstance(reservation_id, str):
            wrong("reservation id", reservation_id, "text or None")
        self._book.commit(plan, reservation_id, self._position)

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Check every internal invariant; raise `AssertionError` naming the first broken one.

        Used by the tests after every update (cost O(n log n)).
        """
        reserved = self._book.check()
        for gtin, product in self._products.items():
            ensure(not product.is_empty, "products without entries are forgotten")
            check_product(gtin, product, reserved)

    # ------------------------------------------------------------------ pick sequences

    def _effective(self, path: tuple[str, ...], own: int) -> int:
        """The pick sequence ``path`` is walked at: its nearest profiled ancestor's, or ``own``."""
        profiles = self._profiles
        if profiles:
            for length in range(len(path), 0, -1):
                found = profiles.get(path[:length])
                if found is not None:
                    return found
        return own

    def _sequence_for(self, location: Location) -> int:
        """The pick sequence of a location seen for the first time (its own is remembered)."""
        own = location.pick_sequence
        if not self._profiles:
            return own
        self._own_sequence[location.path] = own
        return self._effective(location.path, own)

    def pick_sequence_of(self, location: Location | str) -> int:
        """The pick sequence the index walks ``location`` at (what a new position there gets).

        Raises:
            InvalidValueError: ``location`` is not a `Location` or a location path.
        """
        path = _path_of(location)
        known = self._pick_sequence.get(path)
        if known is not None:
            return known
        return self._effective(path, self._own_sequence.get(path, 0))

    def set_pick_sequences(self, pick_sequences: PickSequences) -> int:
        """Walk each given location, and its subtree, at the given pick sequence from now on.

        ``pick_sequences`` replaces every mapping given before (build it whole, e.g.
        from the catalogue's location profiles: see
        [`sync_pick_sequences`][medinv.services.sync_pick_sequences]). A location
        takes the pick sequence of the nearest of itself and its ancestors that is
        given; one with none keeps its own (as first seen or registered). The
        positions already held whose pick sequence changes are re-filed in FEFO
        order at once, so the index plans as one built afresh with these pick
        sequences would. Cost: one pass over the locations seen, plus one pass over
        the positions held when any of them changes.

        Returns:
            How many positions were re-filed.

        Raises:
            InvalidValueError: a key is not a location or a pick sequence is not a
                whole number from 0; nothing was changed.
        """
        profiles = _profile_map(pick_sequences)
        self._profiles = profiles
        changed: dict[tuple[str, ...], int] = {}
        own_sequence = self._own_sequence
        for path, current in self._pick_sequence.items():
            own = own_sequence.get(path, current)
            wanted = self._effective(path, own)
            if wanted != current:
                changed[path] = wanted
                own_sequence[path] = own  # no longer the pick sequence it is walked at
        if not changed:
            return 0
        self._pick_sequence.update(changed)
        refiled = 0
        for product in self._products.values():
            for entry in [*product.entries.values(), *product.others.values()]:
                new = changed.get(entry.key[5])
                if new is None or new == entry.key[2]:
                    continue
                refiled += 1
                free = entry.status is AVAILABLE and entry.quantity > entry.reserved
                if free:
                    product.remove_free(entry)
                expiry, received, _, lot, serial, path, _ = entry.key
                entry.key = entry.slot = (expiry, received, new, lot, serial, path, entry)
                if free:
                    product.add_free(entry)
        return refiled


def _path_of(location: object) -> tuple[str, ...]:
    """The path of a `Location` or of a location's text."""
    if isinstance(location, Location):
        return location.path
    if isinstance(location, str):
        return Location.parse(location).path
    return wrong("location", location, "a Location or a location path")


def _profile_map(pick_sequences: object) -> dict[tuple[str, ...], int]:
    """Pick sequences by location path, checked."""
    if not isinstance(pick_sequences, Mapping):
        wrong("pick sequences", pick_sequences, "a mapping of locations to pick sequences")
    profiles: dict[tuple[str, ...], int] = {}
    for location, sequence in pick_sequences.items():
        path = _path_of(location)
        if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
            wrong(f"pick sequence of {'/'.join(path)}", sequence, "a whole number from 0")
        profiles[path] = sequence
    return profiles
