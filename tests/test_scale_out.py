"""Scale-out with faults, the small version of ``make scale-test`` (issue #25 item 3).

100 generated unique photos from 8 clients to two gateways, on a three-node NATS cluster
(stream R3), S3 storage, and several replicas of every service; during the uploads the NATS
node leading the stream, one replica of each worker service and PostgreSQL are killed with
``kill -9`` and restarted by the supervisor. Every accepted photo ends fully processed (EXIF,
thumbnails, CLIP embedding, faces), none twice: no asset and no derived file is duplicated,
no derived object lacks its row, no job was dead-lettered.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import scale

UPLOADS = 100


# 16 processes on 2 cores beside two other test workers: past the suite's 300 s ceiling once
@pytest.mark.timeout(900)
def test_scale_out_with_faults_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    report = scale.run(UPLOADS, clients=8, faults=True, data_dir=tmp_path)
    assert report["accepted"] == UPLOADS, report
    assert report["missing_in_db"] == 0, report
    assert report["fully_processed"] == UPLOADS, report
    assert report["lost"] == 0, report
    assert report["duplicated_assets"] == 0, report
    assert report["assets_in_db"] == UPLOADS, report
    assert report["duplicated_derived_files"] == 0, report
    assert report["derived_objects_without_row"] == 0, report
    assert report["derived_rows_without_object"] == 0, report
    assert report["derived_objects"] >= 2 * UPLOADS, report  # a preview and a thumbnail each
    assert report["embeddings"] == UPLOADS, report
    assert report["job_failures"] == 0, report
    faults = {f["fault"]: f for f in report["faults"]}
    assert len(faults) == 3, report
    leader = faults["kill -9 of the NATS stream leader"]
    assert leader["new_leader_s"] is not None and leader["back_s"] > 0, report
    workers = faults["kill -9 of one replica of each worker service"]
    assert len(workers["killed"]) == 6 and workers["back_s"] > 0, report
    assert "thumbnail-3" in workers["killed"], report
    assert faults["kill -9 of PostgreSQL"]["back_s"] > 0, report
    assert len([p for p in report["processes"] if p.startswith("thumbnail")]) == 3, report
    assert len([p for p in report["processes"] if p.startswith("gateway")]) == 2, report
