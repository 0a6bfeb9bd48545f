"""``python -m darkroom_webhook``: run workflows and deliver their webhooks.

Consumers: ``workflow`` (asset created, metadata extracted, faces recognized: the workflow
runner) and ``webhook`` (``darkroom.webhook.requested``: signed delivery with retries); see
:mod:`darkroom_webhook.handlers`.
"""

from __future__ import annotations

import httpx
from darkroom_bus.handlers import consumer_name
from darkroom_config import load_settings
from darkroom_events import WebhookRequested
from darkroom_runtime import Context, run_service

from darkroom_webhook.handlers import (
    WORKFLOW_HANDLERS,
    delivery_handler,
    workflows_on_faces,
    workflows_on_metadata,
    workflows_on_upload,
)
from darkroom_webhook.settings import WebhookSettings

#: The workflow runner's consumers (durable ``workflow``), listed for introspection (Helm's
#: KEDA triggers are checked against this module's handlers).
RUNNER = (workflows_on_upload, workflows_on_metadata, workflows_on_faces)
#: Consumers of handlers built in :func:`main` from the settings (the delivery's attempts and
#: backoff): ``webhook_darkroom_webhook_requested``.
BUILT_CONSUMERS = (consumer_name("webhook", WebhookRequested.subject),)


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
