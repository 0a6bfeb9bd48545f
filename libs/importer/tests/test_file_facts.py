"""What the file itself carries decides which JSON fields are set; the resume state file."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pyexiv2
import pyvips
from darkroom_import.filemeta import FileFacts, image_facts, video_facts
from darkroom_import.sidecar import decode
from darkroom_import.state import State
from darkroom_import.takeout import changes_for

SIDECAR = decode(
    b'{"title":"a.jpg","description":"At the lake","photoTakenTime":{"timestamp":"1551430800"},'
    b'"geoData":{"latitude":46.5,"longitude":6.6},"favorited":true,"archived":true}'
)


def _jpeg(**exif: str) -> bytes:
    data = bytes(pyvips.Image.black(16, 16).jpegsave_buffer(keep=pyvips.enums.ForeignKeep.NONE))
    if not exif:
        return data
    with pyexiv2.ImageData(data) as image:
        image.modify_exif(exif)
        return bytes(image.get_bytes())


def _mp4(**tags: str) -> io.BytesIO:
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        container.metadata.update(tags)
        stream = container.add_stream("mpeg4", rate=5)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((32, 32, 3), dtype="uint8"), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            container.mux(packet)
    out.seek(0)
    return out


def test_image_facts_read_exif() -> None:
    assert image_facts(_jpeg()) == FileFacts()
    full = _jpeg(
        **{
            "Exif.Photo.DateTimeOriginal": "2018:07:01 10:00:00",
            "Exif.GPSInfo.GPSLatitude": "46/1 30/1 0/1",
            "Exif.GPSInfo.GPSLatitudeRef": "N",
            "Exif.GPSInfo.GPSLongitude": "6/1 36/1 0/1",
            "Exif.GPSInfo.GPSLongitudeRef": "E",
            "Exif.Image.ImageDescription": "Camera caption",
        }
    )
    assert image_facts(full) == FileFacts(has_date=True, has_location=True, has_description=True)
    assert image_facts(b"not an image") == FileFacts()


def test_video_facts_read_container_tags() -> None:
    assert video_facts(_mp4()) == FileFacts()
    dated = video_facts(_mp4(creation_time="2019-03-01T09:00:00.000000Z"))
    assert dated == FileFacts(has_date=True)
    assert video_facts(io.BytesIO(b"not a video")) == FileFacts()


def test_json_fills_only_what_the_file_lacks() -> None:
    everything = changes_for(SIDECAR, FileFacts())
    assert everything == {
        "dateTimeOriginal": "2019-03-01T09:00:00Z",
        "latitude": 46.5,
        "longitude": 6.6,
        "description": "At the lake",
        "isFavorite": True,
        "visibility": "archive",
    }
    camera = changes_for(SIDECAR, FileFacts(has_date=True, has_location=True, has_description=True))
    assert camera == {"isFavorite": True, "visibility": "archive"}
    assert changes_for(None, FileFacts()) == {}


def test_state_resumes_per_server_and_survives_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "state.jsonl"
    first = State(path, "http://a:2283/")
    first.record("Photos from 2019/a.jpg:10", "id-a")
    State(path, "http://b:2283").record("Photos from 2019/a.jpg:10", "id-b")
    with path.open("ab") as fh:
        fh.write(b'{"server": "http://a:2283", "item": "cut')  # a crash mid-line
    again = State(path, "http://a:2283")
    assert again.done == {"Photos from 2019/a.jpg:10": "id-a"}
    again.record("Photos from 2019/b.jpg:20", "id-b2")  # after the cut line, on a line of its own
    assert State(path, "http://a:2283").done == {
        "Photos from 2019/a.jpg:10": "id-a",
        "Photos from 2019/b.jpg:20": "id-b2",
    }
