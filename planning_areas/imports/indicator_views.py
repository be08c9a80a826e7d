"""Admin page: import indicator values from an uploaded table, as manage.py import_indicators."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from atlas.core import uploads

from ..models import Layer
from .indicators import IndicatorImportError, import_indicators


class IndicatorImportForm(forms.Form):
    file = forms.FileField(
        validators=[uploads.validate_upload_size],
        label=_("file"),
        help_text=_("CSV (UTF-8) or Excel (.xlsx): one row per area, one column per indicator."),
    )
    mapping = forms.FileField(
        validators=[uploads.validate_upload_size],
        label=_("mapping (TOML)"),
        required=False,
        help_text=_("Describes the indicators; without it, columns named like indicators count."),
    )
    layer = forms.ModelChoiceField(Layer.objects.all(), label=_("layer"), to_field_name="slug")
    code_field = forms.CharField(label=_("column with the area code"), max_length=300)
    period = forms.DateField(
        label=_("period"), required=False, help_text=_("Overrides the mapping's period.")
    )

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "layer": data["layer"].slug,
            "code_field": data["code_field"],
            "period": data["period"].isoformat() if data["period"] else None,
        }


def _run(entry: dict, *, commit: bool):
    options = entry["options"]
    return import_indicators(
        entry["paths"]["file"],
        layer=options["layer"],
        code_field=options["code_field"],
        mapping=entry["paths"].get("mapping"),
        period=datetime.date.fromisoformat(options["period"]) if options["period"] else None,
        commit=commit,
    )


def indicator_import_view(model_admin, request):
    """Upload → preview (dry run with every error) → import, all or nothing."""
    if not request.user.has_perm("planning_areas.import_areas"):
        raise PermissionDenied
    form = IndicatorImportForm()
    report = error = token = None
    if request.method == "POST" and request.POST.get("token"):
        entry = uploads.load(request, request.POST["token"])
        if entry is None:
            error = _("The uploaded file is no longer there; upload it again.")
        else:
            try:
                report = _run(entry, commit=True)
            except IndicatorImportError as exc:
                error = " ".join(exc.errors)
            uploads.discard(request, request.POST["token"])
    elif request.method == "POST":
        form = IndicatorImportForm(request.POST, request.FILES)
        if form.is_valid():
            files = {"file": form.cleaned_data["file"], "mapping": form.cleaned_data["mapping"]}
            token = uploads.store(request, files, form.options())
            try:
                report = _run(uploads.load(request, token), commit=False)
            except IndicatorImportError as exc:
                error = " ".join(exc.errors)
                uploads.discard(request, token)
                token = None
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": _("Import indicator values"),
        "form": form,
        "report": report,
        "error": error,
        "token": token,
    }
    invalid_form = request.method == "POST" and form.is_bound and not form.is_valid()
    status = 400 if error or invalid_form else 200
    return TemplateResponse(
        request, "admin/planning_areas/import_indicators.html", context, status=status
    )
