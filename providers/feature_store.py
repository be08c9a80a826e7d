"""Keeps the stored service features (``ServiceFeature``) current.

Triggers on services, locations, their links, contacts, organisations, categories and
target groups (migration ``0007_service_features``) call the database function
``providers_refresh_features(service ids)``. Its body is the feature definition of
``providers.api.geojson``, compiled to SQL and installed after every ``migrate``; when
the definition changed, every stored feature is rebuilt at once.
"""

from __future__ import annotations

import hashlib

from django.db import connections, transaction

FUNCTION = "providers_refresh_features(bigint[])"
INSERT_COLUMNS = (
    "service_at_location_id",
    "service_id",
    "location_id",
    "location_name",
    "last_verified",
    "public",
    "internal",
)


def function_sql(using: str = "default") -> str:
    """``CREATE OR REPLACE FUNCTION`` of the refresh with the current feature definition."""
    from .api.geojson import stored_features_select

    connection = connections[using]
    select, params = stored_features_select()
    select = connection.ops.compose_sql(select, params)  # values quoted by psycopg
    columns = ", ".join(INSERT_COLUMNS)
    # Only ORM-compiled SQL and constant column names are interpolated.
    return f"""
CREATE OR REPLACE FUNCTION providers_refresh_features(service_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $refresh$
BEGIN
    DELETE FROM providers_servicefeature WHERE service_id = ANY(service_ids);
    INSERT INTO providers_servicefeature ({columns})
    {select};
END
$refresh$;
"""  # noqa: S608


def install(using: str = "default", *, rebuild: bool = False) -> bool:
    """Install the refresh function if its definition changed (then rebuild every stored
    feature) and return whether it did; ``rebuild`` rebuilds in any case."""
    connection = connections[using]
    sql = function_sql(using)
    digest = hashlib.sha256(sql.encode()).hexdigest()
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT obj_description(to_regprocedure(%s), 'pg_proc')", [FUNCTION])
        changed = cursor.fetchone()[0] != digest
        if changed:
            cursor.execute(sql)
            cursor.execute(f"COMMENT ON FUNCTION {FUNCTION} IS %s", [digest])
        if changed or rebuild:
            cursor.execute(
                "SELECT providers_refresh_features(ARRAY(SELECT id FROM providers_service))"
            )
            cursor.execute("ANALYZE providers_servicefeature")
    return changed


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: skipped while the table does not exist (migrated backwards)."""
    connection = connections[using]
    if "providers_servicefeature" in connection.introspection.table_names():
        install(using)
