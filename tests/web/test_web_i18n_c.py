"""Languages of the web app, share (c) of issue #22 item 7: the timeline, search, people, map,
tags, utilities, folders and explore pages, the upload, notification and shortcut panels.

- ``test_pages_are_translated``: at desktop (1280 px) and phone (390 px) width, in German and in
  French (the browser's language, ``Accept-Language``/``navigator.languages``), each page of this
  share shows its own texts in that language (headings, buttons, labels: by their accessible
  names), none of a list of its English texts is left (visible text or accessible name), dates
  and numbers are written by ``Intl`` in the app's locale (a tile's "Foto vom 1. Januar 2021"; the
  coordinates placed by Geolocation as "48,85660"), axe is clean, nothing sticks out sideways at
  phone width, and each page is saved as ``test-output/web/i18n-c-<lang>-<page>-<width>.png``.
- ``test_smart_search_sends_the_ui_language``: on a stack with a (tiny) CLIP model, the search
  page's smart search sends the app's locale as the spec's ``SmartSearchDto.language`` ("de" for
  a German browser, "fr" once Settings › Language says French), and the server answers it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from darkroom_stack.supervisor import Stack
from playwright.sync_api import expect

from tests.conftest import User, first_admin, running_clip_stack
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
MODEL = "Tiny-CLIP__i18n"

#: What each language writes, by what it names (the app's messages, src/i18n/<lang>/*.json).
TEXT = {
    "de": {
        "months": (
            "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
        ),
        "photo_taken": "Foto vom",
        "upload": "Fotos und Videos hochladen",
        "scrubber": "Zeitleisten-Navigation",
        "search_by": "Suchen nach",
        "search_filters": "Suchfilter",
        "city": "Stadt",
        "favorites_only": "Nur Favoriten",
        "search_hint": "Gib oben in die Suchleiste etwas ein oder wähle Filter.",
        "people": "Personen",
        "no_people": "Noch keine Personen",
        "show_hidden": "Ausgeblendete anzeigen",
        "map": "Karte",
        "map_filters": "Kartenfilter",
        "include_archived": "Archivierte einbeziehen",
        "zoom_in": "Vergrößern",
        "tags": "Tags",
        "new_tag": "Neues Tag",
        "no_tags": "Noch keine Tags.",
        "utilities": "Werkzeuge",
        "review_duplicates": "Duplikate prüfen",
        "large_files": "Große Dateien",
        "any_size": "Jede Größe",
        "geolocation": "Geolokalisierung",
        "latitude": "Breitengrad",
        "longitude": "Längengrad",
        "placed": re.compile(r"^1 Foto bei 48,85660; 2,35220 platziert$"),
        "place_one": "1 Foto hier platzieren",
        "one_with_location": "1 Foto mit Ort",
        "folders": "Ordner",
        "explore": "Entdecken",
        "places": "Orte",
        "show_on_map": "Auf der Karte zeigen",
        "shortcuts": "Tastenkürzel",
        "ctrl": "Strg",
        "notifications": "Benachrichtigungen",
        "none_unread": "Du bist auf dem neuesten Stand.",
    },
    "fr": {
        "months": (
            "janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre|novembre|décembre"
        ),
        "photo_taken": "Photo prise le",
        "upload": "Téléverser des photos et des vidéos",
        "scrubber": "Navigation dans la chronologie",
        "search_by": "Rechercher par",
        "search_filters": "Filtres de recherche",
        "city": "Ville",
        "favorites_only": "Favoris uniquement",
        "search_hint": (
            "Saisissez du texte dans la barre de recherche ci-dessus ou choisissez des filtres."
        ),
        "people": "Personnes",
        "no_people": "Aucune personne pour le moment",
        "show_hidden": "Afficher les personnes masquées",
        "map": "Carte",
        "map_filters": "Filtres de la carte",
        "include_archived": "Inclure les archives",
        "zoom_in": "Zoom avant",
        "tags": "Étiquettes",
        "new_tag": "Nouvelle étiquette",
        "no_tags": "Aucune étiquette pour le moment.",
        "utilities": "Utilitaires",
        "review_duplicates": "Examiner les doublons",
        "large_files": "Fichiers volumineux",
        "any_size": "N'importe quelle taille",
        "geolocation": "Géolocalisation",
        "latitude": "Latitude",
        "longitude": "Longitude",
        # Intl's French puts a narrow no-break space before nothing here: a decimal comma
        "placed": re.compile(r"^1 photo placée à 48,85660 ; 2,35220$"),
        "place_one": "Placer 1 photo ici",
        "one_with_location": "1 photo avec un lieu",
        "folders": "Dossiers",
        "explore": "Explorer",
        "places": "Lieux",
        "show_on_map": "Afficher sur la carte",
        "shortcuts": "Raccourcis clavier",
        "ctrl": "Ctrl",
        "notifications": "Notifications",
        "none_unread": "Vous êtes à jour.",
    },
}

#: English texts of these pages that must be gone in another language (text or accessible name).
ENGLISH = {
    "photos": ["Upload photos and videos", "Timeline scrubber", "Select day", "Photo taken on"],
    "search": ["Search by", "Search filters", "Favorites only", "Camera make", "Taken after"],
    "people": ["Show hidden", "No people yet: faces are found in photos after upload."],
    "map": ["Map filters", "Include archived", "Shared albums", "Map of your photos", "Zoom in"],
    "tags": ["New tag", "No tags yet. Create one here, or tag photos from the viewer."],
    "utilities": ["Review duplicates", "Large files", "Place photos without GPS on the map."],
    "large-files": ["Any size", "At least 1 MiB", "Show"],
    # (not "Latitude"/"Longitude": French writes them the same)
    "geolocation": [
        "Photos without location",
        "Pick photos without a location, then click the map where they were taken.",
        "Select all",
    ],
    "folders": ["Folders", "Choose a folder.", "Sub-folders"],
    "explore": ["Explore", "Show on map", "Places"],
}


def _english_left(page: object, texts: list[str]) -> list[str]:
    """Those of ``texts`` the page still shows, as visible text or as an accessible name."""
    return page.evaluate(  # type: ignore[attr-defined]
        """(texts) => {
          const seen = new Set();
          for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            const visible = box.width > 0 && box.height > 0;
            for (const attr of ['aria-label', 'title', 'placeholder', 'alt'])
              if (el.hasAttribute(attr)) seen.add(el.getAttribute(attr).trim());
            if (!visible) continue;
            for (const node of el.childNodes)
              if (node.nodeType === Node.TEXT_NODE && node.textContent.trim())
                seen.add(node.textContent.replace(/\\s+/g, ' ').trim());
          }
          const all = [...seen];
          return texts.filter((t) => all.some((s) => s === t || s.startsWith(t + ' ')));
        }""",
        texts,
    )


def _sticking_out(page: object) -> list[str]:
    """Visible headings, buttons, labels and links of the page's content whose right edge is
    past the window's (longer German and French words must wrap, not overflow)."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => [...document.querySelectorAll(
              'main h1, main h2, main button, main label, main a, .page h1, .page button,'
              + ' .page label, .layout h1, .layout button, .layout label, .layout a')]
            .filter((el) => !el.closest('.actions, .scrubber, .leaflet-container'))
            .filter((el) => {
              const box = el.getBoundingClientRect();
              return box.width > 0 && box.right > window.innerWidth + 1;
            })
            .map((el) => `${el.tagName} ${el.textContent.trim().slice(0, 40)}`)"""
    )


def _check(page: object, lang: str, name: str, width: int) -> None:
    """Nothing of ``name``'s English left, axe clean, nothing sideways at phone width, a shot."""
    assert _english_left(page, ENGLISH.get(name, [])) == [], name
    if width == PHONE:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE, name  # type: ignore[attr-defined]
        assert _sticking_out(page) == [], name
    shot(page, f"i18n-c-{lang}-{name}-{width}")
    assert axe_violations(page) == [], name


