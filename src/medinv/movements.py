"""Movements: the immutable facts the stock ledger is made of.

See [the rules](../explanation/rules.md#ledger) for what it guarantees.

A movement takes a quantity of one stock item out of a (location, status), puts
it into one, or both. Each kind has a named constructor that fills in the shape
that kind needs, and every movement is checked against its kind's shape:

```pycon
>>> import pendulum
>>> from medinv.identifiers import ItemKey
>>> from medinv.locations import Location
>>> from medinv.movements import Movement
>>> item = ItemKey("04006381333931", lot="L2026A")
>>> at = pendulum.datetime(2026, 11, 23, 9, 0, tz="Europe/Paris")
>>> receipt = Movement.receipt(
...     "DN-1001/1", item=item, quantity=40, to=Location.parse("Main/Store/A1"),
...     occurred_at=at, actor="j.martin", expiry="2027-06-30", reference="DN-1001",
... )
>>> [(str(loc), status.value, qty) for loc, status, qty in receipt.deltas()]
[('Main/Store/A1', 'AVAILABLE', 40)]
>>> Movement.reversal("DN-1001/1-R", of=receipt, occurred_at=at, actor="j.martin").deltas()[0][2]
-40

```

Movement ids are supplied by the caller and are the idempotency key: posting the
same id twice with the same content is a no-op (see [the rules](../explanation/rules.md#ledger)).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from typing import Any, Final, TypedDict

import attrs
import pendulum

from medinv._text import text_validator
from medinv.actors import actor_validator
from medinv.catalogue import BusinessReference, Party, PartyRef
from medinv.dates import to_date, to_datetime
from medinv.errors import (
    InvalidMovementError,
    InvalidQuantityError,
    InvalidValueError,
)
from medinv.identifiers import ItemKey
from medinv.locations import Location
from medinv.quantity import MAX_QUANTITY
from medinv.status import StockStatus

__all__ = ["Delta", "Movement", "MovementKind", "StockPosition"]

_MAX_ID: Final = 200

Delta = tuple[Location, StockStatus, int]
"""One effect of a movement on a balance: (location, status, signed quantity)."""


class MovementKind(enum.Enum):
    """What a movement does."""

    RECEIPT = "RECEIPT"
    """Stock arrives from outside (supplier delivery, opening balance)."""
    ISSUE = "ISSUE"
    """Stock leaves to outside the ledger's locations (another organisation, a ward not tracked)."""
    TRANSFER = "TRANSFER"
    """Stock moves between two locations, status unchanged."""
    ADJUSTMENT = "ADJUSTMENT"
    """A correction in or out, with a reason (e.g. a posted stocktake variance)."""
    STATUS_CHANGE = "STATUS_CHANGE"
    """Stock changes status in place (release from quarantine, hold, recall)."""
    CONSUMPTION = "CONSUMPTION"
    """Stock is used, e.g. implanted or used on a patient; carries the patient or procedure ref."""
    RETURN = "RETURN"
    """Stock comes back into the ledger's locations (from a ward or a customer)."""
    SCRAP = "SCRAP"
    """Stock is destroyed."""
    REVERSAL = "REVERSAL"
    """Undoes another movement exactly (its mirror image)."""

    # Identity hash, as for StockStatus: members are singletons compared by identity.
    __hash__ = object.__hash__


_INBOUND_ONLY: Final = frozenset({MovementKind.RECEIPT, MovementKind.RETURN})
_OUTBOUND_ONLY: Final = frozenset(
    {MovementKind.ISSUE, MovementKind.CONSUMPTION, MovementKind.SCRAP}
)
_ISSUING: Final = frozenset({MovementKind.ISSUE, MovementKind.CONSUMPTION})


def _check_type(name: str, expected: type, *, optional: bool) -> Callable[[Any, Any, Any], None]:
    """A validator refusing a field value of the wrong type with an error naming the field."""

    def check(instance: Any, _attribute: object, value: Any) -> None:
        if isinstance(value, expected) or (optional and value is None):
            return
        wanted = f"a {expected.__name__}" + (" or None" if optional else "")
        raise InvalidMovementError(
            getattr(instance, "id", None),
            f"{name} must be {wanted}, not {type(value).__name__} {value!r:.60}",
        )

    return check


def _optional_date(value: object) -> pendulum.Date | None:
    return None if value is None else to_date(value)


