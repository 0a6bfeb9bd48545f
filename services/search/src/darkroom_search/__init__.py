"""Smart, metadata and place search over RPC (not built yet: issue 4)."""
