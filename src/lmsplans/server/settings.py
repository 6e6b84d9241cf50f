"""Settings, read once from `LMSPLANS_*` environment variables at start-up and passed down."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the server. The README's settings table documents each field."""

    model_config = SettingsConfigDict(env_prefix="LMSPLANS_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///lmsplans.db",
        description="Where data lives: `sqlite:///path/to/file.db` (default, WAL mode).",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for a limiter shared by several processes (optional)."
    )
    redis_prefix: str = Field(
        default="lmsplans:", description="Prefix of every Redis key (to share one Redis)."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    api_domain: str | None = Field(
        default=None,
        description="`api_domain` announced by the token endpoint; default: the request's own.",
    )
    rate_limit_threshold: int = Field(
        default=30, ge=1, description="Calls allowed per user and API in one window."
    )
    rate_limit_window_seconds: float = Field(
        default=60, gt=0, description="Length of the sliding window, in seconds."
    )
    rate_limit_lock_seconds: float = Field(
        default=300, gt=0, description="Lock after the threshold is exceeded, in seconds."
    )
    access_token_ttl_seconds: int = Field(
        default=3600, ge=1, description="Lifetime of an access token."
    )
    token_mint_limit: int = Field(
        default=10, ge=1, description="Access tokens one refresh token may mint per period."
    )
    token_mint_period_seconds: int = Field(
        default=600, ge=1, description="Period of `token_mint_limit`, in seconds."
    )
    db_pool_size: int = Field(
        default=32, ge=1, description="PostgreSQL connections per server process."
    )
    cache_entries: int = Field(
        default=50_000,
        ge=0,
        description="Tokens, learners and answers a process keeps between writes (0: none).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, description="Largest request body.")
    log_level: str = Field(default="info", description="Log level of the server.")
