"""Hostile import files against the real entry points: time and peak memory of each refusal.

    .venv/bin/python bench/abuse_files.py

Builds each file of the audit (issue 10 item 6) at its full size in a temporary folder,
then feeds it, each in a fresh subprocess, to ``manage.py import_services`` /
``import_areas`` (dry run) and to the admin upload page (Django's test client, as a
superuser created and rolled back inside the run). A subprocess measures its own
wall time and peak resident memory (``getrusage`` ru_maxrss) and the growth of
its resident memory over a warm worker's (Django started, the importers loaded,
the admin page requested once: about 220-340 MB). Targets: refused within 2 s,
growth below 200 MB. ``run()`` returns the rows (``bench/abuse.py`` prints them too).
Uses the database in DATABASE_URL (nothing is written there).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import hostile_files as hostile  # noqa: E402

TARGET_SECONDS = 2.0
TARGET_MB = 200.0

# (case, builder, entry point): entry points are "services-cli", "services-page",
# "areas-cli", "areas-page", "addresses-cli" (all dry runs).
CASES = [
    ("zip bomb 400 MB", hostile.zip_bomb, "areas-cli"),
    ("zip bomb 400 MB", hostile.zip_bomb, "areas-page"),
    ("zip lying about its sizes", hostile.lying_zip, "areas-cli"),
    (".xlsx with a cell at XFD1048576", hostile.huge_dimension_xlsx, "services-cli"),
    (".xlsx with a cell at XFD1048576", hostile.huge_dimension_xlsx, "services-page"),
    (".xlsx hiding XFD5 behind dimension A1:C2", hostile.lying_dimension_xlsx, "services-cli"),
    ("CSV named .xlsx", hostile.fake_xlsx, "services-cli"),
    ("CSV named .xlsx", hostile.fake_xlsx, "services-page"),
    ("7.8 MB CSV, 200,000 columns", hostile.wide_csv, "services-cli"),
    ("7.8 MB CSV, 230,000 rows", hostile.long_csv, "services-cli"),
    ("7.8 MB CSV, 230,000 rows", hostile.long_csv, "services-page"),
    ("7.8 MB CSV, one line of separators", hostile.separator_line_csv, "services-cli"),
    ("address .csv.gz unpacking to 400 MB", hostile.gzip_bomb_csv, "addresses-cli"),
    ("address CSV of 1,100,000 rows", hostile.long_address_csv, "addresses-cli"),
    ("CSV with a NUL byte", hostile.nul_csv, "services-cli"),
    ("CSV in UTF-16", hostile.utf16_csv, "services-cli"),
]


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _page(path: Path, entry: str) -> tuple[bool, str, float, float]:
    """POST the file to the admin page as a superuser (rolled back); also the RSS before it."""
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import transaction
    from django.test import Client
    from django.urls import reverse

    with transaction.atomic():
        user = get_user_model().objects.create_superuser("abuse-bench", "a@example.org", "x")
        client = Client(headers={"accept-language": "en"})
        client.force_login(user)
        upload = SimpleUploadedFile(path.name, path.read_bytes())
        if entry == "services-page":
            url = reverse("admin:providers_service_import")
            data = {"file": upload, "mapping_file": SimpleUploadedFile("m.toml", MAPPING)}
        else:
            url = reverse("admin:planning_areas_layer_import")
            data = {"file": upload, "layer": "abuse", "code_field": "c", "name_field": "n"}
        client.get(url)  # warm: the admin's first request loads templates and URL patterns
        before = _rss_mb()
        start = time.perf_counter()
        response = client.post(url, data)
        seconds = time.perf_counter() - start
        context = response.context
        message = str(context.get("error") or "") or str(context.get("form").errors)
        transaction.set_rollback(True)
    return response.status_code == 400, f"HTTP {response.status_code}: {message}", seconds, before


MAPPING = hostile.CSV_MAPPING.encode()


def _command(path: Path, entry: str, mapping: Path) -> tuple[bool, str, float]:
    from django.core.management import CommandError, call_command

    start = time.perf_counter()
    try:
        if entry == "services-cli":
            call_command("import_services", str(path), "--mapping", str(mapping), stdout=_Null())
        elif entry == "addresses-cli":
            call_command("import_addresses", str(path), stdout=_Null())
        else:
            call_command(
                "import_areas", str(path), "--layer", "abuse", "--code-field", "c",
                "--name-field", "n", stdout=_Null(),
            )  # fmt: skip
    except CommandError as exc:
        return True, str(exc), time.perf_counter() - start
    return False, "accepted", time.perf_counter() - start


class _Null:
    def write(self, *_args) -> None:
        pass

    def flush(self) -> None:
        pass


def child(path: str, entry: str, mapping: str) -> None:
    """Run one entry point on one file and print its figures as JSON (in a subprocess)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atlas.settings")
    import django

    django.setup()
    # What a web worker has loaded anyway, so growth counts the file's cost, not imports.
    from django.db import connection
    from django.test.utils import setup_test_environment

    import planning_areas.management.commands.import_addresses  # noqa: F401
    import planning_areas.management.commands.import_areas  # noqa: F401
    import providers.management.commands.import_services  # noqa: F401

    setup_test_environment()  # the test client then records each response's context
    connection.ensure_connection()
    if entry.endswith("-page"):
        refused, message, seconds, before = _page(Path(path), entry)
    else:
        before = _rss_mb()
        refused, message, seconds = _command(Path(path), entry, Path(mapping))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "refused": refused,
                "message": message.splitlines()[0][:110] if message else "",
                "seconds": round(seconds, 3),
                "peak_mb": round(peak, 1),
                "growth_mb": round(peak - before, 1),
            }
        )
    )


def run() -> list[dict]:
    """Build every hostile file, feed it to its entry point, return one row per case."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="atlas-abuse-files-") as folder:
        folder = Path(folder)
        mapping = folder / "mapping.toml"
        mapping.write_bytes(MAPPING)
        built: dict = {}
        for case, builder, entry in CASES:
            if builder not in built:
                sub = folder / builder.__name__
                sub.mkdir()
                built[builder] = builder(sub)
            path = built[builder]
            result = subprocess.run(  # noqa: S603 (our own interpreter and script)
                [sys.executable, __file__, "--child", str(path), entry, str(mapping)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=300,
                check=False,
            )
            try:
                figures = json.loads(result.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                figures = {"refused": False, "message": result.stderr.strip()[-200:]}
            row = {
                "case": case,
                "entry": entry,
                "file_kb": round(path.stat().st_size / 1024, 1),
                **figures,
            }
            row["ok"] = bool(
                row.get("refused")
                and row.get("seconds", 99) < TARGET_SECONDS
                and row.get("growth_mb", 9999) < TARGET_MB
            )
            rows.append(row)
    return rows


def main() -> None:
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(
        f"# hostile import files; machine load {' '.join(load)};"
        " targets: refused < 2 s, memory growth < 200 MB"
    )
    print(f"{'case':42} {'entry':14} {'file kB':>9} {'s':>7} {'peak MB':>8} {'+MB':>6}  result")
    for row in run():
        verdict = "OK" if row["ok"] else "MISSED"
        print(
            f"{row['case']:42} {row['entry']:14} {row['file_kb']:>9} "
            f"{row.get('seconds', '-'):>7} {row.get('peak_mb', '-'):>8} "
            f"{row.get('growth_mb', '-'):>6}  {verdict}: {row.get('message', '')}"
        )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
    else:
        main()
