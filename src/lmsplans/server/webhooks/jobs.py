"""pgqueuer jobs that wake the deliverers on PostgreSQL (see `webhooks.queue`), enqueued in
the caller's transaction; nothing on SQLite. pgqueuer is imported only on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from lmsplans.server.db import Connection

ENTRYPOINT = "lmsplans.webhooks.deliver"


async def wake(conn: Connection, endpoint_ids: list[int], *, after_ms: int = 0) -> None:
    """Enqueue a job for each endpoint, to run `after_ms` from now, in `conn`'s transaction:
    committed with the deliveries it announces, or not at all."""
    if conn.__class__.__name__ != "PostgresConnection" or not endpoint_ids:
        return
    from pgqueuer.adapters.persistence.queries import Queries

    from lmsplans.server.db.postgres import PostgresConnection

    assert isinstance(conn, PostgresConnection)
    ids = sorted(set(endpoint_ids))
    # The transaction's own asyncpg connection: pgqueuer's INSERT (and its NOTIFY, sent by
    # PostgreSQL at commit) belong to the write.
    await Queries.from_asyncpg_connection(conn._raw).enqueue(
        [ENTRYPOINT] * len(ids),
        [str(endpoint_id).encode() for endpoint_id in ids],
        [0] * len(ids),
        [timedelta(milliseconds=after_ms)] * len(ids),
    )
