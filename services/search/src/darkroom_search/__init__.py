"""Smart search over RPC: CLIP text encoding and pgvector nearest-neighbour queries with filters."""
