"""The caseworker lookup page: type an address or click the map."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from atlas.core.geojson import DISPLAY_PRECISION, geometry_text
from atlas.core.maps import tile_config
from atlas.core.roles import can_see_internal_contacts, can_use_lookup
from planning_areas.map_view import map_view
from planning_areas.models import Address, Area
from providers.models import Category

from .api import LookupParameters, run_lookup

FIELDS = ("address", "address_id", "lat", "lon", "category")


def _lookup_input(post) -> dict[str, str]:
    """The one way of asking the form carries: a clicked point beats a picked address,
    which beats typed text."""
    data = {name: value for name in FIELDS if (value := post.get(name, "").strip())}
    if "lat" in data or "lon" in data:
        data.pop("address", None)
        data.pop("address_id", None)
    elif "address_id" in data:
        data.pop("address", None)
    return data


def _outline(result: dict) -> str | None:
    """GeoJSON of the most specific area, simplified for drawing."""
    if not result.get("areas"):
        return None
    first = result["areas"][0]
    return (
        Area.objects.by_key(first["layer"]["slug"], first["code"])
        .annotate(outline=geometry_text("geometry", precision=DISPLAY_PRECISION))
        .values_list("outline", flat=True)
        .first()
    )


def _page_config() -> dict:
    return {
        "searchUrl": reverse("api:address-search"),
        "tiles": tile_config(),
        "bounds": map_view().leaflet_bounds,
        "strings": {
            "noMatch": str(_("No matching address found.")),
            "street": str(_("street, add the house number")),
            "point": str(_("Chosen point")),
        },
    }


def _address_placeholder() -> str:
    """An example from the index itself (any city), or a neutral hint while it is empty."""
    example = Address.objects.example()
    if example is None:
        return _("Street and house number")
    return _("e.g. %(address)s") % {"address": example.label}


def lookup_users_only(view):
    """Anonymous visitors go to the login page; logged-in users without the role get 403."""

    @login_required
    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not can_use_lookup(request.user):
            raise PermissionDenied(_("The address lookup is for caseworkers."))
        return view(request, *args, **kwargs)

    return guarded


@never_cache
@lookup_users_only
@require_http_methods(["GET", "POST"])
def lookup_page(request: HttpRequest) -> HttpResponse:
    """Address or point in, areas, responsible contacts and nearby services out.

    Searches travel by POST so the address never appears in a URL, the browser
    history or an access log; the answer is not cached.
    """
    context: dict = {
        "config": _page_config(),
        "address_placeholder": _address_placeholder(),
        "categories": Category.objects.order_by("name").only("slug", "name"),
        "can_see_internal": can_see_internal_contacts(request.user),
        "values": {},
        "errors": {},
        "result": None,
    }
    if request.method == "POST":
        data = _lookup_input(request.POST)
        context["values"] = data
        parameters = LookupParameters(data=data)
        if parameters.is_valid():
            try:
                context["result"] = run_lookup(parameters.validated_data, request.user)
            except ValidationError as exc:
                context["errors"] = exc.detail
        else:
            context["errors"] = parameters.errors
        if context["result"]:
            context["outline"] = _outline(context["result"])
    status = 400 if context["errors"] else 200
    return render(request, "lookup/lookup.html", context, status=status)
