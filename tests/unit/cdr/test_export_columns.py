"""The exports read back as call lists (a CRM round trip, a call-back list filtered from the CDRs): no
report column may pass for a subscriber's zone, region or address."""

from __future__ import annotations

import pytest

from cdr import export, results
from dialer.lists.columns import plan_columns


@pytest.mark.parametrize("columns", [export.COLUMNS, results.COLUMNS], ids=["cdr", "results"])
def test_no_report_column_is_read_as_a_subscriber_hint(columns: tuple[tuple[str, str], ...]) -> None:
    header = [name for name, _ in columns]
    plan = plan_columns(header, 1, "subscriber_key")
    assert plan is not None
    assert [header[i] for i in plan.phones] == ["phone"]
    assert (plan.timezone, plan.region, plan.address) == (None, None, None)
    assert plan.subscriber == header.index("subscriber_key")
