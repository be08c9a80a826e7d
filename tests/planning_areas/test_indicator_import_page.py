"""The admin page for indicator imports: permission matrix, preview, confirm, errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from atlas.core.roles import CASEWORKER
from planning_areas.models import IndicatorValue
from tests.factories import AreaFactory, LayerFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "admin:planning_areas_indicator_import"
MAPPING = b"""period = 2024-12-31
[indicators.kids]
column = "under_6"
aggregation = "sum"
"""


@pytest.fixture
def layer():
    layer = LayerFactory(slug="plr")
    AreaFactory(layer=layer, code="01")
    AreaFactory(layer=layer, code="02")
    return layer


def staff_caseworker():
    return UserFactory(username="staff-cw", is_staff=True, groups=[CASEWORKER])


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("staff_caseworker", 403),
        ("org_editor_a", 403),
        ("editor", 200),
        ("admin_user_", 200),
    ],
)
def test_indicator_import_page_access(client, request, role, status):
    if role == "staff_caseworker":
        client.force_login(staff_caseworker())
    elif role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    assert client.get(reverse(URL)).status_code == status


def upload(client, csv: bytes, mapping: bytes | None = MAPPING):
    data = {"file": SimpleUploadedFile("werte.csv", csv), "layer": "plr", "code_field": "id"}
    if mapping is not None:
        data["mapping"] = SimpleUploadedFile("mapping.toml", mapping)
    return client.post(reverse(URL), data)


def test_preview_writes_nothing_and_confirm_imports(client, editor, layer):
    client.force_login(editor)
    response = upload(client, b"id,under_6\n01,5\n02,7\n")
    assert response.status_code == 200
    assert b"values 2 new" in response.content
    assert not IndicatorValue.objects.exists()
    token = response.context["token"]
    response = client.post(reverse(URL), {"token": token})
    assert response.status_code == 200
    assert IndicatorValue.objects.count() == 2


def test_bad_file_shows_every_error_and_offers_no_confirm(client, editor, layer):
    client.force_login(editor)
    response = upload(client, b"id,under_6\n01,<b>x</b>\n09,1\n")
    assert response.status_code == 400
    assert response.context["token"] is None
    html = response.content.decode()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert "no area with the code" in html
    assert not IndicatorValue.objects.exists()
