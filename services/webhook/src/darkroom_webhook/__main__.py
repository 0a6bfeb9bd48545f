"""``python -m darkroom_webhook``: run workflows and deliver their webhooks.

Consumers: ``workflow`` (asset created, metadata extracted, faces recognized: the workflow
runner) and ``webhook`` (``darkroom.webhook.requested``: signed delivery with retries); see
:mod:`darkroom_webhook.handlers`.
"""

from __future__ import annotations

import httpx
from darkroom_config import load_settings
from darkroom_runtime import Context, run_service

from darkroom_webhook.handlers import WORKFLOW_HANDLERS, delivery_handler
from darkroom_webhook.settings import WebhookSettings


async def setup(ctx: Context) -> None:
    """Open the HTTP client shared by the deliveries (no proxies from the environment: the
    SSRF check must judge the address actually connected to)."""
    ctx.extra["http"] = httpx.AsyncClient(trust_env=False, follow_redirects=False)


def main() -> None:
    """Run the webhook service until SIGTERM/SIGINT."""
    settings = load_settings(WebhookSettings)
    handlers = [*WORKFLOW_HANDLERS, delivery_handler(settings)]
    run_service("webhook", WebhookSettings, handlers=handlers, setup=setup)


if __name__ == "__main__":
    main()
