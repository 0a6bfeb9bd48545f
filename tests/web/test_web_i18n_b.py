"""Languages of the web app, part b (issue #22 item 7): the viewer, the selection bar, albums,
sharing (partners, shared links, the public shared page) and memories in German and French.

``test_pages_in_german_and_french`` opens, in a browser whose language is German or French
(``locale`` of the context, so the app follows ``navigator.languages``), at desktop (1280) and
phone (390) width: Photos (the memory lane card "Vor 1 Jahr, 2 Elemente"), Albums, an album with
one photo selected (header and selection bar), the viewer with its info panel and "More" menu,
Sharing, Shared links and the public page of a shared link (logged out). On each it asserts
translated names and texts are shown and the English ones of these pages are not; that the info
panel's date and size are written by ``Intl`` in the app's language (a German / French month
name, "4.032 × 3.024" / "4 032 × 3 024") and the
shared link's expiry as that language writes a medium date ("15.03.2030", "15 mars 2030"); that
no page is wider than the window at 390 px (German and French words are longer); and axe finds
no serious WCAG violation. Screenshots: ``test-output/web/i18n-b-<locale>-<page>-<width>.png``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
    watch_errors,
)

PHONE = 390
GERMAN_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
FRENCH_MONTHS = (
    "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
)
#: The shared link's expiry (its medium date is checked per language).
EXPIRES = "2030-03-15T12:00:00.000Z"

#: What each page must show in each language (accessible names and visible texts).
TEXT = {
    "de": {
        "memory": "Vor 1 Jahr, 2 Elemente",
        "albums": "Alben",
        "create_album": "Album erstellen",
        "three_items": "3 Elemente",
        "add_photos": "Fotos hinzufügen",
        "delete_album": "Album löschen",
        "toolbar": "Auswahl",
        "one_selected": "1 ausgewählt",
        "remove_from_album": "Aus Album entfernen",
        "clear": "Auswahl aufheben",
        "viewer": "Medienansicht",
        "close_viewer": "Ansicht schließen",
        "info": "Info",
        "taken": "Aufgenommen",
        "months": GERMAN_MONTHS,
        "size": "Größe",
        "pixels": r"^\d\.\d{3} × \d\.\d{3}$",
        "more": "Mehr",
        "slideshow": "Diashow",
        "sharing": "Teilen",
        "shared_with_me": "Mit mir geteilt",
        "shared_links": "Geteilte Links",
        "expires": "Läuft ab am 15.03.2030",
        "copy_link": "Link zu Urlaub kopieren",
        "shared_by": "Geteilt von",
        "open_photo": "Foto öffnen",
    },
    "fr": {
        "memory": "Il y a 1 an, 2 éléments",
        "albums": "Albums",
        "create_album": "Créer un album",
        "three_items": "3 éléments",
        "add_photos": "Ajouter des photos",
        "delete_album": "Supprimer l'album",
        "toolbar": "Sélection",
        "one_selected": "1 sélectionné",
        "remove_from_album": "Retirer de l'album",
        "clear": "Effacer la sélection",
        "viewer": "Visionneuse",
        "close_viewer": "Fermer la visionneuse",
        "info": "Infos",
        "taken": "Prise le",
        "months": FRENCH_MONTHS,
        "size": "Taille",
        "pixels": r"^\d\s\d{3} × \d\s\d{3}$",
        "more": "Plus",
        "slideshow": "Diaporama",
        "sharing": "Partage",
        "shared_with_me": "Partagé avec moi",
        "shared_links": "Liens partagés",
        "expires": "Expire le 15 mars 2030",
        "copy_link": "Copier le lien vers Urlaub",
        "shared_by": "Partagé par",
        "open_photo": "Ouvrir la photo",
    },
}

#: English names of these pages' buttons and headings: none may be left in another language.
ENGLISH = [
    "Create album",
    "My albums",
    "Add photos",
    "Delete album",
    "Remove from album",
    "Clear selection",
    "Close viewer",
    "Taken",
    "Slideshow",
    "Shared with me",
    "Shared links",
    "Never expires",
    "Copy",
    "Shared by",
    "Open photo",
]


@dataclass
class Library:
    stack: Stack
    user: User
    album_id: str
    asset_ids: list[str]
    link_key: str


@pytest.fixture(scope="module")
def library(request: pytest.FixtureRequest) -> Library:
    """A user with six photos of 2021, an album "Urlaub" of three of them shared by a link that
    expires on 15 March 2030, and a memory of a year ago shown today (two photos)."""
    needs_build()
    stack: Stack = request.getfixturevalue("stack")
    user = library_owner(stack, request)
    seed(stack, user.id, 6, 2021, 2021)
    r = user.client.post("/api/search/metadata", json={"size": 10})
    assert r.status_code == 200, r.text
    ids = [a["id"] for a in r.json()["assets"]["items"]]
    assert len(ids) == 6, r.text
    r = user.client.post("/api/albums", json={"albumName": "Urlaub", "assetIds": ids[:3]})
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]
    r = user.client.post(
        "/api/shared-links", json={"type": "ALBUM", "albumId": album_id, "expiresAt": EXPIRES}
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    now = datetime.now(UTC)
    r = user.client.post(
        "/api/memories",
        json={
            "type": "on_this_day",
            "data": {"year": now.year - 1},
            "memoryAt": now.replace(year=now.year - 1, day=min(now.day, 28)).isoformat(),
            "assetIds": ids[3:5],
            "showAt": (now - timedelta(days=2)).isoformat(),
            "hideAt": (now + timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    return Library(stack, user, album_id, ids, key)


def _no_english(page: object) -> None:
    """None of ENGLISH is a visible text or a button/heading/link name on the page."""
    for text in ENGLISH:
        for role in ("button", "heading", "link"):
            found = page.get_by_role(role, name=text, exact=True)  # type: ignore[attr-defined]
            assert found.count() == 0, f"English {role} {text!r} left on {page.url}"  # type: ignore[attr-defined]
        visible = page.get_by_text(text, exact=True).filter(visible=True)  # type: ignore[attr-defined]
        assert visible.count() == 0, f"English text {text!r} left on {page.url}"


def _fits(page: object, width: int) -> None:
    """Nothing makes the page wider than the window (long German/French labels wrap)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # type: ignore[attr-defined]


