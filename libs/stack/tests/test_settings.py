"""Defaults of `darkroom up`: loopback only unless DARKROOM_HOST says otherwise; a generous,
configurable start timeout."""

from __future__ import annotations

import pytest
from darkroom_config import ConfigError, load_settings
from darkroom_gateway.settings import GatewaySettings
from darkroom_stack.cli import stack_config


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DARKROOM_HOST", "DARKROOM_START_TIMEOUT", "DARKROOM_PORT"):
        monkeypatch.delenv(var, raising=False)


def test_up_listens_on_loopback_by_default() -> None:
    assert stack_config().host == "127.0.0.1"


def test_the_gateway_listens_on_loopback_by_default() -> None:
    assert load_settings(GatewaySettings, {}).host == "127.0.0.1"


def test_darkroom_host_opts_in_to_the_lan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKROOM_HOST", "0.0.0.0")
    assert stack_config().host == "0.0.0.0"


def test_start_timeout_is_generous_and_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert stack_config().start_timeout == 600.0
    monkeypatch.setenv("DARKROOM_START_TIMEOUT", "1200")
    assert stack_config().start_timeout == 1200.0
    monkeypatch.setenv("DARKROOM_START_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="DARKROOM_START_TIMEOUT"):
        stack_config()


def test_background_services_can_be_niced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DARKROOM_BACKGROUND_NICE", raising=False)
    assert stack_config().background_nice == 0
    monkeypatch.setenv("DARKROOM_BACKGROUND_NICE", "10")
    assert stack_config().background_nice == 10
    monkeypatch.setenv("DARKROOM_BACKGROUND_NICE", "20")
    with pytest.raises(ConfigError, match="DARKROOM_BACKGROUND_NICE"):
        stack_config()
