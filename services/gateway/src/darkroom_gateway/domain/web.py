"""The web app: the built single-page app (services/gateway/web, Svelte + Vite) served at ``/``.

Every path outside ``/api`` that is not a file of the build answers with ``index.html`` (the app
routes in the browser: ``/photos/<id>``, ``/auth/login``...). Vite names the bundles under
``assets/`` by content hash, so they are cached for a year as ``immutable``; ``index.html`` and
the other unhashed files are revalidated on every load with their ``ETag``, made from the file's
size and modification time (nothing is hashed per request); files are sent by Litestar's
``File`` response. The static files need
no credentials: the app signs in through ``/api``.

The build directory is ``settings.web_dir`` when the gateway settings define it (non-empty),
else ``services/gateway/web/dist`` next to this package's sources (the editable install the
workspace uses). When it holds no ``index.html``, a short page says how to build it.

A shared link's public page (``/share/<key>``, ``/s/<slug>``) gets Open Graph tags in the
``index.html`` served for it (:func:`share_meta`), so that a link pasted in a chat shows the
album's or asset's name, a description and its thumbnail, as Immich's web server renders them
(``og:title``/``og:description``/``og:image``, values HTML-escaped).
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import structlog
from darkroom_db import albums, shared_links
from litestar import Request, get
from litestar.datastructures import ETag
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import File, Response

from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import NotFound

log = structlog.get_logger()

#: Cache-Control of Vite's content-hashed files (a new build gives new names).
IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control of everything else: keep, but revalidate with the ETag each time.
REVALIDATE = "no-cache"
#: The folder of hashed files inside the build (Vite's ``build.assetsDir``).
HASHED_DIR = "assets"

NOT_BUILT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Darkroom: web app not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto;">
<h1>Darkroom</h1>
<p>The API is running at <a href="/api/server/ping">/api</a>, but the web app has not been
built. Build it with <code>make install</code>, or by hand:</p>
<pre>cd services/gateway/web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>then reload this page. (Looked for <code>{index}</code>.)</p>
</body></html>
"""


def default_web_dir() -> Path:
    """``services/gateway/web/dist``: the Vite build next to this package's ``src`` folder."""
    return Path(__file__).resolve().parents[3] / "web" / "dist"


def web_dir(settings: object) -> Path:
    """The build directory to serve: ``settings.web_dir`` when set, else :func:`default_web_dir`.

    Args:
        settings: The gateway settings (any object; ``web_dir`` is read when present).
    """
    configured = getattr(settings, "web_dir", "") or ""
    return Path(configured) if configured else default_web_dir()


def resolve_file(root: Path, path: str) -> Path | None:
    """The file of the build that URL path ``path`` names, or None.

    Args:
        root: The build directory.
        path: The URL path without its leading ``/`` (may be empty).

    Returns:
        An existing regular file inside ``root``; None for directories, missing files and any
        path that would leave ``root`` (``..``, absolute parts, symlinks pointing out).
    """
    parts = PurePosixPath(path).parts
    if not parts or any(p in ("..", "") or p.startswith("/") or "\\" in p for p in parts):
        return None
    candidate = root.joinpath(*parts)
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(root.resolve()) or not resolved.is_file():
        return None
    return resolved


def media_type_of(path: Path) -> str:
    """Content-Type for a file of the build, from its extension (UTF-8 for text types)."""
    guessed, _ = mimetypes.guess_type(path.name)
    if path.suffix in (".js", ".mjs"):
        guessed = "text/javascript"
    media_type = guessed or "application/octet-stream"
    if media_type.startswith("text/") or media_type in ("image/svg+xml", "application/json"):
        media_type += "; charset=utf-8"
    return media_type


#: The public page of a shared link: ``/share/<key>`` or ``/s/<slug>`` (Immich's web routes).
SHARE_PATH = re.compile(r"^(share|s)/([^/]+)/?$")


async def share_meta(deps: Deps, base_url: str, path: str) -> str | None:
    """Open Graph ``<meta>`` tags for the public page of a shared link, "" for other paths, None
    for a link that opens nothing (unknown, expired, its album gone): Immich's web server
    answers that page 404 with the plain ``index.html``.

    Title, description and image follow Immich's share page: the album's name (else
    "Public Share"), the link's description (else "<n> shared photos & videos") and the
    thumbnail of the album's cover (else of the link's first asset) fetched through the key. A
    password link tells only that a password is needed.

    Args:
        deps: Connections (the link is read from the database).
        base_url: The server's origin as the request saw it (``https://host``), for the
            absolute ``og:image`` URL crawlers need.
        path: The URL path without its leading ``/``.

    Returns:
        HTML to put in ``<head>``, in the tags and order of Immich's ``render`` (web
        ``index.html``'s metadata): ``description``, ``og:*``, ``twitter:*``, every value
        escaped; "" for other paths, None for an unknown link.
    """
    m = SHARE_PATH.match(path)
    if m is None:
        return ""
    by_key = m.group(1) == "share"
    link = await shared_links.find_link(
        deps.pool, key=m.group(2) if by_key else None, slug=None if by_key else m.group(2)
    )
    if link is None or (link.expires_at is not None and link.expires_at <= datetime.now(UTC)):
        return None
    if link.password_hash:
        tags = {
            "og:title": "Password required",
            "og:description": "This shared link is protected by a password.",
        }
    else:
        title, count, cover = "Public Share", 0, None
        if link.album_id is not None:
            detail = await albums.get_album_detail(deps.pool, link.owner_id, link.album_id)
            if detail is None:
                return None
            title = detail.album.album_name or "Untitled"
            count = detail.album.asset_count
            cover = detail.album.album_thumbnail_asset_id
        else:
            found = await shared_links.link_assets(deps.pool, link.id)
            count = len(found)
            cover = found[0].id if found else None
        tags = {
            "og:title": title,
            "og:description": link.description or f"{count} shared photos & videos",
        }
        if cover is not None:
            tags["og:image"] = (
                f"{base_url.rstrip('/')}/api/assets/{cover}/thumbnail"
                f"?key={quote(link.key, safe='')}&size=preview"
            )
    image = tags.get("og:image")
    named = [
        ("name", "description", tags["og:description"]),
        ("property", "og:type", "website"),
        *(("property", name, value) for name, value in tags.items()),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", tags["og:title"]),
        ("name", "twitter:description", tags["og:description"]),
        *([("name", "twitter:image", image)] if image else []),
    ]
    return "\n    ".join(
        f'<meta {attr}="{name}" content="{html.escape(value, quote=True)}" />'
        for attr, name, value in named
    )


