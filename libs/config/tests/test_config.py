from __future__ import annotations

from typing import Literal

import msgspec
import pytest
from darkroom_config import ConfigError, env_names, load_settings


class Inner(msgspec.Struct, frozen=True, kw_only=True):
    backend: Literal["filesystem", "s3"] = "filesystem"
    secret: str | None = None


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    nats_url: str = "nats://127.0.0.1:4222"
    port: int = 2283
    debug: bool = False
    ratio: float = 0.5
    tags: tuple[str, ...] = ()
    storage: Inner = Inner()
    token: str


def test_defaults_and_types_from_strings() -> None:
    s = load_settings(
        Settings,
        {
            "DARKROOM_TOKEN": "t",
            "DARKROOM_PORT": "9000",
            "DARKROOM_DEBUG": "true",
            "DARKROOM_RATIO": "1.5",
            "DARKROOM_TAGS": "a, b",
        },
    )
    assert (s.port, s.debug, s.ratio, s.tags, s.token) == (9000, True, 1.5, ("a", "b"), "t")
    assert s.nats_url == "nats://127.0.0.1:4222"
    assert s.storage == Inner()


def test_nested_struct_and_file_secret(tmp_path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t\n")
    s = load_settings(
        Settings,
        {
            "DARKROOM_TOKEN": "t",
            "DARKROOM_STORAGE_BACKEND": "s3",
            "DARKROOM_STORAGE_SECRET_FILE": str(secret),
        },
    )
    assert s.storage.backend == "s3"
    assert s.storage.secret == "s3cr3t"


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DARKROOM_PORT"):
        load_settings(Settings, {"DARKROOM_TOKEN": "t", "DARKROOM_PORT": "many"})
    with pytest.raises(ConfigError, match="DARKROOM_STORAGE_BACKEND"):
        load_settings(Settings, {"DARKROOM_TOKEN": "t", "DARKROOM_STORAGE_BACKEND": "tape"})


def test_missing_required_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="DARKROOM_TOKEN"):
        load_settings(Settings, {})


def test_env_names() -> None:
    names = env_names(Settings)
    assert names["storage.backend"] == "DARKROOM_STORAGE_BACKEND"
    assert names["nats_url"] == "DARKROOM_NATS_URL"


class Mail(msgspec.Struct, frozen=True, kw_only=True):
    host: str = ""
    from_: str = ""  # a keyword: PEP 8's trailing underscore


class WithMail(msgspec.Struct, frozen=True, kw_only=True):
    smtp: Mail = Mail()


def test_trailing_underscore_of_a_keyword_field_is_not_in_the_variable() -> None:
    env = {"DARKROOM_SMTP_HOST": "mail", "DARKROOM_SMTP_FROM": "me@example.org"}
    assert load_settings(WithMail, env).smtp == Mail(host="mail", from_="me@example.org")
    assert env_names(WithMail)["smtp.from_"] == "DARKROOM_SMTP_FROM"
