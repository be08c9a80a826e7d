"""Planner settings of the app's database connections (atlas/settings.py)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")  # noqa: S608 - constant names below
        return cursor.fetchone()[0]


def test_random_reads_are_priced_as_in_memory():
    """With the default 4 a bbox page of 500 at 100,000 services hashed the whole
    service-location table instead of 2,273 index lookups (142 instead of 58 ms)."""
    assert float(_show("random_page_cost")) == pytest.approx(1.1)


def test_no_jit_and_no_parallel_workers_for_web_requests():
    assert _show("jit") == "off"
    assert _show("max_parallel_workers_per_gather") == "0"
