"""The write context: who makes a write, from where, when, and under which idempotency key.

One value per write, built once (by the route plumbing from the caller's token and the
request's `Idempotency-Key`; by the demo seed or a test for their own writes) and passed to
every service function the write calls, inside the write's one transaction
(`Database.transaction`). The services take who, where and when from it, and the event log
records it with each change. It is also where a write says what it touched
(`changes`: the tags of what it made stale and the events of the change feed, see
`lmsplans.server.changes`), collected in the `ChangeLog` of the transaction it runs in (the
one `Database.transaction` opened in this task), which every copy made from the context
therefore shares and which the transaction writes when it commits. A context made before
its transaction, or inside it, records into the same log: no write can record into a log
that nobody writes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lmsplans.server.auth.schemas import Principal, Role
from lmsplans.server.changes.log import OrgChanges, current_log


@dataclass(frozen=True, slots=True)
class WriteContext:
    """One write, as the services see it."""

    org_id: int  # the organisation written to
    actor_id: int | None  # the learner who writes; None for the system
    source: str  # where the write comes from: "api", "demo", "test", ...
    now_ms: int  # when it is made (epoch ms): every time it stamps
    role: Role | None = None  # the actor's role, for the services' permission rules
    idempotency_key: str | None = None

    @classmethod
    def by(
        cls, principal: Principal, *, source: str, now_ms: int, idempotency_key: str | None
    ) -> WriteContext:
        """The write a signed-in caller (a token's or a session's principal) makes as
        themself, in their organisation and with their role."""
        return cls(
            principal.org_id, principal.user_id, source, now_ms, principal.role, idempotency_key
        )

    @property
    def changes(self) -> OrgChanges:
        """Where the services say what this write touched, in its organisation, at its
        time: the change log of the transaction running (`changes.log.current_log`)."""
        return OrgChanges(current_log(), self.org_id, self.now_ms)

    @property
    def by_admin(self) -> bool:
        return self.role is Role.ADMIN

    def consequence(self, *, actor_id: int | None) -> WriteContext:
        """A change that follows from this write rather than being asked for (a plan
        completed by its last course, a plan joined by progress in one of its courses):
        recorded under `actor_id`, and without the idempotency key, which names the
        request's own change."""
        return replace(self, actor_id=actor_id, idempotency_key=None)

    def on_behalf_of(self, actor_id: int) -> WriteContext:
        """The same write, made as `actor_id`'s own (a learner joined by an admin enrols
        themself)."""
        return replace(self, actor_id=actor_id)

    def at(self, now_ms: int) -> WriteContext:
        """The same writer at another time (a seed writing a history)."""
        return replace(self, now_ms=now_ms)
