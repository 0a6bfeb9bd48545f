"""Reading a file's tags with ExifTool, kept running in its stay-open mode.

ExifTool (Phil Harvey, https://exiftool.org) is the most complete metadata reader there is: EXIF
with every camera's MakerNotes, XMP, IPTC, ICC, QuickTime/MP4 user data and Keys (video GPS,
Apple's content identifier), HEIF, RAW, motion-photo trailers. It is a Perl program (~80-200 ms to
start), so one process is started and fed file names on stdin (``-stay_open True -@ -``); each
request ends with ``-execute<n>`` and its answer with ``{ready<n>}`` (ExifTool's documented
stay-open protocol, "-stay_open FLAG" in its man page).

The executable comes from the npm package ``exiftool-vendored.pl`` installed by ``make
run-deps`` under ``services/metadata/exiftool`` (it runs on the machine's perl), or Debian's
``libimage-exiftool-perl`` in the container image, or ``DARKROOM_EXIFTOOL``.

``pyexiftool`` (PyPI) was considered: its last release (0.5.6) is from 2023, a call cannot be
given a time limit and the process cannot be killed through its API, so a file that hangs
ExifTool would hang the service; this wrapper is that protocol plus a deadline and a restart.
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import msgspec
import structlog

__all__ = ["PRINTED_TAGS", "ExifTool", "ExifToolError", "find_executable", "read_tags"]

log = structlog.get_logger()

#: The package's script, relative to the repository (installed by ``make run-deps``).
VENDORED = Path("services/metadata/exiftool/node_modules/exiftool-vendored.pl/bin/exiftool")

#: Arguments of every read: JSON, family-1 group names (``IFD0:Make``, ``Keys:GPSCoordinates``)
#: so that each value's origin is known, structures as JSON (XMP ``Container:Directory``), UTF-8.
#: Values are numbers, not printed for people (GPS as signed decimal degrees, exposure in
#: seconds), but tag by tag (``-TAG#``, ``-all#``, see :meth:`ExifTool.read`) rather than with
#: ``-n``, which would leave no way to have a few tags printed in the same read.
READ_ARGS = (
    "-json",
    "-G1",
    "-struct",
    "-charset",
    "filename=utf8",
    "-api",
    "LargeFileSupport=1",
)

#: Tags a full read gives as ExifTool prints them, because Immich stores them so: its
#: ``lensModel`` is the first of LensID, LensType, LensSpec, LensModel (metadata.service
#: ``getLensModel``), read by exiftool-vendored with print conversion on, e.g. Composite:LensID
#: ``"Canon EF 28-80mm f/3.5-5.6 USM IV"`` where ``-n`` gives the lens number ``202``.
PRINTED_TAGS = ("LensID", "LensType", "LensSpec", "LensModel")

#: Copies of a printed tag (family 4 groups ``Copy1``...) left out of a full read, so that each
#: name is given once, with the value ExifTool prefers (what a read without ``-G``, as
#: exiftool-vendored's, returns: Composite:LensID over XMP-aux:LensID, ExifIFD:LensModel over
#: XMP-exifEX:LensModel). The other tags keep their copies under their own groups, as before.
_PRINTED_COPIES = 9

#: The arguments of a full read: the printed tags named first (the first request of a tag
#: decides its conversion; exiftool-vendored does the reverse, ``-TAG#`` before ``-all``), their
#: copies excluded, then every tag numeric. ``Sort=Group1`` keeps the order of a read that names
#: no tag (the exiftool application sorts by group only then), which ``*:Name`` lookups follow.
_FULL_READ = (
    "-api",
    "Sort=Group1",
    *(f"-{tag}" for tag in PRINTED_TAGS),
    *(f"--Copy{n}:{tag}" for n in range(1, _PRINTED_COPIES + 1) for tag in PRINTED_TAGS),
    "-all#",
)


class ExifToolError(Exception):
    """ExifTool did not answer (crashed, timed out, printed no JSON). The file may be fine."""


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[4]


def find_executable(configured: str = "") -> str:
    """Where the ExifTool to run is.

    Args:
        configured: ``DARKROOM_EXIFTOOL`` (a path); empty to search.

    Returns:
        ``configured`` if given; else the vendored npm package's script when installed; else
        ``exiftool`` on PATH (Debian's ``libimage-exiftool-perl``).

    Raises:
        ExifToolError: None of these exists.
    """
    if configured:
        return configured
    vendored = _repo_root() / VENDORED
    if vendored.is_file():
        return str(vendored)
    on_path = shutil.which("exiftool")
    if on_path:
        return on_path
    raise ExifToolError(
        "ExifTool not found: run `make run-deps` (npm exiftool-vendored.pl), install "
        "libimage-exiftool-perl, or set DARKROOM_EXIFTOOL"
    )


class ExifTool:
    """One ExifTool process in stay-open mode, shared by threads (one request at a time).

    Started on first use; restarted after a crash or a timeout (the request that hit it raises
    :class:`ExifToolError`). Close it with :meth:`close` or a ``with`` block; an unclosed one
    exits by itself when its parent does (its stdin closes).

    Args:
        executable: The ExifTool to run (:func:`find_executable` when None).
        timeout_s: Longest wait for one file's answer, seconds (``DARKROOM_EXIFTOOL_TIMEOUT_S``).
    """

    def __init__(self, executable: str | None = None, *, timeout_s: float = 60.0) -> None:
        self.executable = executable or find_executable(os.environ.get("DARKROOM_EXIFTOOL", ""))
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._counter = 0

    def __enter__(self) -> ExifTool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            command = (
                ["perl", self.executable] if self.executable.endswith(".pl") else [self.executable]
            )
            self._process = subprocess.Popen(  # noqa: S603 - fixed argv, a configured program
                [*command, "-stay_open", "True", "-@", "-", "-common_args", *READ_ARGS],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            log.info("exiftool.started", pid=self._process.pid, executable=self.executable)
        return self._process

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        """Ask ExifTool to exit (kill it after 5 s); a later call starts a new one."""
        with self._lock:
            process, self._process = self._process, None
            if process is None or process.poll() is not None:
                return
            try:
                assert process.stdin is not None
                process.stdin.write(b"-stay_open\nFalse\n")
                process.stdin.close()
                process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
                process.wait()

    def execute(self, *args: str) -> bytes:
        """Run one ExifTool command (the common arguments are added) and return its stdout.

        Args:
            args: Arguments, one per line as ExifTool reads them (no newlines inside).

        Raises:
            ExifToolError: ExifTool exited or did not answer within ``timeout_s`` (it is
                killed and restarted on the next call).
        """
        with self._lock:
            process = self._start()
            self._counter += 1
            ready = f"{{ready{self._counter}}}".encode()
            request = "".join(f"{a}\n" for a in (*args, f"-execute{self._counter}"))
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(request.encode())
                process.stdin.flush()
            except OSError as error:
                self._kill()
                raise ExifToolError(f"ExifTool is gone: {error}") from error
            out = bytearray()
            deadline = time.monotonic() + self.timeout_s
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                while True:
                    end = out.rfind(ready)
                    if end >= 0:
                        return bytes(out[:end])
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self._kill()
                        raise ExifToolError(f"ExifTool gave no answer in {self.timeout_s:g} s")
                    if not selector.select(left):
                        continue
                    chunk = os.read(process.stdout.fileno(), 1 << 16)
                    if not chunk:
                        self._kill()
                        raise ExifToolError("ExifTool exited while reading a file")
                    out += chunk

    def read(self, path: Path, *tags: str) -> dict[str, Any]:
        """The tags of one file: ``{"IFD0:Make": "Apple", "Composite:GPSLatitude": 52.2, ...}``.

        Args:
            path: The file (local).
            tags: Only these tags (``-XMP-GCamera:all``...), numeric; every tag when empty,
                numeric but for :data:`PRINTED_TAGS`, which are printed.

        Returns:
            ExifTool's JSON object for the file (family-1 group: tag name -> value; numbers as
            numbers, lists for lists, dicts for structures). ``ExifTool:Error`` /
            ``ExifTool:Warning`` say what went wrong with the file.

        Raises:
            ExifToolError: ExifTool did not answer or printed no JSON.
        """
        request = tuple(t if t.endswith("#") else f"{t}#" for t in tags) or _FULL_READ
        out = self.execute(*request, str(path))
        try:
            found = msgspec.json.decode(out)
        except msgspec.DecodeError as error:
            raise ExifToolError(f"ExifTool printed no JSON for {path.name}") from error
        if not isinstance(found, list) or not found or not isinstance(found[0], dict):
            raise ExifToolError(f"ExifTool printed no tags for {path.name}")
        return found[0]

    def version(self) -> str:
        """ExifTool's version, e.g. ``"13.59"``."""
        return self.execute("-ver").decode().strip()


def read_tags(path: Path, exiftool: ExifTool | None = None, *only: str) -> dict[str, Any]:
    """ExifTool's tags of a file, with a temporary ExifTool when none is given.

    Args:
        path: The file.
        exiftool: A running reader (the service's); None starts one for this call (~0.2 s).
        only: Restrict to these tags (``-XMP-GCamera:all``).

    Raises:
        ExifToolError: ExifTool did not answer.
    """
    if exiftool is not None:
        return exiftool.read(path, *only)
    with ExifTool() as own:
        return own.read(path, *only)
