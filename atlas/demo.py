"""The Berlin demo: a municipality profile and the folder of its open data.

The demo is ``fixtures/berlin/profile.toml``, loaded by ``load_profile`` like any
city's profile; ``load_demo`` runs it with the data folder found here. Nothing
else of Berlin is code.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

BERLIN_PROFILE = settings.BASE_DIR / "fixtures" / "berlin" / "profile.toml"


def data_dir() -> Path:
    """Where the open data lies: ATLAS_DEMO_DATA, else ``shared/data`` beside the checkout."""
    configured = os.environ.get("ATLAS_DEMO_DATA")
    if configured:
        return Path(configured)
    for candidate in (settings.BASE_DIR.parent / "shared" / "data", settings.BASE_DIR / "data"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "Demo data not found: set ATLAS_DEMO_DATA to the folder with the demo's open data."
    )
