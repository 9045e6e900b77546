"""The contract every [`CheckpointStore`][medinv.feed.CheckpointStore] honours.

Subclass the mixin in a test module and override its fixtures:

```python
import pytest
from medinv.testing.checkpoint_contract import CheckpointStoreContract

class TestMyCheckpoints(CheckpointStoreContract):
    @pytest.fixture
    def checkpoints(self, tmp_path):
        with MyStore(tmp_path / "medinv.db") as store:
            yield store.checkpoints

    @pytest.fixture
    def reopen(self, tmp_path):  # optional: durability and two stores on one database
        return lambda: MyStore(tmp_path / "medinv.db").checkpoints
```

``checkpoints`` gives a fresh, empty checkpoint store per test (kept in a medinv
store, or a table in a consumer's own database). ``reopen``, when overridden,
returns a callable that opens the same checkpoints again (another process, or a
restart); the tests of durability run with it and are skipped without it.
"""

# The contract is a test suite: asserts are its point, its test names document themselves.
# ruff: noqa: S101, D102
from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from medinv.errors import ConcurrencyError, InvalidValueError
from medinv.feed import CheckpointStore
from medinv.journal import LedgerHead

__all__ = ["CheckpointStoreContract", "head_at"]

_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        # One store serves every example; each example uses consumers of its own.
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.differing_executors,
    ],
)


def head_at(position: int) -> LedgerHead:
    """A checkpoint at ``position`` with a hash made from it (position 0: the empty ledger)."""
    if position == 0:
        return LedgerHead.empty()
    return LedgerHead(position, hashlib.sha256(str(position).encode()).hexdigest())


def _save(checkpoints: Any, consumer: str, head: LedgerHead, **kw: Any) -> None:
    """Save in the store's unit (a transaction of its own for a consumer's table)."""
    with checkpoints.transaction():
        checkpoints.save(consumer, head, **kw)


