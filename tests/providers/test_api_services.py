"""/api/v1/services/: GeoJSON list, detail, filters through HTTP, exports."""

import csv
import io
import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from providers import service_pages
from providers.models import Contact, Location, Service
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    ContactFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    TargetGroupFactory,
    square,
)

pytestmark = pytest.mark.django_db
URL = "/api/v1/services/"


@pytest.fixture
def client():
    return APIClient()


def body(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode()


def get_json(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, body(response)
    return json.loads(body(response))


def at(lon, lat, **kwargs):
    return LocationFactory(point=Point(lon, lat, srid=4326), **kwargs)


def test_list_is_a_feature_collection_with_one_feature_per_location(client):
    service = ServiceFactory(
        name="Stadtteilzentrum",
        locations=[at(13.40, 52.52, name="Haus A"), at(13.41, 52.53, name="Haus B")],
        categories=[CategoryFactory(slug="stadtteilzentrum")],
        opening_hours="Mo-Fr 09:00-17:00",
    )
    service.target_groups.add(TargetGroupFactory(slug="alle"))
    data = get_json(client, URL)
    assert data["type"] == "FeatureCollection"
    assert data["count"] == 1
    assert [f["properties"]["location"]["name"] for f in data["features"]] == ["Haus A", "Haus B"]
    feature = data["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [13.4, 52.52]}
    props = feature["properties"]
    assert props["id"] == service.pk
    assert props["organization"] == {
        "id": service.organization_id,
        "name": service.organization.name,
    }
    assert [c["slug"] for c in props["categories"]] == ["stadtteilzentrum"]
    assert [t["slug"] for t in props["target_groups"]] == ["alle"]
    assert props["opening_hours"] == "Mo-Fr 09:00-17:00"
    assert props["is_stale"] is False
    assert props["last_verified"] == service.last_verified.isoformat()


def test_stale_flag_follows_last_verification(client):
    ServiceFactory(last_verified=None, locations=[at(13.4, 52.5)])
    props = get_json(client, URL)["features"][0]["properties"]
    assert props["is_stale"] is True and props["last_verified"] is None


def test_unpublished_services_never_appear_to_anonymous_users(client):
    ServiceFactory(status=Service.Status.DRAFT, locations=[at(13.4, 52.5)])
    ServiceFactory(status=Service.Status.ARCHIVED, locations=[at(13.4, 52.5)])
    draft = ServiceFactory(status=Service.Status.DRAFT)
    assert get_json(client, URL)["count"] == 0
    assert client.get(f"{URL}{draft.pk}/").status_code == 404


def test_anonymous_sees_only_public_contacts_embedded(client):
    service = ServiceFactory(locations=[at(13.4, 52.5)])
    ContactFactory(
        organization=service.organization,
        service=service,
        name="Öffentlich",
        visibility=Contact.Visibility.PUBLIC,
        publication_consent_date="2025-01-01",
    )
    ContactFactory(organization=service.organization, service=service, name="Intern")
    contacts = get_json(client, URL)["features"][0]["properties"]["contacts"]
    assert [c["name"] for c in contacts] == ["Öffentlich"]
    assert "internal_phone" not in contacts[0]


def test_caseworker_sees_internal_contacts_with_internal_phone(client, caseworker):
    service = ServiceFactory(locations=[at(13.4, 52.5)])
    ContactFactory(organization=service.organization, service=service, internal_phone="030 999-77")
    client.force_authenticate(caseworker)
    contacts = get_json(client, URL)["features"][0]["properties"]["contacts"]
    assert contacts[0]["internal_phone"] == "030 999-77"
    assert contacts[0]["visibility"] == "internal"


def test_pagination_counts_services_and_links_pages(client):
    for i in range(5):
        ServiceFactory(name=f"Angebot {i}", locations=[at(13.4, 52.5)])
    page = get_json(client, URL, page_size=2, page=2)
    assert page["count"] == 5
    assert [f["properties"]["name"] for f in page["features"]] == ["Angebot 2", "Angebot 3"]
    assert "page=3" in page["next"] and page["previous"]


def test_filters_work_over_http(client):
    near = ServiceFactory(name="Nah", locations=[at(13.401, 52.52)])
    ServiceFactory(name="Fern", locations=[at(13.5, 52.52)])
    data = get_json(client, URL, near="13.4,52.52", radius=500)
    assert [f["properties"]["id"] for f in data["features"]] == [near.pk]
    assert 60 < data["features"][0]["properties"]["distance"] < 75


def test_a_filter_that_cannot_match_answers_an_empty_page(client):
    ServiceFactory(opening_hours="", locations=[at(13.4, 52.5)])
    data = get_json(client, URL, open_now="true")
    assert data["count"] == 0 and data["features"] == []


def test_a_page_past_the_end_is_empty_but_counted(client):
    ServiceFactory(locations=[at(13.4, 52.5)])
    data = get_json(client, URL, page=3)
    assert data["count"] == 1 and data["features"] == []


def test_bbox_returns_only_the_locations_inside(client):
    ServiceFactory(locations=[at(13.40, 52.52, name="drin"), at(13.60, 52.40, name="draußen")])
    data = get_json(client, URL, bbox="13.3,52.5,13.5,52.6")
    assert [f["properties"]["location"]["name"] for f in data["features"]] == ["drin"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "13.5,52,13.4,52.5"}, "bbox"),
        ({"bbox": "0,0,10,10"}, "bbox"),
        ({"near": "13.4,95"}, "near"),
        ({"near": "13.4,52.5", "radius": "-1"}, "radius"),
        ({"near": "13.4,52.5", "radius": "1e12"}, "radius"),
        ({"category": "unbekannt"}, "category"),
        ({"page": "abc"}, "page"),
        ({"page": "0"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"free": "vielleicht"}, "free"),
    ],
)
def test_bad_input_is_a_400_naming_the_parameter(client, params, parameter):
    response = client.get(URL, params)
    assert response.status_code == 400
    assert parameter in response.json()


