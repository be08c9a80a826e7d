"""Stored service features stay current through every way data changes.

The API reads features from ``ServiceFeature``; database triggers rebuild them. Each test
changes data one way (ORM save, m2m, bulk SQL, delete) and checks what the API serves.
"""

import datetime
import json
import math

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from rest_framework.test import APIClient

from providers import feature_store
from providers.features import stored_feature_rows, stored_marker_rows
from providers.models import Contact, Service, ServiceAtLocation, ServiceFeature, ServiceMarker
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    LocationFactory,
    OrganizationFactory,
    ServiceFactory,
    TargetGroupFactory,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/services/"


@pytest.fixture
def client():
    return APIClient()


def features(client) -> list[dict]:
    response = client.get(URL)
    assert response.status_code == 200, response.content
    return json.loads(response.content)["features"]


def only_properties(client) -> dict:
    (feature,) = features(client)
    return feature["properties"]


@pytest.fixture
def service():
    location = LocationFactory(name="Haus A", point=Point(13.4, 52.52, srid=4326))
    return ServiceFactory(name="Familiencafé", locations=[location])


def test_a_new_service_at_a_location_is_stored_once_per_location(service):
    second = LocationFactory(name="Haus B")
    ServiceAtLocation.objects.create(service=service, location=second)
    stored = ServiceFeature.objects.filter(service=service)
    assert sorted(stored.values_list("location_name", flat=True)) == ["Haus A", "Haus B"]
    feature = json.loads(stored.with_text().get(location=second).text)
    assert feature["properties"]["location"]["name"] == "Haus B"


def test_saving_a_service_updates_its_features(client, service):
    service.name = "Elterncafé"
    service.opening_hours = "Mo 10:00-12:00"
    service.save()
    props = only_properties(client)
    assert props["name"] == "Elterncafé"
    assert props["opening_hours"] == "Mo 10:00-12:00"


def test_renaming_what_a_feature_embeds_updates_it(client, service):
    category, group = CategoryFactory(name="Beratung"), TargetGroupFactory(name="Eltern")
    service.categories.add(category)
    service.target_groups.add(group)
    assert [c["name"] for c in only_properties(client)["categories"]] == ["Beratung"]

    category.name = "Familienberatung"
    category.save()
    group.name = "Mütter und Väter"
    group.save()
    organization = service.organization
    organization.name = "Neuer Träger e.V."
    organization.save()
    location = service.locations.get()
    location.name = "Haus Am See"
    location.wheelchair = "yes"
    location.save()

    props = only_properties(client)
    assert [c["name"] for c in props["categories"]] == ["Familienberatung"]
    assert [t["name"] for t in props["target_groups"]] == ["Mütter und Väter"]
    assert props["organization"]["name"] == "Neuer Träger e.V."
    assert props["location"]["name"] == "Haus Am See"
    assert props["location"]["wheelchair"] == "yes"


def test_moving_a_location_moves_the_feature(client, service):
    location = service.locations.get()
    location.point = Point(13.5, 52.45, srid=4326)
    location.save()
    (feature,) = features(client)
    assert feature["geometry"]["coordinates"] == [13.5, 52.45]


def test_removing_a_category_or_location_link(client, service):
    service.categories.add(CategoryFactory())
    service.categories.clear()
    assert only_properties(client)["categories"] == []
    ServiceAtLocation.objects.filter(service=service).delete()
    assert features(client) == []
    assert not ServiceFeature.objects.filter(service=service).exists()


def test_deleting_a_service_deletes_its_features(service):
    service.delete()
    assert not ServiceFeature.objects.exists()


def test_contacts_reach_public_and_caseworker_variants(client, caseworker, service):
    public = ContactFactory(
        organization=service.organization,
        service=service,
        name="Öffentlich",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date=datetime.date(2025, 1, 1),
    )
    ContactFactory(organization=service.organization, service=service, name="Intern")
    assert [c["name"] for c in only_properties(client)["contacts"]] == ["Öffentlich"]
    client.force_authenticate(caseworker)
    assert [c["name"] for c in only_properties(client)["contacts"]] == ["Intern", "Öffentlich"]

    public.service = None  # moved to the organisation: no longer on the service
    public.save()
    assert [c["name"] for c in only_properties(client)["contacts"]] == ["Intern"]
    client.force_authenticate(None)
    assert only_properties(client)["contacts"] == []


