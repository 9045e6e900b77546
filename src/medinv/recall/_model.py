"""The values of a recall campaign: its scope, class, depth, and what is recorded against it.

Everything here is an immutable value; a campaign's history is the campaign as
opened plus the notifications, responses and the closing appended to it
([`CampaignRecord`][medinv.recall.CampaignRecord]). Nothing recorded is ever edited.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final

import attrs
import pendulum

from medinv._text import text_validator
from medinv.actors import actor_validator, same_actor
from medinv.catalogue import PartyRef
from medinv.dates import to_date, to_datetime
from medinv.devices import DeviceIdentifier
from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey, Lot, Serial, device_of

__all__ = [
    "CampaignRecord",
    "Closing",
    "Notification",
    "RecallCampaign",
    "RecallClass",
    "RecallDepth",
    "RecallScope",
    "Response",
]

_ID_LIMIT: Final = 120
"""Characters of a campaign id (movement ids derived from it hold 200)."""
_TEXT_LIMIT: Final = 2000


class RecallClass(enum.Enum):
    """How serious the hazard is (the FDA's classes; class I is the most serious)."""

    I = "I"  # noqa: E741  (the regulator's name for it)
    """Use may cause serious adverse health consequences or death."""
    II = "II"
    """Use may cause temporary or medically reversible harm."""
    III = "III"
    """Use is unlikely to cause harm."""

    __hash__ = object.__hash__


class RecallDepth(enum.Enum):
    """How far down the distribution chain the recall reaches."""

    WHOLESALE = "WHOLESALE"
    """Distributors and wholesalers."""
    RETAIL = "RETAIL"
    """Down to the dispensing level: pharmacies, hospitals' stores."""
    USER = "USER"
    """Down to the users: departments, clinicians, patients."""

    __hash__ = object.__hash__


def _enum(kind: type[enum.Enum], what: str, value: object) -> Any:
    if isinstance(value, str):
        try:
            return kind(value.strip().upper())
        except ValueError:
            known = ", ".join(m.value for m in kind)
            msg = f"unknown {what} {value!r:.40}: expected one of {known}"
            raise InvalidValueError(msg) from None
    return value


def _to_class(value: object) -> Any:
    return _enum(RecallClass, "recall class", value)


def _to_depth(value: object) -> Any:
    return _enum(RecallDepth, "recall depth", value)


def _sorted_lots(values: Iterable[Lot | str]) -> tuple[Lot, ...]:
    if isinstance(values, (str, Lot)):
        values = [values]
    return tuple(sorted({v if isinstance(v, Lot) else Lot(v) for v in values}, key=_lot_text))


def _sorted_serials(values: Iterable[Serial | str]) -> tuple[Serial, ...]:
    if isinstance(values, (str, Serial)):
        values = [values]
    chosen = {v if isinstance(v, Serial) else Serial(v) for v in values}
    return tuple(sorted(chosen, key=lambda s: s.value))


def _lot_text(lot: Lot) -> str:
    return lot.value


def _optional_date(value: object) -> pendulum.Date | None:
    return None if value is None else to_date(value)


def _dates(value: object) -> tuple[tuple[Lot, pendulum.Date], ...]:
    """Known production dates: a mapping or pairs of lot and date, sorted by lot."""
    items = value.items() if isinstance(value, dict) else value
    if not isinstance(items, Iterable) or isinstance(items, str):
        msg = f"production dates are lot -> date pairs, not {type(value).__name__}"
        raise InvalidValueError(msg)
    out: dict[Lot, pendulum.Date] = {}
    for pair in items:
        if not isinstance(pair, tuple) or len(pair) != 2:  # noqa: PLR2004  (a pair)
            raise InvalidValueError(f"a production date is a (lot, date) pair, not {pair!r:.60}")
        lot = pair[0] if isinstance(pair[0], Lot) else Lot(pair[0])
        date = to_date(pair[1])
        if out.get(lot, date) != date:
            raise InvalidValueError(f"lot {lot.value!r} is given two production dates")
        out[lot] = date
    return tuple(sorted(out.items(), key=lambda p: p[0].value))


@attrs.frozen(kw_only=True)
class RecallScope:
    """What a campaign recalls: lots of a device, serials of it, or a production-date range.

    Build it with [`of_lots`][medinv.recall.RecallScope.of_lots],
    [`of_serials`][medinv.recall.RecallScope.of_serials] or
    [`produced_between`][medinv.recall.RecallScope.produced_between].

    The ledger keeps no production date per lot, so a production-date range covers
    the lots whose production date the campaign is told (``production_dates``, from
    the manufacturer's notice or the despatch advice) and, at receipt, whatever the
    scanned label says (AI 11, HIBC and MA production dates): such a receipt lands
    ``RECALLED``. A lot of the device whose production date is known nowhere is
    reported as undetermined, never silently left out.

    Raises:
        InvalidValueError: not exactly one of lots, serials or a range; a range whose
            end precedes its start; a malformed lot, serial or date.
    """

    device: DeviceIdentifier = attrs.field(converter=device_of)
    """The recalled device (a UDI-DI of any agency, or GTIN digits)."""
    lots: tuple[Lot, ...] = attrs.field(default=(), converter=_sorted_lots)
    """The recalled lots (every serial of them included)."""
    serials: tuple[Serial, ...] = attrs.field(default=(), converter=_sorted_serials)
    """The recalled serialised units."""
    produced_from: pendulum.Date | None = attrs.field(default=None, converter=_optional_date)
    """First production date recalled (inclusive)."""
    produced_to: pendulum.Date | None = attrs.field(default=None, converter=_optional_date)
    """Last production date recalled (inclusive)."""
    production_dates: tuple[tuple[Lot, pendulum.Date], ...] = attrs.field(
        default=(), converter=_dates
    )
    """The production dates known of lots of the device (range scopes only)."""

    def __attrs_post_init__(self) -> None:
        ranged = self.produced_from is not None or self.produced_to is not None
        kinds = sum((bool(self.lots), bool(self.serials), ranged))
        if kinds != 1:
            msg = (
                f"a recall scope of {self.device} names lots, serials or a production-date "
                "range: exactly one of them"
            )
            raise InvalidValueError(msg)
        if ranged and (self.produced_from is None or self.produced_to is None):
            raise InvalidValueError("a production-date range needs its first and last date")
        if ranged and self.produced_to < self.produced_from:  # type: ignore[operator]
            msg = f"the production range ends ({self.produced_to}) before it starts"
            raise InvalidValueError(msg + f" ({self.produced_from})")
        if self.production_dates and not ranged:
            raise InvalidValueError("production dates are given only with a production range")

    @classmethod
    def of_lots(cls, device: object, lots: Iterable[Lot | str]) -> RecallScope:
        """Lots of a device (at least one)."""
        return cls(device=device, lots=_sorted_lots(lots))

    @classmethod
    def of_serials(cls, device: object, serials: Iterable[Serial | str]) -> RecallScope:
        """Serialised units of a device (at least one)."""
        return cls(device=device, serials=_sorted_serials(serials))

    @classmethod
    def produced_between(
        cls,
        device: object,
        first: object,
        last: object,
        *,
        production_dates: object = (),
    ) -> RecallScope:
        """Every lot of a device produced from ``first`` to ``last`` (both included)."""
        return cls(
            device=device, produced_from=first, produced_to=last, production_dates=production_dates
        )

    @property
    def is_range(self) -> bool:
        """Whether the scope is a production-date range."""
        return self.produced_from is not None

    def _in_range(self, produced: pendulum.Date) -> bool:
        assert self.produced_from is not None  # noqa: S101  (a range scope)
        assert self.produced_to is not None  # noqa: S101
        return self.produced_from <= produced <= self.produced_to

    @property
    def known_lots(self) -> tuple[Lot, ...]:
        """The lots known to be in scope: those named, or those whose known date is in range."""
        if self.lots:
            return self.lots
        return tuple(lot for lot, made in self.production_dates if self._in_range(made))

    def production_date(self, lot: Lot) -> pendulum.Date | None:
        """The production date known of ``lot`` (range scopes), else ``None``."""
        return dict(self.production_dates).get(lot)

    def covers(self, item: ItemKey, *, produced: object = None) -> bool:
        """Whether ``item`` is in scope; ``produced`` is its production date when known.

        A date given here (a scanned label's) is believed over none; for a lot whose
        date the scope knows, the scope's date decides.
        """
        if item.device != self.device:
            return False
        if self.serials:
            return item.serial is not None and item.serial in self.serials
        if self.lots:
            return item.lot is not None and item.lot in self.lots
        if item.lot is None:
            return False
        made = self.production_date(item.lot)
        if made is None and produced is not None:
            made = to_date(produced)
        return made is not None and self._in_range(made)

    def __str__(self) -> str:
        if self.serials:
            return f"{self.device} serial(s) " + ", ".join(s.value for s in self.serials)
        if self.lots:
            return f"{self.device} lot(s) " + ", ".join(lot.value for lot in self.lots)
        return f"{self.device} produced {self.produced_from} to {self.produced_to}"


@attrs.frozen(kw_only=True)
class RecallCampaign:
    """A recall campaign as opened: its id, scope, class, depth, when and by whom.

    Raises:
        InvalidValueError: a blank or too long id or reason, an unknown class or depth,
            a naive moment, a malformed actor.
    """

    id: str = attrs.field(validator=text_validator("campaign id", limit=_ID_LIMIT))
    """The campaign's id (the manufacturer's recall number, say); movement ids derive from it."""
    scope: RecallScope = attrs.field(validator=attrs.validators.instance_of(RecallScope))
    """What is recalled."""
    recall_class: RecallClass = attrs.field(
        converter=_to_class,
        validator=attrs.validators.instance_of(RecallClass),
    )
    """The hazard's class (I, II, III)."""
    depth: RecallDepth = attrs.field(
        converter=_to_depth,
        validator=attrs.validators.instance_of(RecallDepth),
    )
    """How far down the chain it reaches."""
    opened_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When the campaign opened: receipts and returns of scope after it land RECALLED."""
    opened_by: str = attrs.field(validator=actor_validator("opened_by"))
    """Who opened it."""
    reason: str = attrs.field(validator=text_validator("recall reason", limit=_TEXT_LIMIT))
    """Why (the hazard, the notice's words)."""
    reference: str | None = attrs.field(
        default=None, validator=text_validator("recall reference", optional=True, limit=200)
    )
    """The manufacturer's or the authority's reference, if any."""

    @property
    def operation(self) -> str:
        """The operation id its status changes are posted under (``recall/<id>``)."""
        return f"recall/{self.id}"


def _party(value: object) -> PartyRef:
    if isinstance(value, (str, PartyRef)):
        return PartyRef.coerce(value)
    raise InvalidValueError(f"a party is a PartyRef or 'KIND:id' text, not {value!r:.60}")


def _count(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"{attribute.name} is a whole number of units of at least 0, not {value!r:.40}"
        raise InvalidValueError(msg)


def _optional_item(value: object) -> ItemKey | None:
    if value is None or isinstance(value, ItemKey):
        return value
    raise InvalidValueError(f"a response's item is an ItemKey or None, not {value!r:.60}")


@attrs.frozen(kw_only=True)
class Notification:
    """A party was told of the recall: who, when, by whom, how."""

    party: PartyRef = attrs.field(converter=_party)
    """Who was notified (a department, customer, site; patients through their clinician)."""
    notified_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When."""
    by: str = attrs.field(validator=actor_validator("notified by"))
    """Who notified them."""
    channel: str | None = attrs.field(
        default=None, validator=text_validator("notification channel", optional=True, limit=200)
    )
    """How (letter, e-mail, phone), if recorded."""


@attrs.frozen(kw_only=True)
class Response:
    """A party's answer: acknowledged, and the units it reports on hand, returned or destroyed.

    Responses are appended; the latest one of a party for an item replaces its
    earlier figures in the reconciliation (the earlier ones stay on record).
    Units a party reports returned are counted once the RETURN movement is posted;
    units it reports on hand (quarantined there) or destroyed are accounted for
    by its word.
    """

    party: PartyRef = attrs.field(converter=_party)
    """Who answered."""
    responded_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When."""
    by: str = attrs.field(validator=actor_validator("recorded by"))
    """Who recorded the answer."""
    acknowledged: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    """Whether the party acknowledged the notice."""
    item: ItemKey | None = attrs.field(default=None, converter=_optional_item)
    """The lot (or serial) the quantities are of; ``None``: an acknowledgement alone."""
    on_hand: int = attrs.field(default=0, validator=_count)
    """Units the party still holds (quarantined there)."""
    returned: int = attrs.field(default=0, validator=_count)
    """Units the party says it sent back."""
    destroyed: int = attrs.field(default=0, validator=_count)
    """Units the party destroyed."""

    def __attrs_post_init__(self) -> None:
        if self.item is None and (self.on_hand or self.returned or self.destroyed):
            raise InvalidValueError("a response reporting quantities names the item they are of")


@attrs.frozen(kw_only=True)
class Closing:
    """How a campaign was closed: when, by whom, what was left unaccounted and why.

    Raises:
        InvalidValueError: units unaccounted without a reason.
    """

    closed_at: pendulum.DateTime = attrs.field(converter=to_datetime)
    """When."""
    closed_by: str = attrs.field(validator=actor_validator("closed_by"))
    """Who closed it; with units unaccounted, the second person who signs the reason."""
    unaccounted: int = attrs.field(validator=_count)
    """Units unaccounted for at closing."""
    reason: str | None = attrs.field(
        default=None, validator=text_validator("closing reason", optional=True, limit=_TEXT_LIMIT)
    )
    """Why the campaign closes with units unaccounted (required then)."""

    def __attrs_post_init__(self) -> None:
        if self.unaccounted and self.reason is None:
            msg = f"closing with {self.unaccounted} unit(s) unaccounted needs a signed reason"
            raise InvalidValueError(msg)

    def check_against(self, campaign: RecallCampaign) -> None:
        """Refuse a closing the campaign does not allow (four eyes on units unaccounted).

        Raises:
            InvalidValueError: units unaccounted and the closer is the opener, or a
                closing before the opening.
        """
        if self.closed_at < campaign.opened_at:
            msg = f"campaign {campaign.id!r} cannot close before it opened"
            raise InvalidValueError(msg)
        if self.unaccounted and same_actor(self.closed_by, campaign.opened_by):
            msg = (
                f"campaign {campaign.id!r} has {self.unaccounted} unit(s) unaccounted: its "
                "reason must be signed by a second person, not by its opener "
                f"{campaign.opened_by!r}"
            )
            raise InvalidValueError(msg)


@attrs.frozen(kw_only=True)
class CampaignRecord:
    """A campaign with everything recorded against it, in the order recorded."""

    campaign: RecallCampaign
    notifications: tuple[Notification, ...] = ()
    responses: tuple[Response, ...] = ()
    closing: Closing | None = None

    @property
    def is_open(self) -> bool:
        """Whether the campaign is still open."""
        return self.closing is None

    def open_at(self, moment: pendulum.DateTime) -> bool:
        """Whether the campaign was open at ``moment`` (opened at or before, not closed by)."""
        if moment < self.campaign.opened_at:
            return False
        return self.closing is None or moment < self.closing.closed_at

    def latest_responses(self) -> dict[tuple[PartyRef, ItemKey], Response]:
        """Per party and item, the latest response reporting quantities."""
        latest: dict[tuple[PartyRef, ItemKey], Response] = {}
        for response in self.responses:
            if response.item is not None:
                latest[response.party, response.item] = response
        return latest