def test_detail_is_a_feature_with_all_locations(client):
    service = ServiceFactory(locations=[at(13.40, 52.52), at(13.41, 52.53)])
    data = get_json(client, f"{URL}{service.pk}/")
    assert data["type"] == "Feature" and data["id"] == service.pk
    assert data["geometry"]["type"] == "MultiPoint"
    assert len(data["properties"]["locations"]) == 2


def test_csv_export_has_one_row_per_location_and_defuses_formulas(client):
    ServiceFactory(name="=HYPERLINK(1)", locations=[at(13.40, 52.52), at(13.41, 52.53)])
    response = client.get(f"{URL}export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body(response).lstrip("\ufeff"))))
    assert len(rows) == 2
    assert rows[0]["name"] == "'=HYPERLINK(1)"
    assert rows[0]["longitude"] == "13.4"


def test_geojson_export_contains_every_filtered_service(client):
    for i in range(3):
        ServiceFactory(name=f"Kita {i}", locations=[at(13.4, 52.5)])
    ServiceFactory(name="Bibliothek", locations=[at(13.4, 52.5)])
    response = client.get(f"{URL}export.geojson", {"q": "Kita"})
    assert response.status_code == 200
    data = json.loads(body(response))
    assert data["type"] == "FeatureCollection"
    assert sorted(f["properties"]["name"] for f in data["features"]) == [
        "Kita 0",
        "Kita 1",
        "Kita 2",
    ]


def test_exports_reject_bad_filters(client):
    assert client.get(f"{URL}export.geojson", {"bbox": "x"}).status_code == 400
    assert client.get(f"{URL}export.csv", {"bbox": "x"}).status_code == 400


def test_list_runs_a_constant_number_of_queries(client, django_assert_max_num_queries, settings):
    # The list's own queries; the request limits add theirs (tests/security/test_throttles.py).
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": None, "anon": None},
    }

    def make(n):
        for _ in range(n):
            service = ServiceFactory(
                locations=[at(13.4, 52.5), at(13.5, 52.5)],
                categories=[CategoryFactory()],
            )
            ContactFactory(
                organization=service.organization,
                service=service,
                visibility=Contact.Visibility.PUBLIC,
                publication_consent_date="2025-01-01",
            )

    make(2)
    from django.db import connection

    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    make(20)
    with CaptureQueriesContext(connection) as many:
        data = get_json(client, URL)
    assert data["count"] == 22 and len(data["features"]) == 44
    assert len(many) == len(few)
    assert len(many) <= 4


