"""`dialer compliance check`: may this number be called at this instant, and if not, why and when.

The registry comes from `--registry`, else the `registry_paths` setting (DIALER_REGISTRY), else the files
imported with `dialer registry import` (when a database is configured or the embedded one is running).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from compliance import (
    AnsweredCounts,
    ComplianceError,
    Decision,
    InvalidPhoneError,
    InvalidTimezoneError,
    Registry,
    RuleSet,
    Subscriber,
    TzHints,
    TzResolution,
    TzSource,
    decide,
    load_rules,
    normalize_phone,
    resolve_timezone,
    zone_info,
    zones_for_text,
)
from dialer.cli.common import SHEET_HELP, err_console, fail
from dialer.errors import DialerError

if TYPE_CHECKING:
    from dialer.lists import Reject

app = typer.Typer(
    help="Compliance: subscriber time zones, calling windows (FZ-230, TCPA) and caps.", no_args_is_help=True
)


@app.callback()
def _group() -> None:
    """Compliance: subscriber time zones, calling windows (FZ-230, TCPA) and caps."""


def _iso_utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


_AT_YEARS = (1900, 2200)


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"--at: {text!r} is not an ISO 8601 instant (e.g. 2026-04-20T14:00:00+03:00)", code=2)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)  # a naive --at is UTC, never the server's zone
    if not _AT_YEARS[0] <= instant.year <= _AT_YEARS[1]:  # calendars and next windows stay computable
        fail(f"--at: {text!r} is out of range (years {_AT_YEARS[0]} to {_AT_YEARS[1]})", code=2)
    return instant.astimezone(UTC)


def _registry_from_database() -> Registry | None:
    """Stored registry ranges, when a database is configured or the embedded server already runs."""
    from sqlalchemy.exc import SQLAlchemyError

    from dialer.db.embedded import EmbeddedPostgres
    from dialer.db.session import make_engine, session_scope
    from dialer.registry_store import load_registry
    from dialer.runtime import run
    from dialer.settings import get_settings

    settings = get_settings()
    url = settings.database_url
    if url is None:
        server = EmbeddedPostgres(settings.pg_dir).running_server()
        if server is None:
            return None
        url = server.url()

    async def read() -> Registry | None:
        engine = make_engine(url, pool_size=1, max_overflow=0)
        try:
            async with session_scope(engine) as session:
                return await load_registry(session)
        finally:
            await engine.dispose()

    try:
        return run(read())
    except (SQLAlchemyError, OSError) as exc:
        err_console.print(f"warning: registry not read from the database: {exc}", highlight=False, soft_wrap=True)
        return None


def _registry(paths: list[Path]) -> Registry | None:
    if not paths:
        from dialer.settings import get_settings

        paths = list(get_settings().registry_paths)
    if paths:
        return Registry.from_files(paths)
    return _registry_from_database()


_NO_REGISTRY = (
    "warning: no numbering registry loaded: Russian mobile numbers get every Russian zone as a candidate; "
    "load one with --registry DEF-9xx.csv, the DIALER_REGISTRY setting or `dialer registry import`"
)


class _RegistryWarning:
    """Says once, on stderr, that +7 numbers were resolved without a registry."""

    def __init__(self, registry: Registry | None) -> None:
        self._pending = registry is None

    def after(self, checked: _Checked) -> None:
        if self._pending and checked.phone.startswith("+7") and checked.resolution.source is not TzSource.EXPLICIT:
            self._pending = False
            err_console.print(_NO_REGISTRY, highlight=False, soft_wrap=True, markup=False)


@dataclass(frozen=True, slots=True)
class _Checked:
    phone: str
    resolution: TzResolution
    decision: Decision
    at: datetime
    rules: RuleSet

    def as_json(self) -> dict[str, Any]:
        zone = self.resolution.zone
        return {
            "phone": self.phone,
            "timezone": zone,
            "tz_source": self.resolution.source.value,
            "candidates": list(self.resolution.candidates),
            "local_time": self.at.astimezone(zone_info(zone)).isoformat() if zone else None,
            "at": _iso_utc(self.at),
            "rules": self.rules.name,
            "allowed": self.decision.allowed,
            "reasons": [{"code": reason.code.value, "message": reason.message} for reason in self.decision.reasons],
            "next_allowed_at": _iso_utc(self.decision.next_allowed_at) if self.decision.next_allowed_at else None,
        }

    def sentence(self) -> str:
        zone = self.resolution.zone
        source = self.resolution.source.value
        if zone:
            where = f"local {self.at.astimezone(zone_info(zone)).strftime('%Y-%m-%d %H:%M:%S')} {zone}, from {source}"
        elif self.resolution.candidates:
            where = f"zone unknown, {len(self.resolution.candidates)} candidate zones ({source})"
        else:
            where = "zone unknown"
        head = f"{self.phone} at {_iso_utc(self.at)} ({where}), rules {self.rules.name}:"
        if self.decision.allowed:
            return f"{head} allowed."
        reasons = "; ".join(str(reason) for reason in self.decision.reasons)
        if self.decision.next_allowed_at is None:
            return f"{head} not allowed ({reasons}); never allowed under these rules."
        following = self.decision.next_allowed_at
        local = f" ({following.astimezone(zone_info(zone)).strftime('%Y-%m-%d %H:%M:%S')} local)" if zone else ""
        return f"{head} not allowed ({reasons}); next allowed at {_iso_utc(following)}{local}."


def _check_one(
    raw_phone: str, hints: TzHints, at: datetime, counts: AnsweredCounts, rules: RuleSet, registry: Registry | None
) -> _Checked:
    phone = normalize_phone(raw_phone, registry=registry)
    return _decided(phone, resolve_timezone(phone, hints, registry), at, counts, rules)


def _decided(phone: str, resolution: TzResolution, at: datetime, counts: AnsweredCounts, rules: RuleSet) -> _Checked:
    decision = decide(Subscriber.from_resolution(phone, resolution), at, counts, rules)
    return _Checked(phone, resolution, decision, at, rules)


def _field(error: ComplianceError, phone: str, timezone: str) -> str:
    if isinstance(error, InvalidPhoneError):
        return f"{phone}: "
    if isinstance(error, InvalidTimezoneError):
        return f"{timezone}: "
    return ""


def _rejected(path: Path, reject: Reject, registry: Registry | None) -> str:
    """A phone value of `--file` left out, as `file: line N: column: why` (an invalid number's full reason)."""
    from dialer.lists import RejectReason

    message = f"{reject.value!r}: {reject.message}" if reject.value else reject.message
    if reject.reason is RejectReason.INVALID_NUMBER:
        try:
            normalize_phone(reject.value, registry=registry)
        except InvalidPhoneError as exc:
            message = str(exc)
    return f"{path}: line {reject.row}: {reject.column}: {message}"


def _check_file(
    path: Path, sheet: str | None, defaults: TzHints | None, at: datetime, counts: AnsweredCounts, rules: RuleSet,
    registry: Registry | None,
) -> None:
    """One JSON object per phone value of a file read as `dialer lists import` reads it; exit 2 after
    the last one when a value could not be checked (each named on stderr)."""
    # The list reader brings the database layer with it: imported only for a file.
    from dialer.lists import CallListError, EmptyFileError, Reject
    from dialer.lists.numbers import read_numbers

    warning = _RegistryWarning(registry)
    checked_any = failures = 0
    try:
        for item in read_numbers(path, sheet=sheet, registry=registry):
            if isinstance(item, Reject):
                line = _rejected(path, item, registry)
                if item.reason.is_note:
                    err_console.print(f"warning: {line}", highlight=False, soft_wrap=True, markup=False)
                else:
                    failures += 1
                    err_console.print(line, highlight=False, soft_wrap=True, markup=False)
                continue
            resolution = item.zone
            if defaults is not None and resolution.source is not TzSource.EXPLICIT:  # the row names no zone
                try:
                    resolution = resolve_timezone(item.phone, defaults, registry)
                except InvalidTimezoneError as exc:
                    fail(f"--tz: {exc}", code=2)
            checked = _decided(item.phone, resolution, at, counts, rules)
            warning.after(checked)
            checked_any += 1
            typer.echo(json.dumps({"line": item.row, "column": item.column, **checked.as_json()}, ensure_ascii=False))
    except EmptyFileError:
        fail(f"--file: {path} has no numbers", code=2)
    except (CallListError, ComplianceError) as exc:
        fail(f"--file: {exc}", code=2)
    sys.stdout.flush()
    if failures:
        raise typer.Exit(2)
    if not checked_any:
        fail(f"--file: {path} has no numbers", code=2)


@app.command("check")
def check(
    phone: Annotated[str | None, typer.Argument(help="Phone number (E.164, or Russian national format).")] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="ISO 8601 instant to check (default: now; without offset: UTC).")
    ] = None,
    rules: Annotated[str, typer.Option("--rules", help="fz230-twin | fz230-law | tcpa | FILE.toml")] = "fz230-twin",
    tz: Annotated[
        str | None, typer.Option("--tz", help="Explicit zone: IANA name or offset (+07:00, UTC+7, MSK+4).")
    ] = None,
    region: Annotated[str | None, typer.Option("--region", help="Explicit region name or address.")] = None,
    answered_today: Annotated[int, typer.Option("--answered-today", min=0, help="Calls answered today (local).")] = 0,
    answered_week: Annotated[int, typer.Option("--answered-week", min=0, help="Answered this ISO week (local).")] = 0,
    answered_month: Annotated[int, typer.Option("--answered-month", min=0, help="Answered this month (local).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="A call list (CSV or XLSX, read as `lists import` reads it), or one column of "
                                    "numbers: one JSON object per number."),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help=SHEET_HELP)] = None,
    registry_paths: Annotated[
        list[Path] | None,
        typer.Option("--registry", help="Registry CSV file(s) to use instead of settings or the database."),
    ] = None,
) -> None:
    """Check a number (or a file of numbers) against calling windows and caps at an instant."""
    if (phone is None) == (file is None):
        fail("give either PHONE or --file numbers.csv", code=2)
    instant = _parse_at(at)
    if region is not None and not zones_for_text(region):
        fail(f"--region: {region!r} names no Russian region (e.g. 'Новосибирская область', 'Kaliningrad')", code=2)
    try:
        rule_set = load_rules(rules)
        counts = AnsweredCounts(at=instant, day=answered_today, week=answered_week, month=answered_month)
        registry = _registry(registry_paths or [])
    except (ComplianceError, DialerError) as exc:
        fail(str(exc), code=2)

    if phone is not None:
        if sheet is not None:
            fail("--sheet goes with --file", code=2)
        try:
            checked = _check_one(phone, TzHints(timezone=tz, region=region), instant, counts, rule_set, registry)
        except ComplianceError as exc:
            fail(f"{_field(exc, 'PHONE', '--tz')}{exc}", code=2)
        _RegistryWarning(registry).after(checked)
        typer.echo(json.dumps(checked.as_json(), ensure_ascii=False) if as_json else checked.sentence())
        return

    assert file is not None
    defaults = TzHints(timezone=tz, region=region) if tz is not None or region is not None else None
    _check_file(file, sheet, defaults, instant, counts, rule_set, registry)
