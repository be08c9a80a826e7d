"""Headless Chromium for the browser tests, `make screenshots` and `bench/map.py`.

The network is closed: tile requests are answered by a local stub (a plain PNG), and every
other request that does not go to the site under test is refused.
"""

from __future__ import annotations

import struct
import zlib
from functools import cache
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Tests and screenshots point ATLAS_TILE_URL here; the route below answers it.
STUB_TILE_URL = "https://tiles.invalid/{z}/{x}/{y}.png"
AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@cache
def tile_png(size: int = 256, rgb: tuple[int, int, int] = (236, 238, 231)) -> bytes:
    """A plain tile with a faint grid line on two edges, so panning is visible."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    grid = (214, 218, 208)
    rows = []
    for y in range(size):
        line = bytearray(b"\x00")
        for x in range(size):
            line += bytes(grid if x == 0 or y == 0 else rgb)
        rows.append(bytes(line))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def isolate(context, allowed_origin: str) -> None:
    """Answer tile requests with the stub and refuse everything outside ``allowed_origin``."""

    def handle(route):
        url = route.request.url
        if url.startswith("https://tiles.invalid/"):
            return route.fulfill(status=200, content_type="image/png", body=tile_png())
        if url.startswith(allowed_origin) or url.startswith("data:"):
            return route.continue_()
        return route.abort()

    context.route("**/*", handle)


def axe_violations(page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict]:
    """Run axe-core (from the pinned npm package) on the page; violations of these impacts."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:5]],
        }
        for v in result["violations"]
        if v["impact"] in impacts
    ]
