"""Fixtures for the thumbnail service's tests: generated media and the shared samples."""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest
import pyvips

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def samples() -> Path:
    """The shared sample media folder (``DARKROOM_SAMPLES`` or ``<repo>/../shared/samples``)."""
    root = Path(os.environ.get("DARKROOM_SAMPLES") or REPO.parent / "shared" / "samples")
    if not (root / "photos").is_dir():
        pytest.skip(f"sample media not found at {root} (set DARKROOM_SAMPLES)")
    return root


def _tiff_entry(tag: int, kind: int, values: list[int] | bytes) -> tuple[int, int, bytes, int]:
    """One IFD entry as (tag, TIFF type, packed value bytes, count)."""
    formats = {1: "B", 2: "s", 3: "H", 4: "I", 5: "II", 10: "ii"}
    if kind == 2:
        data = bytes(values) + b"\0"
        return tag, kind, data, len(data)
    if kind in (5, 10):
        packed = b"".join(struct.pack("<" + formats[kind], *pair) for pair in values)
        return tag, kind, packed, len(values)
    packed = struct.pack(f"<{len(values)}{formats[kind]}", *values)
    return tag, kind, packed, len(values)


def write_dng(
    path: Path,
    cfa: np.ndarray,
    *,
    orientation: int = 1,
    preview_jpeg: bytes | None = None,
    preview_size: tuple[int, int] = (0, 0),
) -> Path:
    """Write a minimal uncompressed Bayer (RGGB) DNG that LibRaw reads.

    Layout per the DNG 1.4 specification (Adobe): IFD0 is the main image (the raw CFA data),
    or, when ``preview_jpeg`` is given, IFD0 is that JPEG preview (NewSubfileType 1) and the raw
    data is in a SubIFD, as cameras write them.

    Args:
        path: Where to write.
        cfa: ``(h, w)`` uint16 sensor values (0..4095), RGGB mosaic.
        orientation: EXIF/TIFF orientation tag value, 1..8.
        preview_jpeg: Optional baseline JPEG to embed as the preview.
        preview_size: ``(width, height)`` of that JPEG.
    """
    height, width = cfa.shape
    raw_data = cfa.astype("<u2").tobytes()
    common = [
        _tiff_entry(271, 2, b"Darkroom"),
        _tiff_entry(272, 2, b"Test DNG"),
        _tiff_entry(274, 3, [orientation]),
        _tiff_entry(50706, 1, [1, 4, 0, 0]),  # DNGVersion
        _tiff_entry(50708, 2, b"Darkroom Test DNG"),  # UniqueCameraModel
        _tiff_entry(
            50721, 10, [(1, 1), (0, 1), (0, 1), (0, 1), (1, 1), (0, 1), (0, 1)] + [(0, 1), (1, 1)]
        ),
        _tiff_entry(50778, 3, [21]),  # CalibrationIlluminant1: D65
        _tiff_entry(50728, 5, [(1, 1), (1, 1), (1, 1)]),  # AsShotNeutral
    ]
    raw_ifd = [
        _tiff_entry(254, 4, [0]),
        _tiff_entry(256, 4, [width]),
        _tiff_entry(257, 4, [height]),
        _tiff_entry(258, 3, [16]),
        _tiff_entry(259, 3, [1]),
        _tiff_entry(262, 3, [32803]),  # CFA
        ("STRIP", raw_data),
        _tiff_entry(277, 3, [1]),
        _tiff_entry(278, 4, [height]),
        _tiff_entry(284, 3, [1]),
        _tiff_entry(33421, 3, [2, 2]),  # CFARepeatPatternDim
        _tiff_entry(33422, 1, [0, 1, 1, 2]),  # CFAPattern RGGB
        _tiff_entry(50717, 4, [4095]),  # WhiteLevel
    ]
    if preview_jpeg is None:
        ifds = [raw_ifd + common]
    else:
        preview_ifd = [
            _tiff_entry(254, 4, [1]),
            _tiff_entry(256, 4, [preview_size[0]]),
            _tiff_entry(257, 4, [preview_size[1]]),
            _tiff_entry(258, 3, [8, 8, 8]),
            _tiff_entry(259, 3, [7]),  # JPEG
            _tiff_entry(262, 3, [6]),  # YCbCr
            ("STRIP", preview_jpeg),
            _tiff_entry(277, 3, [3]),
            _tiff_entry(278, 4, [preview_size[1]]),
            _tiff_entry(284, 3, [1]),
            ("SUBIFD", None),
        ]
        ifds = [preview_ifd + common, raw_ifd]

    # Lay out: header, then each IFD followed by its out-of-line values and its strip.
    out = bytearray(b"II*\0" + struct.pack("<I", 8))
    ifd_offsets: list[int] = []
    pending_subifd: list[int] = []
    for ifd in ifds:
        offset = len(out)
        ifd_offsets.append(offset)
        strip = next(value for key, value in (e[:2] for e in ifd if e[0] == "STRIP"))
        entries: list[tuple[int, int, bytes, int]] = []
        for entry in ifd:
            if entry[0] == "STRIP":
                entries.append(_tiff_entry(273, 4, [0]))  # patched below
                entries.append(_tiff_entry(279, 4, [len(strip)]))
            elif entry[0] == "SUBIFD":
                entries.append(_tiff_entry(330, 4, [0]))  # patched below
            else:
                entries.append(entry)  # type: ignore[arg-type]
        entries.sort(key=lambda e: e[0])
        table_size = 2 + 12 * len(entries) + 4
        extra = bytearray()
        table = bytearray(struct.pack("<H", len(entries)))
        positions: dict[int, int] = {}
        for tag, kind, data, count in entries:
            positions[tag] = offset + len(table) + 8
            if len(data) <= 4:
                table += struct.pack("<HHI", tag, kind, count) + data.ljust(4, b"\0")
            else:
                table += struct.pack("<HHII", tag, kind, count, offset + table_size + len(extra))
                extra += data + (b"\0" if len(data) % 2 else b"")
        table += struct.pack("<I", 0)
        out += table + extra
        strip_offset = len(out)
        out += strip
        struct.pack_into("<I", out, positions[273], strip_offset)
        if 330 in positions:
            pending_subifd.append(positions[330])
    for position in pending_subifd:
        struct.pack_into("<I", out, position, ifd_offsets[1])
    path.write_bytes(bytes(out))
    return path


