"""Probe and transcode videos with PyAV (FFmpeg): streaming decode -> filter -> encode -> MP4.

Pure functions over local files; no NATS, database or storage imports. Frames are decoded,
rotated upright, scaled and encoded one at a time, so memory does not grow with the length of
the video. The output is H.264 (or HEVC/AV1) + AAC in MP4 with the index at the front
(``movflags=+faststart``) so players can start and seek before the whole file arrives.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import msgspec
import structlog
from darkroom_media import CorruptMediaError

from darkroom_transcode.policy import Probe, VideoSettings, target_size

log = structlog.get_logger()

#: Software encoder of each target codec (FFmpeg encoder names).
SOFTWARE_ENCODERS: dict[str, str] = {"h264": "libx264", "hevc": "libx265", "av1": "libsvtav1"}
#: Sample rates the FFmpeg AAC encoder accepts (libavcodec/aacenctab.c, mpeg4audio rates).
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
#: x264/x265 preset names mapped to SVT-AV1's numeric presets (0 slowest .. 13 fastest).
_SVT_PRESETS = {
    "ultrafast": 12,
    "superfast": 11,
    "veryfast": 10,
    "faster": 9,
    "fast": 8,
    "medium": 6,
    "slow": 4,
    "slower": 2,
    "veryslow": 1,
}
#: x264 preset names mapped to NVENC's p1 (fastest) .. p7 (slowest).
_NVENC_PRESETS = {
    "ultrafast": "p1",
    "superfast": "p1",
    "veryfast": "p2",
    "faster": "p3",
    "fast": "p4",
    "medium": "p5",
    "slow": "p6",
    "slower": "p7",
    "veryslow": "p7",
}

ProgressFn = Callable[[float], None]


class TranscodeResult(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`transcode` wrote.

    Attributes:
        encoder: The FFmpeg encoder used ("libx264", "h264_nvenc"...).
        width: Output width in pixels (upright).
        height: Output height in pixels.
        frames: Video frames encoded.
        duration_s: Seconds of video encoded (last frame end - first frame start).
        seconds: Wall-clock seconds the transcode took.
    """

    encoder: str
    width: int
    height: int
    frames: int
    duration_s: float
    seconds: float


def _container_name(container: av.container.InputContainer) -> str:
    """Short container name; the ISO-BMFF family is told apart by its major brand."""
    name = container.format.name
    if not name.startswith("mov,"):
        return name
    brand = str(container.metadata.get("major_brand", "")).strip().lower()
    if brand.startswith("qt"):
        return "mov"
    if brand.startswith(("3gp", "3g2")):
        return "3gp"
    return "mp4"


def _rotation(stream: av.VideoStream, frame: av.VideoFrame | None) -> int:
    """Counter-clockwise display rotation in degrees (0/90/180/270) from the display matrix.

    FFmpeg's ``av_display_rotation_get`` (exposed as ``frame.rotation`` by PyAV) gives the
    angle the frame must be rotated counter-clockwise; legacy files carry a ``rotate`` tag
    (clockwise degrees).
    """
    angle = 0.0
    if frame is not None and getattr(frame, "rotation", None):
        angle = float(frame.rotation)
    elif "rotate" in stream.metadata:
        try:
            angle = -float(stream.metadata["rotate"])
        except ValueError:
            angle = 0.0
    return int(round(angle / 90.0)) * 90 % 360


def probe(path: Path) -> Probe:
    """Describe a video file (first video and audio streams; decodes one frame for rotation).

    Raises:
        CorruptMediaError: The file cannot be opened or has no decodable video stream.
    """
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.video:
                raise CorruptMediaError("the file has no video stream")
            stream = container.streams.video[0]
            first = None
            for frame in container.decode(stream):
                first = frame
                break
            if first is None:
                raise CorruptMediaError("no video frame could be decoded")
            audio = container.streams.audio[0] if container.streams.audio else None
            duration = None
            if container.duration:
                duration = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            fps = float(stream.average_rate) if stream.average_rate else None
            return Probe(
                container=_container_name(container),
                video_codec=stream.codec_context.name,
                pix_fmt=first.format.name,
                width=first.width,
                height=first.height,
                rotation=_rotation(stream, first),
                duration_s=duration,
                fps=fps,
                bitrate=container.bit_rate or None,
                audio_codec=audio.codec_context.name if audio is not None else None,
            )
    except av.FFmpegError as exc:
        raise CorruptMediaError(f"cannot read the video: {exc}") from exc


