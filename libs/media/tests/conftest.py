"""Fixtures for darkroom_media tests: small media generated in memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="session")
def pyvips() -> ModuleType:
    """The pyvips module (skips the test when libvips is not installed)."""
    return pytest.importorskip("pyvips")


@pytest.fixture(scope="session")
def av() -> ModuleType:
    """The PyAV module (skips the test when PyAV is not installed)."""
    return pytest.importorskip("av")


@pytest.fixture(scope="session")
def small_image(pyvips: ModuleType) -> Any:
    """A 32 x 24 RGB pyvips image (a gradient), to save in every format."""
    red = (pyvips.Image.xyz(32, 24)[0] * 8).cast("uchar")
    return red.bandjoin([128, 64])


@pytest.fixture(scope="session")
def make_video(av: ModuleType) -> Callable[..., bytes]:
    """A function (container, codec, **muxer options) -> bytes of a 3-frame 64 x 48 video."""
    import numpy as np

    def encode(container: str, codec: str, **options: str) -> bytes:
        buffer = io.BytesIO()
        with av.open(buffer, "w", format=container, options=options) as output:
            stream = output.add_stream(codec, rate=25)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for value in (0, 100, 200):
                pixels = np.full((48, 64, 3), value, np.uint8)
                output.mux(stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")))
            output.mux(stream.encode())
        return buffer.getvalue()

    return encode
