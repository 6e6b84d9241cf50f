"""Sign-in for people: one-time links, passwords and server-side sessions.

A session id is 32 random bytes; the browser holds it (in a cookie) and the database its
SHA-256, so neither a stolen database nor a log line lets anyone in. A session ends when its
lifetime is over, after an idle spell, when it is revoked, or when its person is deactivated
or leaves the organisation. Signing out revokes every session of the person, on every
device (`end_all_sessions`); a new password does the same.

Each form of a page carries the session's CSRF token, derived from the session id (so it is
stored nowhere). Errors are the API's own (`InvalidToken`, `ExpiredToken`, ...), so the one
error mapping answers them; their messages are written to be shown to the person.

Every function opens its own read or transaction: sign-ins stand alone, and an argon2 hash
(a tenth of a second of CPU) is computed outside any transaction, in a worker thread, so it
never holds the database's writer nor the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.auth.service import hash_secret
from lmsplans.server.changes.log import tag
from lmsplans.server.db import Connection, Database, Row
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidParameter,
    InvalidToken,
    NoSuchLearner,
    PermissionDenied,
)
from lmsplans.server.sessions import queries
from lmsplans.server.sessions.schemas import (
    NewSession,
    SessionInfo,
    SessionPolicy,
    SignInLink,
    SignInLinkInfo,
)

SECRET_BYTES = 32  # of a session id and of a sign-in link's token
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing is costly: no megabyte passwords

NOT_SIGNED_IN = "You are not signed in"
SESSION_ENDED = "Your session has ended: sign in again"
SIGN_IN_REFUSED = "Wrong email or password"


def csrf_token_for(session_id: str) -> str:
    """The session's form token. Derived from the id with a keyed hash, it differs from the
    stored SHA-256 of the id, so the database alone does not give it away either."""
    return hmac.new(session_id.encode(), b"lmsplans form token", hashlib.sha256).hexdigest()


def csrf_token_matches(session: SessionInfo, submitted: str | None) -> bool:
    """Whether a form's token is its session's (in constant time)."""
    return hmac.compare_digest(session.csrf_token, submitted or "")


class Passwords:
    """argon2id hashing (argon2-cffi's defaults: RFC 9106's low-memory profile, 64 MiB),
    in a worker thread. Built once at start-up."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await anyio.to_thread.run_sync(check)

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)

    async def verify_nothing(self, password: str) -> None:
        """Spend the time of one check, so an unknown email answers no faster than a wrong
        password and cannot be told apart by timing."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(SECRET_BYTES))
        await self.verify(self._dummy_hash, password)


def check_password_rules(password: str) -> None:
    """Length is the rule that matters (NIST SP 800-63B); any characters are allowed."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidParameter(
            "password", f"must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidParameter("password", f"must be at most {MAX_PASSWORD_LENGTH} characters")


async def _active_member(conn: Connection, *, org_id: int, learner_id: int) -> None:
    """404 unless the learner is in the organisation; 400 when they are inactive."""
    learner = await queries.learner_in_org(conn, org_id=org_id, learner_id=learner_id)
    if learner is None:
        raise NoSuchLearner()
    if learner["status"] != "active":
        raise InvalidParameter("user", "is inactive: an inactive person cannot sign in")


async def create_sign_in_link(
    db: Database,
    *,
    org_id: int,
    learner_id: int,
    now_ms: int,
    policy: SessionPolicy,
    made_by: Principal | None = None,
) -> SignInLink:
    """A link that signs `learner_id` in once, within `policy.link_ttl_ms`.

    `made_by` is the admin asking, through the interface; None when it is made on the
    server itself (`lmsplans ui link`, `lmsplans demo`), whose operator may do anything.
    """
    if made_by is not None and (made_by.role is not Role.ADMIN or made_by.org_id != org_id):
        raise PermissionDenied("Permission denied: only admins make sign-in links")
    token = secrets.token_urlsafe(SECRET_BYTES)
    expires_ms = now_ms + policy.link_ttl_ms
    async with db.transaction() as conn:
        conn.changes.nothing_cached()  # links are never kept
        await _active_member(conn, org_id=org_id, learner_id=learner_id)
        await queries.forget_expired_links(conn, learner_id=learner_id, now_ms=now_ms)
        await queries.insert_link(
            conn,
            token_hash=hash_secret(token),
            org_id=org_id,
            learner_id=learner_id,
            created_by=None if made_by is None else made_by.user_id,
            now_ms=now_ms,
            expires_ms=expires_ms,
        )
    return SignInLink(token, expires_ms)


