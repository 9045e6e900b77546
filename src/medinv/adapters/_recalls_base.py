"""The recall store's rules and JSON, written once for every store: stores supply a few primitives.

A recall store keeps one append-only log of **events** per campaign, numbered from 1:
``open`` (the campaign), then ``notice``, ``response`` and at most one ``close``,
each stored as JSON. Everything the [`RecallStore`][medinv.recall.RecallStore] port
promises (idempotent writes, nothing edited, nothing written to a closed campaign,
four eyes at closing) is decided here inside the store's write transaction.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Collection, Sequence
from typing import Any, Final

import pendulum

from medinv.adapters._base import Closing as _Closable
from medinv.catalogue import PartyRef
from medinv.dates import to_date, to_datetime
from medinv.errors import InvalidValueError, MedinvError, StorageError
from medinv.identifiers import ItemKey, device_from_text
from medinv.recall._model import (
    CampaignRecord,
    Closing,
    Notification,
    RecallCampaign,
    RecallScope,
    Response,
)

__all__ = ["Event", "RecallBase", "decode", "encode"]

Event = tuple[str, int, str, str]
"""A stored event: (campaign id, sequence number, kind, JSON)."""

FORMAT: Final = 1
OPEN, NOTICE, RESPONSE, CLOSE = "open", "notice", "response", "close"
_Entry = RecallCampaign | Notification | Response | Closing


def _moment(value: pendulum.DateTime) -> str:
    return value.isoformat()


def _item(item: ItemKey | None) -> list[str | None] | None:
    if item is None:
        return None
    return [
        item.device_text,
        None if item.lot is None else item.lot.value,
        None if item.serial is None else item.serial.value,
    ]


def _item_of(value: list[str | None] | None) -> ItemKey | None:
    if value is None:
        return None
    device, lot, serial = value
    return ItemKey(device_from_text(str(device)), lot=lot, serial=serial)


def encode(entry: _Entry) -> tuple[str, str]:
    """An entry's event kind and JSON."""
    data: dict[str, Any]
    if isinstance(entry, RecallCampaign):
        scope = entry.scope
        kind, data = (
            OPEN,
            {
                "id": entry.id,
                "device": ItemKey(scope.device).device_text,
                "lots": [lot.value for lot in scope.lots],
                "serials": [s.value for s in scope.serials],
                "produced": None
                if scope.produced_from is None
                else [str(scope.produced_from), str(scope.produced_to)],
                "production_dates": [[lot.value, str(day)] for lot, day in scope.production_dates],
                "class": entry.recall_class.value,
                "depth": entry.depth.value,
                "opened_at": _moment(entry.opened_at),
                "opened_by": entry.opened_by,
                "reason": entry.reason,
                "reference": entry.reference,
            },
        )
    elif isinstance(entry, Notification):
        kind, data = (
            NOTICE,
            {
                "party": str(entry.party),
                "at": _moment(entry.notified_at),
                "by": entry.by,
                "channel": entry.channel,
            },
        )
    elif isinstance(entry, Response):
        kind, data = (
            RESPONSE,
            {
                "party": str(entry.party),
                "at": _moment(entry.responded_at),
                "by": entry.by,
                "acknowledged": entry.acknowledged,
                "item": _item(entry.item),
                "on_hand": entry.on_hand,
                "returned": entry.returned,
                "destroyed": entry.destroyed,
            },
        )
    else:
        kind, data = (
            CLOSE,
            {
                "at": _moment(entry.closed_at),
                "by": entry.closed_by,
                "unaccounted": entry.unaccounted,
                "reason": entry.reason,
            },
        )
    data["format"] = FORMAT
    return kind, json.dumps(data, sort_keys=True, separators=(",", ":"))


def decode(kind: str, text: str) -> _Entry:
    """The entry an event holds.

    Raises:
        KeyError, ValueError, TypeError, MedinvError: the JSON is not an event.
    """
    data = json.loads(text)
    if data.pop("format") != FORMAT:
        raise ValueError("unknown event format")
    if kind == OPEN:
        device = device_from_text(data["device"])
        produced = data["produced"]
        scope = RecallScope(
            device=device,
            lots=data["lots"],
            serials=data["serials"],
            produced_from=None if produced is None else to_date(produced[0]),
            produced_to=None if produced is None else to_date(produced[1]),
            production_dates=[(lot, to_date(day)) for lot, day in data["production_dates"]],
        )
        return RecallCampaign(
            id=data["id"],
            scope=scope,
            recall_class=data["class"],
            depth=data["depth"],
            opened_at=to_datetime(data["opened_at"]),
            opened_by=data["opened_by"],
            reason=data["reason"],
            reference=data["reference"],
        )
    if kind == NOTICE:
        return Notification(
            party=PartyRef.parse(data["party"]),
            notified_at=to_datetime(data["at"]),
            by=data["by"],
            channel=data["channel"],
        )
    if kind == RESPONSE:
        return Response(
            party=PartyRef.parse(data["party"]),
            responded_at=to_datetime(data["at"]),
            by=data["by"],
            acknowledged=data["acknowledged"],
            item=_item_of(data["item"]),
            on_hand=data["on_hand"],
            returned=data["returned"],
            destroyed=data["destroyed"],
        )
    if kind == CLOSE:
        return Closing(
            closed_at=to_datetime(data["at"]),
            closed_by=data["by"],
            unaccounted=data["unaccounted"],
            reason=data["reason"],
        )
    raise ValueError(f"unknown event kind {kind!r}")


def _id(campaign_id: object) -> str:
    if not isinstance(campaign_id, str) or not campaign_id.strip():
        raise InvalidValueError(f"invalid campaign id {campaign_id!r:.60}: expected non-blank text")
    return campaign_id


