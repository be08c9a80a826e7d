"""The move of Area.indicators into Indicator rows, forwards and back."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import square

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("planning_areas", "0005_add_indicators")]
AFTER = [("planning_areas", "0007_remove_area_indicators")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_json_indicators_become_values_and_come_back_unchanged():
    old = migrate(BEFORE)
    Layer = old.get_model("planning_areas", "Layer")
    Area = old.get_model("planning_areas", "Area")
    layer = Layer.objects.create(slug="plr", name="PLR", valid_from=datetime.date(2021, 1, 1))
    first = {"kids": 12, "rate": 3.5, "mss_status": "niedrig", "population_date": "2024-12-31"}
    second = {"kids": 7, "mss_status": "hoch", "note": None}
    Area.objects.create(
        layer=layer, code="1", name="A", geometry=square(13.4, 52.5), indicators=first
    )
    Area.objects.create(
        layer=layer, code="2", name="B", geometry=square(13.5, 52.5), indicators=second
    )
    try:
        new = migrate(AFTER)
        Value = new.get_model("planning_areas", "IndicatorValue")
        Indicator = new.get_model("planning_areas", "Indicator")
        rows = {
            (v.area.code, v.indicator.slug): (v.value, v.period)
            for v in Value.objects.select_related("area", "indicator")
        }
        assert rows == {
            ("1", "kids"): (12.0, datetime.date(2024, 12, 31)),
            ("1", "rate"): (3.5, datetime.date(2024, 12, 31)),
            ("1", "mss_status"): (3.0, datetime.date(2024, 12, 31)),
            ("2", "kids"): (7.0, datetime.date(2021, 1, 1)),
            ("2", "mss_status"): (1.0, datetime.date(2021, 1, 1)),
        }
        labels = Indicator.objects.get(slug="mss_status").value_labels
        assert labels == {"1": "hoch", "2": "mittel", "3": "niedrig", "4": "sehr niedrig"}
        back = migrate(BEFORE)
        restored = dict(
            back.get_model("planning_areas", "Area").objects.values_list("code", "indicators")
        )
        assert restored["1"] == first
        assert restored["2"] == {"kids": 7, "mss_status": "hoch", "population_date": "2021-01-01"}
    finally:
        # Every app back to its latest migration: going back to BEFORE also unapplied the
        # other apps' migrations that depend on later planning_areas ones, and tests that
        # run after this one in the same database need their columns.
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
