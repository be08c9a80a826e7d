"""Playwright (sync API) against pytest-django's live_server, in Debian's headless Chromium."""

import os

import pytest
from playwright.sync_api import sync_playwright

from .support import STUB_TILE_URL, isolate, launch

# Playwright's sync API keeps an event loop running in this thread; the ORM calls the tests
# make to set up data happen outside any coroutine, so Django's guard does not apply.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session", autouse=True)
def analysis_libraries():
    """What atlas/wsgi.py loads before a web worker's first request: live_server does not
    go through that module, and the first /analyse/ would wait 4-11 s for the import."""
    import mapclassify  # noqa: F401
    import scipy.spatial  # noqa: F401


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def stub_tiles(settings):
    settings.ATLAS_TILE_URL = STUB_TILE_URL


def _context(chromium, live_server, **options):
    # Playwright's own helpers (wait_for_function with a string, axe's script tag) are not page
    # code, but the CSP would block them; test_hostile_names checks the CSP with a context
    # that honours it.
    options.setdefault("bypass_csp", True)
    options.setdefault("locale", "de-DE")
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = chromium.new_context(base_url=live_server.url, **options)
    context.set_default_timeout(10_000)
    isolate(context, live_server.url)
    return context


@pytest.fixture
def browser_context(chromium, live_server):
    """A fresh browser profile (German, desktop size) that can only reach the live server."""
    context = _context(chromium, live_server)
    yield context
    context.close()


@pytest.fixture
def strict_context(chromium, live_server):
    """Like ``browser_context``, but the browser enforces the site's CSP."""
    context = _context(chromium, live_server, bypass_csp=False)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def make_context(chromium, live_server):
    """Other profiles: a phone, JavaScript switched off, …"""
    contexts = []

    def make(**options):
        contexts.append(_context(chromium, live_server, **options))
        return contexts[-1]

    yield make
    for context in contexts:
        context.close()
