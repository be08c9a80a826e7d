"""Distinct values of a few indexed columns without reading every row (a loose index scan).

PostgreSQL 15 answers ``SELECT DISTINCT source FROM t`` by reading all of ``t``: 0.2–0.3 s
for the sources of 1,000,000 services or 400,000 addresses, though there are a handful. A
recursive query that asks the btree index for the next value after the last one found
costs one index probe per distinct value instead.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def distinct_values(model: type[Model], fields: tuple[str, ...]) -> list[tuple]:
    """The distinct values of ``fields`` among the rows of ``model`` whose first field is
    not empty, in index order. Needs a btree index on exactly these columns."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [connection.ops.quote_name(model._meta.get_field(f).column) for f in fields]
    listed = ", ".join(columns)
    row = f"({listed})" if len(columns) > 1 else listed
    previous = ", ".join(f"p.{c}" for c in columns)
    previous_row = f"({previous})" if len(columns) > 1 else previous
    # Only table and column names from model metadata are interpolated.
    sql = f"""
        WITH RECURSIVE found AS (
            (SELECT {listed} FROM {table} WHERE {columns[0]} > '' ORDER BY {listed} LIMIT 1)
            UNION ALL
            SELECT next.* FROM found p, LATERAL (
                SELECT {listed} FROM {table} WHERE {row} > {previous_row}
                ORDER BY {listed} LIMIT 1
            ) AS next
        )
        SELECT {listed} FROM found
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(r) for r in cursor.fetchall()]
