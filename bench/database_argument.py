"""``--database NAME`` for the benchmarks that set Django up: the database of that name on
the server of DATABASE_URL (or .env). Read before Django is set up, since the settings read
DATABASE_URL once; importing this module does it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def use_database_argument() -> None:
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--database")
    name = early.parse_known_args()[0].database
    if name:
        import environ

        environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
        url = os.environ.get("DATABASE_URL", "postgis://atlas:atlas@127.0.0.1:5432/atlas")
        os.environ["DATABASE_URL"] = f"{url.rsplit('/', 1)[0]}/{name}"


use_database_argument()
