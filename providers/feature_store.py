"""Keeps the stored service features (``ServiceFeature``) and map markers
(``ServiceMarker``) current, and the data version.

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
the function.

The data version (``data_version``) labels what the map's tile cache and the export files
hold, so a label must never stand for two different states of the data. It is a row,
``providers_dataversion``, not a sequence read directly: a sequence is not transactional,
so a reader could see a writer's new number while the writer's changes were still
uncommitted, and would keep old data under the new label for good. The row is updated in
the writer's transaction and becomes visible together with its changes (MVCC), so a
statement that reads the version and the data (``CurrentDataVersion`` in the export's
query) reads one state, and two snapshots with the same version see the same committed
changes: writers update the row one after the other (its row lock), each to a fresh number
of the sequence ``providers_data_version``.

Every statement on a watched table calls ``providers_note_data_change()``. The first one of
a transaction queues a deferred constraint trigger (``providers_dataversion_commit``) that
updates the row once, at commit, after the transaction's own statements: the row lock is
held from then to the end of the commit, not through the transaction, so concurrent admin
writers do not queue behind a long import, and a writer waiting for the version row holds
no lock that the holder still waits for (only the foreign-key checks that Django defers to
commit run after it, and they wait only for a transaction that deletes a referenced row,
which would make the holder fail anyway). Inside the writing transaction, before commit,
``data_version`` answers a transaction-local number (``atlas.data_version``, a fresh value of
the sequence after each statement): the transaction sees its own changes, so its cache
entries must not carry the committed label, and nobody else ever reads that number.
Statements that bypass the triggers (``TRUNCATE``, triggers disabled for a bulk load) must
call ``advance_data_version`` themselves; rebuilding the stored features on ``migrate``
does.
"""

from __future__ import annotations

from django.core import checks
from django.db import connections, transaction
from django.db.models import BigIntegerField, Func

from atlas.core.db_functions import (
    compiled_sql,
    function_is_current,
    install_function,
    table_exists,
)

from .features import STORES, watched
from .models import Category, Location, Organization, Service, ServiceAtLocation, TargetGroup

FUNCTION = "providers_refresh_features(bigint[])"
CHANGED_FUNCTION = "providers_features_changed()"
DATA_VERSION = "providers_data_version"
VERSION_SETTING = "atlas.data_version"
# The version this statement sees: the writing transaction's own number while it has
# uncommitted changes, else the committed row.
CURRENT_VERSION_SQL = (
    f"coalesce(nullif(current_setting('{VERSION_SETTING}', true), '')::bigint, "
    "(SELECT version FROM providers_dataversion))"
)
VERSION_SQL = f"""
CREATE SEQUENCE IF NOT EXISTS {DATA_VERSION};
CREATE TABLE IF NOT EXISTS providers_dataversion (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL
);
INSERT INTO providers_dataversion (version) VALUES (nextval('{DATA_VERSION}'))
    ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS providers_dataversion_pending ();

CREATE OR REPLACE FUNCTION providers_note_data_change() RETURNS void
LANGUAGE plpgsql AS $note$
BEGIN
    IF coalesce(current_setting('{VERSION_SETTING}', true), '') = '' THEN
        -- Once per transaction (and again after a rolled-back savepoint, which takes the
        -- row and the setting with it): queue the update of the version row at commit.
        INSERT INTO providers_dataversion_pending DEFAULT VALUES;
    END IF;
    PERFORM set_config('{VERSION_SETTING}', nextval('{DATA_VERSION}')::text, true);
END
$note$;

CREATE OR REPLACE FUNCTION providers_dataversion_commit() RETURNS trigger
LANGUAGE plpgsql AS $commit$
BEGIN
    -- Only this transaction's rows are visible: others' are uncommitted, and every
    -- transaction removes its own here, so none is ever committed.
    DELETE FROM providers_dataversion_pending;
    PERFORM set_config('{VERSION_SETTING}', '', true);
    UPDATE providers_dataversion SET version = nextval('{DATA_VERSION}');
    RETURN NULL;
END
$commit$;

DROP TRIGGER IF EXISTS providers_dataversion_commit ON providers_dataversion_pending;
CREATE CONSTRAINT TRIGGER providers_dataversion_commit
    AFTER INSERT ON providers_dataversion_pending
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION providers_dataversion_commit();

-- A new service without a location has no feature, but the CSV export lists it.
CREATE OR REPLACE FUNCTION providers_service_inserted() RETURNS trigger
LANGUAGE plpgsql AS $inserted$
BEGIN
    PERFORM providers_note_data_change();
    RETURN NULL;
END
$inserted$;
CREATE OR REPLACE TRIGGER providers_service_version_insert
    AFTER INSERT ON providers_service
    FOR EACH STATEMENT EXECUTE FUNCTION providers_service_inserted();
"""


