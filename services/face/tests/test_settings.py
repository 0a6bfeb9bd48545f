"""Settings defaults: the values issue 5 asks for, each one documented in its docstring."""

from __future__ import annotations

import msgspec
import pytest
from darkroom_face.settings import DetectionSettings, FaceSettings, RecognitionSettings
from darkroom_runtime import ServiceSettings


@pytest.mark.parametrize("cls", [DetectionSettings, RecognitionSettings, FaceSettings])
def test_every_setting_is_documented(cls: type[msgspec.Struct]) -> None:
    doc = cls.__doc__ or ""
    inherited = set(ServiceSettings.__struct_fields__) if cls is FaceSettings else set()
    own = set(cls.__struct_fields__) - inherited
    assert own
    for name in own:
        assert f"{name}:" in doc, f"{cls.__name__}.{name} is not documented"


def test_defaults() -> None:
    d = DetectionSettings()
    assert (d.model, d.min_score, d.min_size, d.detect_size, d.upsample) == (
        "dlib",
        0.3,
        32,
        720,
        1,
    )
    r = RecognitionSettings()
    assert r.min_faces == 3  # Immich's minFaces
    assert r.max_distance < 0.6  # inside dlib's same-person threshold
    assert 0 < r.deferred_after_s <= 10 and 0 < r.sweep_interval_s <= 10  # people within seconds
    f = FaceSettings()
    assert f.thumbnail_size == 250 and f.detection == d and f.recognition == r
