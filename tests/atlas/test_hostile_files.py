"""Hostile files at every import entry point: a clear error, quickly, nothing written or left."""

import io
import os
import tempfile
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from atlas.core import uploads
from atlas.core.files import FileRefused, Limits, check_gzip, iter_csv, read_sheet, unpacked
from planning_areas.models import Address, Area, Layer
from providers.models import Organization, Service
from tests import hostile_files as hostile

pytestmark = pytest.mark.django_db

SMALL = {
    "ATLAS_IMPORT_MAX_UNPACKED_BYTES": 2_000_000,
    "ATLAS_IMPORT_MAX_ROWS": 1000,
    "ATLAS_IMPORT_MAX_CELLS": 5000,
}


@pytest.fixture(autouse=True)
def small_limits(settings, tmp_path):
    for name, value in SMALL.items():
        setattr(settings, name, value)
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mapping(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text(hostile.CSV_MAPPING, encoding="utf-8")
    return path


def _import_services(path, mapping):
    start = time.monotonic()
    with pytest.raises(CommandError) as error:
        call_command("import_services", str(path), "--mapping", str(mapping), "--commit")
    assert time.monotonic() - start < 2
    assert not Service.objects.exists() and not Organization.objects.exists()
    return str(error.value)


def _temp_folders() -> set[str]:
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("atlas-")}


# --- zip archives ---------------------------------------------------------------------------


def test_zip_bomb_is_refused_by_its_declared_size_before_unpacking(tmp_path):
    bomb = hostile.zip_bomb(tmp_path, unpacked_bytes=20_000_000)
    before = _temp_folders()
    with pytest.raises(FileRefused, match="unpacks to 20.0 MB; the atlas unpacks at most 2.0 MB"):
        with unpacked(bomb, lambda members: (members, members[0])):
            pass
    assert _temp_folders() == before


def test_zip_that_lies_about_its_sizes_stops_unpacking(tmp_path):
    lying = hostile.lying_zip(tmp_path, real_bytes=5_000_000, declared=1000)
    before = _temp_folders()
    with pytest.raises(FileRefused, match="cannot be unpacked|unpacks to more than"):
        with unpacked(lying, lambda members: (members, members[0])):
            pass
    assert _temp_folders() == before


def test_zip_bomb_in_the_area_import_command_is_refused(tmp_path):
    bomb = hostile.zip_bomb(tmp_path, unpacked_bytes=20_000_000)
    start = time.monotonic()
    with pytest.raises(CommandError, match="unpacks to 20.0 MB"):
        call_command(
            "import_areas", str(bomb), "--layer", "bezirke", "--code-field", "c",
            "--name-field", "n", "--commit",
        )  # fmt: skip
    assert time.monotonic() - start < 2
    assert not Layer.objects.exists() and not Area.objects.exists()


def test_zip_bomb_on_the_area_import_page_is_refused_and_removed(client, editor, tmp_path):
    bomb = hostile.zip_bomb(tmp_path, unpacked_bytes=20_000_000)
    client.force_login(editor)
    response = client.post(
        reverse("admin:planning_areas_layer_import"),
        {
            "file": SimpleUploadedFile("bomb.zip", bomb.read_bytes()),
            "layer": "bezirke",
            "code_field": "c",
            "name_field": "n",
        },
    )
    assert response.status_code == 400
    assert "unpacks to 20.0 MB" in response.content.decode()
    assert not Area.objects.exists()
    assert not any(uploads.root().iterdir())


def test_gzip_bomb_in_the_address_import_is_refused(tmp_path):
    bomb = hostile.gzip_bomb_csv(tmp_path, unpacked_bytes=20_000_000)
    start = time.monotonic()
    # By the size its trailer declares, before anything is unpacked.
    with pytest.raises(CommandError, match="unpacks to 19.9 MB; the atlas unpacks at most 2.0 MB"):
        call_command("import_addresses", str(bomb), "--commit", stdout=io.StringIO())
    assert time.monotonic() - start < 2
    assert not Address.objects.exists()


