"""What a call is originated with: channel, context, caller id, timeout, our ids, safe variables."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ami import OriginateRequest
from dialer.campaigns import CampaignConfig
from dialer.companies import CompanyConfig
from dialer.db.models import CampaignStatus
from dialer.leasing import LeasedContact
from dialer.pacing import ChannelLimiter, Signal
from dialer.reservations import Admitted
from dialer.retries import RetryPolicy
from dialer.rules import StoredRules
from dialer.trunks import TrunkConfig, parse_ami_url
from dialer.worker.calls import CallPlan, call_variables, failed_result, originate_request

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)
TRUNK = TrunkConfig(3, "carrier", parse_ami_url("ami://u:s@127.0.0.1:5038"), "PJSIP/{number}@carrier",
                    Decimal(10), 30, "+74950000000", True)
CAMPAIGN = CampaignConfig(
    id=7, name="spring", status=CampaignStatus.RUNNING,
    company=CompanyConfig(1, "acme", "Europe/Moscow", StoredRules("fz230-twin"), None),
    rules=StoredRules("fz230-twin"), trunks=(TRUNK,), retry=RetryPolicy(), cps_limit=None, max_channels=None,
    subscriber_column="additional", answered_context="dialer-answered", caller_id=None, dial_timeout_s=25,
    schedule=None, created_at=T0, updated_at=T0,
)
CONTACT = LeasedContact(42, 7, "+79131234567", "id:C-1", "Asia/Novosibirsk", (), 0, "Анна",
                        {"contract": "Д-17", "debt sum": "1500", "bad": "a\r\nAction: Hangup", "comma": "a,b"})
ADMITTED = Admitted(attempt_id=9, channel_id="dlr-42-abcdef0123", attempt_number=1, decided_at=T0)


class _Lane:
    config = TRUNK
    name = TRUNK.name


def test_variables_carry_ids_campaign_values_and_safe_contact_fields() -> None:
    variables = call_variables(CAMPAIGN, {"SIM_HOLD": "2"}, CONTACT, ADMITTED)
    assert variables["DIALER_CALL_ID"] == "dlr-42-abcdef0123"
    assert variables["DIALER_CAMPAIGN"] == "spring" and variables["DIALER_ATTEMPT"] == "9"
    assert variables["SIM_HOLD"] == "2"
    assert variables["CONTACT_CONTRACT"] == "Д-17" and variables["CONTACT_DEBT_SUM"] == "1500"
    # values that would inject AMI headers or be split by Asterisk are left out, never sent
    assert "CONTACT_BAD" not in variables and "CONTACT_COMMA" not in variables


def test_originate_request_uses_the_trunk_template_and_our_channel_id() -> None:
    plan = CallPlan(CAMPAIGN, {}, _Lane(), CONTACT, ADMITTED, (ChannelLimiter(1, Signal()),))  # type: ignore[arg-type]
    request = originate_request(plan)
    assert request.channel == "PJSIP/+79131234567@carrier"
    assert request.context == "dialer-answered" and request.exten == "s"
    assert request.caller_id == "+74950000000"  # the trunk's, as the campaign has none
    assert request.timeout_s == 25 and request.channel_id == "dlr-42-abcdef0123"
    assert plan.ref.attempt_number == 1 and plan.ref.company_id == 1 and plan.ref.subscriber_key == "id:C-1"
    failed = failed_result(plan, "Channel not found", T0)
    assert failed.outcome.value == "failed" and failed.channel_id == "dlr-42-abcdef0123"


def test_a_changed_campaign_value_is_checked_again() -> None:
    assert call_variables(CAMPAIGN, {"SIM_HOLD": "2"}, CONTACT, ADMITTED)["SIM_HOLD"] == "2"
    assert call_variables(CAMPAIGN, {"SIM_HOLD": "2"}, CONTACT, ADMITTED)["SIM_HOLD"] == "2"  # the cached check
    # The same campaign with a value Asterisk would split on: checked anew, left out.
    assert "SIM_HOLD" not in call_variables(CAMPAIGN, {"SIM_HOLD": "2,X=1"}, CONTACT, ADMITTED)
    assert "SIM_HOLD" not in call_variables(CAMPAIGN, {"SIM_HOLD": "2\r\nAction: Hangup"}, CONTACT, ADMITTED)
    renamed = dataclasses.replace(CAMPAIGN, name="bad\r\nAction: Hangup")
    assert "DIALER_CAMPAIGN" not in call_variables(renamed, {"SIM_HOLD": "2"}, CONTACT, ADMITTED)
    assert call_variables(CAMPAIGN, {"SIM_HOLD": "3"}, CONTACT, ADMITTED)["SIM_HOLD"] == "3"


def test_unsafe_values_of_each_call_are_refused_with_the_campaign_part_cached(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(3):
        contact = dataclasses.replace(CONTACT, id=100 + n, extra={"note": f"x{n}\r\nAction: Hangup", "ok": f"{n}"})
        admitted = dataclasses.replace(ADMITTED, channel_id=f"dlr-{n}\nAction: Hangup")
        with caplog.at_level(logging.WARNING, logger="dialer.worker.calls"):
            variables = call_variables(CAMPAIGN, {"SIM_HOLD": "2"}, contact, admitted)
        assert "CONTACT_NOTE" not in variables and "DIALER_CALL_ID" not in variables
        assert variables["CONTACT_OK"] == f"{n}" and variables["DIALER_CONTACT"] == f"{100 + n}"
        assert f"CONTACT_NOTE of contact {100 + n} skipped" in caplog.text
        assert f"DIALER_CALL_ID of contact {100 + n} skipped" in caplog.text
        # what is sent carries no line of its own
        request_fields = OriginateRequest(channel="PJSIP/1@x", context="c", variables=variables).fields("id-1", None)
        assert all("\n" not in value and "\r" not in value for _, value in request_fields)


def test_the_variables_keep_their_order_and_later_values_win() -> None:
    variables = call_variables(CAMPAIGN, {"SIM_HOLD": "2", "DIALER_AMD": "raw", "CONTACT_CONTRACT": "c"},
                               CONTACT, ADMITTED)
    assert list(variables)[:3] == ["SIM_HOLD", "DIALER_AMD", "CONTACT_CONTRACT"]
    assert variables["DIALER_AMD"] == "yes" and variables["CONTACT_CONTRACT"] == "Д-17"
    assert list(variables)[-4:] == ["DIALER_CALL_ID", "DIALER_CAMPAIGN", "DIALER_CONTACT", "DIALER_ATTEMPT"]
