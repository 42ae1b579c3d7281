"""AMD end to end: real generated audio over Local channels, classified by [dialer-answered].

With the shipped defaults (asterisk/conf/amd.conf) people are HUMAN, including the hard ones the
product must count for FZ-230 caps (a longer greeting, background noise, late speech, a quiet
voice); answering machines are MACHINE. With Debian's stock values, passed per call as
DIALER_AMD_PARAMS, the same people fall into the known traps: this is what the tuning fixes, and
it proves the per-call override reaches AMD(). The CDR carries the verdict of every call.
"""

from __future__ import annotations

import pytest

from ami import AmiClient, Outcome
from tests.asterisk_fixture import AsteriskSandbox
from tests.integration.amd.calls import DEBIAN_AMD_PARAMS, Trace, place, variant

pytestmark = pytest.mark.asterisk

# The subscriber stays on the line longer than any analysis; the dialer side hangs up after AMD.
QUICK = {"SIM_HOLD": "9", "DIALER_HOLD": "0"}

PEOPLE = {
    "Алло? voice 0": "79160000000",
    "Алло? voice 6 (female)": "79160000006",
    "Алло? voice 7 (slow male)": "79160000007",
    "Да, алло? voice 8": "79160000008",
    "Алло? voice 9 (fast)": "+79160000009",
    "long greeting: Алло, здравствуйте, слушаю вас": variant(0, 3, 6),
    "Да, слушаю вас": variant(0, 5, 9),
    "Алло? ... Алло? (repeats)": variant(0, 4, 7),
    "background noise -42 dBFS": variant(2, 0, 7),
    "loud background noise -38 dBFS": variant(3, 2, 0),
    "long greeting in noise -38 dBFS": variant(3, 3, 8),
    "late speech 1.5 s": variant(4, 1, 8),
    "late speech 3 s (past Debian's initial_silence)": variant(5, 0, 9),
    "late speech 4 s": variant(9, 8, 6),
    "quiet voice -8 dB": variant(6, 2, 6),
    "late speech in noise": variant(7, 5, 0),
}

MACHINES = {
    "long personal voicemail greeting": "79160000005",
    "operator voicemail": variant(0, 1, 5),
    "answering machine, female voice": variant(1, 2, 5),
    "business greeting, fast voice": variant(3, 7, 5),
    "voicemail in noise -42 dBFS": variant(5, 3, 5),
    "voicemail in noise -38 dBFS": variant(6, 4, 5),
    "voicemail that starts late": variant(7, 9, 5),
    "quiet voicemail": variant(8, 8, 5),
}


def assert_reported(trace: Trace, status: str) -> None:
    """The verdict reached the dialer three ways: UserEvent, CallResult and Asterisk's CDR."""
    assert trace.result.outcome is Outcome.ANSWERED
    assert trace.amd["AMDStatus"] == status, trace.amd
    assert trace.amd["DialerCallId"] == trace.channel_id
    assert trace.result.amd_status == status
    assert trace.cdr["AMDStatus"] == status
    assert trace.cdr["AMDCause"] == trace.amd["AMDCause"]
    assert trace.cdr["DialerCallId"] == trace.channel_id
    assert trace.cdr["Disposition"] == "ANSWERED"


@pytest.mark.parametrize("case", list(PEOPLE))
async def test_people_are_human_with_the_shipped_defaults(client: AmiClient, case: str) -> None:
    trace = await place(client, PEOPLE[case], QUICK)

    assert_reported(trace, "HUMAN")
    assert trace.amd["AMDCause"].startswith("HUMAN-")


@pytest.mark.parametrize("case", list(MACHINES))
async def test_answering_machines_are_machine_with_the_shipped_defaults(client: AmiClient, case: str) -> None:
    trace = await place(client, MACHINES[case], QUICK)

    assert_reported(trace, "MACHINE")


# Debian's amd.conf on the same audio: (number, the status and the cause prefix it gives).
DEBIAN_TRAPS = {
    # maximum_number_of_words = 2: the second word already means MACHINE.
    "long greeting -> MAXWORDS": (variant(0, 3, 6), "MACHINE", "MAXWORDS-"),
    # The person starts after initial_silence = 2500 ms.
    "late speech -> INITIALSILENCE": (variant(5, 0, 9), "MACHINE", "INITIALSILENCE-"),
    # Noise above silence_threshold = 256 never lets the after-greeting silence come.
    "noise -> not HUMAN": (variant(3, 0, 7), None, None),
}


@pytest.mark.parametrize("case", list(DEBIAN_TRAPS))
async def test_debian_defaults_fall_into_the_traps(client: AmiClient, case: str) -> None:
    number, status, cause = DEBIAN_TRAPS[case]

    trace = await place(client, number, {**QUICK, "DIALER_AMD_PARAMS": DEBIAN_AMD_PARAMS})

    if status is None or cause is None:
        assert trace.amd["AMDStatus"] != "HUMAN", trace.amd
    else:
        assert trace.amd["AMDStatus"] == status, trace.amd
        assert trace.amd["AMDCause"].startswith(cause), trace.amd
    assert trace.cdr["AMDStatus"] == trace.amd["AMDStatus"]


async def test_a_campaign_overrides_single_parameters(client: AmiClient) -> None:
    # Empty fields keep amd.conf's values: only initial_silence becomes 2000 ms, so a person who
    # speaks after 3 s is an INITIALSILENCE machine for this call.
    trace = await place(client, variant(5, 0, 9), {**QUICK, "DIALER_AMD_PARAMS": "2000"})

    assert trace.amd["AMDStatus"] == "MACHINE"
    assert trace.amd["AMDCause"].startswith("INITIALSILENCE-2000-2000"), trace.amd


async def test_no_decision_within_the_analysis_time_is_notsure(client: AmiClient) -> None:
    # total_analysis_time 2000 ms, the fourth field; the person only speaks after 4 s.
    trace = await place(client, variant(9, 0, 7), {**QUICK, "DIALER_AMD_PARAMS": "///2000"})

    assert_reported(trace, "NOTSURE")
    assert trace.amd["AMDCause"].startswith("TOOLONG-"), trace.amd


async def test_far_side_hanging_up_during_analysis_is_hangup(client: AmiClient) -> None:
    # Says "Алло?" after 4 s of silence and hangs up at once, before the after-greeting silence
    # could decide: the `h` extension reports HANGUP.
    trace = await place(client, variant(9, 0, 6), {"SIM_HOLD": "0", "DIALER_HOLD": "0"})

    assert_reported(trace, "HANGUP")


async def test_the_noise_threshold_survives_a_reload(client: AmiClient, asterisk: AsteriskSandbox) -> None:
    # Asterisk 22 resets AMD's silence_threshold to dsp.conf's on a reload that finds amd.conf
    # unchanged; dsp.conf carries the same value, so a noisy line stays a person afterwards.
    asterisk.cli("module reload app_amd.so")

    trace = await place(client, variant(3, 0, 7), QUICK)

    assert_reported(trace, "HUMAN")
