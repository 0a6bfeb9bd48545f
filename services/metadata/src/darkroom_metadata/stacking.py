"""Automatic stacking at ingest: which assets belong together, and which one leads.

Pure functions, no I/O (the handler stores the key and stacks what :func:`plan` says).
Three kinds of group, each with its key (:func:`stack_key`):

- a RAW+JPEG pair: a camera RAW and a non-RAW image (JPEG, HEIC...) with the same base name
  (case-insensitive, ``IMG_0001.CR2`` + ``IMG_0001.JPG``) and the same capture time; the
  non-RAW image is the primary (browsers and the apps show it as it is);
- an iPhone burst: the Apple BurstUUID of the MakerNote (tag 0x000B, ExifTool's
  ``Image::ExifTool::Apple``);
- a Google/Samsung burst by its file names: ``…_BURST20240101123456789[_COVER].jpg`` (the
  digits after ``BURST`` are the burst's start time, shared by its photos) and
  ``IMG_20240101_123456_BURST001[_COVER].jpg`` (a prefix shared by the burst, a counter); the
  ``_COVER`` photo is the primary (else the first by name).

Immich 3.1 itself has no automatic stacking (users stack by hand; upload tools such as immich-go
offer RAW+JPEG and burst stacking); the name patterns are those of Google Camera and Samsung
burst files as issue #16 lists them.
"""

from __future__ import annotations

import re
from datetime import datetime

import msgspec
from darkroom_media import extension_of, media_type_for

#: ``…_BURST<14+ digits>…``: a burst start time shared by every photo of the burst.
_BURST_TIME = re.compile(r"_BURST(\d{14,})", re.IGNORECASE)
#: ``<prefix>_BURST<1-4 digits>…``: a counter after a prefix shared by the burst.
_BURST_COUNT = re.compile(r"^(.+?)_BURST\d{1,4}(?:_COVER)?$", re.IGNORECASE)


class Member(msgspec.Struct, frozen=True, kw_only=True):
    """An asset of a group, as the planner needs it."""

    id: str
    file_name: str
    stack_id: str | None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What to do with a group.

    Attributes:
        primary: The asset that leads a new stack; joining ``stack_id``, the joining member
            that becomes its primary (the group's lead, processed late), or None to keep it.
        stack_id: The existing stack the others join (None: make a new one).
        join: The assets to put in the stack (the primary first when new).
    """

    primary: str | None
    stack_id: str | None
    join: list[str]


def is_raw(file_name: str) -> bool:
    """Whether ``file_name`` is a camera RAW (Immich's ``raw`` table, by extension)."""
    media = media_type_for(file_name)
    return bool(media and media.raw)


def _stem(file_name: str) -> str:
    ext = extension_of(file_name)
    return file_name[: len(file_name) - len(ext)] if ext else file_name


def is_cover(file_name: str) -> bool:
    """Whether the file is a burst's cover photo (``…_COVER.jpg``)."""
    return _stem(file_name).upper().endswith("_COVER")


def stack_key(file_name: str, captured_at: datetime | None, burst_id: str | None) -> str | None:
    """The group an asset belongs to, or None.

    Args:
        file_name: Its original file name.
        captured_at: Its capture time (EXIF DateTimeOriginal, as an instant), or None.
        burst_id: The Apple BurstUUID of its MakerNote, or None.

    Returns:
        ``burst:apple:<uuid>``, ``burst:time:<digits>``, ``burst:name:<prefix>`` or
        ``pair:<base name>:<capture time>`` (all lower-case); None when it is in no group (a
        pair needs a capture time).
    """
    stem = _stem(file_name)
    if burst_id:
        return f"burst:apple:{burst_id.lower()}"
    if found := _BURST_TIME.search(stem):
        return f"burst:time:{found.group(1)}"
    if found := _BURST_COUNT.match(stem):
        return f"burst:name:{found.group(1).lower()}"
    if captured_at is None or media_type_for(file_name) is None:
        return None
    return f"pair:{stem.lower()}:{captured_at.isoformat()}"


def plan(key: str, members: list[Member]) -> Plan | None:
    """What to stack for one group (all assets of one owner with the same :func:`stack_key`).

    Idempotent: a group already stacked together gives None, whichever member asks and however
    often. A group whose assets are spread over several stacks is left as it is (the owner
    arranged them).

    Args:
        key: The group's key.
        members: Every asset with that key (the one being processed included).

    Returns:
        The plan, or None when there is nothing to do.
    """
    if len(members) < 2:
        return None
    if key.startswith("pair:"):
        raws = [m for m in members if is_raw(m.file_name)]
        if not raws or len(raws) == len(members):
            return None  # a pair is a RAW and a non-RAW image
        ordered = sorted(members, key=lambda m: (is_raw(m.file_name), m.file_name, m.id))
    else:
        ordered = sorted(members, key=lambda m: (not is_cover(m.file_name), m.file_name, m.id))
    stacks = {m.stack_id for m in members if m.stack_id is not None}
    if len(stacks) > 1:
        return None
    loose = [m.id for m in ordered if m.stack_id is None]
    if not loose:
        return None
    if stacks:
        # the member that leads the group (a burst's cover, a pair's JPEG) leads the stack
        # even when it is processed after the others were stacked without it
        lead = ordered[0].id if ordered[0].id in loose else None
        return Plan(primary=lead, stack_id=next(iter(stacks)), join=loose)
    return Plan(primary=ordered[0].id, stack_id=None, join=[m.id for m in ordered])
