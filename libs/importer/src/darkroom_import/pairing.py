"""Which JSON sidecar of a Google Takeout export belongs to which media file, and which folders
are albums. Pure functions over names: no I/O.

Takeout writes, beside each media file, a JSON named after it, with quirks that differ between
exports (as observed and discussed by the tools that read them: immich-go issues #35, #12, #674,
#698 and #884; ente PR #4956; GooglePhotosTakeoutHelper issues #8 and #353):

- ``IMG_1234.jpg.json`` (older exports) or ``IMG_1234.jpg.supplemental-metadata.json`` (since
  late 2024), where the ``supplemental-metadata`` part is cut short to fit a 51-character file
  name (``.supplemental-metad.json``, ``.suppl.json``, ``.s.json``...).
- Long names are cut: the JSON's stem keeps the first 46 characters of the media's name, the
  media file keeps the first 47 characters of its stem plus its extension
  (``PXL_..._ORIGINAL.jpg`` -> ``PXL_..._ORIGINA.jpg`` + ``PXL_..._ORIGIN.json``); the full name
  is in the JSON's ``title``.
- A second file of the same name in a folder is ``IMG_1234(1).jpg``; its JSON puts the counter
  after the extension, ``IMG_1234.jpg(1).json`` or ``IMG_1234.jpg.supplemental-metadata(1).json``.
- Some JSONs lack the media's extension (``Peanut Butter Balls.supplemental-metadata.json``).
- An edit made in Google Photos is exported as an extra file ``IMG_1234-edited.jpg`` (the suffix
  is localised) without a JSON of its own: it shares the original's. It is imported as an asset
  of its own with the original's JSON (as immich-go does), under its own file name.
- The video half of a Live/Motion Photo (``IMG_1234.MP4``) shares the still's JSON
  (``IMG_1234.HEIC.json``).
- An album folder has a ``metadata.json`` (localised name) with the album's ``title``; the
  ``Photos from YYYY`` folders (localised) are not albums.

The matching goes from the media name to candidate JSON names (the direction that is
deterministic), within one folder; the folder is the media's parent folder name, so a file and
its JSON in different parts of a split export still meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

#: The suffix newer exports put between the media name and ``.json`` (cut short when long).
SUPPLEMENTAL = "supplemental-metadata"

#: Takeout's cut of a JSON file's stem, in characters (51-character names minus ``.json``).
JSON_STEM_LIMIT = 46

#: Suffixes Google Photos gives an edited copy, by language (immich-go issue #162 names the
#: English, German, French and Spanish ones; the others as seen in exports).
EDITED_SUFFIXES = (
    "-edited",
    "-bearbeitet",
    "-modifié",
    "-editado",
    "-editada",
    "-modificato",
    "-bewerkt",
    "-redigeret",
    "-redigert",
    "-muokattu",
    "-edytowane",
)

#: The year folders (``Photos from 2019``) in the languages Takeout writes them: not albums.
YEAR_FOLDER = re.compile(
    r"^(Photos from|Fotos von|Photos de|Fotos de|Foto dal|Foto del|Foto's uit|Fotos fra|"
    r"Zdjęcia z|Фото за) \d{4}$",
    re.IGNORECASE,
)

#: Folders Takeout writes that hold no album (lower case).
NOT_ALBUMS = frozenset({"trash", "bin", "archive", "failed videos", "locked folder"})

_COUNTER = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)$")
_MEDIA_COUNTER = re.compile(r"^(?P<stem>.*)\((?P<n>\d+)\)(?P<ext>\.[^.]+)$")


@dataclass(frozen=True)
class JsonKey:
    """What a sidecar's file name says about the media it describes.

    Attributes:
        raw: the stem as written (``IMG_1234.jpg.supplemental-metadata`` without its counter).
        stem: ``raw`` without a (possibly cut) ``.supplemental-metadata`` part.
        counter: the ``(n)`` of a same-name duplicate; 0 for none.
    """

    raw: str
    stem: str
    counter: int


def json_key(json_name: str) -> JsonKey:
    """Read a sidecar's file name.

    Args:
        json_name: the JSON's file name, e.g. ``IMG_1234.jpg.supplemental-me(1).json``.

    Returns:
        Its stem, the stem without the supplemental-metadata part, and its counter.
    """
    stem = json_name[: -len(".json")] if json_name.lower().endswith(".json") else json_name
    counter = 0
    match = _COUNTER.match(stem)
    if match:
        stem, counter = match["stem"], int(match["n"])
    head, dot, last = stem.rpartition(".")
    stripped = head if dot and head and SUPPLEMENTAL.startswith(last) else stem
    return JsonKey(raw=stem, stem=stripped, counter=counter)


@dataclass(frozen=True)
class MediaName:
    """A media file's name taken apart.

    Attributes:
        name: the name without a duplicate counter (``IMG_1234(1).jpg`` -> ``IMG_1234.jpg``).
        counter: the duplicate counter; 0 for none.
        original: for an edited copy, the original's name (``IMG_1234-edited.jpg`` ->
            ``IMG_1234.jpg``); None otherwise.
    """

    name: str
    counter: int
    original: str | None


def media_name(file_name: str) -> MediaName:
    """Take a media file's name apart (:class:`MediaName`)."""
    name, counter = file_name, 0
    match = _MEDIA_COUNTER.match(file_name)
    if match:
        name, counter = match["stem"] + match["ext"], int(match["n"])
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    original = None
    for suffix in EDITED_SUFFIXES:
        if stem.lower().endswith(suffix) and len(stem) > len(suffix):
            original = stem[: -len(suffix)] + (f".{ext}" if dot else "")
            break
    return MediaName(name=name, counter=counter, original=original)


