"""``manage.py export_hsds``: the published services as Open Referral HSDS 3.0 tables."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from django.core.management.base import BaseCommand

from providers.hsds import TABLES, build


class Command(BaseCommand):
    help = (
        "Export all published services with their organisations, locations, addresses, "
        "public contacts, phones, schedules, languages and taxonomy as Open Referral HSDS 3.0 "
        "JSON tables (one <table>.json per table) into a folder or a .zip file."
    )

    def add_arguments(self, parser):
        parser.add_argument("output", help="folder, or a path ending in .zip")

    def handle(self, *args, output, **options):
        tables = build()
        target = Path(output)
        files = {
            f"{name}.json": json.dumps(tables[name], ensure_ascii=False, indent=1)
            for name in TABLES
        }
        if target.suffix == ".zip":
            with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
                for name, content in files.items():
                    archive.writestr(name, content)
        else:
            target.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                (target / name).write_text(content, encoding="utf-8")
        for name in TABLES:
            self.stdout.write(f"{name}: {len(tables[name])}")
        self.stdout.write(f"HSDS tables written to {target}")
