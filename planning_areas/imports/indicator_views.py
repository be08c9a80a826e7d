"""Admin page: import indicator values from an uploaded table, as manage.py import_indicators."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from atlas.core import uploads
from atlas.core.upload_flow import preview_then_commit, render_flow

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
    flow = preview_then_commit(
        request,
        IndicatorImportForm,
        lambda entry, commit: _run(entry, commit=commit),
        (IndicatorImportError,),
        error_text=lambda exc: " ".join(exc.errors),
        files=lambda form: {
            "file": form.cleaned_data["file"],
            "mapping": form.cleaned_data["mapping"],
        },
    )
    return render_flow(
        model_admin,
        request,
        flow,
        "admin/planning_areas/import_indicators.html",
        _("Import indicator values"),
    )
