"""The schema's shared declarations: the metadata every table joins and the id column.
Each domain declares its tables in its own `models.py`; `lmsplans.server.models` imports
them all."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Identity, Integer, MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

# A 64-bit id. On SQLite it must be spelled INTEGER to be the rowid and grow by itself.
ID = BigInteger().with_variant(Integer, "sqlite")

# Where generated ids start, so they look like Zoho's (PostgreSQL; SQLite numbers rows
# after the largest id present).
FIRST_ID = 100_002_000_000_100_000


def id_column() -> Column[int]:
    """The `id` primary key of a table whose rows get generated ids. Ids are never reused:
    PostgreSQL's identity sequence never goes back, and on SQLite the table must be declared
    with `sqlite_autoincrement=True` (migration 0006), or the id of a deleted newest row
    would be given again."""
    return Column("id", ID, Identity(start=FIRST_ID), primary_key=True)
