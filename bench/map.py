"""Map speed in headless Chromium: demo data and 50,000 services.

    DATABASE_URL=postgis://…/atlas_map .venv/bin/python bench/map.py [--services 50000] [--runs 3]

1. With the database in DATABASE_URL (the demo, about 3,700 services): time from navigation
   to markers drawn on the map.
2. With a copy holding ``--services`` published services (the demo plus synthetic ones spread
   over Berlin, in the database ``<name>_bench<N>``, created on first use and kept): time to the
   first markers, long tasks while loading, and long tasks (> 50 ms, the browser's definition)
   while panning and zooming.

Each scenario starts `manage.py runserver` on 127.0.0.1:PORT (default 8102) and stops it after.
Tile requests are answered by a local stub. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.support import STUB_TILE_URL, isolate, launch  # noqa: E402

PYTHON = sys.executable


def configured_database_url() -> str:
    """DATABASE_URL from the environment or .env, with the settings' default."""
    import environ

    environ.Env.read_env(ROOT / ".env", overwrite=False)
    return os.environ.get("DATABASE_URL", "postgis://atlas:atlas@127.0.0.1:5432/atlas")


def database_url_with_name(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


def ensure_bench_database(source_url: str, services: int) -> str:
    """A database with the demo plus synthetic services up to ``services`` published ones."""
    import psycopg2

    name = source_url.rsplit("/", 1)[1].split("?")[0] + f"_bench{services // 1000}k"
    url = database_url_with_name(source_url, name)
    admin_dsn = database_url_with_name(
        source_url.replace("postgis://", "postgresql://"), "postgres"
    )
    connection = psycopg2.connect(admin_dsn)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if not exists:
            print(f"creating database {name} (migrate, demo, synthetic services) …", flush=True)
            cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    env = {**os.environ, "DATABASE_URL": url}
    if not exists:
        subprocess.run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [PYTHON, "manage.py", "load_demo"], cwd=ROOT, env=env, check=True, capture_output=True
        )
    subprocess.run(
        [PYTHON, str(Path(__file__).with_name("synthetic_services.py")), str(services)],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return url


class Server:
    def __init__(self, database_url: str, port: int):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DJANGO_DEBUG": "true",
            "ATLAS_TILE_URL": STUB_TILE_URL,
        }
        self.url = f"http://127.0.0.1:{port}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is in use: stop that server first")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited during start-up")
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2)  # noqa: S310
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


OBSERVE_LONG_TASKS = """
() => {
  window.__longTasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
}
"""


def load_once(browser, server_url: str) -> dict:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="de-DE")
    isolate(context, server_url)
    page = context.new_page()
    page.add_init_script(OBSERVE_LONG_TASKS.join(["(", ")()"]))
    page.goto(f"{server_url}/", wait_until="commit")
    page.wait_for_function(
        "document.body && document.body.dataset.markers !== undefined", timeout=120_000
    )
    figures = page.evaluate(
        """() => {
        const mark = performance.getEntriesByName("atlas:markers-drawn")[0];
        const points = performance.getEntriesByType("resource")
          .find((e) => e.name.includes("punkte"));
        const received = performance.getEntriesByName("atlas:points-received")[0];
        const built = performance.getEntriesByName("atlas:markers-built")[0];
        return {
          drawn: mark.startTime,
          received: received.startTime,
          built: built.startTime,
          pointsResponse: points ? points.responseEnd : null,
          markers: Number(document.body.dataset.markers),
          longTasksLoading: window.__longTasks.slice(),
        };
    }"""
    )
    figures["context"] = context
    figures["page"] = page
    return figures


def pan_and_zoom(page) -> list[float]:
    page.evaluate("window.__longTasks = []")
    page.wait_for_timeout(300)
    map_box = page.locator("#map").bounding_box()
    cx = map_box["x"] + map_box["width"] / 2
    cy = map_box["y"] + map_box["height"] / 2
    rng = random.Random(4)
    for _ in range(8):
        dx, dy = rng.choice([(-300, 0), (300, 0), (0, -200), (0, 200), (-250, 150)])
        page.mouse.move(cx, cy)
        page.mouse.down()
        for step in range(1, 16):
            page.mouse.move(cx + dx * step / 15, cy + dy * step / 15)
            page.wait_for_timeout(16)
        page.mouse.up()
        page.wait_for_timeout(400)
    for delta in (-300, -300, 300, 300):
        page.mouse.move(cx, cy)
        page.mouse.wheel(0, delta)
        page.wait_for_timeout(700)
    page.wait_for_timeout(500)
    return page.evaluate("window.__longTasks.slice()")


def describe(tasks: list[float]) -> str:
    if not tasks:
        return "none"
    return f"{len(tasks)}, longest {max(tasks):.0f} ms"


def run_scenario(browser, server_url: str, label: str, runs: int, pan: bool) -> None:
    drawn, responses, loading_tasks, panning_tasks = [], [], [], []
    received, built = [], []
    markers = None
    for _ in range(runs):
        figures = load_once(browser, server_url)
        drawn.append(figures["drawn"])
        responses.append(figures["pointsResponse"] or 0)
        received.append(figures["received"])
        built.append(figures["built"])
        loading_tasks.append(max(figures["longTasksLoading"], default=0))
        markers = figures["markers"]
        if pan:
            panning_tasks.extend(pan_and_zoom(figures["page"]))
        figures["context"].close()
    print(f"[{label}] services on the map: {markers}")
    print(
        f"[{label}] markers drawn after navigation: median {statistics.median(drawn):.0f} ms "
        f"(runs: {', '.join(f'{d:.0f}' for d in drawn)})"
    )
    print(
        f"[{label}] of which: points response complete {statistics.median(responses):.0f} ms, "
        f"parsed {statistics.median(received):.0f} ms, markers built "
        f"{statistics.median(built):.0f} ms (medians)"
    )
    print(f"[{label}] longest task while loading: {max(loading_tasks):.0f} ms")
    if pan:
        print(f"[{label}] long tasks while panning and zooming: {describe(panning_tasks)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8102)
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    database_url = configured_database_url()

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        if not args.skip_demo:
            with Server(database_url, args.port) as server:
                run_scenario(browser, server.url, "demo", args.runs, pan=True)
        if not args.skip_large:
            large_url = ensure_bench_database(database_url, args.services)
            with Server(large_url, args.port) as server:
                run_scenario(
                    browser, server.url, f"{args.services:,} services", args.runs, pan=True
                )
        browser.close()


if __name__ == "__main__":
    main()