async def _open_session(
    conn: Connection, *, org_id: int, learner_id: int, now_ms: int, policy: SessionPolicy
) -> NewSession:
    # A new session, a used link, a password's better hash: nothing a process keeps (the
    # ended sessions forgotten here were dropped from every cache when they ended).
    conn.changes.nothing_cached()
    await queries.forget_ended_sessions(conn, learner_id=learner_id, now_ms=now_ms)
    session_id = secrets.token_urlsafe(SECRET_BYTES)
    expires_ms = now_ms + policy.session_ttl_ms
    await queries.insert_session(
        conn,
        session_hash=hash_secret(session_id),
        org_id=org_id,
        learner_id=learner_id,
        now_ms=now_ms,
        expires_ms=expires_ms,
    )
    return NewSession(session_id, csrf_token_for(session_id), org_id, learner_id, expires_ms)


LINK_INVALID = "This sign-in link is not valid: ask for a new one"


def _refuse_link(seen: Row | None, *, now_ms: int, policy: SessionPolicy) -> None:
    """Say why a link (`queries.link_by_hash`) cannot sign anyone in; nothing if it can."""
    if seen is None:
        raise InvalidToken(LINK_INVALID)
    if seen["used_time"] is not None:
        raise InvalidToken("This sign-in link has been used already: ask for a new one")
    if seen["expires_time"] <= now_ms:
        minutes = policy.link_ttl_ms // 60_000
        raise ExpiredToken(
            f"This sign-in link has expired (links last {minutes} minutes): ask for a new one"
        )
    if seen["status"] != "active":
        raise InvalidToken("This account is inactive: it cannot sign in")


async def check_sign_in_link(
    db: Database, *, token: str, now_ms: int, policy: SessionPolicy
) -> SignInLinkInfo:
    """Who a link would sign in, and where, without using it (the page that asks the
    person to go on); the same refusals as `redeem_sign_in_link`."""
    async with db.read() as conn:
        seen = await queries.link_by_hash(conn, token_hash=hash_secret(token))
    _refuse_link(seen, now_ms=now_ms, policy=policy)
    assert seen is not None  # `_refuse_link` refuses a missing link
    return SignInLinkInfo(display_name=seen["display_name"], org_name=seen["org_name"])


async def redeem_sign_in_link(
    db: Database, *, token: str, now_ms: int, policy: SessionPolicy
) -> NewSession:
    """A new session for the link's person; the link works once, and only in time."""
    token_hash = hash_secret(token)
    async with db.transaction() as conn:
        link = await queries.use_link(conn, token_hash=token_hash, now_ms=now_ms)
        if link is None:
            seen = await queries.link_by_hash(conn, token_hash=token_hash)
            _refuse_link(seen, now_ms=now_ms, policy=policy)
            raise InvalidToken(LINK_INVALID)  # a link in use just now by another request
        org_id, learner_id = link["org_id"], link["learner_id"]
        learner = await queries.learner_in_org(conn, org_id=org_id, learner_id=learner_id)
        if learner is None or learner["status"] != "active":
            raise InvalidToken("This account is inactive: it cannot sign in")
        return await _open_session(
            conn, org_id=org_id, learner_id=learner_id, now_ms=now_ms, policy=policy
        )


async def look_up_session(
    db: Database, *, session_id: str, now_ms: int, policy: SessionPolicy
) -> SessionInfo:
    """The live session behind a cookie's id, with its person; `InvalidToken` when there is
    none (or it was revoked, or its person is inactive), `ExpiredToken` when it ended."""
    session_hash = hash_secret(session_id)
    async with db.read() as conn:
        row = await queries.session_by_hash(conn, session_hash=session_hash)
    if row is None or row["revoked_time"] is not None or row["status"] != "active":
        raise InvalidToken(NOT_SIGNED_IN)
    ends_ms = min(row["expires_time"], row["last_seen_time"] + policy.idle_timeout_ms)
    if ends_ms <= now_ms:
        raise ExpiredToken(SESSION_ENDED)
    return SessionInfo(
        session_hash=session_hash,
        org_id=row["org_id"],
        org_name=row["org_name"],
        learner_id=row["learner_id"],
        display_name=row["display_name"],
        email=row["email"],
        role=Role(row["role"]),
        csrf_token=csrf_token_for(session_id),
        created_ms=row["created_time"],
        last_seen_ms=row["last_seen_time"],
        expires_ms=ends_ms,
    )


