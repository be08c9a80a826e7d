"""One Leaflet: static \"leaflet/leaflet.js\" (django-leaflet's admin widgets and pages that
name it) is the npm-pinned file, the same as atlas/vendor/leaflet."""

import json
from pathlib import Path

from django.contrib.staticfiles import finders

ROOT = Path(__file__).resolve().parents[2]


def _pinned_leaflet_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return lock["packages"]["node_modules/leaflet"]["version"]


def test_the_admin_widgets_leaflet_is_the_pinned_npm_one():
    served = Path(finders.find("leaflet/leaflet.js")).read_text()
    assert f"Leaflet {_pinned_leaflet_version()}," in served[:200]
