"""A small generator of hostile values over the site's own URLs, query parameters and forms
(issue 10: "a fuzz test ... finds no 500"). The API has schemathesis
(tests/atlas/test_api_schemathesis.py); these are the pages around it.

Every request must answer below 500. The values are the kinds that broke the site before:
NUL bytes, huge and non-finite numbers, markup, empty and blank values, unicode oddities
(byte-order mark, right-to-left override, astral characters, lone combining marks) and very
long strings. About 900 requests; well under a minute on a quiet machine.
"""

import datetime
import itertools

import pytest
from django.contrib.gis.geos import Point
from django.test import Client

from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    ServiceFactory,
    TargetGroupFactory,
    UserFactory,
    square,
)

pytestmark = pytest.mark.django_db

HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "%00",
    "-",
    "…",
    "\ufeff",
    "\u202etxet",
    "\u0301",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    "../../etc/passwd",
    "-1",
    "0",
    "1e309",
    "-1e309",
    "NaN",
    "inf",
    "99999999999999999999999999",
    "13.4,52.5",
    "181,91",
    "13.4,52.5,13.5",
    "1,2,3,4",
    "bezirke:01",
    "bezirke:\x00",
    "true",
    "2025-13-45",
    "x" * 5000,
    "ü" * 1000 + "\x00",
]

FILTER_PARAMETERS = [
    "q",
    "category",
    "target_group",
    "organization",
    "area",
    "bbox",
    "near",
    "radius",
    "age",
    "free",
    "wheelchair",
    "open_now",
    "modified_since",
    "page",
    "areas",
]
FILTER_PAGES = ["/", "/embed/", "/liste/", "/karte/anzahl.json", "/karte/kacheln/10/550/335.json"]
ANALYSIS_PARAMETERS = ["layer", "measure", "category", "indicator", "scheme", "sort", "order"]


@pytest.fixture
def site(settings):
    # The generator sends hundreds of requests; the limits are tested elsewhere.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": None, "anon": None},
    }
    layer = LayerFactory(slug="bezirke", valid_from=datetime.date(2021, 1, 1))
    AreaFactory(layer=layer, code="01", geometry=square(13.3, 52.45, 0.2))
    family = CategoryFactory(slug="familie")
    TargetGroupFactory(slug="kinder")
    service = ServiceFactory(
        name="Familienzentrum",
        opening_hours="Mo-Fr 09:00-17:00",
        categories=[family],
        locations=[LocationFactory(point=Point(13.4, 52.5))],
    )
    return {"service": service}


def _check(client, method, path, data=None):
    response = getattr(client, method)(path, data or {})
    assert response.status_code < 500, (method, path, data, response.status_code)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)


def test_filter_parameters_never_answer_500(site):
    client = Client()
    pages = itertools.cycle(FILTER_PAGES)
    for name in FILTER_PARAMETERS:
        for value in HOSTILE:
            _check(client, "get", next(pages), {name: value})


def test_several_hostile_parameters_at_once_never_answer_500(site):
    client = Client()
    for value, page in zip(HOSTILE, itertools.cycle(FILTER_PAGES), strict=False):
        _check(client, "get", page, dict.fromkeys(FILTER_PARAMETERS, value))
        _check(client, "get", page, {"near": "13.4,52.5", "radius": value, "q": value})


def test_hostile_path_segments_never_answer_500(site):
    client = Client()
    pk = site["service"].pk
    for value in HOSTILE:
        for path in (
            f"/angebote/{value}/",
            f"/angebote/{pk}/{value}/",
            f"/gebiete/bezirke/{value}/",
            f"/gebiete/{value}/01/",
            f"/karte/gebiete/{value}.json",
            f"/bestaetigen/{value}/",
        ):
            _check(client, "get", path)
        _check(client, "get", "/karte/gebiete/bezirke.json", {"code": value})


def test_the_analysis_page_never_answers_500(site):
    client = Client()
    for name in ANALYSIS_PARAMETERS:
        for value in HOSTILE[::2]:
            _check(client, "get", "/analyse/", {name: value})
    _check(client, "get", "/analyse/", {"format": "csv", "layer": "\x00"})


def test_hostile_form_posts_never_answer_500(site):
    client = Client()
    report = f"/angebote/{site['service'].pk}/problem/"
    for value in HOSTILE:
        _check(client, "post", report, {"kind": value, "message": value, "email": value})
        _check(
            client,
            "post",
            "/accounts/login/",
            {"username": value, "password": value, "next": value},
        )
        _check(client, "post", "/i18n/setlang/", {"language": value, "next": value})
        _check(client, "get", "/accounts/login/", {"next": value})


def test_hostile_lookups_of_a_caseworker_never_answer_500(site):
    client = Client()
    client.force_login(UserFactory(groups=["caseworker"]))
    for value in HOSTILE:
        _check(
            client,
            "post",
            "/lookup/",
            {"address": value, "address_id": value, "category": value},
        )
        _check(client, "post", "/lookup/", {"lat": value, "lon": "13.4", "category": "familie"})
        _check(client, "post", "/lookup/", {"lat": "52.5", "lon": value})
