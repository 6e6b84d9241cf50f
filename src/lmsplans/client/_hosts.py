"""Where the client calls: Zoho's data centres, a base URL, and what it says it is."""

from __future__ import annotations

import logging
import os

import httpx

from lmsplans.client._errors import LmsPlansError

__all__ = ["DATA_CENTRES", "USER_AGENT", "data_centre_urls", "env", "env_settings", "resolve_urls"]

VERSION = "0.1.0"
USER_AGENT = f"lmsplans-python/{VERSION}"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
log = logging.getLogger("lmsplans.client")
_ANNOUNCED: set[str] = set()  # the Zoho hosts a client without base_url or dc has named

# Zoho's data centres: the domain behind people.<domain> (the API) and accounts.<domain>.
DATA_CENTRES: dict[str, str] = {
    "com": "zoho.com",
    "us": "zoho.com",
    "eu": "zoho.eu",
    "in": "zoho.in",
    "com.au": "zoho.com.au",
    "au": "zoho.com.au",
    "jp": "zoho.jp",
    "ca": "zohocloud.ca",
    "zohocloud.ca": "zohocloud.ca",
    "sa": "zoho.sa",
    "uk": "zoho.uk",
    "com.cn": "zoho.com.cn",
    "cn": "zoho.com.cn",
}


def data_centre_urls(dc: str) -> tuple[str, str]:
    """The (People API, Accounts) base URLs of a Zoho data centre: `"eu"` ->
    (`https://people.zoho.eu`, `https://accounts.zoho.eu`); `"ca"` -> zohocloud.ca."""
    domain = DATA_CENTRES.get(dc.strip().lower().lstrip("."))
    if domain is None:
        known = ", ".join(sorted(set(DATA_CENTRES) - {"us", "au", "cn", "zohocloud.ca"}))
        raise LmsPlansError(f"unknown data centre {dc!r}: use one of {known}")
    return f"https://people.{domain}", f"https://accounts.{domain}"


def resolve_urls(dc: str | None, base_url: str | None, accounts_url: str | None) -> tuple[str, str]:
    """`base_url` wins over `dc`; the accounts URL defaults to the base URL when one is given
    (this server answers both), else to the data centre's Accounts host. With neither, Zoho's
    com data centre, said once on the `lmsplans.client` logger (so a token of your own server
    is not sent to Zoho unnoticed)."""
    if base_url:
        base = base_url.rstrip("/")
        return base, (accounts_url or base).rstrip("/")
    api, accounts = data_centre_urls(dc or "com")
    if dc is None and api not in _ANNOUNCED:
        _ANNOUNCED.add(api)  # once a process: enough to notice, not a line per client
        log.warning(
            "no base_url or dc given: calling Zoho's own API at %s (pass base_url= for your "
            "own server, or dc= to choose Zoho's data centre)",
            api,
        )
    return api, (accounts_url or accounts).rstrip("/")


def env(name: str) -> str | None:
    """An environment variable, None when unset or empty."""
    value = os.environ.get(name)
    return value if value else None


# The client's keyword arguments that `from_env` reads, and the variables they come from.
ENV_SETTINGS = {
    "base_url": "LMSPLANS_BASE_URL",
    "accounts_url": "LMSPLANS_ACCOUNTS_URL",
    "dc": "LMSPLANS_DC",
    "access_token": "LMSPLANS_ACCESS_TOKEN",
    "refresh_token": "LMSPLANS_REFRESH_TOKEN",
    "client_id": "LMSPLANS_CLIENT_ID",
    "client_secret": "LMSPLANS_CLIENT_SECRET",
}


def env_settings() -> dict[str, str | None]:
    """The client's connection arguments from the environment (`ENV_SETTINGS`)."""
    return {argument: env(variable) for argument, variable in ENV_SETTINGS.items()}
