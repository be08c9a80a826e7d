"""The analysis page (/analyse/): a choropleth, its legend and the same figures as a table."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from atlas.core.maps import tile_config

from . import export
from .page import AnalysisForm, build
from .population import PopulationError

YES, NO = _("yes"), _("no")
DOWNLOADS = {
    "csv": ("text/csv; charset=utf-8", export.as_csv),
    "xlsx": (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        export.as_xlsx,
    ),
}


def analysis_page(request: HttpRequest) -> HttpResponse:
    form = AnalysisForm(request.GET)
    analysis, error = None, None
    if form.is_valid():
        try:
            analysis = build(form)
        except PopulationError as exc:
            error = str(exc)
    status = 200 if analysis else 400
    fmt = request.GET.get("format")
    if analysis and fmt in DOWNLOADS:
        content_type, write = DOWNLOADS[fmt]
        response = HttpResponse(write(analysis), content_type=content_type)
        name = slugify(f"analyse-{form.cleaned_data['layer'].slug}-{analysis.title}")[:80]
        response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
        return response
    context = {"form": form, "analysis": analysis, "error": error}
    if analysis:
        layer = form.cleaned_data["layer"]
        query = request.GET.copy()
        query.pop("format", None)
        context.update(
            {
                "layer": layer,
                "table_body": _table_body(analysis, layer),
                "headers": _headers(analysis, query),
                "csv_url": _with(query, format="csv"),
                "xlsx_url": _with(query, format="xlsx"),
                "map_config": {
                    "tiles": tile_config(),
                    "outlines": reverse("atlas:area_outlines", args=[layer.slug]),
                    "classes": {r["code"]: r["klass"] for r in analysis.rows},
                    "values": {r["code"]: r["value"] for r in analysis.rows},
                    "colours": [c.colour for c in analysis.classes],
                    "unit": str(analysis.unit),
                },
            }
        )
    return render(request, "monitoring/analysis.html", context, status=status)


def _table_body(analysis, layer) -> str:
    """The table's rows as HTML: 542 rows × 9 cells through the template language (or
    format_html per cell) took 0.5–1 s, most of the page's server time. Every text is
    escaped here; only these constant tags are not."""
    # One reverse for all rows; codes are URL-safe (area_code converter), quoted anyway.
    area_base = escape(reverse("atlas:area_detail", args=[layer.slug, "X"])[:-2])
    columns = [(c.key, c.number) for c in analysis.columns]
    rows = []
    for row in analysis.rows:
        code = escape(row["code"])
        cells = "".join(
            f'<td class="number">{escape(_cell(row.get(key), True))}</td>'
            if number
            else f"<td>{escape(_cell(row.get(key), False))}</td>"
            for key, number in columns
        )
        rows.append(
            f'<tr><th scope="row"><a href="{area_base}{escape(quote(row["code"], safe=""))}/">'
            f'{escape(row["name"])}</a> <span class="muted">{code}</span></th>{cells}</tr>'
        )
    return mark_safe("\n".join(rows))  # noqa: S308 - every text above went through escape()


def _cell(value, number: bool) -> str:
    if value is None:
        return "–"
    if value is True:
        return YES
    if value is False:
        return NO
    if number:
        return number_format(value, 1)
    return str(value)


def _with(query, **changes) -> str:
    query = query.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


def _headers(analysis, query) -> list[dict]:
    """Each column's label, sort link and aria-sort (the sort works without JavaScript)."""
    current, order = query.get("sort"), query.get("order", "asc")
    headers = []
    for key, label, number in [("name", _("Area"), False)] + [
        (c.key, c.label, c.number) for c in analysis.columns
    ]:
        active = key == current
        next_order = "desc" if active and order == "asc" else "asc"
        headers.append(
            {
                "key": key,
                "label": label,
                "number": number,
                "href": _with(query, sort=key, order=next_order),
                "aria_sort": ("descending" if order == "desc" else "ascending") if active else None,
            }
        )
    return headers
