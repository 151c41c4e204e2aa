"""settings read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

DEV_SECRET_FILE = ".levers/secret_key"


class SettingsError(RuntimeError):
    """the environment does not describe a runnable configuration."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _dev_secret(data_dir: Path) -> str:
    # outside production a random secret is created once and kept, so sessions and tokens survive restarts
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _secret_from_file(variable: str, path: str) -> str:
    # docker secrets convention: docker compose generates one into a volume on first start
    if not path:
        return ""
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"{variable} {path!r} cannot be read: {exc.strerror}") from exc


CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    data_dir: Path = field(default_factory=lambda: Path(".levers"))
    host: str = "127.0.0.1"
    port: int = 8000
    redis_prefix: str = "levers:"
    stream_shards: int = 4
    jwt_ttl_seconds: int = 3600
    token_ttl_seconds: int = 24 * 3600
    cache_refresh_seconds: float = 0.5
    max_body_bytes: int = 64 * 1024
    public_rate_limit_per_minute: int = 600
    log_level: str = "INFO"
    log_json: bool = False
    worker_batch_size: int = 1000
    # the worker's scheduling priority (os.nice): on a machine it shares with the web process, its training
    # batches yield the cpu to requests; 0 keeps the default
    worker_nice: int = 10
    # how long a dead worker holds its shards before another takes them over
    worker_lease_seconds: float = 10.0
    base_url: str = ""
    # when set, /metrics wants `Authorization: Bearer <token>`
    metrics_token: str = ""
    # the request header a cdn or proxy puts the visitor's country in (iso 3166 alpha-2), for targeting
    country_header: str = "cf-ipcountry"
    # login, register and invitation acceptance per client address and minute; failures per account before back-off
    auth_rate_limit_per_minute: int = 10
    auth_free_failures: int = 5
    # the peers whose X-Forwarded-For / X-Forwarded-Proto `levers serve` believes (comma-separated ips or cidrs)
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # production refuses /metrics without METRICS_TOKEN unless this says the network already guards it
    metrics_public: bool = False
    # a redis cluster rather than one redis (also said by a redis+cluster:// or rediss+cluster:// url)
    redis_cluster: bool = False
    # how long the durable event log keeps events (by exposure time); housekeeping drops older months
    event_log_retention_days: int = 400
    # outgoing mail (password reset, email verification). no SMTP_HOST: outside production mail goes to the log and
    # the dev mailbox page; in production nothing is sent (reset is unavailable, verification is not asked)
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    # starttls | ssl | none
    smtp_security: str = "starttls"
    mail_from: str = ""
    # new accounts must open the link mailed to them before they can log in
    require_email_verification: bool = False

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def redis_is_cluster(self) -> bool:
        return self.redis_cluster or self.redis_url.startswith(CLUSTER_SCHEMES)

    @property
    def redis_client_url(self) -> str:
        """the url as redis-py takes it: a cluster's scheme without its +cluster."""
        for scheme in CLUSTER_SCHEMES:
            if self.redis_url.startswith(scheme):
                return scheme.replace("+cluster", "") + self.redis_url[len(scheme) :]
        return self.redis_url

    @property
    def async_database_url(self) -> str:
        url = self.database_url
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url


