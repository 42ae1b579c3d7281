from __future__ import annotations

from pathlib import Path

import pytest

from dialer.errors import SettingsError
from dialer.settings import load_settings


def test_env_overrides_and_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DIALER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/dialer")
    monkeypatch.delenv("DIALER_CONFIG", raising=False)
    settings = load_settings()
    assert settings.home == tmp_path / "home"
    assert settings.pg_dir == tmp_path / "home" / "pg"
    assert settings.database_url == "postgresql://u:p@db:5432/dialer"
    assert settings.worker.metrics_port == 9108


def test_bad_database_url_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///x.db")
    with pytest.raises(SettingsError, match=r"DATABASE_URL.*PostgreSQL"):
        load_settings()


def test_toml_file_is_read_and_validated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "dialer.toml"
    config.write_text("[dialer]\napi_port = 9000\n[dialer.worker]\nlease_seconds = 1\n")
    monkeypatch.setenv("DIALER_CONFIG", str(config))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SettingsError, match=r"worker\.lease_seconds"):
        load_settings()
    config.write_text("[dialer]\napi_port = 9000\n")
    assert load_settings().api_port == 9000


def test_missing_explicit_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DIALER_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(SettingsError, match="DIALER_CONFIG"):
        load_settings()


def test_api_tokens_are_split_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALER_CONFIG", raising=False)
    monkeypatch.setenv("DIALER_API_TOKEN", " old-token-0123456789 ,new-token-9876543210,")
    tokens = [token.get_secret_value() for token in load_settings().api_tokens]
    assert tokens == ["old-token-0123456789", "new-token-9876543210"]
    assert "0123456789" not in repr(load_settings())
    monkeypatch.delenv("DIALER_API_TOKEN")
    assert load_settings().api_tokens == []
    for weak in ("short", "sixteen chars ok", "токен-токен-токен-токен"):
        monkeypatch.setenv("DIALER_API_TOKEN", weak)
        with pytest.raises(SettingsError, match=r"DIALER_API_TOKEN: .*at least 16 printable ASCII"):
            load_settings()
