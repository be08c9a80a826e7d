"""The service list's statements kept per filter shape (providers.service_pages): each
request's places go into the statement, never the places of the request that compiled it,
and a shape whose parameters are not only its places is compiled per request."""

import random

import pytest
from django.contrib.gis.geos import Point
from django.http import QueryDict

from providers import features, service_pages
from providers.filters import parse_service_query
from tests.factories import CategoryFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_kept_statements():
    service_pages.clear()
    yield
    service_pages.clear()


@pytest.fixture
def services():
    """Forty services over a part of a city, some in a category, some with two places."""
    rng = random.Random(7)
    kita = CategoryFactory(slug="kita")
    for number in range(40):
        places = [
            LocationFactory(
                point=Point(13.3 + rng.random() * 0.1, 52.45 + rng.random() * 0.07, srid=4326),
                wheelchair=rng.choice(["yes", "no", "limited"]),
            )
            for _ in range(1 + number % 2)
        ]
        ServiceFactory(
            name=f"Angebot {rng.randint(1, 30):02d}",
            locations=places,
            categories=[kita] if number % 3 == 0 else [],
        )


def query(text: str):
    return parse_service_query(QueryDict(text))


def compiled_per_request(text: str, start: int = 0, size: int = 100, internal: bool = False):
    return features.run_page_statement(service_pages._compile(query(text), start, size, internal))


SHAPES = [
    "near={x},{y}&radius=3000",
    "near={x},{y}&radius=2500&category=kita",
    "bbox={x0},{y0},{x1},{y1}",
    "bbox={x0},{y0},{x1},{y1}&wheelchair=yes,limited",
    "near={x},{y}&radius=4000&bbox={x0},{y0},{x1},{y1}&category=kita",
]


@pytest.mark.parametrize("shape", SHAPES)
def test_each_request_gets_its_own_places_answer(services, shape):
    rng = random.Random(shape)
    answers = set()
    for _ in range(6):
        x, y = 13.3 + rng.random() * 0.1, 52.45 + rng.random() * 0.07
        text = shape.format(x=x, y=y, x0=x - 0.05, y0=y - 0.03, x1=x + 0.05, y1=y + 0.03)
        for start, size in ((0, 100), (0, 5), (5, 5)):
            kept = service_pages.page(query(text), start, size)
            assert kept == compiled_per_request(text, start, size), text
            answers.add(kept)
    # The places mattered (else the test would not show that each request's were used).
    assert len(answers) >= 6, answers
    info = service_pages._template.cache_info()
    assert info.currsize == 3 and info.hits == 15  # one statement per page shape


def test_a_page_without_places_is_kept_too(services):
    for text in ("", "category=kita", "wheelchair=no"):
        assert service_pages.page(query(text), 0, 100) == compiled_per_request(text)
        assert service_pages.page(query(text), 0, 100) == compiled_per_request(text)
    assert service_pages._template.cache_info().hits == 3


def test_internal_pages_are_kept_apart_from_public_ones(services):
    text = "near=13.35,52.48&radius=5000"
    public = service_pages.page(query(text), 0, 100)
    internal = service_pages.page(query(text), 0, 100, internal=True)
    assert public == compiled_per_request(text)
    assert internal == compiled_per_request(text, internal=True)
    assert service_pages._template.cache_info().currsize == 2


@pytest.mark.parametrize("text", ["q=Angebot&bbox=13.3,52.4,13.5,52.6", "open_now=true"])
def test_searches_and_open_now_are_never_kept(services, text):
    """Their statements depend on the vocabulary and the moment, not only on the query."""
    assert service_pages.page(query(text), 0, 100) == compiled_per_request(text)
    assert service_pages._template.cache_info().currsize == 0


def test_a_parameter_derived_from_the_place_makes_the_shape_compile_per_request(
    services, monkeypatch
):
    """The check that keeps a statement only when the places are its only varying
    parameters can fail: a value computed from the centre is not a stand-in."""
    original = features.page_statement

    def with_a_derived_value(services, start, size, *, near=None, **options):
        sql, params = original(services, start, size, near=near, **options)
        derived = f"SELECT * FROM ({sql}) AS page WHERE %s IS NOT NULL"  # noqa: S608
        return derived, [*params, near.x * 2]

    monkeypatch.setattr(features, "page_statement", with_a_derived_value)
    assert (
        service_pages._template(
            service_pages._with_places(query("near=13.4,52.5"), service_pages._STAND_INS[0]),
            0,
            100,
            False,
            None,
            365,
        )
        is service_pages._NOT_KEPT
    )
    for x in (13.35, 13.45):
        text = f"near={x},52.5&radius=4000"
        assert service_pages.page(query(text), 0, 100) == compiled_per_request(text)
