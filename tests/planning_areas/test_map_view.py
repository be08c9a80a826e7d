"""Maps open on the atlas's own areas; no city in the code."""

import datetime

import pytest
from django.utils import timezone

from planning_areas.map_view import GERMANY, MapView, current_layers_extent, map_view
from planning_areas.models import Area, Layer
from planning_areas.signals import areas_changed
from tests.factories import AddressFactory, AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db

# A fictional municipality in the south-west, far from Berlin.
WEST, SOUTH = 8.40, 48.95


@pytest.fixture
def districts():
    layer = LayerFactory(slug="stadtbezirke", source="Stadt Musterstadt", licence="dl-de/by-2-0")
    AreaFactory(layer=layer, code="1", geometry=square(WEST, SOUTH, 0.05))
    AreaFactory(layer=layer, code="2", geometry=square(WEST + 0.05, SOUTH + 0.02, 0.05))
    return layer


def test_an_atlas_without_areas_opens_on_germany():
    assert map_view().bounds == GERMANY


def test_the_view_is_the_extent_of_the_current_layers(districts):
    assert map_view().bounds == (WEST, SOUTH, WEST + 0.10, SOUTH + 0.07)


def test_expired_layers_do_not_widen_the_view(districts):
    old = LayerFactory(slug="alt", valid_until=timezone.localdate() - datetime.timedelta(days=1))
    AreaFactory(layer=old, code="9", geometry=square(13.0, 52.0, 1.0))
    assert current_layers_extent() == (WEST, SOUTH, WEST + 0.10, SOUTH + 0.07)


def test_a_new_area_moves_the_cached_view_at_once(districts):
    assert map_view().bounds[2] == pytest.approx(WEST + 0.10)
    AreaFactory(layer=districts, code="3", geometry=square(WEST + 0.10, SOUTH, 0.05))
    assert map_view().bounds[2] == pytest.approx(WEST + 0.15)


def test_an_area_moved_in_place_moves_the_cached_view(districts):
    map_view()
    area = districts.areas.get(code="2")
    area.geometry = square(WEST + 0.05, SOUTH + 0.02, 0.20)
    area.save()
    assert map_view().bounds[3] == pytest.approx(SOUTH + 0.22)


def test_the_setting_overrides_the_layers(districts, settings):
    settings.ATLAS_MAP_BOUNDS = [9.0, 50.0, 9.5, 50.3]
    assert map_view().bounds == (9.0, 50.0, 9.5, 50.3)


def test_centre_and_bounds_are_in_leaflets_lat_lon_order():
    view = MapView((8.0, 48.0, 9.0, 49.0))
    assert view.center == (48.5, 8.5)
    assert view.leaflet_bounds == [[48.0, 8.0], [49.0, 9.0]]


@pytest.mark.parametrize(
    ("bounds", "zoom"),
    [
        ((13.09, 52.34, 13.76, 52.67), 10),  # a city of 45 km in a 600 x 400 px map
        ((8.40, 48.95, 8.50, 49.02), 12),  # a small town
        (GERMANY, 5),
        ((8.4, 48.9, 8.4, 48.9), 18),  # a single point: the closest zoom
    ],
)
def test_zoom_to_fit_chooses_the_largest_zoom_that_shows_the_bounds(bounds, zoom):
    assert MapView(bounds).zoom_to_fit(600, 400) == zoom


def test_the_public_map_and_the_lookup_open_on_the_layers(districts, client, caseworker):
    bounds = [[SOUTH, WEST], [SOUTH + 0.07, WEST + 0.10]]
    assert client.get("/").context["map_config"]["bounds"] == bounds
    client.force_login(caseworker)
    assert client.get("/lookup/").context["config"]["bounds"] == bounds


def test_the_admin_map_widget_opens_on_the_layers(districts, client, admin_user_):
    client.force_login(admin_user_)
    html = client.get("/admin/providers/location/add/").content.decode()
    assert '"center": [48.985, 8.45]' in html
    assert '"zoom": 12' in html


def test_the_lookup_placeholder_is_an_address_of_the_index(client, caseworker):
    client.force_login(caseworker)
    assert 'placeholder="Street and house number"' in client.get("/lookup/").content.decode()
    address = AddressFactory()
    assert f'placeholder="e.g. {address.label}"' in client.get("/lookup/").content.decode()


def test_an_import_signal_renews_the_cached_view(districts):
    map_view()
    # Bulk SQL changes no pk and fires no model signal; the import's own signal still counts.
    Area.objects.filter(layer=districts, code="2").update(geometry=square(WEST, SOUTH, 0.5))
    assert map_view().bounds[2] == pytest.approx(WEST + 0.10)  # cached
    areas_changed.send(sender=Layer, layer=districts)
    assert map_view().bounds[2] == pytest.approx(WEST + 0.50)
