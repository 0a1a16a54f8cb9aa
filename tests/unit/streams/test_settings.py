from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from streams.settings import (
    AuthSettings,
    ClickHouseSettings,
    LocalPlatformSettings,
    PostgresSettings,
    Settings,
)


def test_every_service_url_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka-1.internal:9092,kafka-2.internal:9092")
    monkeypatch.setenv("CLICKHOUSE_URL", "https://ch.internal:8443")
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    monkeypatch.setenv("POSTGRES_URL", "postgresql://ledger@db.internal:5433/ledger")
    monkeypatch.setenv("PLATFORM_ENVIRONMENT", "development")
    settings = Settings()
    assert settings.kafka.faust_broker == "kafka://kafka-1.internal:9092;kafka://kafka-2.internal:9092"
    assert settings.clickhouse.http_port == 8443
    assert settings.redis.port == 6380
    assert (settings.postgres.user, settings.postgres.port, settings.postgres.database) == (
        "ledger",
        5433,
        "ledger",
    )


def test_the_password_is_secret_and_only_in_the_dsn() -> None:
    pg = PostgresSettings(url="postgresql://app@db:5432/x", password=SecretStr("p@ss/word"))
    assert "p@ss" not in repr(pg)
    assert pg.dsn() == "postgresql://app:p%40ss%2Fword@db:5432/x"


def test_clickhouse_url_must_be_server_or_embedded() -> None:
    assert ClickHouseSettings(url="chdb:///var/lib/ch").url.startswith("chdb:")
    with pytest.raises(ValidationError, match="absolute data path"):
        ClickHouseSettings(url="chdb://relative")
    with pytest.raises(ValidationError, match="must start with"):
        ClickHouseSettings(url="tcp://ch:9000")


def test_production_refuses_a_missing_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_ENVIRONMENT", "production")
    monkeypatch.setenv("POSTGRES_PASSWORD", "")
    with pytest.raises(ValidationError, match="POSTGRES_PASSWORD"):
        Settings()


def test_without_configuration_the_platform_is_production_without_dev_sign_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLATFORM_ENVIRONMENT", raising=False)
    monkeypatch.delenv("AUTH_DEV_TOKENS", raising=False)
    assert LocalPlatformSettings(_env_file=None).environment == "production"
    assert AuthSettings(_env_file=None).dev_tokens is False


def test_production_refuses_a_missing_webhook_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLATFORM_ENVIRONMENT", "production")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p" * 12)
    monkeypatch.setenv("AUTH_TOKEN_SECRET", "t" * 32)
    monkeypatch.setenv("MEDIA_INGEST_SECRET", "m" * 32)
    monkeypatch.setenv("AUTH_DEV_TOKENS", "false")
    monkeypatch.setenv("PAYMENTS_WEBHOOK_SECRET", "")
    with pytest.raises(ValidationError, match="PAYMENTS_WEBHOOK_SECRET"):
        Settings()
