"""The stay-open ExifTool wrapper: answers, a deadline, a restart after a crash."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import PIL.Image
import pytest
from darkroom_metadata.exiftool import ExifTool, ExifToolError


def _jpeg(tmp_path: Path) -> Path:
    path = tmp_path / "small.jpg"
    exif = PIL.Image.Exif()
    exif[0x010F] = "Darkroom"  # Make
    PIL.Image.new("RGB", (24, 16)).save(path, exif=exif)
    return path


def test_one_process_answers_many_files(exiftool: ExifTool, tmp_path: Path) -> None:
    path = _jpeg(tmp_path)
    first = exiftool.read(path)
    pid = exiftool._process.pid  # noqa: SLF001 - the point is that it stays the same
    second = exiftool.read(path)
    assert first["IFD0:Make"] == second["IFD0:Make"] == "Darkroom"
    assert first["Composite:ImageSize"] == "24 16"
    assert exiftool._process.pid == pid  # noqa: SLF001
    assert exiftool.version()[0].isdigit()


def test_killed_exiftool_is_restarted(tmp_path: Path) -> None:
    path = _jpeg(tmp_path)
    with ExifTool() as reader:
        reader.read(path)
        os.kill(reader._process.pid, signal.SIGKILL)  # noqa: SLF001 - a crash
        reader._process.wait()  # noqa: SLF001
        assert reader.read(path)["IFD0:Make"] == "Darkroom"


def test_an_answer_that_never_comes_times_out(tmp_path: Path) -> None:
    """A program that reads the requests and never answers (as ExifTool stuck on a file)."""
    silent = tmp_path / "silent-exiftool"
    silent.write_text("#!/bin/sh\nwhile read -r line; do :; done\n")
    silent.chmod(0o755)
    reader = ExifTool(str(silent), timeout_s=1)
    start = time.monotonic()
    with pytest.raises(ExifToolError, match="no answer"):
        reader.read(_jpeg(tmp_path))
    assert time.monotonic() - start >= 1
    assert reader._process is None  # noqa: SLF001 - killed, the next call starts a new one


def test_a_program_that_exits_is_an_error(tmp_path: Path) -> None:
    gone = tmp_path / "gone-exiftool"
    gone.write_text("#!/bin/sh\nexit 3\n")
    gone.chmod(0o755)
    with pytest.raises(ExifToolError):
        ExifTool(str(gone), timeout_s=30).read(_jpeg(tmp_path))