def _without_ext(name: str) -> str:
    head, dot, _ = name.rpartition(".")
    return head if dot and head else name


def candidates(file_name: str) -> list[tuple[str, int]]:
    """The sidecar keys (stem, counter) that may describe ``file_name``, most likely first.

    Args:
        file_name: a media file's name as in the export.

    Returns:
        ``(stem, counter)`` pairs to look up among the folder's sidecars (by
        :attr:`JsonKey.stem` or :attr:`JsonKey.raw`).
    """
    parsed = media_name(file_name)
    out: list[tuple[str, int]] = []

    def add(name: str, counter: int) -> None:
        for key in (
            (name, counter),
            (name[:JSON_STEM_LIMIT], counter),
            (_without_ext(name), counter),
        ):
            if key not in out:
                out.append(key)

    add(parsed.name, parsed.counter)
    if parsed.counter:  # a name that really ends in "(2)", not a Takeout duplicate
        add(file_name, 0)
    if parsed.original is not None:
        add(parsed.original, parsed.counter)
    return out


def pair_folder(media: Iterable[str], sidecars: Mapping[str, str | None]) -> dict[str, str | None]:
    """Pair each media file of one folder with its sidecar.

    Args:
        media: the media files' names in the folder (across every part of the export).
        sidecars: the folder's media sidecars: file name -> the ``title`` inside (the media's
            full original name), or None when the JSON has none.

    Returns:
        Media file name -> its sidecar's file name, or None when none matches. A sidecar may
        serve several files (an edited copy, a motion photo's video).
    """
    by_key: dict[tuple[str, int], str] = {}
    by_title: dict[tuple[str, int], str] = {}
    by_base: dict[tuple[str, int], str] = {}
    for name in sorted(sidecars):
        key = json_key(name)
        by_key.setdefault((key.stem, key.counter), name)
        by_key.setdefault((key.raw, key.counter), name)
        by_base.setdefault((_without_ext(key.stem), key.counter), name)
        title = sidecars[name]
        if title:
            by_title.setdefault((title, key.counter), name)
    out: dict[str, str | None] = {}
    for file_name in media:
        parsed = media_name(file_name)
        found = next((by_key[k] for k in candidates(file_name) if k in by_key), None)
        if found is None:  # a name cut in a way the rules above miss: the title inside
            found = by_title.get((parsed.name, parsed.counter))
        if found is None:  # a Live/Motion Photo's video: the still's JSON
            found = by_base.get((_without_ext(parsed.name), parsed.counter))
        out[file_name] = found
    return out


def album_title(folder: str, metadata_title: str | None) -> str | None:
    """The album a folder of the export stands for.

    Args:
        folder: the folder's name (``Photos from 2019``, ``Summer in Rome``).
        metadata_title: the ``title`` of the folder's ``metadata.json``, when it has one.

    Returns:
        The album's name (the metadata's title, else the folder's name), or None for a year
        folder or another folder that is no album (trash, archive).
    """
    if YEAR_FOLDER.match(folder) or folder.lower() in NOT_ALBUMS:
        return None
    if metadata_title and metadata_title.strip():
        return metadata_title.strip()
    return folder
