"""The analysis page (/analyse/): a choropleth, its legend and the same figures as a table."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import number_format
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
        for row in analysis.rows:
            row["cells"] = [_cell(row.get(c.key), c.number) for c in analysis.columns]
        layer = form.cleaned_data["layer"]
        query = request.GET.copy()
        query.pop("format", None)
        context.update(
            {
                "layer": layer,
                # One reverse for all rows; codes are URL-safe (area_code converter).
                "area_base": reverse("atlas:area_detail", args=[layer.slug, "X"])[:-2],
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


def _cell(value, number: bool) -> dict:
    """A table cell's text, formatted here once: 542 rows × 9 cells of template logic
    cost most of the page's time."""
    if value is None:
        text = "–"
    elif value is True:
        text = YES
    elif value is False:
        text = NO
    elif number:
        text = number_format(value, 1)
    else:
        text = str(value)
    return {"text": text, "number": number}


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
