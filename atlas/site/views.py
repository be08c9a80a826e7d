"""The public site: map, list, service and area pages. Views parse input and render; the
queries live in `atlas/site/queries.py`, `atlas/site/filtering.py` and with the models."""

from __future__ import annotations

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.clickjacking import xframe_options_exempt

from atlas.core.api_tools import feature_collection
from atlas.core.maps import tile_config
from atlas.monitoring.profile import area_profile
from planning_areas.map_view import map_view
from planning_areas.models import Area, Layer, is_area_code
from providers.filters import max_radius
from providers.models import Category, Contact, Language, Location, Service, TargetGroup
from providers.opening_hours import is_open_now, week_schedule

from . import queries
from .credits import data_attribution
from .filtering import api_parameters, filter_services, selected_values
from .jsonld import service_jsonld
from .map_answers import (
    POINTS_CACHE_SECONDS,
    Build,
    InvalidFilters,
    MapAnswers,
    count_build,
    tile_build,
    tile_kind,
)
from .tiles import Tile

LIST_PAGE_SIZE = 25
# Metres and how they read (the same in German and English).
RADIUS_CHOICES = [("500", "500 m"), ("1000", "1 km"), ("2000", "2 km"), ("5000", "5 km")]


def _filter_context(request: HttpRequest) -> dict:
    """What the shared filter form needs: the choices and the values currently chosen."""
    top_level = Category.objects.filter(parent__isnull=True).prefetch_related("children")
    return {
        "category_tree": top_level,
        "target_groups": TargetGroup.objects.all(),
        "selected": {
            "q": request.GET.get("q", ""),
            "category": selected_values(request.GET, "category"),
            "target_group": selected_values(request.GET, "target_group"),
            "age": request.GET.get("age", ""),
            "free": request.GET.get("free", ""),
            "wheelchair": request.GET.get("wheelchair", ""),
            "open_now": request.GET.get("open_now", ""),
            "area": request.GET.get("area", ""),
            "near": request.GET.get("near", ""),
            "radius": request.GET.get("radius", "1000"),
        },
        # Only radii the API allows (ATLAS_API_MAX_RADIUS_METRES), so each is served fast.
        "radius_choices": [c for c in RADIUS_CHOICES if int(c[0]) <= max_radius()],
        "active_area": _active_area(request.GET.get("area", "")),
    }


def _active_area(value: str) -> Area | None:
    if not value.isdigit():
        return None
    return Area.objects.select_related("layer").filter(pk=int(value)).first()


def _count_url(request: HttpRequest) -> str:
    """The count URL for the filters in this request (the map preloads it)."""
    query = api_parameters(request.GET).urlencode()
    return reverse("atlas:map_count") + (f"?{query}" if query else "")


def _map_config(request: HttpRequest, *, embed: bool) -> dict:
    """Settings, reversed URLs and interface strings for the map's JavaScript."""
    categories = Category.objects.all()
    return {
        "embed": embed,
        "tiles": tile_config(),
        "dataAttribution": data_attribution(),
        "bounds": map_view().leaflet_bounds,
        "minZoom": settings.ATLAS_MAP_MIN_ZOOM,
        "urls": {
            "count": reverse("atlas:map_count"),
            "initialCount": _count_url(request),
            # The tile URL with {z}, {x}, {y} in place of the numbers (reversed once).
            "tile": reverse("atlas:map_tile", args=[0, 0, 0]).replace(
                "/0/0/0.json", "/{z}/{x}/{y}.json"
            ),
            "popup": reverse("atlas:service_popup", args=[0]),
            "service": reverse("atlas:service_detail", args=[0]),
            "outlines": reverse("atlas:area_outlines", args=["__layer__"]),
            "list": reverse("atlas:list"),
            "map": reverse("atlas:map"),
        },
        "categories": [
            {"id": c.pk, "slug": c.slug, "name": c.name, "colour": c.colour} for c in categories
        ],
        "layers": [{"slug": layer.slug, "name": layer.name} for layer in Layer.objects.current()],
        "messages": {
            "loading": _("Loading services…"),
            "loadFailed": _("The services could not be loaded. Please try again."),
            "count": _("%(count)s services shown"),
            "countOne": _("1 service shown"),
            "countNone": _("No services match these filters."),
            "details": _("Details"),
            "popupLoading": _("Loading…"),
            "locating": _("Finding your location…"),
            "locationFailed": _("Your location could not be determined."),
            "youAreHere": _("You are here"),
            "areaServices": _("%(count)s services"),
            "areaList": _("List everything in this area"),
            "areaFilter": _("Show only this area on the map"),
            "cluster": _("%(count)s services here, zoom in"),
            "place": _("%(count)s services at this address"),
            "noCategory": _("Other"),
        },
    }


