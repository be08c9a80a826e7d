import datetime

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from planning_areas.models import Area, Layer
from tests.factories import AreaFactory, LayerFactory, square

pytestmark = pytest.mark.django_db


def test_area_parent_must_lie_on_the_parent_layer():
    districts = LayerFactory(slug="bezirke")
    regions = LayerFactory(slug="regionen", parent=districts, level=2)
    other = LayerFactory(slug="andere")
    area = AreaFactory.build(layer=regions, parent=AreaFactory(layer=other))
    with pytest.raises(ValidationError) as excinfo:
        area.full_clean()
    assert "parent" in excinfo.value.message_dict
    area.parent = AreaFactory(layer=districts)
    area.full_clean()


def test_area_codes_are_unique_per_layer():
    layer = LayerFactory()
    AreaFactory(layer=layer, code="01")
    with pytest.raises(ValidationError):
        AreaFactory.build(layer=layer, code="01").validate_constraints()


def test_ancestors_walk_up_to_the_top():
    district = AreaFactory(code="01")
    region = AreaFactory(code="0110", parent=district)
    block = AreaFactory(code="01100101", parent=region)
    assert block.ancestors() == [region, district]


def test_containing_finds_areas_on_every_layer():
    big = AreaFactory(layer=LayerFactory(slug="a"), geometry=square(13.0, 52.0, 1.0))
    small = AreaFactory(layer=LayerFactory(slug="b"), geometry=square(13.4, 52.4, 0.1))
    AreaFactory(layer=LayerFactory(slug="c"), geometry=square(10.0, 50.0, 0.1))
    assert set(Area.objects.containing(Point(13.45, 52.45, srid=4326))) == {big, small}


def test_containing_counts_a_point_on_the_boundary():
    area = AreaFactory(geometry=square(13.0, 52.0, 1.0))
    assert list(Area.objects.containing(Point(13.0, 52.5, srid=4326))) == [area]


def test_current_layers_respect_validity_dates():
    today = datetime.date.today()
    current = LayerFactory(slug="neu", valid_from=datetime.date(2021, 1, 1))
    LayerFactory(slug="alt", valid_until=datetime.date(2020, 12, 31))
    LayerFactory(slug="kuenftig", valid_from=today + datetime.timedelta(days=30))
    assert list(Layer.objects.current()) == [current]


def test_layer_validity_must_be_ordered():
    layer = LayerFactory.build(
        valid_from=datetime.date(2021, 1, 1), valid_until=datetime.date(2020, 1, 1)
    )
    with pytest.raises(ValidationError):
        layer.full_clean()
