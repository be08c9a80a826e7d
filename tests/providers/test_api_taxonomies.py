import pytest
from rest_framework.test import APIClient

from tests.factories import CategoryFactory, TargetGroupFactory

pytestmark = pytest.mark.django_db


def test_categories_are_a_tree():
    family = CategoryFactory(slug="familie", name="Familie")
    CategoryFactory(slug="familienzentrum", name="Familienzentren", parent=family)
    CategoryFactory(slug="senioren", name="Senioren")
    data = APIClient().get("/api/v1/categories/").json()
    assert [c["slug"] for c in data] == ["familie", "senioren"]
    assert [c["slug"] for c in data[0]["children"]] == ["familienzentrum"]
    assert data[0]["children"][0]["parent"] == "familie"


def test_category_by_slug():
    CategoryFactory(slug="kita", name="Kita")
    assert APIClient().get("/api/v1/categories/kita/").json()["name"] == "Kita"
    assert APIClient().get("/api/v1/categories/nope/").status_code == 404


def test_target_groups_list():
    TargetGroupFactory(slug="kinder", name="Kinder")
    data = APIClient().get("/api/v1/target-groups/").json()
    assert data == [{"id": data[0]["id"], "slug": "kinder", "name": "Kinder", "description": ""}]
