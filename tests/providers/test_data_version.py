"""The data version is transactional: a reader sees a writer's new version exactly when it
sees the writer's changes (tile cache keys and stored export files rely on it), and
concurrent writers do not wait for each other's version until they commit.

Each test drives a second, real connection (psycopg2) as the writer."""

import pytest
from django.db import connection

from providers.feature_store import CURRENT_VERSION_SQL, data_version
from providers.models import Service
from tests.factories import LocationFactory, ServiceFactory
from tests.sessions import another_session

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writer():
    """Another session on the test database, in a transaction of its own."""
    session = another_session()
    yield session
    session.close()


@pytest.fixture
def two_services():
    return [
        ServiceFactory(name=name, locations=[LocationFactory()]) for name in ("Kita A", "Kita B")
    ]


def own_version(session) -> int:
    with session.cursor() as cursor:
        cursor.execute(f"SELECT {CURRENT_VERSION_SQL}")
        return cursor.fetchone()[0]


def rename(session, service, name):
    with session.cursor() as cursor:
        cursor.execute("UPDATE providers_service SET name = %s WHERE id = %s", [name, service.pk])


def test_an_uncommitted_change_leaves_the_version_others_read(writer, two_services):
    before = data_version()
    rename(writer, two_services[0], "Kita A neu")
    inside = own_version(writer)
    assert inside > before  # the writer's own reads see its change under a number of its own
    assert data_version() == before
    writer.commit()
    after = data_version()
    assert after > inside
    assert Service.objects.get(pk=two_services[0].pk).name == "Kita A neu"


def test_a_rolled_back_change_keeps_the_version(writer, two_services):
    before = data_version()
    rename(writer, two_services[0], "Kita A neu")
    writer.rollback()
    assert data_version() == before
    assert own_version(writer) == before


def test_a_rolled_back_savepoint_takes_its_version_change_with_it(writer, two_services):
    before = data_version()
    with writer.cursor() as cursor:
        cursor.execute("SAVEPOINT s")
        rename(writer, two_services[0], "Kita A neu")
        cursor.execute("ROLLBACK TO SAVEPOINT s")
        cursor.execute("SELECT count(*) FROM providers_dataversion_pending")
        assert cursor.fetchone()[0] == 0
    writer.commit()
    assert data_version() == before


def test_one_version_per_committed_transaction(writer, two_services):
    before = data_version()
    for name in ("eins", "zwei", "drei"):
        rename(writer, two_services[0], name)
    writer.commit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM providers_dataversion_pending")
        assert cursor.fetchone()[0] == 0  # the queue of the commit-time update is empty
    assert data_version() > before


def test_concurrent_writers_do_not_wait_for_each_others_version(writer, two_services):
    """Two open transactions change different services; neither blocks the other (a version
    row locked at the first statement would), and both commits advance the version."""
    second = another_session()
    try:
        before = data_version()
        with writer.cursor() as cursor, second.cursor() as other:
            cursor.execute("SET lock_timeout = '1s'")
            other.execute("SET lock_timeout = '1s'")
        rename(writer, two_services[0], "A2")
        rename(second, two_services[1], "B2")  # would time out behind a held version lock
        rename(writer, two_services[0], "A3")
        writer.commit()
        middle = data_version()
        second.commit()
        assert before < middle < data_version()
    finally:
        second.close()


def test_a_new_service_without_a_location_advances_the_version(db):
    """It has no stored feature, but the CSV export lists it."""
    before = data_version()
    ServiceFactory(name="Ohne Ort", locations=[])
    assert data_version() > before
