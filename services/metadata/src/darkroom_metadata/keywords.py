"""Keywords of a photo as tag paths (Immich's ``getTagList`` in its metadata service).

Sources, first one present wins (as Immich reads exiftool's tags):

1. digiKam ``Xmp.digiKam.TagsList``: already paths, ``/``-separated (``Places/Japan``);
2. Lightroom ``Xmp.lr.hierarchicalSubject``: ``|``-separated (``Places|Japan``); a ``/``
   inside one level becomes ``|`` so it does not split the level (Immich does the same);
3. flat keywords: IPTC ``Iptc.Application2.Keywords`` and XMP ``Xmp.dc.subject`` (both, each
   keyword once, in that order).

The result feeds ``darkroom_db.tags.upsert_paths``, which creates the parents of each path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _values(value: Any) -> list[str]:
    """A tag value as pyexiv2 gives it (a list for bags/repeatable tags, else one string) as a
    list of its non-blank strings, stripped."""
    items = value if isinstance(value, list) else [value]
    texts = [str(v).strip() for v in items if v is not None]
    return [t for t in texts if t]


def tag_paths(xmp: Mapping[str, Any], iptc: Mapping[str, Any]) -> list[str] | None:
    """The tag paths a file's XMP/IPTC carries, or None when it has no keywords at all.

    Args:
        xmp: pyexiv2 XMP tags (key -> value).
        iptc: pyexiv2 IPTC tags (key -> value).

    Returns:
        Paths with ``/`` between levels, each once, in the file's order; None when none of the
        sources is present (so a sidecar without keywords leaves the file's keywords alone).
    """
    digikam = _values(xmp.get("Xmp.digiKam.TagsList"))
    if digikam:
        return list(dict.fromkeys(digikam))
    lightroom = _values(xmp.get("Xmp.lr.hierarchicalSubject"))
    if lightroom:
        paths = ["/".join(level.replace("/", "|") for level in s.split("|")) for s in lightroom]
        return list(dict.fromkeys(paths))
    flat = _values(iptc.get("Iptc.Application2.Keywords")) + _values(xmp.get("Xmp.dc.subject"))
    return list(dict.fromkeys(flat)) or None
