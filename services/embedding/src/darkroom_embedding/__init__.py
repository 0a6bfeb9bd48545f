"""CLIP image embeddings into pgvector (not built yet: issue 4)."""
