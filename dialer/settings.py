"""One typed settings object, read from the environment and `config/*.toml`."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from dialer.errors import SettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent
API_TOKEN_MIN_LENGTH = 16
DEFAULT_API_MAX_UPLOAD_MB = 512


class AmiServer(BaseModel):
    """An Asterisk server reached over AMI, as configured in TOML (trunks may also live in the database)."""

    name: str
    url: str = Field(description="ami://user:secret@host:port")


# A call's start (Asterisk's channel, the CDR's start) follows the worker's decision by the Originate's
# way and the clocks' disagreement (up to max_clock_skew_seconds): the window must stay open this long
# after the decision.
DEFAULT_DIAL_LEAD_SECONDS = 3


class WorkerSettings(BaseModel):
    lease_seconds: int = Field(60, ge=5, le=3600)
    ready_queue: int = Field(32, ge=1, le=10_000)
    shutdown_grace_seconds: int = Field(120, ge=0)
    metrics_port: int = Field(9108, ge=0, le=65535)
    max_clock_skew_seconds: float = Field(2.0, gt=0, le=300)
    dial_lead_seconds: int = Field(DEFAULT_DIAL_LEAD_SECONDS, ge=0, le=600)


class Settings(BaseSettings):
    """Settings of every dialer process. Environment wins over the TOML file."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL", "database_url"))
    home: Path = Field(
        Path("~/.local/share/dialer"), validation_alias=AliasChoices("DIALER_HOME", "home")
    )
    config_path: Path = Field(
        REPO_ROOT / "config" / "dialer.toml",
        validation_alias=AliasChoices("DIALER_CONFIG", "config_path"),
    )
    registry_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("DIALER_REGISTRY", "registry_paths")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("DIALER_LOG_LEVEL", "log_level"))
    log_json: bool = Field(False, validation_alias=AliasChoices("DIALER_LOG_JSON", "log_json"))
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=1, le=65535)
    # The largest request body the API reads (a call list upload).
    api_max_upload_mb: int = Field(DEFAULT_API_MAX_UPLOAD_MB, ge=1, le=65536)
    # Bearer tokens of the API (several, comma-separated, to rotate one); none: an open API, loopback only.
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("DIALER_API_TOKEN", "api_tokens")
    )
    agi_host: str = "127.0.0.1"
    agi_port: int = Field(4573, ge=1, le=65535)
    ami_servers: list[AmiServer] = Field(default_factory=list)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)

    @field_validator("home", "config_path", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("registry_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [Path(p).expanduser() for p in value.split(":") if p]
        return value

    @field_validator("api_tokens", mode="before")
    @classmethod
    def _split_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [token.strip() for token in value.split(",") if token.strip()]
        return value

    @field_validator("api_tokens", mode="after")
    @classmethod
    def _check_tokens(cls, value: list[SecretStr]) -> list[SecretStr]:
        for token in value:
            secret = token.get_secret_value()
            if len(secret) < API_TOKEN_MIN_LENGTH or not secret.isascii() or not secret.isprintable() \
                    or " " in secret:
                raise ValueError(f"each token must be at least {API_TOKEN_MIN_LENGTH} printable ASCII characters "
                                 "without spaces (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
            raise ValueError("must be a PostgreSQL URL (postgresql://user:pass@host:port/db)")
        return value

    @field_validator("log_level", mode="after")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @property
    def pg_dir(self) -> Path:
        return self.home / "pg"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the `[dialer]` table of the TOML file named by DIALER_CONFIG."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        import os

        raw = os.environ.get("DIALER_CONFIG")
        self.path = Path(raw).expanduser() if raw else REPO_ROOT / "config" / "dialer.toml"
        self.explicit = raw is not None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            if self.explicit:
                raise SettingsError(f"DIALER_CONFIG: file {self.path} does not exist")
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"DIALER_CONFIG: {self.path} is not valid TOML: {exc}") from exc
        section = data.get("dialer", {})
        if not isinstance(section, dict):
            raise SettingsError(f"DIALER_CONFIG: [dialer] in {self.path} must be a table")
        return section


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one SettingsError naming each bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid setting: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
