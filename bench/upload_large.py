"""Large upload benchmark (issue #20 item 5): a 4 GiB video into the running stack over HTTP.

What production does with a phone's long video: the embedded stack runs every service with
filesystem storage (as ``make up``); the video is sent as the Immich mobile app backs up,
``POST /api/assets`` multipart (``assetData`` + the app's form fields) with a login session
(``x-immich-user-token``). The gateway streams the body to ``staging/`` while hashing it
(SHA-1), ingest sniffs it, moves it to its final key and fsyncs it, and commits the asset row;
the timing is from the first byte of the request to the 201 answer, so it holds the upload, the
hash, the write and the fsync.

The client shares this machine's 2 cores with the server, where a phone would not, so the same
request is sent by two clients, each as a new user (the same file twice for one owner would be
a duplicate): ``sendfile`` (the multipart head, the file's bytes copied to the socket by the
kernel, the tail: next to no client CPU) and ``httpx`` (a Python client reading the file in
64 KiB pieces). The server's work is the same for both.

The video is a real MP4 that ingest accepts as a video: the H.264 packets of the sample live
photo ``livephoto_pair_lychee/train.mov`` (1440x1080, 22 frames starting at a keyframe) repeated
with running timestamps by PyAV (a remux, no encoding) until the file reaches the size, made in a
temporary directory before anything is timed (``UPLOAD_LARGE_MIB``, default 4096 MiB; the report
states the size).

Baseline (``disk``): the same file's bytes copied in 1 MiB pieces into a new file in the
storage root (same filesystem), then ``fsync``, as ``dd bs=1M conv=fsync`` does; timed twice
with the stack running and idle, before the upload; the better of the two is the baseline (the
harder one to reach). Target: upload throughput >= 80 % of it.

Memory: the resident set (``VmRSS``) of the gateway and ingest processes every 100 ms during each
upload: start, peak, end and growth (peak - start); target gateway peak < 150 MiB.

Free space is checked first (the video and its two stored copies: three times the size plus
1 GiB) and
everything is deleted at the end. Load average at start and end. Results:
bench/results/upload_large.json (``python -m bench upload_large``).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import shutil
import tempfile
import threading
import time
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import psutil
from darkroom_media.sniff import SNIFF_BYTES, sniff
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import SERVICES, Stack, StackConfig
from darkroom_stack.testing import samples_dir

from bench.ingest import session_client

RESULTS = Path(__file__).parent / "results"
MiB = 1 << 20
GiB = 1 << 30
#: The sample whose video packets are repeated.
SOURCE = Path("videos/livephoto_pair_lychee/train.mov")
#: How often the processes' memory is read, seconds.
SAMPLE_EVERY_S = 0.1


def make_video(out: Path, size: int) -> dict[str, Any]:
    """Write an MP4 of at least ``size`` bytes by repeating the sample's video packets.

    Args:
        out: The file to write (``.mp4``).
        size: Bytes of media data to reach (the container adds its index, ~0.1 %).

    Returns:
        What was made: codec, frame size, packets, duration in seconds, bytes.

    Raises:
        SystemExit: The sample media are not there.
    """
    folder = samples_dir()
    if folder is None or not (folder / SOURCE).exists():
        raise SystemExit("sample media not found: set DARKROOM_SAMPLES or place ../shared/samples")
    with av.open(str(folder / SOURCE)) as src:
        stream = src.streams.video[0]
        packets = [
            (bytes(p), p.pts, p.dts, p.duration, p.is_keyframe) for p in src.demux(stream) if p.size
        ]
        base = stream.time_base
        with av.open(str(out), "w", format="mp4") as dst:
            ostream = dst.add_stream_from_template(stream)
            assert packets[0][4], "the sample must start at a keyframe"
            first_dts = min(p[2] for p in packets)
            span = max(p[1] + (p[3] or 0) for p in packets) - first_dts
            written, loops = 0, 0
            while written < size:
                offset = loops * span - first_dts
                for data, pts, dts, duration, key in packets:
                    packet = av.Packet(data)
                    packet.pts, packet.dts, packet.duration = pts + offset, dts + offset, duration
                    packet.time_base = base
                    packet.is_keyframe = key
                    packet.stream = ostream
                    dst.mux(packet)
                    written += len(data)
                loops += 1
            codec, width, height = stream.codec_context.name, stream.width, stream.height
    return {
        "source": str(SOURCE),
        "codec": codec,
        "size": f"{width}x{height}",
        "packets": loops * len(packets),
        "duration_s": round(float(loops * span * Fraction(base)), 1),
        "bytes": out.stat().st_size,
    }


def disk_write_seconds(source: Path, target: Path) -> float:
    """Copy ``source`` to the new file ``target`` in 1 MiB pieces and fsync it, as
    ``dd bs=1M conv=fsync``; the seconds it took (the target is deleted)."""
    started = time.perf_counter()
    with source.open("rb", buffering=0) as src, target.open("xb", buffering=0) as dst:
        while chunk := src.read(MiB):
            dst.write(chunk)
        os.fsync(dst.fileno())
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def _form(boundary: str, fields: dict[str, str], filename: str) -> tuple[bytes, bytes]:
    """The multipart body around the file's bytes: (everything before them, everything after)."""
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; '
        f'filename="{filename}"\r\nContent-Type: video/mp4\r\n\r\n'
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def upload_httpx(
    base_url: str, token: str, video: Path, fields: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """``POST /api/assets`` with httpx, which reads the file in 64 KiB pieces and writes each to
    the socket (a Python client). Returns (status, JSON body)."""
    with (
        httpx.Client(
            base_url=base_url, timeout=3600, headers={"x-immich-user-token": token}
        ) as client,
        video.open("rb") as f,
    ):
        r = client.post(
            "/api/assets", files={"assetData": (video.name, f, "video/mp4")}, data=fields
        )
    return r.status_code, r.json()


def upload_sendfile(
    base_url: str, token: str, video: Path, fields: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    """The same request (same multipart body, byte for byte the same form) with the file's bytes
    sent by the kernel (``socket.sendfile``): a client that costs this machine almost no CPU, as
    a phone on the network costs the server none. Returns (status, JSON body)."""
    boundary = uuid.uuid4().hex
    head, tail = _form(boundary, fields, video.name)
    size = video.stat().st_size
    host = base_url.split("://", 1)[1]
    conn = http.client.HTTPConnection(host, timeout=3600)
    try:
        conn.putrequest("POST", "/api/assets")
        conn.putheader("x-immich-user-token", token)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        assert conn.sock is not None
        conn.sock.sendall(head)
        with video.open("rb") as f:
            conn.sock.sendfile(f)
        conn.sock.sendall(tail)
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


CLIENTS = {"sendfile": upload_sendfile, "httpx": upload_httpx}


def _new_user_token(admin: httpx.Client, name: str) -> str:
    """A new user made by the admin (``POST /api/admin/users``), logged in: its session token."""
    email, password = f"{name}-{uuid.uuid4().hex[:8]}@darkroom.test", "bench-password"
    admin.post(
        "/api/admin/users", json={"email": email, "password": password, "name": name}
    ).raise_for_status()
    login = admin.post("/api/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    return str(login.json()["accessToken"])


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """User + system CPU seconds so far of each process (all its threads), by name."""
    out = {}
    for name, pid in pids.items():
        times = psutil.Process(pid).cpu_times()
        out[name] = times.user + times.system
    return out


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class RssSampler:
    """``VmRSS`` of some processes every :data:`SAMPLE_EVERY_S` seconds, in a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: dict[str, list[tuple[float, float]]] = {name: [] for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def __enter__(self) -> RssSampler:
        self._t0 = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while True:
            now = time.perf_counter() - self._t0
            for name, pid in self.pids.items():
                rss = _rss_mib(pid)
                if rss is not None:
                    self.samples[name].append((now, rss))
            if self._stop.wait(SAMPLE_EVERY_S):
                return

    def report(self) -> dict[str, Any]:
        """Per process: samples, start/peak/end MiB, growth (peak - start), and the curve
        reduced to 20 points (seconds, MiB)."""
        out: dict[str, Any] = {}
        for name, series in self.samples.items():
            if not series:
                out[name] = None
                continue
            values = [v for _, v in series]
            step = max(1, len(series) // 20)
            out[name] = {
                "samples": len(series),
                "start_mib": round(values[0], 1),
                "peak_mib": round(max(values), 1),
                "end_mib": round(values[-1], 1),
                "growth_mib": round(max(values) - values[0], 1),
                "curve": [[round(t, 1), round(v, 1)] for t, v in series[::step]],
            }
        return out


def main() -> dict[str, Any]:
    """Run the benchmark and write bench/results/upload_large.json; return the report."""
    load_start = os.getloadavg()
    size = int(os.environ.get("UPLOAD_LARGE_MIB", "4096")) * MiB
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="darkroom-bench-large-") as tmp_dir:
        tmp = Path(tmp_dir)
        free = shutil.disk_usage(tmp).free
        if free < 3 * size + 1024 * MiB:
            raise SystemExit(
                f"not enough free space in {tmp}: {free // MiB} MiB free, "
                f"{(3 * size) // MiB + 1024} MiB needed (set UPLOAD_LARGE_MIB lower)"
            )
        video = tmp / "large.mp4"
        made = make_video(video, size)
        with video.open("rb") as f:
            kind = sniff(f.read(SNIFF_BYTES), video.name)
        assert kind.asset_type == "VIDEO", kind
        stack = Stack(
            StackConfig(
                data_dir=tmp / "stack",
                gateway_port=free_port(),
                services=SERVICES,
                log_to_files=True,
                env={"DARKROOM_LOG_LEVEL": "WARNING", "DARKROOM_NIGHTLY_ENABLED": "false"},
            )
        )
        stack.start()
        try:
            admin, _ = session_client(stack, timeout=3600)
            storage_root = tmp / "stack" / "storage"
            storage_root.mkdir(parents=True, exist_ok=True)
            disk = [disk_write_seconds(video, storage_root / f"dd-{i}.bin") for i in range(2)]
            pids = {name: stack.processes[name].pid for name in ("gateway", "ingest")}
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(video.stat().st_mtime))
            uploads: dict[str, dict[str, Any]] = {}
            for name, send in CLIENTS.items():
                # a user per client: the same file twice for one owner would be a duplicate
                token = _new_user_token(admin, name)
                fields = {
                    "deviceAssetId": f"large-{name}",
                    "deviceId": "bench-phone",
                    "fileCreatedAt": stamp,
                    "fileModifiedAt": stamp,
                    "isFavorite": "false",
                    "duration": "0:00:00.000000",
                }
                cpu_before = _cpu_seconds({**pids, "client": os.getpid()})
                with RssSampler(pids) as sampler:
                    started = time.perf_counter()
                    status, body = send(stack.url, token, video, fields)
                    seconds = time.perf_counter() - started
                cpu_after = _cpu_seconds({**pids, "client": os.getpid()})
                if status != 201:
                    raise RuntimeError(f"upload with {name}: {status} {body}")
                asset = admin.get(
                    f"/api/assets/{body['id']}", headers={"x-immich-user-token": token}
                ).json()
                stored = list((storage_root / "upload").rglob(f"{body['id']}.mp4"))
                uploads[name] = {
                    "asset_type": asset.get("type"),
                    "stored_bytes_equal": bool(stored)
                    and stored[0].stat().st_size == video.stat().st_size,
                    "upload_s": round(seconds, 2),
                    "upload_mib_per_s": round(video.stat().st_size / MiB / seconds, 1),
                    "rss": sampler.report(),
                    # CPU seconds each process spent per GiB uploaded (user + system, threads
                    # included): what the upload costs, whatever the machine's load
                    "cpu_s_per_gib": {
                        k: round((cpu_after[k] - cpu_before[k]) / (video.stat().st_size / GiB), 2)
                        for k in cpu_after
                    },
                }
        finally:
            stack.stop()
    best_disk = min(disk)
    size_bytes = made["bytes"]
    for figures in uploads.values():
        figures["upload_over_disk"] = round(best_disk / figures["upload_s"], 3)
    report = {
        "benchmark": "upload_large",
        "id": uuid.uuid4().hex[:8],
        "command": "python -m bench upload_large"
        + (f" (UPLOAD_LARGE_MIB={size // MiB})" if size != 4096 * MiB else ""),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
        "video": made,
        "size_mib": round(size_bytes / MiB, 1),
        "disk_write_s": [round(x, 2) for x in disk],
        "disk_mib_per_s": round(size_bytes / MiB / best_disk, 1),
        "uploads": uploads,
        "target_upload_over_disk": 0.8,
        "target_gateway_peak_mib": 150,
        "measured": "upload: first byte of POST /api/assets (session, multipart, the file "
        "streamed from disk by the client: sendfile, then httpx) -> 201 (staged, hashed, "
        "moved, fsynced, row committed); disk: the same bytes copied 1 MiB at a time into "
        "the storage root's filesystem + fsync, best of 2",
        "wall_s": round(time.perf_counter() - began, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "upload_large.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))  # noqa: T201 - a benchmark's report on the terminal
    return report


if __name__ == "__main__":
    main()
