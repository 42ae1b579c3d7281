"""A campaign's answered leg: AMD on/off and parameters, the person's route, the machine's treatment.

Validated once here (CLI and API alike), stored in `campaigns.settings`, and turned into the channel
variables `[dialer-answered]` reads (asterisk/README.md, "The answered leg").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialer.errors import InvalidValueError
from dialer.retries import MachineAction

__all__ = ["AMD_PARAM_NAMES", "AnsweredLeg", "Route", "RouteKind", "leg_variables", "parse_amd_params"]

# AMD()'s arguments in order (app_amd.c); the dialplan passes DIALER_AMD_PARAMS split on `/`.
AMD_PARAM_NAMES = (
    "initial_silence", "greeting", "after_greeting_silence", "total_analysis_time", "min_word_length",
    "between_words_silence", "maximum_number_of_words", "silence_threshold", "maximum_word_length",
)
_AMD_PARAM_MAX = 32767  # app_amd keeps them in ints; a larger value is a typo, not a tuning
# Asterisk splits Originate `Variable:` values on these and interprets the rest (ami.protocol refuses them).
_UNSAFE = re.compile(r'[,"\\()\[\]\x00-\x1f\x7f]')
_MAX_TARGET = 200


class RouteKind(enum.StrEnum):
    """Where a person goes after AMD (`DIALER_ROUTE=<kind>:<target>`)."""

    PLAYBACK = "playback"  # sound file(s), `&`-joined
    QUEUE = "queue"  # queue name
    AGI = "agi"  # FastAGI script name or agi://host:port/script
    EXTEN = "exten"  # <exten>@<context>


@dataclass(frozen=True, slots=True)
class Route:
    kind: RouteKind
    target: str

    @property
    def value(self) -> str:
        return f"{self.kind.value}:{self.target}"

    @classmethod
    def parse(cls, text: str, *, field_name: str = "route") -> Route:
        kind_text, sep, target = text.strip().partition(":")
        kinds = " | ".join(f"{k.value}:<...>" for k in RouteKind)
        if not sep:
            raise InvalidValueError(field_name, f"{text!r} must be one of {kinds}")
        try:
            kind = RouteKind(kind_text.lower())
        except ValueError:
            raise InvalidValueError(field_name, f"unknown route kind {kind_text!r} (use {kinds})") from None
        _check_target(target, field_name)
        if kind is RouteKind.EXTEN:
            exten, at, context = target.partition("@")
            if not at or not exten or not context:
                raise InvalidValueError(field_name, f"{target!r} must be written exten:<exten>@<context>")
        return cls(kind, target)


def _check_target(target: str, field_name: str) -> str:
    if not target:
        raise InvalidValueError(field_name, "the target after ':' must not be empty")
    if len(target) > _MAX_TARGET:
        raise InvalidValueError(field_name, f"longer than {_MAX_TARGET} characters")
    bad = _UNSAFE.search(target)
    if bad is not None:
        raise InvalidValueError(
            field_name, f"{target!r} contains {bad.group()!r}; Asterisk would split or interpret it "
            "(no , \" \\ ( ) [ ] or control characters)",
        )
    return target


def parse_amd_params(text: str, *, field_name: str = "amd_params") -> str | None:
    """`2500/1600/800/5000/100/50/5/576/5000` (empty fields keep amd.conf's value) -> normalised text.

    At most nine `/`-separated whole numbers; trailing empty fields are dropped; None when all empty.
    """
    fields = [f.strip() for f in text.strip().split("/")]
    if len(fields) > len(AMD_PARAM_NAMES):
        raise InvalidValueError(
            field_name, f"{len(fields)} fields; AMD takes at most {len(AMD_PARAM_NAMES)}: "
            + "/".join(AMD_PARAM_NAMES),
        )
    for i, value in enumerate(fields):
        if value and (not value.isascii() or not value.isdigit() or int(value) > _AMD_PARAM_MAX):
            raise InvalidValueError(
                field_name, f"field {i + 1} ({AMD_PARAM_NAMES[i]}) is {value!r}: "
                f"a whole number 0 to {_AMD_PARAM_MAX}, or empty for the default",
            )
    fields = [str(int(v)) if v else "" for v in fields]
    while fields and not fields[-1]:
        fields.pop()
    return "/".join(fields) or None


@dataclass(frozen=True, slots=True)
class AnsweredLeg:
    """What the dialplan does with an answered call (the machine action itself is `RetryPolicy.machine`)."""

    amd: bool = True
    amd_params: str | None = None  # normalised DIALER_AMD_PARAMS; None: amd.conf's defaults
    route: Route | None = None  # None: the dialplan's default (DIALER_AGI_SCRIPT / DIALER_HOLD)
    machine_message: str | None = None  # played to a machine when machine=message
    notsure_as_machine: bool = False

    @classmethod
    def build(
        cls, *, amd: bool = True, amd_params: str | None = None, route: str | None = None,
        machine: MachineAction | None = None, machine_message: str | None = None,
        notsure_as_machine: bool = False,
    ) -> AnsweredLeg:
        """Validate user input; errors name the option (`amd_params`, `route`, `machine_message`).

        `machine` is the campaign's machine action, checked against `machine_message`; None skips that.
        """
        message = machine_message.strip() if machine_message else None
        if message is not None:
            _check_target(message, "machine_message")
        if machine is MachineAction.MESSAGE and message is None:
            raise InvalidValueError("machine_message", "required with machine=message (the file to play)")
        return cls(
            amd=bool(amd),
            amd_params=parse_amd_params(amd_params) if amd_params else None,
            route=Route.parse(route) if route else None,
            machine_message=message,
            notsure_as_machine=bool(notsure_as_machine),
        )

    @classmethod
    def from_stored(cls, settings: Mapping[str, Any]) -> AnsweredLeg:
        """From `campaigns.settings` as `stored()` wrote it (absent keys: defaults).

        A row from before these settings may say machine=message without a file: it loads (and
        `leg_variables` hangs up on machines) rather than making the whole campaign unloadable.
        """
        return cls.build(
            amd=settings.get("amd", True), amd_params=settings.get("amd_params"), route=settings.get("route"),
            machine_message=settings.get("machine_message"),
            notsure_as_machine=settings.get("notsure_as_machine", False),
        )

    def stored(self) -> dict[str, Any]:
        """The `campaigns.settings` keys (JSON)."""
        return {
            "amd": self.amd,
            "amd_params": self.amd_params,
            "route": None if self.route is None else self.route.value,
            "machine_message": self.machine_message,
            "notsure_as_machine": self.notsure_as_machine,
        }


# MachineAction -> DIALER_MACHINE (asterisk/README.md, "Routing after AMD").
_MACHINE_VALUES: Mapping[MachineAction, str] = {
    MachineAction.RETRY: "retry",  # hang up; the worker's retry policy dials again
    MachineAction.HANGUP: "hangup",
    MachineAction.COMPLETE: "continue",  # the person's route
}


def leg_variables(leg: AnsweredLeg, machine: MachineAction) -> dict[str, str]:
    """Channel variables for `[dialer-answered]`; unset optional values are not sent (dialplan defaults)."""
    out = {"DIALER_AMD": "yes" if leg.amd else "no"}
    if leg.amd_params:
        out["DIALER_AMD_PARAMS"] = leg.amd_params
    if leg.route is not None:
        out["DIALER_ROUTE"] = leg.route.value
    if machine is MachineAction.MESSAGE:
        # build() requires the file; an old row without one falls back to hanging up.
        out["DIALER_MACHINE"] = f"message:{leg.machine_message}" if leg.machine_message else "hangup"
    else:
        out["DIALER_MACHINE"] = _MACHINE_VALUES[machine]
    if leg.notsure_as_machine:
        out["DIALER_NOTSURE"] = "machine"
    return out