def test_caseworker_variant_is_stored_only_where_a_service_has_contacts(service):
    assert ServiceFeature.objects.get(service=service).internal is None
    ContactFactory(organization=service.organization, service=service)
    assert "internal_phone" in ServiceFeature.objects.get(service=service).internal


def test_bulk_sql_writes_are_covered_by_the_triggers(client):
    organization = OrganizationFactory()
    location = LocationFactory(organization=organization)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO providers_service
                (created_at, updated_at, name, description, languages, is_free, fees,
                 legal_basis, opening_hours, website, email, phone, status, external_id,
                 organization_id, last_verified)
            SELECT now(), now(), 'Massenimport ' || g, '', '{de}', true, '', '{}', '', '',
                   '', '', 'published', 'bulk:' || g, %s, current_date
            FROM generate_series(1, 3) g
            """,
            [organization.pk],
        )
        cursor.execute(
            """INSERT INTO providers_serviceatlocation (description, service_id, location_id)
               SELECT '', id, %s FROM providers_service WHERE external_id LIKE 'bulk:%%'""",
            [location.pk],
        )
        cursor.execute("UPDATE providers_service SET name = upper(name)")
    names = sorted(f["properties"]["name"] for f in features(client))
    assert names == ["MASSENIMPORT 1", "MASSENIMPORT 2", "MASSENIMPORT 3"]


def test_staleness_is_judged_on_the_day_of_the_request(client, service, settings):
    service.last_verified = datetime.date.today() - datetime.timedelta(days=100)
    service.save()
    settings.ATLAS_VERIFICATION_MAX_AGE_DAYS = 365
    assert only_properties(client)["is_stale"] is False
    settings.ATLAS_VERIFICATION_MAX_AGE_DAYS = 30  # same stored text, a later "today"
    assert only_properties(client)["is_stale"] is True


def test_install_rebuilds_only_when_the_definition_changed(service):
    assert feature_store.install() is False  # installed by migrate, unchanged since
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON FUNCTION {feature_store.FUNCTION} IS 'outdated'")
        cursor.execute("DELETE FROM providers_servicefeature")
    assert feature_store.install() is True
    assert ServiceFeature.objects.filter(service=service).count() == 1


def last_vacuums() -> dict[str, object]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT relname, last_vacuum FROM pg_stat_user_tables WHERE relname = ANY(%s)",
            [[model._meta.db_table for model, _c, _r in feature_store.STORES]],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_outside_a_transaction_vacuums_the_stored_tables():
    """The rebuild on ``migrate`` leaves every old row dead; VACUUM removes them from the
    indexes the tiles scan (``feature_store._vacuum_stores``)."""
    ServiceFactory()
    before = last_vacuums()
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON FUNCTION {feature_store.FUNCTION} IS 'outdated'")
    assert feature_store.install() is True
    after = last_vacuums()
    assert set(after) == {ServiceFeature._meta.db_table, ServiceMarker._meta.db_table}
    for table, vacuumed in after.items():
        assert vacuumed is not None, table
        assert before[table] is None or vacuumed > before[table], table
    # Unchanged: nothing rebuilt, nothing vacuumed.
    assert feature_store.install() is False
    assert last_vacuums() == after


def test_a_rolled_back_change_leaves_the_stored_feature_as_it_was(client, service):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        Service.objects.filter(pk=service.pk).update(name="Verworfen")
        raise RuntimeError
    assert only_properties(client)["name"] == "Familiencafé"


def marker(service) -> ServiceMarker:
    return ServiceMarker.objects.get(service=service)


def test_the_map_marker_follows_the_service_and_its_place(service):
    stored = marker(service)
    assert (stored.name, stored.status, stored.category_id) == (
        "Familiencafé",
        Service.Status.PUBLISHED,
        None,
    )
    # Web mercator as shares of the world from the west and the north.
    assert stored.x == pytest.approx((13.4 + 180) / 360)
    assert stored.y == pytest.approx((1 - math.asinh(math.tan(math.radians(52.52))) / math.pi) / 2)
    assert ServiceMarker.objects.published().count() == 1

    Service.objects.filter(pk=service.pk).update(
        name="Elterncafé", valid_until=datetime.date(2000, 1, 1)
    )
    stored = marker(service)
    assert (stored.name, stored.valid_until) == ("Elterncafé", datetime.date(2000, 1, 1))
    assert not ServiceMarker.objects.published().exists()

    Service.objects.filter(pk=service.pk).update(valid_until=None, status=Service.Status.DRAFT)
    assert marker(service).status == Service.Status.DRAFT
    assert not ServiceMarker.objects.published().exists()

    service.locations.update(point=Point(-0.1, 51.5, srid=4326))
    assert marker(service).x == pytest.approx((180 - 0.1) / 360)
    service.delete()
    assert not ServiceMarker.objects.exists()


def test_the_marker_colour_is_the_most_specific_category_and_follows_the_tree(service):
    family = CategoryFactory(name="Familie", sort_order=1)
    advice = CategoryFactory(name="Beratung", sort_order=2)
    parenting = CategoryFactory(name="Elternberatung", parent=advice, sort_order=9)
    service.categories.add(family, advice, parenting)
    assert marker(service).category_id == parenting.pk  # deepest, despite its sort order

    Category = family.__class__
    Category.objects.filter(pk=parenting.pk).update(parent=None)  # now all at the top
    assert marker(service).category_id == family.pk  # first sorted
    Category.objects.filter(pk=family.pk).update(sort_order=5)
    assert marker(service).category_id == advice.pk
    service.categories.remove(advice)
    assert marker(service).category_id == family.pk  # sort order 5 before 9
    service.categories.clear()
    assert marker(service).category_id is None


# Last: the demo data stays loaded for the rest of the module.
def test_stored_features_equal_a_fresh_build(demo_db):
    """After the demo import, every stored text is what the definition builds now."""
    select, params = stored_feature_rows().query.sql_with_params()
    select = select.replace("SELECT unnest(service_ids)", "SELECT id FROM providers_service")
    with connection.cursor() as cursor:
        cursor.execute(select, params)
        fresh = {row[0]: (row[5], row[6]) for row in cursor.fetchall()}
    stored = {
        pk: (public, internal)
        for pk, public, internal in ServiceFeature.objects.values_list("pk", "public", "internal")
    }
    assert len(stored) > 3000
    assert stored == fresh


def test_stored_markers_equal_a_fresh_build(demo_db):
    select, params = stored_marker_rows().query.sql_with_params()
    select = select.replace("SELECT unnest(service_ids)", "SELECT id FROM providers_service")
    columns = ("pk", "x", "y", "category_id", "name", "status", "valid_from", "valid_until")
    fresh_columns = ", ".join(
        ("pk", "mercator_x", "mercator_y", "display_category")
        + tuple(f"service__{name}" for name in ("name", "status", "valid_from", "valid_until"))
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {fresh_columns} FROM ({select}) AS fresh", params)  # noqa: S608
        fresh = {row[0]: row for row in cursor.fetchall()}
    stored = {row[0]: row for row in ServiceMarker.objects.values_list(*columns)}
    assert len(stored) > 3000
    assert sum(1 for row in stored.values() if row[3] is not None) > 3000
    assert stored == fresh


# -- the definition, the triggers and the database functions --------------------------------


def _tables_in(sql: str) -> set[str]:
    import re

    return set(re.findall(r'(?:FROM|JOIN) "(\w+)"', sql))


def test_the_watched_tables_are_the_tables_the_feature_and_marker_read():
    from providers.features import watched

    feature_sql, _params = stored_feature_rows().query.sql_with_params()
    marker_sql, _params = stored_marker_rows().query.sql_with_params()
    assert _tables_in(marker_sql) <= _tables_in(feature_sql)
    assert set(watched()) == _tables_in(feature_sql)


def test_every_watched_table_has_the_triggers():
    from providers.features import watched

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE t.tgfoid = to_regprocedure(%s)""",
            [feature_store.CHANGED_FUNCTION],
        )
        triggered = {row[0] for row in cursor.fetchall()}
    assert triggered == set(watched())


