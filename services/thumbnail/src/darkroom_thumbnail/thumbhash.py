"""ThumbHash: a ~25-byte placeholder of an image, encoded and decoded with numpy.

Algorithm and bit layout by Evan Wallace, https://evanw.github.io/thumbhash/ (reference code
https://github.com/evanw/thumbhash, MIT licence; this is a port of ``rgbaToThumbHash`` and
``thumbHashToRGBA`` from its ``js/thumbhash.js`` / ``rust/src/lib.rs``). The image is turned into
LPQA (luminance, yellow-blue, red-green, alpha), each channel is reduced to its lowest DCT
coefficients (a triangle of up to 7x7 for L, 3x3 for P and Q, 5x5 for A), the DC terms and
scales go into a 5- or 6-byte header and the AC terms are quantised to 4 bits each.

The PyPI package ``thumbhash`` 0.1.2 is not used: its encoder fails on any image with
transparency (an operator-precedence bug builds a tuple for the alpha DC term), it rounds
half-to-even where the reference rounds half-up, and its decoder prints to stdout and reuses
the cosine tables of the first pixel for every pixel. It is also pure Python, ~100x slower.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["rgba_to_thumbhash", "thumbhash_to_average_rgba", "thumbhash_to_rgba"]

MAX_SIDE = 100
"""The reference encoder refuses images larger than 100x100 (no benefit, only slower)."""


def _round(value: float) -> int:
    """JavaScript's ``Math.round`` (half up), which the reference uses for quantisation."""
    return math.floor(value + 0.5)


def _triangle(nx: int, ny: int) -> list[tuple[int, int]]:
    """The (cx, cy) DCT coefficients a channel keeps, in the reference's order (DC first)."""
    return [(cx, cy) for cy in range(ny) for cx in range(nx) if cx * ny < nx * (ny - cy)]


