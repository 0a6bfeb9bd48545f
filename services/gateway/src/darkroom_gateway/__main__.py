"""``python -m darkroom_gateway``: the Immich API, its websocket and the web app."""

from __future__ import annotations

import uvicorn
from darkroom_config import load_settings
from darkroom_observability import configure_logging

from darkroom_gateway.app import asgi_app, create_app
from darkroom_gateway.server import protocol_class
from darkroom_gateway.settings import GatewaySettings

#: Seconds an idle keep-alive connection stays open (nginx's ``keepalive_timeout`` default).
KEEP_ALIVE_S = 75


def main() -> None:
    """Read ``DARKROOM_*`` settings and serve until stopped (SIGINT/SIGTERM)."""
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        asgi_app(create_app(settings)),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # X-Forwarded-* are honoured only from DARKROOM_TRUSTED_PROXIES, by the app itself
        # (app.proxy_middleware); uvicorn's default would trust any local peer
        proxy_headers=False,
        http=protocol_class(settings.max_header_bytes),  # 431 past the head limit
        # an idle keep-alive connection closes after this; uvicorn's 5 s let a client's next
        # request race the close ("Server disconnected" seen in tests); 75 s as nginx's default
        timeout_keep_alive=KEEP_ALIVE_S,
    )


if __name__ == "__main__":
    main()
