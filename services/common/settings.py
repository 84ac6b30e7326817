"""Configuration from environment variables (``LOA_*``), with defaults that work out of the box.

The defaults point at the servers that ``./loa up`` starts on loopback.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings shared by every Loa service; each service reads the ones it needs."""

    model_config = SettingsConfigDict(env_prefix="LOA_", env_file=".env", extra="ignore")

    pg_dsn: str = Field(
        default="postgresql://loa@127.0.0.1:55432/loa", description="PostgreSQL connection string"
    )
    amqp_url: str = Field(default="amqp://loa:loa@127.0.0.1:56720/", description="RabbitMQ URL")
    log_format: str = Field(default="console", pattern="^(console|json)$", description="console or json")
    log_level: str = Field(default="info", description="debug, info, warning, error")
    pg_pool_min: int = Field(default=2, ge=1)
    pg_pool_max: int = Field(default=20, ge=1)
    startup_timeout: float = Field(
        default=120.0, gt=0, description="seconds to wait for PostgreSQL/RabbitMQ at start"
    )
