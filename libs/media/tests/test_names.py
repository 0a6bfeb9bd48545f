"""safe_file_name: any client-supplied name becomes a safe base name (zip slip, CR/LF)."""

from __future__ import annotations

import pytest
from darkroom_media import MAX_NAME_BYTES, safe_file_name


@pytest.mark.parametrize(
    ("sent", "safe"),
    [
        ("IMG_0001.jpg", "IMG_0001.jpg"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\Windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\IMG.HEIC", "IMG.HEIC"),
        ("photos/2020/", "2020"),
        ("..", "file"),
        (".", "file"),
        ("", "file"),
        ("a/..", "file"),
        ("   ", "file"),
        ("evil\r\nSet-Cookie: x=1.jpg", "evilSet-Cookie: x=1.jpg"),
        ("nul\x00byte.jpg", "nulbyte.jpg"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ('quote".jpg', 'quote".jpg'),  # a label may hold quotes; headers encode them
        (".hidden", ".hidden"),
        ("café ☕.jpg", "café ☕.jpg"),
    ],
)
def test_safe_file_name(sent: str, safe: str) -> None:
    assert safe_file_name(sent) == safe
    assert safe_file_name(safe) == safe  # idempotent


def test_long_names_are_cut_to_255_bytes_keeping_the_extension() -> None:
    name = "é" * 300 + ".jpeg"
    safe = safe_file_name(name)
    assert len(safe.encode()) <= MAX_NAME_BYTES
    assert safe.endswith(".jpeg") and safe.startswith("é")
    assert safe_file_name(name, suffix="+12").endswith("+12.jpeg")
    assert len(safe_file_name(name, suffix="+12").encode()) <= MAX_NAME_BYTES
    huge_ext = "a." + "x" * 400
    assert len(safe_file_name(huge_ext).encode()) <= MAX_NAME_BYTES


def test_suffix_goes_before_the_extension() -> None:
    assert safe_file_name("IMG.jpg", suffix="+1") == "IMG+1.jpg"
    assert safe_file_name("README", suffix="+2") == "README+2"
    assert safe_file_name("../..", suffix="+1") == "file+1"
