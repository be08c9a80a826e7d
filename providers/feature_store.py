"""Keeps the stored service features (``ServiceFeature``) current.

Triggers on services, locations, their links, contacts, organisations, categories and
target groups (migration ``0007_service_features``) call the database function
``providers_refresh_features(service ids)``. Its body is the feature definition of
``providers.api.geojson``, compiled to SQL and installed after every ``migrate``; when
the definition changed, every stored feature is rebuilt at once.
"""

from __future__ import annotations

from django.db import connections, transaction

from atlas.core.db_functions import compiled_sql, install_function, table_exists

FUNCTION = "providers_refresh_features(bigint[])"


def function_sql(using: str = "default") -> str:
    """``CREATE OR REPLACE FUNCTION`` of the refresh with the current feature definition."""
    from .api.geojson import STORED_COLUMNS, stored_feature_rows

    columns = ", ".join(STORED_COLUMNS)
    # Only ORM-compiled SQL and constant column names are interpolated.
    return f"""
CREATE OR REPLACE FUNCTION providers_refresh_features(service_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $refresh$
BEGIN
    DELETE FROM providers_servicefeature WHERE service_id = ANY(service_ids);
    INSERT INTO providers_servicefeature ({columns})
    {compiled_sql(stored_feature_rows(), using)};
END
$refresh$;
"""  # noqa: S608


def install(using: str = "default") -> bool:
    """Install the refresh function if its definition changed, then rebuild every stored
    feature; return whether it changed."""
    with transaction.atomic(using=using):
        changed = install_function(FUNCTION, function_sql(using), using)
        if changed:
            with connections[using].cursor() as cursor:
                cursor.execute(
                    "SELECT providers_refresh_features(ARRAY(SELECT id FROM providers_service))"
                )
                cursor.execute("ANALYZE providers_servicefeature")
    return changed


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    if table_exists("providers_servicefeature", using):
        install(using)
