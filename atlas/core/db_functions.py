"""Database functions whose body is an ORM query compiled to SQL, installed by ``migrate``.

Triggers must call SQL, and the hottest requests should not build and compile the same
query each time; both use a function made from the query the ORM defines, so the
definition stays in one place. Each app's post_migrate receiver installs its functions
with ``install_function``: the text's sha256 is kept as the function's comment, so an
unchanged function is left alone and a changed one replaced.
"""

from __future__ import annotations

import hashlib

from django.db import connections
from django.db.models import QuerySet


def compiled_sql(queryset: QuerySet, using: str = "default") -> str:
    """The SQL of ``queryset`` with its parameters quoted in (by psycopg)."""
    sql, params = queryset.query.sql_with_params()
    return connections[using].ops.compose_sql(sql, params)


def _digest(create_sql: str) -> str:
    return hashlib.sha256(create_sql.encode()).hexdigest()


def function_is_current(signature: str, create_sql: str, using: str = "default") -> bool:
    """Whether the installed function named by ``signature`` was made from ``create_sql``."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [signature])
        return cursor.fetchone()[0] == _digest(create_sql)


def install_function(signature: str, create_sql: str, using: str = "default") -> bool:
    """Run ``create_sql`` (``CREATE OR REPLACE FUNCTION …``) unless the function named by
    ``signature`` was made from the same text; return whether it was (re)created."""
    if function_is_current(signature, create_sql, using):
        return False
    digest = _digest(create_sql)
    with connections[using].cursor() as cursor:
        cursor.execute(create_sql)
        cursor.execute(f"COMMENT ON FUNCTION {signature} IS %s", [digest])
    return True


def table_exists(table: str, using: str = "default") -> bool:
    """For post_migrate receivers: false while migrated back to before the table."""
    return table in connections[using].introspection.table_names()