def _check(entry: object, kind: type) -> None:
    if not isinstance(entry, kind):
        raise InvalidValueError(f"expected a {kind.__name__}, not {entry!r:.80}")


class RecallBase(_Closable):
    """The [`RecallStore`][medinv.recall.RecallStore] methods over a store's primitives."""

    __slots__ = ()

    # ------------------------------------------------------------------ primitives

    def _transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction holding the recalls' write lock until it ends."""
        raise NotImplementedError  # pragma: no cover

    def _events(self, campaign_id: str | None, kinds: Sequence[str] | None) -> list[Event]:
        """Stored events of one campaign (``None``: all) of ``kinds`` (``None``: all).

        In order of campaign id and sequence number.
        """
        raise NotImplementedError  # pragma: no cover

    def _append(self, event: Event) -> None:
        """Store one event, inside the transaction."""
        raise NotImplementedError  # pragma: no cover

    @property
    def where(self) -> str:
        """The database, for messages."""
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ reading

    def _decode(self, event: Event) -> _Entry:
        campaign_id, seq, kind, text = event
        try:
            return decode(kind, text)
        except (MedinvError, ValueError, KeyError, TypeError) as e:
            msg = f"corrupt recall event {seq} of campaign {campaign_id!r} in {self.where}: {e}"
            raise StorageError(msg) from e

    def _records(self, events: list[Event]) -> list[CampaignRecord]:
        records: list[CampaignRecord] = []
        parts: dict[str, list[Any]] = {}
        for event in events:
            entry = self._decode(event)
            if isinstance(entry, RecallCampaign):
                parts[event[0]] = [entry, [], [], None]
                continue
            found = parts.get(event[0])
            if found is None:
                raise StorageError(
                    f"recall events of {event[0]!r} before its opening in {self.where}"
                )
            if isinstance(entry, Notification):
                found[1].append(entry)
            elif isinstance(entry, Response):
                found[2].append(entry)
            else:
                found[3] = entry
        for campaign, notices, responses, closing in parts.values():
            records.append(
                CampaignRecord(
                    campaign=campaign,
                    notifications=tuple(notices),
                    responses=tuple(responses),
                    closing=closing,
                )
            )
        records.sort(key=lambda r: r.campaign.id)
        return records

    def get(self, campaign_id: str) -> CampaignRecord | None:
        """See [`RecallStore.get`][medinv.recall.RecallStore.get]."""
        found = self._records(self._events(_id(campaign_id), None))
        return found[0] if found else None

    def campaigns(self, *, open_only: bool = False) -> list[CampaignRecord]:
        """See [`RecallStore.campaigns`][medinv.recall.RecallStore.campaigns]."""
        if not isinstance(open_only, bool):
            raise InvalidValueError(f"open_only: expected True or False, not {open_only!r}")
        records = self._records(self._events(None, None))
        return [r for r in records if r.is_open] if open_only else records

    def covering(
        self,
        arrivals: Collection[tuple[ItemKey, pendulum.Date | None]],
        at: object,
    ) -> list[str | None]:
        """See [`RecallGate.covering`][medinv.ports.RecallGate.covering]."""
        moment = to_datetime(at)
        found = self._records(self._events(None, (OPEN, CLOSE)))
        live = [r.campaign for r in found if r.open_at(moment)]
        out: list[str | None] = []
        for item, produced in arrivals:
            if not isinstance(item, ItemKey):
                raise InvalidValueError(f"covering takes (ItemKey, date) pairs, not {item!r:.60}")
            out.append(next((c.id for c in live if c.scope.covers(item, produced=produced)), None))
        return out

    # ------------------------------------------------------------------ writing

    def open(self, campaign: RecallCampaign) -> bool:
        """See [`RecallStore.open`][medinv.recall.RecallStore.open]."""
        _check(campaign, RecallCampaign)
        kind, text = encode(campaign)
        with self._transaction():
            stored = self._events(campaign.id, (OPEN,))
            if stored:
                if self._decode(stored[0]) == campaign:
                    return False
                raise InvalidValueError(
                    f"campaign id {campaign.id!r} is in use by another campaign"
                )
            self._append((campaign.id, 1, kind, text))
        return True

    def _add(self, campaign_id: str, entry: _Entry) -> bool:
        cid = _id(campaign_id)
        kind, text = encode(entry)
        with self._transaction():
            events = self._events(cid, None)
            if not events:
                raise InvalidValueError(f"no recall campaign {cid!r} in {self.where}")
            (record,) = self._records(events)
            if any(e[2] == kind and e[3] == text for e in events):
                return False
            if record.closing is not None:
                raise InvalidValueError(
                    f"recall campaign {cid!r} is closed: nothing more is recorded"
                )
            if isinstance(entry, Closing):
                entry.check_against(record.campaign)
            self._append((cid, events[-1][1] + 1, kind, text))
        return True

    def notify(self, campaign_id: str, notification: Notification) -> bool:
        """See [`RecallStore.notify`][medinv.recall.RecallStore.notify]."""
        _check(notification, Notification)
        return self._add(campaign_id, notification)

    def respond(self, campaign_id: str, response: Response) -> bool:
        """See [`RecallStore.respond`][medinv.recall.RecallStore.respond]."""
        _check(response, Response)
        return self._add(campaign_id, response)

    def close_campaign(self, campaign_id: str, closing: Closing) -> bool:
        """See [`RecallStore.close_campaign`][medinv.recall.RecallStore.close_campaign]."""
        _check(closing, Closing)
        return self._add(campaign_id, closing)
