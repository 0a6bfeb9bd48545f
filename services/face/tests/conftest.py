"""Fixtures for the face service's tests: the shared labelled face photos and a loaded model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from darkroom_face.models import DlibFaceModel
from darkroom_face.settings import DetectionSettings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    """``<samples>/faces/face_recognition_knn`` (``DARKROOM_SAMPLES`` or ``../shared/samples``)."""
    root = Path(os.environ.get("DARKROOM_SAMPLES") or REPO.parent / "shared" / "samples")
    folder = root / "faces" / "face_recognition_knn"
    if not folder.is_dir():
        pytest.skip(f"face samples not found at {folder} (set DARKROOM_SAMPLES)")
    return folder


@pytest.fixture(scope="session")
def model() -> DlibFaceModel:
    """The default dlib model with the default settings, loaded once."""
    m = DlibFaceModel(DetectionSettings())
    m.load()
    return m
