"""Every web request's statements have a time limit; commands do not (issue 10 item 4).

The slow statement is a real ``pg_sleep`` in PostgreSQL, put where a view queries. The
tests run outside a test transaction: a cancelled statement aborts the transaction it is in.
"""

import time

import pytest
from django.db import connection

from atlas.site import views as site_views
from providers.api import views as api_views

pytestmark = pytest.mark.django_db(transaction=True)

SLEEP_SECONDS = 5


def _sleep(*args, **kwargs):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [SLEEP_SECONDS])
    raise AssertionError("pg_sleep was not cancelled")


def _show_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.fixture
def short_timeout(settings):
    settings.ATLAS_STATEMENT_TIMEOUT_MS = 300


def test_a_slow_api_statement_answers_503_json_within_the_limit(client, short_timeout, monkeypatch):
    monkeypatch.setattr(api_views.service_features, "page_features", _sleep)
    started = time.monotonic()
    response = client.get("/api/v1/services/")
    assert time.monotonic() - started < SLEEP_SECONDS / 2
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"]
    assert "too long" in response.json()["detail"]


def test_a_slow_site_statement_answers_a_503_page(client, short_timeout, monkeypatch):
    monkeypatch.setattr(site_views, "filter_services", _sleep)
    started = time.monotonic()
    response = client.get("/liste/")
    assert time.monotonic() - started < SLEEP_SECONDS / 2
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "too long" in response.content.decode()


def test_the_map_data_times_out_as_json(client, short_timeout, monkeypatch):
    monkeypatch.setattr(site_views.queries, "map_points_json", _sleep)
    response = client.get("/karte/punkte.json")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


def test_the_limit_ends_with_the_request(client, short_timeout):
    assert client.get("/api/v1/categories/").status_code == 200
    assert _show_timeout() == "0"


def test_work_outside_requests_has_no_limit(short_timeout):
    # Management commands and imports never pass the middleware.
    assert _show_timeout() == "0"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.5)")


def test_a_fast_request_is_not_affected(client, short_timeout):
    assert client.get("/api/v1/services/").status_code == 200