@pytest.fixture
def make_dng(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_dng(name, cfa, orientation=..., preview_jpeg=..., preview_size=...)``."""

    def make(name: str, cfa: np.ndarray, **kwargs: object) -> Path:
        return write_dng(tmp_path / name, cfa, **kwargs)  # type: ignore[arg-type]

    return make


def bright_corner_cfa(width: int, height: int) -> np.ndarray:
    """A grey mosaic whose top-left quarter is white: shows where the image's corner went."""
    cfa = np.full((height, width), 600, dtype=np.uint16)
    cfa[: height // 2, : width // 2] = 4000
    return cfa


def write_video(
    path: Path, *, width: int, height: int, seconds: float, fps: int = 10, codec: str = "libx264"
) -> Path:
    """Encode a small test video whose frames are red (first half second), then blue.

    Args:
        path: Output file (the container follows the suffix: .mp4, .mov, .mkv).
        width: Frame width in pixels (even).
        height: Frame height in pixels (even).
        seconds: Duration.
        fps: Frames per second.
        codec: FFmpeg encoder name.
    """
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"g": str(fps)}  # a keyframe every second
        for index in range(round(seconds * fps)):
            rgb = np.zeros((height, width, 3), dtype=np.uint8)
            rgb[:, :, 0 if index < fps // 2 else 2] = 220
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def gradient(width: int, height: int, bands: int = 3) -> pyvips.Image:
    """A smooth colour test image (x -> red, y -> green, constant blue)."""
    x = pyvips.Image.xyz(width, height)
    red = x[0] * (255 / max(1, width - 1))
    green = x[1] * (255 / max(1, height - 1))
    image = red.bandjoin([green, red * 0 + 96]).cast("uchar")
    if bands == 4:
        image = image.bandjoin(255)
    return image.copy(interpretation="srgb")


@pytest.fixture(scope="session")
def media() -> SimpleNamespace:
    """The fixture generators: ``gradient``, ``write_video``, ``bright_corner_cfa``."""
    return SimpleNamespace(
        gradient=gradient, write_video=write_video, bright_corner_cfa=bright_corner_cfa
    )