def _check(page: object, name: str, width: int) -> None:
    _no_english(page)
    _fits(page, width)
    shot(page, f"{name}-{width}")
    assert axe_violations(page) == []


@pytest.mark.parametrize("lang", ["de", "fr"])
@pytest.mark.parametrize("width", [1280, PHONE])
def test_pages_in_german_and_french(
    library: Library, browser: object, lang: str, width: int
) -> None:
    text = TEXT[lang]
    name = f"i18n-b-{lang}"
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 800},
        base_url=library.stack.url,
        locale={"de": "de-DE", "fr": "fr-FR"}[lang],
    )
    context.set_default_timeout(TIMEOUT_MS)
    user = library.user
    login = context.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 201, login.text()
    page = context.new_page()
    errors = watch_errors(page)
    try:
        # Photos: the memory lane's card, titled and counted in the language
        page.goto("/photos")
        expect(page.locator("html")).to_have_attribute("lang", lang)
        lane = page.get_by_test_id("memory-lane")
        expect(lane.get_by_role("button", name=text["memory"])).to_be_visible()

        # Albums
        page.goto("/albums")
        expect(page.get_by_role("heading", name=text["albums"], level=1)).to_be_visible()
        expect(page.get_by_role("button", name=text["create_album"])).to_be_visible()
        expect(page.locator(f'a[data-album-id="{library.album_id}"]')).to_contain_text(
            text["three_items"]
        )
        _check(page, f"{name}-albums", width)

        # One album: its header, then one photo selected (the selection bar)
        page.goto(f"/albums/{library.album_id}")
        expect(page.get_by_role("button", name=text["add_photos"])).to_be_visible()
        expect(page.get_by_role("button", name=text["delete_album"])).to_be_visible()
        first = library.asset_ids[0]
        page.locator(f'main a[data-asset-id="{first}"]').hover()
        page.locator(f'button[data-select-id="{first}"]').click()
        bar = page.get_by_role("toolbar", name=text["toolbar"])
        expect(bar.get_by_test_id("selection-count")).to_have_text(text["one_selected"])
        remove = bar.get_by_role("button", name=text["remove_from_album"])
        expect(remove).to_be_visible()
        # every action within the window (icons only when the labels are too long to fit)
        for button in bar.get_by_role("button").all():
            box = button.bounding_box()
            assert box is not None and box["x"] + box["width"] <= width, button.inner_text()
        _check(page, f"{name}-album-selected", width)
        bar.get_by_role("button", name=text["clear"]).click()
        expect(bar).to_have_count(0)

        # The viewer: its bar, the info panel's date in the language's words, the More menu
        page.goto(f"/albums/{library.album_id}/photos/{first}")
        viewer = page.get_by_role("dialog", name=text["viewer"])
        expect(viewer.get_by_role("button", name=text["close_viewer"])).to_be_visible()
        info = viewer.get_by_role("button", name=text["info"], exact=True)
        if info.get_attribute("aria-pressed") != "true":
            info.click()
        panel = page.get_by_role("complementary", name=text["info"], exact=True)
        taken = panel.locator("dt", has_text=text["taken"])
        expect(taken).to_be_visible()
        date = taken.locator("xpath=following-sibling::dd[1]")
        expect(date).to_have_text(re.compile(rf"\b({text['months']}) 2021\b"))
        # the photo's size in pixels, with the language's thousands separator
        size = panel.locator("dt", has_text=text["size"]).locator("xpath=following-sibling::dd[1]")
        expect(size).to_have_text(re.compile(text["pixels"]))
        viewer.get_by_role("button", name=text["more"], exact=True).click()
        menu = page.get_by_role("menu")
        expect(menu.get_by_role("menuitem", name=text["slideshow"])).to_be_visible()
        _check(page, f"{name}-viewer", width)
        page.keyboard.press("Escape")
        expect(menu).to_have_count(0)

        # Sharing, then Shared links with the expiry as the language writes a date
        page.goto("/sharing")
        expect(page.get_by_role("heading", name=text["sharing"], level=1)).to_be_visible()
        expect(page.get_by_role("heading", name=text["shared_with_me"])).to_be_visible()
        _check(page, f"{name}-sharing", width)
        page.goto("/sharing/sharedlinks")
        expect(page.get_by_role("heading", name=text["shared_links"], level=1)).to_be_visible()
        item = page.locator("li[data-link-id]").first
        expect(item).to_contain_text(text["expires"])
        expect(item.get_by_role("button", name=text["copy_link"], exact=True)).to_be_visible()
        _check(page, f"{name}-shared-links", width)
        assert errors == []
    finally:
        context.close()

    # The public page of the link, for a visitor whose browser speaks the language
    visitor = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 800},
        base_url=library.stack.url,
        locale={"de": "de-DE", "fr": "fr-FR"}[lang],
    )
    visitor.set_default_timeout(TIMEOUT_MS)
    page = visitor.new_page()
    errors = watch_errors(page)
    try:
        page.goto(f"/share/{library.link_key}")
        expect(page.get_by_role("heading", name="Urlaub")).to_be_visible()
        expect(page.get_by_text(text["shared_by"])).to_be_visible()
        expect(page.get_by_role("button", name=text["open_photo"])).to_have_count(3)
        expect(page.get_by_text(text["three_items"], exact=True)).to_be_visible()
        _check(page, f"{name}-shared-page", width)
        assert errors == []
    finally:
        visitor.close()
