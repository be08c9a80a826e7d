"""The production configuration for tests: collectstatic and gunicorn with DEBUG off, run as
the README says, against the test database, each step bounded in time."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START_SECONDS = 60
STOP_SECONDS = 10


def database_url() -> str:
    """The test database (pytest-django's) as a DATABASE_URL for another process."""
    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    return (
        f"postgis://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def readme_production_variables() -> dict[str, str]:
    """The variables the README's "Deploying behind gunicorn" section exports, with its
    placeholders (…) filled in: a fresh secret key and the test database."""
    section = README.read_text(encoding="utf-8").split("## Deploying behind gunicorn", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    exports = block.split("export ", 1)[1].split("\n.venv", 1)[0]
    variables = dict(
        word.split("=", 1) for word in shlex.split(exports.replace("\\\n", " ")) if "=" in word
    )
    variables["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
    variables["DATABASE_URL"] = database_url()
    return variables


def readme_production_commands() -> list[list[str]]:
    """The commands of the README's production block after the exports, as argument lists."""
    section = README.read_text(encoding="utf-8").split("## Deploying behind gunicorn", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.startswith(".venv/bin/")]


def production_environment(static_root: Path, **overrides: str) -> dict[str, str]:
    """DEBUG off on plain HTTP at 127.0.0.1 (no TLS in a test), static files in
    ``static_root``; the rest as a fresh installation has it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ATLAS_"))}
    env.update(
        {
            "DJANGO_DEBUG": "false",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_STATIC_ROOT": str(static_root),
            "DATABASE_URL": database_url(),
        }
    )
    env.update(overrides)
    return env


def manage(args: list[str], env: dict[str, str], timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 (our own interpreter and manage.py)
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def collect_static(env: dict[str, str]) -> None:
    result = manage(["collectstatic", "--noinput"], env)
    assert result.returncode == 0, result.stderr[-3000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """gunicorn serving the atlas; yields its base URL and stops it afterwards."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and gunicorn)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "atlas.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--preload",  # as the README deploys it
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_SECONDS)


def _wait_until_serving(process: subprocess.Popen, base: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn stopped: {process.stderr.read()[-3000:]}")
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=5)  # noqa: S310 (http://127.0.0.1)
            return
        except urllib.error.HTTPError:
            return  # it answers; the status is the tests' business
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"gunicorn did not answer within {START_SECONDS} s")


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, without following redirects or raising for
    error statuses."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (test server)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


STATIC_REFERENCE = re.compile(r"""(?:src|href)="(/static/[^"]+)\"""")
