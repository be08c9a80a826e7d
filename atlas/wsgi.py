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
