from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from planning_areas.models import Layer
from providers.models import Service


def home(request: HttpRequest) -> HttpResponse:
    """Landing page until the public map arrives: what the atlas holds."""
    context = {
        "service_count": Service.objects.published().count(),
        "layers": Layer.objects.current(),
    }
    return render(request, "atlas/home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT PostGIS_Lib_Version()")
        (postgis,) = cursor.fetchone()
    return JsonResponse({"status": "ok", "postgis": postgis})
