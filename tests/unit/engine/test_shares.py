"""Shares of a limit among workers that come and go: published limits and open calls never let the
sum exceed the limit (the property), and fair shares when everyone agrees (the examples)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.worker.shares import Allowance, PublishedShare, allowance, parse_shares


def test_alone_gets_everything() -> None:
    a = allowance(me="a", channel_limit=30, cps_limit=20.0, serving=[], published={}, open_calls={})
    assert a == Allowance(30, 20.0)


def test_a_newcomer_gets_what_the_others_leave_then_its_share() -> None:
    # b joins while a still publishes the whole trunk and has 30 calls up
    b = allowance(me="b", channel_limit=30, cps_limit=20.0, serving=["a", "b"],
                  published={"a": PublishedShare(30, 20.0)}, open_calls={"a": 30})
    assert b == Allowance(0, 0.0)
    # a sees b: halves (its calls still up keep their channels)
    a = allowance(me="a", channel_limit=30, cps_limit=20.0, serving=["a", "b"],
                  published={"b": PublishedShare(0, 0.0)}, open_calls={"a": 30})
    assert a == Allowance(15, 10.0)
    # b again: a publishes 15 but still has 22 calls up
    b = allowance(me="b", channel_limit=30, cps_limit=20.0, serving=["a", "b"],
                  published={"a": PublishedShare(15, 10.0)}, open_calls={"a": 22})
    assert b == Allowance(8, 10.0)
    # a's calls drained below its share: b gets its fair half
    b = allowance(me="b", channel_limit=30, cps_limit=20.0, serving=["a", "b"],
                  published={"a": PublishedShare(15, 10.0)}, open_calls={"a": 12})
    assert b == Allowance(15, 10.0)


def test_a_dead_workers_open_calls_still_count_but_not_its_share() -> None:
    a = allowance(me="a", channel_limit=10, cps_limit=None, serving=["a"], published={},
                  open_calls={"dead": 4})
    assert a == Allowance(6, None)


def test_unlimited_channels_and_shares_parsing() -> None:
    a = allowance(me="a", channel_limit=None, cps_limit=5.0, serving=["a", "b"], published={}, open_calls={})
    assert a.channels >= 1_000_000 and a.cps == 2.5
    assert parse_shares({"trunk:1": {"channels": 3, "cps": 1.5}, "junk": 7}) == {"trunk:1": PublishedShare(3, 1.5)}
    assert Allowance(3, 2.0).lower(Allowance(5, 1.0)) == Allowance(3, 1.0)


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 40),
    cps=st.floats(0.5, 100),
    steps=st.lists(st.tuples(st.sampled_from("abc"), st.booleans(), st.integers(0, 40)), min_size=1,
                   max_size=40),
)
def test_published_limits_never_add_up_beyond_the_limit(
    limit: int, cps: float, steps: list[tuple[str, bool, int]]
) -> None:
    """Workers recompute one at a time (the advisory lock), each from the others' latest published
    values; each one's open calls stay under max(what it had, what it published). Whatever the order
    and the joins, the published values and the real use never exceed the limits."""
    published: dict[str, PublishedShare] = {}
    calls: dict[str, int] = {}
    for worker, serving_all, wanted_calls in steps:
        serving = sorted(published) if not serving_all else ["a", "b", "c"]
        a = allowance(me=worker, channel_limit=limit, cps_limit=cps, serving=serving,
                      published={w: p for w, p in published.items() if w != worker},
                      open_calls={w: n for w, n in calls.items() if w != worker})
        published[worker] = PublishedShare(a.channels, a.cps)
        # between heartbeats a worker ends calls freely but starts them only up to its limit
        calls[worker] = min(wanted_calls, max(calls.get(worker, 0), a.channels))
        assert sum(p.channels for p in published.values()) <= limit
        assert sum(p.cps or 0 for p in published.values()) <= cps + 1e-6
        assert sum(max(calls.get(w, 0), published[w].channels) for w in published) <= limit
