"""near=: one index-backed definition of "nearest" for the API, the site and the caseworker
lookup (issue 10 item 4)."""

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from atlas.lookup.queries import nearest_services
from providers.filters import parse_service_query, service_queryset
from providers.models import Location, Service
from tests.factories import LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

CENTRE = Point(13.40, 52.52, srid=4326)
# 0.01 degrees of latitude is 1,112 m on the spheroid here.
NORTH_1112 = Point(13.40, 52.53, srid=4326)


def _explain(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_near_sorts_services_by_distance_to_their_nearest_location(client):
    far = ServiceFactory(name="A far", locations=[LocationFactory(point=Point(13.40, 52.56))])
    both = ServiceFactory(
        name="B both",
        locations=[
            LocationFactory(point=Point(13.40, 52.58)),
            LocationFactory(point=NORTH_1112),
        ],
    )
    ServiceFactory(name="C outside", locations=[LocationFactory(point=Point(13.40, 52.70))])
    response = client.get("/api/v1/services/", {"near": "13.40,52.52", "radius": "5000"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    ids = [f["properties"]["id"] for f in body["features"]]
    assert ids[0] == both.pk and ids[-1] == far.pk
    # Only the matching locations are features, each with its distance in metres.
    distances = sorted(f["properties"]["distance"] for f in body["features"])
    assert distances[0] == pytest.approx(1112, abs=5)


def test_the_radius_is_measured_in_metres_on_the_spheroid():
    ServiceFactory(locations=[LocationFactory(point=NORTH_1112)])
    inside = parse_service_query({"near": "13.40,52.52", "radius": "1120"})
    outside = parse_service_query({"near": "13.40,52.52", "radius": "1100"})
    assert service_queryset(inside, Service.objects.all()).count() == 1
    assert service_queryset(outside, Service.objects.all()).count() == 0


def test_a_radius_above_the_maximum_is_refused(client, settings):
    settings.ATLAS_API_MAX_RADIUS_METRES = 5_000
    response = client.get("/api/v1/services/", {"near": "13.40,52.52", "radius": "5001"})
    assert response.status_code == 400
    assert "radius" in response.json()


def test_the_list_page_offers_no_radius_above_the_maximum(client, settings):
    settings.ATLAS_API_MAX_RADIUS_METRES = 1000
    page = client.get("/liste/").content.decode()
    assert 'value="1000"' in page
    assert 'value="2000"' not in page and 'value="5000"' not in page


def test_the_radius_test_uses_the_geography_index():
    LocationFactory(point=CENTRE)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = _explain(Location.objects.within(CENTRE, 10_000))
    assert "location_point_geography" in plan


def test_nearest_first_is_a_knn_index_scan():
    LocationFactory(point=CENTRE)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = _explain(Location.objects.within(CENTRE, 10_000).nearest_first(CENTRE)[:10])
    assert "Index Scan using location_point_geography" in plan
    assert "Order By" in plan


def test_the_planner_estimates_a_radius_from_statistics():
    # ST_DWithin written as such is always estimated at 0.01 % of the rows, which made
    # the planner pick a nested loop over all locations for a city-wide radius.
    for i in range(300):
        LocationFactory(point=Point(13.40 + i / 10_000, 52.52))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE providers_location")
    plan = _explain(Location.objects.within(CENTRE, 10_000))
    estimated = int(plan.split("rows=")[1].split()[0])
    assert estimated >= 50


def test_the_service_query_has_no_subquery_per_service():
    ServiceFactory(locations=[LocationFactory(point=CENTRE)])
    query = parse_service_query({"near": "13.40,52.52", "radius": "5000"})
    services = service_queryset(query, Service.objects.all())
    sql = str(services.query)
    assert "SubPlan" not in _explain(services)
    assert sql.count("SELECT") == 1


def test_the_caseworker_lookup_finds_the_nearest_services_the_same_way():
    near = ServiceFactory(name="Nah", locations=[LocationFactory(point=NORTH_1112)])
    far = ServiceFactory(name="Fern", locations=[LocationFactory(point=Point(13.40, 52.56))])
    ServiceFactory(name="Zu weit", locations=[LocationFactory(point=Point(13.40, 52.70))])
    found = nearest_services(CENTRE, limit=5)
    assert [n.service.pk for n in found] == [near.pk, far.pk]
    assert found[0].distance_m == pytest.approx(1112, abs=5)
