"""Automatic stacking rules (darkroom_metadata.stacking): keys and plans without I/O, and the
Apple burst id they use as ExifTool reads it."""

from __future__ import annotations

import struct
from datetime import UTC, datetime
from pathlib import Path

import PIL.Image
from darkroom_metadata.extract import extract_metadata
from darkroom_metadata.stacking import Member, plan, stack_key
from PIL import ExifTags

SHOT = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC)


def test_keys() -> None:
    # a RAW and its JPEG: same base name (any case) and capture time -> one key
    assert stack_key("IMG_0001.CR2", SHOT, None) == stack_key("img_0001.jpg", SHOT, None)
    assert stack_key("IMG_0001.CR2", SHOT, None) != stack_key("IMG_0002.JPG", SHOT, None)
    other_time = datetime(2024, 5, 1, 10, 0, 1, tzinfo=UTC)
    assert stack_key("IMG_0001.CR2", SHOT, None) != stack_key("IMG_0001.JPG", other_time, None)
    assert stack_key("IMG_0001.JPG", None, None) is None  # a pair needs a capture time
    assert stack_key("notes.txt", SHOT, None) is None
    # bursts: Apple burst id, Google/Samsung names (the cover and the others share a key)
    assert stack_key("IMG_1.HEIC", SHOT, "AB-12") == "burst:apple:ab-12"
    cover = stack_key("00000IMG_00000_BURST20190101123456789_COVER.jpg", None, None)
    assert cover == stack_key("00001IMG_00001_BURST20190101123456789.jpg", None, None)
    assert cover == "burst:time:20190101123456789"
    named = stack_key("IMG_20240101_123456_BURST001_COVER.jpg", None, None)
    assert named == stack_key("IMG_20240101_123456_BURST002.jpg", None, None)
    assert named == "burst:name:img_20240101_123456"


def test_plan_pairs_a_raw_with_a_jpeg_and_the_jpeg_leads() -> None:
    raw = Member(id="r", file_name="IMG_1.DNG", stack_id=None)
    jpg = Member(id="j", file_name="IMG_1.JPG", stack_id=None)
    key = "pair:img_1:t"
    assert plan(key, [raw]) is None  # whichever arrives first waits for the other
    made = plan(key, [raw, jpg])
    assert made is not None and made.primary == "j" and made.join == ["j", "r"]
    assert made.stack_id is None
    assert plan(key, [jpg, Member(id="k", file_name="IMG_1.jpeg", stack_id=None)]) is None


def test_plan_is_idempotent_and_respects_the_owners_stacks() -> None:
    key = "burst:name:x"
    done = [Member(id=i, file_name=f"x_BURST00{i}.jpg", stack_id="s") for i in "12"]
    assert plan(key, done) is None  # already stacked: a redelivery changes nothing
    late = Member(id="3", file_name="x_BURST003.jpg", stack_id=None)
    joined = plan(key, [*done, late])
    assert joined is not None and joined.stack_id == "s" and joined.join == ["3"]
    spread = [*done, Member(id="4", file_name="x_BURST004.jpg", stack_id="t"), late]
    assert plan(key, spread) is None


def test_plan_burst_cover_leads() -> None:
    members = [
        Member(id="1", file_name="x_BURST001.jpg", stack_id=None),
        Member(id="2", file_name="x_BURST002_COVER.jpg", stack_id=None),
    ]
    made = plan("burst:name:x", members)
    assert made is not None and made.primary == "2"


def test_plan_a_late_cover_takes_the_lead() -> None:
    """Processed after the others were stacked (metadata runs several assets at once), the
    cover joins the stack and becomes its primary, as if it had come first."""
    done = [Member(id=i, file_name=f"x_BURST00{i}.jpg", stack_id="s") for i in "13"]
    cover = Member(id="2", file_name="x_BURST002_COVER.jpg", stack_id=None)
    joined = plan("burst:name:x", [*done, cover])
    assert joined is not None and joined.stack_id == "s"
    assert joined.join == ["2"] and joined.primary == "2"
    plain = Member(id="4", file_name="x_BURST004.jpg", stack_id=None)
    assert plan("burst:name:x", [*done, plain]).primary is None  # type: ignore[union-attr]


def _apple_note(entries: dict[int, bytes]) -> bytes:
    """An Apple MakerNote (big-endian IFD, offsets from the note's start) with ASCII tags."""
    head = b"Apple iOS\x00" + b"\x00\x01" + b"MM"
    ifd = struct.pack(">H", len(entries))
    data_at = len(head) + 2 + 12 * len(entries) + 4
    blobs = b""
    for tag, text in entries.items():
        value = text + b"\x00"
        ifd += struct.pack(">HHII", tag, 2, len(value), data_at + len(blobs))
        blobs += value
    return head + ifd + b"\x00\x00\x00\x00" + blobs


def test_apple_burst_uuid_and_content_identifier_from_the_maker_note(tmp_path: Path) -> None:
    """ExifTool decodes the Apple MakerNote of a JPEG: BurstUUID and ContentIdentifier."""
    note = _apple_note({0x000B: b"BURST-UUID-1", 0x0011: b"CONTENT-ID"})
    exif = PIL.Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = "iPhone 12"  # Model
    exif.get_ifd(ExifTags.IFD.Exif)[0x927C] = note  # MakerNote
    path = tmp_path / "burst.jpg"
    PIL.Image.new("RGB", (8, 8)).save(path, exif=exif)
    meta = extract_metadata(path, mime_type="image/jpeg")
    assert (meta.burst_id, meta.live_photo_cid) == ("BURST-UUID-1", "CONTENT-ID")
