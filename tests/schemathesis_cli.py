"""schemathesis's command line, with ``ast.parse`` serialised across threads.

CPython 3.11 keeps the AST converter's recursion depth in per-interpreter state, not per call,
so two threads parsing at once can fail with ``SystemError: AST constructor recursion depth
mismatch`` (CPython gh-106905; seen here on 3.11.7). schemathesis's ``--workers`` threads
reach ``ast.parse`` through Hypothesis, which describes filtered strategies by parsing their
lambdas' source; one such race ended a whole fuzzing run (tests/test_openapi_fuzz.py). Run as
``python tests/schemathesis_cli.py <schemathesis arguments>``.
"""

from __future__ import annotations

import ast
import os
import sys
import threading
from typing import Any

_parse = ast.parse
_lock = threading.Lock()


def _serialised_parse(*args: Any, **kwargs: Any) -> Any:
    """``ast.parse``, one thread at a time."""
    with _lock:
        return _parse(*args, **kwargs)


if __name__ == "__main__":
    # run as a script, this folder is sys.path[0]: keep its modules (tests/clients...) from
    # shadowing schemathesis's imports
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    ast.parse = _serialised_parse  # type: ignore[assignment]
    from schemathesis.cli import schemathesis

    sys.exit(schemathesis())
