"""SSRF protection: non-public targets are refused unless allowed; the checked address is used."""

from __future__ import annotations

import ipaddress

import pytest
from darkroom_webhook.settings import WebhookSettings
from darkroom_webhook.ssrf import Allowed, RefusedTarget, is_public, resolve_target

NONE = Allowed.parse("")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://224.0.0.1/hook",  # multicast
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",  # shared address space (CGNAT)
    ],
)
async def test_non_public_targets_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget, match="not a public address"):
        await resolve_target(url, NONE)


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/x", "http:///nohost", "http://user:pw@8.8.8.8/", "file:///etc/passwd"],
)
async def test_bad_urls_are_refused(url: str) -> None:
    with pytest.raises(RefusedTarget):
        await resolve_target(url, NONE)


async def test_a_public_address_is_called_at_that_address() -> None:
    target = await resolve_target("https://8.8.8.8:8443/a/b?c=d", NONE)
    assert target.url == "https://8.8.8.8:8443/a/b?c=d"
    assert target.address == ipaddress.ip_address("8.8.8.8")


async def test_allowed_networks_and_hosts() -> None:
    allowed = Allowed.parse(" 127.0.0.0/8 , hooks.internal,::1")
    target = await resolve_target("http://localhost:9999/x", allowed)
    assert target.address.is_loopback
    # the request goes to the checked address; the name stays in Host
    assert target.host_header == "localhost:9999"
    assert target.url.startswith(f"http://{target.address}:9999/".replace("::1", "[::1]"))
    with pytest.raises(RefusedTarget):
        await resolve_target("http://10.0.0.1/x", allowed)
    assert allowed.allows_host("HOOKS.internal.")
    with pytest.raises(ValueError, match="bad network"):
        Allowed.parse("10.0.0.0/99")


def test_public_is_global_unicast() -> None:
    assert is_public(ipaddress.ip_address("1.1.1.1"))
    assert not is_public(ipaddress.ip_address("239.1.1.1"))
    assert not is_public(ipaddress.ip_address("fc00::1"))


def test_backoff_is_exponential_and_capped() -> None:
    settings = WebhookSettings(
        webhook_max_attempts=5, webhook_backoff_s=1.0, webhook_backoff_max_s=5.0
    )
    assert settings.backoff() == (1.0, 2.0, 4.0, 5.0)
