"""Admin page: import planning areas from an uploaded file, with the command's options."""

from __future__ import annotations

import datetime

from django import forms
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from atlas.core import uploads
from atlas.core.upload_flow import preview_then_commit, render_flow

from ..models import Layer
from .areas import AreaImportOptions, import_area_file
from .reading import ImportFileError

OPTION_FIELDS = [
    "layer",
    "layer_name",
    "level",
    "code_field",
    "name_field",
    "parent_layer",
    "parent_code_field",
    "parent_code_prefix",
    "valid_from",
    "valid_until",
    "srid",
    "encoding",
    "source_layer",
]


class AreaImportForm(forms.Form):
    file = forms.FileField(
        validators=[uploads.validate_upload_size],
        label=_("file"),
        help_text=_("Zipped Shapefile (.zip with .shp, .dbf, .shx, .prj), GeoPackage or GeoJSON."),
    )
    layer = forms.SlugField(label=_("layer (slug)"), help_text=_("Created if it does not exist."))
    layer_name = forms.CharField(label=_("name of a new layer"), required=False)
    level = forms.IntegerField(label=_("level"), required=False, min_value=1)
    code_field = forms.CharField(label=_("attribute with the code"))
    name_field = forms.CharField(label=_("attribute with the name"))
    parent_layer = forms.ModelChoiceField(
        Layer.objects.all(), label=_("parent layer"), required=False, to_field_name="slug"
    )
    parent_code_field = forms.CharField(label=_("attribute with the parent's code"), required=False)
    parent_code_prefix = forms.IntegerField(
        label=_("or: parent code = first N characters"), required=False, min_value=1
    )
    valid_from = forms.DateField(label=_("valid from"), required=False)
    valid_until = forms.DateField(label=_("valid until"), required=False)
    srid = forms.IntegerField(
        label=_("EPSG code"), required=False, help_text=_("Only for files without a .prj.")
    )
    encoding = forms.CharField(
        label=_("encoding"), required=False, help_text=_("Only for Shapefiles without a .cpg.")
    )
    source_layer = forms.CharField(label=_("layer inside a GeoPackage"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("parent_code_field") and data.get("parent_code_prefix"):
            raise forms.ValidationError(_("Give either the parent's code attribute or a prefix."))
        return data

    def options(self) -> dict:
        data = {name: self.cleaned_data.get(name) for name in OPTION_FIELDS}
        data["parent_layer"] = data["parent_layer"].slug if data["parent_layer"] else None
        for key in ("valid_from", "valid_until"):
            data[key] = data[key].isoformat() if data[key] else None
        return {k: (v if v != "" else None) for k, v in data.items()}


def _import_options(options: dict, *, commit: bool) -> AreaImportOptions:
    values = dict(options)
    for key in ("valid_from", "valid_until"):
        values[key] = datetime.date.fromisoformat(values[key]) if values[key] else None
    return AreaImportOptions(**values, commit=commit)


def area_import_view(model_admin, request):
    """Upload → preview (dry run: new, changed, removed, repaired) → import."""
    if not request.user.has_perm("planning_areas.import_areas"):
        raise PermissionDenied
    flow = preview_then_commit(
        request,
        AreaImportForm,
        lambda entry, commit: import_area_file(
            entry["paths"]["file"], _import_options(entry["options"], commit=commit)
        ),
        (ImportFileError,),
    )
    return render_flow(
        model_admin,
        request,
        flow,
        "admin/planning_areas/import_areas.html",
        _("Import planning areas"),
    )