# The modules map-page.js imports (directly or not), preloaded by the page.
MAP_MODULES = [
    f"atlas/js/{name}.js"
    for name in ("markers", "safe-content", "areas", "drawer", "locate", "url-state")
]


def _map_page(request: HttpRequest, *, embed: bool) -> HttpResponse:
    context = {
        **_filter_context(request),
        "count_url": _count_url(request),
        "map_modules": MAP_MODULES,
        "map_config": _map_config(request, embed=embed),
        "embed": embed,
        "list_url": reverse("atlas:list"),
    }
    return render(request, "atlas/map.html", context)


def map_page(request: HttpRequest) -> HttpResponse:
    """The full-screen map with the filter drawer."""
    return _map_page(request, embed=False)


@xframe_options_exempt
def embed(request: HttpRequest) -> HttpResponse:
    """The map without site chrome, for partners' pages: the only view that may be framed."""
    return _map_page(request, embed=True)


def _list_page(services: QuerySet[Service], number) -> Page:
    """One page of ``services`` for the list: the page's ids first, from the ids alone
    (in name order an index-only scan), then those services, in the same order, with what
    the list shows. Paging the full rows read every row before the page from the table:
    the last page of 100,000 services took 150 ms, now 48."""
    page = Paginator(services.values_list("pk", flat=True), LIST_PAGE_SIZE).get_page(number)
    page.object_list = list(
        services.filter(pk__in=list(page.object_list))
        .select_related("organization")
        .prefetch_related(
            "categories", Prefetch("locations", queryset=Location.objects.order_by("pk"))
        )
    )
    return page


