"""PostgreSQL schemas of older versions, and a dump of a schema's catalog to compare them."""

from __future__ import annotations

import psycopg
from psycopg import sql

from medinv.adapters.postgres import MIGRATIONS
from medinv.adapters.postgres._schema import VERSION_TABLE


def replay_migrations(dsn: str, schema: str, version: int) -> None:
    """A schema at ``version`` made by replaying migrations 1 to ``version``, as releases did."""
    s = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(s))
        conn.execute(sql.SQL(VERSION_TABLE).format(s=s))
        for migration in MIGRATIONS[:version]:
            for statement in migration.statements:
                conn.execute(sql.SQL(statement).format(s=s))
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.schema_version (version, description) VALUES (%s, %s)"
                ).format(s),
                (migration.version, migration.description),
            )


_QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind::text FROM pg_class AS c
        JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s
        ORDER BY 1""",
    "columns": """
        SELECT table_name::text, ordinal_position::int, column_name::text, data_type::text,
               is_nullable::text, coalesce(column_default, '')::text,
               coalesce(collation_name, '')::text
        FROM information_schema.columns WHERE table_schema = %(s)s ORDER BY 1, 2""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
        FROM pg_constraint AS k JOIN pg_class AS c ON c.oid = k.conrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = %(s)s
        ORDER BY 1, 2""",
    "indexes": """
        SELECT tablename::text, indexname::text, indexdef FROM pg_indexes
        WHERE schemaname = %(s)s ORDER BY 1, 2""",
    "versions": "SELECT version, description FROM {s}.schema_version ORDER BY 1",
}


def catalog(dsn: str, schema: str) -> dict[str, list[tuple[object, ...]]]:
    """Tables, columns (types, nullability, defaults, collations), constraints, indexes, versions.

    The schema's own name is replaced by ``{s}`` so that two schemas compare.
    """
    found: dict[str, list[tuple[object, ...]]] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for name, text in _QUERIES.items():
            query = sql.SQL(text).format(s=sql.Identifier(schema)) if "{s}" in text else text
            rows = conn.execute(query, {"s": schema}).fetchall()
            found[name] = [
                tuple(v.replace(schema, "{s}") if isinstance(v, str) else v for v in row)
                for row in rows
            ]
    return found
