"""Recall values refuse bad input with a clear medinv error."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from medinv import ItemKey
from medinv.errors import InvalidValueError
from medinv.recall import (
    Closing,
    RecallCampaign,
    RecallClass,
    RecallDepth,
    RecallScope,
    Response,
    reconcile_lot,
)
from medinv.recall._reconcile import lot_of

GTIN = "04006381333931"
AT = pendulum.datetime(2026, 11, 24, 8, tz="UTC")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "exactly one of them"),
        ({"lots": ["A"], "serials": ["S"]}, "exactly one of them"),
        ({"produced_from": "2026-01-01"}, "its first and last date"),
        ({"produced_from": "2026-02-01", "produced_to": "2026-01-01"}, "before it starts"),
        ({"lots": ["A"], "production_dates": {"A": "2026-01-01"}}, "only with a production"),
        (
            {"produced_from": "2026-01-01", "produced_to": "2026-02-01",
             "production_dates": [("A", "2026-01-01"), ("A", "2026-01-02")]},
            "two production dates",
        ),
        (
            {"produced_from": "2026-01-01", "produced_to": "2026-02-01",
             "production_dates": [("A",)]},
            r"a \(lot, date\) pair",
        ),
        (
            {"produced_from": "2026-01-01", "produced_to": "2026-02-01", "production_dates": 7},
            "lot -> date pairs",
        ),
    ],
)  # fmt: skip
def test_a_scope_names_exactly_one_thing(fields, says):
    with pytest.raises(InvalidValueError, match=says):
        RecallScope(device=GTIN, **fields)


def test_what_a_scope_covers():
    lots = RecallScope.of_lots(GTIN, "A")
    assert lots.covers(ItemKey(GTIN, lot="A", serial="S1"))
    assert not lots.covers(ItemKey(GTIN, lot="B"))
    assert not lots.covers(ItemKey("09501101530003", lot="A"))
    serials = RecallScope.of_serials(GTIN, "S1")
    assert serials.covers(ItemKey(GTIN, serial="S1"))
    assert not serials.covers(ItemKey(GTIN, lot="A"))
    ranged = RecallScope.produced_between(
        GTIN, "2026-01-01", "2026-01-31", production_dates={"OLD": "2025-12-31"}
    )
    assert not ranged.covers(ItemKey(GTIN))  # no lot: no production date to judge
    assert not ranged.covers(ItemKey(GTIN, lot="OLD"), produced="2026-01-10")  # known date wins
    assert ranged.covers(ItemKey(GTIN, lot="NEW"), produced="2026-01-10")
    assert not ranged.covers(ItemKey(GTIN, lot="NEW"))
    assert ranged.known_lots == ()
    assert "lot(s) A" in str(lots)
    assert "serial(s) S1" in str(serials)
    assert "produced 2026-01-01 to 2026-01-31" in str(ranged)


def test_a_campaign_refuses_bad_fields():
    good: dict[str, Any] = {
        "id": "R", "scope": RecallScope.of_lots(GTIN, ["A"]), "recall_class": "ii",
        "depth": " user ", "opened_at": AT, "opened_by": "qa", "reason": "why",
    }  # fmt: skip
    campaign = RecallCampaign(**good)
    assert (campaign.recall_class, campaign.depth) == (RecallClass.II, RecallDepth.USER)
    assert campaign.operation == "recall/R"
    with pytest.raises(InvalidValueError, match="unknown recall class 'IV'"):
        RecallCampaign(**{**good, "recall_class": "IV"})
    with pytest.raises(InvalidValueError, match="unknown recall depth"):
        RecallCampaign(**{**good, "depth": "patient"})
    with pytest.raises(InvalidValueError):
        RecallCampaign(**{**good, "id": " "})
    with pytest.raises(InvalidValueError):
        RecallCampaign(**{**good, "opened_at": "2026-11-24T08:00:00"})  # naive


def test_responses_and_closings_refuse_bad_figures():
    with pytest.raises(InvalidValueError, match="names the item"):
        Response(party="CUSTOMER:C-1", responded_at=AT, by="qa", on_hand=1)
    with pytest.raises(InvalidValueError, match="at least 0"):
        Response(party="CUSTOMER:C-1", responded_at=AT, by="qa", item=ItemKey(GTIN), on_hand=-1)
    with pytest.raises(InvalidValueError, match="a party is a PartyRef"):
        Response(party=7, responded_at=AT, by="qa")
    with pytest.raises(InvalidValueError, match="pseudonym"):
        Response(party="PATIENT:Jane Doe", responded_at=AT, by="qa")
    with pytest.raises(InvalidValueError, match="an ItemKey or None"):
        Response(party="CUSTOMER:C-1", responded_at=AT, by="qa", item="A")
    with pytest.raises(InvalidValueError, match="signed reason"):
        Closing(closed_at=AT, closed_by="qa", unaccounted=2)
    campaign = RecallCampaign(
        id="R", scope=RecallScope.of_lots(GTIN, ["A"]), recall_class="I", depth="retail",
        opened_at=AT, opened_by="qa", reason="r",
    )  # fmt: skip
    with pytest.raises(InvalidValueError, match="before it opened"):
        Closing(closed_at=AT.subtract(days=1), closed_by="x", unaccounted=0).check_against(campaign)


def test_reconcile_lot_refuses_a_movement_of_another_lot():
    from medinv import Location, Movement  # noqa: PLC0415

    other = Movement.receipt(
        "r", item=ItemKey(GTIN, lot="B"), quantity=1, to=Location.parse("H"), occurred_at=AT,
        actor="a",
    )  # fmt: skip

    class Recorded:
        movement = other

    with pytest.raises(InvalidValueError, match="not of"):
        reconcile_lot(ItemKey(GTIN, lot="A"), [Recorded()])
    assert lot_of(ItemKey(GTIN, serial="S")) == ItemKey(GTIN, serial="S")
