import pytest

from services.common.settings import Settings
from services.common.startup import _redact, wait_for


async def test_wait_for_retries_until_the_server_answers():
    calls = []

    async def connect():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("not yet")
        return "connected"

    assert await wait_for("PostgreSQL", connect, timeout=5) == "connected"
    assert len(calls) == 3


async def test_wait_for_gives_up_after_the_timeout():
    async def connect():
        raise ConnectionRefusedError("down")

    with pytest.raises(ConnectionRefusedError):
        await wait_for("RabbitMQ", connect, timeout=0.3)


def test_passwords_never_reach_logs():
    assert _redact("amqp://loa:secret@127.0.0.1:56720/") == "amqp://loa:***@127.0.0.1:56720/"
    assert _redact("postgresql://loa@127.0.0.1:55432/loa") == "postgresql://loa@127.0.0.1:55432/loa"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("LOA_PG_DSN", "postgresql://x@db/y")
    monkeypatch.setenv("LOA_LOG_FORMAT", "json")
    settings = Settings()
    assert settings.pg_dsn == "postgresql://x@db/y"
    assert settings.log_format == "json"
    assert Settings.model_fields["amqp_url"].default.startswith("amqp://")
