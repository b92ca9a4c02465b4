"""Configuration: ``NOTICEFLOW_*`` environment variables, then ``.env``, then defaults.

One place for every knob, so that the CLI, the worker and the API read the same values.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Everything noticeflow writes on a developer machine lives here (ignored by git).
DEFAULT_HOME = Path(".noticeflow")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="NOTICEFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    home: Path = Field(DEFAULT_HOME, description="Directory for local state (dev server, keys, ledger).")
    db_url: str = Field(
        "",
        description="SQLAlchemy URL of the ledger database; SQLite under `home` when empty. "
        "PostgreSQL: postgresql+psycopg://user:pass@host:5432/noticeflow",
    )
    key_path: Path | None = Field(
        None,
        description="Ledger signing key: a key directory written by `noticeflow ledger keygen` "
        "(its active key is used) or one private-key PEM file. Default: `home`/keys.",
    )
    key_passphrase: str | None = Field(None, description="Passphrase of an encrypted private key.")
    log_level: str = Field("INFO", description="Minimum log level.")
    log_json: bool = Field(True, description="JSON logs (production) or console logs (development).")

    def resolved_db_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / 'ledger.db').as_posix()}"

    def resolved_key_path(self) -> Path:
        return self.key_path if self.key_path is not None else self.home / "keys"


@lru_cache
def get_settings() -> Settings:
    return Settings()
