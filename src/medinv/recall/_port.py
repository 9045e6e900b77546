"""`RecallStore`: the storage port of recall campaigns (``store.recalls`` on every store)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol, runtime_checkable

import pendulum

from medinv.identifiers import ItemKey
from medinv.recall._model import CampaignRecord, Closing, Notification, RecallCampaign, Response

__all__ = ["RecallStore"]


@runtime_checkable
class RecallStore(Protocol):
    """Recall campaigns and what is recorded against them, append-only.

    A campaign is opened once; notifications and responses are appended to it; a
    closing is recorded once. Nothing recorded is edited or removed. Every write is
    idempotent: recording the same thing again changes nothing and returns ``False``;
    the same campaign id with other content, or a second, different closing, is an
    `InvalidValueError`. Writes to a closed campaign are refused. It is also the
    [`RecallGate`][medinv.ports.RecallGate] the receiving path consults.
    The contract suite is [`medinv.testing.recall_contract`][medinv.testing.recall_contract].
    """

    def open(self, campaign: RecallCampaign) -> bool:
        """Record a campaign as opened; ``False`` if this very campaign was already."""
        ...

    def get(self, campaign_id: str) -> CampaignRecord | None:
        """The campaign with everything recorded against it, or ``None``."""
        ...

    def campaigns(self, *, open_only: bool = False) -> list[CampaignRecord]:
        """Every campaign (or the open ones), by id."""
        ...

    def notify(self, campaign_id: str, notification: Notification) -> bool:
        """Append a notification; ``False`` if this very one is on record already."""
        ...

    def respond(self, campaign_id: str, response: Response) -> bool:
        """Append a party's response; ``False`` if this very one is on record already."""
        ...

    def close_campaign(self, campaign_id: str, closing: Closing) -> bool:
        """Record the closing (checked against the campaign: four eyes on units unaccounted)."""
        ...

    def covering(
        self,
        arrivals: Collection[tuple[ItemKey, pendulum.Date | None]],
        at: object,
    ) -> list[str | None]:
        """See [`RecallGate.covering`][medinv.ports.RecallGate.covering]."""
        ...

    def close(self) -> None:
        """Close the store these campaigns belong to (twice is harmless)."""
        ...