def _encode_channel(
    channel: npt.NDArray[np.float64], nx: int, ny: int
) -> tuple[float, list[float], float]:
    """DCT of one ``(h, w)`` channel: the DC term, the normalised AC terms and their scale."""
    h, w = channel.shape
    cos_x = np.cos(np.pi / w * np.arange(nx)[:, None] * (np.arange(w)[None, :] + 0.5))
    cos_y = np.cos(np.pi / h * np.arange(ny)[:, None] * (np.arange(h)[None, :] + 0.5))
    coefficients = cos_y @ channel @ cos_x.T / (w * h)  # (ny, nx): [cy, cx]
    terms = [float(coefficients[cy, cx]) for cx, cy in _triangle(nx, ny)]
    dc, ac = terms[0], terms[1:]
    scale = max((abs(f) for f in ac), default=0.0)
    if scale > 0:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def rgba_to_thumbhash(rgba: npt.NDArray[np.uint8]) -> bytes:
    """Encode an RGBA image as a ThumbHash.

    Args:
        rgba: ``(height, width, 4)`` uint8 array, sRGB, alpha not premultiplied; at most
            100x100 pixels.

    Returns:
        The ThumbHash, 5 to 25 bytes (the Immich API sends it base64-encoded).

    Raises:
        ValueError: When the array is not ``(h, w, 4)``, is empty or is larger than 100x100.
    """
    if rgba.ndim != 3 or rgba.shape[2] != 4 or rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise ValueError(f"expected an (h, w, 4) RGBA array, got shape {rgba.shape}")
    h, w = int(rgba.shape[0]), int(rgba.shape[1])
    if w > MAX_SIDE or h > MAX_SIDE:
        raise ValueError(f"{w}x{h} does not fit in {MAX_SIDE}x{MAX_SIDE}")

    pixels = rgba.astype(np.float64) / 255.0
    alpha = pixels[:, :, 3]
    rgb = pixels[:, :, :3]

    # Average colour, weighted by alpha.
    total_alpha = float(alpha.sum())
    average = (rgb * alpha[:, :, None]).sum(axis=(0, 1))
    if total_alpha > 0:
        average = average / total_alpha
    has_alpha = total_alpha < w * h
    l_limit = 5 if has_alpha else 7  # fewer luminance terms when alpha needs the room
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))

    # Composite atop the average colour, then RGB -> LPQ.
    rgb = average[None, None, :] * (1.0 - alpha[:, :, None]) + rgb * alpha[:, :, None]
    r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
    l_dc, l_ac, l_scale = _encode_channel((r + g + b) / 3.0, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel((r + g) / 2.0 - b, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(r - g, 3, 3)
    a_dc, a_ac, a_scale = _encode_channel(alpha, 5, 5) if has_alpha else (1.0, [], 1.0)

    is_landscape = w > h
    header24 = (
        _round(63.0 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31.0 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_round(63.0 * p_scale) << 3)
        | (_round(63.0 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = bytearray(
        [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    )
    if has_alpha:
        out.append(_round(15.0 * a_dc) | (_round(15.0 * a_scale) << 4))
    nibbles = [_round(15.0 * f) for f in (*l_ac, *p_ac, *q_ac, *a_ac)]
    for i in range(0, len(nibbles), 2):
        low = nibbles[i]
        high = nibbles[i + 1] if i + 1 < len(nibbles) else 0
        out.append(low | (high << 4))
    return bytes(out)


def _header(thumbhash: bytes) -> tuple[int, int]:
    if len(thumbhash) < 5:
        raise ValueError(f"a ThumbHash has at least 5 bytes, got {len(thumbhash)}")
    header24 = thumbhash[0] | (thumbhash[1] << 8) | (thumbhash[2] << 16)
    header16 = thumbhash[3] | (thumbhash[4] << 8)
    return header24, header16


def _lpq_to_rgb(l: float, p: float, q: float) -> tuple[float, float, float]:  # noqa: E741
    b = l - 2.0 / 3.0 * p
    r = (3.0 * l - b + q) / 2.0
    return r, r - q, b


def thumbhash_to_average_rgba(thumbhash: bytes) -> tuple[float, float, float, float]:
    """The average colour a ThumbHash encodes.

    Args:
        thumbhash: A ThumbHash from :func:`rgba_to_thumbhash`.

    Returns:
        ``(r, g, b, a)``, each in [0, 1], RGB not premultiplied.

    Raises:
        ValueError: When the hash is shorter than 5 bytes.
    """
    header24, _ = _header(thumbhash)
    r, g, b = _lpq_to_rgb(
        (header24 & 63) / 63.0,
        ((header24 >> 6) & 63) / 31.5 - 1.0,
        ((header24 >> 12) & 63) / 31.5 - 1.0,
    )
    has_alpha = (header24 >> 23) != 0
    a = (thumbhash[5] & 15) / 15.0 if has_alpha and len(thumbhash) > 5 else 1.0
    return min(max(r, 0.0), 1.0), min(max(g, 0.0), 1.0), min(max(b, 0.0), 1.0), a


def thumbhash_to_rgba(thumbhash: bytes) -> npt.NDArray[np.uint8]:
    """Decode a ThumbHash to the small placeholder image it describes.

    Args:
        thumbhash: A ThumbHash from :func:`rgba_to_thumbhash`.

    Returns:
        ``(height, width, 4)`` uint8 RGBA array whose longer side is 32 pixels and whose aspect
        ratio approximates the original's.

    Raises:
        ValueError: When the hash is truncated.
    """
    header24, header16 = _header(thumbhash)
    l_dc = (header24 & 63) / 63.0
    p_dc = ((header24 >> 6) & 63) / 31.5 - 1.0
    q_dc = ((header24 >> 12) & 63) / 31.5 - 1.0
    l_scale = ((header24 >> 18) & 31) / 31.0
    has_alpha = (header24 >> 23) != 0
    p_scale = ((header16 >> 3) & 63) / 63.0
    q_scale = ((header16 >> 9) & 63) / 63.0
    is_landscape = (header16 >> 15) != 0
    l_max = 5 if has_alpha else 7
    l_min = header16 & 7
    lx = max(3, l_max if is_landscape else l_min)
    ly = max(3, l_min if is_landscape else l_max)
    if has_alpha:
        if len(thumbhash) < 6:
            raise ValueError("truncated ThumbHash")
        a_dc, a_scale = (thumbhash[5] & 15) / 15.0, (thumbhash[5] >> 4) / 15.0
    else:
        a_dc, a_scale = 1.0, 1.0

    ac_start = 6 if has_alpha else 5
    nibble = 0

    def decode_channel(nx: int, ny: int, scale: float) -> list[tuple[int, int, float]]:
        nonlocal nibble
        terms = []
        for cx, cy in _triangle(nx, ny)[1:]:
            index = ac_start + (nibble >> 1)
            if index >= len(thumbhash):
                raise ValueError("truncated ThumbHash")
            bits = (thumbhash[index] >> ((nibble & 1) << 2)) & 15
            terms.append((cx, cy, (bits / 7.5 - 1.0) * scale))
            nibble += 1
        return terms

    # The reference boosts P and Q by 1.25 to make up for saturation lost to quantisation.
    l_ac = decode_channel(lx, ly, l_scale)
    p_ac = decode_channel(3, 3, p_scale * 1.25)
    q_ac = decode_channel(3, 3, q_scale * 1.25)
    a_ac = decode_channel(5, 5, a_scale) if has_alpha else []

    ratio = (l_max if is_landscape else l_min) / (l_min if is_landscape else l_max)
    w = 32 if ratio > 1 else _round(32 * ratio)
    h = _round(32 / ratio) if ratio > 1 else 32
    cos_x = np.cos(np.pi / w * (np.arange(w)[None, :] + 0.5) * np.arange(7)[:, None])  # [cx, x]
    cos_y = np.cos(np.pi / h * (np.arange(h)[None, :] + 0.5) * np.arange(7)[:, None])  # [cy, y]

    def synthesize(dc: float, ac: list[tuple[int, int, float]]) -> npt.NDArray[np.float64]:
        plane = np.full((h, w), dc)
        for cx, cy, f in ac:
            plane += f * 2.0 * np.outer(cos_y[cy], cos_x[cx])
        return plane

    l = synthesize(l_dc, l_ac)  # noqa: E741
    p = synthesize(p_dc, p_ac)
    q = synthesize(q_dc, q_ac)
    a = synthesize(a_dc, a_ac)
    b = l - 2.0 / 3.0 * p
    r = (3.0 * l - b + q) / 2.0
    g = r - q
    planes = np.stack([r, g, b, a], axis=-1)
    # The Rust reference truncates (``as u8`` of ``clamp(0, 1) * 255``).
    return (np.clip(planes, 0.0, 1.0) * 255.0).astype(np.uint8)
