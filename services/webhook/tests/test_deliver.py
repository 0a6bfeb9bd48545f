"""Standard Webhooks signing, checked with the specification's own verifier and by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from darkroom_db.workflow_plugin import new_secret
from darkroom_webhook.deliver import signed_headers
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def test_headers_verify_with_the_reference_verifier_and_by_hand() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    body = b'{"type":"workflow.asset","data":{"assetId":"x"}}'
    now = datetime.now(UTC)
    headers = signed_headers(secret, "msg_123", body, now)
    assert headers["webhook-id"] == "msg_123"
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    # the reference implementation accepts it (it also checks the timestamp is recent)
    assert Webhook(secret).verify(body, headers) == {
        "type": "workflow.asset",
        "data": {"assetId": "x"},
    }
    # and the signature is HMAC-SHA256 of "{id}.{timestamp}.{body}" with the decoded key
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"msg_123.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert headers["webhook-signature"] == f"v1,{expected}"


def test_a_changed_body_fails_verification() -> None:
    secret = new_secret()
    headers = signed_headers(secret, "m", b"{}", datetime.now(UTC))
    with pytest.raises(WebhookVerificationError, match="signature"):
        Webhook(secret).verify(b'{"x":1}', headers)
