"""NOTICE names every file that says it ports or copies permissively licensed code.

A file "says it is ported" when its text has one of :data:`MARKERS` (the wording the project's
files use for ported code and copied data: "a port of", "ported from", "transcription of",
"Source: ... (MIT|BSD|Apache)", "icon path(s), Apache-2.0"). No server is needed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTICE = ROOT / "NOTICE"
#: Where the project's own sources live, and the file types scanned.
SOURCE_DIRS = ("libs", "services", "bench")
SUFFIXES = {".py", ".ts", ".js", ".svelte"}
#: Build outputs and installed packages: not the project's sources.
SKIP_PARTS = {"node_modules", "dist", ".venv", "__pycache__", "build"}
MARKERS = re.compile(
    r"\ba port of\b|\bported from\b|\btranscription of\b"
    r"|Source:[^\n]*\((MIT|BSD[^)]*|Apache-2\.0)\)"
    r"|icon paths?, Apache-2\.0",
    re.IGNORECASE,
)
#: The permission sentence of the MIT licence and the Apache-2.0 notice, kept in NOTICE.
MIT_TEXT = "The above copyright notice and this permission notice shall be included"
APACHE_TEXT = 'Licensed under the Apache License, Version 2.0 (the "License")'


def source_files() -> list[Path]:
    """Every scanned source file of the project (outside installed packages and builds)."""
    found: list[Path] = []
    for top in SOURCE_DIRS:
        for path in (ROOT / top).rglob("*"):
            if path.suffix in SUFFIXES and not SKIP_PARTS & set(path.relative_to(ROOT).parts):
                found.append(path)
    return found


def ported_files() -> list[str]:
    """Repository-relative paths of the files whose text says they port or copy code."""
    return sorted(
        str(path.relative_to(ROOT))
        for path in source_files()
        if MARKERS.search(path.read_text(encoding="utf-8", errors="replace"))
    )


def test_notice_names_every_ported_file() -> None:
    ported = ported_files()
    # The known ports are found, so the scan itself works.
    assert "services/thumbnail/src/darkroom_thumbnail/thumbhash.py" in ported
    assert "libs/ml/src/darkroom_ml/tokenizer.py" in ported
    notice = NOTICE.read_text(encoding="utf-8")
    missing = [path for path in ported if path not in notice]
    assert not missing, f"NOTICE does not name these ported files: {missing}"


def test_every_file_named_in_notice_exists() -> None:
    named = re.findall(r"(?:libs|services|bench)/[\w./-]+\.(?:py|ts|js|svelte)", NOTICE.read_text())
    assert named
    stale = [path for path in named if not (ROOT / path).is_file()]
    assert not stale, f"NOTICE names files that are gone: {stale}"


def test_notice_keeps_the_licence_texts() -> None:
    notice = NOTICE.read_text(encoding="utf-8")
    assert "Copyright (c) 2023 Evan Wallace" in notice
    assert "Software Copyright (c) 2019 OpenAI" in notice
    assert "Copyright (c) 2021 OpenAI" in notice
    assert notice.count(MIT_TEXT) >= 3  # ThumbHash, GPT-2, CLIP
    assert APACHE_TEXT in notice
