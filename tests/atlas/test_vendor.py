"""One Leaflet: every page, the admin widgets included, gets the npm-pinned version."""

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


def test_no_template_loads_another_leaflet():
    templates = [*ROOT.glob("*/templates/**/*.html"), *ROOT.glob("*/*/templates/**/*.html")]
    offenders = [str(t) for t in templates if "'leaflet/leaflet." in t.read_text()]
    assert offenders == []
