"""HLS adaptive streaming of videos (issue #19 item 1; Darkroom's own, not in the Immich spec).

The transcode service stores a video's ladder as one object of MPEG-TS segments plus a manifest
(:mod:`darkroom_db.hls`); these routes write the playlists from the manifest (RFC 8216) and serve
each segment as its byte range of that object:

- ``GET /api/assets/{id}/video/hls/master.m3u8``: the master playlist (``EXT-X-STREAM-INF``
  with ``BANDWIDTH``, ``AVERAGE-BANDWIDTH``, ``RESOLUTION``, ``CODECS`` per rendition);
- ``GET /api/assets/{id}/video/hls/{rendition}/index.m3u8``: a VOD media playlist;
- ``GET /api/assets/{id}/video/hls/{rendition}/segment/{n}``: a segment (``video/mp2t``,
  Range and ETag as every media route).

Every request is authorized as ``/video/playback`` is (``asset.view``, shared links accepted,
:func:`darkroom_gateway.domain.assets._viewable_asset`), playlists as much as segments. URIs in
the playlists are relative, so a player resolves them against the playlist's own URL and
sends the same cookie or header; the shared link's ``key``/``slug`` query parameter (the only
credentials Immich's media routes take in the query) is appended to each, so a link visitor's
player carries it to every segment.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from darkroom_db import hls as hls_db
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Stream

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.domain.assets import _viewable_asset
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


def media_playlist(rendition: hls_db.HlsRendition, query: str) -> str:
    """The VOD media playlist of one rendition (RFC 8216 section 4.3.3, ``#EXT-X-ENDLIST``).

    ``#EXT-X-TARGETDURATION`` is the longest segment rounded to the nearest integer, as
    section 4.3.3.1 requires.

    Args:
        rendition: The rendition.
        query: Appended to every URI (``?key=...`` or "").
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
        lines += [f"#EXTINF:{segment.duration:.6f},", f"segment/{n}{query}"]
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
    asset = await _viewable_asset(deps, auth, asset_id, "asset.view")
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
        segments = _rendition(stored, rendition).segments
        if not index.isdecimal():
            raise BadRequest("Segment index must be an integer")
        n = int(index)
        if not n < len(segments):
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


ROUTES = [HlsController]
