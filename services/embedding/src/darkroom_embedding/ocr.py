"""OCR: text lines (with boxes) read from an image by RapidOCR's PP-OCRv4 ONNX models.

Source of the models: ``rapidocr-onnxruntime`` 1.4.4 (Apache-2.0) ships PaddleOCR's PP-OCRv4
text detection (DBNet), direction classifier and recognition models as ONNX files inside its
wheel, so this works offline; the newer ``rapidocr`` 3.x downloads its models at run time and
is not used. Inference is blocking: call :meth:`OcrEngine.read` through the service's thread pool.
"""

from __future__ import annotations

import threading
from typing import Any

import msgspec
import structlog

log = structlog.get_logger()

#: Immich's OCR settings (system config ``machineLearning.ocr``; spec: OcrConfig) and their
#: defaults there: the longest side text detection sees, in pixels, and the least confidence of a
#: detected text box and of a recognised line.
DEFAULT_MAX_RESOLUTION = 736
DEFAULT_MIN_DETECTION_SCORE = 0.5
DEFAULT_MIN_RECOGNITION_SCORE = 0.8


class TextLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of text found in an image.

    Attributes:
        text: The recognised text.
        box: Four corners (x1, y1, ..., x4, y4) clockwise from top-left, in 0..1 of the
            image's width (x) and height (y).
        score: Recognition confidence, 0..1.
    """

    text: str
    box: list[float]
    score: float


class OcrEngine:
    """A lazily loaded RapidOCR engine (one per process; not thread-safe, so calls are
    serialised by a lock).

    Detection runs on the image as given, never enlarged (RapidOCR's ``det_limit_type="max"``;
    its default, ``"min"``, enlarges every image to 736 px on the short side, so a small image
    cost as much as a large one): :meth:`read` first shrinks the image to the configured
    resolution.

    Args:
        threads: Intra-op threads of each of RapidOCR's onnxruntime sessions
            (``DARKROOM_ML_THREADS``, as the CLIP models); 0: onnxruntime's default (all
            cores). One thread reads a 640x480 image with a third less CPU time than two
            (0.086 against 0.126 CPU-s, measured on the 2-core development VM), 11 % slower.
    """

    def __init__(self, threads: int = 0) -> None:
        self._engine: Any | None = None
        self._lock = threading.Lock()
        self._threads = threads

    def load(self) -> None:
        """Load the detection/classification/recognition models (~0.3 s)."""
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                threads = {"intra_op_num_threads": self._threads} if self._threads else {}
                self._engine = RapidOCR(det_limit_type="max", **threads)
                log.info("ocr.loaded", engine="rapidocr-onnxruntime PP-OCRv4")

    def read(
        self,
        image: bytes,
        *,
        max_resolution: int = DEFAULT_MAX_RESOLUTION,
        min_detection_score: float = DEFAULT_MIN_DETECTION_SCORE,
        min_recognition_score: float = DEFAULT_MIN_RECOGNITION_SCORE,
    ) -> list[TextLine]:
        """Text lines in an encoded image (JPEG/PNG/WebP bytes), top to bottom.

        Args:
            image: The encoded image (the 1440 px preview).
            max_resolution: Pixels, >= 1: an image whose longest side is larger is shrunk to
                it (area averaging) before detection (Immich's ``maxResolution``).
            min_detection_score: 0..1: text boxes the detector is less sure of are dropped
                (``minDetectionScore``; RapidOCR's ``box_thresh``).
            min_recognition_score: 0..1: lines recognised with less confidence are dropped
                (``minRecognitionScore``).

        Returns:
            Lines with boxes normalised to the image (0..1), at least
            ``min_recognition_score`` confident.

        Raises:
            ValueError: The bytes are not a decodable image.
        """
        import cv2
        import numpy as np

        decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            raise ValueError("not a decodable image")
        height, width = decoded.shape[:2]
        scale = max_resolution / max(height, width)
        if scale < 1:
            width, height = max(1, round(width * scale)), max(1, round(height * scale))
            decoded = cv2.resize(decoded, (width, height), interpolation=cv2.INTER_AREA)
        self.load()
        with self._lock:
            assert self._engine is not None
            result, _ = self._engine(
                decoded, box_thresh=min_detection_score, text_score=min_recognition_score
            )
        lines: list[TextLine] = []
        for points, text, score in result or []:  # RapidOCR kept only >= text_score
            if not str(text).strip():
                continue
            box: list[float] = []
            for x, y in points:
                box += [
                    round(min(max(float(x) / width, 0.0), 1.0), 5),
                    round(min(max(float(y) / height, 0.0), 1.0), 5),
                ]
            lines.append(TextLine(text=str(text).strip(), box=box, score=float(score)))
        lines.sort(key=lambda line: (line.box[1], line.box[0]))
        return lines
