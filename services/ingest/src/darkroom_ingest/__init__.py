"""The only creator of assets: sniffs the type, de-duplicates by checksum, places the
original, publishes asset.created.
"""
