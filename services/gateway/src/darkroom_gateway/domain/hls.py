"""HLS adaptive streaming of videos (issue #19 item 1), under Darkroom's paths and Immich 3.1's.

The transcode service stores a video's ladder as one object of MPEG-TS segments plus a manifest
(:mod:`darkroom_db.hls`); these routes write the playlists from the manifest (RFC 8216) and serve
each segment as its byte range of that object:

- ``GET /api/assets/{id}/video/hls/master.m3u8``: the master playlist (``EXT-X-STREAM-INF``
  with ``BANDWIDTH``, ``AVERAGE-BANDWIDTH``, ``RESOLUTION``, ``CODECS`` per rendition);
- ``GET /api/assets/{id}/video/hls/{rendition}/index.m3u8``: a VOD media playlist;
- ``GET /api/assets/{id}/video/hls/{rendition}/segment/{n}``: a segment (``video/mp2t``,
  Range and ETag as every media route).

Immich 3.1's clients ask for the same ladder under ``/api/assets/{id}/video/stream`` (spec
operations ``getMainPlaylist``, ``getMediaPlaylist``, ``getSegment``, ``endSession``):

- ``GET .../stream/main.m3u8``: the master playlist; each request opens a *session* (a fresh
  UUID) whose variants are ``{sessionId}/{variantIndex}/playlist.m3u8``, ``variantIndex`` the
  rendition's place in the ladder, lowest first;
- ``GET .../stream/{sessionId}/{variantIndex}/playlist.m3u8``: the variant's media playlist,
  whose segments are ``seg_{n}.m4s`` (n from 0);
- ``GET .../stream/{sessionId}/{variantIndex}/{filename}``: ``seg_N.m4s`` or ``init.mp4``;
- ``DELETE .../stream/{sessionId}``: ends the session (204).

As in Immich, ``main.m3u8`` answers only while the system config's ``ffmpeg.realtime.enabled``
is on (400 "Real-time transcoding is not enabled" otherwise; ``/api/server/features`` says
``realtimeTranscoding`` accordingly); Darkroom's own ``/video/hls`` routes answer either way.

Immich transcodes on demand per session (so the ``x-immich-hls-pos`` playlist header and the
``x-immich-hls-msn`` segment header tell it where the player is); Darkroom's ladder is made
once by the transcode service, so a session holds no server state: a session id carries its
own proof that ``main.m3u8`` of this asset issued it (:func:`new_session`), so a made-up or
another asset's session is 404 as Immich answers a session it does not know ("Session not
found" for a segment), the position headers are validated and otherwise need nothing, and
ending a session frees nothing (its id keeps playing: nothing is stored to revoke). The
ladder's segments are MPEG-TS (served as ``video/mp2t``, which players detect by content,
hls.js and AVPlayer alike), not fragmented MP4, so there is no ``init.mp4`` (404) and the media
playlists carry no ``EXT-X-MAP``.

Every request is authorized as ``/video/playback`` is (``asset.view``, shared links accepted,
:func:`darkroom_gateway.domain.assets.viewable_asset`), playlists as much as segments. URIs in
the playlists are relative, so a player resolves them against the playlist's own URL and
sends the same cookie or header; the shared link's ``key``/``slug`` query parameter (the only
credentials Immich's media routes take in the query) is appended to each, so a link visitor's
player carries it to every segment.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import uuid
from typing import Annotated
from urllib.parse import urlencode

from darkroom_db import hls as hls_db
from darkroom_db.assets import Asset
from litestar import Controller, Request, Response, delete, get
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.response import Stream

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import viewable_asset
from darkroom_gateway.errors import BadRequest, NotFound
from darkroom_gateway.media import serve_object

#: RFC 8216 section 4 / Apple's registration of the playlist media type.
PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
#: MPEG-TS segments (RFC 3555).
SEGMENT_TYPE = "video/mp2t"
#: ``EXT-X-VERSION``: 3 is the lowest that allows decimal ``EXTINF`` durations (RFC 8216 7).
HLS_VERSION = 3
#: Query parameters that carry credentials a player must repeat on every URI.
_FORWARDED = ("key", "slug")
#: Playlists name the current ladder; a re-encode may change them, so they are revalidated.
_PLAYLIST_CACHE = "private, no-cache"
#: Immich's segment file names (the spec's ``filename`` pattern).
_SEGMENT_NAME = re.compile(r"seg_(\d+)\.m4s")
#: Immich's largest integer parameter (JavaScript's ``Number.MAX_SAFE_INTEGER``).
_MAX_INT = 9007199254740991


def _query(request: Request) -> str:
    """``?key=...`` (or slug) of the request, to append to the URIs of a playlist."""
    kept = [
        (name, request.query_params[name]) for name in _FORWARDED if name in request.query_params
    ]
    return f"?{urlencode(kept)}" if kept else ""


def master_playlist(ladder: hls_db.HlsLadder, query: str) -> str:
    """The master playlist of ``ladder`` (RFC 8216 section 4.3.4.2), renditions lowest first.

    Args:
        ladder: The stored ladder.
        query: Appended to every URI (``?key=...`` or "").
    """
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for r in ladder.renditions:
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},AVERAGE-BANDWIDTH={r.average_bandwidth},"
            f'RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}"'
        )
        lines.append(f"{r.name}/index.m3u8{query}")
    return "\n".join(lines) + "\n"


def immich_main_playlist(ladder: hls_db.HlsLadder, session_id: uuid.UUID, query: str) -> str:
    """The master playlist under Immich's scheme: variant ``i`` is ``{session}/{i}/playlist.m3u8``.

    Args:
        ladder: The stored ladder (variant indices are positions in ``ladder.renditions``).
        session_id: The session the URIs name.
        query: Appended to every URI (``?key=...`` or "").
    """
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for i, r in enumerate(ladder.renditions):
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={r.bandwidth},AVERAGE-BANDWIDTH={r.average_bandwidth},"
            f'RESOLUTION={r.width}x{r.height},CODECS="{r.codecs}"'
        )
        lines.append(f"{session_id}/{i}/playlist.m3u8{query}")
    return "\n".join(lines) + "\n"


def media_playlist(
    rendition: hls_db.HlsRendition, query: str, *, segment_uri: str = "segment/{n}"
) -> str:
    """The VOD media playlist of one rendition (RFC 8216 section 4.3.3, ``#EXT-X-ENDLIST``).

    ``#EXT-X-TARGETDURATION`` is the longest segment rounded to the nearest integer, as
    section 4.3.3.1 requires.

    Args:
        rendition: The rendition.
        query: Appended to every URI (``?key=...`` or "").
        segment_uri: The URI of segment ``n`` (a ``str.format`` template): Darkroom's
            ``segment/{n}`` or Immich's ``seg_{n}.m4s``.
    """
    target = max(round(s.duration) for s in rendition.segments) or 1
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{HLS_VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for n, segment in enumerate(rendition.segments):
        lines += [f"#EXTINF:{segment.duration:.6f},", segment_uri.format(n=n) + query]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


async def _ladder(
    deps: Deps, auth: Auth, asset_id: uuid.UUID
) -> tuple[hls_db.StoredLadder, uuid.UUID]:
    """The ladder of a video the caller may play.

    Raises:
        NoAccess: The caller may not view the asset.
        BadRequest: The asset is not a video.
        NotFound: It has no ladder (yet, or HLS is off): play ``/video/playback``.
    """
    return await _ladder_of(deps, await viewable_asset(deps, auth, asset_id, "asset.view"))


async def _ladder_of(deps: Deps, asset: Asset) -> tuple[hls_db.StoredLadder, uuid.UUID]:
    """The ladder of ``asset`` (one the caller may view: :func:`_ladder`'s errors but access)."""
    if asset.type != "VIDEO":
        raise BadRequest("Asset is not a video")
    stored = await hls_db.get_ladder(deps.pool, asset.owner_id, asset.id)
    if stored is None:
        raise NotFound("Asset media not found")
    return stored, asset.id


def _rendition(stored: hls_db.StoredLadder, name: str) -> hls_db.HlsRendition:
    for rendition in stored.ladder.renditions:
        if rendition.name == name:
            return rendition
    raise NotFound("Asset media not found")


async def _serve_segment(
    request: Request, deps: Deps, stored: hls_db.StoredLadder, rendition: str, n: int
) -> Response[bytes] | Stream:
    """Segment ``n`` of ``rendition`` as its byte range of the ladder object.

    Raises:
        NotFound: No such segment.
    """
    segments = _rendition(stored, rendition).segments
    if not 0 <= n < len(segments):
        raise NotFound("Asset media not found")
    segment = segments[n]
    made = int(stored.updated_at.timestamp() * 1000)
    return await serve_object(
        request,
        deps.storage,
        stored.key,
        media_type=SEGMENT_TYPE,
        size=segment.length,
        etag=f"hls-{made}-{rendition}-{n}",
        offset=segment.offset,
    )


def _uuid(value: str, name: str) -> uuid.UUID:
    """``value`` as a UUID (:class:`BadRequest` ``"<name> must be a UUID"`` otherwise)."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"{name} must be a UUID") from None


def _session_mac(asset_id: uuid.UUID, nonce: bytes) -> bytes:
    """The last 8 bytes of a session id of ``asset_id`` whose first 8 are ``nonce``; the
    RFC 9562 variant bits (``10``) overwrite the top of the first."""
    mac = bytearray(hashlib.sha256(b"darkroom-hls-session:" + asset_id.bytes + nonce).digest()[:8])
    mac[0] = (mac[0] & 0x3F) | 0x80
    return bytes(mac)


def new_session(asset_id: uuid.UUID) -> uuid.UUID:
    """A new streaming session id for ``asset_id``: a version 4 UUID (the spec's pattern) of 8
    random bytes and 8 bytes derived from them and the asset, so :func:`_known_session` tells
    it apart from a made-up id or one of another asset without storing it."""
    nonce = bytearray(secrets.token_bytes(8))
    nonce[6] = (nonce[6] & 0x0F) | 0x40  # version 4
    return uuid.UUID(bytes=bytes(nonce) + _session_mac(asset_id, bytes(nonce)))


def _known_session(session: uuid.UUID, asset_id: uuid.UUID) -> bool:
    """Whether ``main.m3u8`` of ``asset_id`` issued ``session`` (:func:`new_session`)."""
    return secrets.compare_digest(session.bytes[8:], _session_mac(asset_id, session.bytes[:8]))


def _whole(value: str | None, name: str) -> int | None:
    """An integer parameter in 0..2**53-1 (Immich's bounds), None when absent.

    Raises:
        BadRequest: Not a decimal integer in range.
    """
    if value is None:
        return None
    text = value.strip()
    if not text.isdecimal() or int(text) > _MAX_INT:
        raise BadRequest(f"{name} must be an integer from 0 to {_MAX_INT}")
    return int(text)


def _variant(stored: hls_db.StoredLadder, index: str) -> str:
    """The name of the rendition at ``variantIndex`` ``index``.

    Raises:
        BadRequest: ``index`` is not a non-negative integer.
        NotFound: The ladder has no such variant.
    """
    n = _whole(index, "variantIndex")
    renditions = stored.ladder.renditions
    if n is None or n >= len(renditions):
        raise NotFound("Asset media not found")
    return renditions[n].name


def _position(value: str | None) -> None:
    """Validate ``x-immich-hls-pos`` (seconds, a non-negative number) when sent.

    Raises:
        BadRequest: Not a finite number >= 0.
    """
    if value is None:
        return
    try:
        pos = float(value)
    except ValueError:
        pos = -1.0
    if not (math.isfinite(pos) and pos >= 0):
        raise BadRequest("x-immich-hls-pos must be a number not less than 0")


class HlsController(Controller):
    """/api/assets/{id}/video/hls."""

    path = "/api/assets/{asset_id:uuid}/video/hls"

    @get("/master.m3u8", permission="asset.view", shared_link=True)
    async def get_master_playlist(
        self,
        asset_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[str]:
        """The video's HLS master playlist (404 until the ladder is made: use the MP4)."""
        stored, _ = await _ladder(deps, auth, asset_id)
        return Response(
            master_playlist(stored.ladder, _query(request)),
            media_type=PLAYLIST_TYPE,
            headers={"Cache-Control": _PLAYLIST_CACHE},
        )

    @get("/{rendition:str}/index.m3u8", permission="asset.view", shared_link=True)
    async def get_media_playlist(
        self,
        asset_id: FromPath[uuid.UUID],
        rendition: FromPath[str],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[str]:
        """The media playlist of one rendition ("360p", "720p"...)."""
        stored, _ = await _ladder(deps, auth, asset_id)
        return Response(
            media_playlist(_rendition(stored, rendition), _query(request)),
            media_type=PLAYLIST_TYPE,
            headers={"Cache-Control": _PLAYLIST_CACHE},
        )

    @get("/{rendition:str}/segment/{index:str}", permission="asset.view", shared_link=True)
    async def get_segment(
        self,
        asset_id: FromPath[uuid.UUID],
        rendition: FromPath[str],
        index: FromPath[str],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> Response[bytes] | Stream:
        """One MPEG-TS segment (Range and ETag supported).

        ``index`` is taken as a string and parsed after the caller is authorized, so a caller
        who may not see the asset is refused (401/403) whatever the path holds, instead of
        learning from a router 404 which segment paths exist.

        Raises:
            BadRequest: ``index`` is not a decimal integer.
            NotFound: No such rendition or segment.
        """
        stored, _ = await _ladder(deps, auth, asset_id)
        if not index.isdecimal():
            raise BadRequest("Segment index must be an integer")
        return await _serve_segment(request, deps, stored, rendition, int(index))


_Key = Annotated[str | None, QueryParameter(name="key", required=False)]
_Slug = Annotated[str | None, QueryParameter(name="slug", required=False)]


class StreamController(Controller):
    """/api/assets/{id}/video/stream: Immich 3.1's HLS scheme over the same ladder.

    Path parameters other than the asset id are taken as strings and checked after the caller
    is authorized, so a caller who may not see the asset is refused (401/400) whatever the path
    holds, as Immich checks access before validating.
    """

    path = "/api/assets/{asset_id:uuid}/video/stream"

    @get("/main.m3u8", permission="asset.view", shared_link=True)
    async def get_main_playlist(
        self,
        asset_id: FromPath[uuid.UUID],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: _Key = None,
        slug: _Slug = None,
    ) -> Response[str]:
        """The main playlist of the video's variants, in a new session (404 until the ladder
        is made: play ``/video/playback``).

        Raises:
            NoAccess: The caller may not view the asset (checked first, as Immich does).
            BadRequest: ``ffmpeg.realtime.enabled`` is off: "Real-time transcoding is not
                enabled", as Immich's ``HlsService.getMainPlaylist`` answers (its clients
                only ask when ``/api/server/features`` says ``realtimeTranscoding``).
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.view")
        if not deps.config.current.ffmpeg.realtime.enabled:
            raise BadRequest("Real-time transcoding is not enabled")
        stored, _ = await _ladder_of(deps, asset)
        return Response(
            immich_main_playlist(stored.ladder, new_session(asset.id), _query(request)),
            media_type=PLAYLIST_TYPE,
            headers={"Cache-Control": _PLAYLIST_CACHE},
        )

    @get(
        "/{session_id:str}/{variant_index:str}/playlist.m3u8",
        permission="asset.view",
        shared_link=True,
    )
    async def get_media_playlist(
        self,
        asset_id: FromPath[uuid.UUID],
        session_id: FromPath[str],
        variant_index: FromPath[str],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: _Key = None,
        slug: _Slug = None,
        position: Annotated[
            str | None, HeaderParameter(name="x-immich-hls-pos", required=False)
        ] = None,
    ) -> Response[str]:
        """The media playlist of one variant (segments ``seg_N.m4s``).

        Raises:
            BadRequest: ``sessionId`` is not a UUID, ``variantIndex`` not an integer >= 0, or
                ``x-immich-hls-pos`` not a number >= 0.
            NotFound: No ladder (yet), a session ``main.m3u8`` of this asset did not issue
                (Immich's message), or no such variant.
        """
        stored, asset = await _ladder(deps, auth, asset_id)
        session = _uuid(session_id, "sessionId")
        _position(position)
        _whole(variant_index, "variantIndex")
        if not _known_session(session, asset):
            raise NotFound("Asset not found or metadata not yet ready for streaming")
        rendition = _rendition(stored, _variant(stored, variant_index))
        return Response(
            media_playlist(rendition, _query(request), segment_uri="seg_{n}.m4s"),
            media_type=PLAYLIST_TYPE,
            headers={"Cache-Control": _PLAYLIST_CACHE},
        )

    @get(
        "/{session_id:str}/{variant_index:str}/{filename:str}",
        permission="asset.view",
        shared_link=True,
    )
    async def get_segment(
        self,
        asset_id: FromPath[uuid.UUID],
        session_id: FromPath[str],
        variant_index: FromPath[str],
        filename: FromPath[str],
        request: Request,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: _Key = None,
        slug: _Slug = None,
        msn: Annotated[str | None, HeaderParameter(name="x-immich-hls-msn", required=False)] = None,
    ) -> Response[bytes] | Stream:
        """``seg_N.m4s``: segment N of the variant (MPEG-TS; Range and ETag supported).

        Raises:
            BadRequest: ``sessionId`` is not a UUID, ``variantIndex`` or ``x-immich-hls-msn``
                not an integer in 0..2**53-1, or ``filename`` neither ``init.mp4`` nor
                ``seg_N.m4s``.
            NotFound: "Session not found" (one ``main.m3u8`` of this asset did not issue, as
                Immich's ``getSegment``); no ladder, variant or segment; ``init.mp4`` (MPEG-TS
                needs none).
        """
        stored, asset = await _ladder(deps, auth, asset_id)
        session = _uuid(session_id, "sessionId")
        _whole(msn, "x-immich-hls-msn")
        _whole(variant_index, "variantIndex")
        match = _SEGMENT_NAME.fullmatch(filename)
        if match is None and filename != "init.mp4":
            raise BadRequest("filename must match ^(init\\.mp4|seg_\\d+\\.m4s)$")
        if not _known_session(session, asset):
            raise NotFound("Session not found")
        name = _variant(stored, variant_index)
        if match is None:  # init.mp4: MPEG-TS segments need none
            raise NotFound("Asset media not found")
        return await _serve_segment(request, deps, stored, name, int(match[1]))

    @delete("/{session_id:str}", permission="asset.view", shared_link=True, status_code=204)
    async def end_session(
        self,
        asset_id: FromPath[uuid.UUID],
        session_id: FromPath[str],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        key: _Key = None,
        slug: _Slug = None,
    ) -> None:
        """End a streaming session (204; nothing to free: sessions hold no server state).

        Raises:
            NoAccess: The caller may not view the asset.
            BadRequest: ``sessionId`` is not a UUID, or the asset is not a video.
        """
        asset = await viewable_asset(deps, auth, asset_id, "asset.view")
        if asset.type != "VIDEO":
            raise BadRequest("Asset is not a video")
        _uuid(session_id, "sessionId")


ROUTES = [HlsController, StreamController]
