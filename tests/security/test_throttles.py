"""Request limits shared by all server processes, keyed on the real client address
(issue 10 item 4): spoofed X-Forwarded-For, trusted proxies, every public view, axes."""

import threading

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.urls import reverse

from atlas.core.models import ThrottleHit
from atlas.core.throttles import client_ip
from tests.factories import LocationFactory, ServiceFactory, UserFactory

pytestmark = pytest.mark.django_db

LIMIT = 3
PASSWORD = "correct horse battery"  # the factory's


@pytest.fixture
def low_limit(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": f"{LIMIT}/minute", "anon": "1000/hour"},
    }


def _statuses(client, path, count, **headers):
    return [client.get(path, **headers).status_code for _ in range(count)]


def _spoofed(i: int) -> dict:
    return {"HTTP_X_FORWARDED_FOR": f"203.0.113.{i}"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/services/",
        "/liste/",
        "/karte/kacheln/10/550/335.json",
        "/",
        "/api/v1/areas/?point=13.4,52.5",
    ],
)
def test_a_spoofed_forwarded_for_gets_no_fresh_quota(client, low_limit, path):
    statuses = [client.get(path, **_spoofed(i)).status_code for i in range(LIMIT + 2)]
    assert statuses[:LIMIT] == [200] * LIMIT
    assert statuses[LIMIT:] == [429, 429]


def test_a_refusal_says_when_to_come_back(client, low_limit):
    _statuses(client, "/liste/", LIMIT)
    response = client.get("/liste/")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60


def test_the_site_and_the_api_share_one_quota(client, low_limit):
    _statuses(client, "/liste/", LIMIT)
    assert client.get("/api/v1/categories/").status_code == 429


def test_the_service_and_area_pages_and_the_report_form_are_limited(client, low_limit):
    service = ServiceFactory(locations=[LocationFactory()])
    paths = [f"/angebote/{service.pk}/", f"/angebote/{service.pk}/popup/"]
    paths.append(reverse("providers:report_problem", args=[service.pk]))
    for path in paths:
        ThrottleHit.objects.all().delete()
        assert _statuses(client, path, LIMIT + 1)[-1] == 429, path


def test_signed_in_users_are_not_limited(client, low_limit):
    client.force_login(UserFactory(groups=["caseworker"]))
    assert set(_statuses(client, "/liste/", LIMIT + 2)) == {200}


def test_counts_are_shared_between_processes(client, low_limit):
    # Another server process is another connection to the same table: its hits count here.
    _statuses(client, "/liste/", LIMIT - 1)
    assert ThrottleHit.objects.filter(key__startswith="anon_burst:").count() == LIMIT - 1
    assert client.get("/liste/").status_code == 200
    assert client.get("/liste/").status_code == 429


def test_both_limits_cost_one_statement_per_request(client, low_limit):
    """Counting cost 6 round trips per request (two throttles, each a transaction with a
    lock and a count): 7 to 9 ms of a 10 ms point lookup at load 9."""
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/categories/").status_code == 200
    counting = [q["sql"] for q in queries.captured_queries if "core_throttlehit" in q["sql"]]
    assert len(counting) == 1
    assert set(ThrottleHit.objects.values_list("key", flat=True)) == {
        "anon_burst:127.0.0.1",
        "anon:127.0.0.1",
    }


def test_the_longer_wait_of_two_exhausted_limits_is_named(client, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon_burst": "1/minute", "anon": "1/hour"},
    }
    assert client.get("/api/v1/categories/").status_code == 200
    refused = client.get("/api/v1/categories/")
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 3000


@pytest.mark.django_db(transaction=True)
def test_racing_workers_pass_no_more_than_the_limit(low_limit):
    results = []

    def worker():
        try:
            results.extend(_statuses(Client(), "/api/v1/categories/", 3))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 12
    assert results.count(200) == LIMIT


# -- the client address ------------------------------------------------------------------


def _request(remote="10.0.0.1", forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_proxies_the_header_is_ignored(settings):
    settings.ATLAS_NUM_PROXIES = 0
    assert client_ip(_request(forwarded="198.51.100.7")) == "10.0.0.1"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a client's own entry on the left
        (2, "6.6.6.6, 198.51.100.7, 192.0.2.1", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.1"),  # did not pass both proxies
        (1, "not-an-address", "10.0.0.1"),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_with_n_proxies_the_nth_address_from_the_right_is_the_client(
    settings, proxies, forwarded, expected
):
    settings.ATLAS_NUM_PROXIES = proxies
    assert client_ip(_request(forwarded=forwarded)) == expected


def test_behind_a_proxy_clients_have_separate_quotas(client, low_limit, settings):
    settings.ATLAS_NUM_PROXIES = 1
    alice = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    bob = {"HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert _statuses(client, "/liste/", LIMIT + 1, **alice)[-1] == 429
    assert client.get("/liste/", **bob).status_code == 200
    # Alice cannot escape by putting another address in front.
    assert client.get("/liste/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7").status_code == 429


# -- login lock-out (django-axes) ----------------------------------------------------------


def _login(client, username, password, address):
    return client.post(
        reverse("login"),
        {"username": username, "password": password, "next": "/lookup/"},
        HTTP_X_FORWARDED_FOR=address,
    )


def test_a_lockout_of_one_user_does_not_lock_out_another_behind_the_same_proxy(client, settings):
    settings.ATLAS_NUM_PROXIES = 1
    UserFactory(username="anna", groups=["caseworker"])
    UserFactory(username="ben", groups=["caseworker"])
    office = "198.51.100.20"  # both behind the same office proxy
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "anna", "wrong", office)
    assert _login(client, "anna", PASSWORD, office).status_code == 429
    assert _login(Client(), "ben", PASSWORD, office).status_code == 302


def test_a_lockout_keys_on_the_forwarded_client_address(client, settings):
    settings.ATLAS_NUM_PROXIES = 1
    UserFactory(username="anna", groups=["caseworker"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "anna", "wrong", "198.51.100.30")
    # The attacker's address is locked for anna, anna's own is not.
    assert _login(client, "anna", PASSWORD, "198.51.100.30").status_code == 429
    assert _login(Client(), "anna", PASSWORD, "198.51.100.31").status_code == 302
