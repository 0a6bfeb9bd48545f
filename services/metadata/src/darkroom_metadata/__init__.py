"""EXIF/XMP/video metadata extraction and offline reverse geocoding."""
