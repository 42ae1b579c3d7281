"""Request bodies of the API. Values are checked by the same functions as the CLI's (dialer.*)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from dialer.campaigns import CampaignSpec
from dialer.companies import DEFAULT_COMPANY, DEFAULT_TIMEZONE
from dialer.errors import InvalidValueError
from dialer.trunks import TrunkSpec

__all__ = ["CampaignIn", "CampaignPatch", "CompanyIn", "TrunkIn", "TrunkPatch"]


def _not_a_bool(value: object) -> object:
    if isinstance(value, bool):  # JSON true would otherwise be read as 1
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


# Calls per second: a JSON number or a decimal string ("7.5"), checked by dialer.trunks.parse_cps.
Cps = Annotated[float | str, BeforeValidator(_not_a_bool)]


def _retry_spec(value: object) -> object:
    """{"busy": "10m", "no_answer": 1800} is the CLI's "busy=10m,no_answer=1800s" (a bare number is seconds)."""
    if not isinstance(value, dict):
        return value
    parts = []
    for outcome, delay in value.items():
        if isinstance(delay, bool) or not isinstance(delay, str | int):
            raise ValueError(f"{outcome}: expected a duration such as \"10m\" or a whole number of seconds")
        parts.append(f"{outcome}={delay}s" if isinstance(delay, int) else f"{outcome}={delay}")
    return ",".join(parts)


# Retry delays by outcome: the CLI's text, or an object of outcome to duration; checked by
# dialer.retries.RetryPolicy.
Retry = Annotated[str, BeforeValidator(_retry_spec)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not a silent default


class TrunkIn(_Body):
    name: str
    ami: str = Field(description="ami://user:secret@host:port")
    dial: str = Field(description="Dial string with {number}")
    cps: Cps = 10
    max_channels: StrictInt = 30
    caller_id: str | None = None

    def spec(self) -> TrunkSpec:
        return TrunkSpec(self.name, self.ami, self.dial, str(self.cps), self.max_channels, self.caller_id)


class TrunkPatch(_Body):
    ami: str | None = None
    dial: str | None = None
    cps: Cps | None = None
    max_channels: StrictInt | None = None
    caller_id: str | None = None
    enabled: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        changes = {key: getattr(self, key) for key in self.model_fields_set}
        if changes.get("cps") is not None:
            changes["cps"] = str(changes["cps"])
        if not changes:
            raise InvalidValueError("body", "give at least one setting to change")
        return changes


def _no_server_paths(rules: str | None, rules_toml: str | None) -> None:
    # The CLI reads FILE.toml from the user's disk; over HTTP the file's text comes in the body,
    # never a path on the server.
    if rules is not None and rules.strip().lower().endswith(".toml") and rules_toml is None:
        raise InvalidValueError("rules", "over the API send the file's text in rules_toml (rules is its name)")


class _CampaignFields(_Body):
    rules: str | None = None
    rules_toml: str | None = None
    cps: Cps | None = None
    max_channels: StrictInt | None = None
    max_attempts: StrictInt | None = None
    retry: Retry | None = None
    machine: str | None = None
    reached: str | None = Field(None, description="continue | complete: a subscriber's other numbers once a "
                                                  "person answered one")
    subscriber_column: str | None = None
    answered_context: str | None = None
    caller_id: str | None = None
    dial_timeout: StrictInt | None = None
    schedule: str | None = None
    amd: StrictBool | None = None
    amd_params: str | None = Field(None, description="AMD's 9 values joined by '/', empty keeps the default")
    route: str | None = Field(None, description="playback:FILE | queue:NAME | agi:SCRIPT | exten:EXTEN@CONTEXT")
    machine_message: str | None = Field(None, description="file played to a machine (machine=message)")
    notsure_as_machine: StrictBool | None = None


class CampaignIn(_CampaignFields):
    name: str
    trunks: list[str]
    company: str = DEFAULT_COMPANY

    def spec(self) -> CampaignSpec:
        _no_server_paths(self.rules, self.rules_toml)
        given = {
            key: value
            for key, value in self.model_dump(exclude={"name", "trunks", "company"}).items()
            if value is not None
        }
        if "cps" in given:
            given["cps"] = str(given["cps"])
        return CampaignSpec(name=self.name, trunks=tuple(self.trunks), company=self.company, **given)


class CampaignPatch(_CampaignFields):
    trunks: list[str] | None = None

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent; an explicit null clears an optional setting."""
        _no_server_paths(self.rules, self.rules_toml)
        changes = {key: getattr(self, key) for key in self.model_fields_set}
        if changes.get("trunks") is not None:
            changes["trunks"] = tuple(changes["trunks"])
        elif "trunks" in changes:
            raise InvalidValueError("trunks", "cannot be cleared: a campaign needs a trunk")
        if changes.get("cps") is not None:
            changes["cps"] = str(changes["cps"])
        if not changes:
            raise InvalidValueError("body", "give at least one setting to change")
        return changes


class CompanyIn(_Body):
    name: str
    timezone: str = DEFAULT_TIMEZONE
    rules: str | None = None
    rules_toml: str | None = None
    parent: str | None = None


class DncNumbers(_Body):
    phones: Annotated[list[str], Field(min_length=1, max_length=100_000,
                                       description="Numbers in any usual spelling; a longer list goes as a file")]
