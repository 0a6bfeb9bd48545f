"""One signed webhook request (Standard Webhooks) and what came of it.

Signing follows the Standard Webhooks specification (standardwebhooks.com, v1): headers
``webhook-id`` (the delivery id, the same on every retry, so a receiver can drop repeats),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed with the base64-decoded part
of the ``whsec_`` secret), computed by the specification's own PyPI package
``standardwebhooks`` (MIT).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from darkroom_webhook.ssrf import Target

#: The User-Agent of webhook requests.
USER_AGENT = "Darkroom-Webhook/1"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got.

    Attributes:
        ok: A 2xx response came.
        status: The response status, None when none came.
        excerpt: The start of the response body (text, at most the configured length).
        error: Why it failed (None when ``ok``): ``HTTP <status>`` or the connection error.
    """

    ok: bool
    status: int | None
    excerpt: str | None
    error: str | None


def signed_headers(secret: str, msg_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one request.

    Args:
        secret: ``whsec_<base64>``.
        msg_id: The delivery id (``webhook-id``).
        body: The exact request body.
        at: The attempt's time (``webhook-timestamp``, whole seconds).

    Returns:
        ``webhook-id``, ``webhook-timestamp``, ``webhook-signature`` and ``content-type``.
    """
    signature = Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


async def send(
    client: httpx.AsyncClient,
    target: Target,
    *,
    secret: str,
    msg_id: str,
    body: bytes,
    timeout_s: float,
    excerpt_chars: int,
) -> Outcome:
    """POST ``body`` to the checked ``target``, signed; never follows a redirect.

    Args:
        client: The shared HTTP client.
        target: From :func:`darkroom_webhook.ssrf.resolve_target`.
        secret: The step's signing secret (never logged).
        msg_id: The delivery id.
        body: JSON body.
        timeout_s: Seconds for the whole request.
        excerpt_chars: Characters of the response body to keep.

    Returns:
        The outcome; a connection error or timeout is an outcome too (no exception).
    """
    headers = signed_headers(secret, msg_id, body, datetime.now(UTC))
    headers["host"] = target.host_header
    headers["user-agent"] = USER_AGENT
    try:
        response = await client.post(
            target.url,
            content=body,
            headers=headers,
            timeout=timeout_s,
            follow_redirects=False,
            extensions={"sni_hostname": target.host},
        )
    except httpx.HTTPError as exc:
        return Outcome(ok=False, status=None, excerpt=None, error=f"{type(exc).__name__}: {exc}")
    text = response.text[:excerpt_chars] if excerpt_chars else ""
    if 200 <= response.status_code < 300:
        return Outcome(ok=True, status=response.status_code, excerpt=text, error=None)
    return Outcome(
        ok=False,
        status=response.status_code,
        excerpt=text,
        error=f"HTTP {response.status_code}",
    )
