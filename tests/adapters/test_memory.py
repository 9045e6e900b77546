"""MemoryStore against the shipped contract suite and the stateful comparison."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from medinv.adapters.memory import MemoryStore
from medinv.ledger import Ledger
from medinv.ports import Commit, LedgerHead
from medinv.status import StockStatus
from medinv.testing.contract import LedgerStoreContract
from medinv.testing.stateful import ledger_machine


class TestMemoryStore(LedgerStoreContract):
    @pytest.fixture
    def store(self):
        with MemoryStore() as store:
            yield store


TestMemoryStoreMachine = ledger_machine(MemoryStore).TestCase
TestMemoryStoreMachine.settings = settings(
    max_examples=15,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- the suites can fail


class LosesLongText(MemoryStore):
    """Truncates reasons to 255 characters, as a careless VARCHAR(255) column would."""

    def append(self, commit: Commit) -> None:
        cut = tuple(
            attrs.evolve(r, movement=attrs.evolve(r.movement, reason=r.movement.reason[:255]))
            if r.movement.reason
            else r
            for r in commit.movements
        )
        super().append(attrs.evolve(commit, movements=cut))


class IgnoresExpectedPosition(MemoryStore):
    """Appends whatever it is given: the lost-update bug optimistic concurrency prevents."""

    def append(self, commit: Commit) -> None:
        self._head = LedgerHead(
            commit.movements[0].position - 1 if commit.movements else 0,
            commit.movements[0].prev_hash if commit.movements else self._head.hash,
        )
        super().append(attrs.evolve(commit, expected_position=self._head.position))


class ForgetsHoldBalances(MemoryStore):
    """Drops balance changes in status HOLD from its projection."""

    def append(self, commit: Commit) -> None:
        kept = tuple(c for c in commit.balance_changes if c.status is not StockStatus.HOLD)
        super().append(attrs.evolve(commit, balance_changes=kept))


def test_contract_catches_a_store_that_truncates_text():
    with pytest.raises(AssertionError):
        LedgerStoreContract().test_hostile_text_is_stored_verbatim(
            Ledger(store := LosesLongText()), store
        )


def test_contract_catches_a_store_without_optimistic_concurrency():
    with pytest.raises(pytest.fail.Exception):
        LedgerStoreContract().test_stale_commit_is_refused_and_writes_nothing(
            IgnoresExpectedPosition()
        )
    with pytest.raises((pytest.fail.Exception, AssertionError)):
        LedgerStoreContract().test_stale_ledger_post_is_refused_then_retried(
            IgnoresExpectedPosition()
        )


@pytest.mark.parametrize("broken", [LosesLongText, ForgetsHoldBalances])
def test_the_state_machine_catches_broken_stores(broken):
    machine = ledger_machine(broken)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine,
            settings=settings(
                max_examples=200,
                stateful_step_count=30,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate],
            ),
        )
