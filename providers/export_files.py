"""The complete service exports (GeoJSON and CSV of every published service) as stored
files, one pair (plain and gzip) per data version, so that they are sent by ``sendfile``
instead of being read and serialised again (``atlas.core.download_files``). Filtered
exports and the caseworkers' GeoJSON (internal contacts stay off the disk) stream as before.

Why a stored file is exactly the export of the version it is named after:

- The rows and the version are read by one statement: the export's query selects
  ``CurrentDataVersion`` beside each row, so both come from one snapshot. The version is a
  row that writers update in their own transaction (``providers.feature_store``): a
  snapshot that sees a writer's changes sees its version, and one that does not see them
  does not. The file is named after that version only when the stream is complete.
- Everything else the bytes depend on is in the key too: the statement's SQL and
  parameters (today's date, which decides what is published and what is stale; the
  columns; the filters, here none), and the source of the modules that turn rows into
  bytes, so that a deploy with different output code never serves the old files.
- A request looks for the file of the version it reads (``data_version``); any change
  committed since that file was written gave the data another version, so the file it
  finds is what the export would stream now.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.db.models import QuerySet

from atlas.core import compression, download_files, spreadsheets
from atlas.core.download_files import StoredDownload

from . import exports
from . import features as service_features
from .feature_store import CurrentDataVersion, data_version

GEOJSON = StoredDownload(
    name="services-geojson",
    suffix="geojson",
    content_type="application/geo+json",
    filename="angebote.geojson",
)
CSV = StoredDownload(
    name="services-csv",
    suffix="csv",
    content_type="text/csv; charset=utf-8",
    filename="angebote.csv",
)


@functools.cache
def _output_code() -> bytes:
    """The source of the modules that turn the rows into the files' bytes."""
    modules = (exports, spreadsheets, compression, download_files)
    return (
        b"".join(Path(module.__file__).read_bytes() for module in modules)
        + Path(__file__).read_bytes()
    )


def _digest(statement: tuple[str, tuple]) -> str:
    sql, params = statement
    text = repr((sql, params)).encode() + _output_code()
    return hashlib.sha256(text).hexdigest()[:20]


class _Versioned:
    """Rows of ``(…, version)``: yields the rest of each row and keeps the version."""

    def __init__(self, rows: Iterable[tuple]):
        self.rows = rows
        self.version: int | None = None

    def __iter__(self) -> Iterator[tuple]:
        for *values, version in self.rows:
            self.version = version
            yield values

    def key(self, digest: str) -> str | None:
        return None if self.version is None else f"{self.version}-{digest}"


def _geojson(services: QuerySet) -> tuple[str, Callable]:
    rows = service_features.export_rows(services).values_list("text", CurrentDataVersion())
    digest = _digest(rows.query.sql_with_params())

    def stream():
        versioned = _Versioned(rows.iterator(chunk_size=5000))
        texts = (text for (text,) in versioned)
        return exports.feature_collection_chunks(texts), lambda: versioned.key(digest)

    return digest, stream


def _csv(services: QuerySet) -> tuple[str, Callable]:
    rows = exports.service_rows(services).annotate(_data_version=CurrentDataVersion())
    lines = spreadsheets.CsvLines(rows, passed=["_data_version"])
    digest = _digest(lines.sql_with_params())

    def stream():
        versioned = _Versioned(lines.iterator())
        texts = (line for (line,) in versioned)
        return exports.service_table_lines(texts), lambda: versioned.key(digest)

    return digest, stream


SOURCES = ((GEOJSON, _geojson), (CSV, _csv))


def geojson_response(request, services: QuerySet):
    """Every service of ``services`` (the unfiltered published ones) as GeoJSON, stored."""
    digest, stream = _geojson(services)
    return download_files.response(request, GEOJSON, f"{data_version()}-{digest}", stream)


def csv_response(request, services: QuerySet):
    """Every service of ``services`` (the unfiltered published ones) as CSV, stored."""
    digest, stream = _csv(services)
    return download_files.response(request, CSV, f"{data_version()}-{digest}", stream)


def store_all(services: QuerySet) -> dict[str, str]:
    """Write both exports' files for the current data version where they are missing, so
    that no request waits for them (``manage.py store_exports``). Answers per download
    what ``download_files.store`` did."""
    results = {}
    for download, source in SOURCES:
        digest, stream = source(services)
        key = f"{data_version()}-{digest}"
        results[download.filename] = download_files.store(download, key, stream)
    return results
