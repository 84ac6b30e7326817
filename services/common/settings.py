"""Configuration from environment variables (``LOA_*``), with defaults that work out of the box.

The defaults point at the servers that ``./loa up`` starts on loopback.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common.auth import DEFAULT_KID, DEV_SECRET


class InsecureSettings(Exception):
    """A service would start with the published development key."""


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
        default=DEV_SECRET, min_length=16, description="HMAC key (HS256) that signs new bearer tokens"
    )
    token_key_id: str = Field(
        default=DEFAULT_KID, min_length=1, max_length=64, description="the key id (JWT kid) of token_secret"
    )
    token_old_keys: dict[str, str] = Field(
        default_factory=dict,
        description='older keys still accepted, JSON {"kid": "secret"} (the current one moves here)',
    )
    dev: bool = Field(default=False, description="a development or test stack: the default key is allowed")
    scheduler_amqp_url: str | None = Field(default=None, description="the scheduler's broker user")
    metrics_amqp_url: str | None = Field(default=None, description="the metrics service's broker user")
    http_host: str = Field(default="127.0.0.1")
    scheduler_port: int = Field(default=8081)
    metrics_port: int = Field(default=8082)
    web_port: int = Field(default=8080, description="the web pages' HTTP port")
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

    def amqp_url_for(self, service: str) -> str:
        """The broker URL of ``service``'s own user (least privilege), else the shared one."""
        return getattr(self, f"{service}_amqp_url", None) or self.amqp_url

    def check_for_service(self) -> None:
        """Refuse to serve with the development token key outside a development stack: anyone who
        read the source could sign tokens. ``./loa up`` and the tests set LOA_DEV=1."""
        if self.dev:
            return
        known = {self.token_secret, *self.token_old_keys.values()}
        if DEV_SECRET in known:
            raise InsecureSettings(
                "LOA_TOKEN_SECRET is the development key: set your own (at least 32 bytes), "
                "or LOA_DEV=1 on a development machine"
            )
        if any(len(key.encode()) < 32 for key in known):
            raise InsecureSettings("token keys must be at least 32 bytes for HS256 (RFC 7518, 3.2)")
