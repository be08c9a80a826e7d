"""The WSGI module a server loads: what it prepares before the first request."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_web_process_loads_the_analysis_libraries_before_its_first_request(tmp_path):
    # mapclassify (with scikit-learn and matplotlib) and scipy.spatial take 4-11 s to
    # import here, the URLconf with its views, catalogues and templates another 0.2 s: a
    # worker pays it while booting, not a visitor of /analyse/.
    probe = (
        "import sys, atlas.wsgi; "
        "from django.db import connections; "
        "print(all(m in sys.modules for m in "
        "('mapclassify', 'scipy.spatial', 'atlas.monitoring.views', 'atlas.site.views')), "
        "all(c.connection is None for c in connections.all()))"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_DEBUG": "true", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # Loaded, and no database connection opened: gunicorn --preload forks the workers from
    # this process, and a shared connection would mix their queries.
    assert result.stdout.strip().endswith("True True")