def _encoder_options(name: str, settings: VideoSettings) -> dict[str, str]:
    """FFmpeg private options of encoder ``name`` for the CRF/preset/bitrate settings."""
    opts: dict[str, str] = {}
    if name in ("libx264", "libx265"):
        opts = {"preset": settings.preset, "crf": str(settings.crf)}
        if name == "libx265":
            opts["x265-params"] = "log-level=error"
    elif name == "libsvtav1":
        opts = {"preset": str(_SVT_PRESETS.get(settings.preset, 10)), "crf": str(settings.crf)}
    elif name.endswith("_nvenc"):
        opts = {
            "preset": _NVENC_PRESETS.get(settings.preset, "p4"),
            "rc": "vbr",
            "cq": str(settings.crf),
        }
    elif name.endswith("_qsv"):
        opts = {"preset": "veryfast", "global_quality": str(settings.crf)}
    elif name.endswith("_vaapi"):
        opts = {"qp": str(settings.crf)}
    if settings.max_bitrate_kbps > 0:
        opts["maxrate"] = f"{settings.max_bitrate_kbps}k"
        opts["bufsize"] = f"{settings.max_bitrate_kbps * 2}k"
    return opts


def _open_encoder(
    output: av.container.OutputContainer,
    name: str,
    settings: VideoSettings,
    *,
    width: int,
    height: int,
    rate: Fraction,
    time_base: Fraction,
) -> av.VideoStream:
    # try the encoder on its own first: a stream that fails to open cannot be removed from the
    # output container again (hardware encoders fail here without a device)
    probe_ctx = av.CodecContext.create(name, "w")
    probe_ctx.width, probe_ctx.height, probe_ctx.pix_fmt = width, height, "yuv420p"
    probe_ctx.time_base, probe_ctx.framerate = time_base, rate
    probe_ctx.options = _encoder_options(name, settings)
    probe_ctx.open()
    del probe_ctx  # freed (avcodec_free_context) when collected
    stream = output.add_stream(name, rate=rate, options=_encoder_options(name, settings))
    stream.width = width
    stream.height = height
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = time_base
    if name.startswith(("libx265", "hevc")):
        stream.codec_tag = "hvc1"  # what Apple players require for HEVC in MP4
    stream.codec_context.open()
    return stream


def select_encoder(settings: VideoSettings) -> list[str]:
    """Encoders to try, best first: the hardware one of ``settings.accel`` when the FFmpeg
    build has it, then the software encoder of ``settings.codec``."""
    names = []
    if settings.accel != "disabled":
        hw = f"{settings.codec}_{settings.accel}"
        if hw in av.codecs_available:
            names.append(hw)
        else:
            log.warning("transcode.accel_unavailable", encoder=hw, fallback="software")
    names.append(SOFTWARE_ENCODERS[settings.codec])
    return names


def _rotate_filters(rotation: int) -> list[tuple[str, str]]:
    """Filters that turn frames upright for a counter-clockwise display rotation (FFmpeg's
    own autorotate: fftools' ``get_rotation`` + transpose/hflip,vflip)."""
    if rotation == 90:
        return [("transpose", "cclock")]
    if rotation == 180:
        return [("hflip", ""), ("vflip", "")]
    if rotation == 270:
        return [("transpose", "clock")]
    return []


