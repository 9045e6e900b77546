"""The contract every [`RecallStore`][medinv.recall.RecallStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.recall_contract import RecallStoreContract

class TestMyRecalls(RecallStoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store

    @pytest.fixture
    def open_database(self, tmp_path):  # optional: durability, one database
        return lambda: MyStore(tmp_path / "medinv.db")
```

``store`` gives a fresh, empty store per test with ``.recalls``. ``open_database``,
when overridden, returns a callable that opens the whole store over the same
database each time it is called; the durability tests run with it and are skipped
without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102
from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.errors import InvalidValueError
from medinv.identifiers import ItemKey
from medinv.ports import RecallGate
from medinv.recall import (
    Closing,
    Notification,
    RecallCampaign,
    RecallScope,
    RecallStore,
    Response,
)

__all__ = ["RecallStoreContract"]

GTIN = "04006381333931"
OPENED = pendulum.datetime(2026, 11, 24, 8, tz="UTC")
LOT_A, LOT_B = ItemKey(GTIN, lot="A"), ItemKey(GTIN, lot="B")

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def _campaign(
    cid: str = "FSCA-1", scope: RecallScope | None = None, **changes: Any
) -> RecallCampaign:
    fields: dict[str, Any] = {
        "id": cid,
        "scope": scope or RecallScope.of_lots(GTIN, ["A"]),
        "recall_class": "II",
        "depth": "USER",
        "opened_at": OPENED,
        "opened_by": "qa-lead",
        "reason": "seal may open in transit",
        "reference": "Z-1234-2026",
    }
    fields.update(changes)
    return RecallCampaign(**fields)


def _notice(party: str = "CUSTOMER:CLINIC-9", hours: int = 1) -> Notification:
    return Notification(
        party=party, notified_at=OPENED.add(hours=hours), by="qa-lead", channel="letter"
    )


def _response(party: str = "CUSTOMER:CLINIC-9", hours: int = 2, **counts: Any) -> Response:
    return Response(
        party=party, responded_at=OPENED.add(hours=hours), by="qa-clerk", item=LOT_A, **counts
    )


def _closing(by: str = "pharmacist", unaccounted: int = 0, reason: str | None = None) -> Closing:
    return Closing(
        closed_at=OPENED.add(days=30), closed_by=by, unaccounted=unaccounted, reason=reason
    )


_scopes = st.one_of(
    st.lists(st.text("ABC123-", min_size=1, max_size=6), min_size=1, max_size=3).map(
        lambda lots: RecallScope.of_lots(GTIN, lots)
    ),
    st.lists(st.text("XYZ789", min_size=1, max_size=8), min_size=1, max_size=3).map(
        lambda serials: RecallScope.of_serials("HIBCC:A123BJC5D6E71", serials)
    ),
    st.tuples(
        st.dates(),
        st.integers(0, 400),
        st.dictionaries(st.text("LOT9", min_size=1, max_size=4), st.dates(), max_size=3),
    ).map(
        lambda t: RecallScope.produced_between(
            GTIN, t[0], t[0] + pendulum.duration(days=t[1]), production_dates=t[2]
        )
    ),
)


class RecallStoreContract:
    """Pytest mixin: the behaviour every recall store shares (override ``store``)."""

    @pytest.fixture
    def store(self) -> Iterator[Any]:
        """A fresh, empty store with ``.recalls``; override in the subclass."""
        raise NotImplementedError

    @pytest.fixture
    def open_database(self) -> Callable[[], Any] | None:
        """A callable opening the whole store over the same database; ``None``: not durable."""
        return None

    # ------------------------------------------------------------------ the port

    def test_satisfies_the_port_and_the_gate(self, store: Any) -> None:
        assert isinstance(store.recalls, RecallStore)
        assert isinstance(store.recalls, RecallGate)

    def test_an_empty_store_holds_nothing(self, store: Any) -> None:
        assert store.recalls.get("FSCA-1") is None
        assert store.recalls.campaigns() == []
        assert store.recalls.covering([(LOT_A, None)], OPENED) == [None]

    def test_a_campaign_reads_back_equal_and_opening_again_changes_nothing(
        self, store: Any
    ) -> None:
        campaign = _campaign("recall 'A'; é")
        assert store.recalls.open(campaign) is True
        assert store.recalls.open(campaign) is False
        record = store.recalls.get(campaign.id)
        assert record.campaign == campaign
        assert (record.notifications, record.responses, record.closing) == ((), (), None)
        assert record.is_open
        assert [r.campaign for r in store.recalls.campaigns()] == [campaign]

    def test_an_id_in_use_by_another_campaign_is_refused(self, store: Any) -> None:
        store.recalls.open(_campaign())
        with pytest.raises(InvalidValueError, match="in use"):
            store.recalls.open(_campaign(reason="another hazard"))
        assert store.recalls.get("FSCA-1").campaign == _campaign()

    def test_notifications_and_responses_are_appended_in_order_once(self, store: Any) -> None:
        recalls = store.recalls
        recalls.open(_campaign())
        assert recalls.notify("FSCA-1", _notice()) is True
        assert recalls.notify("FSCA-1", _notice("DEPARTMENT:CARDIO")) is True
        assert recalls.notify("FSCA-1", _notice()) is False  # the same again: nothing new
        assert recalls.respond("FSCA-1", _response(on_hand=2)) is True
        assert recalls.respond("FSCA-1", _response(hours=3, destroyed=2)) is True
        record = recalls.get("FSCA-1")
        assert record.notifications == (_notice(), _notice("DEPARTMENT:CARDIO"))
        assert record.responses == (_response(on_hand=2), _response(hours=3, destroyed=2))
        latest = record.latest_responses()
        assert latest == {(_response().party, LOT_A): _response(hours=3, destroyed=2)}

    def test_writes_to_an_unknown_campaign_are_refused(self, store: Any) -> None:
        with pytest.raises(InvalidValueError, match="no recall campaign"):
            store.recalls.notify("nope", _notice())
        with pytest.raises(InvalidValueError, match="no recall campaign"):
            store.recalls.close_campaign("nope", _closing())
        with pytest.raises(InvalidValueError):
            store.recalls.respond("FSCA-1", "a response")

    def test_closing_is_recorded_once_and_ends_the_campaign(self, store: Any) -> None:
        recalls = store.recalls
        recalls.open(_campaign())
        assert recalls.close_campaign("FSCA-1", _closing()) is True
        assert recalls.close_campaign("FSCA-1", _closing()) is False
        with pytest.raises(InvalidValueError, match="closed"):
            recalls.close_campaign("FSCA-1", _closing(by="someone else"))
        with pytest.raises(InvalidValueError, match="closed"):
            recalls.notify("FSCA-1", _notice())
        record = recalls.get("FSCA-1")
        assert record.closing == _closing()
        assert not record.is_open
        assert recalls.campaigns(open_only=True) == []
        assert [r.campaign.id for r in recalls.campaigns()] == ["FSCA-1"]

    def test_units_unaccounted_need_a_second_person(self, store: Any) -> None:
        recalls = store.recalls
        recalls.open(_campaign())
        with pytest.raises(InvalidValueError, match="second person"):
            recalls.close_campaign("FSCA-1", _closing(by="QA-Lead", unaccounted=3, reason="lost"))
        assert recalls.get("FSCA-1").is_open
        assert recalls.close_campaign(
            "FSCA-1", _closing(by="pharmacist", unaccounted=3, reason="lost")
        )

    def test_the_gate_covers_arrivals_while_a_campaign_is_open(self, store: Any) -> None:
        recalls = store.recalls
        recalls.open(_campaign())
        recalls.open(
            _campaign(
                "FSCA-2",
                RecallScope.produced_between(GTIN, "2026-01-01", "2026-03-31"),
                opened_at=OPENED.add(hours=1),
            )
        )
        arrivals = [
            (LOT_A, None),
            (ItemKey(GTIN, lot="A", serial="S1"), None),
            (LOT_B, None),
            (LOT_B, pendulum.date(2026, 2, 1)),
            (LOT_B, pendulum.date(2026, 4, 1)),
        ]
        assert recalls.covering(arrivals, OPENED.subtract(seconds=1)) == [None] * 5
        assert recalls.covering(arrivals, OPENED) == ["FSCA-1", "FSCA-1", None, None, None]
        later = OPENED.add(hours=2)
        assert recalls.covering(arrivals, later) == ["FSCA-1", "FSCA-1", None, "FSCA-2", None]
        recalls.close_campaign("FSCA-1", _closing())
        assert recalls.covering(arrivals, OPENED.add(days=31)) == [None, None, None, "FSCA-2", None]
        assert recalls.covering(arrivals, later)[0] == "FSCA-1"  # it was open then

    @_SETTINGS
    @given(
        scope=_scopes,
        cid=st.text(
            st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40
        ).filter(str.strip),
    )
    def test_any_campaign_reads_back_equal(self, store: Any, scope: RecallScope, cid: str) -> None:
        cid = f"{cid}#{uuid.uuid4().hex}"  # one store serves every example
        campaign = _campaign(cid, scope, reference=None)
        store.recalls.open(campaign)
        assert store.recalls.get(cid).campaign == campaign

    # ------------------------------------------------------------------ one database

    def test_campaigns_outlive_the_store_object(
        self, open_database: Callable[[], Any] | None
    ) -> None:
        if open_database is None:
            pytest.skip("this store is not durable (no open_database fixture)")
        with contextlib.closing(open_database()) as store:
            store.recalls.open(_campaign())
            store.recalls.notify("FSCA-1", _notice())
            store.recalls.respond("FSCA-1", _response(on_hand=1))
        with contextlib.closing(open_database()) as store:
            record = store.recalls.get("FSCA-1")
            assert record.campaign == _campaign()
            assert record.notifications == (_notice(),)
            assert record.responses == (_response(on_hand=1),)
