"""Static files storage of production: hashed names, compressed copies, and ES modules that
import each other by their hashed names."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's manifest storage, also rewriting ``import … from "./x.js"`` in ES modules
    (Django's option, off by default). Without it a page preloads ``map-page.<hash>.js``
    and its imports by hashed name, but the modules then import ``./markers.js``: every
    module was fetched twice, one round trip after another (0.3–0.5 s of the map's first
    markers behind gunicorn)."""

    support_js_module_import_aggregation = True
