from django.conf import settings


def map_settings(request):
    """Tile server and attribution for every template that draws a map."""
    return {
        "ATLAS_TILE_URL": settings.ATLAS_TILE_URL,
        "ATLAS_TILE_ATTRIBUTION": settings.ATLAS_TILE_ATTRIBUTION,
    }
