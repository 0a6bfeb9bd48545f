"""Face detection, recognition and clustering into people (not built yet: issue 5)."""