def stat_etag(file: Path, head: str = "") -> str:
    """A strong ETag (quoted) from the file's size and modification time, as nginx makes its own.

    A new build writes new files (new mtime), so the tag changes whenever the content may have;
    nothing is read or hashed. ``head`` (the share page's Open Graph tags) is part of the
    served ``index.html``, so its SHA-1 (of a few hundred bytes) is appended when given.
    """
    st = file.stat()
    tag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
    if head:
        tag += "-" + hashlib.sha1(head.encode(), usedforsecurity=False).hexdigest()[:16]
    return f'"{tag}"'


def not_modified(request: Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (quoted) or is ``*`` (RFC 9110, 13.1.2)."""
    header = request.headers.get("if-none-match", "")
    return header.strip() == "*" or etag in (tag.strip() for tag in header.split(","))


def file_response(
    request: Request, file: Path, cache_control: str, head: str = "", status_code: int = 200
) -> Response[bytes] | File:
    """``file`` with an ETag from its stat (:func:`stat_etag`), or 304 when it matches.

    A build file goes out as Litestar's :class:`~litestar.response.File` (streamed in chunks,
    ``sendfile`` where the server has it); ``index.html`` with ``head`` injected is built in
    memory (a few KiB).

    Args:
        request: For ``If-None-Match``.
        file: A file of the build.
        cache_control: The Cache-Control header to send.
        head: HTML put before ``</head>`` (the share page's Open Graph tags), or "".
        status_code: 404 for the page of an unknown shared link (sent whole, no ETag).
    """
    headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff"}
    if status_code != 200:
        return Response(
            file.read_bytes(),
            status_code=status_code,
            media_type=media_type_of(file),
            headers=headers,
        )
    etag = stat_etag(file, head)
    headers["ETag"] = etag
    if not_modified(request, etag):
        return Response(b"", status_code=304, headers=headers)
    if head:
        content = file.read_bytes().replace(b"</head>", f"    {head}\n  </head>".encode(), 1)
        return Response(content, media_type=media_type_of(file), headers=headers)
    return File(
        file,
        content_disposition_type="inline",
        media_type=media_type_of(file),
        headers=headers,
        etag=ETag(value=etag.strip('"')),
    )


@get("/{path:path}", include_in_schema=False)
async def web_app(
    request: Request, deps: NamedDependency[Deps], path: FromPath[str]
) -> Response[bytes] | File:
    """Serve the web app: a file of the build, else ``index.html`` (SPA fallback; with Open
    Graph tags on a shared link's page, 404 on an unknown link's)."""
    head = await share_meta(deps, str(request.base_url), path.lstrip("/"))
    return serve_web_app(request, deps, path, head)


@get("/", include_in_schema=False)
async def web_app_root(request: Request, deps: NamedDependency[Deps]) -> Response[bytes] | File:
    """Serve ``/``: the app's ``index.html``."""
    return serve_web_app(request, deps, "")


def serve_web_app(
    request: Request, deps: Deps, path: str, head: str | None = ""
) -> Response[bytes] | File:
    """The response of :func:`web_app` for URL path ``path``; ``head`` goes in the
    ``<head>`` of ``index.html`` (see :func:`share_meta`; None: an unknown shared link, whose
    page is the plain ``index.html`` answered 404).

    Raises:
        NotFound: Under ``/api`` (an unknown API route, answered as the API answers errors) or a
            missing file under ``/assets`` (a stale bundle name must not get HTML, cached).
    """
    rel = path.lstrip("/")
    if rel == "api" or rel.startswith("api/"):
        raise NotFound("Not found")
    root = web_dir(deps.settings)
    index = root / "index.html"
    if not index.is_file():
        log.warning("web.not_built", web_dir=str(root))
        page = NOT_BUILT_PAGE.format(index=index)
        return Response(
            page.encode(),
            status_code=503,
            media_type="text/html; charset=utf-8",
            headers={"Cache-Control": "no-store"},
        )
    file = resolve_file(root, rel)
    if file is not None:
        hashed = rel.startswith(f"{HASHED_DIR}/")
        return file_response(request, file, IMMUTABLE if hashed else REVALIDATE)
    if rel.startswith(f"{HASHED_DIR}/"):
        raise NotFound("Not found")
    if head is None:
        return file_response(request, index, "no-store", status_code=404)
    return file_response(request, index, REVALIDATE, head)


ROUTES = [web_app_root, web_app]
