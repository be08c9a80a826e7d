"""Settings for the social-space atlas.

Every value that differs between installations comes from the environment
(see `.env.example`); defaults are for development only.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# No default in production: a missing key must fail loudly.
SECRET_KEY = env(
    "DJANGO_SECRET_KEY", default="dev-only-insecure-key" if DEBUG else environ.Env.NOTSET
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "csp",
    "atlas.core",
    "atlas",
    "providers",
    "planning_areas",
    "atlas.lookup",
    "atlas.monitoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "atlas.core.csp.AtlasCSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "atlas.core.statement_timeout.StatementTimeoutMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "atlas.core.throttles.ThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "atlas.urls"
WSGI_APPLICATION = "atlas.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgis://atlas:atlas@127.0.0.1:5432/atlas")
}
# GeoDjango's PostGIS backend with a health check that costs no round trip (its docstring).
DATABASES["default"]["ENGINE"] = "atlas.core.postgis"
# Connections are kept for 10 minutes and checked before reuse: a new PostgreSQL backend
# loads PostGIS on its first spatial query, which took 370 ms here (bench/api.py showed it
# as a spike every minute with the former 60 s).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Service search: pg_trgm's default word-similarity threshold (0.6) misses simple typos
# such as "Famielie"; 0.5 still keeps unrelated names out.
# Parallel workers cost several milliseconds to start, more than the short queries of a web
# request gain from them (measured by bench/api.py); batch jobs may raise the setting.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = (
    f"-c pg_trgm.word_similarity_threshold={env.float('ATLAS_SEARCH_TRIGRAM_THRESHOLD', 0.5)} "
    f"-c max_parallel_workers_per_gather={env.int('ATLAS_DB_PARALLEL_WORKERS', 0)} "
    # JIT compilation starts whenever a plan's cost passes jit_above_cost, which a radius
    # search's geography functions always do: it took 881 of 1,656 ms of a near= query
    # at 10 km over 100,000 services (EXPLAIN ANALYZE, bench/abuse.py's database).
    "-c jit=off "
    # The atlas's tables fit in memory, where an index lookup costs about what a sequential
    # read does; with PostgreSQL's default (4, for spinning disks) a bbox page of 500 at
    # 100,000 services hashed the whole service-location table instead of 2,273 index
    # lookups (142 instead of 58 ms). 1.1 is the usual value for SSDs and cached data.
    f"-c random_page_cost={env.float('ATLAS_DB_RANDOM_PAGE_COST', 1.1)}"
)
# Longest a single statement of a web request may run (milliseconds; 0: no limit). Set per
# request by atlas.core.statement_timeout, so management commands and imports are unlimited.
# Below gunicorn's 30 s worker timeout, so PostgreSQL stops before the worker is killed.
ATLAS_STATEMENT_TIMEOUT_MS = env.int("ATLAS_STATEMENT_TIMEOUT_MS", default=10_000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "atlas/accounts/locked_out.html"
# Lock out a user name from one client address, not the address: behind a shared office
# proxy five wrong passwords of one user must not lock out colleagues. The address is the
# throttles' (trusted proxies only).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "atlas.core.throttles.axes_client_ip"
AXES_USERNAME_CALLABLE = "atlas.core.throttles.axes_username"

LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The IANA name of Germany's one time zone (not a reference to the demo city).
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "atlas.core.staticfiles.ManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "media/"
# The complete service exports are kept here as files, one pair per data version
# (providers/export_files.py). Not under MEDIA_ROOT, which a web server may publish.
ATLAS_EXPORT_FILES_DIR = env.path("ATLAS_EXPORT_FILES_DIR", default=BASE_DIR / "var" / "exports")

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="atlas@localhost")
SITE_URL = env("ATLAS_SITE_URL", default="http://localhost:8000")

# Limits on files strangers send (admin uploads) and on every import file (atlas/core/files.py).
# A service list or an area layer stays far below them; the demo's service tables have < 1,000
# rows. Address files are larger (Berlin: 401,032 rows) and have their own row limit.
ATLAS_IMPORT_MAX_FILE_BYTES = env.int("ATLAS_IMPORT_MAX_FILE_BYTES", default=100_000_000)
ATLAS_IMPORT_MAX_UNPACKED_BYTES = env.int("ATLAS_IMPORT_MAX_UNPACKED_BYTES", default=300_000_000)
ATLAS_IMPORT_MAX_ROWS = env.int("ATLAS_IMPORT_MAX_ROWS", default=100_000)
ATLAS_IMPORT_MAX_ADDRESS_ROWS = env.int("ATLAS_IMPORT_MAX_ADDRESS_ROWS", default=1_000_000)
ATLAS_IMPORT_MAX_COLUMNS = env.int("ATLAS_IMPORT_MAX_COLUMNS", default=500)
ATLAS_IMPORT_MAX_CELLS = env.int("ATLAS_IMPORT_MAX_CELLS", default=1_000_000)
ATLAS_IMPORT_MAX_CELL_CHARS = env.int("ATLAS_IMPORT_MAX_CELL_CHARS", default=100_000)
# An uploaded file waits this long for its import to be confirmed after the preview.
ATLAS_UPLOAD_MAX_AGE_SECONDS = env.int("ATLAS_UPLOAD_MAX_AGE_SECONDS", default=3600)

# The SRID every geometry is stored in; the API speaks the same (WGS84).
ATLAS_SRID = 4326

# "default": each web worker's own cache (search expansions, credits, the map's view):
# small, cheap to rebuild, read per request without a query. "map": tiles and counts, shared by
# every worker and host, since a cold tile costs the database far more than a shared read.
# ATLAS_MAP_CACHE_URL in django-environ's cache URL form: by default a table in the database
# (created by migrate), e.g. redis://127.0.0.1:6379/1 for Redis. Django's default keeps 300
# entries; one map view at city zoom fills ~100 (a tile and the children it is merged from).
MAP_CACHE = "map"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    },
    MAP_CACHE: env.cache_url(
        "ATLAS_MAP_CACHE_URL", default="dbcache://atlas_map_cache?max_entries=20000"
    ),
}

# Social monitoring: the 2SFCA catchment distance, the share of the city median below
# which an area is a gap, and the indicator whose worse-than-median areas are priorities.
ATLAS_MONITORING_CATCHMENT_METRES = env.int("ATLAS_MONITORING_CATCHMENT_METRES", default=1000)
ATLAS_MONITORING_GAP_SHARE = env.float("ATLAS_MONITORING_GAP_SHARE", default=0.75)
ATLAS_MONITORING_NEED_INDICATOR = env(
    "ATLAS_MONITORING_NEED_INDICATOR", default="child_poverty_percent"
)
# Services whose last verification is older than this are flagged as stale.
ATLAS_VERIFICATION_MAX_AGE_DAYS = env.int("ATLAS_VERIFICATION_MAX_AGE_DAYS", default=365)

# Tiles: our residents' IPs only go where the operator decides.
ATLAS_TILE_URL = env("ATLAS_TILE_URL", default="https://tile.openstreetmap.de/{z}/{x}/{y}.png")
ATLAS_TILE_ATTRIBUTION = env(
    "ATLAS_TILE_ATTRIBUTION",
    default='&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>-Mitwirkende',
)
# The municipality this atlas serves. Its name is the city written on addresses that name
# none (service imports, new locations); the state (Bundesland) goes into the HSDS export's
# state_province (empty when unset).
ATLAS_MUNICIPALITY_NAME = env("ATLAS_MUNICIPALITY_NAME", default="")
ATLAS_DEFAULT_CITY = env("ATLAS_DEFAULT_CITY", default=ATLAS_MUNICIPALITY_NAME)
ATLAS_STATE = env("ATLAS_STATE", default="")
# Words the address search drops from typed text besides the municipality's name (people
# type "Domstraße 1, Köln, Deutschland"); comma-separated.
ATLAS_ADDRESS_IGNORED_WORDS = env.list(
    "ATLAS_ADDRESS_IGNORED_WORDS", default=["deutschland", "germany"]
)
# Credit for the data on the map, shown next to the tile attribution (HTML allowed). Empty:
# built from the source and licence of each current layer, the address index and the services.
ATLAS_DATA_ATTRIBUTION = env("ATLAS_DATA_ATTRIBUTION", default="")
# Initial view of every map as minlon,minlat,maxlon,maxlat (WGS84). Empty: the extent of the
# current planning-area layers (Germany while there are none).
ATLAS_MAP_BOUNDS = env.list("ATLAS_MAP_BOUNDS", cast=float, default=[])
if ATLAS_MAP_BOUNDS and not (
    len(ATLAS_MAP_BOUNDS) == 4
    and -180 <= ATLAS_MAP_BOUNDS[0] < ATLAS_MAP_BOUNDS[2] <= 180
    and -90 <= ATLAS_MAP_BOUNDS[1] < ATLAS_MAP_BOUNDS[3] <= 90
):
    raise ImproperlyConfigured(
        "ATLAS_MAP_BOUNDS must be minlon,minlat,maxlon,maxlat with min < max (WGS84)."
    )
# The public map does not zoom out beyond the city region: fewer zoom levels make
# clustering tens of thousands of markers in the browser much cheaper.
ATLAS_MAP_MIN_ZOOM = env.int("ATLAS_MAP_MIN_ZOOM", default=9)

# django-leaflet's admin map widgets. Their tile layer, highest zoom and initial view come per
# request from planning_areas.admin_base.MapViewMixin.settings_overrides: the tiles from
# atlas.core.maps.tile_config(), the one tile configuration of every map (settings cannot
# import it). TILES stays empty so that django-leaflet's default, OpenStreetMap's own tile
# servers, is never requested by a widget outside that mixin.
LEAFLET_CONFIG = {
    "MIN_ZOOM": 3,
    "TILES": [],
    "ATTRIBUTION_PREFIX": "Leaflet",
    "RESET_VIEW": False,
    # Leaflet otherwise guesses its marker images' folder from the CSS file's name, which
    # collectstatic's hashed names break (it asked for .../change/marker-icon.png).
    "FORCE_IMAGE_PATH": True,
}

# Content-Security-Policy by django-csp (Django 5.2 has none of its own): scripts only from our
# static files (json_script data blocks are not executed), no nonce on any page (the admin's map
# widgets start from json_script data too: planning_areas.admin_base.MapWidget); the tile
# server's origin is added per response from ATLAS_TILE_URL (atlas.core.csp). Inline styles stay
# allowed: the category colours and monitoring bars are style attributes, and the Django
# admin's change list, Swagger UI and django-simple-history write inline styles themselves;
# styles cannot run script.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "atlas.core.api_tools.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "atlas.core.backends.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # Anonymous limits far above a map session (a few requests per pan or zoom) that
    # still stop scrapers; counted in PostgreSQL, shared by all server processes, per
    # client address (atlas.core.throttles; the site's pages share the same quota).
    "DEFAULT_THROTTLE_CLASSES": [
        "atlas.core.throttles.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        # An empty value turns a limit off (benchmarks: no counting at all).
        "anon_burst": env("ATLAS_API_ANON_BURST_RATE", default="300/minute") or None,
        "anon": env("ATLAS_API_ANON_RATE", default="6000/hour") or None,
    },
}
# Reverse proxies in front of the app: the client address is taken from X-Forwarded-For
# that many entries from the right. 0 (the default) never trusts the header.
ATLAS_NUM_PROXIES = env.int(
    "ATLAS_NUM_PROXIES", default=env.int("ATLAS_API_NUM_PROXIES", default=0)
)
# Limits of the API's query parameters (answers beyond them are HTTP 400).
ATLAS_API_MAX_PAGE_SIZE = env.int("ATLAS_API_MAX_PAGE_SIZE", default=1000)
ATLAS_API_MAX_BBOX_DEGREES = env.float("ATLAS_API_MAX_BBOX_DEGREES", default=2.0)
# 5 km: "near me" means a walk or a short ride. A larger radius makes a near= request sort
# a large part of the city: at 100,000 services 10 km matched 37,789 and took 1,165 ms,
# 5 km matched 10,125 and took 481 ms (worst of 15, load 13 on 2 shared cores; bench/abuse.py).
ATLAS_API_MAX_RADIUS_METRES = env.int("ATLAS_API_MAX_RADIUS_METRES", default=5_000)
SPECTACULAR_SETTINGS = {
    "TITLE": "Sozialraum-Atlas API",
    "DESCRIPTION": "Open, keyless API of the social-space atlas: services, organisations, "
    "locations, contacts and planning areas. Geometries are WGS84 (EPSG:4326).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No badge from validator.swagger.io: no page requests a third party.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Address searches and lookups are personal data: request lines lose their query string.
    "filters": {"redact_query_strings": {"()": "atlas.core.log_filters.RedactQueryStrings"}},
    "formatters": {
        "server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_query_strings"]},
        "server": {
            "class": "logging.StreamHandler",
            "formatter": "server",
            "filters": ["redact_query_strings"],
        },
    },
    "loggers": {
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# HTTPS (see the README's production section). All off by default so that development and
# a first trial on plain HTTP work; `manage.py check --deploy` names what is missing.
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env.bool("DJANGO_SSL_REDIRECT", default=False)
# The load balancer's health check may come over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
# The header by which the TLS-terminating proxy says a request came over HTTPS, e.g.
# X-Forwarded-Proto. Only set it when that proxy always sets (or strips) the header:
# otherwise any client can claim HTTPS.
_proxy_ssl_header = env("DJANGO_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https") if _proxy_ssl_header else None
)

# Debian 12 ships GDAL 3.6. Spatial files are only read from admins' uploads and
# management commands, never from anonymous requests.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
