"""Which compliance rule set a company or campaign uses, as stored and as compliance/ loads it.

A preset is stored by name (`fz230-twin`); a TOML file is stored by content in `rules_toml`, so a
campaign keeps the rules it was created with even if the file changes or lives on another host.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from compliance.errors import ComplianceError
from compliance.rules import PRESETS, RuleSet, load_rules
from dialer.errors import InvalidValueError

__all__ = ["DEFAULT_RULES", "StoredRules", "load_rule_set", "resolve_rules"]

DEFAULT_RULES = "fz230-twin"
FILE_PREFIX = "file:"
# campaigns.rules / companies.rules are String(64).
_NAME_LENGTH = 64
_DEFAULT_LABEL = "rules.toml"


@dataclass(frozen=True, slots=True)
class StoredRules:
    """`name` is a preset, or `file:NAME.toml` with the file's text in `toml`."""

    name: str
    toml: str | None = None

    @classmethod
    def default(cls) -> StoredRules:
        return cls(DEFAULT_RULES)

    @property
    def is_file(self) -> bool:
        return self.toml is not None

    def rule_set(self) -> RuleSet:
        """The `compliance.RuleSet` these rules describe."""
        return load_rule_set(self)

    def dialing_rule_set(self, dial_lead_seconds: int) -> RuleSet:
        """The rule set a worker judges a dial by: the window must stay open `dial_lead_seconds` after
        its decision (settings `[dialer.worker] dial_lead_seconds`)."""
        return self.rule_set().with_end_margin(dial_lead_seconds)


def load_rule_set(rules: StoredRules, *, field_name: str = "rules") -> RuleSet:
    """Load through `compliance.load_rules`; a compliance error becomes InvalidValueError(field)."""
    try:
        if rules.toml is None:
            known = ", ".join(PRESETS)
            if rules.name.startswith(FILE_PREFIX):
                raise InvalidValueError(field_name, f"rules {rules.name!r} come from a file: give its text "
                                                    f"(rules_toml) or a preset ({known})")
            if rules.name not in PRESETS:  # a bare name is a preset, never a file in the cwd
                raise InvalidValueError(field_name, f"unknown rule set {rules.name!r} (presets: {known}, or FILE.toml)")
            return load_rules(rules.name)
        # load_rules takes a preset name or a path: hand it the stored text as a file.
        # (`extends` of another file cannot resolve there: stored rules extend presets only.)
        with tempfile.TemporaryDirectory(prefix="dialer-rules-") as tmp:
            label = rules.name.removeprefix(FILE_PREFIX) or _DEFAULT_LABEL
            path = Path(tmp) / _file_label(label)  # its stem names the rule set
            path.write_text(rules.toml, encoding="utf-8")
            try:
                return load_rules(path)
            except ComplianceError as exc:
                raise InvalidValueError(field_name, str(exc).replace(str(path.resolve()), label)) from None
    except ComplianceError as exc:
        raise InvalidValueError(field_name, str(exc)) from None


def _file_label(rules: str | None) -> str:
    """The name shown for uploaded TOML text: the file name the client gave, if it is one."""
    name = Path(rules.removeprefix(FILE_PREFIX)).name if rules else ""
    if not name.lower().endswith(".toml") or not name.isprintable() or len(name) > _NAME_LENGTH:
        return _DEFAULT_LABEL
    return name


def resolve_rules(
    rules: str | None, rules_toml: str | None = None, *, field_name: str = "rules"
) -> StoredRules:
    """Validate user input: a preset name, a path to a `.toml` file, or TOML text (API uploads)."""
    if rules_toml is not None:
        stored = StoredRules(f"{FILE_PREFIX}{_file_label(rules)}"[:_NAME_LENGTH], rules_toml)
    elif rules is None or not rules.strip():
        stored = StoredRules.default()
    elif rules.startswith(FILE_PREFIX):
        stored = StoredRules(rules)  # no text: load_rule_set says what to give instead
    elif rules.strip().lower().endswith(".toml"):
        path = Path(rules.strip()).expanduser()
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidValueError(field_name, f"rules file {str(path)!r} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidValueError(field_name, f"rules file {str(path)!r} cannot be read: {exc}") from None
        stored = StoredRules(f"{FILE_PREFIX}{path.name}"[:_NAME_LENGTH], text)
    else:
        stored = StoredRules(rules.strip())
    try:
        load_rule_set(stored, field_name=field_name)
    except InvalidValueError as exc:
        if stored.is_file and "extends" in exc.message:
            # The text is stored in the database and loaded on any host: only presets resolve there.
            raise InvalidValueError(
                field_name, f"{exc.message} (a rules file may extend a preset only; inline the other file)"
            ) from None
        raise
    return stored