def _stored_row_version(service) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ctid::text FROM providers_servicefeature WHERE service_id = %s",
            [service.pk],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_location_column_outside_the_feature_rebuilds_nothing(service):
    before = _stored_row_version(service)
    Location = service.locations.model
    Location.objects.filter(services=service).update(external_id="elsewhere:1")
    assert _stored_row_version(service) == before


def test_a_location_column_inside_the_feature_rebuilds_it(service):
    before = _stored_row_version(service)
    service.locations.update(name="Haus Z")
    assert _stored_row_version(service) != before
    stored = json.loads(ServiceFeature.objects.with_text().get(service=service).text)
    assert stored["properties"]["location"]["name"] == "Haus Z"


def test_every_change_to_a_watched_table_advances_the_data_version(service):
    first = feature_store.data_version()
    Service.objects.filter(pk=service.pk).update(status=Service.Status.DRAFT)
    second = feature_store.data_version()
    service.locations.update(external_id="x")
    assert first < second < feature_store.data_version()


@pytest.mark.parametrize("postgresql_16", [False, True], ids=["pg15", "pg16+"])
def test_the_database_functions_compile_for_each_postgresql_version(monkeypatch, postgresql_16):
    from planning_areas import point_lookup

    monkeypatch.setattr(connection.features, "is_postgresql_16", postgresql_16)
    for sql in (feature_store.function_sql(), point_lookup.function_sql()):
        assert "JSON_BUILD_OBJECT(" in sql
        assert "JSON_OBJECT(" not in sql.replace("JSON_BUILD_OBJECT(", "")
        assert "RETURNING" not in sql


