"""``python -m darkroom_face``: consume asset.thumbnail.generated, detect and recognise faces;
run the clustering pass on face.clustering.requested (the nightly task).

``python -m darkroom_face cluster`` runs the "cluster new faces" job once (every owner) and exits.
"""

from __future__ import annotations

import asyncio
import sys

from darkroom_config import load_settings
from darkroom_db import create_pool
from darkroom_observability import configure_logging
from darkroom_runtime import run_service

from darkroom_face.cluster import cluster_new_faces
from darkroom_face.handlers import cluster_requested, detect_and_recognize, setup
from darkroom_face.settings import FaceSettings


async def _cluster_once(settings: FaceSettings) -> None:
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        await cluster_new_faces(pool, settings.recognition)
    finally:
        await pool.close()


def main() -> None:
    """Run the face service until SIGTERM/SIGINT (or one clustering pass with ``cluster``)."""
    if sys.argv[1:2] == ["cluster"]:
        settings = load_settings(FaceSettings)
        configure_logging("face", settings.log_level)
        asyncio.run(_cluster_once(settings))
        return
    handlers = [detect_and_recognize, cluster_requested]
    run_service("face", FaceSettings, handlers=handlers, setup=setup)


if __name__ == "__main__":
    main()
