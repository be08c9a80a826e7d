"""Keeps the stored service features (``ServiceFeature``) current, and the data version.

Statement-level triggers on every table a feature embeds (created by migration
``0007_service_features``) call ``providers_features_changed()``, which finds the services
a statement touched and calls ``providers_refresh_features(service ids)``. Both functions
are generated here from the definition in ``providers.features`` and installed after
every ``migrate``; when the definition changed, every stored feature is rebuilt at once.

An UPDATE refreshes only the services whose rows changed in a column the feature embeds
(``features.watched()``): PostgreSQL does not allow ``AFTER UPDATE OF <columns>`` on
triggers with transition tables ("transition tables cannot be specified for triggers with
column lists", as PostgreSQL 15 answers), and the statement-level triggers need the transition
tables to see which rows a bulk statement touched (row-level triggers would refresh once
per row of an import). So the comparison of old and new rows on the watched columns is in
the function. Any statement on these tables also advances the sequence
``providers_data_version``, which the map's cache keys read (``data_version``).
"""

from __future__ import annotations

from django.core import checks
from django.db import connections, transaction

from atlas.core.db_functions import (
    compiled_sql,
    function_is_current,
    install_function,
    sequence_value,
    table_exists,
)

from .features import STORED_COLUMNS, stored_feature_rows, watched
from .models import Category, Location, Organization, Service, ServiceAtLocation, TargetGroup

FUNCTION = "providers_refresh_features(bigint[])"
CHANGED_FUNCTION = "providers_features_changed()"
DATA_VERSION = "providers_data_version"


def function_sql(using: str = "default") -> str:
    """``CREATE OR REPLACE FUNCTION`` of the refresh with the current feature definition."""
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
"""


def _services_of(table: str, rows: str) -> str:
    """SQL for the ids of the services whose features embed ``rows`` of ``table``."""
    service = Service._meta.db_table
    via_link = {
        Location._meta.db_table: (ServiceAtLocation._meta.db_table, "location_id"),
        Category._meta.db_table: (Service.categories.through._meta.db_table, "category_id"),
        TargetGroup._meta.db_table: (
            Service.target_groups.through._meta.db_table,
            "targetgroup_id",
        ),
    }
    if table == service:
        return f"SELECT id FROM {rows}"
    if table == Organization._meta.db_table:
        return f"SELECT id FROM {service} WHERE organization_id IN (SELECT id FROM {rows})"
    if table in via_link:
        link, column = via_link[table]
        return f"SELECT service_id FROM {link} WHERE {column} IN (SELECT id FROM {rows})"
    # Link tables and contacts name the service themselves.
    return f"SELECT service_id FROM {rows} WHERE service_id IS NOT NULL"


def _changed_rows(columns: tuple[str, ...], side: str) -> str:
    """The ``side`` (``n`` new, ``o`` old) of updated rows that differ in ``columns``."""
    new = ", ".join(f"n.{c}" for c in columns)
    old = ", ".join(f"o.{c}" for c in columns)
    return (
        f"(SELECT {side}.* FROM new_rows n JOIN old_rows o ON o.id = n.id "
        f"WHERE ROW({new}) IS DISTINCT FROM ROW({old})) AS changed"
    )


def _table_branch(table: str, columns: tuple[str, ...] | None) -> str:
    if columns is None:
        update = f"{_services_of(table, 'new_rows')} UNION {_services_of(table, 'old_rows')}"
    else:
        update = (
            f"{_services_of(table, _changed_rows(columns, 'n'))} "
            f"UNION {_services_of(table, _changed_rows(columns, 'o'))}"
        )
    deleted = (
        "DELETE FROM providers_servicefeature WHERE service_id IN (SELECT id FROM old_rows);"
        if table == Service._meta.db_table
        else f"ids := ARRAY({_services_of(table, 'old_rows')});"
    )
    return f"""
    WHEN '{table}' THEN
        IF TG_OP = 'INSERT' THEN
            ids := ARRAY({_services_of(table, "new_rows")});
        ELSIF TG_OP = 'DELETE' THEN
            {deleted}
        ELSE
            ids := ARRAY({update});
        END IF;"""


def changed_function_sql() -> str:
    """``CREATE OR REPLACE FUNCTION providers_features_changed()`` from ``watched()``."""
    branches = "".join(_table_branch(t, c) for t, c in watched().items())
    # Table and column names come from model metadata, never from input.
    return f"""
CREATE OR REPLACE FUNCTION providers_features_changed() RETURNS trigger
LANGUAGE plpgsql AS $changed$
DECLARE
    ids bigint[];
BEGIN
    PERFORM nextval('{DATA_VERSION}');
    CASE TG_TABLE_NAME{branches}
    END CASE;
    IF cardinality(ids) > 0 THEN
        PERFORM providers_refresh_features(ARRAY(SELECT DISTINCT unnest(ids)));
    END IF;
    RETURN NULL;
END
$changed$;
"""


def install(using: str = "default") -> bool:
    """Install both functions if their definitions changed, and rebuild every stored
    feature if the refresh changed; return whether it did."""
    with transaction.atomic(using=using):
        with connections[using].cursor() as cursor:
            cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {DATA_VERSION}")
        install_function(CHANGED_FUNCTION, changed_function_sql(), using)
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


def data_version(using: str = "default") -> int:
    """A number that grows with every change to services, locations, their links,
    contacts and taxonomies (for cache keys)."""
    return sequence_value(DATA_VERSION, using)


@checks.register(checks.Tags.database)
def check_installed_functions(app_configs=None, databases=None, **kwargs) -> list:
    """Warn when the database's feature functions were not made from this code (run
    ``migrate``, which installs them)."""
    if not databases or "default" not in databases:
        return []
    if not table_exists("providers_servicefeature"):
        return []
    outdated = [
        signature
        for signature, sql in (
            (FUNCTION, function_sql()),
            (CHANGED_FUNCTION, changed_function_sql()),
        )
        if not function_is_current(signature, sql)
    ]
    return [
        checks.Warning(
            f"The database function {signature} does not match the feature definition.",
            hint="Run manage.py migrate: it installs the current definition.",
            id="providers.W001",
        )
        for signature in outdated
    ]
