import os

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
application = get_wsgi_application()

# Without debug, pages name their static files through collectstatic's manifest; without it
# every page would be a 500. Refuse to start instead, saying what to do.
if not settings.DEBUG and not staticfiles_storage.exists(staticfiles_storage.manifest_name):
    raise ImproperlyConfigured(
        f"The static files are not collected in {settings.STATIC_ROOT}: run "
        "`manage.py collectstatic --noinput` (with the same DJANGO_STATIC_ROOT) before starting."
    )

# Load the analysis page's libraries now, while the worker boots, not on its first
# /analyse/ request: mapclassify pulls in scikit-learn, scipy.stats and matplotlib (4–11 s
# to import on a 2-core machine), 2SFCA needs scipy.spatial; that request's visitor would
# wait for them. Only web processes import this module; commands and tests do not pay it.
import mapclassify  # noqa: E402, F401
import scipy.spatial  # noqa: E402, F401
from django.template import engines  # noqa: E402
from django.urls import get_resolver  # noqa: E402
from django.utils import translation  # noqa: E402


def _warm_up() -> None:
    """What every worker's first request would otherwise build (0.2 s of a 0.37 s first
    /analyse/ on a quiet machine, several times that under load): the URLconf with every
    view module, the translation catalogues, the compiled templates of the heavy pages."""
    get_resolver().url_patterns  # noqa: B018 - loading them is the point
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            translation.gettext("Analysis")
    engine = engines["django"]
    for name in ("monitoring/analysis.html", "atlas/area_detail.html", "atlas/map.html"):
        engine.get_template(name)


_warm_up()