def transcode(
    src: Path,
    dst: Path,
    settings: VideoSettings,
    *,
    info: Probe | None = None,
    on_progress: ProgressFn | None = None,
) -> TranscodeResult:
    """Transcode ``src`` into an MP4 at ``dst`` (streaming; rotation applied; faststart).

    Video is rotated upright (the output carries no display rotation), scaled so its shorter
    side is at most ``settings.target_resolution``, converted to 8-bit 4:2:0 and encoded with
    the first encoder of :func:`select_encoder` that opens; audio (first stream) is resampled
    and encoded as AAC. Timestamps are kept (shifted to start at 0), so variable frame rate
    survives and the duration is the original's.

    Args:
        src: The original video file.
        dst: Output path (created or replaced; write it to a temporary name and rename).
        settings: Codec, CRF, preset, bitrate cap, target resolution, hardware family.
        info: The file's :func:`probe`, when already known.
        on_progress: Called from this thread with the percent done (0..100), once per frame.

    Returns:
        What was written.

    Raises:
        CorruptMediaError: The input cannot be decoded, or no encoder could be opened.
    """
    started = time.perf_counter()
    info = info or probe(src)
    if settings.two_pass:
        log.info("transcode.two_pass_ignored")
    try:
        with (
            av.open(str(src), metadata_errors="ignore") as inp,
            av.open(str(dst), "w", format="mp4", options={"movflags": "+faststart"}) as out,
        ):
            result = _run(inp, out, info, settings, on_progress)
    except av.FFmpegError as exc:
        raise CorruptMediaError(f"cannot transcode the video: {exc}") from exc
    return msgspec.structs.replace(result, seconds=round(time.perf_counter() - started, 3))


