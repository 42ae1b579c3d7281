"""Answered-leg settings: validation naming the option, storage round trip, channel variables."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dialer.answered import AnsweredLeg, Route, RouteKind, leg_variables, parse_amd_params
from dialer.campaigns import CampaignConfig
from dialer.companies import CompanyConfig
from dialer.db.models import CampaignStatus
from dialer.errors import InvalidValueError
from dialer.leasing import LeasedContact
from dialer.reservations import Admitted
from dialer.retries import MachineAction, RetryPolicy
from dialer.rules import StoredRules
from dialer.trunks import TrunkConfig, parse_ami_url
from dialer.worker.calls import call_variables

T0 = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)


def test_amd_params_keep_empty_fields_and_drop_trailing_ones() -> None:
    assert parse_amd_params("2500/1600/800/5000/100/50/5/576/5000") == "2500/1600/800/5000/100/50/5/576/5000"
    assert parse_amd_params("///7000") == "///7000"
    assert parse_amd_params("2000//") == "2000"
    assert parse_amd_params(" 0100 / ") == "100"
    assert parse_amd_params("///") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1/2/3/4/5/6/7/8/9/10", "10 fields; AMD takes at most 9"),
        ("2500/abc", "field 2 (greeting) is 'abc'"),
        ("2500/-1", "field 2 (greeting) is '-1'"),
        ("//1.5", "field 3 (after_greeting_silence) is '1.5'"),
        ("///////99999", "field 8 (silence_threshold) is '99999': a whole number 0 to 32767"),
    ],
)
def test_amd_params_errors_name_the_option_and_the_field(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        parse_amd_params(text)
    assert caught.value.field == "amd_params" and message in caught.value.message


def test_routes_of_every_kind() -> None:
    assert Route.parse("playback:dialer/prompt-hello&dialer/prompt-message") == Route(
        RouteKind.PLAYBACK, "dialer/prompt-hello&dialer/prompt-message")
    assert Route.parse("queue:dialer-sim").value == "queue:dialer-sim"
    assert Route.parse("agi:agi://127.0.0.1:4573/bot").target == "agi://127.0.0.1:4573/bot"
    assert Route.parse("EXTEN:report@sim-bot") == Route(RouteKind.EXTEN, "report@sim-bot")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dialer/prompt-hello", "must be one of playback:<...> | queue:<...>"),
        ("voicemail:x", "unknown route kind 'voicemail'"),
        ("playback:", "the target after ':' must not be empty"),
        ("playback:a,b", "contains ','"),
        ("queue:q(1)", "contains '('"),
        ('agi:x"y', "contains '\"'"),
        ("playback:a\\b", "contains '\\\\'"),
        ("queue:a[1]", "contains '['"),
        ("playback:a\nAction: Hangup", "contains '\\n'"),
        ("exten:report", "must be written exten:<exten>@<context>"),
        ("exten:@sim-bot", "must be written exten:<exten>@<context>"),
        ("playback:" + "a" * 201, "longer than 200 characters"),
    ],
)
def test_bad_routes_are_refused_naming_the_option(text: str, message: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        Route.parse(text)
    assert caught.value.field == "route" and message in caught.value.message


def test_machine_message_is_required_with_machine_message_and_checked() -> None:
    with pytest.raises(InvalidValueError) as caught:
        AnsweredLeg.build(machine=MachineAction.MESSAGE)
    assert caught.value.field == "machine_message" and "required with machine=message" in caught.value.message
    with pytest.raises(InvalidValueError) as caught:
        AnsweredLeg.build(machine=MachineAction.MESSAGE, machine_message="a,b")
    assert caught.value.field == "machine_message"
    assert AnsweredLeg.build(machine=MachineAction.MESSAGE, machine_message="dialer/prompt-message").machine_message


def test_stored_round_trip_and_defaults_for_old_rows() -> None:
    leg = AnsweredLeg.build(amd=False, amd_params="2000", route="queue:dialer-sim", machine=MachineAction.MESSAGE,
                            machine_message="dialer/prompt-message", notsure_as_machine=True)
    assert AnsweredLeg.from_stored({"machine": "message", **leg.stored()}) == leg
    assert AnsweredLeg.from_stored({"machine": "retry", "variables": {"SIM_HOLD": "2"}}) == AnsweredLeg()


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        (MachineAction.RETRY, "retry"),
        (MachineAction.HANGUP, "hangup"),
        (MachineAction.COMPLETE, "continue"),
        (MachineAction.MESSAGE, "message:dialer/prompt-message"),
    ],
)
def test_machine_action_to_dialplan_value(machine: MachineAction, expected: str) -> None:
    leg = AnsweredLeg(machine_message="dialer/prompt-message")
    assert leg_variables(leg, machine)["DIALER_MACHINE"] == expected


def test_leg_variables_send_only_what_is_set() -> None:
    assert leg_variables(AnsweredLeg(), MachineAction.RETRY) == {"DIALER_AMD": "yes", "DIALER_MACHINE": "retry"}
    leg = AnsweredLeg(amd=False, amd_params="///7000", route=Route(RouteKind.EXTEN, "report@sim-bot"),
                      notsure_as_machine=True)
    assert leg_variables(leg, MachineAction.HANGUP) == {
        "DIALER_AMD": "no", "DIALER_AMD_PARAMS": "///7000", "DIALER_ROUTE": "exten:report@sim-bot",
        "DIALER_MACHINE": "hangup", "DIALER_NOTSURE": "machine",
    }
    # a row stored before machine_message existed: hang up rather than send `message:`
    assert leg_variables(AnsweredLeg(), MachineAction.MESSAGE)["DIALER_MACHINE"] == "hangup"


TRUNK = TrunkConfig(3, "carrier", parse_ami_url("ami://u:s@127.0.0.1:5038"), "PJSIP/{number}@carrier",
                    Decimal(10), 30, None, True)
CAMPAIGN = CampaignConfig(
    id=7, name="spring", status=CampaignStatus.RUNNING,
    company=CompanyConfig(1, "acme", "Europe/Moscow", StoredRules("fz230-twin"), None),
    rules=StoredRules("fz230-twin"), trunks=(TRUNK,), retry=RetryPolicy(machine=MachineAction.MESSAGE),
    cps_limit=None, max_channels=None, subscriber_column="additional", answered_context="dialer-answered",
    caller_id=None, dial_timeout_s=25, schedule=None, created_at=T0, updated_at=T0,
    answered=AnsweredLeg(amd_params="2000", route=Route(RouteKind.PLAYBACK, "dialer/prompt-hello"),
                         machine_message="dialer/prompt-message"),
)
CONTACT = LeasedContact(42, 7, "+79131234567", "id:C-1", "Asia/Novosibirsk", (), 0, "Анна",
                        {"order id": "Д-17"})
ADMITTED = Admitted(attempt_id=9, channel_id="dlr-42-abcdef0123", attempt_number=1, decided_at=T0)


def test_originate_variables_combine_campaign_settings_variables_contact_and_ids() -> None:
    raw = {"SIM_HOLD": "10", "DIALER_ROUTE": "queue:old", "DIALER_HOLD": "1"}
    variables = call_variables(CAMPAIGN, raw, CONTACT, ADMITTED)
    assert variables == {
        "SIM_HOLD": "10", "DIALER_HOLD": "1",
        # the typed settings win over a raw variable of the same name
        "DIALER_ROUTE": "playback:dialer/prompt-hello",
        "DIALER_AMD": "yes", "DIALER_AMD_PARAMS": "2000", "DIALER_MACHINE": "message:dialer/prompt-message",
        "CONTACT_ORDER_ID": "Д-17",
        "DIALER_CALL_ID": "dlr-42-abcdef0123", "DIALER_CAMPAIGN": "spring", "DIALER_CONTACT": "42",
        "DIALER_ATTEMPT": "9",
    }
    # no route set: a raw DIALER_ROUTE still reaches the dialplan
    plain = dataclasses.replace(CAMPAIGN, answered=AnsweredLeg(amd=False), retry=RetryPolicy())
    variables = call_variables(plain, raw, CONTACT, ADMITTED)
    assert variables["DIALER_ROUTE"] == "queue:old" and variables["DIALER_AMD"] == "no"
    assert variables["DIALER_MACHINE"] == "retry" and "DIALER_NOTSURE" not in variables
