from __future__ import annotations

import pytest

from app.settings import SettingsError, load_settings


def test_production_refuses_default_or_missing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEVERS_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/levers")
    monkeypatch.setenv("REDIS_URL", "redis://cache")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert load_settings().is_production


def test_development_keeps_one_generated_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("LEVERS_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("LEVERS_DATA_DIR", str(tmp_path))
    first = load_settings().secret_key
    assert len(first) >= 32 and load_settings().secret_key == first


def test_bad_numbers_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(SettingsError, match="PORT"):
        load_settings()


def test_database_url_schemes_become_asyncpg(monkeypatch: pytest.MonkeyPatch) -> None:
    for given in ("postgres://u@h/db", "postgresql://u@h/db", "postgresql+asyncpg://u@h/db"):
        monkeypatch.setenv("DATABASE_URL", given)
        assert load_settings().async_database_url == "postgresql+asyncpg://u@h/db"


def test_worker_lease_is_read_through_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKER_LEASE_SECONDS", raising=False)
    assert load_settings().worker_lease_seconds == 10.0
    monkeypatch.setenv("WORKER_LEASE_SECONDS", "2.5")
    assert load_settings().worker_lease_seconds == 2.5
    monkeypatch.setenv("WORKER_LEASE_SECONDS", "soon")
    with pytest.raises(SettingsError, match="WORKER_LEASE_SECONDS"):
        load_settings()


def test_metrics_token_from_a_file_and_the_proxy_default(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "metrics_token"
    path.write_text("t" * 48 + "\n")
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("METRICS_TOKEN_FILE", str(path))
    settings = load_settings()
    assert settings.metrics_token == "t" * 48
    assert settings.forwarded_allow_ips == "127.0.0.1,::1" and not settings.metrics_public


def test_event_log_retention_defaults_to_400_days_and_keeps_at_least_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("LEVERS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EVENT_LOG_RETENTION_DAYS", raising=False)
    assert load_settings().event_log_retention_days == 400
    monkeypatch.setenv("EVENT_LOG_RETENTION_DAYS", "30")
    assert load_settings().event_log_retention_days == 30
    monkeypatch.setenv("EVENT_LOG_RETENTION_DAYS", "0")
    assert load_settings().event_log_retention_days == 1
    monkeypatch.setenv("EVENT_LOG_RETENTION_DAYS", "a year")
    with pytest.raises(SettingsError, match="EVENT_LOG_RETENTION_DAYS"):
        load_settings()
