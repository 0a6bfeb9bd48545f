"""Webhook service settings (``DARKROOM_*``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from darkroom_runtime import ServiceSettings


class WebhookSettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the webhook service (workflow runner and webhook delivery).

    Attributes:
        webhook_allowed_hosts: Targets allowed although private, loopback, link-local or
            otherwise not public (``DARKROOM_WEBHOOK_ALLOWED_HOSTS``): comma-separated host
            names (exact, case-insensitive), IP addresses or CIDR networks (``10.0.0.0/8``).
            Empty (the default): only public addresses are called (SSRF protection).
        webhook_max_attempts: Requests made for one delivery before it is dead-lettered
            (``DARKROOM_WEBHOOK_MAX_ATTEMPTS``).
        webhook_backoff_s: Seconds before the first retry; each next one waits twice as long
            (``DARKROOM_WEBHOOK_BACKOFF_S``), up to ``webhook_backoff_max_s``.
        webhook_backoff_max_s: Longest wait between two attempts, seconds.
        webhook_timeout_s: Seconds one request may take (connect, send, answer).
        webhook_response_excerpt: Characters of a response body kept for the admin to see.
    """

    webhook_allowed_hosts: str = ""
    webhook_max_attempts: Annotated[int, msgspec.Meta(ge=1, le=50)] = 5
    webhook_backoff_s: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    webhook_backoff_max_s: Annotated[float, msgspec.Meta(ge=0)] = 600.0
    webhook_timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    webhook_response_excerpt: Annotated[int, msgspec.Meta(ge=0)] = 1024

    def backoff(self) -> tuple[float, ...]:
        """Seconds before retry n (n = 1 .. max_attempts - 1): exponential, capped."""
        return tuple(
            min(self.webhook_backoff_s * 2**n, self.webhook_backoff_max_s)
            for n in range(max(self.webhook_max_attempts - 1, 1))
        )
