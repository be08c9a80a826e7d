"""The one generator of synthetic services for the benchmarks (bench/api.py, bench/abuse.py,
bench/map.py): published services with one location each, spread over the Berlin planning
areas in proportion to their size, with categories, target groups and a public contact for
every tenth, inserted by set-based SQL (1,000,000 in minutes, not hours).

    DATABASE_URL=… .venv/bin/python bench/synthetic_services.py 50000

tops the database up to 50,000 published services (the demo's plus generated ones). From
Python: ``ensure_generated(count)`` (exactly ``count`` generated services) or
``ensure_published(total)`` (the command line's meaning). Generated rows carry external ids
``bench:…``; ``drop_bench_data()`` removes them. Only for benchmark databases.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.migrations.executor import MigrationExecutor  # noqa: E402

from planning_areas.models import Layer  # noqa: E402
from providers.models import Location, Service  # noqa: E402

BERLIN = (13.09, 52.34, 13.76, 52.67)  # minlon, minlat, maxlon, maxlat
KINDS = [
    ("Familienzentrum", "familienzentrum", "Treffpunkt, Beratung und Kurse für Familien"),
    ("Kita", "kita", "Kindertagesstätte mit Krippe und Elementarbereich"),
    ("Jugendclub", "jugendfreizeit", "Offene Kinder- und Jugendarbeit, Sport und Musik"),
    ("Erziehungsberatung", "familienberatung", "Beratung für Eltern, Kinder und Jugendliche"),
    ("Stadtteilzentrum", "stadtteilzentrum", "Nachbarschaftshaus mit Café und Sozialberatung"),
    ("Seniorentreff", "senioren", "Begegnung, Gymnastik und Ausflüge für Ältere"),
    ("Schuldnerberatung", "beratung", "Kostenlose Hilfe bei Schulden und Insolvenz"),
    ("Migrationsberatung", "beratung", "Beratung zu Aufenthalt, Arbeit und Sprachkursen"),
    ("Sprachcafé", "stadtteilzentrum", "Deutsch üben in entspannter Runde"),
    ("Hausaufgabenhilfe", "jugend", "Lernunterstützung für Schülerinnen und Schüler"),
]
OPENING_HOURS = ["Mo-Fr 09:00-17:00", "Mo-Th 10:00-18:00; Fr 10:00-14:00", "Tu,Th 14:00-19:00", ""]


def bench_count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM providers_service WHERE external_id LIKE 'bench:%%'", []
        )
        return cursor.fetchone()[0]


BENCH_SERVICES = "SELECT id FROM providers_service WHERE external_id LIKE 'bench:%%'"
BENCH_LOCATIONS = "SELECT id FROM providers_location WHERE external_id LIKE 'bench:%%'"


def drop_bench_data() -> None:
    """Delete the generated rows, children first (the database has no ON DELETE CASCADE)."""
    statements = [
        f"DELETE FROM providers_contact WHERE service_id IN ({BENCH_SERVICES})",
        f"DELETE FROM providers_service_categories WHERE service_id IN ({BENCH_SERVICES})",
        f"DELETE FROM providers_service_target_groups WHERE service_id IN ({BENCH_SERVICES})",
        f"DELETE FROM providers_serviceatlocation WHERE service_id IN ({BENCH_SERVICES})",
        f"DELETE FROM providers_location_areas WHERE location_id IN ({BENCH_LOCATIONS})",
        "DELETE FROM providers_service WHERE external_id LIKE 'bench:%%'",
        "DELETE FROM providers_location WHERE external_id LIKE 'bench:%%'",
        "DELETE FROM providers_organization WHERE external_id LIKE 'bench:%%'",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, [])


def feature_triggers(cursor) -> list[tuple[str, str]]:
    """(table, trigger) of the feature store's triggers (providers.feature_store)."""
    cursor.execute(
        """SELECT tgrelid::regclass::text, tgname FROM pg_trigger
           WHERE NOT tgisinternal AND tgname LIKE '%%\\_features\\_%%'""",
        [],
    )
    return cursor.fetchall()