def test_the_functions_install_on_this_postgresql(service):
    from planning_areas import point_lookup

    with connection.cursor() as cursor:
        cursor.execute(feature_store.function_sql())
        cursor.execute(point_lookup.function_sql())
        cursor.execute("SELECT providers_refresh_features(ARRAY[%s]::bigint[])", [service.pk])
    assert ServiceFeature.objects.filter(service=service).count() == 1


def test_the_system_check_warns_about_an_outdated_function():
    from django.core import checks

    assert feature_store.check_installed_functions(databases=["default"]) == []
    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON FUNCTION {feature_store.FUNCTION} IS 'outdated'")
    messages = checks.run_checks(databases=["default"], tags=[checks.Tags.database])
    assert [m.id for m in messages if m.id.startswith("providers.")] == ["providers.W001"]


@pytest.mark.parametrize("internal", [False, True])
def test_the_request_text_is_one_plain_concatenation(service, internal):
    """Concat wrapped each of the seven parts of a near= feature in COALESCE (a pair of
    expressions per part to build and compile per request, six COALESCE per row); the
    parts are never NULL, so the text is ``a || b || …``, and still valid JSON."""
    rows = ServiceFeature.objects.with_text(internal=internal, near=Point(13.4, 52.5))
    sql = str(rows.values("text").query)
    assert "COALESCE" not in sql.replace('COALESCE("providers_servicefeature"."internal"', "")
    feature = json.loads(rows.filter(service=service).first().text)
    assert feature["properties"]["distance"] >= 0
    assert feature["properties"]["is_stale"] in (True, False)


def test_a_rebuild_writes_the_markers_in_the_spatial_order_tiles_read_them(client):
    """Neighbouring markers on neighbouring pages (``stored_marker_rows``): services made
    in an order that jumps across the city come out of a rebuild of all stored rows in
    the order PostGIS sorts their points (a Hilbert curve), not in the order of their ids."""
    west, east = [], []
    for i in range(12):
        west.append(Point(13.10 + i * 0.001, 52.40, srid=4326))
        east.append(Point(13.70 + i * 0.001, 52.65, srid=4326))
    before = set(ServiceMarker.objects.values_list("pk", flat=True))
    for a, b in zip(west, east, strict=True):  # alternately west and east
        ServiceFactory(locations=[LocationFactory(point=a)])
        ServiceFactory(locations=[LocationFactory(point=b)])
    mine = set(ServiceMarker.objects.values_list("pk", flat=True)) - before
    with connection.cursor() as cursor:
        # An empty table, as for a first rebuild: no free space left by the factories'
        # earlier refreshes for PostgreSQL to fill out of order.
        cursor.execute("TRUNCATE providers_servicemarker")
        cursor.execute("SELECT providers_refresh_features(ARRAY(SELECT id FROM providers_service))")
        cursor.execute("SELECT service_at_location_id FROM providers_servicemarker ORDER BY ctid")
        physical = [row[0] for row in cursor.fetchall() if row[0] in mine]
        cursor.execute("SELECT service_at_location_id FROM providers_servicemarker ORDER BY point")
        spatial = [row[0] for row in cursor.fetchall() if row[0] in mine]
    assert len(physical) == 24
    assert physical == spatial
    # The west half first or last: one run each, not 24 alternations.
    sides = [ServiceMarker.objects.get(pk=pk).point.x < 13.5 for pk in physical]
    assert sum(a != b for a, b in zip(sides, sides[1:], strict=False)) == 1