def load_settings() -> Settings:
    env = os.environ.get("LEVERS_ENV", "development")
    data_dir = Path(os.environ.get("LEVERS_DATA_DIR", ".levers"))
    secret = os.environ.get("SECRET_KEY", "") or _secret_from_file(
        "SECRET_KEY_FILE", os.environ.get("SECRET_KEY_FILE", "")
    )
    if env == "production":
        if len(secret) < 32 or secret in {"change-me", "changeme", "secret", "dev"}:
            raise SettingsError("SECRET_KEY must be set to a random value of at least 32 characters in production")
        if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
            raise SettingsError("DATABASE_URL and REDIS_URL must be set in production")
    elif not secret:
        secret = _dev_secret(data_dir)
    smtp_host = os.environ.get("SMTP_HOST", "").strip()
    smtp_security = os.environ.get("SMTP_SECURITY", "starttls").strip().lower() or "starttls"
    if smtp_security not in {"starttls", "ssl", "none"}:
        raise SettingsError(f"SMTP_SECURITY must be starttls, ssl or none, got {smtp_security!r}")
    base_url = os.environ.get("BASE_URL", "").rstrip("/")
    if env == "production" and smtp_host and not base_url:
        # links in mail must not be built from the request's host header, which a caller controls
        raise SettingsError("BASE_URL must be set in production when SMTP_HOST is (it is the host of links in mail)")
    verification_default = "1" if env == "production" and smtp_host else "0"
    require_verification = os.environ.get("REQUIRE_EMAIL_VERIFICATION", verification_default) == "1"
    if env == "production" and require_verification and not smtp_host:
        raise SettingsError("REQUIRE_EMAIL_VERIFICATION=1 needs SMTP_HOST in production: no one could confirm")
    return Settings(
        env=env,
        database_url=os.environ.get("DATABASE_URL", ""),
        redis_url=os.environ.get("REDIS_URL", ""),
        secret_key=secret,
        data_dir=data_dir,
        host=os.environ.get("HOST", "0.0.0.0" if env == "production" else "127.0.0.1"),
        port=_env_int("PORT", 8000),
        redis_prefix=os.environ.get("REDIS_PREFIX", "levers:"),
        stream_shards=max(1, _env_int("STREAM_SHARDS", 4)),
        jwt_ttl_seconds=_env_int("JWT_TTL_SECONDS", 3600),
        token_ttl_seconds=_env_int("SELECTION_TOKEN_TTL_SECONDS", 24 * 3600),
        cache_refresh_seconds=_env_float("CACHE_REFRESH_SECONDS", 0.5),
        max_body_bytes=_env_int("MAX_BODY_BYTES", 64 * 1024),
        public_rate_limit_per_minute=_env_int("PUBLIC_RATE_LIMIT_PER_MINUTE", 600),
        log_level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        log_json=os.environ.get("LOG_JSON", "1" if env == "production" else "0") == "1",
        worker_batch_size=_env_int("WORKER_BATCH_SIZE", 1000),
        worker_nice=min(19, max(0, _env_int("WORKER_NICE", 10))),
        worker_lease_seconds=_env_float("WORKER_LEASE_SECONDS", 10.0),
        base_url=base_url,
        metrics_token=os.environ.get("METRICS_TOKEN", "")
        or _secret_from_file("METRICS_TOKEN_FILE", os.environ.get("METRICS_TOKEN_FILE", "")),
        country_header=os.environ.get("COUNTRY_HEADER", "cf-ipcountry").strip().lower() or "cf-ipcountry",
        auth_rate_limit_per_minute=max(1, _env_int("AUTH_RATE_LIMIT_PER_MINUTE", 10)),
        auth_free_failures=max(0, _env_int("AUTH_FREE_FAILURES", 5)),
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1").strip() or "127.0.0.1,::1",
        metrics_public=os.environ.get("METRICS_PUBLIC", "0") == "1",
        redis_cluster=os.environ.get("REDIS_CLUSTER", "0") == "1",
        event_log_retention_days=max(1, _env_int("EVENT_LOG_RETENTION_DAYS", 400)),
        smtp_host=smtp_host,
        smtp_port=_env_int("SMTP_PORT", 465 if smtp_security == "ssl" else 587),
        smtp_username=os.environ.get("SMTP_USERNAME", ""),
        smtp_password=os.environ.get("SMTP_PASSWORD", "")
        or _secret_from_file("SMTP_PASSWORD_FILE", os.environ.get("SMTP_PASSWORD_FILE", "")),
        smtp_security=smtp_security,
        mail_from=os.environ.get("MAIL_FROM", "").strip(),
        require_email_verification=require_verification,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
