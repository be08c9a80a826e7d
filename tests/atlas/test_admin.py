import pytest
from django.contrib import admin
from django.contrib.gis.db.models import GeometryField
from django.urls import reverse

from providers.models import Location
from tests.factories import AreaFactory, LocationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

ATLAS_APPS = {"providers", "planning_areas", "lookup"}
ATLAS_MODELS = [m for m in admin.site._registry if m._meta.app_label in ATLAS_APPS]
WORKFLOW_MODELS = {"pendingchange", "servicedeletion", "problemreport"}


def _has_geometry(model) -> bool:
    return any(isinstance(f, GeometryField) for f in model._meta.get_fields())


def test_all_atlas_models_are_in_the_admin():
    names = {m._meta.model_name for m in ATLAS_MODELS}
    assert {
        "organization",
        "service",
        "location",
        "contact",
        "category",
        "targetgroup",
        "layer",
        "area",
        "responsibility",
    } <= names


@pytest.mark.parametrize("model", ATLAS_MODELS, ids=lambda m: m._meta.label)
def test_changelist_renders_for_superuser(admin_client, model):
    AreaFactory()
    ServiceFactory(locations=[LocationFactory()])
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", ATLAS_MODELS, ids=lambda m: m._meta.label)
def test_add_page_renders_with_map_widget_where_geometry(admin_client, model):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
    response = admin_client.get(url)
    if model._meta.model_name in WORKFLOW_MODELS:
        # Pending changes, deletions and tickets are created by the workflow only.
        assert response.status_code == 403
        return
    assert response.status_code == 200
    content = response.content.decode()
    if _has_geometry(model):
        assert "leaflet" in content.lower()
        assert "L.Map" in content or "leaflet.js" in content


def test_change_pages_render_with_stored_areas(admin_client):
    area = AreaFactory(name="Kiez Nord")
    location = LocationFactory()
    response = admin_client.get(reverse("admin:providers_location_change", args=[location.pk]))
    assert response.status_code == 200
    assert "Kiez Nord" in response.content.decode()
    response = admin_client.get(reverse("admin:planning_areas_area_change", args=[area.pk]))
    assert response.status_code == 200


def test_saving_a_location_outside_all_areas_warns(admin_client):
    AreaFactory()
    location = LocationFactory()
    data = {
        "name": location.name,
        "street": "",
        "house_number": "",
        "postcode": "",
        "city": "Berlin",
        "point": '{"type": "Point", "coordinates": [8.0, 50.0]}',
        "wheelchair": "unknown",
        "external_id": "",
    }
    response = admin_client.post(
        reverse("admin:providers_location_change", args=[location.pk]), data, follow=True
    )
    assert response.status_code == 200
    assert Location.objects.get(pk=location.pk).is_outside_areas
    assert (
        "outside every planning area" in response.content.decode()
        or "außerhalb" in response.content.decode()
    )


def test_admin_uses_tile_url_from_settings(admin_client, settings):
    response = admin_client.get(reverse("admin:providers_location_add"))
    assert (
        "tile.openstreetmap.de" in response.content.decode()
        or settings.ATLAS_TILE_URL.split("/")[2] in response.content.decode()
    )


def test_admin_is_german_by_default(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert 'lang="de"' in response.content.decode()
