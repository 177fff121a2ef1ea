"""One settings object per process, read from ``FLOWCAST_*`` environment variables once.

Inner code never reads the environment: it is handed a `Settings` (or the fields it needs).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "dev-secret"})


class Settings(BaseSettings):
    """Configuration of every Flowcast process (worker, gateway, replay, up)."""

    model_config = SettingsConfigDict(env_prefix="FLOWCAST_", extra="ignore", frozen=True)

    environment: Literal["dev", "production"] = "dev"
    kafka_bootstrap: str | None = Field(
        default=None, description="host:port of a running Kafka; unset = embedded broker"
    )
    redis_url: str | None = Field(default=None, description="redis:// URL; unset = embedded Redis")
    readings_topic: str = "readings"
    deadletter_topic: str = "readings.deadletter"
    forecasts_topic: str = "forecasts"
    partitions: int = Field(default=8, ge=1)
    app_id: str = "flowcast"
    rebalance_timeout_s: float = Field(default=4.0, gt=0)
    state_dir: Path = Path(".flowcast")
    mlflow_uri: str | None = Field(default=None, description="tracking URI; unset = local folder")
    history_hours: int = Field(default=24 * 14, ge=1)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = Field(
        default=1, ge=1, description="gateway processes (each with its own Redis subscription)"
    )
    api_access_log: bool = Field(default=False, description="uvicorn access log (costly)")
    tls_certfile: Path | None = Field(default=None, description="PEM certificate for HTTPS")
    tls_keyfile: Path | None = Field(default=None, description="PEM private key for HTTPS")
    tls_offloaded: bool = Field(
        default=False, description="a reverse proxy terminates TLS (production without certs)"
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="proxies trusted for X-Forwarded-For/-Proto when TLS is offloaded",
    )
    cors_origins: list[str] = Field(default=[], description="origins allowed by CORS")
    admin_user: str = "admin"
    admin_password: str | None = None
    jwt_secret: str | None = None
    jwt_expiry_minutes: int = Field(default=60, ge=1)
    jwt_max_age_minutes: int = Field(
        default=12 * 60, ge=1, description="oldest token accepted, whatever its expiry says"
    )
    metrics_token: str | None = Field(
        default=None, description="bearer credential of the Prometheus scrape of /metrics"
    )
    login_hash_workers: int = Field(
        default=1, ge=1, description="threads that hash login passwords (their own pool)"
    )
    login_hash_queue: int = Field(
        default=8, ge=1, description="logins hashing or waiting at most; more answer 503"
    )
    login_window_s: float = Field(default=60.0, gt=0, description="window of the counts below")
    login_failures_per_address: int = Field(
        default=20, ge=1, description="failed logins per client address per window"
    )
    login_failures_per_user_address: int = Field(
        default=5, ge=1, description="failed logins per (client address, username) per window"
    )
    worker_metrics_port: int = Field(default=0, description="0 = no metrics endpoint")
    worker_metrics_host: str = Field(default="127.0.0.1", description="0.0.0.0 in containers")
    worker_tracking: bool = Field(default=True, description="log the worker to MLflow")
    # `flowcast live`: the open-data API poller (producers/live)
    live_url: str = Field(
        default="https://opendata.paris.fr", description="base URL of the Explore API v2.1"
    )
    live_every_s: float = Field(default=600.0, gt=0, description="seconds between polls")
    live_since: str | None = Field(
        default=None,
        description="first hour a new feed reads (ISO 8601, UTC without offset); "
        "unset = lookback hours before now",
    )
    live_lookback_hours: int = Field(
        default=3, ge=0, le=48, description="hours behind the newest one re-checked for late data"
    )
    live_page_size: int = Field(default=100, ge=1, le=100, description="records per API page")
    live_timeout_s: float = Field(default=30.0, gt=0, description="timeout of each API call")
    live_retry_max_wait_s: float = Field(
        default=60.0, gt=0, description="longest backoff between retries of a failed API call"
    )
    live_retry_deadline_s: float = Field(
        default=300.0, gt=0, description="give a failing API call up after this long"
    )
    live_contact_url: str | None = Field(
        default=None,
        pattern=r"^[!-~]*$",  # printable ASCII without spaces: it goes into an HTTP header
        description="contact URL sent in the User-Agent to the API's operator",
    )
    live_metrics_port: int = Field(default=0, description="0 = no metrics endpoint")
    live_metrics_host: str = Field(default="127.0.0.1", description="0.0.0.0 in containers")
    ws_auth_recheck_s: float = Field(
        default=5.0, gt=0, le=5.0, description="sessions re-check expiry and revocation"
    )
    ws_auth_timeout_s: float = Field(
        default=5.0, gt=0, description="deadline of the first-message authentication"
    )
    ws_max_per_user: int = Field(default=20, ge=1, description="open WebSockets per user")
    ws_max_per_address: int = Field(
        default=50, ge=1, description="open WebSockets per client address"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    kafka_username: str | None = None
    kafka_password: str | None = None

    @model_validator(mode="after")
    def _token_ages(self) -> Settings:
        if self.jwt_expiry_minutes > self.jwt_max_age_minutes:
            raise ValueError(
                "FLOWCAST_JWT_EXPIRY_MINUTES must not exceed FLOWCAST_JWT_MAX_AGE_MINUTES"
            )
        return self

    def secrets(self) -> list[str]:
        """Every secret this configuration holds (to redact from logs)."""
        found = [self.admin_password, self.jwt_secret, self.metrics_token, self.kafka_password]
        for url in (self.redis_url, self.mlflow_uri):
            found.append(urlsplit(url).password if url else None)
        return [secret for secret in found if secret]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