def _check_quantity(_instance: object, _attribute: object, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantityError(
            f"invalid movement quantity {value!r}: expected a whole number, "
            f"got {type(value).__name__}"
        )
    if value <= 0:
        raise InvalidQuantityError(f"invalid movement quantity {value}: must be at least 1")
    if value > MAX_QUANTITY:
        raise InvalidQuantityError(
            f"invalid movement quantity {value}: more than MAX_QUANTITY (2**63 - 1)"
        )


def _to_party_ref(value: Any) -> PartyRef | None:
    """A movement's counterparty: ``None``, a reference, a party or its text ``KIND:id``."""
    return None if value is None else PartyRef.coerce(value)


def _reference_order(reference: BusinessReference) -> tuple[str, str, str]:
    return (reference.type.value, reference.id, reference.issuer_gln or "")


def _to_business_references(value: object) -> tuple[BusinessReference, ...]:
    """A movement's business references in canonical order: sorted, each once."""
    if value == ():  # the common case, on every movement built
        return ()
    if isinstance(value, (str, BusinessReference)) or not isinstance(value, Iterable):
        raise InvalidValueError(
            "business references are a sequence of BusinessReference values or 'type:id' "
            f"texts, not {type(value).__name__} {value!r:.60}"
        )
    references: set[BusinessReference] = set()
    for entry in value:
        if isinstance(entry, str):
            references.add(BusinessReference.parse(entry))
        elif isinstance(entry, BusinessReference):
            references.add(entry)
        else:
            raise InvalidValueError(
                "a business reference is a BusinessReference or 'type:id', not "
                f"{type(entry).__name__} {entry!r:.60}"
            )
    return tuple(sorted(references, key=_reference_order))


@attrs.frozen(kw_only=True, cache_hash=True)
class Movement:
    """One immutable stock movement. Build it with a named constructor (``Movement.receipt`` ...).

    Raises:
        InvalidMovementError: the fields do not fit the kind.
        InvalidValueError: a field is malformed (id, quantity, date ...).
    """

    id: str = attrs.field(validator=text_validator("movement id", limit=_MAX_ID))
    """Caller-supplied unique id; the idempotency key."""
    kind: MovementKind = attrs.field(validator=_check_type("kind", MovementKind, optional=False))
    """What the movement does."""
    item: ItemKey = attrs.field(validator=_check_type("item", ItemKey, optional=False))
    """The stock item moved."""
    quantity: int = attrs.field(validator=_check_quantity)
    """How many units of the item's GTIN (always positive; direction comes from the locations)."""
    occurred_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When it happened physically (aware date-time)."""
    actor: str = attrs.field(
        validator=[text_validator("actor", limit=_MAX_ID), actor_validator("actor")]
    )
    """Who did it (user id, device id), stored as given.

    Refused when it holds invisible, bidi-control or mixed-script confusable
    characters; two actor names denote one person when their normalised forms agree
    (see [`medinv.actors`][medinv.actors]).
    """
    from_location: Location | None = attrs.field(
        default=None, validator=_check_type("from_location", Location, optional=True)
    )
    """Where the stock comes from, or ``None`` when it enters the ledger."""
    from_status: StockStatus | None = attrs.field(
        default=None, validator=_check_type("from_status", StockStatus, optional=True)
    )
    """The status it comes out of."""
    to_location: Location | None = attrs.field(
        default=None, validator=_check_type("to_location", Location, optional=True)
    )
    """Where the stock goes, or ``None`` when it leaves the ledger."""
    to_status: StockStatus | None = attrs.field(
        default=None, validator=_check_type("to_status", StockStatus, optional=True)
    )
    """The status it goes into."""
    reason: str | None = attrs.field(
        default=None, validator=text_validator("reason", optional=True, blank=True)
    )
    """Reason code or free text (required for adjustments)."""
    reference: str | None = attrs.field(
        default=None, validator=text_validator("reference", optional=True, blank=True)
    )
    """Business reference: delivery note, order, patient or procedure, stocktake id ..."""
    expiry: pendulum.Date | None = attrs.field(default=None, converter=_optional_date)
    """The lot's expiry date as stated by this movement (receipts, returns), else ``None``."""
    reverses: str | None = attrs.field(
        default=None,
        validator=text_validator("reversed movement id", optional=True, blank=True, limit=_MAX_ID),
    )
    """For a reversal: the id of the movement it undoes."""
    counterparty: PartyRef | None = attrs.field(default=None, converter=_to_party_ref)
    """Who the stock moved to or from (a department, supplier, customer, site or patient).

    A [`PartyRef`][medinv.catalogue.PartyRef]: kind and id, never a name; a patient
    only by a pseudonymous reference. A [`Party`][medinv.catalogue.Party] or its text
    ``KIND:id`` is accepted and kept as its reference.
    """
    business_references: tuple[BusinessReference, ...] = attrs.field(
        default=(), converter=_to_business_references
    )
    """The documents the movement belongs to (purchase order, delivery note, procedure ...).

    [`BusinessReference`][medinv.catalogue.BusinessReference] values (or their text
    ``type:id``), kept sorted by type, id and issuer GLN, without duplicates: the
    same documents given in any order make the same movement.
    """

    def __attrs_post_init__(self) -> None:  # noqa: C901, PLR0912  (one rule per kind, kept together)
        kind, fail = self.kind, self._fail
        has_from = self.from_location is not None
        has_to = self.to_location is not None
        if has_from != (self.from_status is not None):
            fail("from_location and from_status go together")
        if has_to != (self.to_status is not None):
            fail("to_location and to_status go together")
        if not has_from and not has_to:
            fail("a movement needs a source, a destination or both")
        if self.item.is_serialised and self.quantity != 1:
            fail(f"a serialised item moves one unit at a time, not {self.quantity}")
        if (kind is MovementKind.REVERSAL) != (self.reverses is not None):
            fail("'reverses' is required for reversals and only for them")
        if kind in _INBOUND_ONLY and has_from:
            fail(f"a {kind.value} has a destination only")
        elif kind in _OUTBOUND_ONLY and has_to:
            fail(f"a {kind.value} has a source only")
        elif kind is MovementKind.TRANSFER:
            if not (has_from and has_to):
                fail("a TRANSFER needs a source and a destination")
            elif self.from_location == self.to_location:
                fail("a TRANSFER must change location (use STATUS_CHANGE to change status)")
            elif self.from_status is not self.to_status:
                fail("a TRANSFER keeps the status (post a STATUS_CHANGE as well)")
        elif kind is MovementKind.STATUS_CHANGE:
            if not (has_from and has_to):
                fail("a STATUS_CHANGE needs the location on both sides")
            elif self.from_location != self.to_location:
                fail("a STATUS_CHANGE keeps the location (post a TRANSFER as well)")
            elif self.from_status is self.to_status:
                fail("a STATUS_CHANGE must change the status")
        elif kind is MovementKind.ADJUSTMENT:
            if has_from and has_to:
                fail("an ADJUSTMENT goes in or out, not both")
            if self.reason is None or not self.reason.strip():
                fail("an ADJUSTMENT needs a reason")
        if kind is MovementKind.CONSUMPTION and not (
            self.reference or self.counterparty is not None or self.business_references
        ):
            fail(
                "a CONSUMPTION needs the patient or procedure: a reference, a counterparty "
                "or a business reference"
            )

    def _fail(self, reason: str) -> None:
        raise InvalidMovementError(self.id, reason)

    # ------------------------------------------------------------------ derived

    @property
    def is_issuing(self) -> bool:
        """Whether this movement issues or consumes stock (only AVAILABLE, non-expired stock)."""
        return self.kind in _ISSUING

    @property
    def occurred_on(self) -> pendulum.Date:
        """The calendar date of ``occurred_at`` in its own offset.

        Give ``occurred_at`` in the facility's time zone and this is the facility's date,
        the one the ledger checks expiry against.
        """
        return self.occurred_at.date()

    def deltas(self) -> tuple[Delta, ...]:
        """The movement's effect on balances: out of the source, into the destination."""
        out: list[Delta] = []
        if self.from_location is not None and self.from_status is not None:
            out.append((self.from_location, self.from_status, -self.quantity))
        if self.to_location is not None and self.to_status is not None:
            out.append((self.to_location, self.to_status, self.quantity))
        return tuple(out)

    def mirrors(self, original: Movement) -> bool:
        """Whether this movement is the exact inverse of ``original`` (a valid reversal of it)."""
        return (
            self.item == original.item
            and self.quantity == original.quantity
            and self._sides() == _mirrored(original)
        )

    def _sides(self) -> _Sides:
        return {
            "from_location": self.from_location,
            "from_status": self.from_status,
            "to_location": self.to_location,
            "to_status": self.to_status,
        }

    # ------------------------------------------------------------------ named constructors

    @classmethod
    def receipt(
        cls,
        id: str,  # noqa: A002  (the domain's name for it)
        *,
        item: ItemKey,
        quantity: int,
        to: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        status: StockStatus = StockStatus.AVAILABLE,
        expiry: dt.date | str | None = None,
        reference: str | None = None,
        reason: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Stock arrives at ``to`` in ``status`` (e.g. QUARANTINE until quality releases it)."""
        return cls(
            id=id,
            kind=MovementKind.RECEIPT,
            item=item,
            quantity=quantity,
            to_location=to,
            to_status=status,
            occurred_at=occurred_at,
            actor=actor,
            expiry=expiry,
            reference=reference,
            reason=reason,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def issue(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        source: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        reference: str | None = None,
        reason: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """AVAILABLE stock leaves ``source`` for outside the ledger."""
        return cls(
            id=id,
            kind=MovementKind.ISSUE,
            item=item,
            quantity=quantity,
            from_location=source,
            from_status=StockStatus.AVAILABLE,
            occurred_at=occurred_at,
            actor=actor,
            reference=reference,
            reason=reason,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def consumption(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        source: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        reference: str | None = None,
        reason: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """AVAILABLE stock is used on a patient or in a procedure.

        Name them by ``reference``, a patient ``counterparty`` or a procedure
        business reference (at least one of them).
        """
        return cls(
            id=id,
            kind=MovementKind.CONSUMPTION,
            item=item,
            quantity=quantity,
            from_location=source,
            from_status=StockStatus.AVAILABLE,
            occurred_at=occurred_at,
            actor=actor,
            reference=reference,
            reason=reason,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def transfer(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        source: Location,
        to: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        status: StockStatus = StockStatus.AVAILABLE,
        reference: str | None = None,
        reason: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Stock moves from ``source`` to ``to`` keeping its status."""
        return cls(
            id=id,
            kind=MovementKind.TRANSFER,
            item=item,
            quantity=quantity,
            from_location=source,
            from_status=status,
            to_location=to,
            to_status=status,
            occurred_at=occurred_at,
            actor=actor,
            reference=reference,
            reason=reason,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def status_change(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        at: Location,
        from_status: StockStatus,
        to_status: StockStatus,
        occurred_at: dt.datetime | str,
        actor: str,
        reason: str | None = None,
        reference: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Stock at ``at`` changes status (release, hold, recall ...)."""
        return cls(
            id=id,
            kind=MovementKind.STATUS_CHANGE,
            item=item,
            quantity=quantity,
            from_location=at,
            from_status=from_status,
            to_location=at,
            to_status=to_status,
            occurred_at=occurred_at,
            actor=actor,
            reason=reason,
            reference=reference,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def adjustment(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        change: int,
        at: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        reason: str,
        status: StockStatus = StockStatus.AVAILABLE,
        reference: str | None = None,
        expiry: dt.date | str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Correct the balance at ``at`` by ``change`` (positive: found, negative: missing)."""
        if isinstance(change, bool) or not isinstance(change, int) or change == 0:
            raise InvalidMovementError(
                id, f"an adjustment changes by a non-zero whole number, not {change!r}"
            )
        side: _Sides = {
            "from_location": None if change > 0 else at,
            "from_status": None if change > 0 else status,
            "to_location": at if change > 0 else None,
            "to_status": status if change > 0 else None,
        }
        return cls(
            id=id,
            kind=MovementKind.ADJUSTMENT,
            item=item,
            quantity=abs(change),
            occurred_at=occurred_at,
            actor=actor,
            reason=reason,
            reference=reference,
            expiry=expiry,
            counterparty=counterparty,
            business_references=business_references,
            **side,
        )

    @classmethod
    def return_(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        to: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        status: StockStatus = StockStatus.QUARANTINE,
        reference: str | None = None,
        reason: str | None = None,
        expiry: dt.date | str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Stock comes back in; by default into QUARANTINE until inspected."""
        return cls(
            id=id,
            kind=MovementKind.RETURN,
            item=item,
            quantity=quantity,
            to_location=to,
            to_status=status,
            occurred_at=occurred_at,
            actor=actor,
            reference=reference,
            reason=reason,
            expiry=expiry,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def scrap(
        cls,
        id: str,  # noqa: A002
        *,
        item: ItemKey,
        quantity: int,
        source: Location,
        occurred_at: dt.datetime | str,
        actor: str,
        status: StockStatus = StockStatus.AVAILABLE,
        reason: str | None = None,
        reference: str | None = None,
        counterparty: PartyRef | Party | str | None = None,
        business_references: Iterable[BusinessReference | str] = (),
    ) -> Movement:
        """Stock in any status is destroyed."""
        return cls(
            id=id,
            kind=MovementKind.SCRAP,
            item=item,
            quantity=quantity,
            from_location=source,
            from_status=status,
            occurred_at=occurred_at,
            actor=actor,
            reason=reason,
            reference=reference,
            counterparty=counterparty,
            business_references=business_references,
        )

    @classmethod
    def reversal(
        cls,
        id: str,  # noqa: A002
        *,
        of: Movement,
        occurred_at: dt.datetime | str,
        actor: str,
        reason: str | None = None,
    ) -> Movement:
        """The exact inverse of movement ``of``; the ledger accepts it once per original.

        It keeps the original's reference, counterparty and business references: it
        undoes a movement with that party, for those documents.
        """
        if not isinstance(of, Movement):
            raise InvalidMovementError(id, f"'of' must be a Movement, not {type(of).__name__}")
        return cls(
            id=id,
            kind=MovementKind.REVERSAL,
            item=of.item,
            quantity=of.quantity,
            occurred_at=occurred_at,
            actor=actor,
            reason=reason,
            reference=of.reference,
            reverses=of.id,
            counterparty=of.counterparty,
            business_references=of.business_references,
            **_mirrored(of),
        )


class _Sides(TypedDict):
    """The source and destination of a movement, as its constructor's keywords."""

    from_location: Location | None
    from_status: StockStatus | None
    to_location: Location | None
    to_status: StockStatus | None


def _mirrored(movement: Movement) -> _Sides:
    """The sides of the exact inverse of ``movement``: source and destination swapped."""
    return {
        "from_location": movement.to_location,
        "from_status": movement.to_status,
        "to_location": movement.from_location,
        "to_status": movement.from_status,
    }


@attrs.frozen(kw_only=True)
class StockPosition:
    """A non-zero balance of one item at one (location, status), with what allocation needs.

    Raises:
        InvalidValueError: a field has the wrong type, or the quantity is not a whole
            number from 0 to [`MAX_QUANTITY`][medinv.quantity.MAX_QUANTITY].
    """

    item: ItemKey
    """The stock item."""
    location: Location
    """Where it is."""
    status: StockStatus
    """In which status."""
    quantity: int
    """How many units (of the item's GTIN); always positive."""
    expiry: pendulum.Date | None = None
    """The lot's expiry date, if known."""
    received_at: pendulum.DateTime | None = None
    """When the item first entered the ledger (first receipt), for FIFO and tie-breaks."""

    def __attrs_post_init__(self) -> None:
        # One check of the common case (what stores build), the details only on failure.
        if not (
            type(self.item) is ItemKey
            and type(self.location) is Location
            and type(self.status) is StockStatus
            and type(self.quantity) is int
            and 0 <= self.quantity <= MAX_QUANTITY
            and (self.expiry is None or type(self.expiry) is pendulum.Date)
            and (
                self.received_at is None
                or (type(self.received_at) is pendulum.DateTime and self.received_at.tzinfo)
            )
        ):
            self._check_fields()

    def _check_fields(self) -> None:
        fields: tuple[tuple[str, object, type, bool], ...] = (
            ("item", self.item, ItemKey, False),
            ("location", self.location, Location, False),
            ("status", self.status, StockStatus, False),
            ("expiry", self.expiry, dt.date, True),
            ("received_at", self.received_at, dt.datetime, True),
        )
        for name, value, expected, optional in fields:
            if not (isinstance(value, expected) or (optional and value is None)):
                msg = (
                    f"invalid stock position: {name} must be a {expected.__name__}, "
                    f"not {type(value).__name__} {value!r:.60}"
                )
                raise InvalidValueError(msg)
        expiry: object = self.expiry
        if isinstance(expiry, dt.datetime):
            msg = "invalid stock position: expiry must be a date, not a date-time"
            raise InvalidValueError(msg)
        if self.received_at is not None and self.received_at.utcoffset() is None:
            msg = "invalid stock position: received_at must carry a time zone or UTC offset"
            raise InvalidValueError(msg)
        quantity = self.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            msg = f"invalid stock position: quantity must be a whole number, not {quantity!r:.60}"
            raise InvalidQuantityError(msg)
        if not 0 <= quantity <= MAX_QUANTITY:
            msg = f"invalid stock position: quantity {quantity} is outside 0..MAX_QUANTITY"
            raise InvalidQuantityError(msg)
