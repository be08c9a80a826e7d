"""CSV and Excel downloads of the analysis table, through the one cell sanitiser
(``atlas.core.spreadsheets``)."""

from __future__ import annotations

import io

from openpyxl import Workbook

from atlas.core.spreadsheets import csv_lines, xlsx_row

from .page import Analysis


def _table(analysis: Analysis) -> list[list]:
    header = ["code", "name", *(str(c.label) for c in analysis.columns)]
    rows = [
        [r["code"], r["name"], *(r.get(c.key) for c in analysis.columns)] for r in analysis.rows
    ]
    return [header, *rows]


def as_csv(analysis: Analysis) -> bytes:
    return "".join(csv_lines(_table(analysis), delimiter=";")).encode("utf-8")


def as_xlsx(analysis: Analysis) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Analyse")
    for row in _table(analysis):
        sheet.append(xlsx_row(sheet, row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
