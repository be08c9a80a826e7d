"""The complete service exports are stored per data version and then served as files:
the same bytes and headers as streamed, a new file after any change, old files removed,
one writer at a time, and a directory that fails costs nothing but the speed-up.

The snapshot test runs a real second connection as the writer (psycopg2)."""

import errno
import fcntl
import gzip
import io
import json
import logging
import os
import threading

import pytest
from django.core.management import CommandError, call_command
from django.http import FileResponse
from rest_framework.test import APIClient

from atlas.core import download_files
from providers import export_files
from providers.models import Service
from tests.factories import CategoryFactory, LocationFactory, ServiceFactory
from tests.sessions import another_session

GEOJSON = "/api/v1/services/export.geojson"
CSV = "/api/v1/services/export.csv"
HOSTILE_ENCODINGS = ["gzip;q=0", "*;q=0", "\x00gzip\x00", "gzip;q=nan", "gzip" + ", br" * 1024]


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def services(db):
    kita = CategoryFactory(slug="kita")
    made = [
        ServiceFactory(name=name, locations=[LocationFactory()], categories=[kita])
        for name in ("Zentrum Nord", "Ärztehaus", "=Formel")
    ]
    ServiceFactory(name="Ohne Ort", locations=[])
    return made


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def stored(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if not p.name.startswith("."))


@pytest.mark.django_db
@pytest.mark.parametrize("url", [GEOJSON, CSV])
@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_the_second_export_is_the_stored_file_with_the_same_bytes_and_headers(
    client, services, export_files_dir, url, encoding
):
    first = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    first_body = body(first)
    assert not isinstance(first, FileResponse)
    assert len(stored(export_files_dir)) == 2  # plain and gzip
    second = client.get(url, HTTP_ACCEPT_ENCODING=encoding)
    assert isinstance(second, FileResponse)
    assert body(second) == first_body
    for header in ("Content-Type", "Content-Disposition", "Vary"):
        assert second[header] == first[header]
    assert second.get("Content-Encoding") == first.get("Content-Encoding")
    assert (first.get("Content-Encoding") == "gzip") == (encoding == "gzip")
    assert int(second["Content-Length"]) == len(first_body)


@pytest.mark.django_db
def test_stored_plain_and_gzip_files_hold_the_streamed_export(client, services, export_files_dir):
    streamed = body(client.get(CSV))
    plain = body(client.get(CSV))
    packed = body(client.get(CSV, HTTP_ACCEPT_ENCODING="gzip"))
    assert plain == streamed
    assert gzip.decompress(packed) == streamed
    text = streamed.decode("utf-8-sig")
    assert "Ohne Ort" in text  # a service without a location has its row
    assert "'=Formel" in text  # cells are defused as in every CSV


@pytest.mark.django_db
@pytest.mark.parametrize("header", HOSTILE_ENCODINGS)
def test_a_refusing_or_hostile_accept_encoding_gets_the_plain_stored_file(client, services, header):
    body(client.get(GEOJSON, HTTP_ACCEPT_ENCODING="gzip"))  # stores both files
    response = client.get(GEOJSON, HTTP_ACCEPT_ENCODING=header)
    assert isinstance(response, FileResponse)
    assert not response.has_header("Content-Encoding")
    assert len(json.loads(body(response))["features"]) == 3


@pytest.mark.django_db
def test_a_change_gives_a_new_file_and_removes_the_old_one(client, services, export_files_dir):
    body(client.get(GEOJSON))
    old = stored(export_files_dir)
    Service.objects.filter(pk=services[0].pk).update(name="Zentrum Süd")
    response = client.get(GEOJSON)
    names = [f["properties"]["name"] for f in json.loads(body(response))["features"]]
    assert "Zentrum Süd" in names
    assert not isinstance(response, FileResponse)  # streamed, not the old file
    new = stored(export_files_dir)
    assert len(new) == 2 and not set(new) & set(old)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["category=kita", "q=Zentrum", "bbox=13,52,14,53"])
