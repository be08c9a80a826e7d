"""With the database unreachable (its port closed), pages, API and health check answer 503.

The connection really fails: the test points the connection at a port nobody listens on,
so psycopg2 raises its own OperationalError on connect.
"""

import socket

import pytest
from django.db import connection
from django.test import Client

from atlas.core.outage import server_error

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


@pytest.fixture
def database_down():
    connection.close()
    saved = dict(connection.settings_dict)
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    yield
    connection.close()
    connection.settings_dict.update(HOST=saved["HOST"], PORT=saved["PORT"])


def visitor(language: str) -> Client:
    return Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE=language)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/services/",
        "/api/v1/layers/",
        "/karte/anzahl.json",
        "/karte/kacheln/10/550/335.json",
    ],
)
def test_api_answers_503_json_while_the_database_is_down(database_down, url):
    response = visitor("de").get(url)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()
    assert response["Retry-After"]


def test_healthz_answers_503_while_the_database_is_down(database_down):
    response = visitor("de").get("/healthz")
    assert response.status_code == 503
    assert response.json()["detail"]


@pytest.mark.parametrize("url", ["/", "/liste/", "/angebote/1/"])
def test_site_shows_a_german_page_while_the_database_is_down(database_down, url):
    response = visitor("de").get(url)
    assert response.status_code == 503
    html = response.content.decode()
    assert '<html lang="de">' in html
    assert "Vorübergehend nicht erreichbar" in html


def test_site_shows_an_english_page_to_english_visitors(database_down):
    response = visitor("en").get("/liste/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.content.decode()


def test_other_errors_stay_a_500(rf):
    try:
        raise RuntimeError("not a database problem")
    except RuntimeError:
        response = server_error(rf.get("/healthz"))
    assert response.status_code == 500
