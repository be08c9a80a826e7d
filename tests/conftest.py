import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.utils import translation

from atlas.core.roles import CASEWORKER, EDITOR, ORGANIZATION_EDITOR

from .factories import OrganizationFactory, UserFactory


def _check_deferred_constraints_now():
    """Fire the deferred foreign-key checks of the bulk load once, here.

    Otherwise every test's teardown (``check_constraints`` inside a savepoint that
    is rolled back) re-checks all rows of the outer transaction again.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@pytest.fixture(autouse=True)
def english_messages():
    """Messages are asserted against their English source strings, whatever LANGUAGE_CODE says
    (German, with locale/de compiled). Requests still choose their own language per request
    (Accept-Language, the language cookie), so German pages are tested as German."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def export_files_dir(settings, tmp_path):
    """Stored export files (providers/export_files.py) go to the test's own directory."""
    settings.ATLAS_EXPORT_FILES_DIR = tmp_path / "exports"
    return settings.ATLAS_EXPORT_FILES_DIR


@pytest.fixture
def client():
    """The test client asks for English pages unless a test sends another Accept-Language."""
    return Client(headers={"accept-language": "en"})


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    """The Berlin demo data set without the address index, loaded once per test module
    and rolled back after it.

    Tests in the module run in savepoints inside this transaction, so other
    modules see an empty database.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", "--skip-addresses", stdout=io.StringIO())
        _check_deferred_constraints_now()
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="module")
def demo_db_with_addresses(django_db_setup, django_db_blocker):
    """The full demo including all 401,032 Berlin addresses (about 15 s), per module."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("load_demo", stdout=io.StringIO())
        _check_deferred_constraints_now()
        yield
        transaction.set_rollback(True)


@pytest.fixture
def admin_user_(db):
    return UserFactory(username="admin-x", is_staff=True, is_superuser=True)


@pytest.fixture
def caseworker(db):
    return UserFactory(username="caseworker", groups=[CASEWORKER])


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", is_staff=True, groups=[EDITOR])


@pytest.fixture
def organization_a(db):
    return OrganizationFactory(name="Träger A e.V.")


@pytest.fixture
def organization_b(db):
    return OrganizationFactory(name="Träger B gGmbH")


@pytest.fixture
def org_editor_a(db, organization_a):
    user = UserFactory(username="editor-a", is_staff=True, groups=[ORGANIZATION_EDITOR])
    organization_a.editors.add(user)
    return user


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Throttle counters, other cache entries and the per-process district names of the
    address search must not leak between tests. The map's cache is a fresh one in memory
    per test: the shared backends (a database table, Redis) outlive a test's rollback and
    flush; tests/atlas/test_map_cache.py tests them."""
    from django.core.cache import cache, caches

    settings.CACHES = {
        **settings.CACHES,
        settings.MAP_CACHE: {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "map-tests",
        },
    }

    from planning_areas.address_search import district_names

    cache.clear()
    caches[settings.MAP_CACHE].clear()
    district_names.clear()
    yield