def test_filtered_exports_stream_and_store_nothing(client, services, export_files_dir, query):
    for _ in range(2):
        response = client.get(f"{GEOJSON}?{query}")
        assert response.status_code == 200 and not isinstance(response, FileResponse)
        body(response)
    assert not export_files_dir.exists() or stored(export_files_dir) == []


@pytest.mark.django_db
def test_the_caseworkers_export_is_never_stored(client, services, caseworker, export_files_dir):
    client.force_authenticate(caseworker)
    for _ in range(2):
        response = client.get(GEOJSON)
        assert not isinstance(response, FileResponse)
        body(response)
    assert not export_files_dir.exists() or stored(export_files_dir) == []


@pytest.mark.django_db
def test_an_empty_export_is_not_stored(client, export_files_dir):
    response = client.get(GEOJSON)
    assert json.loads(body(response)) == {"type": "FeatureCollection", "features": []}
    assert not export_files_dir.exists() or stored(export_files_dir) == []


@pytest.mark.django_db
def test_while_another_worker_writes_a_request_streams(client, services, export_files_dir):
    export_files_dir.mkdir()
    lock = os.open(export_files_dir / ".services-geojson.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        response = client.get(GEOJSON)
        assert len(json.loads(body(response))["features"]) == 3
        assert stored(export_files_dir) == []
    finally:
        os.close(lock)
    body(client.get(GEOJSON))
    assert len(stored(export_files_dir)) == 2


@pytest.mark.django_db
def test_a_broken_off_stream_leaves_no_file(client, services, export_files_dir):
    response = client.get(GEOJSON)
    next(iter(response.streaming_content))
    # The client went away: the test client's wrapper of the body closes the response (as
    # a server would) without closing the test's database connection.
    response._iterator.close()
    assert os.listdir(export_files_dir) == [".services-geojson.lock"]
    # The plain stream's gzip copy was made on a thread, which has ended too.
    assert not [t for t in threading.enumerate() if t.name == "gzip-copy"]
    assert not isinstance(client.get(GEOJSON), FileResponse)


@pytest.mark.django_db
def test_an_unusable_directory_streams_with_a_log_line(
    client, services, settings, tmp_path, caplog
):
    (tmp_path / "a-file").write_text("")
    settings.ATLAS_EXPORT_FILES_DIR = tmp_path / "a-file" / "exports"
    with caplog.at_level(logging.WARNING, logger="atlas.core.download_files"):
        response = client.get(CSV)
        assert body(response).decode("utf-8-sig").count("\n") == 5
    assert "not stored" in caplog.text


@pytest.mark.django_db
def test_a_full_disk_streams_the_whole_export_and_keeps_no_file(
    client, services, export_files_dir, monkeypatch, caplog
):
    Service.objects.filter(pk=services[0].pk).update(name="Neu")
    calls = []

    def full(handle, data):
        calls.append(len(data))
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)

    monkeypatch.setattr(download_files.os, "write", full)
    with caplog.at_level(logging.WARNING, logger="atlas.core.download_files"):
        streamed = body(client.get(GEOJSON))
    features = json.loads(streamed)["features"]
    assert len(features) == 3 and "Neu" in [f["properties"]["name"] for f in features]
    assert stored(export_files_dir) == []
    assert [p.name for p in export_files_dir.iterdir()] == [".services-geojson.lock"]
    assert len(calls) > 2  # the failure was reached
    assert "No space left" in caplog.text


