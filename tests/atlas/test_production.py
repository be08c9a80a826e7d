"""The production path as the README describes it: collectstatic with the manifest storage,
gunicorn with DJANGO_DEBUG=false, and `check --deploy` with the README's variables."""

import json
import re

import pytest
from django.contrib.gis.geos import Point
from django.db import connection

from tests.factories import AreaFactory, LayerFactory, LocationFactory, ServiceFactory, square
from tests.production import (
    STATIC_REFERENCE,
    collect_static,
    get,
    gunicorn,
    manage,
    production_environment,
    readme_production_commands,
    readme_production_variables,
)

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    collect_static(production_environment(root))
    return root


@pytest.fixture
def server(static_root):
    layer = LayerFactory(slug="bezirke", source="Stadt Musterstadt", licence="CC BY 4.0")
    AreaFactory(layer=layer, code="01", geometry=square(8.40, 48.95, 0.05))
    ServiceFactory(locations=[LocationFactory(point=Point(8.42, 48.97, srid=4326))])
    with gunicorn(production_environment(static_root)) as base:
        yield base


def test_the_main_pages_answer_200_under_gunicorn_without_debug(server):
    for path in ("/", "/liste/", "/api/v1/", "/admin/login/", "/healthz"):
        status, _, body = get(server + path)
        assert status == 200, (path, status, body[:500])


def test_requests_after_the_database_ended_the_workers_sessions_answer_200(server):
    """As after a PostgreSQL restart: each worker's kept connection is dead, and the health
    check (atlas/core/postgis/base.py) replaces it before the request's first query."""
    for _ in range(6):  # both workers hold a connection
        assert get(server + "/api/v1/services/")[0] == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        ended = [row[0] for row in cursor.fetchall()]
    assert ended and all(ended)

    statuses = [get(server + path)[0] for path in ("/api/v1/services/", "/healthz", "/") * 3]

    assert statuses == [200] * 9


def test_every_static_file_a_page_names_is_hashed_and_served(server, static_root):
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = "/static/" + manifest["atlas/vendor/leaflet/leaflet.js"]
    assert hashed != "/static/atlas/vendor/leaflet/leaflet.js"
    status, headers, _ = get(server + hashed)
    assert status == 200
    assert "max-age=315360000" in headers["Cache-Control"]  # WhiteNoise: immutable
    for path in ("/", "/admin/login/"):
        html = get(server + path)[2].decode()
        references = STATIC_REFERENCE.findall(html)
        assert hashed in references or path != "/"
        for reference in references:
            assert get(server + reference)[0] == 200, (path, reference)


def test_es_modules_import_each_other_by_their_hashed_names(static_root):
    """The page preloads the hashed modules; the modules must import the same files."""
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    page = (static_root / manifest["atlas/js/map-page.js"]).read_text()
    imported = re.findall(r'from "\./([^"]+)"', page)
    assert "markers.js" not in imported
    assert {f"atlas/js/{name}" for name in imported} <= set(manifest.values())
    assert manifest["atlas/js/markers.js"].split("/")[-1] in imported


def test_the_leaflet_source_maps_are_collected(static_root):
    assert (static_root / "atlas" / "vendor" / "leaflet" / "leaflet.js.map").is_file()


def test_check_deploy_is_clean_with_the_readmes_production_variables(tmp_path):
    env = production_environment(tmp_path, **readme_production_variables())
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_the_readmes_production_commands_are_the_ones_tested():
    commands = readme_production_commands()
    assert [c[:3] for c in commands[:-1]] == [
        [".venv/bin/python", "manage.py", "migrate"],
        [".venv/bin/python", "manage.py", "compilemessages"],
        [".venv/bin/python", "manage.py", "collectstatic"],
        [".venv/bin/python", "manage.py", "check"],
    ]
    assert commands[-1][:2] == [".venv/bin/gunicorn", "atlas.wsgi:application"]


def test_plain_http_is_redirected_to_https_unless_the_proxy_says_https(static_root):
    variables = readme_production_variables()
    variables["DJANGO_ALLOWED_HOSTS"] = "127.0.0.1"
    env = production_environment(static_root, **variables)
    with gunicorn(env, workers=1) as base:
        status, headers, _ = get(base + "/liste/")
        assert status == 301 and headers["Location"].startswith("https://")
        assert get(base + "/healthz")[0] == 200  # load balancers check over plain HTTP
        status, headers, _ = get(base + "/liste/", {"X-Forwarded-Proto": "https"})
        assert status == 200
        assert headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains; preload"
        )


def test_gunicorn_refuses_to_start_without_collected_static_files(tmp_path):
    env = production_environment(tmp_path / "never-collected")
    with pytest.raises(AssertionError, match="run `manage.py collectstatic --noinput`"):
        with gunicorn(env, workers=1):
            pass


def test_warm_map_runs_as_cron_runs_it_and_fills_the_cache_the_workers_read(server, static_root):
    """``manage.py warm_map`` without debug, as the README's periodic job: what it builds
    is in the map cache the gunicorn workers share, so it is not built again."""
    env = production_environment(static_root)
    first = manage(["warm_map"], env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert re.search(r"tiles and the count each: \d+ cache entries built", first.stdout)
    entries = _map_cache_entries()
    status, _, body = get(server + "/karte/anzahl.json")
    assert status == 200 and json.loads(body) == {"count": 1}
    assert _map_cache_entries() == entries  # the worker built nothing: it read the entry
    again = manage(["warm_map"], env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "all of it was cached already" in again.stdout


def _map_cache_entries() -> int:
    """Rows of the map's cache (the default backend, a table in the database)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM atlas_map_cache")
        return cursor.fetchone()[0]
