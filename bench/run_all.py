"""Run every benchmark in turn against a dedicated database and print their figures.

    .venv/bin/python bench/run_all.py            # or: make bench

The benchmarks add tens of thousands of synthetic services, so they never touch the
database in DATABASE_URL itself: they use ``<name>_bench`` beside it, created with the
demo data on first use and kept for later runs. Order matters: the map benchmark
copies the demo-only database before the API benchmark adds its 100,000 services,
which the lookup benchmark then reuses.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import environ
import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
LOOKUP_PORT = 8103


def bench_database_url() -> str:
    environ.Env.read_env(ROOT / ".env", overwrite=False)
    url = os.environ.get("DATABASE_URL", "postgis://atlas:atlas@127.0.0.1:5432/atlas")
    base, _, name = url.rpartition("/")
    return f"{base}/{name.split('?')[0]}_bench"


def ensure_database(url: str) -> None:
    params = environ.Env.db_url_config(url)
    connection = psycopg2.connect(
        dbname="postgres",
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or 5432,
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [params["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(params["NAME"])))
    connection.close()


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ {' '.join(args)}", flush=True)
    subprocess.run([PYTHON, *args], cwd=ROOT, env=env, check=True)


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"no server on 127.0.0.1:{port} after {timeout} s")


def main() -> None:
    url = bench_database_url()
    ensure_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    run("manage.py", "migrate", "--noinput", "-v", "0", env=env)
    run("manage.py", "load_demo", env=env)
    run("bench/map.py", env=env)
    run("bench/api.py", env=env)
    run("bench/lookup.py", "setup", env=env)
    server_env = {
        **env,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only",
        "ATLAS_API_ANON_RATE": "",
        "ATLAS_API_ANON_BURST_RATE": "",
    }
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "atlas.wsgi",
            "-b",
            f"127.0.0.1:{LOOKUP_PORT}",
            "-w",
            "2",
        ],
        cwd=ROOT,
        env=server_env,
    )
    try:
        wait_for_port(LOOKUP_PORT)
        run("bench/lookup.py", "run", "--url", f"http://127.0.0.1:{LOOKUP_PORT}", env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