def service_list(request: HttpRequest) -> HttpResponse:
    """The accessible alternative to the map: filtered, paginated, no JavaScript needed."""
    result = filter_services(request.GET)
    status = 200 if result.is_valid else 400
    services = result.services if result.is_valid else Service.objects.none()
    page = _list_page(services, request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {
        **_filter_context(request),
        "page_obj": page,
        "errors": result.errors,
        "query_string": params.urlencode(),
        "map_url": reverse("atlas:map") + (f"?{params.urlencode()}" if params else ""),
    }
    return render(request, "atlas/service_list.html", context, status=status)


def _published_service(pk: int) -> Service:
    return get_object_or_404(
        Service.objects.published()
        .select_related("organization")
        .prefetch_related("categories", "target_groups"),
        pk=pk,
    )


def _report_url(service: Service) -> str | None:
    # The report form is another app's; link to it only where it is installed.
    try:
        return reverse("providers:report_problem", kwargs={"pk": service.pk})
    except NoReverseMatch:
        return None


def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's own page at a stable URL."""
    service = _published_service(pk)
    locations = list(
        service.locations.order_by("pk").prefetch_related(
            Prefetch(
                "areas",
                queryset=Area.objects.current().select_related("layer").order_by("layer__level"),
            )
        )
    )
    contacts = list(Contact.objects.public().filter(service=service).order_by("name"))
    organization_contacts = list(
        Contact.objects.public()
        .filter(organization=service.organization, service__isnull=True)
        .order_by("name")
    )
    neighbours = (
        Service.objects.published()
        .filter(locations__in=locations)
        .exclude(pk=service.pk)
        .distinct()
        .order_by("name")
    )
    context = {
        "service": service,
        "locations": locations,
        "contacts": contacts,
        "organization_contacts": organization_contacts,
        "neighbours": neighbours,
        "languages": [Language(code).label for code in service.languages if code in Language],
        "schedule": week_schedule(service.opening_hours),
        "open_now": is_open_now(service.opening_hours),
        "jsonld": service_jsonld(request, service, locations, contacts + organization_contacts),
        "report_url": _report_url(service),
        "detail_map": {
            "tiles": tile_config(),
            "points": [
                {"lat": loc.point.y, "lng": loc.point.x, "name": loc.name} for loc in locations
            ],
        },
    }
    return render(request, "atlas/service_detail.html", context)


def service_popup(request: HttpRequest, pk: int) -> HttpResponse:
    """The short text a marker's popup shows, rendered on the server."""
    service = _published_service(pk)
    location = service.locations.order_by("pk").first()
    return render(
        request,
        "atlas/service_popup.html",
        {"service": service, "location": location, "open_now": is_open_now(service.opening_hours)},
    )


def area_detail(request: HttpRequest, layer_slug: str, code: str) -> HttpResponse:
    """A planning area's page: its services by category with counts."""
    area = (
        Area.objects.current()
        .by_key(layer_slug, code)
        .select_related("layer", "parent__layer")
        .first()
    )
    if area is None:
        raise Http404(_("No such planning area."))
    services = Service.objects.published().filter(locations__areas=area).distinct()
    groups = queries.services_by_category(services.order_by("name"))
    context = {
        "area": area,
        "ancestors": area.ancestors(),
        "children": area.children.select_related("layer").order_by("code"),
        "groups": groups,
        "service_count": services.count(),
        "profile": area_profile(area),
        "analysis_url": reverse("monitoring:analysis") + f"?layer={area.layer.slug}",
        "map_url": reverse("atlas:map") + f"?area={area.pk}",
        "list_url": reverse("atlas:list") + f"?area={area.pk}",
        "detail_map": {
            "tiles": tile_config(),
            "outline": reverse("atlas:area_outlines", args=[area.layer.slug]) + f"?code={code}",
            "points": [],
        },
    }
    return render(request, "atlas/area_detail.html", context)


def _cached_map_answer(request: HttpRequest, kind: str, build: Build) -> HttpResponse:
    """A map answer for the request's filters from the map cache (``map_answers``); bad
    filters are 400."""
    try:
        body = MapAnswers(request.GET).answer(kind, build)
    except InvalidFilters as exc:
        return JsonResponse({"errors": exc.errors}, status=400)
    return HttpResponse(body, content_type="application/json")


@cache_control(max_age=POINTS_CACHE_SECONDS)
def map_count(request: HttpRequest) -> HttpResponse:
    """How many services the filters match (the map's status line; its markers are tiles)."""
    return _cached_map_answer(request, "count", count_build)


@cache_control(max_age=POINTS_CACHE_SECONDS)
def map_tile(request: HttpRequest, z: str, x: str, y: str) -> HttpResponse:
    """Clusters and single markers of one map tile for the request's filters
    (``atlas.site.tiles``). A tile that does not exist is 404."""
    tile = Tile.checked(int(z), int(x), int(y))
    if tile is None:
        raise Http404(_("No such map tile."))
    return _cached_map_answer(request, tile_kind(tile), tile_build(tile))


@cache_control(max_age=3600)
def area_outlines(request: HttpRequest, layer_slug: str) -> JsonResponse:
    """A layer's areas as a GeoJSON FeatureCollection (simplified outlines, service counts)."""
    layer = get_object_or_404(Layer.objects.current(), slug=layer_slug)
    code = request.GET.get("code")
    if code is not None and not is_area_code(code):
        return JsonResponse({"errors": {"code": [_("Not an area code.")]}}, status=400)
    collection = feature_collection(queries.area_outlines(layer, code=code))
    return HttpResponse(collection.encoded(), content_type="application/json")


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT PostGIS_Lib_Version()")
        (postgis,) = cursor.fetchone()
    return JsonResponse({"status": "ok", "postgis": postgis})
