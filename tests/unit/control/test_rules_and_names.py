"""Rule references (presets, files, stored text) and user-given names."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.errors import InvalidValueError
from dialer.names import validate_name
from dialer.rules import StoredRules, resolve_rules


def test_presets_and_default() -> None:
    assert resolve_rules(None) == StoredRules("fz230-twin")
    assert resolve_rules("tcpa") == StoredRules("tcpa")
    assert resolve_rules("fz230-law").rule_set().name == "fz230-law"


def test_file_is_stored_by_content_and_loads_without_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text('extends = "fz230-law"\n[caps]\nday = 1\n', encoding="utf-8")
    stored = resolve_rules(str(path))
    assert stored.name == "file:acme.toml" and stored.toml == path.read_text(encoding="utf-8")
    path.unlink()
    rule_set = stored.rule_set()
    assert rule_set.name == "acme"
    assert 1 in {cap.limit for cap in rule_set.caps}


@pytest.mark.parametrize(
    ("rules", "toml", "message"),
    [
        ("fz230", None, "unknown rule set 'fz230'"),
        ("nowhere.toml", None, "does not exist"),
        ("x.toml", "not = [valid", "not valid TOML"),
        ("x.toml", "[windows]\nmonday = '09:00-18:00'\n", r"x.toml: windows: unknown key\(s\) monday"),
        ("x.toml", 'extends = "other.toml"\n', "other.toml"),
    ],
)
def test_rejects(rules: str, toml: str | None, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidValueError, match=message) as info:
        resolve_rules(rules, toml)
    assert info.value.field == "rules"
    assert "dialer-rules-" not in info.value.message  # the temporary file's path is not shown


@pytest.mark.parametrize("name", ["debts March", "Долги-март", "a" * 200, "x.y_z"])
def test_names_accepted(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "empty"), ("  ", "empty"), (" x", "spaces"), ("a/b", "'/'"), ("a\tb", "control"), ("a" * 201, "longer")],
)
def test_names_rejected(name: str, message: str) -> None:
    with pytest.raises(InvalidValueError, match=message):
        validate_name(name, field_name="company")
