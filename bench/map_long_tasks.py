"""Where the long tasks while panning come from: the map with and without base-map images.

    .venv/bin/python bench/map_long_tasks.py --database atlas_tilestore_100k [--query ?q=x]

Loads the map (gunicorn as in bench/map.py), pans and zooms as bench/map.py does, and
prints the long tasks (> 50 ms) three times with the stub base-map tiles and three times
with every base-map tile refused (404), alternating, with the machine load. ``--query
'?q=zzzzqqqq'`` draws no markers at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench.map as bm  # noqa: E402
from tests.browser.support import isolate  # noqa: E402


def pan_once(browser, server_url: str, query: str, images: bool) -> list[float]:
    context = browser.new_context(
        viewport={"width": 1280, "height": 800}, locale="de-DE", bypass_csp=True
    )
    isolate(context, server_url)
    if not images:  # registered last, so it answers before the stub
        context.route("https://tiles.invalid/**", lambda route: route.fulfill(status=404))
    page = context.new_page()
    page.add_init_script(bm.OBSERVE_LONG_TASKS.join(["(", ")()"]))
    page.goto(f"{server_url}/{query}", wait_until="commit")
    page.wait_for_function(
        "document.body && document.body.dataset.markers !== undefined"
        " && document.getElementById('map').dataset.tiles === 'drawn'",
        timeout=300_000,
    )
    tasks = bm.pan_and_zoom(page)
    context.close()
    return tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--query", default="")
    parser.add_argument("--port", type=int, default=8104)
    args = parser.parse_args()
    url = bm.database_url_with_name(bm.configured_database_url(), args.database)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = bm.launch(playwright)
        with bm.Server(url, args.port) as server:
            for images in (True, False) * 3:
                tasks = pan_once(browser, server.url, args.query, images)
                label = "base map images" if images else "no base map    "
                print(f"{label}: {bm.describe(tasks)} {[round(t) for t in tasks]}", end=" ")
                print(f"[{bm.machine_load()}]")
        browser.close()


if __name__ == "__main__":
    main()