def _run(
    inp: av.container.InputContainer,
    out: av.container.OutputContainer,
    info: Probe,
    settings: VideoSettings,
    on_progress: ProgressFn | None,
    keyframe_s: float | None = None,
) -> TranscodeResult:
    """Decode ``inp``, encode into ``out``; with ``keyframe_s``, a key frame is forced at every
    multiple of it (FFmpeg's ``-force_key_frames expr:gte(t,n_forced*N)``), where HLS segments
    are cut."""
    vin = inp.streams.video[0]
    vin.thread_type = "AUTO"
    ain = inp.streams.audio[0] if inp.streams.audio else None
    tb = vin.time_base or Fraction(1, 90000)
    rate = vin.average_rate or vin.guessed_rate or Fraction(30)
    width, height = target_size(*info.display_size, settings.target_resolution)
    # one start for every stream keeps audio and video in sync
    start_s = (inp.start_time or 0) / av.time_base
    start_pts = math.floor(start_s / tb)

    encoder_name, vout = "", None
    for name in select_encoder(settings):
        try:
            vout = _open_encoder(
                out, name, settings, width=width, height=height, rate=rate, time_base=tb
            )
            encoder_name = name
            break
        except (av.FFmpegError, ValueError) as exc:
            log.warning("transcode.encoder_unavailable", encoder=name, error=str(exc))
    if vout is None:
        raise CorruptMediaError("no video encoder could be opened")

    aout = resampler = fifo = None
    audio_pts = 0
    if ain is not None and ain.codec_context.sample_rate:
        in_rate = ain.codec_context.sample_rate
        # low rates (AMR's 8 kHz) would make AAC's 1024-sample frames and padding long
        out_rate = in_rate if in_rate in AAC_RATES and in_rate >= 32000 else 48000
        layout = "mono" if ain.codec_context.channels == 1 else "stereo"
        aout = out.add_stream("aac", rate=out_rate)
        aout.layout = layout
        aout.bit_rate = settings.audio_bitrate_kbps * 1000
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
        fifo = av.AudioFifo()

    graph: av.filter.Graph | None = None
    frames = 0
    last_pts = -1
    frame_ticks = max(1, round(1 / (rate * tb)))
    next_key = 0.0
    duration = info.duration_s or 0.0
    streams = [s for s in (vin, ain) if s is not None and (s is vin or aout is not None)]

    def encode_video(frame: av.VideoFrame | None) -> None:
        nonlocal frames, last_pts, next_key
        if frame is None:
            for packet in vout.encode(None):
                out.mux(packet)
            return
        pts = frame.pts if frame.pts is not None else last_pts + frame_ticks
        pts = max(pts, last_pts + 1)  # encoders need strictly increasing timestamps
        last_pts = pts
        frame.pts = pts
        frame.time_base = tb
        frame.pict_type = av.video.frame.PictureType.NONE
        if keyframe_s is not None and float(pts * tb) >= next_key:
            frame.pict_type = av.video.frame.PictureType.I
            next_key = (math.floor(float(pts * tb) / keyframe_s) + 1) * keyframe_s
        for packet in vout.encode(frame):
            out.mux(packet)
        frames += 1

    def pull_filtered() -> None:
        assert graph is not None
        while True:
            try:
                filtered = graph.vpull()
            except (av.BlockingIOError, av.EOFError):
                return
            encode_video(filtered)

    def encode_audio(flush: bool) -> None:
        nonlocal audio_pts
        assert aout is not None and fifo is not None
        size = aout.codec_context.frame_size or 1024
        while fifo.samples >= size or (flush and fifo.samples > 0):
            chunk = fifo.read(min(size, fifo.samples))
            chunk.pts = audio_pts
            chunk.time_base = Fraction(1, aout.codec_context.sample_rate)
            audio_pts += chunk.samples
            for packet in aout.encode(chunk):
                out.mux(packet)
        if flush:
            for packet in aout.encode(None):
                out.mux(packet)

    for packet in inp.demux(*streams):  # the last, empty packet of each stream flushes it
        try:
            decoded = packet.decode()
        except av.InvalidDataError:
            continue  # a damaged packet: skip it as players do
        for frame in decoded:
            if packet.stream is vin:
                if frame.pts is not None:
                    frame.pts -= start_pts
                if graph is None:
                    graph = _build_graph(frame, tb, info.rotation, width, height)
                graph.vpush(frame)
                pull_filtered()
                if on_progress is not None and duration > 0 and frame.pts is not None:
                    on_progress(min(99.9, max(0.0, float(frame.pts * tb) / duration * 100)))
            elif resampler is not None and fifo is not None:
                if frames == 0 and audio_pts == 0 and frame.pts is not None and frame.time_base:
                    # leading silence offset of the first audio frame, in output samples
                    offset = float(frame.pts * frame.time_base) - start_s
                    audio_pts = max(0, round(offset * aout.codec_context.sample_rate))
                for resampled in resampler.resample(frame):
                    resampled.pts = None
                    fifo.write(resampled)
                encode_audio(flush=False)
    if graph is None:
        raise CorruptMediaError("no video frame could be decoded")
    graph.vpush(None)
    pull_filtered()
    encode_video(None)
    if aout is not None:
        for resampled in resampler.resample(None) if resampler is not None else []:
            resampled.pts = None
            fifo.write(resampled)
        encode_audio(flush=True)
    if on_progress is not None:
        on_progress(100.0)
    return TranscodeResult(
        encoder=encoder_name,
        width=width,
        height=height,
        frames=frames,
        duration_s=round(float((last_pts + frame_ticks) * tb), 3) if frames else 0.0,
        seconds=0.0,
    )


def _build_graph(
    first: av.VideoFrame, tb: Fraction, rotation: int, width: int, height: int
) -> av.filter.Graph:
    """buffer -> [transpose/flip] -> scale -> format=yuv420p -> buffersink."""
    graph = av.filter.Graph()
    chain = [
        graph.add_buffer(width=first.width, height=first.height, format=first.format, time_base=tb)
    ]
    for name, args in _rotate_filters(rotation):
        chain.append(graph.add(name, args))
    chain.append(graph.add("scale", f"{width}:{height}:flags=bicubic"))
    chain.append(graph.add("format", "yuv420p"))
    chain.append(graph.add("buffersink"))
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    return graph
