"""``DARKROOM_REPLICAS_<SERVICE>`` and the instances the supervisor runs from it (issue #25)."""

from __future__ import annotations

from pathlib import Path

import pytest
from darkroom_stack.supervisor import StackConfig, replicas_from_environ, service_of


def test_replicas_from_the_environment() -> None:
    env = {
        "DARKROOM_REPLICAS_THUMBNAIL": "3",
        "DARKROOM_REPLICAS_GATEWAY": "2",
        "DARKROOM_PORT": "2283",
    }
    assert replicas_from_environ(env) == {"thumbnail": 3, "gateway": 2}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("DARKROOM_REPLICAS_THUMBNAIL", "0", "DARKROOM_REPLICAS_THUMBNAIL must be"),
        ("DARKROOM_REPLICAS_THUMBNAIL", "three", "DARKROOM_REPLICAS_THUMBNAIL must be"),
        ("DARKROOM_REPLICAS_THUMBNAIL", "17", "from 1 to 16"),
        ("DARKROOM_REPLICAS_THUMBNAILS", "2", "no service 'thumbnails'"),
    ],
)
def test_bad_replica_counts_are_refused_naming_the_variable(
    key: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        replicas_from_environ({key: value})


def test_instances_in_start_order_with_their_service(tmp_path: Path) -> None:
    config = StackConfig(
        data_dir=tmp_path,
        services=("ingest", "thumbnail", "gateway"),
        replicas={"thumbnail": 3, "gateway": 2, "face": 4},  # face is not run: ignored
    )
    instances = config.instances()
    assert instances == [
        "ingest",
        "thumbnail",
        "thumbnail-2",
        "thumbnail-3",
        "gateway",
        "gateway-2",
    ]
    assert [service_of(i) for i in instances] == [
        "ingest",
        "thumbnail",
        "thumbnail",
        "thumbnail",
        "gateway",
        "gateway",
    ]