@pytest.mark.django_db
@pytest.mark.parametrize("url", [GEOJSON, CSV])
def test_a_failing_gzip_copy_of_a_plain_stream_stores_neither_file(
    client, services, export_files_dir, monkeypatch, caplog, url
):
    """The gzip file of a plain stream is written by the copy's thread; when only that
    file fails, the client still gets the whole plain stream and nothing is kept."""
    real_write = os.write
    failed = []

    def full_for_the_copy(handle, data):
        if threading.current_thread().name == "gzip-copy":
            failed.append(len(data))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(handle, data)

    monkeypatch.setattr(download_files.os, "write", full_for_the_copy)
    with caplog.at_level(logging.WARNING, logger="atlas.core.download_files"):
        streamed = body(client.get(url))
    monkeypatch.undo()
    assert failed  # the copy's thread did write, and failed
    assert "No space left" in caplog.text
    assert stored(export_files_dir) == []
    assert [p.name for p in export_files_dir.iterdir() if p.name.startswith(".writing")] == []
    # The stream itself was whole: the next request, which stores, sends the same bytes.
    assert body(client.get(url)) == streamed
    assert len(stored(export_files_dir)) == 2


@pytest.mark.django_db
def test_a_copy_thread_that_cannot_start_releases_the_lock_and_leaves_no_file(
    client, services, export_files_dir, monkeypatch
):
    def no_thread(sink):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(download_files, "GzipThread", no_thread)
    with pytest.raises(RuntimeError):
        body(client.get(GEOJSON))
    assert [p.name for p in export_files_dir.iterdir()] == [".services-geojson.lock"]
    lock = os.open(export_files_dir / ".services-geojson.lock", os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if still held
    finally:
        os.close(lock)


@pytest.mark.django_db(transaction=True)
def test_a_file_holds_the_data_of_the_version_it_is_named_after(client, export_files_dir):
    """A writer's open transaction while the export runs: the file holds the old data under
    the old version; after the commit the next export is new (and the old file is gone)."""
    service = ServiceFactory(name="Alt", locations=[LocationFactory()])
    writer = another_session()
    try:
        with writer.cursor() as cursor:
            cursor.execute("UPDATE providers_service SET name = 'Neu' WHERE id = %s", [service.pk])
        during = body(client.get(GEOJSON))
        assert b'"Alt"' in during and b'"Neu"' not in during
        again = client.get(GEOJSON)
        assert isinstance(again, FileResponse) and body(again) == during
        old = stored(export_files_dir)
        writer.commit()
        after = client.get(GEOJSON)
        assert not isinstance(after, FileResponse)
        assert b'"Neu"' in body(after)
        assert not set(stored(export_files_dir)) & set(old)
        assert isinstance(client.get(GEOJSON), FileResponse)
    finally:
        writer.close()


@pytest.mark.django_db
@pytest.mark.parametrize("source", [source for _, source in export_files.SOURCES])
def test_the_key_changes_with_the_date(services, monkeypatch, source):
    """What is published and stale depends on the day: the statement's parameters are part
    of the key, of both files."""
    import datetime

    from django.utils import timezone

    today, _ = source(Service.objects.published())
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: tomorrow)
    assert source(Service.objects.published())[0] != today


@pytest.mark.django_db
def test_store_exports_writes_the_files_before_any_request(client, services, export_files_dir):
    out = io.StringIO()
    call_command("store_exports", stdout=out)
    assert out.getvalue().count(": stored") == 2
    assert len(stored(export_files_dir)) == 4
    for url in (GEOJSON, CSV):
        assert isinstance(client.get(url), FileResponse)
    out = io.StringIO()
    call_command("store_exports", stdout=out)
    assert out.getvalue().count("already stored") == 2


@pytest.mark.django_db
def test_store_exports_leaves_a_download_that_another_process_writes(services, export_files_dir):
    export_files_dir.mkdir()
    lock = os.open(export_files_dir / ".services-csv.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        out = io.StringIO()
        call_command("store_exports", stdout=out)
    finally:
        os.close(lock)
    assert "angebote.csv: another process is writing it" in out.getvalue()
    assert "angebote.geojson: stored" in out.getvalue()


@pytest.mark.django_db
def test_store_exports_fails_loudly_on_an_unusable_directory(services, settings, tmp_path):
    (tmp_path / "a-file").write_text("")
    settings.ATLAS_EXPORT_FILES_DIR = tmp_path / "a-file" / "exports"
    with pytest.raises(CommandError):
        call_command("store_exports", stdout=io.StringIO())