def test_gzip_that_lies_about_its_size_stops_unpacking_at_the_limit(tmp_path):
    bomb = hostile.gzip_bomb_csv(tmp_path, unpacked_bytes=20_000_000)
    data = bytearray(bomb.read_bytes())
    data[-4:] = (1000).to_bytes(4, "little")  # the trailer now declares 1,000 bytes
    bomb.write_bytes(bytes(data))
    with pytest.raises(FileRefused, match="unpacks to more than 2.0 MB"):
        check_gzip(bomb)


def test_address_file_beyond_the_row_limit_is_refused(tmp_path, settings):
    settings.ATLAS_IMPORT_MAX_ADDRESS_ROWS = 500
    path = hostile.long_address_csv(tmp_path, rows=1000)
    with pytest.raises(CommandError, match="more than 500 rows"):
        call_command("import_addresses", str(path), "--commit", stdout=io.StringIO())
    assert not Address.objects.exists()


def test_address_file_beyond_the_row_limit_is_refused_before_pandas_reads_it(
    tmp_path, settings, monkeypatch
):
    settings.ATLAS_IMPORT_MAX_ADDRESS_ROWS = 500
    path = hostile.long_address_csv(tmp_path, rows=1000)

    def read_csv(*args, **kwargs):
        raise AssertionError("pandas read the file")

    monkeypatch.setattr("planning_areas.imports.reading.pd.read_csv", read_csv)
    with pytest.raises(CommandError, match="more than 500 rows"):
        call_command("import_addresses", str(path), "--commit", stdout=io.StringIO())


# --- Excel ----------------------------------------------------------------------------------


def test_sheet_with_a_cell_at_xfd1048576_is_refused_by_its_dimension(tmp_path):
    path = hostile.huge_dimension_xlsx(tmp_path)
    start = time.monotonic()
    with pytest.raises(FileRefused, match="declares 1048576 rows and 16384 columns"):
        read_sheet(path)
    assert time.monotonic() - start < 2


def test_sheet_that_hides_a_far_cell_behind_a_small_dimension_is_refused(tmp_path):
    path = hostile.lying_dimension_xlsx(tmp_path)
    with pytest.raises(FileRefused, match="16384 columns; the atlas reads at most 500"):
        read_sheet(path)


def test_huge_sheet_in_import_services_is_a_clear_error(tmp_path, mapping):
    message = _import_services(hostile.huge_dimension_xlsx(tmp_path), mapping)
    assert "declares 1048576 rows" in message


def test_csv_named_xlsx_is_a_clear_error_not_a_traceback(tmp_path, mapping):
    message = _import_services(hostile.fake_xlsx(tmp_path), mapping)
    assert "is not an Excel workbook (.xlsx) (it is not a zip archive" in message


def test_csv_named_xlsx_on_the_import_page_is_a_400_and_removed(client, editor, tmp_path):
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("angebote.xlsx", hostile.fake_xlsx(tmp_path).read_bytes()),
            "mapping_file": SimpleUploadedFile("m.toml", hostile.CSV_MAPPING.encode()),
        },
    )
    assert response.status_code == 400
    assert "it is not a zip archive" in response.content.decode()
    assert not Service.objects.exists()
    assert not any(uploads.root().iterdir())


# --- CSV ------------------------------------------------------------------------------------


def test_csv_of_too_many_rows_stops_at_the_row_limit(tmp_path, mapping):
    message = _import_services(hostile.long_csv(tmp_path, size_bytes=200_000), mapping)
    assert "more than 1000 rows" in message


def test_csv_beyond_the_row_limit_is_refused_before_its_first_record(tmp_path):
    # 200 kB of short rows: about 5,600 lines against a limit of 1,000.
    records = iter_csv(hostile.long_csv(tmp_path, size_bytes=200_000))
    with pytest.raises(FileRefused, match="more than 1000 rows"):
        next(records)  # before: the header came back, the refusal only at record 1,001