def generate(total: int, seed: int = 1) -> None:
    """Insert ``total`` services in set-based SQL (values are parameters, never formatted)."""
    layer = Layer.objects.get(slug="planungsraeume-2021")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # The feature store's triggers would rebuild every new service's feature after each
        # of the statements below (five times in all); off while inserting (inside this
        # transaction only), then one rebuild at the end.
        triggers = feature_triggers(cursor)
        for table, trigger in triggers:
            cursor.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"')
        cursor.execute("SELECT setseed(%s)", [1 / (seed + 1)])
        cursor.execute(
            """
            INSERT INTO providers_organization
                (created_at, updated_at, name, kind, description, website, email, phone,
                 external_id)
            SELECT now(), now(), 'Bench-Träger ' || g, 'free', '', '', '', '',
                   'bench:org:' || g
            FROM generate_series(1, %s) g
            """,
            [max(total // 50, 1)],
        )
        # Points in every planning area, in proportion to its area.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_points ON COMMIT DROP AS
            WITH sized AS (
                SELECT id, name, geometry,
                       ST_Area(geometry) / sum(ST_Area(geometry)) OVER () AS share
                FROM planning_areas_area WHERE layer_id = %s
            )
            SELECT row_number() OVER () AS n, area_name, point FROM (
                SELECT sized.name AS area_name,
                       (ST_Dump(ST_GeneratePoints(geometry,
                            greatest(1, ceil(share * %s)::int), %s))).geom AS point
                FROM sized) dumped
            """,
            [layer.pk, total, seed],
        )
        cursor.execute("DELETE FROM bench_points WHERE n > %s", [total])
        cursor.execute(
            """
            INSERT INTO providers_location
                (created_at, updated_at, name, street, house_number, postcode, city, point,
                 wheelchair, external_id, is_outside_areas, organization_id)
            SELECT now(), now(), 'Standort ' || p.area_name || ' ' || p.n,
                   'Musterstraße', (1 + p.n %% 150)::text,
                   '10' || lpad((p.n %% 1000)::text, 3, '0'),
                   'Berlin', p.point,
                   (ARRAY['yes', 'limited', 'no', 'unknown'])[1 + floor(random() * 4)::int],
                   'bench:loc:' || p.n, false, o.id
            FROM bench_points p
            -- A hash join on the organisation's number: a correlated lookup by external_id
            -- cannot use its partial unique index and scanned all organisations per row
            -- (over 20 minutes at 1,000,000 services).
            JOIN (SELECT id, substr(external_id, 11)::int AS number FROM providers_organization
                  WHERE external_id LIKE 'bench:org:%%') o ON o.number = 1 + p.n %% %s
            """,
            [max(total // 50, 1)],
        )
        kinds = [k[0] for k in KINDS]
        descriptions = [k[2] for k in KINDS]
        cursor.execute(
            """
            INSERT INTO providers_service
                (created_at, updated_at, name, description, min_age, max_age, languages,
                 is_free, fees, legal_basis, opening_hours, website, email, phone, status,
                 valid_from, valid_until, last_verified, external_id, organization_id)
            SELECT now() - random() * interval '400 days', now(),
                   (%s::text[])[1 + p.n %% %s] || ' ' || p.area_name,
                   (%s::text[])[1 + p.n %% %s] || ' im Kiez ' || p.area_name || '.',
                   CASE WHEN p.n %% 3 = 0 THEN 0 END, CASE WHEN p.n %% 3 = 0 THEN 18 END,
                   ARRAY['de'], p.n %% 5 <> 0, CASE WHEN p.n %% 5 = 0 THEN '5 € pro Termin'
                   ELSE '' END, '{}', (%s::text[])[1 + p.n %% %s], '', '', '030 1234567',
                   'published', NULL, NULL,
                   current_date - (random() * 700)::int, 'bench:svc:' || p.n, l.organization_id
            FROM bench_points p JOIN providers_location l ON l.external_id = 'bench:loc:' || p.n
            """,
            [kinds, len(kinds), descriptions, len(kinds), OPENING_HOURS, len(OPENING_HOURS)],
        )
        cursor.execute(
            """
            INSERT INTO providers_serviceatlocation (description, service_id, location_id)
            SELECT '', s.id, l.id FROM providers_service s
            JOIN providers_location l ON l.external_id = 'bench:loc:' || substr(s.external_id, 11)
            WHERE s.external_id LIKE 'bench:svc:%%'
            """,
            [],
        )
        slugs = [k[1] for k in KINDS]
        cursor.execute(
            """
            INSERT INTO providers_service_categories (service_id, category_id)
            SELECT s.id, c.id FROM providers_service s
            JOIN providers_category c
              ON c.slug = (%s::text[])[1 + substr(s.external_id, 11)::int %% %s]
            WHERE s.external_id LIKE 'bench:svc:%%'
            """,
            [slugs, len(slugs)],
        )
        cursor.execute(
            """
            INSERT INTO providers_service_target_groups (service_id, targetgroup_id)
            SELECT s.id, (SELECT id FROM providers_targetgroup ORDER BY id
                          OFFSET substr(s.external_id, 11)::int %% 6 LIMIT 1)
            FROM providers_service s WHERE s.external_id LIKE 'bench:svc:%%'
            """,
            [],
        )
        # A public contact for every tenth service.
        cursor.execute(
            """
            INSERT INTO providers_contact
                (created_at, updated_at, name, role, phone, internal_phone, email, languages,
                 visibility, publication_consent_date, is_demo, organization_id, service_id)
            SELECT now(), now(), 'Ansprechperson ' || s.id, 'Leitung', '030 7654321',
                   '030 999', '', ARRAY['de'], 'public', current_date, true,
                   s.organization_id, s.id
            FROM providers_service s
            WHERE s.external_id LIKE 'bench:svc:%%' AND s.id %% 10 = 0
            """,
            [],
        )
        cursor.execute(
            f"""SELECT providers_refresh_features(ARRAY({BENCH_SERVICES})),
                       providers_note_data_change()""",
            [],
        )
        # Django's foreign keys are checked at commit; ALTER TABLE needs them checked now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table, trigger in triggers:
            cursor.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"')
    print(f"  inserted in {time.perf_counter() - started:.1f} s; computing area membership …")
    started = time.perf_counter()
    Location.objects.filter(external_id__startswith="bench:").refresh_areas()
    with connection.cursor() as cursor:
        # VACUUM too, as autovacuum would soon: it sets the visibility map (index-only
        # scans) and merges pending GIN entries of indexes that still use fastupdate.
        cursor.execute("VACUUM ANALYZE")
    print(f"  areas and VACUUM ANALYZE in {time.perf_counter() - started:.1f} s")


def refuse_shared_database() -> None:
    if settings.DATABASES["default"]["NAME"] == "atlas":
        raise SystemExit("Refusing to fill the shared database 'atlas'; set DATABASE_URL.")


def unapplied_migrations() -> list[str]:
    """Migrations of the code that the database lacks ("app.name")."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _ in plan]


def refuse_unmigrated_database() -> None:
    """A server on a database behind the code answers 500 to every request (e.g. the
    request limits' function of core 0002): say so at once instead of timing errors."""
    missing = unapplied_migrations()
    if missing:
        database = settings.DATABASES["default"]["NAME"]
        raise SystemExit(
            f"Database {database!r} lacks migrations {', '.join(missing)}. The shared benchmark"
            " databases are read-only: clone one (CREATE DATABASE x TEMPLATE atlas_bench100k"
            " OWNER atlas), migrate the clone and pass --database x."
        )


def ensure_generated(count: int, *, regenerate: bool = False) -> None:
    """Exactly ``count`` generated services (kept when the database already holds that many,
    so a shared benchmark database is used as it is)."""
    refuse_shared_database()
    if not Layer.objects.filter(slug="planungsraeume-2021").exists():
        print("Loading the Berlin demo data (planning areas) …", flush=True)
        call_command("load_demo")
    if regenerate or bench_count() != count:
        database = settings.DATABASES["default"]["NAME"]
        print(f"Generating {count:,} services in database {database!r} …", flush=True)
        drop_bench_data()
        if count:
            generate(count)


def ensure_published(total: int) -> None:
    """``total`` published services: the database's own plus as many generated ones as are
    missing (none when it holds that many already)."""
    own = Service.objects.published().exclude(external_id__startswith="bench:").count()
    ensure_generated(max(total - own, 0))


if __name__ == "__main__":
    ensure_published(int(sys.argv[1]))
