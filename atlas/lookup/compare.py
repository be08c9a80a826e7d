"""Compare two layers (Baukasten): both on the map, and for an area of one the areas of the
other with the share of its residents living there. For caseworkers, editors and admins."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from atlas.core.maps import tile_config
from planning_areas.comparison import compare_area
from planning_areas.map_view import map_view
from planning_areas.models import Area, Layer

from .views import lookup_users_only

SIMPLIFY = 0.0002  # degrees (about 15 m): outlines for drawing, not for measuring


class CompareForm(forms.Form):
    first = forms.ModelChoiceField(
        Layer.objects.order_by("level", "name"), to_field_name="slug", label=gettext_lazy("Layer")
    )
    second = forms.ModelChoiceField(
        Layer.objects.order_by("level", "name"),
        to_field_name="slug",
        label=gettext_lazy("compared with"),
    )
    area = forms.CharField(max_length=40, required=False, label=gettext_lazy("Area"))

    def clean(self):
        data = super().clean()
        first, second = data.get("first"), data.get("second")
        if first and second and first == second:
            raise forms.ValidationError(_("Choose two different layers."))
        code = data.get("area")
        if first and code:
            data["area_object"] = Area.objects.filter(layer=first, code=code).first()
            if data["area_object"] is None:
                self.add_error("area", _("This layer has no area with that code."))
        return data


def _config(form: CompareForm) -> dict:
    layers = {}
    if form.is_valid():
        for key in ("first", "second"):
            layer = form.cleaned_data[key]
            layers[key] = (
                f"{reverse('api:area-list')}?layer={layer.slug}&simplify={SIMPLIFY}&page_size=1000"
            )
    return {
        "tiles": tile_config(),
        "bounds": map_view().leaflet_bounds,
        "layers": layers,
        "selected": form.cleaned_data.get("area", "") if form.is_valid() else "",
    }


@lookup_users_only
@require_GET
def compare_page(request: HttpRequest) -> HttpResponse:
    """Server-rendered first: the choice is a GET form, the shares a table; the map enhances."""
    form = CompareForm(request.GET or None)
    comparison = None
    areas = []
    if form.is_valid():
        areas = (
            Area.objects.filter(layer=form.cleaned_data["first"])
            .order_by("code")
            .only("code", "name")
        )
        if form.cleaned_data.get("area_object") is not None:
            comparison = compare_area(form.cleaned_data["area_object"], form.cleaned_data["second"])
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "lookup/compare.html",
        {"form": form, "areas": areas, "comparison": comparison, "config": _config(form)},
        status=status,
    )
