"""Browser fixtures and helpers shared by the web app tests (Playwright + Debian's chromium).

Every test saves screenshots under ``test-output/web/`` (git-ignored) for a person to look at.
The app served is ``DARKROOM_WEB_DIR`` when set (the gateway reads the same variable), else the
source tree's build ``services/gateway/web/dist``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from darkroom_gateway.domain.web import default_web_dir
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "web"
TIMEOUT_MS = 30_000
#: The axe-core build the web app's install step brings (services/gateway/web/node_modules).
AXE = default_web_dir().parent / "node_modules" / "axe-core" / "axe.min.js"
#: WCAG 2.0/2.1 levels A and AA: what axe calls these rule tags.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
UUID = r"[0-9a-f-]{36}"


def web_build_dir() -> Path:
    """The build the stack's gateway serves: ``DARKROOM_WEB_DIR`` or the source tree's dist."""
    configured = os.environ.get("DARKROOM_WEB_DIR", "")
    return Path(configured) if configured else default_web_dir()


def needs_build() -> None:
    """Skip when the web app has not been built (``make install`` builds it)."""
    if not (web_build_dir() / "index.html").is_file():
        pytest.skip("web app not built: run `make install` (npm ci && npm run build)")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under Playwright; skips when either is missing.

    Module-scoped on purpose: Playwright's sync API runs an asyncio event loop in this thread
    for as long as ``sync_playwright()`` is open, so a session-wide browser made every later
    test that calls ``asyncio.run`` (the database polls in tests/faces.py, pytest-asyncio
    fixtures) fail with "cannot be called from a running event loop". Closing it after each
    module costs one chromium launch per web module (about a second).
    """
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed: `apt-get install -y chromium` (make install)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Python playwright missing")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def shots() -> Path:
    """The screenshot folder (created)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


def shot(page: object, name: str) -> None:
    """Save the visible part of ``page`` as ``test-output/web/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def wait_processed(page: object, base: str, ids: list[str], timeout_s: float = 60) -> None:
    """Poll the API with the browser's own session until every asset has its thumbhash."""
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for asset_id in list(pending):
            r = page.request.get(f"{base}/api/assets/{asset_id}")  # type: ignore[attr-defined]
            assert r.status == 200, r.text()
            if r.json().get("thumbhash"):
                pending.discard(asset_id)
        time.sleep(0.5)
    assert not pending, f"thumbnails never generated for {pending}"


def library_owner(stack: Stack, request: pytest.FixtureRequest) -> User:
    """A fresh user with an empty library, made by the first admin (however it signed up)."""
    return make_user(stack, request.getfixturevalue("admin"))


def seed(stack: Stack, owner: str, count: int, first_year: int, last_year: int) -> None:
    """Insert ``count`` assets of ``owner`` straight into PostgreSQL (bench.web_timeline)."""
    from bench.web_timeline import seed_library

    seed_library(stack.env()["DARKROOM_DATABASE_URL"], owner, count, first_year, last_year)


def watch_errors(page: object) -> list[str]:
    """The list (filled as the page runs) of its uncaught errors and of the Content Security
    Policy violations the browser reports on its console (the gateway sends a CSP)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))  # type: ignore[attr-defined]

    def on_console(msg: object) -> None:
        if "Content Security Policy" in msg.text:  # type: ignore[attr-defined]
            errors.append(msg.text)  # type: ignore[attr-defined]

    page.on("console", on_console)  # type: ignore[attr-defined]
    return errors


def signed_in_page(browser: object, stack: Stack, user: User, width: int = 1280) -> object:
    """A page whose context holds ``user``'s session cookie (logged in over the API);
    uncaught page errors and CSP violations are collected in ``page.errors`` (a list of str)."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 800}, base_url=stack.url
    )
    context.set_default_timeout(TIMEOUT_MS)
    login = context.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 201, login.text()
    page = context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    return page


def axe_violations(page: object, scope: str | None = None) -> list[dict[str, object]]:
    """The serious and critical WCAG 2.1 A/AA violations axe-core (the engine of Lighthouse's
    accessibility audit) finds in ``page`` as it is now, or in the element matching ``scope``.

    Each is ``{"id", "impact", "help", "nodes": [[target, message], ...]}`` (at most 5 nodes).
    Skips the test when axe-core is not installed (``make install`` brings it).
    """
    if not AXE.is_file():
        pytest.skip(f"axe-core not installed at {AXE}: run `make install`")
    if page.evaluate("typeof window.axe") == "undefined":  # type: ignore[attr-defined]
        # evaluated, not added as an inline <script>: the app's CSP refuses inline scripts
        page.evaluate(AXE.read_text())  # type: ignore[attr-defined]
    result = page.evaluate(  # type: ignore[attr-defined]
        "([scope, tags]) => axe.run(scope ? document.querySelector(scope) : document,"
        " {runOnly: {type: 'tag', values: tags}})",
        [scope, WCAG_TAGS],
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [
                [n["target"], (n.get("any") or [{}])[0].get("message", "")] for n in v["nodes"][:5]
            ],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def backups_of(admin: User) -> list[str]:
    """File names of the database backups, as the admin API lists them."""
    r = admin.client.get("/api/admin/database-backups")
    assert r.status_code == 200, r.text
    return [b["filename"] for b in r.json()["backups"]]


def take_backup(admin: User) -> str:
    """Run the backup job once and return the new backup's file name."""
    before = set(backups_of(admin))
    while True:  # names have a one-second resolution
        r = admin.client.post("/api/jobs", json={"name": "backup-database"})
        assert r.status_code == 204, r.text
        new = set(backups_of(admin)) - before
        if new:
            return new.pop()
        time.sleep(0.5)
