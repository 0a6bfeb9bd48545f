"""Immich-compatible REST API (/api on :2283): auth, uploads streamed to storage, asset reads."""
