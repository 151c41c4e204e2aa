from __future__ import annotations

from pathlib import Path

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


def _production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEVERS_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/levers")
    monkeypatch.setenv("REDIS_URL", "redis://cache")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    for name in ("SMTP_HOST", "BASE_URL", "REQUIRE_EMAIL_VERIFICATION", "SMTP_PASSWORD", "SMTP_SECURITY", "SMTP_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_production_mail_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _production(monkeypatch)
    # no smtp: nothing can be mailed, so nothing asks for confirmation, and asking for it is refused
    assert not load_settings().require_email_verification
    monkeypatch.setenv("REQUIRE_EMAIL_VERIFICATION", "1")
    with pytest.raises(SettingsError, match="SMTP_HOST"):
        load_settings()
    monkeypatch.delenv("REQUIRE_EMAIL_VERIFICATION")
    # links in mail need a configured host, never the request's
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    with pytest.raises(SettingsError, match="BASE_URL"):
        load_settings()
    monkeypatch.setenv("BASE_URL", "https://levers.example.com/")
    settings = load_settings()
    assert settings.require_email_verification and settings.smtp_port == 587 and settings.smtp_password == ""
    monkeypatch.setenv("SMTP_SECURITY", "ssl")
    assert load_settings().smtp_port == 465
    monkeypatch.setenv("SMTP_SECURITY", "plaintext")
    with pytest.raises(SettingsError, match="SMTP_SECURITY"):
        load_settings()


def test_smtp_password_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _production(monkeypatch)
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("BASE_URL", "https://levers.example.com")
    secret = tmp_path / "smtp_password"
    secret.write_text("from a file\n")
    monkeypatch.setenv("SMTP_PASSWORD_FILE", str(secret))
    assert load_settings().smtp_password == "from a file"


def test_development_defaults_ask_no_confirmation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LEVERS_ENV", "development")
    monkeypatch.setenv("LEVERS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.delenv("REQUIRE_EMAIL_VERIFICATION", raising=False)
    settings = load_settings()
    assert not settings.require_email_verification and not settings.smtp_host
