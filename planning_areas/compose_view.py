"""Admin page: compose a layer from an uploaded mapping CSV, with a preview map."""

from __future__ import annotations

import json
from pathlib import Path

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils.translation import gettext_lazy as _

from atlas.core.maps import tile_config
from atlas.core.upload_flow import preview_then_commit, render_flow

from .composition import (
    MAX_MAPPING_BYTES,
    CompositionError,
    CompositionReport,
    compose_layer,
    export_mapping,
    read_mapping,
)
from .models import Composition, Layer

PREVIEW_SIMPLIFY = 0.0002  # degrees: outlines for the preview map only


class ComposeForm(forms.Form):
    file = forms.FileField(
        label=_("mapping (CSV)"),
        help_text=_("Columns base_code, code, name; comma or semicolon separated, UTF-8."),
    )
    base_layer = forms.ModelChoiceField(
        Layer.objects.order_by("level", "name"), label=_("base layer"), to_field_name="slug"
    )
    layer = forms.SlugField(label=_("composed layer (slug)"), max_length=80)
    layer_name = forms.CharField(label=_("name of a new layer"), max_length=120, required=False)
    is_draft = forms.BooleanField(label=_("draft"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_MAPPING_BYTES:
            raise forms.ValidationError(_("The mapping file is larger than 5 MB."))
        return upload

    def options(self) -> dict:
        data = self.cleaned_data
        return {
            "base_layer": data["base_layer"].slug,
            "layer": data["layer"],
            "layer_name": data["layer_name"] or None,
            "is_draft": data["is_draft"],
        }


def _run(path: str, options: dict, *, commit: bool) -> CompositionReport:
    base = Layer.objects.filter(slug=options["base_layer"]).first()
    if base is None:
        raise CompositionError(_("The base layer no longer exists."))
    return compose_layer(
        base,
        read_mapping(Path(path)),
        layer_slug=options["layer"],
        layer_name=options["layer_name"],
        commit=commit,
        is_draft=options["is_draft"],
    )


def _preview(report: CompositionReport | None) -> dict:
    """GeoJSON of the composed areas (simplified, WGS84) and the map settings."""
    features = []
    if report is not None:
        for area in report.areas:
            if area.geometry is None:
                continue
            shape = area.geometry.transform(4326, clone=True).simplify(
                PREVIEW_SIMPLIFY, preserve_topology=True
            )
            features.append(
                {
                    "type": "Feature",
                    "geometry": json.loads(shape.geojson),
                    "properties": {
                        "code": area.code,
                        "name": area.name,
                        "units": len(area.base_codes),
                        "population": area.population,
                        "parts": area.parts,
                    },
                }
            )
    return {
        "tiles": tile_config(),
        "areas": {"type": "FeatureCollection", "features": features},
    }


def compose_view(model_admin, request):
    """Upload → preview (the dry run's report and a map of the result) → compose."""
    if not request.user.has_perm("planning_areas.import_areas"):
        raise PermissionDenied
    flow = preview_then_commit(
        request,
        ComposeForm,
        lambda entry, commit: _run(entry["paths"]["file"], entry["options"], commit=commit),
        (CompositionError,),
        refusal=lambda report: " ".join(report.errors) or None,
    )
    return render_flow(
        model_admin,
        request,
        flow,
        "admin/planning_areas/compose_layer.html",
        _("Compose a layer"),
        preview=_preview(flow.report if flow.report and not flow.error else None),
    )


def mapping_csv_view(model_admin, request, slug: str):
    """The mapping of a composed layer as CSV, to edit and upload again."""
    if not request.user.has_perm("planning_areas.import_areas"):
        raise PermissionDenied
    composition = Composition.objects.filter(layer__slug=slug).first()
    if composition is None:
        raise Http404(_("Not a composed layer."))
    response = HttpResponse(export_mapping(composition), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{composition.layer.slug}.csv"'
    return response
