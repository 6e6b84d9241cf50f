"""Settings, read once from `LMSPLANS_*` environment variables at start-up and passed down."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from platformdirs import user_data_dir
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATABASE_FILE = "lmsplans.db"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_PUBLIC_SCHEMES = ("http", "https")
# Addresses that mean "every interface": a link to the server names loopback instead.
_ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 - compared with, never bound


def default_data_dir() -> Path:
    """The platform's data directory for this user (`$XDG_DATA_HOME/lmsplans`, by default
    `~/.local/share/lmsplans` on Linux): never the working directory, so a server started
    by a service manager in `/` finds the same database as one started by hand."""
    return Path(user_data_dir("lmsplans", appauthor=False))


def _absolute(path: Path) -> Path:
    """`~` expanded and made absolute once, at start-up (the working directory may change)."""
    return path.expanduser().absolute()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def redacted(url: str, *, mask: str | None = "***") -> str:
    """`url` with its password, if any, replaced by `mask` (for logs and messages), or left
    out (`mask=None`: a URL to paste, the password given some other way)."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    secret = "" if mask is None else f":{mask}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}{secret}@{host}"))


def _checked_url(
    url: str,
    schemes: tuple[str, ...],
    example: str,
    *,
    also: Callable[[str], str | None] | None = None,
) -> str:
    """`url` when it can be used; ValueError saying why not otherwise: an unknown scheme,
    a bad port, or what `also` finds wrong with it."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError as exc:
        raise ValueError(f"cannot parse {redacted(url)!r} ({exc}); expected {example}") from None
    if parts.scheme not in schemes:
        raise ValueError(f"unsupported URL {redacted(url)!r}; expected {example}")
    problem = also(url) if also is not None else None
    if problem:
        raise ValueError(problem)
    return url


def _sqlite_path_problem(url: str) -> str | None:
    if url.startswith("sqlite:") and not url.startswith("sqlite:///"):
        return f"a SQLite URL is sqlite:///relative or sqlite:////absolute/path: {url!r}"
    return None


def _base_url_problem(url: str) -> str | None:
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        return f"a base URL is scheme, host and an optional path: {url!r}"
    return None


class Settings(BaseSettings):
    """Every knob of the server. The README's settings table documents each field."""

    model_config = SettingsConfigDict(env_prefix="LMSPLANS_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the default SQLite database lives (created on start).",
    )
    # Required here, but always given: `_default_database` derives it from `data_dir`.
    database_url: str = Field(
        description="Where data lives: `sqlite:///path/to/file.db` (WAL mode) or "
        "`postgresql://user@host:5432/name`; default: `lmsplans.db` in the data directory.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis for a limiter shared by several processes (optional)."
    )
    redis_prefix: str = Field(
        default="lmsplans:", description="Prefix of every Redis key (to share one Redis)."
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `serve` listens on.")
    public_url: str | None = Field(
        default=None,
        description="The address people open the server at, e.g. `https://lms.example.com`: "
        "the base of sign-in links (HTTPS there also makes the interface's cookie `Secure`); "
        "default: `http://HOST:PORT`.",
    )
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
        description="Tokens, learners and answers a process keeps until a write changes them.",
    )
    overdue_sweep_seconds: float = Field(
        default=60,
        ge=0,
        le=86400,
        description="How often each server process announces the enrolments whose due time"
        " passed (plan.enrollment.overdue events); 0: never.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1, description="Largest request body.")
    # What one client may make a server process hold (answered 408, 414, 431 or 503).
    body_timeout_seconds: float = Field(
        default=30, gt=0, le=3600, description="Longest wait for each part of a request body."
    )
    header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="Time a request's headers may take to arrive (`serve`).",
    )
    keep_alive_seconds: int = Field(
        default=5, ge=1, le=3600, description="Idle keep-alive connections close after (`serve`)."
    )
    max_connections: int = Field(
        default=1000,
        ge=1,
        description="Connections and requests a process holds at once; past it, 503 (`serve`).",
    )
    # Zoho-style payloads travel in the query string: a batch of 200 learners is ~40 KB.
    max_request_line_bytes: int = Field(
        default=65536, ge=256, description="Longest request target, path and query (`serve`)."
    )
    max_headers: int = Field(
        default=100, ge=8, le=10_000, description="Most header fields a request (`serve`)."
    )
    max_header_bytes: int = Field(
        default=16384, ge=1024, description="Most bytes of header fields a request (`serve`)."
    )
    log_level: str = Field(default="info", description="Log level of the server.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="`text` lines, or one JSON object a line (`json`)."
    )
    access_log: bool = Field(
        default=True, description="Log one line per answered request (on stdout)."
    )
    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Accept webhook URLs on private, loopback and link-local addresses "
        "(local use and tests).",
    )
    webhook_secret_key: str | None = Field(
        default=None,
        description="The Fernet key that encrypts webhook signing secrets at rest; default: "
        "the file `webhook-secrets.key` in the data directory, made on first use (every "
        "process of one database needs the same key).",
        repr=False,
    )
    webhook_delivery: Literal["server", "worker"] = Field(
        default="server",
        description="Who sends webhook deliveries: every server process (`server`), or only "
        "`lmsplans worker` (`worker`).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        """No database URL (or an empty one): `lmsplans.db` in the data directory."""
        if isinstance(data, dict) and not data.get("database_url"):
            data_dir = _absolute(Path(data.get("data_dir") or default_data_dir()))
            data = {**data, "database_url": sqlite_url(data_dir / DATABASE_FILE)}
        return data

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, path: Path) -> Path:
        return _absolute(path)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, url: str) -> str:
        example = "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
        return _checked_url(url, _DATABASE_SCHEMES, example, also=_sqlite_path_problem)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, url: str | None) -> str | None:
        return _checked_url(url, _REDIS_SCHEMES, "redis://HOST:6379/0") if url else None

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        example = "https://HOST[:PORT][/PATH]"
        return _checked_url(url, _PUBLIC_SCHEMES, example, also=_base_url_problem).rstrip("/")

    @property
    def base_url(self) -> str:
        """Where people reach this server: `public_url`, or the address `serve` listens on
        (loopback when it listens on every interface)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in _ANY_ADDRESS else self.host
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, level: str) -> str:
        if level.lower() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
        return level.lower()
