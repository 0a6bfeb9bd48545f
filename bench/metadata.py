"""Metadata benchmark and comparison: the ExifTool extractor against the exiv2/PyAV one it replaced.

Over every media file of the shared samples (``$DARKROOM_SAMPLES`` or ``../shared/samples``),
sniffed as ingest does (:func:`darkroom_media.sniff.sniff`), both extractors read the file as
production does: :func:`darkroom_metadata.extract.extract_metadata` with one ExifTool kept
running (as the service keeps one), and the old :func:`bench.metadata_legacy.extract_metadata`
(exiv2 through pyexiv2, PyAV, hand-written parsers; kept only for this comparison). The file's
modification time is the date of last resort for both; reverse geocoding is left out (it only
depends on the GPS position, which is compared).

Reported per field: on how many files the old and the new extractor fill it, on how many both
agree, disagree, or only one fills it; every disagreement and every file the old one filled and
the new one does not, with both values and, where it was looked into, which one was wrong
(:data:`EXPLAINED`). Also the time per file of each and the resident memory of a process that
extracts everything (the Python process plus, for the new one, its ExifTool).

``python -m bench metadata`` writes bench/results/metadata.json and prints the table;
``tests/test_metadata_comparison.py`` runs the same comparison and fails on a regression that
:data:`EXPLAINED` does not account for.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"

#: The fields compared (``ExtractedMetadata`` less the geocoded place, which follows GPS).
FIELDS = (
    "date_time_original",
    "local_date_time",
    "time_zone",
    "modify_date",
    "make",
    "model",
    "lens_model",
    "f_number",
    "focal_length",
    "iso",
    "exposure_time",
    "width",
    "height",
    "orientation",
    "projection_type",
    "description",
    "rating",
    "latitude",
    "longitude",
    "live_photo_cid",
    "burst_id",
    "duration",
    "fps",
    "video_codec",
    "audio_codec",
    "bitrate",
    "rotation",
    "tags",
    "metadata_error",
)

#: Tolerances of numeric fields: a difference within them is agreement (rounding only).
TOLERANCE = {
    "latitude": 1e-4,
    "longitude": 1e-4,
    "f_number": 0.051,
    "focal_length": 0.051,
    "duration": 0.05,
    "fps": 0.01,
}

#: Where the two extractors differ, checked against the file (ExifTool's verbose dump, a
#: decode, the format's spec): (sample path relative to the samples, field) or ("*", field) for
#: every file -> which value is right and why. "new" / "old" say which extractor was wrong.
EXPLAINED: dict[tuple[str, str], str] = {
    **{
        (heic, name): (
            "old wrong: the exiv2 extractor took the stale EXIF PixelX/YDimension of an image"
            " edited or rotated on the phone; ExifTool gives the primary image's size, which is"
            " what pillow-heif decodes (" + decoded + ")"
        )
        for heic, decoded in (
            ("photos/ianare_exif-samples/heic/IMG_5195.HEIC", "2566 x 3313"),
            ("photos/metadata-extractor-images/heic/exif-at-eof.heic", "3024 x 4032"),
            (
                "photos/ente_test-fixtures/ml/indexing/v1/files/"
                "7949_mirror_horizontal_rotate_270_cw.HEIC",
                "1209 x 1547 after its clean-aperture crop of 1210 x 1548",
            ),
        )
        for name in ("width", "height")
    },
    **{
        ("videos/metadata-extractor-images/mp4/Issue 515 (java).mp4", name): (
            "neither wrong, a choice: the file has both the camera's UserData DateTimeOriginal"
            " (15:04:02+01:00, local with its offset) and the movie header's CreateDate"
            " (14:04:36 UTC, 34 s later); the new extractor prefers DateTimeOriginal as Immich"
            " does (its date tag order), the old one read only FFmpeg's creation_time"
        )
        for name in ("date_time_original", "local_date_time", "time_zone")
    },
    **{
        ("videos/metadata-extractor-images/mts/Sony ILCE-7M3 (A7M3).mts", name): (
            "old wrong: the AVCHD camera data in the H.264 stream says 2019-04-24 22:24:00"
            " +02:00 (with a DST flag), which PyAV does not read; the old extractor fell back to"
            " the file's modification time on this disk"
        )
        for name in ("date_time_original", "local_date_time")
    },
    **{
        (video, "modify_date"): (
            "old wrong: the file's XMP has a ModifyDate (" + date + "), which PyAV does not read;"
            " the old extractor fell back to the file's modification time on this disk"
        )
        for video, date in (
            ("videos/metadata-extractor-images/mov/xmp480qt.mov", "2020-01-05 11:19:47"),
            ("videos/metadata-extractor-images/mp4/uuid540.mp4", "2020-01-05 15:04:05"),
        )
    },
    **{
        (photo, "lens_model"): (
            "neither wrong, Immich's choice: the new extractor names the lens as Immich does"
            " (metadata.service getLensModel: LensID, LensType, LensSpec, then LensModel, as"
            " ExifTool prints them), here " + why + "; the old one read the EXIF LensModel"
        )
        for photo, why in (
            *(
                (canon, "ExifTool's Composite LensID from the Canon lens number in XMP-aux")
                for canon in (
                    "faces/face_recognition_knn/train/obama/obama.jpg",
                    "photos/immich_test-assets/formats/webp/denali.webp",
                    "search/immich_albums/nature/prairie_falcon.jpg",
                    "search/photoprism_examples/chameleon_lime.jpg",
                    "search/photoprism_examples/clowns_colorful.jpg",
                    "search/photoprism_examples/ephedra_green_lime.jpg",
                    "search/photoprism_examples/fern_green.jpg",
                    "search/photoprism_examples/ferriswheel_colorful.jpg",
                    "search/photoprism_examples/giraffe_green_brown.jpg",
                    "search/photoprism_examples/ocean_cyan.jpg",
                    "search/photoprism_examples/snake_lime_brown.jpg",
                    "search/photoprism_examples/zebra_green_brown.jpg",
                )
            ),
            *(
                (nikon, "ExifTool's Composite LensID built from the focal and aperture range")
                for nikon in (
                    "faces/face_recognition_knn/test/alex_lacamoire1.jpg",
                    "photos/ianare_exif-samples/jpg/Nikon_D70.jpg",
                    "search/immich_albums/nature/tanners_ridge.jpg",
                )
            ),
            (
                "photos/photoprism/internal/meta/testdata/Iceland-P3.jpg",
                "ExifTool's Composite LensID from the Nikon lens number in XMP-aux",
            ),
            (
                "search/immich_albums/nature/el_torcal_rocks.jpg",
                "ExifTool's Composite LensID from the Sony lens number 128 in XMP-aux, which"
                " several Tamron and Sigma lenses share (ExifTool picks the first; the EXIF"
                " LensModel says an 18-250mm)",
            ),
        )
    },
}


def samples_root() -> Path | None:
    """The shared sample media folder, or None when absent."""
    env = os.environ.get("DARKROOM_SAMPLES")
    root = Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "samples"
    return root if (root / "photos").is_dir() else None


def media_files(root: Path) -> list[tuple[Path, str]]:
    """Every image or video under ``root`` (sniffed from its bytes as ingest does), sorted."""
    from darkroom_media.errors import MediaError
    from darkroom_media.sniff import sniff

    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        with path.open("rb") as fh:
            head = fh.read(1 << 16)
        try:
            kind = sniff(head, path.name)
        except MediaError:
            continue
        found.append((path, kind.mime_type))
    return found


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def same(name: str, old: Any, new: Any) -> bool:
    """Whether two values of field ``name`` agree (numbers within :data:`TOLERANCE`; a time zone
    offset the old extractor spelled ``+02:00`` agrees with its Immich name ``UTC+2``)."""
    if name == "time_zone" and isinstance(old, str):
        from darkroom_metadata.normalise import offset_zone_name, parse_offset

        offset = parse_offset(old)
        old = offset_zone_name(offset) if offset is not None else old
    if isinstance(old, float | int) and isinstance(new, float | int):
        return math.isclose(float(old), float(new), abs_tol=TOLERANCE.get(name, 1e-9))
    if isinstance(old, list) and isinstance(new, list):
        return sorted(old) == sorted(new)
    return old == new


@dataclass
class FieldCount:
    """How one field compares over all files."""

    old: int = 0
    new: int = 0
    agree: int = 0
    disagree: int = 0
    only_old: int = 0
    only_new: int = 0
    cases: list[dict[str, Any]] = field(default_factory=list)


def _cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) of process ``pid`` (``/proc/<pid>/stat``), 0 if unknown."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _outcome(
    read: Callable[[], Any], helper: Callable[[], int | None] = lambda: None
) -> tuple[Any, str | None, float, float]:
    """(result, error, wall seconds, CPU seconds of this process and of ``helper``'s pid)."""
    start, cpu, helper_cpu = time.perf_counter(), time.process_time(), _cpu_s(helper())
    try:
        result, error = read(), None
    except Exception as exc:  # noqa: BLE001 - the comparison records what each raises
        result, error = None, f"{type(exc).__name__}: {exc}"
    spent_cpu = time.process_time() - cpu + _cpu_s(helper()) - helper_cpu
    return result, error, time.perf_counter() - start, spent_cpu


def compare(root: Path) -> dict[str, Any]:
    """Run both extractors over every sample and compare them field by field.

    Returns:
        ``{"files": n, "fields": {name: counts + cases}, "errors": [...], "seconds": {...}}``;
        each case is ``{"file", "old", "new", "kind": "disagree"|"only_old"|"only_new",
        "explained": reason or None}``.
    """
    from darkroom_metadata.exiftool import ExifTool
    from darkroom_metadata.extract import extract_metadata

    from bench import metadata_legacy

    files = media_files(root)
    counts = {name: FieldCount() for name in FIELDS}
    errors = []
    old_s = new_s = old_cpu = new_cpu = 0.0
    with ExifTool() as exiftool:
        exiftool.version()  # started before the clock runs, as in the service
        for path, mime in files:
            relative = str(path.relative_to(root))
            mtime = _mtime(path)
            old, old_error, old_t, old_c = _outcome(
                lambda path=path, mime=mime, mtime=mtime: metadata_legacy.extract_metadata(
                    path, mime_type=mime, file_modified_at=mtime
                )
            )
            new, new_error, new_t, new_c = _outcome(
                lambda path=path, mime=mime, mtime=mtime: extract_metadata(
                    path, mime_type=mime, file_modified_at=mtime, exiftool=exiftool
                ),
                lambda: exiftool._process.pid if exiftool._process else None,  # noqa: SLF001
            )
            old_s, new_s = old_s + old_t, new_s + new_t
            old_cpu, new_cpu = old_cpu + old_c, new_cpu + new_c
            if old_error or new_error:
                errors.append(
                    {
                        "file": relative,
                        "mime_type": mime,
                        "old": old_error,
                        "new": new_error,
                        "explained": EXPLAINED.get((relative, "error")),
                    }
                )
            for name in FIELDS:
                a = getattr(old, name, None) if old is not None else None
                b = getattr(new, name, None) if new is not None else None
                count = counts[name]
                count.old += a is not None
                count.new += b is not None
                if a is None and b is None:
                    continue
                if a is not None and b is not None and same(name, a, b):
                    count.agree += 1
                    continue
                kind = "disagree" if a is not None and b is not None else "only_old"
                if a is None:
                    count.only_new += 1
                    kind = "only_new"
                elif kind == "disagree":
                    count.disagree += 1
                else:
                    count.only_old += 1
                reason = EXPLAINED.get((relative, name)) or EXPLAINED.get(("*", name))
                count.cases.append(
                    {
                        "file": relative,
                        "kind": kind,
                        "old": _plain(a),
                        "new": _plain(b),
                        "explained": reason,
                    }
                )
    return {
        "files": len(files),
        "fields": {name: vars(c) for name, c in counts.items()},
        "errors": errors,
        "seconds": {"old": old_s, "new": new_s},
        "cpu_seconds": {"old": old_cpu, "new": new_cpu},
    }


def unexplained(report: dict[str, Any]) -> list[str]:
    """Regressions no entry of :data:`EXPLAINED` accounts for: a field the old extractor
    filled and the new one does not or fills differently, a file only the new one fails on."""
    found = [
        f"{name}: {case['file']} ({case['kind']}: old {case['old']!r}, new {case['new']!r})"
        for name, data in report["fields"].items()
        for case in data["cases"]
        if case["explained"] is None and case["kind"] != "only_new"
    ]
    found += [
        f"error: {e['file']} (old {e['old']!r}, new {e['new']!r})"
        for e in report["errors"]
        if e["new"] and not e["old"] and e["explained"] is None
    ]
    return found


def table(report: dict[str, Any]) -> str:
    """The per-field comparison as a Markdown table."""
    lines = [
        "| field | old filled | new filled | agree | disagree | only old | only new |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in report["fields"].items():
        lines.append(
            f"| {name} | {d['old']} | {d['new']} | {d['agree']} | {d['disagree']} "
            f"| {d['only_old']} | {d['only_new']} |"
        )
    return "\n".join(lines)


def _rss_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_rss(which: str) -> dict[str, int]:
    """Peak resident memory (KiB) of this process after extracting every sample with one
    extractor, plus its ExifTool's for the new one. Run in a fresh process (``--rss``)."""
    root = samples_root()
    assert root is not None
    files = media_files(root)
    if which == "old":
        from bench import metadata_legacy

        for path, mime in files:
            try:
                metadata_legacy.extract_metadata(
                    path, mime_type=mime, file_modified_at=_mtime(path)
                )
            except Exception:  # noqa: BLE001, S112 - failures are compared elsewhere
                continue
        return {"python_kib": _rss_kib(os.getpid(), "VmHWM")}
    from darkroom_metadata.exiftool import ExifTool
    from darkroom_metadata.extract import extract_metadata

    with ExifTool() as exiftool:
        exiftool.version()
        pid = exiftool._process.pid if exiftool._process else 0  # noqa: SLF001 - a measurement
        for path, mime in files:
            try:
                extract_metadata(
                    path, mime_type=mime, file_modified_at=_mtime(path), exiftool=exiftool
                )
            except Exception:  # noqa: BLE001, S112 - failures are compared elsewhere
                continue
        exiftool_kib = _rss_kib(pid, "VmHWM")
    return {
        "python_kib": _rss_kib(os.getpid(), "VmHWM"),
        "exiftool_kib": exiftool_kib,
    }


def _rss_in_child(which: str) -> dict[str, int]:
    out = subprocess.run(  # noqa: S603 - this module, fixed arguments
        [sys.executable, "-m", "bench.metadata", "--rss", which],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Compare both extractors over every sample; write bench/results/metadata.json."""
    root = samples_root()
    if root is None:
        print("sample media not found (set DARKROOM_SAMPLES): nothing to compare")  # noqa: T201
        return
    report = compare(root)
    n = max(report["files"], 1)
    report = {
        "benchmark": "metadata",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "samples": str(root),
        "ms_per_file": {
            "old": round(1000 * report["seconds"]["old"] / n, 2),
            "new": round(1000 * report["seconds"]["new"] / n, 2),
        },
        # CPU time (the new one's includes its ExifTool process): what a loaded machine
        # changes least
        "cpu_ms_per_file": {
            "old": round(1000 * report["cpu_seconds"]["old"] / n, 2),
            "new": round(1000 * report["cpu_seconds"]["new"] / n, 2),
        },
        "load_average": os.getloadavg(),
        "rss_kib": {"old": _rss_in_child("old"), "new": _rss_in_child("new")},
        "unexplained": unexplained(report),
        **report,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "metadata.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(table(report))  # noqa: T201 - a benchmark's report on the terminal
    keys = ("files", "ms_per_file", "cpu_ms_per_file", "rss_kib", "load_average")
    print(json.dumps({k: report[k] for k in keys}))  # noqa: T201
    for line in report["unexplained"]:
        print("UNEXPLAINED", line)  # noqa: T201


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        print(json.dumps(measure_rss(sys.argv[2])))  # noqa: T201 - read by the parent
    else:
        main()
