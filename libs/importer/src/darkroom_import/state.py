"""What an import has done, kept in a small file so an interrupted import resumes.

One JSON object per line (``{"server": URL, "item": KEY, "assetId": ID}``), appended and
flushed as each item finishes, so a crash loses at most the item in flight (and that one is
found again on the server by its checksum). Records of another server are ignored.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec


class Record(msgspec.Struct, frozen=True, rename="camel"):
    """One finished item: the server, the item's key (:attr:`Entry.key`) and its asset."""

    server: str
    item: str
    asset_id: str


class State:
    """The finished items of ``path`` for ``server``.

    Args:
        path: the state file (created on the first record).
        server: the server's base URL; records of other servers are ignored.
    """

    def __init__(self, path: Path, server: str) -> None:
        self.path = path
        self.server = server.rstrip("/")
        self.done: dict[str, str] = {}
        self._cut = False  # the last line was cut by a crash: end it before appending
        if path.exists():
            decoder = msgspec.json.Decoder(Record)
            content = path.read_bytes()
            self._cut = bool(content) and not content.endswith(b"\n")
            for line in content.splitlines():
                try:
                    record = decoder.decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    continue  # a line cut by a crash
                if record.server == self.server:
                    self.done[record.item] = record.asset_id

    def check_writable(self) -> None:
        """Make sure records can be written (creates the file, empty).

        Raises:
            OSError: The file cannot be created or appended to.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab"):
            pass

    def record(self, item: str, asset_id: str) -> None:
        """Note ``item`` as done (asset ``asset_id``), durably."""
        self.done[item] = asset_id
        line = msgspec.json.encode(Record(server=self.server, item=item, asset_id=asset_id))
        with self.path.open("ab") as fh:
            fh.write((b"\n" if self._cut else b"") + line + b"\n")
            self._cut = False
            fh.flush()
            os.fsync(fh.fileno())
