"""Versions of the media libraries a service runs with, reported for GET /api/server/about.

The gateway never loads image or video libraries; each pipeline service reports at start-up the
versions of those it has loaded (merged into system metadata ``component-versions``), so the
about page shows what actually processes the media.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from typing import Any

from darkroom_db import system_metadata


def loaded_component_versions(modules: dict[str, Any] | None = None) -> dict[str, str]:
    """Versions of the media libraries this process has imported.

    Only modules already in ``sys.modules`` are asked (nothing is imported for the report):
    libvips from pyvips (``pyvips.version``), FFmpeg from PyAV (``av.ffmpeg_version_info``),
    exiv2 from pyexiv2 (``__exiv2_version__``), and ExifTool when an ``exiftool`` is on PATH.

    Args:
        modules: The module table to look in (``sys.modules`` when None).

    Returns:
        Component name (the ServerAboutResponseDto field: ``libvips``, ``ffmpeg``, ``exiftool``;
        ``exiv2``) -> version string.
    """
    loaded = sys.modules if modules is None else modules
    found: dict[str, str] = {}
    pyvips = loaded.get("pyvips")
    if pyvips is not None:
        found["libvips"] = ".".join(str(pyvips.version(i)) for i in range(3))
    av = loaded.get("av")
    if av is not None and getattr(av, "ffmpeg_version_info", None):
        found["ffmpeg"] = str(av.ffmpeg_version_info)
    pyexiv2 = loaded.get("pyexiv2")
    if pyexiv2 is not None and getattr(pyexiv2, "__exiv2_version__", None):
        found["exiv2"] = str(pyexiv2.__exiv2_version__)
    exiftool = shutil.which("exiftool")
    if exiftool is not None:
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv, the tool found on PATH
                [exiftool, "-ver"], capture_output=True, text=True, timeout=30, check=True
            )
            found["exiftool"] = out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return found


async def report_component_versions(conn: system_metadata.Conn) -> dict[str, str]:
    """Merge this process's :func:`loaded_component_versions` into system metadata.

    Args:
        conn: Database.

    Returns:
        What was reported (empty: nothing written).
    """
    found = await asyncio.to_thread(loaded_component_versions)
    if found:
        await system_metadata.merge(conn, system_metadata.COMPONENT_VERSIONS, found)
    return found
