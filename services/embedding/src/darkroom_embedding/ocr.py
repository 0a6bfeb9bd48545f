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

#: Lines recognised with less confidence than this are dropped (RapidOCR's own default
#: ``text_score`` is 0.5).
DEFAULT_MIN_SCORE = 0.5


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

    Args:
        min_score: Lines below this confidence are dropped.
    """

    def __init__(self, min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.min_score = min_score
        self._engine: Any | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the detection/classification/recognition models (~0.3 s)."""
        with self._lock:
            if self._engine is None:
                from rapidocr_onnxruntime import RapidOCR

                self._engine = RapidOCR()
                log.info("ocr.loaded", engine="rapidocr-onnxruntime PP-OCRv4")

    def read(self, image: bytes) -> list[TextLine]:
        """Text lines in an encoded image (JPEG/PNG/WebP bytes), top to bottom.

        Args:
            image: The encoded image (the 1440 px preview).

        Returns:
            Lines with normalised boxes, at least ``min_score`` confident.

        Raises:
            ValueError: The bytes are not a decodable image.
        """
        import cv2
        import numpy as np

        decoded = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR)
        if decoded is None:
            raise ValueError("not a decodable image")
        height, width = decoded.shape[:2]
        self.load()
        with self._lock:
            assert self._engine is not None
            result, _ = self._engine(decoded)
        lines: list[TextLine] = []
        for points, text, score in result or []:
            if float(score) < self.min_score or not str(text).strip():
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
