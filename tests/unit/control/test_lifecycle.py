"""Every (status, action) pair: the legal transitions and nothing else."""

from __future__ import annotations

import itertools

import pytest

from dialer.db.models import CampaignStatus as S
from dialer.errors import ConflictError
from dialer.lifecycle import Action as A
from dialer.lifecycle import IllegalTransitionError, transition

LEGAL = {
    (S.DRAFT, A.START): S.RUNNING,
    (S.DRAFT, A.STOP): S.STOPPED,
    (S.RUNNING, A.PAUSE): S.PAUSED,
    (S.RUNNING, A.STOP): S.STOPPED,
    (S.RUNNING, A.FINISH): S.FINISHED,
    (S.PAUSED, A.RESUME): S.RUNNING,
    (S.PAUSED, A.STOP): S.STOPPED,
    (S.FINISHED, A.START): S.RUNNING,
    (S.FINISHED, A.REOPEN): S.RUNNING,
    (S.FINISHED, A.STOP): S.STOPPED,
}


@pytest.mark.parametrize(("status", "action"), list(itertools.product(S, A)))
def test_transition_table(status: S, action: A) -> None:
    expected = LEGAL.get((status, action))
    if expected is None:
        with pytest.raises(IllegalTransitionError) as info:
            transition(status, action, campaign="c")
        assert isinstance(info.value, ConflictError)
        assert f"is {status.value}: cannot {action.value}" in str(info.value)
    else:
        assert transition(status, action) is expected


def test_stopped_is_final_and_says_so() -> None:
    for action in A:
        with pytest.raises(IllegalTransitionError, match="a stopped campaign is final"):
            transition(S.STOPPED, action)


def test_error_lists_what_is_allowed_now() -> None:
    with pytest.raises(IllegalTransitionError, match="allowed now: pause, stop"):
        transition(S.RUNNING, A.RESUME, campaign="c")