# -- the page's feature query, compiled once per variant ----------------------------------


def _distance(location_point: Point, centre: Point) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT round(ST_Distance(%s::geometry::geography, %s::geometry::geography)"
            "::numeric, 1)",
            [location_point.hexewkb.decode(), centre.hexewkb.decode()],
        )
        return float(cursor.fetchone()[0])


def test_each_near_request_measures_from_its_own_point(client):
    """The page's statement is compiled once and reused (providers.service_pages): the
    centre comes from the request, never from the request that compiled it."""
    here = at(13.40, 52.52, name="Haus A")
    ServiceFactory(name="Beratung", locations=[here])
    before = service_pages._template.cache_info().hits
    for lon, lat in [(13.401, 52.52), (13.41, 52.525), (13.40, 52.53)]:
        data = get_json(client, URL, near=f"{lon},{lat}", radius=5000)
        (feature,) = data["features"]
        centre = Point(lon, lat, srid=4326)
        assert feature["properties"]["distance"] == _distance(here.point, centre)
    assert service_pages._template.cache_info().hits >= before + 2


def test_a_restricted_page_does_not_restrict_the_next_one(client):
    ServiceFactory(name="Zwei Häuser", locations=[at(13.40, 52.52), at(13.60, 52.40)])
    inside = get_json(client, URL, bbox="13.39,52.51,13.41,52.53")
    assert len(inside["features"]) == 1
    everywhere = get_json(client, URL)
    assert len(everywhere["features"]) == 2
    near = get_json(client, URL, near="13.40,52.52", radius=1000)
    assert len(near["features"]) == 1
    assert len(get_json(client, URL)["features"]) == 2


@pytest.mark.parametrize(
    "near",
    [
        "13.4,52.5\x00",
        "13.4;DROP TABLE x,52.5",
        "<b>13.4</b>,52.5",
        "nan,nan",
        "inf,52.5",
        "1e308,1",
    ],
)
def test_hostile_near_values_are_refused_not_compiled(client, near):
    ServiceFactory(locations=[at(13.40, 52.52)])
    response = client.get(URL, {"near": near})
    assert response.status_code == 400, body(response)
    assert "near" in json.loads(body(response))


@pytest.mark.parametrize(
    "params",
    [
        {"near": "13.40,52.52", "radius": 1000},
        {"bbox": "13.3,52.5,13.5,52.6"},
        {"area": "bezirke:01"},
        {"wheelchair": "yes"},
        {"near": "13.40,52.52", "radius": 1000, "wheelchair": "yes", "q": "Schwimmen"},
        {"bbox": "13.3,52.5,13.5,52.6", "area": "bezirke:01", "page_size": 1},
    ],
)
def test_a_page_shows_only_the_locations_its_location_filters_matched(client, params):
    """The features are restricted on the location row they join (features.page_statement),
    for each location filter and for several at once, with and without a search."""
    AreaFactory(layer=LayerFactory(slug="bezirke"), code="01", geometry=square(13.3, 52.45, 0.2))
    ServiceFactory(
        name="Schwimmen lernen",
        locations=[
            at(13.40, 52.52, name="drin", wheelchair=Location.Wheelchair.YES),
            at(13.60, 52.40, name="draußen", wheelchair=Location.Wheelchair.NO),
        ],
    )
    Location.objects.all().refresh_areas()

    data = get_json(client, URL, **params)

    assert data["count"] == 1
    assert [f["properties"]["location"]["name"] for f in data["features"]] == ["drin"]


