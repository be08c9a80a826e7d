from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Social-space atlas – administration")
admin.site.site_title = _("Social-space atlas")
admin.site.index_title = _("Maintain services, organisations and planning areas")

# An unavailable database answers 503 (JSON for the API), not "Server Error (500)".
handler500 = "atlas.core.outage.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(("atlas.api_urls", "api"))),
    path("accounts/", include("atlas.account_urls")),
    path("", include("atlas.lookup.urls")),
    path("", include("atlas.monitoring.urls")),
    path("", include("providers.urls")),
    path("", include("atlas.site.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
