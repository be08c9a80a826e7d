"""Every web request's statements have a time limit; commands do not (issue 10 item 4).

The slow statement is a real ``pg_sleep`` in PostgreSQL, put where a view queries. The
tests run outside a test transaction: a cancelled statement aborts the transaction it is in.
"""

import time

import pytest
from django.db import connection

from atlas.site import map_answers
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
    yield
    # A connection opened by a request keeps its limit; the teardown's flush needs none.
    connection.close()


def test_a_slow_api_statement_answers_503_json_within_the_limit(client, short_timeout, monkeypatch):
    monkeypatch.setattr(api_views.service_pages, "page", _sleep)
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
    monkeypatch.setattr(map_answers, "tile_text", _sleep)
    response = client.get("/karte/kacheln/10/550/335.json")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"


def test_the_limit_ends_with_the_request(client, short_timeout):
    connection.ensure_connection()  # opened before the request, as in a test or a shell
    assert client.get("/api/v1/categories/").status_code == 200
    assert _show_timeout() == "0"


def test_work_outside_requests_has_no_limit(short_timeout):
    # Management commands and imports never pass the middleware.
    connection.close()
    assert _show_timeout() == "0"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(0.5)")


def test_a_fast_request_is_not_affected(client, short_timeout):
    assert client.get("/api/v1/services/").status_code == 200


def test_a_connection_opened_by_a_request_keeps_the_limit_without_statements_per_request(
    client, short_timeout, monkeypatch
):
    """A web process's persistent connection gets the limit once, when it opens: setting
    and resetting it around each request cost two round trips per request."""
    from atlas.core import statement_timeout

    per_request = []
    original = statement_timeout._LimitOnFirstQuery

    class Recording(original):
        def __init__(self, limit_ms):
            per_request.append(limit_ms)
            super().__init__(limit_ms)

    monkeypatch.setattr(statement_timeout, "_LimitOnFirstQuery", Recording)
    connection.close()
    for _ in range(3):
        assert client.get("/api/v1/categories/").status_code == 200
    assert per_request == []
    assert _show_timeout() == "300ms"
    # ... and it still cancels a slow statement.
    monkeypatch.setattr(api_views.ServiceViewSet, "list", _sleep)
    started = time.monotonic()
    assert client.get("/api/v1/services/").status_code == 503
    assert time.monotonic() - started < SLEEP_SECONDS - 1


def test_a_changed_limit_reaches_a_connection_opened_with_another(client, settings):
    settings.ATLAS_STATEMENT_TIMEOUT_MS = 700
    connection.close()
    assert client.get("/api/v1/categories/").status_code == 200
    settings.ATLAS_STATEMENT_TIMEOUT_MS = 300
    monkeypatch_view = api_views.ServiceViewSet.list
    try:
        api_views.ServiceViewSet.list = _sleep
        started = time.monotonic()
        assert client.get("/api/v1/services/").status_code == 503
        assert time.monotonic() - started < 0.7 + 0.5
    finally:
        api_views.ServiceViewSet.list = monkeypatch_view
    assert _show_timeout() == "0"
    connection.close()
