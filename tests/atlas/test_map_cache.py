"""The map's cache is shared: a tile one web worker (process) computed is served from the
cache by another, with the default backend (a table in the database) and with Redis."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import environ
import pytest
from django.contrib.gis.geos import Point
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from providers.models import ServiceMarker
from tests.factories import LocationFactory, ServiceFactory

# Committed data: the other process must see it.
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = {
    "database": "dbcache://atlas_map_cache?max_entries=20000",
    "redis": "redis://127.0.0.1:6379/15",
}
# The other worker: a separate Python process on the same database and cache.
OTHER_WORKER = """
import sys, django
django.setup()
from django.test import Client
response = Client().get(sys.argv[1])
assert response.status_code == 200, response.status_code
sys.stdout.write(response.content.decode())
"""


def redis_is_running() -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", 6379)) == 0


def database_url() -> str:
    db = connection.settings_dict
    return f"postgis://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_tile_computed_by_one_worker_is_served_from_the_cache_by_another(
    client, settings, backend
):
    if backend == "redis" and not redis_is_running():
        pytest.skip("no Redis on 127.0.0.1:6379")
    url = BACKENDS[backend]
    settings.CACHES = {**settings.CACHES, settings.MAP_CACHE: environ.Env.cache_url_config(url)}
    call_command("createcachetable", verbosity=0)  # as migrate does, whatever .env says
    cache = caches[settings.MAP_CACHE]
    cache.clear()
    for lng in (13.40, 13.401, 13.45):
        ServiceFactory(locations=[LocationFactory(point=Point(lng, 52.52, srid=4326))])
    path = reverse("atlas:map_tile", args=[11, 1100, 671])
    try:
        other = subprocess.run(  # noqa: S603 - our own interpreter and code
            [sys.executable, "-c", OTHER_WORKER, path],
            cwd=ROOT,
            env={
                **os.environ,
                "DATABASE_URL": database_url(),
                "ATLAS_MAP_CACHE_URL": url,
                "DJANGO_ALLOWED_HOSTS": "testserver",
            },
            capture_output=True,
            text=True,
            check=True,
        )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
    finally:
        cache.clear()
    assert response.status_code == 200
    assert response.content.decode() == other.stdout
    tile = json.loads(other.stdout)
    assert sum(c[2] for c in tile["clusters"]) + len(tile["markers"]) == 3
    # This worker read the other's answer: it never looked at the markers itself.
    assert not [q for q in queries if ServiceMarker._meta.db_table in q["sql"]]


def test_the_map_cache_is_shared_by_default():
    """Without ATLAS_MAP_CACHE_URL the map's cache is the database table, not a worker's
    own memory (the tests replace it with one in memory; the settings module keeps what
    was configured)."""
    if "ATLAS_MAP_CACHE_URL" in os.environ:
        pytest.skip("ATLAS_MAP_CACHE_URL is set in this environment")
    import atlas.settings as configured

    shared = configured.CACHES[configured.MAP_CACHE]
    assert shared["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert shared["OPTIONS"]["MAX_ENTRIES"] >= 5000
    with connection.cursor() as cursor:  # made by migrate
        cursor.execute("SELECT to_regclass(%s)", [shared["LOCATION"]])
        assert cursor.fetchone()[0] == shared["LOCATION"]