def _quoted_csv(path: Path, rows: int, breaks_per_cell: int) -> Path:
    cell = '"' + "Zeile\n" * breaks_per_cell + 'Ende"'
    text = "Nr;Name;Hinweis\n" + "".join(f"{n};Angebot {n};{cell}\n" for n in range(rows))
    path.write_text(text, encoding="utf-8")
    return path


def test_line_breaks_inside_quoted_cells_do_not_count_as_rows(tmp_path):
    # 900 records (within the limit of 1,000) on 3,601 lines.
    path = _quoted_csv(tmp_path / "quoted.csv", rows=900, breaks_per_cell=3)
    records = list(iter_csv(path))
    assert len(records) == 901
    assert records[-1][1][2] == "Zeile\nZeile\nZeile\nEnde"


def test_quoted_csv_beyond_the_row_limit_is_refused_before_its_first_record(tmp_path):
    records = iter_csv(_quoted_csv(tmp_path / "quoted.csv", rows=1200, breaks_per_cell=2))
    with pytest.raises(FileRefused, match="more than 1000 rows"):
        next(records)


def test_csv_of_too_many_columns_is_refused_at_its_header(tmp_path):
    with pytest.raises(FileRefused, match="line longer than|columns; the atlas reads at most"):
        list(iter_csv(hostile.wide_csv(tmp_path, size_bytes=2_000_000)))


def test_csv_header_of_600_columns_is_refused_by_the_column_limit(tmp_path):
    path = tmp_path / "cols.csv"
    path.write_text(";".join(f"c{i}" for i in range(600)) + "\n1\n", encoding="utf-8")
    with pytest.raises(FileRefused, match="600 columns; the atlas reads at most 500"):
        list(iter_csv(path, delimiter=";"))


def test_csv_line_of_millions_of_separators_is_refused(tmp_path, mapping):
    message = _import_services(hostile.separator_line_csv(tmp_path, 3_000_000), mapping)
    assert "line longer than 400000 characters" in message


def test_csv_with_too_many_filled_cells_is_refused(tmp_path, settings):
    settings.ATLAS_IMPORT_MAX_CELLS = 50
    path = tmp_path / "cells.csv"
    path.write_text("a;b;c\n" + "1;2;3\n" * 30, encoding="utf-8")
    with pytest.raises(FileRefused, match="more than 50 filled cells"):
        list(iter_csv(path))


def test_csv_with_a_nul_byte_is_refused_with_its_row(tmp_path, mapping):
    message = _import_services(hostile.nul_csv(tmp_path), mapping)
    assert "Row 2 of nul.csv contains a NUL byte" in message


def test_utf16_csv_is_refused_as_not_utf8_text(tmp_path, mapping):
    message = _import_services(hostile.utf16_csv(tmp_path), mapping)
    assert "NUL byte" in message or "not UTF-8" in message


def test_cell_longer_than_the_limit_is_refused(tmp_path, settings):
    settings.ATLAS_IMPORT_MAX_CELL_CHARS = 100
    path = tmp_path / "long-cell.csv"
    path.write_text("a;b\n1;" + "x" * 101 + "\n", encoding="utf-8")
    with pytest.raises(FileRefused, match="more than 100 characters"):
        list(iter_csv(path))


def test_file_above_the_size_limit_is_refused_before_reading(tmp_path, settings, mapping):
    settings.ATLAS_IMPORT_MAX_FILE_BYTES = 1000
    path = tmp_path / "big.csv"
    path.write_text("Nr;Name\n" + "1;x\n" * 500, encoding="utf-8")
    message = _import_services(path, mapping)
    assert "the atlas reads files up to 0.0 MB" in message