def _browser_page(browser: object, stack: Stack, user: User, width: int, locale: str) -> object:
    """A page of a browser whose language is ``locale``, signed in as ``user``."""
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": width, "height": 800}, base_url=stack.url, locale=locale
    )
    context.set_default_timeout(TIMEOUT_MS)
    login = context.request.post(
        "/api/auth/login", data={"email": user.email, "password": user.password}
    )
    assert login.status == 201, login.text()
    page = context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    return page


@pytest.mark.parametrize("lang", ["de", "fr"])
@pytest.mark.parametrize("width", [1280, PHONE])
def test_pages_are_translated(
    stack: Stack, browser: object, request: pytest.FixtureRequest, width: int, lang: str
) -> None:
    needs_build()
    text = TEXT[lang]
    user = library_owner(stack, request)
    seed(stack, user.id, 6, 2021, 2021)
    page = _browser_page(browser, stack, user, width, f"{lang}-{lang.upper()}")
    try:
        # Photos: the upload button, the scrubber, month headings and tile labels by Intl
        page.goto("/photos")  # type: ignore[attr-defined]
        expect(page.locator("html")).to_have_attribute("lang", lang)  # type: ignore[attr-defined]
        expect(page.get_by_role("button", name=text["upload"])).to_be_visible()  # type: ignore[attr-defined]
        months = re.compile(rf"({text['months']}) 2021", re.IGNORECASE)
        expect(page.get_by_role("heading", name=months).first).to_be_visible()  # type: ignore[attr-defined]
        tile = page.locator("main a[data-asset-id]").first  # type: ignore[attr-defined]
        expect(tile).to_have_attribute(
            "aria-label", re.compile(rf"^{text['photo_taken']} .*({text['months']}) 2021")
        )
        expect(page.get_by_role("navigation", name=text["scrubber"])).to_be_attached()  # type: ignore[attr-defined]
        _check(page, lang, "photos", width)

        # the "?" sheet and the bell (components of every page)
        page.keyboard.press("?")  # type: ignore[attr-defined]
        sheet = page.get_by_role("dialog", name=text["shortcuts"])  # type: ignore[attr-defined]
        expect(sheet).to_be_visible()
        expect(sheet.locator("kbd", has_text=text["ctrl"])).to_be_visible()
        shot(page, f"i18n-c-{lang}-shortcuts-{width}")
        assert axe_violations(page, "dialog[open]") == []
        page.keyboard.press("Escape")  # type: ignore[attr-defined]
        expect(sheet).to_be_hidden()
        page.get_by_role("button", name=re.compile(f"^{text['notifications']}, 0")).click()  # type: ignore[attr-defined]
        panel = page.get_by_role("region", name=text["notifications"])  # type: ignore[attr-defined]
        expect(panel.get_by_text(text["none_unread"])).to_be_visible()
        page.get_by_role("button", name=re.compile(f"^{text['notifications']}, 0")).click()  # type: ignore[attr-defined]

        # Search: mode picker, filters, hint
        page.goto("/search")  # type: ignore[attr-defined]
        expect(page.get_by_role("group", name=text["search_by"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_text(text["search_hint"])).to_be_visible()  # type: ignore[attr-defined]
        if width == PHONE:  # the filters fold behind a button on phones
            page.get_by_role("button", name=re.compile(r"^Filt")).click()  # type: ignore[attr-defined]
        form = page.get_by_role("form", name=text["search_filters"])  # type: ignore[attr-defined]
        expect(form.get_by_label(text["city"])).to_be_visible()
        expect(form.get_by_label(text["favorites_only"])).to_be_visible()
        _check(page, lang, "search", width)

        # People (no faces in a seeded library)
        page.goto("/people")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["people"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_text(text["no_people"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_label(text["show_hidden"])).to_be_attached()  # type: ignore[attr-defined]
        _check(page, lang, "people", width)

        # Tags
        page.goto("/tags")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["tags"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("textbox", name=text["new_tag"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_text(text["no_tags"])).to_be_visible()  # type: ignore[attr-defined]
        _check(page, lang, "tags", width)

        # Utilities, Large files
        page.goto("/utilities")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["utilities"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("link", name=text["review_duplicates"])).to_be_visible()  # type: ignore[attr-defined]
        _check(page, lang, "utilities", width)
        page.get_by_role("link", name=text["large_files"]).click()  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["large_files"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("combobox")).to_have_value("0")  # type: ignore[attr-defined]
        expect(page.get_by_role("option", name=text["any_size"])).to_be_attached()  # type: ignore[attr-defined]
        _check(page, lang, "large-files", width)

        # Geolocation: place one photo by typed coordinates; the status writes them in the
        # app's locale (a decimal comma in German and French)
        page.goto("/utilities/geolocation")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["geolocation"])).to_be_visible()  # type: ignore[attr-defined]
        page.locator(".list input[type=checkbox]").first.check()  # type: ignore[attr-defined]
        page.get_by_label(text["latitude"]).fill("48.8566")  # type: ignore[attr-defined]
        page.get_by_label(text["longitude"]).fill("2.3522")  # type: ignore[attr-defined]
        _check(page, lang, "geolocation", width)
        page.get_by_role("button", name=text["place_one"]).click()  # type: ignore[attr-defined]
        expect(page.get_by_role("status").filter(has_text=text["placed"])).to_be_visible()  # type: ignore[attr-defined]

        # Map: the placed photo counted in words of the language
        page.goto("/map")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["map"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("form", name=text["map_filters"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_label(text["include_archived"])).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_test_id("map-count")).to_contain_text(text["one_with_location"])  # type: ignore[attr-defined]
        expect(page.get_by_role("button", name=text["zoom_in"])).to_be_visible()  # type: ignore[attr-defined]
        _check(page, lang, "map", width)

        # Folders, Explore
        page.goto("/folders")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["folders"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        _check(page, lang, "folders", width)
        page.goto("/explore")  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["explore"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("heading", name=text["places"], exact=True)).to_be_visible()  # type: ignore[attr-defined]
        expect(page.get_by_role("link", name=text["show_on_map"])).to_be_visible()  # type: ignore[attr-defined]
        _check(page, lang, "explore", width)
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def clip_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose embedding and search services load a tiny random CLIP model."""
    pytest.importorskip("onnx")
    needs_build()
    with running_clip_stack(
        tmp_path_factory.mktemp("i18n-c-stack"), tmp_path_factory.mktemp("models"), MODEL
    ) as running:
        yield running


def test_smart_search_sends_the_ui_language(clip_stack: Stack, browser: object) -> None:
    user = first_admin(clip_stack)
    page = _browser_page(browser, clip_stack, user, 1280, "de-DE")
    try:
        page.goto("/search")  # type: ignore[attr-defined]
        smart = page.get_by_role("radio", name="Intelligent (Kontext)")  # type: ignore[attr-defined]
        expect(smart).to_be_enabled()
        expect(smart).to_be_checked()
        bar = page.get_by_role("search").get_by_role("searchbox")  # type: ignore[attr-defined]
        for lang, query in (("de", "ein Hund am Strand"), ("fr", "un chien sur la plage")):
            with page.expect_response(lambda r: r.url.endswith("/api/search/smart")) as answer:  # type: ignore[attr-defined]
                bar.fill(query)
                bar.press("Enter")
            sent = answer.value.request.post_data_json
            assert sent["query"] == query
            assert sent["language"] == lang, sent
            assert answer.value.status == 200, answer.value.text()
            results = "0 Ergebnisse" if lang == "de" else "0 résultat"
            expect(page.get_by_test_id("search-count")).to_have_text(results)  # type: ignore[attr-defined]
            assert page.get_by_test_id("search-notice").count() == 0  # type: ignore[attr-defined]
            shot(page, f"i18n-c-{lang}-smart-search")
            if lang == "de":  # Settings › Language: French on this browser, over the German
                page.goto("/settings")  # type: ignore[attr-defined]
                with page.expect_navigation():  # type: ignore[attr-defined]
                    page.get_by_label("Sprache der App in diesem Browser").select_option("fr")  # type: ignore[attr-defined]
                page.goto("/search")  # type: ignore[attr-defined]
                expect(page.locator("html")).to_have_attribute("lang", "fr")  # type: ignore[attr-defined]
                bar = page.get_by_role("search").get_by_role("searchbox")  # type: ignore[attr-defined]
        assert page.errors == []  # type: ignore[attr-defined]
    finally:
        page.context.close()  # type: ignore[attr-defined]
