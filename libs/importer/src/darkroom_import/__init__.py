"""Importers that are clients of the public Immich API (Google Takeout: :mod:`.takeout`)."""
