"""The SQL of sign-in links, sessions and passwords: one named function per statement."""

from __future__ import annotations

from lmsplans.server.db import Connection, Row

# Bounds the argon2 checks one sign-in may cost: an email is unique in an organisation,
# and a person is rarely in more than a few.
MAX_PASSWORD_CANDIDATES = 10


async def learner_in_org(conn: Connection, *, org_id: int, learner_id: int) -> Row | None:
    """The learner's `status`, when they are in that organisation."""
    return await conn.fetch_one(
        "SELECT status FROM learners WHERE id = :learner_id AND org_id = :org_id",
        {"org_id": org_id, "learner_id": learner_id},
    )


async def insert_link(
    conn: Connection,
    *,
    token_hash: str,
    org_id: int,
    learner_id: int,
    created_by: int | None,
    now_ms: int,
    expires_ms: int,
) -> None:
    await conn.execute(
        """INSERT INTO ui_sign_in_links (token_hash, org_id, learner_id, created_by,
                                         created_time, expires_time)
           VALUES (:token_hash, :org_id, :learner_id, :created_by, :now, :expires)""",
        {
            "token_hash": token_hash,
            "org_id": org_id,
            "learner_id": learner_id,
            "created_by": created_by,
            "now": now_ms,
            "expires": expires_ms,
        },
    )


async def forget_expired_links(conn: Connection, *, learner_id: int, now_ms: int) -> None:
    await conn.execute(
        "DELETE FROM ui_sign_in_links WHERE learner_id = :learner_id AND expires_time <= :now",
        {"learner_id": learner_id, "now": now_ms},
    )


async def use_link(conn: Connection, *, token_hash: str, now_ms: int) -> Row | None:
    """Mark a live, unused link used; answers its `org_id` and `learner_id`, or None.

    One statement, so of two requests redeeming the same link only one finds it unused.
    """
    return await conn.fetch_one(
        """UPDATE ui_sign_in_links SET used_time = :now
            WHERE token_hash = :token_hash AND used_time IS NULL AND expires_time > :now
        RETURNING org_id, learner_id""",
        {"token_hash": token_hash, "now": now_ms},
    )


async def link_by_hash(conn: Connection, *, token_hash: str) -> Row | None:
    """A link's `used_time` and `expires_time` (to say why it cannot be used), with its
    person's `display_name` and `status` and the organisation's `org_name`."""
    return await conn.fetch_one(
        """SELECT k.used_time, k.expires_time, l.display_name, l.status, o.name AS org_name
             FROM ui_sign_in_links k
             JOIN learners l ON l.id = k.learner_id AND l.org_id = k.org_id
             JOIN organisations o ON o.id = k.org_id
            WHERE k.token_hash = :token_hash""",
        {"token_hash": token_hash},
    )


async def insert_session(
    conn: Connection,
    *,
    session_hash: str,
    org_id: int,
    learner_id: int,
    now_ms: int,
    expires_ms: int,
) -> None:
    await conn.execute(
        """INSERT INTO ui_sessions (session_hash, org_id, learner_id, created_time,
                                    last_seen_time, expires_time)
           VALUES (:session_hash, :org_id, :learner_id, :now, :now, :expires)""",
        {
            "session_hash": session_hash,
            "org_id": org_id,
            "learner_id": learner_id,
            "now": now_ms,
            "expires": expires_ms,
        },
    )


async def forget_ended_sessions(conn: Connection, *, learner_id: int, now_ms: int) -> None:
    """Sessions past their lifetime are of no use, revoked or not: drop them."""
    await conn.execute(
        "DELETE FROM ui_sessions WHERE learner_id = :learner_id AND expires_time <= :now",
        {"learner_id": learner_id, "now": now_ms},
    )


async def session_by_hash(conn: Connection, *, session_hash: str) -> Row | None:
    """A session with its person and organisation (the person must still be in it)."""
    return await conn.fetch_one(
        """SELECT s.org_id, s.learner_id, s.created_time, s.last_seen_time, s.expires_time,
                  s.revoked_time, l.status, l.role, l.display_name, l.email,
                  o.name AS org_name
             FROM ui_sessions s
             JOIN learners l ON l.id = s.learner_id AND l.org_id = s.org_id
             JOIN organisations o ON o.id = s.org_id
            WHERE s.session_hash = :session_hash""",
        {"session_hash": session_hash},
    )


async def touch_session(conn: Connection, *, session_hash: str, now_ms: int) -> None:
    await conn.execute(
        """UPDATE ui_sessions SET last_seen_time = :now
            WHERE session_hash = :session_hash AND last_seen_time < :now""",
        {"session_hash": session_hash, "now": now_ms},
    )


async def revoke_session(conn: Connection, *, session_hash: str, now_ms: int) -> int:
    return await conn.execute(
        """UPDATE ui_sessions SET revoked_time = :now
            WHERE session_hash = :session_hash AND revoked_time IS NULL""",
        {"session_hash": session_hash, "now": now_ms},
    )


async def revoke_learner_sessions(
    conn: Connection, *, org_id: int, learner_id: int, now_ms: int
) -> int:
    return await conn.execute(
        """UPDATE ui_sessions SET revoked_time = :now
            WHERE org_id = :org_id AND learner_id = :learner_id AND revoked_time IS NULL
              AND expires_time > :now""",
        {"org_id": org_id, "learner_id": learner_id, "now": now_ms},
    )


async def upsert_password(
    conn: Connection, *, org_id: int, learner_id: int, password_hash: str, now_ms: int
) -> None:
    await conn.execute(
        """INSERT INTO ui_passwords (learner_id, org_id, password_hash, changed_time)
           VALUES (:learner_id, :org_id, :password_hash, :now)
           ON CONFLICT (learner_id) DO UPDATE
              SET password_hash = excluded.password_hash, changed_time = excluded.changed_time""",
        {
            "learner_id": learner_id,
            "org_id": org_id,
            "password_hash": password_hash,
            "now": now_ms,
        },
    )


async def replace_password_hash(
    conn: Connection, *, learner_id: int, old_hash: str, new_hash: str
) -> None:
    """A stronger hash of the same password, unless the password changed meanwhile."""
    await conn.execute(
        """UPDATE ui_passwords SET password_hash = :new_hash
            WHERE learner_id = :learner_id AND password_hash = :old_hash""",
        {"learner_id": learner_id, "old_hash": old_hash, "new_hash": new_hash},
    )


async def password_candidates(conn: Connection, *, email: str, org_id: int | None) -> list[Row]:
    """The active people with this (lower-case) email and a password: `org_id`,
    `learner_id`, `password_hash`; in one organisation when `org_id` is given."""
    return await conn.fetch_all(
        """SELECT p.org_id, p.learner_id, p.password_hash
             FROM ui_passwords p
             JOIN learners l ON l.id = p.learner_id AND l.org_id = p.org_id
            WHERE l.email = :email AND l.status = 'active'
              AND (CAST(:org_id AS BIGINT) IS NULL OR p.org_id = :org_id)
            ORDER BY p.org_id
            LIMIT :max_candidates""",
        {"email": email, "org_id": org_id, "max_candidates": MAX_PASSWORD_CANDIDATES},
    )
