"""The data credit on the maps comes from the data's own sources and licences."""

import pytest

from atlas.site.credits import data_attribution, data_sources
from planning_areas.models import Indicator
from providers.models import Service
from tests.factories import AddressFactory, LayerFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sources():
    LayerFactory(slug="bezirke", level=1, source="Stadt Musterstadt", licence="dl-de/by-2-0")
    LayerFactory(slug="ortsteile", level=2, source="Stadt Musterstadt", licence="dl-de/by-2-0")
    LayerFactory(slug="statistik", level=3, source="Statistikamt <b>Süd</b>", licence="")
    AddressFactory(source="Landesamt für Vermessung")
    Indicator.objects.create(slug="kinder", name="Kinder", source="Statistikamt", licence="CC0")
    ServiceFactory(source="Kita-Verzeichnis", licence="CC BY 4.0")
    ServiceFactory(source="Kita-Verzeichnis", licence="CC BY 4.0")
    ServiceFactory(source="Nur im Entwurf", licence="CC0", status=Service.Status.DRAFT)
    ServiceFactory(source="", licence="")


def test_each_source_is_named_once_with_its_licence(sources):
    assert data_sources() == [
        ("Stadt Musterstadt", "dl-de/by-2-0"),
        ("Statistikamt <b>Süd</b>", ""),
        ("Landesamt für Vermessung", ""),
        ("Statistikamt", "CC0"),
        ("Kita-Verzeichnis", "CC BY 4.0"),
    ]


def test_the_credit_escapes_what_editors_typed(sources):
    assert data_attribution() == (
        "Data: Stadt Musterstadt (dl-de/by-2-0); Statistikamt &lt;b&gt;Süd&lt;/b&gt;; "
        "Landesamt für Vermessung; Statistikamt (CC0); Kita-Verzeichnis (CC BY 4.0)"
    )


def test_the_credit_setting_overrides_the_data(sources, settings):
    settings.ATLAS_DATA_ATTRIBUTION = 'Daten: <a href="https://example.org">Musterstadt</a>'
    assert data_attribution() == settings.ATLAS_DATA_ATTRIBUTION


def test_an_atlas_without_sources_shows_no_credit():
    assert data_attribution() == ""


def test_the_map_shows_the_credit(sources, client):
    config = client.get("/").context["map_config"]
    assert config["dataAttribution"].startswith("Data: Stadt Musterstadt (dl-de/by-2-0);")


def test_sources_are_read_from_the_index_and_only_those_of_published_services_count():
    """The loose index scan finds every distinct pair, also ones beside many repeats and
    empty sources, in index order; a pair only unpublished services have is left out."""
    import datetime

    from atlas.core.distinct import distinct_values
    from providers.models import Service
    from tests.factories import ServiceFactory

    for source, licence in [("B", "y"), ("A", "x"), ("B", "y"), ("B", "z"), ("", "")]:
        ServiceFactory(source=source, licence=licence)
    ServiceFactory(source="Entwurf", licence="q", status=Service.Status.DRAFT)
    ServiceFactory(source="Alt", licence="", valid_until=datetime.date(2000, 1, 1))
    expected = [("A", "x"), ("Alt", ""), ("B", "y"), ("B", "z"), ("Entwurf", "q")]
    assert distinct_values(Service, ("source", "licence")) == expected
    assert Service.objects.published().data_sources() == [("A", "x"), ("B", "y"), ("B", "z")]