class CheckpointStoreContract:
    """Tests any checkpoint store must pass."""

    @pytest.fixture
    def checkpoints(self) -> Any:  # pragma: no cover - each store overrides it
        raise NotImplementedError

    @pytest.fixture
    def reopen(self) -> Callable[[], Any] | None:
        return None

    def test_it_is_a_checkpoint_store(self, checkpoints: Any) -> None:
        assert isinstance(checkpoints, CheckpointStore)

    def test_a_consumer_never_saved_is_at_the_start(self, checkpoints: Any) -> None:
        assert checkpoints.load("erp") == LedgerHead.empty()
        assert checkpoints.consumers() == {}

    def test_a_checkpoint_moves_forward(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(3))
        _save(checkpoints, "erp", head_at(7), expected=head_at(3))
        assert checkpoints.load("erp") == head_at(7)
        assert checkpoints.consumers() == {"erp": head_at(7)}

    def test_saving_the_stored_checkpoint_again_changes_nothing(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(3))
        _save(checkpoints, "erp", head_at(3))
        assert checkpoints.load("erp") == head_at(3)

    def test_a_checkpoint_never_moves_back(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(5))
        with pytest.raises(InvalidValueError, match="only moves forward"):
            _save(checkpoints, "erp", head_at(4))
        other = LedgerHead(5, "f" * 64)
        with pytest.raises(InvalidValueError, match="is at the stored one"):
            _save(checkpoints, "erp", other)
        assert checkpoints.load("erp") == head_at(5)

    def test_an_expected_checkpoint_that_is_not_stored_is_refused(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(5))
        with pytest.raises(ConcurrencyError) as caught:
            _save(checkpoints, "erp", head_at(9), expected=head_at(3))
        assert (caught.value.expected, caught.value.actual) == (3, 5)
        with pytest.raises(ConcurrencyError):
            _save(checkpoints, "wms", head_at(2), expected=head_at(1))
        assert checkpoints.consumers() == {"erp": head_at(5)}

    def test_a_first_save_may_expect_the_start(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(2), expected=LedgerHead.empty())
        assert checkpoints.load("erp") == head_at(2)

    def test_consumers_are_kept_apart_and_listed_by_name(self, checkpoints: Any) -> None:
        _save(checkpoints, "wms", head_at(2))
        _save(checkpoints, "erp", head_at(9))
        _save(checkpoints, "Ärztehaus ü 'x'; --", head_at(1))
        assert list(checkpoints.consumers()) == sorted(["wms", "erp", "Ärztehaus ü 'x'; --"])
        assert checkpoints.load("wms") == head_at(2)

    def test_a_removed_consumer_starts_again(self, checkpoints: Any) -> None:
        _save(checkpoints, "erp", head_at(4))
        with checkpoints.transaction():
            assert checkpoints.remove("erp") is True
        with checkpoints.transaction():
            assert checkpoints.remove("erp") is False
        assert checkpoints.load("erp") == LedgerHead.empty()
        _save(checkpoints, "erp", head_at(1))
        assert checkpoints.load("erp") == head_at(1)

    @pytest.mark.parametrize("consumer", ["", "   ", "a\x00b", "x" * 201, 7, None])
    def test_a_bad_consumer_name_is_refused(self, checkpoints: Any, consumer: object) -> None:
        with pytest.raises(InvalidValueError, match="consumer name"):
            checkpoints.load(consumer)
        with pytest.raises(InvalidValueError, match="consumer name"):
            _save(checkpoints, consumer, head_at(1))  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        "checkpoint",
        [
            (1, "a" * 64),
            LedgerHead(-1, "a" * 64),
            LedgerHead(1, "A" * 64),
            LedgerHead(1, "a" * 63),
            LedgerHead(True, "a" * 64),  # noqa: FBT003  (a bool is not a position)
            LedgerHead(2**63, "a" * 64),
        ],
        ids=repr,
    )
    def test_a_bad_checkpoint_is_refused(self, checkpoints: Any, checkpoint: object) -> None:
        with pytest.raises(InvalidValueError, match="checkpoint"):
            _save(checkpoints, "erp", checkpoint)  # type: ignore[arg-type]
        with pytest.raises(InvalidValueError, match="expected checkpoint"):
            _save(checkpoints, "erp", head_at(1), expected=checkpoint)
        assert checkpoints.consumers() == {}

    @_SETTINGS
    @given(steps=st.lists(st.integers(min_value=0, max_value=2**63 - 1), max_size=8))
    def test_the_stored_checkpoint_is_the_furthest_saved(
        self, checkpoints: Any, steps: list[int]
    ) -> None:
        consumer = f"c-{hashlib.sha256(repr(steps).encode()).hexdigest()[:16]}"
        furthest = LedgerHead.empty()
        for position in steps:
            head = head_at(position)
            if position > furthest.position or head == furthest:
                _save(checkpoints, consumer, head, expected=furthest)
                furthest = head
            else:
                with pytest.raises(InvalidValueError):
                    _save(checkpoints, consumer, head)
            assert checkpoints.load(consumer) == furthest
        with checkpoints.transaction():
            checkpoints.remove(consumer)

    def test_a_saved_checkpoint_survives_reopening(
        self, checkpoints: Any, reopen: Callable[[], Any] | None
    ) -> None:
        if reopen is None:
            pytest.skip("no reopen fixture: the store keeps nothing beyond its lifetime")
        _save(checkpoints, "erp", head_at(6))
        again = reopen()
        try:
            assert again.load("erp") == head_at(6)
            _save(again, "erp", head_at(8), expected=head_at(6))
            with pytest.raises(ConcurrencyError):
                _save(checkpoints, "erp", head_at(7), expected=head_at(6))
            assert checkpoints.load("erp") == head_at(8)
        finally:
            close = getattr(again, "close", None)
            if close is not None:
                close()
