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
    token_secret: str = Field(
        default="loa-dev-secret-change-me", min_length=16, description="HMAC key that signs bearer tokens"
    )
    http_host: str = Field(default="127.0.0.1")
    scheduler_port: int = Field(default=8081)
    metrics_port: int = Field(default=8082)
    web_port: int = Field(default=8083, description="the web pages' HTTP port")
    scheduler_url: str = Field(
        default="http://127.0.0.1:8081", description="the scheduler API, for the web pages"
    )
    metrics_url: str = Field(
        default="http://127.0.0.1:8082", description="the metrics API, for the web pages"
    )
    schedule_horizon_days: int = Field(default=60, ge=1, description="how far ahead series are materialised")
    horizon_interval: float = Field(default=600, gt=0, description="seconds between fills of the horizon")
    startup_timeout: float = Field(
        default=120.0, gt=0, description="seconds to wait for PostgreSQL/RabbitMQ at start"
    )