async def record_activity(
    db: Database, *, session: SessionInfo, now_ms: int, policy: SessionPolicy
) -> bool:
    """Move the session's `last_seen` to now when it is `policy.touch_every_ms` old (see
    `SessionPolicy`); answers whether it wrote."""
    if now_ms - session.last_seen_ms < policy.touch_every_ms:
        return False
    async with db.transaction() as conn:
        await queries.touch_session(conn, session_hash=session.session_hash, now_ms=now_ms)
        conn.changes.touch(session.org_id, tag("session", session.session_hash))
    return True


async def end_session(db: Database, *, session_id: str, now_ms: int) -> bool:
    """Revoke one session; answers whether it was live."""
    async with db.transaction() as conn:
        session_hash = hash_secret(session_id)
        revoked = await queries.revoke_session(conn, session_hash=session_hash, now_ms=now_ms)
        conn.changes.touch(None, tag("session", session_hash))
    return revoked > 0


async def end_all_sessions(db: Database, *, org_id: int, learner_id: int, now_ms: int) -> int:
    """Revoke every live session of one person (signing out: everywhere at once); answers
    how many there were."""
    async with db.transaction() as conn:
        return await _end_sessions(conn, org_id=org_id, learner_id=learner_id, now_ms=now_ms)


async def _end_sessions(conn: Connection, *, org_id: int, learner_id: int, now_ms: int) -> int:
    """Revoke every live session of one person, in `conn`'s transaction; answers how many
    there were."""
    conn.changes.touch(org_id, tag("learner", learner_id))  # what kept their sessions
    return await queries.revoke_learner_sessions(
        conn, org_id=org_id, learner_id=learner_id, now_ms=now_ms
    )


async def set_password(
    db: Database,
    passwords: Passwords,
    *,
    org_id: int,
    learner_id: int,
    password: str,
    now_ms: int,
) -> int:
    """Set (or change) a person's password. Every session they had ends: whoever knew the
    old password is signed out. Answers how many sessions ended."""
    check_password_rules(password)
    password_hash = await passwords.hash(password)
    async with db.transaction() as conn:
        await _active_member(conn, org_id=org_id, learner_id=learner_id)
        await queries.upsert_password(
            conn, org_id=org_id, learner_id=learner_id, password_hash=password_hash, now_ms=now_ms
        )
        return await _end_sessions(conn, org_id=org_id, learner_id=learner_id, now_ms=now_ms)


async def sign_in_with_password(
    db: Database,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    now_ms: int,
    policy: SessionPolicy,
    org_id: int | None = None,
) -> NewSession:
    """A new session for the active person with this email and password.

    An email is unique within an organisation only: when the password matches in several,
    the person chooses one (`org_id`). Every refusal reads the same, whether the email is
    unknown or the password wrong, and costs the same time.
    """
    email = email.strip().lower()
    if not email or not password or len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidToken(SIGN_IN_REFUSED)
    async with db.read() as conn:
        candidates = await queries.password_candidates(conn, email=email, org_id=org_id)
    if not candidates:
        await passwords.verify_nothing(password)
        raise InvalidToken(SIGN_IN_REFUSED)
    matches = [row for row in candidates if await passwords.verify(row["password_hash"], password)]
    if not matches:
        raise InvalidToken(SIGN_IN_REFUSED)
    if len(matches) > 1:
        raise InvalidParameter(
            "organisation", "this email and password sign in to several organisations: choose one"
        )
    match = matches[0]
    old_hash: str = match["password_hash"]
    # Hashes made with weaker settings than today's are made again, while the password is at hand.
    new_hash = await passwords.hash(password) if passwords.needs_rehash(old_hash) else None
    async with db.transaction() as conn:
        await _active_member(conn, org_id=match["org_id"], learner_id=match["learner_id"])
        if new_hash is not None:
            await queries.replace_password_hash(
                conn, learner_id=match["learner_id"], old_hash=old_hash, new_hash=new_hash
            )
        return await _open_session(
            conn,
            org_id=match["org_id"],
            learner_id=match["learner_id"],
            now_ms=now_ms,
            policy=policy,
        )
