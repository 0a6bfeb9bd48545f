"""Preview (1440 px JPEG), thumbnail (250 px WebP), thumbhash and video poster frames."""
