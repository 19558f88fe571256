"""A real browser on the pages staff see: Debian's chromium driven by Playwright.

Never a browser build of Playwright's own: `make test` installs Debian's package (`make browser`),
and a browser that cannot be launched fails the tests instead of skipping them. Playwright's
sync API runs in the test's thread; pytest-django's live_server answers from its own thread.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # Nothing but this machine: any other host name resolves to nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost",
]
ARTIFACTS = ROOT / "var" / "test-artifacts"  # git-ignored (var/)

# Records every CSP violation on the page's window, before any of the page's own scripts run.
# Playwright injects it outside the page's CSP.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile || document.location.pathname}:${e.lineNumber} ${e.sample || ""}`.trim());
});
"""


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import Error, sync_playwright

    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (as root) installs Debian's chromium.", pytrace=False)
    # Playwright's sync API keeps an event loop running in this thread, so Django takes the test's
    # database calls for async code; they are plain sync calls between browser steps. Only for
    # this module: the loop stops with it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=60_000)
            except Error as exc:
                pytest.fail(f"Chromium at {CHROMIUM} cannot be launched: {exc}", pytrace=False)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Watched:
    """A page whose CSP violations and console errors are collected per visited URL."""

    def __init__(self, page, base_url):
        self.page, self.base_url = page, base_url
        self.problems: list[str] = []
        self.visited: list[str] = []
        page.on("console", lambda msg: msg.type == "error" and self.problems.append(
            f"{page.url}: console error: {msg.text} ({msg.location.get('url')})"))
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: uncaught: {exc}"))

    def goto(self, path, wait_for=None):
        response = self.page.goto(self.base_url + path, wait_until="load")
        assert response is not None and response.status == 200, (path, response and response.status)
        if wait_for:
            self.page.wait_for_selector(wait_for, state="attached")
        self.collect()
        self.visited.append(path)
        return response

    def collect(self):
        # Violation events are queued as tasks: let them run, then read what the page recorded.
        for violation in self.page.evaluate(
                "() => new Promise((done) => setTimeout(() => done(window.__cspViolations || []), 50))"):
            self.problems.append(f"{self.page.url}: CSP: {violation}")
        self.page.evaluate("() => { window.__cspViolations = []; }")


@pytest.fixture
def watched_page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, bypass_csp=False)
    context.add_init_script(RECORD_VIOLATIONS)
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield Watched(page, live_server.url)
    context.close()