def test_csv_stream_keeps_a_bom_out_of_the_first_column(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffNr;Name\n1;Kita\n".encode())
    assert list(iter_csv(path))[0] == (1, ["Nr", "Name"])
    path.write_bytes("\ufeffNr;Name\n1;Kita\n".encode("cp1252", errors="ignore"))
    assert list(iter_csv(path, encoding="cp1252"))[0] == (1, ["Nr", "Name"])


def test_markup_in_cells_is_shown_escaped_on_the_import_page(client, editor, tmp_path):
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("m.csv", hostile.markup_csv(tmp_path).read_bytes()),
            "mapping_file": SimpleUploadedFile("m.toml", hostile.MARKUP_MAPPING.encode()),
        },
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "&lt;script&gt;alert" in content
    assert '<script>alert("x")' not in content and "<img src=x" not in content
    assert not Service.objects.exists()


# --- uploads --------------------------------------------------------------------------------


def test_upload_above_the_size_limit_is_a_form_error(client, editor, settings):
    settings.ATLAS_IMPORT_MAX_FILE_BYTES = 100
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("a.csv", b"Nr;Name\n" + b"1;x\n" * 100),
            "mapping_file": SimpleUploadedFile("m.toml", hostile.CSV_MAPPING.encode()),
        },
    )
    assert "the atlas takes files up to 0.0 MB" in response.content.decode()
    assert not uploads.root().exists() or not any(uploads.root().iterdir())


def _stale_upload(age_seconds: float) -> Path:
    folder = uploads.root() / "old-token"
    folder.mkdir(parents=True)
    (folder / "angebote.csv").write_text("Nr\n1\n", encoding="utf-8")
    past = time.time() - age_seconds
    os.utime(folder, (past, past))
    return folder


def test_next_upload_removes_previews_older_than_the_configured_age(client, editor, settings):
    settings.ATLAS_UPLOAD_MAX_AGE_SECONDS = 60
    old = _stale_upload(120)
    client.force_login(editor)
    client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile("a.csv", b"Nr;Name\n1;x\n"),
            "mapping_file": SimpleUploadedFile("m.toml", hostile.CSV_MAPPING.encode()),
        },
    )
    assert not old.exists()


def test_purge_uploads_is_a_dry_run_without_commit(settings):
    settings.ATLAS_UPLOAD_MAX_AGE_SECONDS = 60
    old = _stale_upload(120)
    out = io.StringIO()
    call_command("purge_uploads", stdout=out)
    assert old.exists() and "dry run" in out.getvalue()
    call_command("purge_uploads", "--commit", stdout=out)
    assert not old.exists()


def test_purge_uploads_keeps_a_preview_younger_than_the_configured_age(settings):
    settings.ATLAS_UPLOAD_MAX_AGE_SECONDS = 600
    recent = _stale_upload(10)
    call_command("purge_uploads", "--commit", stdout=io.StringIO())
    assert recent.exists()


def test_expired_preview_cannot_be_committed(client, editor, settings):
    client.force_login(editor)
    response = client.post(
        reverse("admin:providers_service_import"),
        {
            "file": SimpleUploadedFile(
                "a.csv", b"Nr;Name;Traeger;Breite;Laenge\n1;x;T;52.5;13.4\n"
            ),
            "mapping_file": SimpleUploadedFile("m.toml", hostile.CSV_MAPPING.encode()),
        },
    )
    token = response.context["token"]
    assert token
    settings.ATLAS_UPLOAD_MAX_AGE_SECONDS = -1
    response = client.post(reverse("admin:providers_service_import"), {"token": token})
    assert "no longer there" in response.content.decode()
    assert not Service.objects.exists()


def test_limits_for_addresses_allow_more_rows_than_tables(settings):
    settings.ATLAS_IMPORT_MAX_ADDRESS_ROWS = 2_000_000
    assert Limits.for_addresses().rows == 2_000_000 > Limits.from_settings().rows
