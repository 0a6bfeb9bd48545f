"""NATS accounts and users: the services' full-rights user and the integrations' read-only one.

Authentication is always on in the embedded stack (``darkroom up``), in compose.yaml and in the
Helm chart. One account, ``DARKROOM``, with JetStream, holds two users:

- ``darkroom``: every service; publishes and subscribes to anything (events, RPC, the JetStream
  API, key-value buckets).
- ``integrations``: an integration credential (docs/integrations.md). It may subscribe to
  ``darkroom.public.>`` and to its own inbox prefix :data:`INTEGRATION_INBOX` only, and publish
  only the JetStream API requests that create, look up, delete and pull from its durable
  consumers on the public stream ``DARKROOM_PUBLIC``, plus their acks
  (``$JS.ACK.DARKROOM_PUBLIC.>``). It cannot publish on ``darkroom.>``, read the internal stream
  ``DARKROOM``, or see another client's replies (its inbox prefix is its own, so the services'
  ``_INBOX.>`` RPC replies stay out of its reach).

The JetStream API subjects are those of the NATS documentation "JetStream wire API reference"
(docs.nats.io/reference/reference-protocols/nats_api_reference): ``$JS.API.CONSUMER.CREATE.
<stream>[.<consumer>[.<filter>]]``, ``$JS.API.CONSUMER.DURABLE.CREATE.<stream>.<consumer>``,
``$JS.API.CONSUMER.INFO|DELETE.<stream>.<consumer>``, ``$JS.API.CONSUMER.MSG.NEXT.<stream>.
<consumer>``, ``$JS.API.STREAM.INFO.<stream>`` and ``$JS.API.INFO``.

:func:`server_config` returns the whole ``accounts`` block of a nats-server configuration as one
string, so every launcher (one server here, a cluster's nodes, compose, Helm) includes the same
text. Passwords are generated once (``secrets.token_urlsafe(32)``, 256 bits) into mode-600 files
of the data directory's ``secrets/`` and never logged.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from darkroom_events.public import PUBLIC_STREAM_NAME

#: The account of every Darkroom user.
ACCOUNT = "DARKROOM"
#: The services' user (full rights in :data:`ACCOUNT`).
SERVICE_USER = "darkroom"
#: The integration credential's user.
INTEGRATION_USER = "integrations"
#: The inbox prefix an integration client must use (nats-py ``connect(inbox_prefix=...)``).
INTEGRATION_INBOX = "_INBOX_integrations"
#: The stream an integration may read (:data:`darkroom_events.public.PUBLIC_STREAM_NAME`).
PUBLIC_STREAM = PUBLIC_STREAM_NAME
#: Files of the passwords, in the secrets directory.
SERVICE_PASSWORD_FILE = "nats-service-password"
INTEGRATION_PASSWORD_FILE = "nats-integration-password"


@dataclass(frozen=True)
class NatsAuth:
    """The two users' passwords (left out of the repr).

    Attributes:
        service_password: Password of :data:`SERVICE_USER`; or a nats-server config variable
            reference such as ``$NATS_SERVICE_PASSWORD`` (compose, Helm).
        integration_password: Password of :data:`INTEGRATION_USER` (same forms).
    """

    service_password: str = field(repr=False)
    integration_password: str = field(repr=False)

    def service_url(self, host: str, port: int) -> str:
        """``nats://darkroom:<password>@host:port``: the services' URL (a secret: never log it)."""
        return f"nats://{SERVICE_USER}:{quote(self.service_password, safe='')}@{host}:{port}"

    def integration_url(self, host: str, port: int) -> str:
        """``nats://integrations:<password>@host:port``: the integration credential's URL."""
        pw = quote(self.integration_password, safe="")
        return f"nats://{INTEGRATION_USER}:{pw}@{host}:{port}"


