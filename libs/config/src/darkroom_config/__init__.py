"""Settings from ``DARKROOM_*`` environment variables, validated with msgspec.

Each service declares one frozen msgspec Struct of settings with defaults for everything but
secrets, and builds it once at start-up with :func:`load_settings`; nothing reads the environment
at import time. Field ``nats_url`` of a Struct is read from ``DARKROOM_NATS_URL`` (a trailing
underscore, which PEP 8 adds to a name that is a keyword, is dropped: ``from_`` is read from
``..._FROM``); a field whose
type is itself a Struct is read with that field's name as a further prefix
(``storage.backend`` from ``DARKROOM_STORAGE_BACKEND``). Every variable may instead be given as
``<NAME>_FILE`` naming a file that holds the value (Docker/Kubernetes secrets), trailing newline
stripped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

__all__ = ["ConfigError", "load_settings", "env_names"]

S = TypeVar("S", bound=msgspec.Struct)

PREFIX = "DARKROOM_"


class ConfigError(ValueError):
    """A ``DARKROOM_*`` variable is missing or has a bad value; the message names the variable."""


def _struct_fields(cls: type[msgspec.Struct]) -> list[tuple[str, Any]]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return [(f.name, f.type) for f in info.fields]


def env_names(cls: type[msgspec.Struct], prefix: str = PREFIX) -> dict[str, str]:
    """Map each (dotted) field path of ``cls`` to its environment variable name.

    Returns:
        ``{"nats_url": "DARKROOM_NATS_URL", "storage.backend": "DARKROOM_STORAGE_BACKEND", ...}``
    """
    out: dict[str, str] = {}
    for name, ftype in _struct_fields(cls):
        var = f"{prefix}{name.rstrip('_').upper()}"
        if isinstance(ftype, msgspec.inspect.StructType):
            for sub, subvar in env_names(ftype.cls, var + "_").items():
                out[f"{name}.{sub}"] = subvar
        else:
            out[name] = var
    return out


def _read(environ: Mapping[str, str], var: str) -> str | None:
    if var in environ:
        return environ[var]
    file_var = f"{var}_FILE"
    if file_var in environ:
        path = Path(environ[file_var])
        try:
            return path.read_text().rstrip("\n")
        except OSError as exc:
            raise ConfigError(f"{file_var}: cannot read {path}: {exc.strerror}") from exc
    return None


def _raw(cls: type[msgspec.Struct], environ: Mapping[str, str], prefix: str) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name, ftype in _struct_fields(cls):
        var = f"{prefix}{name.rstrip('_').upper()}"
        if isinstance(ftype, msgspec.inspect.StructType):
            sub = _raw(ftype.cls, environ, var + "_")
            if sub:
                raw[name] = sub
            continue
        value = _read(environ, var)
        if value is None:
            continue
        is_seq = isinstance(
            ftype,
            msgspec.inspect.ListType | msgspec.inspect.TupleType | msgspec.inspect.VarTupleType,
        )
        if is_seq:
            raw[name] = [v.strip() for v in value.split(",") if v.strip()]
        elif value == "" and not isinstance(ftype, msgspec.inspect.StrType):
            raw[name] = None  # an empty variable means "unset" for optional non-string values
        else:
            raw[name] = value
    return raw


def load_settings(
    cls: type[S], environ: Mapping[str, str] | None = None, prefix: str = PREFIX
) -> S:
    """Build settings of type ``cls`` from the environment.

    Args:
        cls: A msgspec Struct type whose fields have defaults except for required secrets.
        environ: The variables to read (``os.environ`` when None).
        prefix: Variable name prefix.

    Returns:
        The validated settings.

    Raises:
        ConfigError: A value does not convert to its field's type, or a required one is missing;
            the message names the environment variable.
    """
    env = os.environ if environ is None else environ
    raw = _raw(cls, env, prefix)
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        names = env_names(cls, prefix)
        message = str(exc)
        # msgspec reports the failing path as `$.field` or `$.outer.inner`
        path = message.rsplit("at `$.", 1)[-1].rstrip("`") if "at `$." in message else ""
        path = path.split("[", 1)[0]
        var = names.get(path)
        if var is None and "missing required field" in message:
            missing = message.split("`")[1] if "`" in message else ""
            var = names.get(f"{path}.{missing}" if path else missing, missing)
        raise ConfigError(f"{var or 'settings'}: {message}") from exc
