"""Sign-in for people, on each backend: one-time links, passwords and sessions that end when
they should (their lifetime, an idle spell, signing out, a new password, deactivation)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from lmsplans.demo import DemoTokens
from lmsplans.server.auth.schemas import Operation, Principal, Role
from lmsplans.server.clock import ManualClock
from lmsplans.server.errors import (
    ExpiredToken,
    InvalidParameter,
    InvalidToken,
    NoSuchLearner,
    PermissionDenied,
)
from lmsplans.server.http import Services
from lmsplans.server.learners.service import create_learner
from lmsplans.server.sessions import service as sessions
from lmsplans.server.sessions.schemas import NewSession, SessionPolicy
from lmsplans.server.writes import WriteContext
from tests.conftest import auth

POLICY = SessionPolicy()
MINUTE = 60.0
PASSWORD = "correct horse battery staple"


@pytest.fixture
def passwords() -> sessions.Passwords:
    """Real argon2id, with settings cheaper than the server's so the tests stay quick (one
    test checks that such a hash is made again with the server's settings)."""
    return sessions.Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


async def rows(services: Services, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with services.db.read() as conn:
        return [dict(row) for row in await conn.fetch_all(sql, params)]


async def sign_in(
    services: Services, clock: ManualClock, learner_id: int, org_id: int
) -> NewSession:
    link = await sessions.create_sign_in_link(
        services.db, org_id=org_id, learner_id=learner_id, now_ms=clock.now_ms(), policy=POLICY
    )
    return await sessions.redeem_sign_in_link(
        services.db, token=link.token, now_ms=clock.now_ms(), policy=POLICY
    )


async def look_up(services: Services, clock: ManualClock, session: NewSession) -> Any:
    return await sessions.look_up_session(
        services.db, session_id=session.session_id, now_ms=clock.now_ms(), policy=POLICY
    )


async def test_a_link_signs_its_person_in_once(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    link = await sessions.create_sign_in_link(
        services.db,
        org_id=people.org_id,
        learner_id=people.manager_id,
        now_ms=clock.now_ms(),
        policy=POLICY,
    )
    assert link.expires_ms == clock.now_ms() + 15 * 60 * 1000
    assert link.url("http://127.0.0.1:8000/") == f"http://127.0.0.1:8000/ui/sign-in/{link.token}"
    session = await sessions.redeem_sign_in_link(
        services.db, token=link.token, now_ms=clock.now_ms(), policy=POLICY
    )
    assert (session.org_id, session.learner_id) == (people.org_id, people.manager_id)
    info = await look_up(services, clock, session)
    (person,) = await rows(
        services, "SELECT display_name, email FROM learners WHERE id = :id", id=people.manager_id
    )
    (org,) = await rows(services, "SELECT name FROM organisations WHERE id = :id", id=people.org_id)
    assert (info.org_id, info.org_name, info.learner_id) == (
        people.org_id,
        org["name"],
        people.manager_id,
    )
    assert (info.display_name, info.email, info.role) == (
        person["display_name"],
        person["email"],
        Role.MANAGER,
    )
    assert info.csrf_token == session.csrf_token
    assert info.principal() == Principal(
        org_id=people.org_id,
        user_id=people.manager_id,
        role=Role.MANAGER,
        operations=frozenset({Operation.ALL}),
        expires_ms=info.expires_ms,
    )
    with pytest.raises(InvalidToken, match="used already"):
        await sessions.redeem_sign_in_link(
            services.db, token=link.token, now_ms=clock.now_ms(), policy=POLICY
        )
    # Only hashes are kept: neither the link's token nor the session id is in the database.
    stored = await rows(services, "SELECT * FROM ui_sign_in_links") + await rows(
        services, "SELECT * FROM ui_sessions"
    )
    assert len(stored) == 2
    text = repr(stored)
    assert link.token not in text and session.session_id not in text
    assert session.csrf_token not in text


async def test_a_link_lasts_fifteen_minutes(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    make = dict(org_id=people.org_id, learner_id=people.learner_id, policy=POLICY)
    late = await sessions.create_sign_in_link(services.db, now_ms=clock.now_ms(), **make)
    in_time = await sessions.create_sign_in_link(services.db, now_ms=clock.now_ms(), **make)
    clock.advance(15 * MINUTE - 0.001)
    await sessions.redeem_sign_in_link(
        services.db, token=in_time.token, now_ms=clock.now_ms(), policy=POLICY
    )
    clock.advance(0.001)
    with pytest.raises(ExpiredToken, match="expired"):
        await sessions.redeem_sign_in_link(
            services.db, token=late.token, now_ms=clock.now_ms(), policy=POLICY
        )
    with pytest.raises(InvalidToken, match="not valid"):
        await sessions.redeem_sign_in_link(
            services.db, token=late.token + "x", now_ms=clock.now_ms(), policy=POLICY
        )
    # Refused redemptions opened nothing; links past their time, used or not, are
    # forgotten when the next one is made.
    assert len(await rows(services, "SELECT session_hash FROM ui_sessions")) == 1
    assert len(await rows(services, "SELECT token_hash FROM ui_sign_in_links")) == 2
    await sessions.create_sign_in_link(services.db, now_ms=clock.now_ms(), **make)
    left = await rows(services, "SELECT used_time FROM ui_sign_in_links")
    assert left == [{"used_time": None}]


async def test_two_redemptions_of_one_link_open_one_session(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    link = await sessions.create_sign_in_link(
        services.db,
        org_id=demo.people.org_id,
        learner_id=demo.people.learner_id,
        now_ms=clock.now_ms(),
        policy=POLICY,
    )
    outcomes = await asyncio.gather(
        *(
            sessions.redeem_sign_in_link(
                services.db, token=link.token, now_ms=clock.now_ms(), policy=POLICY
            )
            for _ in range(4)
        ),
        return_exceptions=True,
    )
    opened = [o for o in outcomes if isinstance(o, NewSession)]
    refused = [o for o in outcomes if isinstance(o, InvalidToken)]
    assert (len(opened), len(refused)) == (1, 3), outcomes
    assert len(await rows(services, "SELECT session_hash FROM ui_sessions")) == 1


async def test_who_may_have_a_link(
    services: Services, demo: DemoTokens, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    people = demo.people
    now = clock.now_ms()

    async def make(learner_id: int, made_by: Principal | None = None) -> Any:
        return await sessions.create_sign_in_link(
            services.db,
            org_id=people.org_id,
            learner_id=learner_id,
            now_ms=now,
            policy=POLICY,
            made_by=made_by,
        )

    with pytest.raises(NoSuchLearner):  # another organisation's learner is nobody here
        await make(people.other_org_learner_id)
    with pytest.raises(NoSuchLearner):
        await make(123)

    def principal(user_id: int, role: Role, org_id: int = people.org_id) -> Principal:
        return Principal(org_id=org_id, user_id=user_id, role=role, operations=frozenset())

    with pytest.raises(PermissionDenied):
        await make(people.learner_id, principal(people.manager_id, Role.MANAGER))
    with pytest.raises(PermissionDenied):  # an admin of another organisation
        await make(
            people.learner_id, principal(people.admin_id, Role.ADMIN, org_id=people.org_id + 1)
        )
    assert await rows(services, "SELECT token_hash FROM ui_sign_in_links") == []
    await make(people.learner_id, principal(people.admin_id, Role.ADMIN))
    assert await rows(services, "SELECT created_by FROM ui_sign_in_links") == [
        {"created_by": people.admin_id}
    ]
    deleted = await client.delete(
        f"/api/v1/learners/{people.learner_id}", headers=auth(demo.admin_token)
    )
    assert deleted.status_code == 200, deleted.text
    with pytest.raises(InvalidParameter):
        await make(people.learner_id)


async def test_a_session_ends_after_its_lifetime_or_an_idle_spell(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    session = await sign_in(services, clock, people.learner_id, people.org_id)
    info = await look_up(services, clock, session)
    assert info.expires_ms == clock.now_ms() + POLICY.idle_timeout_ms
    # A request within the touch interval writes nothing; after it, `last_seen` moves.
    clock.advance(POLICY.touch_every_ms / 1000 - 1)
    assert not await sessions.record_activity(
        services.db, session=info, now_ms=clock.now_ms(), policy=POLICY
    )
    clock.advance(1)
    assert await sessions.record_activity(
        services.db, session=info, now_ms=clock.now_ms(), policy=POLICY
    )
    info = await look_up(services, clock, session)
    assert info.last_seen_ms == clock.now_ms()
    # Active every hour, the session lives its whole lifetime of 12 hours, and no longer.
    for _ in range(11):
        clock.advance(60 * MINUTE)
        info = await look_up(services, clock, session)
        await sessions.record_activity(
            services.db, session=info, now_ms=clock.now_ms(), policy=POLICY
        )
    assert info.expires_ms == info.created_ms + POLICY.session_ttl_ms
    clock.advance((info.expires_ms - clock.now_ms()) / 1000)
    with pytest.raises(ExpiredToken, match="sign in again"):
        await look_up(services, clock, session)
    # Left alone for two hours, a session ends.
    idle = await sign_in(services, clock, people.learner_id, people.org_id)
    clock.advance(2 * 60 * MINUTE - 0.001)
    await look_up(services, clock, idle)
    clock.advance(0.001)
    with pytest.raises(ExpiredToken):
        await look_up(services, clock, idle)


async def test_signing_out_ends_every_session_of_that_person(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    phone, laptop = [await sign_in(services, clock, people.manager_id, people.org_id) for _ in "ab"]
    colleague = await sign_in(services, clock, people.learner_id, people.org_id)
    with pytest.raises(InvalidToken, match="not signed in"):
        await sessions.look_up_session(
            services.db, session_id="made-up", now_ms=clock.now_ms(), policy=POLICY
        )
    ended = await sessions.end_all_sessions(
        services.db, org_id=people.org_id, learner_id=people.manager_id, now_ms=clock.now_ms()
    )
    assert ended == 2
    for session in (phone, laptop):
        with pytest.raises(InvalidToken):
            await look_up(services, clock, session)
    assert (await look_up(services, clock, colleague)).learner_id == people.learner_id
    assert await sessions.end_session(
        services.db, session_id=colleague.session_id, now_ms=clock.now_ms()
    )
    assert not await sessions.end_session(
        services.db, session_id=colleague.session_id, now_ms=clock.now_ms()
    )
    with pytest.raises(InvalidToken):
        await look_up(services, clock, colleague)


async def test_a_deactivated_person_is_signed_out(
    services: Services, demo: DemoTokens, clock: ManualClock, client: httpx.AsyncClient
) -> None:
    people = demo.people
    session = await sign_in(services, clock, people.learner_id, people.org_id)
    deleted = await client.delete(
        f"/api/v1/learners/{people.learner_id}", headers=auth(demo.admin_token)
    )
    assert deleted.status_code == 200, deleted.text
    with pytest.raises(InvalidToken):
        await look_up(services, clock, session)


def test_the_form_token_belongs_to_its_session() -> None:
    one, other = sessions.csrf_token_for("session-one"), sessions.csrf_token_for("session-two")
    assert one != other and len(one) == 64
    assert one == sessions.csrf_token_for("session-one")
    assert one != sessions.hash_secret("session-one")  # not what the database stores


async def test_the_form_token_is_checked(
    services: Services, demo: DemoTokens, clock: ManualClock
) -> None:
    people = demo.people
    session = await sign_in(services, clock, people.admin_id, people.org_id)
    info = await look_up(services, clock, session)
    assert sessions.csrf_token_matches(info, session.csrf_token)
    other = await sign_in(services, clock, people.admin_id, people.org_id)
    for wrong in (other.csrf_token, "", None, session.csrf_token[:-1]):
        assert not sessions.csrf_token_matches(info, wrong)


async def email_of(services: Services, learner_id: int) -> str:
    (row,) = await rows(services, "SELECT email FROM learners WHERE id = :id", id=learner_id)
    email: str = row["email"]
    return email


@dataclass
class Accounts:
    """Passwords set and used through the service, at the test clock's time."""

    services: Services
    passwords: sessions.Passwords
    clock: ManualClock

    async def set_password(self, org_id: int, learner_id: int, password: str = PASSWORD) -> int:
        return await sessions.set_password(
            self.services.db,
            self.passwords,
            org_id=org_id,
            learner_id=learner_id,
            password=password,
            now_ms=self.clock.now_ms(),
        )

    async def sign_in(
        self,
        email: str,
        password: str = PASSWORD,
        *,
        org_id: int | None = None,
        passwords: sessions.Passwords | None = None,
    ) -> NewSession:
        return await sessions.sign_in_with_password(
            self.services.db,
            passwords or self.passwords,
            email=email,
            password=password,
            now_ms=self.clock.now_ms(),
            policy=POLICY,
            org_id=org_id,
        )


@pytest.fixture
def accounts(services: Services, passwords: sessions.Passwords, clock: ManualClock) -> Accounts:
    return Accounts(services, passwords, clock)


async def test_a_password_signs_in_and_a_new_one_signs_out(
    services: Services, demo: DemoTokens, clock: ManualClock, accounts: Accounts
) -> None:
    people = demo.people
    email = await email_of(services, people.learner_id)
    before = await sign_in(services, clock, people.learner_id, people.org_id)
    for weak in ("short", "x" * 11, "y" * 1025):
        with pytest.raises(InvalidParameter):
            await accounts.set_password(people.org_id, people.learner_id, weak)
    assert await rows(services, "SELECT learner_id FROM ui_passwords") == []
    await look_up(services, clock, before)  # a refused password ended nothing
    assert await accounts.set_password(people.org_id, people.learner_id) == 1  # sessions ended
    with pytest.raises(InvalidToken):
        await look_up(services, clock, before)
    (stored,) = await rows(services, "SELECT org_id, password_hash FROM ui_passwords")
    assert stored["org_id"] == people.org_id
    assert (
        stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    )
    session = await accounts.sign_in(f"  {email.upper()} ")
    assert (session.org_id, session.learner_id) == (people.org_id, people.learner_id)
    assert (await look_up(services, clock, session)).learner_id == people.learner_id
    refusals = [
        (email, PASSWORD + "!"),
        ("nobody@zylker.example", PASSWORD),
        (email, ""),
        ("", PASSWORD),
        (email, "z" * 5000),
    ]
    for address, password in refusals:
        with pytest.raises(InvalidToken) as refused:
            await accounts.sign_in(address, password)
        assert refused.value.message == "Wrong email or password"
    (other_org,) = await rows(
        services, "SELECT org_id FROM learners WHERE id = :id", id=people.other_org_learner_id
    )
    with pytest.raises(InvalidToken):  # the right password, in another organisation
        await accounts.sign_in(email, org_id=other_org["org_id"])


async def test_one_email_in_two_organisations_chooses_one(
    services: Services, demo: DemoTokens, clock: ManualClock, accounts: Accounts
) -> None:
    people = demo.people
    email = await email_of(services, people.learner_id)
    (other,) = await rows(
        services, "SELECT org_id FROM learners WHERE id = :id", id=people.other_org_learner_id
    )
    async with services.db.transaction() as conn:
        twin = await create_learner(
            conn,
            write=WriteContext(
                org_id=other["org_id"], actor_id=None, source="test", now_ms=clock.now_ms()
            ),
            zuid=99_000_001,
            employee_id="TWIN1",
            email=email,
            display_name="Same Person",
            role=Role.LEARNER,
            manager_id=None,
        )
    await accounts.set_password(people.org_id, people.learner_id)
    await accounts.set_password(other["org_id"], twin)
    with pytest.raises(InvalidParameter) as ambiguous:
        await accounts.sign_in(email)
    assert ambiguous.value.errors == [
        {
            "field": "organisation",
            "message": "this email and password sign in to several organisations: choose one",
        }
    ]
    chosen = await accounts.sign_in(email, org_id=other["org_id"])
    assert (chosen.org_id, chosen.learner_id) == (other["org_id"], twin)


async def test_a_weak_hash_is_made_again_at_sign_in(
    services: Services, demo: DemoTokens, accounts: Accounts
) -> None:
    people = demo.people
    await accounts.set_password(people.org_id, people.admin_id)
    (weak,) = await rows(services, "SELECT password_hash FROM ui_passwords")
    server = sessions.Passwords()  # the server's settings: argon2-cffi's defaults
    assert server.needs_rehash(weak["password_hash"])
    await accounts.sign_in(await email_of(services, people.admin_id), passwords=server)
    (strong,) = await rows(services, "SELECT password_hash FROM ui_passwords")
    assert strong["password_hash"] != weak["password_hash"]
    assert not server.needs_rehash(strong["password_hash"])
    assert await server.verify(strong["password_hash"], PASSWORD)
    assert not await server.verify(strong["password_hash"], PASSWORD.upper())
    assert not await server.verify("not a hash", PASSWORD)
