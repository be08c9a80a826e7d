"""Log-in for caseworkers: the login page, lock-out after failures, expiring sessions."""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def user():
    return UserFactory(username="sachbearbeitung", groups=["caseworker"])


def _login(client, password, next_url="/lookup/"):
    return client.post(
        reverse("login"), {"username": "sachbearbeitung", "password": password, "next": next_url}
    )


def test_the_login_page_has_a_form(client):
    response = client.get(reverse("login"), {"next": "/lookup/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert 'value="/lookup/"' in html


def test_logging_in_leads_to_the_lookup(client, user):
    response = _login(client, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/lookup/"
    assert client.get("/lookup/").status_code == 200


def test_a_wrong_password_shows_an_error(client, user):
    response = _login(client, "wrong")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_repeated_failures_lock_the_account(client, user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    response = _login(client, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logging_out_needs_a_post_and_ends_the_session(client, user):
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get("/lookup/").status_code == 302


def test_sessions_expire():
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert 0 < settings.SESSION_COOKIE_AGE <= 12 * 60 * 60


@pytest.fixture
def compiled_messages():
    from django.core.management import call_command
    from django.utils import translation

    call_command("compilemessages", "--ignore=.venv", "--ignore=node_modules", verbosity=0)
    translation.trans_real._translations = {}
    translation.trans_real._active = translation.trans_real.Local()
    yield


def test_the_login_page_speaks_german(client, compiled_messages):
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Anmelden" in html
    assert "Benutzername" in html and "Passwort" in html


def test_the_lookup_page_speaks_german(client, user, compiled_messages):
    client.force_login(user)
    html = client.get("/lookup/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Adressauskunft" in html
    assert "Nachschlagen" in html
