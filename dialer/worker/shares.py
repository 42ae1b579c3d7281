"""How much of a shared limit (a trunk's or a campaign's CPS and channels) this worker may use now.

A fair share alone (limit / live workers) is not enough while workers come and go: a worker that
saw a peer join lowers its share, but its calls already up keep their channels until they end. So
every worker publishes, with its heartbeat, the limits it gives itself (`workers.shares`), and the
database tells how many calls each worker has open on each trunk and campaign (`attempts`). A worker
then allows itself

    min(fair share, limit - sum over the others of max(their open calls, their published limit))

for channels, and `min(fair share, limit - sum of the others' published CPS)` for calls per second.
Heartbeats compute this one at a time (an advisory lock), a lower value is applied before it is
published and a higher one only after, so the published values always add up to at most the
limit and each worker's real use stays under what it published. A newcomer thus starts from what the
others leave and grows as they shrink: no transient above the limit. A dead worker's open calls
still count (until reconciled); its published limit does not (it can start no new call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialer.pacing import channel_share_of, share_of

__all__ = ["Allowance", "PublishedShare", "allowance", "parse_shares", "share_key"]


def share_key(kind: str, ident: int) -> str:
    """`trunk:3`, `campaign:7`: keys of `workers.shares`."""
    return f"{kind}:{ident}"


@dataclass(frozen=True, slots=True)
class PublishedShare:
    channels: int
    cps: float | None  # None: no CPS limit of that kind (e.g. a campaign without its own CPS)

    def as_json(self) -> dict[str, Any]:
        return {"channels": self.channels, "cps": self.cps}


def parse_shares(raw: Mapping[str, Any] | None) -> dict[str, PublishedShare]:
    out: dict[str, PublishedShare] = {}
    for key, value in (raw or {}).items():
        if isinstance(value, Mapping):
            cps = value.get("cps")
            out[key] = PublishedShare(int(value.get("channels") or 0), None if cps is None else float(cps))
    return out


@dataclass(frozen=True, slots=True)
class Allowance:
    channels: int
    cps: float | None

    def lower(self, other: Allowance) -> Allowance:
        """The smaller of two allowances, limit by limit (what may be applied before publishing)."""
        cps = None if self.cps is None or other.cps is None else min(self.cps, other.cps)
        return Allowance(min(self.channels, other.channels), cps)


def allowance(
    *,
    me: str,
    channel_limit: int | None,
    cps_limit: float | None,
    serving: Sequence[str],
    published: Mapping[str, PublishedShare],
    open_calls: Mapping[str, int],
) -> Allowance:
    """This worker's channels and CPS on one trunk or campaign.

    `serving`: live workers serving it (this one included or not); `published`: the live others'
    published shares for it; `open_calls`: open attempts on it per worker, dead ones included.
    `channel_limit` None means unlimited channels (returned as a large number).
    """
    members = sorted(set(serving) | {me})
    others = (set(published) | set(open_calls)) - {me}
    if channel_limit is None:
        channels = 1_000_000
    else:
        taken = sum(max(open_calls.get(w, 0), published[w].channels if w in published else 0) for w in others)
        channels = max(0, min(channel_share_of(channel_limit, members, me), channel_limit - taken))
    cps: float | None = None
    if cps_limit is not None:
        taken_cps = sum(published[w].cps or 0.0 for w in others if w in published)
        cps = max(0.0, min(share_of(cps_limit, len(members)), cps_limit - taken_cps))
    return Allowance(channels, cps)