@pytest.mark.parametrize("internal", [False, True], ids=["public", "caseworker"])
@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "13.3,52.5,13.5,52.6"},
        {"near": "13.40,52.52", "radius": 1000},
        {"near": "13.40,52.52", "radius": 1000, "wheelchair": "yes", "q": "Schwimmen"},
        {"q": "Schwimmen"},
        {},
    ],
)
def test_the_page_reads_only_its_own_features(client, caseworker, params, internal):
    """page_statement joins the stored features to its page, and PostgreSQL must merge the
    feature query into that join (no filter of its own restricts it), so that the page's
    ids look up their features in the index. A feature query it cannot merge (a volatile
    function among its columns, say) would be computed for every service before the join:
    at 100,000 services, seconds for a bbox page of 13 ms. With only nested loops and index
    scans allowed, a page of one among many matches shows a merged query as an index scan
    keyed by the page's ids."""
    for number in range(40):
        ServiceFactory(
            name=f"Schwimmen lernen {number}",
            locations=[at(13.40, 52.52, wheelchair=Location.Wheelchair.YES)],
        )
    if internal:
        client.force_login(caseworker)
    with CaptureQueriesContext(connection) as queries:
        assert get_json(client, URL, page_size=1, **params)["count"] == 40
    (statement,) = [q["sql"] for q in queries.captured_queries if "string_agg(f.text" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # 40 matches, not the 1 row a table without statistics has
        for method in ("seqscan", "bitmapscan", "hashjoin", "mergejoin"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    feature_lookup = r"on providers_servicefeature .*\n\s+Index Cond: \(service_id = \w+\.(id|k0)\)"
    assert re.search(feature_lookup, plan), plan


def test_the_wheelchair_filter_reads_its_locations_from_an_index(client):
    """wheelchair= finds its locations in location_wheelchair (ids by access) instead of
    reading every location: at 103,701 locations 5 ms instead of a 31 ms table scan."""
    for number, access in enumerate(Location.Wheelchair.values * 3):
        ServiceFactory(name=f"Angebot {number}", locations=[at(13.40, 52.52, wheelchair=access)])
    with CaptureQueriesContext(connection) as queries:
        data = get_json(client, URL, wheelchair="yes")
    assert data["count"] == 3
    assert {f["properties"]["location"]["wheelchair"] for f in data["features"]} == {"yes"}
    (statement,) = [q["sql"] for q in queries.captured_queries if "string_agg(f.text" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        # A dozen rows are read faster whole: make the planner show the way it takes at scale.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # An index scan or, with few rows, a bitmap of it: either way not the whole table.
    by_index = r"(Index (Only )?Scan using|Bitmap Index Scan on) location_wheelchair\b"
    assert re.search(by_index, plan), plan


def test_the_whole_list_is_counted_and_paged_from_the_name_index(client):
    """All published services, unfiltered: PostgreSQL reads the page from the index in
    name order (service_published_order) instead of collecting and sorting every service
    (at 100,000 services the first page went from 56 to 13 ms, the last from 92 to 22)."""
    names = [f"Angebot {letter}" for letter in "QWERTZUIOPASDFGHJKLYXCVBNM"]
    for name in names:
        ServiceFactory(name=name, locations=[at(13.40, 52.52)])
    ServiceFactory(name="Entwurf", status=Service.Status.DRAFT, locations=[at(13.40, 52.52)])
    with CaptureQueriesContext(connection) as queries:
        data = get_json(client, URL, page=2, page_size=5)
    assert data["count"] == len(names)
    assert [f["properties"]["name"] for f in data["features"]] == sorted(names)[5:10]
    (statement,) = [q["sql"] for q in queries.captured_queries if "string_agg(f.text" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        # 26 rows are sorted faster than read in order: make the planner show the order
        # it would take at scale.
        for method in ("seqscan", "bitmapscan", "sort"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute("EXPLAIN " + statement)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "service_published_order" in plan, plan
    assert "CTE Scan on matches" not in plan, plan
