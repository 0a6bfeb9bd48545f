"""Face service settings (``DARKROOM_*``), each default with its source."""

from __future__ import annotations

import msgspec
from darkroom_runtime import ServiceSettings


class DetectionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Face detection (``DARKROOM_DETECTION_*``).

    Attributes:
        model: ``dlib`` (default, offline: HOG + 5-point alignment + ResNet 128-d) or an
            InsightFace pack name (``buffalo_l``, ``buffalo_s``, as Immich).
        model_dir: Where InsightFace packs live (``<model_dir>/models/<name>/*.onnx``).
        min_score: Lowest detector score kept. For dlib HOG it is the SVM margin: dlib's own
            threshold is 0; on the labelled samples real faces scored >= 1.1 and false hits
            (a suit, a badge) <= -0.3, so 0.3 keeps a margin on both sides. (InsightFace:
            Immich's minScore default 0.7.)
        min_size: Smallest face kept, pixels of the preview (shorter box side). 32 px faces are
            too small for a 150 px aligned chip to carry identity.
        detect_size: Longest side of the image the detector runs on (the preview is scaled
            down to it; boxes are scaled back). 720 px keeps HOG at ~0.2 s per image on 2 cores
            (measured: 1440 px upsampled costs ~4x), and with one upsample finds faces from
            ~40 px at that size (~80 px in a 1440 px preview).
        upsample: Times HOG upsamples the image (1 as dlib's examples: finds smaller faces).
    """

    model: str = "dlib"
    model_dir: str = ""
    min_score: float = 0.3
    min_size: int = 32
    detect_size: int = 720
    upsample: int = 1


class RecognitionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Clustering faces into people (``DARKROOM_RECOGNITION_*``).

    Attributes:
        max_distance: Largest Euclidean (L2) distance between two descriptors of one person.
            dlib's ResNet was trained so that < 0.6 means the same person (dlib
            dnn_face_recognition_ex.cpp, 99.38% on LFW); MODELS.md measured one impostor pair
            at 0.595, and on the labelled samples same-person pairs were <= 0.42 while
            different people were >= 0.69, so 0.5 sits between with margin. For
            InsightFace (unit vectors) Immich's cosine distance 0.5 is L2 sqrt(2 * 0.5) = 1.0.
        min_faces: A face is "core" when at least this many faces (itself included) lie within
            ``max_distance``; only core faces start a new person (Immich's minFaces default 3).
        deferred_after_s: A deferred face is retried after it has waited this long (Immich
            retries deferred faces once the queue drains). Deferred are the non-core faces on
            arrival, and the unmatched faces requeued because a person formed within
            ``max_distance`` of them (Darkroom: so people form within seconds, not at night).
        sweep_interval_s: How often the service looks for deferred faces to retry; 0 = never
            (then only the nightly pass recognises them: the gateway's scheduler asks for it at
            ``nightlyTasks.startTime`` while ``nightlyTasks.clusterNewFaces`` is on).
    """

    max_distance: float = 0.5
    min_faces: int = 3
    deferred_after_s: float = 5.0
    sweep_interval_s: float = 5.0


class FaceSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the face service.

    Attributes:
        detection: Detector/model choice and filters.
        recognition: Clustering thresholds.
        thumbnail_size: Side of the square person thumbnail, pixels (Immich: 250).
    """

    detection: DetectionSettings = DetectionSettings()
    recognition: RecognitionSettings = RecognitionSettings()
    thumbnail_size: int = 250
