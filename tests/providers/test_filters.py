"""The service filters used directly, as a plain Django view would."""

import datetime
from urllib.parse import quote

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from planning_areas.models import Area
from providers.filters import matched_locations, parse_service_query, service_queryset
from providers.models import MAX_WORD_EXPANSIONS, Location, Service
from tests.factories import (
    AreaFactory,
    CategoryFactory,
    LayerFactory,
    LocationFactory,
    OrganizationFactory,
    ServiceFactory,
    TargetGroupFactory,
    square,
)

pytestmark = pytest.mark.django_db


def run(query: str, queryset=None):
    description = parse_service_query(QueryDict(query))
    return list(service_queryset(description, queryset or Service.objects.published()))


def errors(query: str) -> dict:
    with pytest.raises(ValidationError) as caught:
        parse_service_query(QueryDict(query))
    return caught.value.message_dict


def at(lon, lat, **kwargs):
    return LocationFactory(point=Point(lon, lat, srid=4326), **kwargs)


def test_q_finds_stemmed_german_words():
    hit = ServiceFactory(name="Beratung für Kinder", description="")
    ServiceFactory(name="Seniorentreff", description="Kaffee")
    assert run("q=Kind") == [hit]


def test_q_tolerates_typos_and_parts_of_compound_words():
    hit = ServiceFactory(name="Familienzentrum am Park", description="")
    ServiceFactory(name="Bibliothek", description="")
    assert run("q=Famielienzentrum") == [hit]
    assert run("q=zentrum") == [hit]


def test_q_finds_every_compound_that_starts_with_the_word():
    # More compounds than a word has expansions (MAX_WORD_EXPANSIONS): listed one by
    # one, "Jugend" missed "Jugendzentrum" and the others after the twelfth.
    suffixes = [
        "amt", "arbeit", "beratung", "bildung", "café", "chor", "club", "etage", "farm",
        "haus", "hilfe", "kunstschule", "laden", "musikschule", "theater", "treff",
        "werkstatt", "zentrum",
    ]  # fmt: skip
    compounds = [ServiceFactory(name=f"Jugend{suffix}", description="") for suffix in suffixes]
    ServiceFactory(name="Seniorentreff", description="")
    assert len(suffixes) > MAX_WORD_EXPANSIONS
    assert set(run("q=Jugend")) == set(compounds)


def test_q_keeps_typo_and_inner_compound_expansions_beside_the_prefix():
    prefixed = ServiceFactory(name="Familienbildung", description="")
    inner = ServiceFactory(name="Regenbogenfamilie", description="")
    typo = ServiceFactory(name="Familie am See", description="")
    assert set(run("q=familie")) == {prefixed, inner, typo}
    assert run("q=Famielie") == [typo]


@pytest.mark.parametrize(
    ("hostile", "plain", "found"),
    [
        ("jugend:*", "jugend", ["Jugendclub"]),
        ("jugend | kita", "jugend kita", []),
        ("jugend&!club", "jugend club", ["Jugendclub"]),
        ("(jugend)'", "jugend", ["Jugendclub"]),
        ("jugend<->kita", "jugend kita", []),
    ],
)
def test_q_text_search_syntax_is_plain_text(hostile, plain, found):
    # Only words of letters become raw prefix terms; the syntax around them is no word.
    ServiceFactory(name="Jugendclub", description="")
    ServiceFactory(name="Kita am See", description="")
    assert [s.name for s in run(f"q={quote(plain)}")] == found
    assert [s.name for s in run(f"q={quote(hostile)}")] == found


@pytest.mark.parametrize("q", ["jugend_club", "10115", "jug", "ü" * 90, "jugend\\:*"])
def test_q_words_that_are_not_prefix_searched_answer_without_error(q):
    ServiceFactory(name="Jugendclub", description="")
    assert run(f"q={quote(q)}") in ([], [Service.objects.get()])


def test_q_orders_name_hits_before_description_hits():
    in_description = ServiceFactory(name="Treffpunkt", description="Hilfe bei Schulden")
    in_name = ServiceFactory(name="Schulden und Finanzen", description="")
    assert run("q=Schulden") == [in_name, in_description]


def test_q_ranks_exact_words_above_corrected_ones():
    corrected = ServiceFactory(name="Familienzentrum Nord", description="")
    exact = ServiceFactory(name="Zentrum Süd", description="")
    assert run("q=Zentrum") == [exact, corrected]


def test_q_needs_every_word():
    both = ServiceFactory(name="Kita Sonnenschein", description="")
    ServiceFactory(name="Kita Regenbogen", description="")
    assert run("q=kita sonnenschein") == [both]


def test_category_includes_sub_categories():
    parent = CategoryFactory(slug="familie")
    child = CategoryFactory(slug="familienzentrum", parent=parent)
    in_child = ServiceFactory(categories=[child])
    ServiceFactory(categories=[CategoryFactory(slug="senioren")])
    assert run("category=familie") == [in_child]


def test_category_lists_do_not_duplicate_services():
    a, b = CategoryFactory(slug="a"), CategoryFactory(slug="b")
    both = ServiceFactory(categories=[a, b])
    assert run("category=a,b") == [both]


def test_target_group_filter():
    group = TargetGroupFactory(slug="kinder")
    hit = ServiceFactory()
    hit.target_groups.add(group)
    ServiceFactory()
    assert run("target_group=kinder") == [hit]


def test_organization_filter():
    organization = OrganizationFactory()
    hit = ServiceFactory(organization=organization)
    ServiceFactory()
    assert run(f"organization={organization.pk}") == [hit]


