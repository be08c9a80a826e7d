"""CSV and Excel downloads of the analysis table, through the project's formula sanitiser."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from atlas.core.spreadsheets import FORMULA_PREFIXES

from .page import Analysis


def _cell(value):
    """Numbers stay numbers; text that a spreadsheet would run as a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else ""
    if isinstance(value, int | float):
        return value
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def _table(analysis: Analysis) -> list[list]:
    header = ["code", "name", *(str(c.label) for c in analysis.columns)]
    rows = [
        [_cell(r["code"]), _cell(r["name"]), *(_cell(r.get(c.key)) for c in analysis.columns)]
        for r in analysis.rows
    ]
    return [header, *rows]


def as_csv(analysis: Analysis) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerows(_table(analysis))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")  # BOM: Excel reads UTF-8


def as_xlsx(analysis: Analysis) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Analyse")
    for row in _table(analysis):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
