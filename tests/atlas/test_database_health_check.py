"""The database health check without a round trip (atlas/core/postgis/base.py).

Each test opens its own connection beside the test's (which lives in a transaction), so
that the server can end it and the check sees what a web worker's kept connection sees.
"""

from __future__ import annotations

import select

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.django_db


@pytest.fixture
def kept():
    """A connection as a web worker keeps it between requests: open, idle, autocommit."""
    wrapper = type(connections["default"])({**connection.settings_dict}, alias="default")
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def _last_statement(backend_pid: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [backend_pid])
        return cursor.fetchone()[0]


def _terminate(wrapper) -> None:
    pid = wrapper.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        assert cursor.fetchone()[0] is True


def test_a_healthy_idle_connection_passes_without_a_statement(kept):
    with kept.cursor() as cursor:
        cursor.execute("SELECT 'the last statement before the check'")
    pid = kept.connection.info.backend_pid

    assert kept.is_usable()

    # The server saw nothing after the request's statement: no SELECT 1.
    assert _last_statement(pid) == "SELECT 'the last statement before the check'"


def test_a_connection_the_server_ended_is_not_usable(kept):
    _terminate(kept)

    # pg_terminate_backend waited for the backend to exit, so its goodbye is on the socket.
    assert not kept.is_usable()


def test_the_next_request_after_a_server_restart_gets_a_new_connection(kept):
    """What CONN_HEALTH_CHECKS is for: the request after a restart does not fail."""
    old_pid = kept.connection.info.backend_pid
    _terminate(kept)

    kept.health_check_enabled = True
    kept.health_check_done = False
    kept.close_if_health_check_failed()
    with kept.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        new_pid = cursor.fetchone()[0]

    assert new_pid != old_pid


def test_unread_data_that_is_no_goodbye_costs_one_query_not_the_connection(kept):
    """A notification waits on the socket of a healthy connection: the check asks the
    server (as Django does) instead of throwing the connection away."""
    with kept.cursor() as cursor:
        cursor.execute("LISTEN atlas_health_check_test")
    pid = kept.connection.info.backend_pid
    # The test's own connection is in a transaction that never commits: notify from a third.
    sender = type(connections["default"])({**connection.settings_dict}, alias="default")
    try:
        with sender.cursor() as cursor:
            cursor.execute("NOTIFY atlas_health_check_test")
    finally:
        sender.close()
    assert select.select([kept.connection.fileno()], [], [], 5)[0], "no notification came"

    assert kept.is_usable()
    assert kept.connection.info.backend_pid == pid
    assert _last_statement(pid) == "SELECT 1"


def test_a_closed_connection_is_not_usable(kept):
    kept.connection.close()

    assert not kept.is_usable()
