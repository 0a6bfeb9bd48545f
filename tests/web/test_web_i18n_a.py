"""Languages of the web app, share "a" (issue #22 item 7): Settings, Administration, sign-in,
onboarding, the locked folder and the not-found page, in a real browser whose language is German
or French, at desktop (1280 px) and phone (390 px) width.

What the tests prove, on each page: texts of its headings, buttons and labels appear in the
browser's language and their English (the names the other web tests select by) is not shown;
dates and numbers are written by ``Intl`` in the app's locale (an API key's creation date as
German ``dd.mm.yyyy``, the server's photo count with German thousands dots, the job counts'
refresh time); axe-core finds no serious/critical WCAG 2.1 A/AA violation; at phone width the
longer German/French strings do not make the page scroll sideways. Screenshots go to
``test-output/web/i18n-a-*.png``.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from darkroom_stack.supervisor import Stack
from playwright.sync_api import expect

from tests.conftest import User
from tests.web.conftest import (
    TIMEOUT_MS,
    axe_violations,
    library_owner,
    needs_build,
    seed,
    shot,
    take_backup,
    watch_errors,
)

PHONE = 390
ONBOARDING = "/api/system-metadata/admin-onboarding"
#: More photos than 1,000, so that the German count shows a thousands separator.
SEEDED = 1234


def _page(browser: Any, stack: Stack, locale: str, width: int, user: User | None) -> Any:
    """A page in a browser context whose language is ``locale``, signed in as ``user``
    (over the API) unless None; its uncaught errors collect in ``page.errors``."""
    context = browser.new_context(
        viewport={"width": width, "height": 800}, base_url=stack.url, locale=locale
    )
    context.set_default_timeout(TIMEOUT_MS)
    if user is not None:
        login = context.request.post(
            "/api/auth/login", data={"email": user.email, "password": user.password}
        )
        assert login.status == 201, login.text()
    page = context.new_page()
    page.errors = watch_errors(page)
    return page


def _no_sideways_scroll(page: Any) -> None:
    """The page is no wider than the window (what scrolls inside its own box is fine)."""
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')]"
        ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
        ".filter(e => { for (let p = e.parentElement; p && p !== document.body;"
        " p = p.parentElement) if (getComputedStyle(p).overflowX !== 'visible') return false;"
        " return true; })"
        ".slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px: {wide}"


def _no_english(page: Any, role: str, names: list[str]) -> None:
    """No element of ``role`` is named with any of these English names."""
    for name in names:
        assert page.get_by_role(role, name=name, exact=True).count() == 0, f"{role} {name!r}"


def _check(page: Any, name: str, width: int) -> None:
    """Axe clean, no sideways scroll at phone width, and a screenshot ``i18n-a-<name>``."""
    shot(page, f"i18n-a-{name}-{width}")
    if width == PHONE:
        _no_sideways_scroll(page)
    assert axe_violations(page) == []


@pytest.mark.parametrize("width", [1280, PHONE])
def test_settings_and_administration_in_german(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    owner = library_owner(stack, request)
    seed(stack, owner.id, SEEDED, 2020, 2021)
    page = _page(browser, stack, "de-DE", width, admin)
    try:
        # Settings: account, appearance, password, API keys (the admin fixture made one), devices
        page.goto("/settings")
        expect(page.get_by_role("heading", name="Einstellungen", exact=True)).to_be_visible()
        for heading in ("Konto", "Darstellung", "Passwort", "API-Schlüssel", "Geräte"):
            expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Namen speichern")).to_be_visible()
        expect(page.get_by_role("button", name="Passwort ändern")).to_be_visible()
        expect(page.get_by_label("Neues Passwort bestätigen")).to_be_visible()
        expect(page.get_by_role("switch", name="Dunkelmodus")).to_be_visible()
        # the key's creation date and the session's, by Intl in German (dd.mm.yyyy, hh:mm)
        expect(
            page.get_by_text(re.compile(r"erstellt am \d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}")).first
        ).to_be_visible()
        expect(
            page.get_by_text(re.compile(r"angemeldet am \d{2}\.\d{2}\.\d{4}")).first
        ).to_be_visible()
        expect(page.get_by_text("Dieses Gerät", exact=True)).to_be_visible()
        _no_english(page, "heading", ["Settings", "Account", "Appearance", "Password", "Devices"])
        _no_english(page, "button", ["Save name", "Change password", "New API key", "Rename"])
        assert page.get_by_text("This device", exact=True).count() == 0
        _check(page, "settings-de", width)

        # Administration › Users
        page.goto("/admin/users")
        tabs = page.get_by_role("navigation", name="Verwaltung")
        for tab in (
            "Benutzer",
            "Aufgaben",
            "Externe Bibliotheken",
            "Einstellungen",
            "Sicherungen",
            "Serverstatus",
        ):
            expect(tabs.get_by_role("link", name=tab, exact=True)).to_be_attached()
        _no_english(
            page, "link", ["Users", "Jobs", "External Libraries", "Backups", "Server Status"]
        )
        expect(page.get_by_role("button", name="Benutzer erstellen")).to_be_visible()
        expect(page.get_by_role("button", name=f"{owner.email} bearbeiten")).to_be_visible()
        page.get_by_role("button", name="Benutzer erstellen").click()
        form = page.get_by_role("form", name="Benutzer erstellen")
        expect(form.get_by_label("Administrator")).to_be_visible()
        expect(form.get_by_role("button", name="Erstellen")).to_be_visible()
        _no_english(page, "button", ["Create user", "Create", f"Edit {owner.email}"])
        _check(page, "admin-users-de", width)

        # Server Status: the photo count with German thousands dots
        tabs.get_by_role("link", name="Serverstatus").click()
        expect(page.get_by_role("heading", name="Nutzung pro Benutzer")).to_be_visible()
        totals = page.get_by_label("Gesamt")
        photos = admin.client.get("/api/server/statistics").json()["photos"]
        assert photos >= SEEDED
        german = f"{photos:,}".replace(",", ".")
        expect(totals.get_by_text(german, exact=True).first).to_be_visible()
        expect(totals.get_by_text("Belegter Speicher", exact=True)).to_be_visible()
        _no_english(page, "heading", ["Server status", "Usage by user"])
        _check(page, "admin-status-de", width)

        # Jobs: queue titles, commands, the counts' names and the refresh time by Intl
        tabs.get_by_role("link", name="Aufgaben").click()
        queue = page.locator('li[data-queue="thumbnailGeneration"]')
        expect(
            queue.get_by_role("heading", name=re.compile("^Miniaturansichten erzeugen"))
        ).to_be_visible()
        commands = queue.get_by_role("group", name="Befehle für Miniaturansichten erzeugen")
        for button in ("Fehlende", "Alle", "Pausieren", "Leeren"):
            expect(commands.get_by_role("button", name=button, exact=True)).to_be_visible()
        expect(queue.get_by_text("wartend", exact=True)).to_be_visible()
        expect(
            page.get_by_text(re.compile(r"aktualisiert; zuletzt um \d{2}:\d{2}:\d{2}\."))
        ).to_be_visible()
        _no_english(page, "button", ["Missing", "All", "Pause", "Empty"])
        assert queue.get_by_text("waiting", exact=True).count() == 0
        _check(page, "admin-jobs-de", width)

        # System settings: section titles
        tabs.get_by_role("link", name="Einstellungen").click()
        settings = page.get_by_role("region", name="Systemeinstellungen")
        expect(settings.get_by_text("Bildeinstellungen", exact=True)).to_be_visible()
        settings.get_by_text("Papierkorb", exact=True).click()
        trash = settings.get_by_role("form", name="Papierkorb")
        expect(trash.get_by_role("button", name="Auf Standard zurücksetzen")).to_be_visible()
        # the fields' labels too (the spec's config keys have messages: `days` is "Tage")
        expect(trash.get_by_label("Tage", exact=True)).to_be_visible()
        assert trash.get_by_label("Days", exact=True).count() == 0
        assert settings.get_by_text("Image settings", exact=True).count() == 0
        _no_english(trash, "button", ["Reset to default", "Save"])
        _check(page, "admin-settings-de", width)

        # External libraries and backups
        tabs.get_by_role("link", name="Externe Bibliotheken").click()
        expect(page.get_by_role("button", name="Bibliothek erstellen")).to_be_visible()
        page.get_by_role("button", name="Bibliothek erstellen").click()
        expect(page.get_by_label("Importpfade (einer pro Zeile)")).to_be_visible()
        _no_english(page, "button", ["Create library", "Refresh"])
        _check(page, "admin-libraries-de", width)
        # a listed backup (its name is tens of characters) must not widen a phone's page
        take_backup(admin)
        tabs.get_by_role("link", name="Sicherungen").click()
        expect(page.get_by_role("heading", name="Datenbanksicherungen")).to_be_visible()
        expect(page.locator("tr[data-backup]").first).to_be_visible()
        expect(page.get_by_role("button", name="Jetzt sichern")).to_be_visible()
        _no_english(page, "button", ["Back up now"])
        _check(page, "admin-backups-de", width)
        assert page.errors == []
    finally:
        page.context.close()


@pytest.mark.parametrize("width", [1280, PHONE])
def test_sign_in_onboarding_locked_and_not_found_in_french(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int
) -> None:
    needs_build()
    admin: User = request.getfixturevalue("admin")
    user = library_owner(stack, request)

    # the login page, signed out
    page = _page(browser, stack, "fr-FR", width, None)
    try:
        page.goto("/auth/login")
        expect(page.get_by_role("heading", name="Se connecter à Darkroom")).to_be_visible()
        expect(page.get_by_label("Mot de passe")).to_be_visible()
        expect(page.get_by_role("button", name="Se connecter", exact=True)).to_be_visible()
        _no_english(page, "button", ["Log in"])
        _no_english(page, "heading", ["Log in to Darkroom"])
        _check(page, "login-fr", width)
        assert page.errors == []
    finally:
        page.context.close()

    # the locked folder's PIN set-up and the not-found page, as a user without a PIN
    page = _page(browser, stack, "fr-FR", width, user)
    try:
        page.goto("/locked")
        setup = page.get_by_role("form", name="Configurer un code PIN")
        expect(setup.get_by_label("Nouveau code PIN")).to_be_visible()
        expect(setup.get_by_role("button", name="Créer le code PIN")).to_be_visible()
        expect(page.get_by_role("heading", name="Dossier verrouillé")).to_be_visible()
        assert page.get_by_role("form", name="Set up a PIN code").count() == 0
        _no_english(page, "button", ["Create PIN code"])
        _check(page, "locked-fr", width)

        page.goto("/pas-de-page-ici")
        expect(page.get_by_role("heading", name="Page introuvable")).to_be_visible()
        expect(page.get_by_test_id("not-found")).to_contain_text(
            "Il n'y a pas de page à l'adresse /pas-de-page-ici. Le lien est peut-être mal saisi"
        )
        expect(page.get_by_role("link", name="Aller aux photos")).to_be_visible()
        _no_english(page, "link", ["Go to Photos"])
        _check(page, "not-found-fr", width)
        assert page.errors == []
    finally:
        page.context.close()

    # the admin's onboarding (turned back on for this test, then off again)
    assert admin.client.post(ONBOARDING, json={"isOnboarded": False}).status_code == 204
    page = _page(browser, stack, "fr-FR", width, admin)
    try:
        page.goto("/")
        page.wait_for_url("**/onboarding")
        expect(page.get_by_text("Étape 1 sur 3", exact=True)).to_be_visible()
        expect(page.get_by_role("heading", name="Thème")).to_be_visible()
        expect(page.get_by_label("Comme le système")).to_be_visible()
        _no_english(page, "heading", ["Theme"])
        _no_english(page, "button", ["Next"])
        _check(page, "onboarding-fr", width)
        page.get_by_role("button", name="Suivant").click()
        expect(page.get_by_role("heading", name="Confidentialité")).to_be_visible()
        expect(page.get_by_label("Afficher la carte")).to_be_visible()
        _check(page, "onboarding-privacy-fr", width)
        assert page.errors == []
    finally:
        page.context.close()
        admin.client.post(ONBOARDING, json={"isOnboarded": True})