def function_sql(using: str = "default") -> str:
    """``CREATE OR REPLACE FUNCTION`` of the refresh with the current definitions of the
    stored features and map markers (``features.STORES``)."""
    # Only ORM-compiled SQL and constant table and column names are interpolated.
    body = "".join(
        f"""
    DELETE FROM {model._meta.db_table} WHERE service_id = ANY(service_ids);
    INSERT INTO {model._meta.db_table} ({", ".join(columns)})
    {compiled_sql(rows(), using)};"""
        for model, columns, rows in STORES
    )
    return f"""
CREATE OR REPLACE FUNCTION providers_refresh_features(service_ids bigint[]) RETURNS void
LANGUAGE plpgsql SET TimeZone = 'UTC' AS $refresh$
BEGIN{body}
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
        " ".join(
            f"DELETE FROM {model._meta.db_table} WHERE service_id IN (SELECT id FROM old_rows);"
            for model, _columns, _rows in STORES
        )
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
    PERFORM providers_note_data_change();
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
            cursor.execute(VERSION_SQL)
        install_function(CHANGED_FUNCTION, changed_function_sql(), using)
        changed = install_function(FUNCTION, function_sql(using), using)
        if changed:
            with connections[using].cursor() as cursor:
                cursor.execute(
                    "SELECT providers_refresh_features(ARRAY(SELECT id FROM providers_service))"
                )
                for model, _columns, _rows in STORES:
                    cursor.execute(f"ANALYZE {model._meta.db_table}")
            # The stored texts changed without a statement on a watched table.
            advance_data_version(using)
    if changed:
        _vacuum_stores(using)
    return changed


def _vacuum_stores(using: str) -> None:
    """VACUUM the stored tables after a rebuild of all their rows, which left every old row
    dead in the table and in its indexes: until autovacuum came by, a tile's index scan
    visited those too. At a million services the first view from a cold database took
    1.51-1.73 s after the rebuild and 1.37-1.41 s after this VACUUM (1.3 s for the markers,
    13 s for the features; bench/map.py --cold-database); all its tiles were drawn after
    3.2-5.0 s, then 2.3 s. The file keeps its size (the free space is reused); readers and
    writers are not blocked. VACUUM cannot run inside a transaction: in one (a test's),
    autovacuum is left to do it."""
    connection = connections[using]
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model, _columns, _rows in STORES:
            cursor.execute(f"VACUUM {model._meta.db_table}")


def _stores_exist(using: str = "default") -> bool:
    """False while migrated back to before one of the stored tables."""
    return all(table_exists(model._meta.db_table, using) for model, _c, _r in STORES)


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    if _stores_exist(using):
        install(using)


def data_version(using: str = "default") -> int:
    """A number that changes with every committed change to services, locations, their
    links, contacts and taxonomies, read from the same snapshot as the next statements'
    data (for cache keys; see the module docstring). Inside a transaction with uncommitted
    changes, a number of its own that grows with each of its statements."""
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {CURRENT_VERSION_SQL}")
        return int(cursor.fetchone()[0])


def advance_data_version(using: str = "default") -> None:
    """Give the data a new version when this transaction commits, for changes made without
    the triggers (bulk loads with triggers disabled, a rebuild of the stored features)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT providers_note_data_change()")


class CurrentDataVersion(Func):
    """``data_version`` as an expression: read in the same statement, hence the same
    snapshot, as the rows it is selected with."""

    template = CURRENT_VERSION_SQL
    output_field = BigIntegerField()

    def get_group_by_cols(self):
        return []  # one value per statement: nothing to group by


@checks.register(checks.Tags.database)
def check_installed_functions(app_configs=None, databases=None, **kwargs) -> list:
    """Warn when the database's feature functions were not made from this code (run
    ``migrate``, which installs them)."""
    if not databases or "default" not in databases:
        return []
    if not _stores_exist():
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
