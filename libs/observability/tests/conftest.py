"""Fixtures for darkroom_observability tests."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog


@pytest.fixture
def log_lines() -> Iterator[tuple[io.StringIO, Callable[[], list[dict[str, Any]]]]]:
    """(stream, read): a stream for configure_logging, and a function parsing its JSON lines.

    Puts the root logger, structlog and the exception hooks back as they were afterwards.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    stream = io.StringIO()

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    try:
        yield stream, read
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        sys.excepthook, threading.excepthook = hooks
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