def test_area_by_key_includes_child_areas():
    district_layer = LayerFactory(slug="bezirke")
    district = AreaFactory(layer=district_layer, code="01", geometry=square(13.0, 52.0, 1.0))
    child = AreaFactory(
        layer=LayerFactory(slug="regionen", parent=district_layer),
        code="0101",
        parent=district,
        geometry=square(13.2, 52.2, 0.1),
    )
    inside = ServiceFactory(locations=[at(13.25, 52.25)])
    ServiceFactory(locations=[at(14.5, 53.5)])
    # Membership only through the child, to prove children are followed.
    Location.areas.through.objects.filter(area=district).delete()
    assert run("area=bezirke:01") == [inside]
    assert run(f"area={child.pk}") == [inside]


def test_bbox_filter():
    inside = ServiceFactory(locations=[at(13.40, 52.52)])
    ServiceFactory(locations=[at(13.60, 52.40)])
    assert run("bbox=13.3,52.5,13.5,52.6") == [inside]


def test_near_sorts_by_distance_within_radius():
    far = ServiceFactory(locations=[at(13.4100, 52.52)])  # about 680 m east
    near = ServiceFactory(locations=[at(13.4010, 52.52)])  # about 70 m east
    ServiceFactory(locations=[at(13.50, 52.52)])  # about 6.8 km
    result = run("near=13.4,52.52&radius=1000")
    assert result == [near, far]
    assert 60 < result[0].distance < 80


def test_location_filters_must_hold_for_the_same_location():
    service = ServiceFactory(
        locations=[
            at(13.40, 52.52, wheelchair=Location.Wheelchair.NO),
            at(13.60, 52.40, wheelchair=Location.Wheelchair.YES),
        ]
    )
    assert run("bbox=13.3,52.5,13.5,52.6&wheelchair=yes") == []
    assert run("bbox=13.5,52.3,13.7,52.45&wheelchair=yes") == [service]


def test_age_free_and_wheelchair():
    child = ServiceFactory(min_age=3, max_age=10, is_free=True, locations=[at(13.4, 52.5)])
    ServiceFactory(min_age=14, max_age=27, is_free=True)
    ServiceFactory(min_age=None, max_age=None, is_free=False, fees="5 €")
    assert run("age=5&free=true") == [child]
    Location.objects.update(wheelchair=Location.Wheelchair.LIMITED)
    assert run("wheelchair=limited") == [child]
    assert run("wheelchair=yes") == []


def test_open_now_uses_opening_hours(monkeypatch):
    always = ServiceFactory(opening_hours="24/7")
    never = ServiceFactory(opening_hours="off")
    no_hours = ServiceFactory(opening_hours="")
    assert run("open_now=true") == [always]
    assert set(run("open_now=false")) == {never, no_hours}


def test_modified_since():
    old = ServiceFactory()
    Service.objects.filter(pk=old.pk).update(
        updated_at=timezone.now() - datetime.timedelta(days=30)
    )
    new = ServiceFactory()
    since = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    assert run(f"modified_since={since}") == [new]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("bbox=13,52,14", "bbox"),
        ("bbox=14,52,13,53", "bbox"),
        ("bbox=10,50,15,55", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=13,52,13.5,95", "bbox"),
        ("near=13.4", "near"),
        ("near=200,52", "near"),
        ("near=13.4,52.5&radius=-5", "radius"),
        ("near=13.4,52.5&radius=100000000", "radius"),
        ("radius=100", "radius"),
        ("category=does-not-exist", "category"),
        ("target_group=nobody", "target_group"),
        ("organization=abc", "organization"),
        ("organization=999999", "organization"),
        ("area=nowhere:99", "area"),
        ("area=garbage", "area"),
        ("age=-1", "age"),
        ("age=500", "age"),
        ("age=2.5", "age"),
        ("free=perhaps", "free"),
        ("open_now=sometimes", "open_now"),
        ("wheelchair=flying", "wheelchair"),
        ("modified_since=yesterday", "modified_since"),
        ("q=" + "x" * 201, "q"),
    ],
)
def test_bad_parameters_are_errors_naming_the_parameter(query, parameter):
    assert parameter in errors(query)


def test_filterset_works_on_any_service_queryset():
    draft = ServiceFactory(status=Service.Status.DRAFT, name="Entwurf Kinder")
    assert run("q=Kinder", queryset=Service.objects.all()) == [draft]
    assert run("q=Kinder") == []
    assert Area.objects.count() == 0


def test_the_parsed_query_is_an_immutable_description():
    import dataclasses

    query = parse_service_query(QueryDict("q=kita&wheelchair=yes"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.search = "other"  # type: ignore[misc]
    assert query.has_location_filters


def test_the_locations_do_not_depend_on_the_services_being_evaluated_first():
    inside = ServiceFactory(locations=[at(13.40, 52.52, wheelchair="yes")])
    query = parse_service_query(QueryDict("wheelchair=yes"))
    assert list(matched_locations(query)) == list(inside.locations.all())


def test_the_parameter_form_is_built_once_and_limits_follow_the_settings(settings, monkeypatch):
    """Building the filter set and its form per request made parsing 7 times slower."""
    from providers import filters

    parse_service_query(QueryDict("near=13.4,52.5&radius=900"))
    built = []
    monkeypatch.setattr(
        filters.ServiceFilterSet, "__init__", lambda *a, **k: built.append(1) or None
    )
    for radius in (100, 900, 4000):
        parse_service_query(QueryDict(f"near=13.4,52.5&radius={radius}"))
    assert built == []
    settings.ATLAS_API_MAX_RADIUS_METRES = 500
    with pytest.raises(ValidationError) as refused:
        parse_service_query(QueryDict("near=13.4,52.5&radius=900"))
    assert "radius" in refused.value.message_dict