def read_or_create_secret(path: Path) -> tuple[str, bool]:
    """Read the secret in ``path``, generating it (32 random URL-safe bytes; file mode 600, its
    directory mode 700) when missing. The stack's one way to keep a generated secret
    (PostgreSQL's password, the NATS users').

    Returns:
        (the secret, whether it was generated now).

    Raises:
        ValueError: The file exists and is empty (remove it to generate a new secret).
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        path.parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if not value:
            raise ValueError(f"{path} is empty: remove it to generate a new secret") from None
        return value, False
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value, True
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def load_or_create(secrets_dir: Path) -> NatsAuth:
    """The passwords kept in ``secrets_dir``, generated on first use.

    Args:
        secrets_dir: The stack's ``<data>/secrets`` (created mode 700 when missing).

    Returns:
        Both passwords.

    Raises:
        ValueError: A password file exists but is empty.
    """
    return NatsAuth(
        service_password=read_or_create_secret(secrets_dir / SERVICE_PASSWORD_FILE)[0],
        integration_password=read_or_create_secret(secrets_dir / INTEGRATION_PASSWORD_FILE)[0],
    )


def _value(secret: str) -> str:
    """A password as config text: a ``$VARIABLE`` reference as is, a literal quoted."""
    if secret.startswith("$"):
        return secret
    if '"' in secret or "\\" in secret:
        raise ValueError("a NATS password may not hold quotes or backslashes")
    return f'"{secret}"'


def _list(subjects: list[str]) -> str:
    return "[" + ", ".join(f'"{s}"' for s in subjects) + "]"


def integration_permissions(stream: str = PUBLIC_STREAM) -> dict[str, list[str]]:
    """What the integration user may publish and subscribe to.

    Args:
        stream: The public stream's name.

    Returns:
        ``{"publish": [...], "subscribe": [...]}``: allow lists (anything else is denied).
    """
    api = "$JS.API"
    return {
        "publish": [
            f"{api}.INFO",
            f"{api}.STREAM.INFO.{stream}",
            f"{api}.CONSUMER.CREATE.{stream}",
            f"{api}.CONSUMER.CREATE.{stream}.>",
            f"{api}.CONSUMER.DURABLE.CREATE.{stream}.*",
            f"{api}.CONSUMER.INFO.{stream}.*",
            f"{api}.CONSUMER.DELETE.{stream}.*",
            f"{api}.CONSUMER.NAMES.{stream}",
            f"{api}.CONSUMER.LIST.{stream}",
            f"{api}.CONSUMER.MSG.NEXT.{stream}.*",
            f"$JS.ACK.{stream}.>",
        ],
        "subscribe": ["darkroom.public.>", f"{INTEGRATION_INBOX}.>"],
    }


def server_config(auth: NatsAuth, *, stream: str = PUBLIC_STREAM) -> str:
    """The ``accounts`` block of a nats-server configuration (the same on every node).

    Args:
        auth: The passwords (literals, or ``$VARIABLE`` references resolved by nats-server from
            its environment).
        stream: The public stream the integration user may read.

    Returns:
        Configuration text to include in a nats-server config file.

    Raises:
        ValueError: A literal password holds a quote or a backslash.
    """
    perms = integration_permissions(stream)
    deny_publish = _list(["darkroom.>"])
    return "\n".join(
        [
            "accounts {",
            f"  {ACCOUNT} {{",
            "    jetstream: enabled",
            "    users: [",
            f"      {{user: {SERVICE_USER}, password: {_value(auth.service_password)}}}",
            f"      {{user: {INTEGRATION_USER}, password: {_value(auth.integration_password)},",
            "       permissions: {",
            f"         publish: {{allow: {_list(perms['publish'])}, deny: {deny_publish}}}",
            f"         subscribe: {{allow: {_list(perms['subscribe'])}}}",
            "       }}",
            "    ]",
            "  }",
            "}",
            "",
        ]
    )


#: The nats-server environment variables compose and Helm give the passwords in.
SERVICE_PASSWORD_VAR = "$NATS_SERVICE_PASSWORD"
INTEGRATION_PASSWORD_VAR = "$NATS_INTEGRATION_PASSWORD"


def deploy_config() -> str:
    """The accounts block with the passwords as environment variable references
    (:data:`SERVICE_PASSWORD_VAR`, :data:`INTEGRATION_PASSWORD_VAR`): deploy/nats-accounts.conf,
    which compose.yaml mounts into its nats-server (``python -m darkroom_stack.nats_auth``)."""
    header = (
        "# Generated by `python -m darkroom_stack.nats_auth` (darkroom_stack/nats_auth.py).\n"
        "# The NATS users of Darkroom; nats-server reads the passwords from its environment.\n"
    )
    return header + server_config(
        NatsAuth(
            service_password=SERVICE_PASSWORD_VAR, integration_password=INTEGRATION_PASSWORD_VAR
        )
    )


if __name__ == "__main__":
    import sys

    sys.stdout.write(deploy_config())
