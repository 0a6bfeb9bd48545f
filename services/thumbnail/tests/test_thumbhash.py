"""Tests of the numpy ThumbHash port against the algorithm's published behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import thumbhash as pypi_thumbhash
from darkroom_thumbnail.thumbhash import (
    rgba_to_thumbhash,
    thumbhash_to_average_rgba,
    thumbhash_to_rgba,
)


def noisy_image(height: int, width: int, seed: int = 3) -> np.ndarray:
    """Opaque gradient plus noise (noise keeps DCT terms off exact rounding ties)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / max(1, width - 1), y * 200 / max(1, height - 1), 90 + 0 * x], -1)
    rgb = np.clip(rgb + rng.normal(0, 20, rgb.shape), 0, 255)
    alpha = np.full((height, width, 1), 255)
    return np.concatenate([rgb, alpha], -1).astype(np.uint8)


@pytest.mark.parametrize("shape", [(75, 100), (100, 60), (100, 100), (40, 100), (1, 1)])
def test_matches_the_pypi_port_on_opaque_images(shape: tuple[int, int]) -> None:
    # The PyPI package follows the reference closely for opaque images (its bugs are in alpha
    # and in decoding), so on images without rounding ties the bytes must be identical.
    image = noisy_image(*shape)
    ours = rgba_to_thumbhash(image)
    theirs = bytes(pypi_thumbhash.rgba_to_thumb_hash(shape[1], shape[0], image.ravel().tolist()))
    assert ours == theirs


def test_known_layout_of_a_solid_colour() -> None:
    image = np.zeros((30, 60, 4), np.uint8)
    image[:] = (255, 0, 0, 255)
    thumbhash = rgba_to_thumbhash(image)
    # Red: L = 1/3, P = 1/2, Q = 1; no AC energy, landscape, no alpha.
    header24 = thumbhash[0] | thumbhash[1] << 8 | thumbhash[2] << 16
    assert header24 & 63 == round(63 / 3)
    assert (header24 >> 6) & 63 == round(31.5 + 31.5 * 0.5)
    assert (header24 >> 12) & 63 == 63
    assert header24 >> 23 == 0 and thumbhash[4] >> 7 == 1  # no alpha, landscape
    r, g, b, a = thumbhash_to_average_rgba(thumbhash)
    assert (r, g, b, a) == pytest.approx((1, 0, 0, 1), abs=0.02)
    decoded = thumbhash_to_rgba(thumbhash)
    assert decoded.shape == (18, 32, 4)  # lx 7, ly round(3.5) = 4: ratio 7/4, 32 / 1.75 -> 18
    assert np.abs(decoded.astype(int) - [255, 0, 0, 255]).max() <= 8


def test_alpha_is_encoded_and_decoded() -> None:
    image = noisy_image(50, 50)
    image[:, :25, 3] = 0  # left half transparent
    thumbhash = rgba_to_thumbhash(image)
    assert thumbhash[2] & 0x80  # has-alpha bit
    decoded = thumbhash_to_rgba(thumbhash)
    assert decoded[:, :8, 3].mean() < 60 and decoded[:, -8:, 3].mean() > 200
    with pytest.raises(TypeError):  # the PyPI package cannot encode alpha at all
        pypi_thumbhash.rgba_to_thumb_hash(50, 50, image.ravel().tolist())


def test_decoded_placeholder_resembles_the_image() -> None:
    image = noisy_image(60, 100)
    decoded = thumbhash_to_rgba(rgba_to_thumbhash(image)).astype(float)
    assert decoded.shape[1] == 32 and 17 <= decoded.shape[0] <= 21
    # Red grows to the right, green downwards, as in the source.
    assert decoded[:, -4:, 0].mean() - decoded[:, :4, 0].mean() > 120
    assert decoded[-4:, :, 1].mean() - decoded[:4, :, 1].mean() > 90


def test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="fit"):
        rgba_to_thumbhash(np.zeros((101, 10, 4), np.uint8))
    with pytest.raises(ValueError):
        rgba_to_thumbhash(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(ValueError):
        thumbhash_to_rgba(b"\x01\x02")
    with pytest.raises(ValueError):
        thumbhash_to_rgba(rgba_to_thumbhash(noisy_image(50, 50))[:8])
