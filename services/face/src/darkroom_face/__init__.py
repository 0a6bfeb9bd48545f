"""Face detection, recognition and clustering into people (issue 5; see the README)."""
