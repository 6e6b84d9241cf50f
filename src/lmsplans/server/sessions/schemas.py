"""What the session service answers, and how long things last."""

from __future__ import annotations

from dataclasses import dataclass

from lmsplans.server.auth.schemas import Operation, Principal, Role
from lmsplans.server.changes.log import tag

_MINUTE_MS = 60 * 1000
SIGN_IN_PATH = "/ui/sign-in"


def sign_in_url(base_url: str, token: str) -> str:
    """The address of a one-time sign-in link: `<base>/ui/sign-in/<token>`. Every link
    printed or shown anywhere (`lmsplans ui link`, `lmsplans demo`) is built here;
    `base_url` is where people reach the server (`Settings.base_url`)."""
    return f"{base_url.rstrip('/')}{SIGN_IN_PATH}/{token}"


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Lifetimes, in milliseconds. A session ends at the first of: its lifetime from
    sign-in, or an idle spell without a request. `last_seen` is written at most once per
    `touch_every_ms`: each write is a write transaction, and every write transaction
    empties the API's caches (`lmsplans.server.cache`), so a page view must not be one."""

    link_ttl_ms: int = 15 * _MINUTE_MS
    session_ttl_ms: int = 12 * 60 * _MINUTE_MS
    idle_timeout_ms: int = 2 * 60 * _MINUTE_MS
    touch_every_ms: int = 10 * _MINUTE_MS


@dataclass(frozen=True, slots=True)
class SignInLink:
    """A one-time sign-in token (only its hash is stored) and when it stops working."""

    token: str
    expires_ms: int

    def url(self, base_url: str) -> str:
        """The link to open (`sign_in_url`)."""
        return sign_in_url(base_url, self.token)


@dataclass(frozen=True, slots=True)
class SignInLinkInfo:
    """Whom a live link signs in, and to which organisation (shown before it is used)."""

    display_name: str
    org_name: str


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the id goes into the cookie and nowhere else."""

    session_id: str
    csrf_token: str
    org_id: int
    learner_id: int
    expires_ms: int


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live session and the person behind it, as every page needs them."""

    session_hash: str
    org_id: int
    org_name: str
    learner_id: int
    display_name: str
    email: str
    role: Role
    csrf_token: str
    created_ms: int
    last_seen_ms: int
    expires_ms: int  # the earlier of the lifetime's end and the idle timeout's

    def cache_tags(self) -> tuple[str, str, str]:
        """What a kept session stands on (`lmsplans.server.cache`): its own row, its
        person (role, name, status) and their organisation (its name)."""
        return (
            tag("session", self.session_hash),
            tag("learner", self.learner_id),
            tag("org", self.org_id),
        )

    def principal(self) -> Principal:
        """The caller as the API's role and visibility rules know it: a person signed in
        may do whatever their role allows, so every operation is in scope."""
        return Principal(
            org_id=self.org_id,
            user_id=self.learner_id,
            role=self.role,
            operations=frozenset({Operation.ALL}),
            expires_ms=self.expires_ms,
        )
