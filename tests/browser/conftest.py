"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, the API on a live server.

The tests skip, with the reason, when ``/usr/bin/chromium`` or the playwright package is
missing. Never run ``playwright install``: it downloads a browser build, which fails here.
"""

import pathlib
import urllib.parse

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.e2e.provider import run_oidc_provider

CHROMIUM = pathlib.Path("/usr/bin/chromium")
ARTIFACTS = pathlib.Path(__file__).resolve().parents[2] / "artifacts"
LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Playwright's default is 30 s per action; a page on loopback that takes longer is a failure.
ACTION_TIMEOUT_MILLISECONDS = 10_000


@pytest.fixture(scope="session")
def live_server():
    """pytest-django's live server, bound to 127.0.0.1 (its default is ``localhost``) on a free port."""
    server = LiveServer("127.0.0.1")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def spa_provider(live_server, tmp_path_factory):
    """The OpenID Connect provider, with the SPA's callback page on the live server as redirect URI."""
    workdir = tmp_path_factory.mktemp("spa-provider")
    with run_oidc_provider(workdir, [live_server.url + "/callback"]) as provider:
        yield provider


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    """One headless Chromium with a fresh profile directory for the module."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is missing: pip install -e '.[test]'")

    # Playwright's sync API keeps an asyncio event loop in this thread, so Django would refuse
    # the tests' ORM calls. They run while that loop waits, not inside it, which makes them
    # safe; the variable is set only while the browser is open.
    with pytest.MonkeyPatch.context() as monkeypatch, sync_api.sync_playwright() as playwright:
        monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        context.set_default_timeout(ACTION_TIMEOUT_MILLISECONDS)
        yield context
        context.close()


class RequestLog:
    """Every request the pages made, to prove that nothing left the loopback host.

    A request that the page's Content-Security-Policy blocked never reaches the network, so it
    does not count. Chromium reports such a request first and its "csp" failure right after. A
    check made in between counts it, so the race can fail a test but never pass one wrongly.
    """

    def __init__(self):
        self.requests = []

    def record(self, request):
        self.requests.append(request)

    def foreign_urls(self):
        return [request.url for request in self.requests
                if urllib.parse.urlsplit(request.url).scheme not in ("data", "blob")
                and urllib.parse.urlsplit(request.url).hostname not in LOOPBACK_HOSTS
                and request.failure != "csp"]


@pytest.fixture
def requests_log(browser_context):
    log = RequestLog()
    browser_context.on("request", log.record)
    yield log
    browser_context.remove_listener("request", log.record)


@pytest.fixture
def page(browser_context, requests_log):
    """A new tab with no cookies: each test signs in at the provider from scratch."""
    browser_context.clear_cookies()
    tab = browser_context.new_page()
    yield tab
    tab.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
