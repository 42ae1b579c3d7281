"""Retention of the decision log: hold-backs older than a cut-off go, each contact's latest stays.

`decision_log` gains a row every time a contact is held back (about one per contact per window
cycle, more under caps), and nothing else ever removes them. The rows `dialer contacts why` and the
campaign statistics need are each contact's latest decision: those are kept whatever their age.
Attempts, CDRs and the caps ledger are records, not logs, and are not touched.

Rows go by ranges of ids, each range in its own transaction (autocommit), so that a prune of
millions of rows neither holds long locks nor builds one huge transaction; ids follow insertion, so
the walk stops at the first range holding nothing older than the cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

DEFAULT_BATCH = 50_000

_BOUNDS_SQL = "SELECT min(id), max(id) FROM decision_log"

# A row goes when it is older than the cut-off and its contact has a later decision. The latest row
# of a contact has none, so no number of concurrent prunes removes it.
_PRUNE_SQL = """
    WITH span AS (
        SELECT d.id, d.at < %(before)s AS old,
               CASE WHEN d.at < %(before)s THEN EXISTS (
                   SELECT 1 FROM decision_log n
                    WHERE n.contact_id = d.contact_id AND n.at >= d.at AND (n.at, n.id) > (d.at, d.id))
               ELSE false END AS doomed
          FROM decision_log d
         WHERE d.id >= %(lo)s AND d.id < %(hi)s),
    gone AS (DELETE FROM decision_log WHERE id IN (SELECT id FROM span WHERE doomed) RETURNING 1)
    SELECT (SELECT count(*) FROM gone), count(*), count(*) FILTER (WHERE old) FROM span
    """


@dataclass(frozen=True, slots=True)
class PruneSummary:
    before: datetime
    removed: int

    def as_json(self) -> dict[str, Any]:
        return {"before": self.before.isoformat(), "removed": self.removed}


async def prune_decisions(
    conn: psycopg.AsyncConnection[Any], before: datetime, *, batch: int = DEFAULT_BATCH
) -> PruneSummary:
    """Remove decisions made before `before` (aware) except each contact's latest; `conn` in autocommit."""
    if before.tzinfo is None:
        raise ValueError("before must be an aware datetime")
    if not conn.autocommit:
        raise ValueError("prune_decisions commits range by range: give it an autocommit connection")
    cur = await conn.execute(_BOUNDS_SQL)
    bounds = await cur.fetchone()
    removed = 0
    if bounds is None or bounds[0] is None:
        return PruneSummary(before, removed)
    lo, last = int(bounds[0]), int(bounds[1])
    while lo <= last:
        cur = await conn.execute(_PRUNE_SQL, {"before": before, "lo": lo, "hi": lo + batch})
        row = await cur.fetchone()
        assert row is not None
        gone, present, old = (int(value) for value in row)
        removed += gone
        if present and not old:
            break  # every later id was written later still
        lo += batch
    return PruneSummary(before, removed)
